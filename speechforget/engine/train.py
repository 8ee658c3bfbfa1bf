"""The loops of the project: `fit` (originals, gold retrains), `unlearn` (methods) and
`train_steps` (a few fine-tuning steps with checkpoints: the relearning attack), and the
gradient accumulation SalUn's saliency map needs."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence

import torch
from torch import nn

from speechforget.config import TrainConfig
from speechforget.engine.conditions import RUNS
from speechforget.engine.device import autocast
from speechforget.engine.loop import Loop, RunResult, StepCallback, make_optimizer


def batches(
    n: int, batch_size: int, generator: torch.Generator, device: torch.device | None = None
) -> Iterator[torch.Tensor]:
    """Shuffled index batches covering range(n) once (the last one may be short); drawn on
    the CPU, then moved to `device` once per pass (a per-batch copy would sync CUDA)."""
    order = torch.randperm(n, generator=generator)
    order = order.to(device) if device is not None else order
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def cycled_batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless batches of exactly min(batch_size, n) positions into range(n), cut from
    consecutive seeded permutations (every clip is drawn equally often; a batch that spans
    two passes may repeat a clip). Drawn on the CPU."""
    size = min(batch_size, n)
    buffer = torch.empty(0, dtype=torch.long)
    while True:
        while len(buffer) < size:
            buffer = torch.cat([buffer, torch.randperm(n, generator=generator)])
        yield buffer[:size]
        buffer = buffer[size:]


def train_frozen_norm(model: nn.Module) -> None:
    """Training mode (dropout on) with every batch-norm layer normalising with its stored
    statistics and not updating them (batches of one class would skew them for every clip)."""
    model.train()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


def seeded(seed: int) -> contextlib.AbstractContextManager:
    """Seed torch's global generator (dropout) for one run without leaking the state:
    the same settings give the same run, whatever ran before in this process."""
    stack = contextlib.ExitStack()
    stack.enter_context(torch.random.fork_rng(devices=[]))
    torch.manual_seed(seed)
    return stack


def fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    cfg: TrainConfig,
    on_step: StepCallback | None = None,
) -> RunResult:
    """Train `model` in place with cross-entropy on (x, y); see _fit."""
    with seeded(cfg.seed), RUNS.scope():
        return _fit(model, x, y, cfg, on_step)


def _fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    cfg: TrainConfig,
    on_step: StepCallback | None = None,
) -> RunResult:
    """Train `model` in place with cross-entropy on (x, y).

    x: (N, ...) model inputs (already featurized), y: (N,) int64 labels.
    AdamW with a cosine learning-rate decay over cfg.epochs; batch order from cfg.seed.
    The logged 'retain_loss' is the training loss (fit trains on the retain set).
    """
    if len(x) == 0:
        raise ValueError("nothing to train on: the training set is empty")
    steps_per_epoch = math.ceil(len(x) / cfg.batch_size)
    loop = Loop(model, cfg, cfg.epochs * steps_per_epoch, on_step)
    model.to(loop.device).train()
    x, y = x.to(loop.device), y.to(loop.device)
    opt = make_optimizer(model.parameters(), cfg.lr, cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=loop.total_steps, pct_start=0.15
    )
    gen = torch.Generator().manual_seed(cfg.seed)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    for epoch in range(cfg.epochs):
        for idx in batches(len(x), cfg.batch_size, gen, loop.device):
            with autocast(loop.device):
                logits, _ = model(x[idx])
                loss = loss_fn(logits.float(), y[idx])
            loop.backward_step(loss, opt, after_step=sched.step)
            if loop.log(epoch, None, loss):
                return loop.finish()
    return loop.finish()


def train_steps(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    idx: torch.Tensor,
    checkpoints: Sequence[int],
    cfg: TrainConfig,
    on_checkpoint: Callable[[int], None],
    on_step: StepCallback | None = None,
) -> RunResult:
    """Fine-tune `model` in place for max(checkpoints) steps; see _train_steps."""
    with seeded(cfg.seed), RUNS.scope():
        return _train_steps(model, x, y, idx, checkpoints, cfg, on_checkpoint, on_step)


def _train_steps(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    idx: torch.Tensor,
    checkpoints: Sequence[int],
    cfg: TrainConfig,
    on_checkpoint: Callable[[int], None],
    on_step: StepCallback | None = None,
) -> RunResult:
    """Cross-entropy steps on the clips at `idx`, calling on_checkpoint(k) after k steps.

    x: (M, ...) model inputs, y: (M,) int64 labels, idx: (N,) positions of the clips to
    train on. checkpoints: step counts (0 = before any step); on_checkpoint(k) runs once per
    distinct k, in increasing order (it may evaluate: the training modes are set again).
    AdamW at a constant cfg.lr, batches of min(cfg.batch_size, N) clips cycled in a seeded
    order, batch-norm statistics frozen, the parameters that take gradients only. The logged
    'retain_loss' is the training loss, as in fit. A run stopped early (callback, time
    budget, non-finite loss) reports no later checkpoints.
    """
    marks = sorted({int(k) for k in checkpoints})
    if not marks or marks[0] < 0:
        raise ValueError(
            f"checkpoints must be step counts >= 0, e.g. (0, 5, 10); got {checkpoints}"
        )
    if len(idx) == 0:
        raise ValueError("nothing to train on: idx is empty")
    loop = Loop(model, cfg, marks[-1], on_step)
    model.to(loop.device)
    idx = torch.as_tensor(idx, dtype=torch.long).cpu()
    xs, ys = x[idx].to(loop.device), y[idx].to(loop.device)  # (N, ...), (N,)
    opt = make_optimizer(model.parameters(), cfg.lr, cfg.weight_decay)
    stream = cycled_batches(len(idx), cfg.batch_size, torch.Generator().manual_seed(cfg.seed))
    loss_fn = nn.CrossEntropyLoss()
    for step in range(marks[-1] + 1):
        if step in marks:
            with loop.meter.paused():  # an evaluation, not training work
                on_checkpoint(step)
        if step == marks[-1]:
            break
        train_frozen_norm(model)  # again each step: predict() in a checkpoint resets the modes
        b = next(stream).to(loop.device)
        with autocast(loop.device):
            logits, _ = model(xs[b])
            loss = loss_fn(logits.float(), ys[b])
        if not loop.deferred and not torch.isfinite(loss):
            loop.result.diverged = True
            break
        loop.backward_step(loss, opt)
        if loop.log(0, None, loss, objective=loss):
            break
    return loop.finish()


def unlearn(
    model: nn.Module, method, data, cfg: TrainConfig, on_step: StepCallback | None = None
) -> RunResult:
    """Run an unlearning method with torch's global generator seeded; see _unlearn."""
    with seeded(cfg.seed), RUNS.scope():
        return _unlearn(model, method, data, cfg, on_step)


def _unlearn(
    model: nn.Module, method, data, cfg: TrainConfig, on_step: StepCallback | None = None
) -> RunResult:
    """Run an unlearning `method` (speechforget.methods.base.Method) on `model` in place.

    data: a methods.base.UnlearnData (inputs of every clip, Df and Dr positions).
    cfg: lr, weight decay, clipping, seed (batch order, random labels, teachers),
    device and the time budget; the number of steps is the method's. Each step
    logs the plain means of the forget and retain losses; setup (teachers, masks)
    counts in the run time and in its work (the loop's meter watches the model, and the
    method its teachers through `method.meter`). A non-finite loss stops the run before it
    is stepped on.
    """
    loop = Loop(model, cfg, method.total_steps(data), on_step)
    method.meter = loop.meter
    model.to(loop.device)
    method.train_mode(model)  # train(), batch-norm statistics frozen unless the method says not
    data = data.to(loop.device)
    gen = torch.Generator().manual_seed(cfg.seed)
    method.setup(model, data, gen)
    kind = getattr(method.cfg, "optimizer", "adamw")
    opt = make_optimizer(method.trainable(model), cfg.lr, cfg.weight_decay, kind)
    sched = method.scheduler(opt, loop.total_steps)

    def after_step() -> None:
        method.after_step(model)
        if sched is not None:
            sched.step()

    hooks = (lambda: method.after_backward(model), after_step)
    for batch in method.steps(data, gen):
        batch = batch.to(loop.device)
        with autocast(loop.device):
            terms = method.loss(model, data, batch)
        total = terms.objective()
        forget_loss, retain_loss = terms.logged()  # device tensors: read back by the loop
        if not loop.deferred and not torch.isfinite(total):
            loop.result.diverged = True
            loop.log(batch.epoch, forget_loss, retain_loss, batch.phase)
            break
        loop.backward_step(total, opt, *hooks)
        if loop.log(batch.epoch, forget_loss, retain_loss, batch.phase, objective=total):
            break
    return loop.finish()


def accumulate_gradients(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    index_batches: Iterable[torch.Tensor],
    device: torch.device,
) -> dict[str, torch.Tensor]:
    """{parameter name: sum over batches of d loss_fn(idx) / d parameter}, from zero.

    Runs in eval mode (no dropout, batch-norm statistics untouched) and leaves no
    .grad behind (SalUn's saliency map)."""
    modes = [(m, m.training) for m in model.modules()]  # restored one by one (frozen norms)
    model.eval()
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    grads = {n: torch.zeros_like(p) for n, p in named}
    for idx in index_batches:
        model.zero_grad(set_to_none=True)
        with autocast(device):
            loss = loss_fn(idx.to(device))
        loss.backward()
        for n, p in named:
            if p.grad is not None:
                grads[n] += p.grad
    model.zero_grad(set_to_none=True)
    for m, training in modes:
        m.training = training
    return grads
