"""The one training loop of the project.

`fit` trains a model on (x, y) (originals and gold retrains); `unlearn` runs an
unlearning method (see speechforget.methods). Only this module calls
`backward()`, steps optimisers, moves tensors to the device, enforces the time
budget and emits the per-step log that the UI turns into live curves.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from speechforget.config import TrainConfig


@dataclass
class StepLog:
    """One optimiser step. Losses are batch means (None when the step had no such batch)."""

    step: int
    epoch: int
    forget_loss: float | None
    retain_loss: float | None
    elapsed_s: float
    phase: str = "train"
    total_steps: int | None = None

    def to_dict(self) -> dict:
        return {
            "step": self.step, "epoch": self.epoch, "forget_loss": self.forget_loss,
            "retain_loss": self.retain_loss, "elapsed_s": round(self.elapsed_s, 4),
            "phase": self.phase,
        }  # fmt: skip


# on_step returns True (or "stop") to ask the loop to stop cleanly after this step.
StepCallback = Callable[[StepLog], object]


@dataclass
class RunResult:
    history: list[StepLog] = field(default_factory=list)
    time_s: float = 0.0
    stopped: bool = False  # a callback asked to stop
    budget_hit: bool = False  # the time budget ran out
    steps: int = 0
    # a loss became inf/nan: the run stopped before stepping on it (on CUDA, where losses
    # are read back SYNC_EVERY steps at a time, at the next read: the model may hold NaNs)
    diverged: bool = False


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda when available else cpu; an unavailable 'cuda' is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for but no CUDA device is available; use cpu or auto")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise ValueError(f"unknown device '{name}'; choose one of cpu, cuda, auto")
    return torch.device(name)


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA, nothing on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def batches(n: int, batch_size: int, generator: torch.Generator,
            device: torch.device | None = None) -> Iterator[torch.Tensor]:  # fmt: skip
    """Shuffled index batches covering range(n) once (the last one may be short); drawn on
    the CPU, then moved to `device` once per pass (a per-batch copy would sync CUDA)."""
    order = torch.randperm(n, generator=generator)
    order = order.to(device) if device is not None else order
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def make_optimizer(params, lr: float, weight_decay: float,
                   kind: str = "adamw") -> torch.optim.Optimizer:  # fmt: skip
    """AdamW (the recipe's), or SGD with momentum 0.9 (weight decay: decoupled in AdamW, L2 in SGD).

    SGD moves each weight in proportion to its gradient, so the converged weights of an
    original barely move; Adam's normalised steps move every weight by about lr."""
    params = [p for p in params if p.requires_grad]
    if kind == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer '{kind}'; choose one of adamw, sgd")


def warm_up() -> None:
    """Pay torch's one-time lazy imports outside any timed run: the first optimizer built
    in a process imports torch._dynamo, sympy and about 900 other modules (0.7-1.4 s on
    2 CPU cores), which would otherwise land in whichever run comes first, gold retrain or
    unlearning. Called once per loaded model by pipeline.prepare; cheap after the first."""
    make_optimizer([nn.Parameter(torch.zeros(1))], lr=1e-3, weight_decay=0.0)


class Loop:
    """Shared bookkeeping for fit and unlearn: device, clipping, budget, step log.

    On CUDA the logged losses (and whether each step's objective was finite) stay on
    the device and are read SYNC_EVERY steps at a time (one host sync instead of one
    per step); on_step then sees those steps in a burst, and a stop it asks for or a
    non-finite loss takes effect at the next read. On CPU every step is read and
    reported at once, and a non-finite loss is caught before it is stepped on."""

    SYNC_EVERY = 25

    def __init__(self, model: nn.Module, cfg: TrainConfig, total_steps: int,
                 on_step: StepCallback | None = None) -> None:  # fmt: skip
        self.model, self.cfg, self.on_step = model, cfg, on_step
        self.device = resolve_device(cfg.device)
        self.total_steps = total_steps
        self.result = RunResult()
        self.t0 = time.perf_counter()
        self._pending: list[tuple] = []  # steps logged but not yet read back (CUDA)
        self.deferred = defer_reads(self.device)  # read losses back in bursts, not per step

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def backward_step(self, loss: torch.Tensor, opt: torch.optim.Optimizer,
                      after_backward: Callable[[], None] | None = None,
                      after_step: Callable[[], None] | None = None) -> None:  # fmt: skip
        """zero_grad, backward, optional gradient hook, clip, step, optional post-step hook."""
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if after_backward is not None:
            after_backward()
        if self.cfg.grad_clip and self.cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        opt.step()
        if after_step is not None:
            after_step()

    def log(self, epoch: int, forget_loss: torch.Tensor | float | None,
            retain_loss: torch.Tensor | float | None, phase: str = "train",
            objective: torch.Tensor | None = None) -> bool:  # fmt: skip
        """Record one step; True when the run must stop (callback asked, budget hit, or
        a non-finite `objective` read back)."""
        r = self.result
        r.steps += 1
        finite = None if objective is None else torch.isfinite(objective.detach())
        self._pending.append((r.steps, epoch, _detached(forget_loss), _detached(retain_loss),
                              self.elapsed(), phase, finite))  # fmt: skip
        if not self.deferred or len(self._pending) >= self.SYNC_EVERY:
            self._flush()
        budget = self.cfg.time_budget_s
        if budget is not None and self.elapsed() >= budget:
            r.budget_hit = True
        return r.stopped or r.budget_hit or r.diverged

    def _flush(self) -> None:
        """Read the pending losses back (one device-to-host copy) and report the steps."""
        pending, self._pending = self._pending, []
        n = len(pending)
        values = _floats([p[2] for p in pending] + [p[3] for p in pending]
                         + [p[6] for p in pending])  # fmt: skip
        if any(v is not None and not v for v in values[2 * n :]):
            self.result.diverged = True
        for i, (step, epoch, _, _, elapsed, phase, _) in enumerate(pending):
            entry = StepLog(step, epoch, values[i], values[n + i], elapsed, phase,
                            self.total_steps)  # fmt: skip
            self.result.history.append(entry)
            if self.on_step is not None and self.on_step(entry):
                self.result.stopped = True

    def finish(self) -> RunResult:
        self._flush()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.result.time_s = self.elapsed()
        self.model.eval()
        return self.result


def defer_reads(device: torch.device) -> bool:
    """Whether the loop reads losses back in bursts (CUDA: a host sync stalls the GPU)."""
    return device.type == "cuda"


def _detached(v: torch.Tensor | float | None) -> torch.Tensor | float | None:
    return v.detach() if isinstance(v, torch.Tensor) else v


def _floats(values: list) -> list[float | None]:
    """_num of each value, reading every tensor among them with a single host sync."""
    at = [i for i, v in enumerate(values) if isinstance(v, torch.Tensor)]
    out = list(values)
    if at:
        read = torch.stack([values[i].float().reshape(()) for i in at]).tolist()
        for i, v in zip(at, read):
            out[i] = v
    return [_num(v) for v in out]


def _num(v: torch.Tensor | float | None) -> float | None:
    if v is None:
        return None
    v = float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
    return v if math.isfinite(v) else float("nan")


def seeded(seed: int) -> contextlib.AbstractContextManager:
    """Seed torch's global generator (dropout) for one run without leaking the state:
    the same settings give the same run, whatever ran before in this process."""
    stack = contextlib.ExitStack()
    stack.enter_context(torch.random.fork_rng(devices=[]))
    torch.manual_seed(seed)
    return stack


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig,
        on_step: StepCallback | None = None) -> RunResult:  # fmt: skip
    """Train `model` in place with cross-entropy on (x, y); see _fit."""
    with seeded(cfg.seed):
        return _fit(model, x, y, cfg, on_step)


def _fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig,
         on_step: StepCallback | None = None) -> RunResult:  # fmt: skip
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
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(cfg.epochs):
        for idx in batches(len(x), cfg.batch_size, gen, loop.device):
            with autocast(loop.device):
                logits, _ = model(x[idx])
                loss = loss_fn(logits.float(), y[idx])
            loop.backward_step(loss, opt, after_step=sched.step)
            if loop.log(epoch, None, loss):
                return loop.finish()
    return loop.finish()


def unlearn(model: nn.Module, method, data, cfg: TrainConfig,
            on_step: StepCallback | None = None) -> RunResult:  # fmt: skip
    """Run an unlearning method with torch's global generator seeded; see _unlearn."""
    with seeded(cfg.seed):
        return _unlearn(model, method, data, cfg, on_step)


def _unlearn(model: nn.Module, method, data, cfg: TrainConfig,
             on_step: StepCallback | None = None) -> RunResult:  # fmt: skip
    """Run an unlearning `method` (speechforget.methods.base.Method) on `model` in place.

    data: a methods.base.UnlearnData (inputs of every clip, Df and Dr positions).
    cfg: lr, weight decay, clipping, seed (batch order, random labels, teachers),
    device and the time budget; the number of steps is the method's. Each step
    logs the plain means of the forget and retain losses; setup (teachers, masks)
    counts in the run time. A non-finite loss stops the run before it is stepped on.
    """
    loop = Loop(model, cfg, method.total_steps(data), on_step)
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


def accumulate_gradients(model: nn.Module, loss_fn: Callable[[torch.Tensor], torch.Tensor],
                         index_batches: Iterable[torch.Tensor],
                         device: torch.device) -> dict[str, torch.Tensor]:  # fmt: skip
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


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, device: str | torch.device = "auto",
            batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Eval-mode logits (N, C) and embeddings (N, D), as float32 CPU tensors."""
    dev = resolve_device(device) if isinstance(device, str) else device
    was_training = model.training
    model.to(dev).eval()
    outs, embs = [], []
    for start in range(0, len(x), batch_size):
        with autocast(dev):
            logits, emb = model(x[start : start + batch_size].to(dev))
        outs.append(logits.float().cpu())
        embs.append(emb.float().cpu())
    model.train(was_training)
    if not outs:
        return torch.zeros(0, 0), torch.zeros(0, 0)
    return torch.cat(outs), torch.cat(embs)
