"""What an unlearning method is, and the batch plans methods share.

A method declares `name`, `label`, `paper`, a `Config` dataclass (fields with help
metadata) and tuned per-mode `defaults`; it implements `steps` (which batches, in
which phase) and `loss` (per-sample losses of its forget and retain terms).
Optional hooks: `setup` (teachers, masks, random labels), `after_backward`
(gradient masks), `after_step` (restore frozen weights). The engine
(speechforget.engine.unlearn) owns the loop: device, optimiser, clipping, time
budget, the step log and the run's work (sample passes, engine/work.py): it counts
the model's passes; a method that runs another module (a teacher, part of the model)
calls `self.watch(module, share)` before running it.

    f' = argmin  forget_weight * mean(l_f(Df batch)) + retain_weight * mean(l_r(Dr batch))

A negative forget_weight maximises the forget term (gradient ascent, SCRUB's max step).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from speechforget.config import TrainConfig
from speechforget.engine import WorkMeter


def setting(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


@dataclass
class UnlearnConfig:
    """Fields every method has; a method's Config subclasses this and adds its own."""

    epochs: int = setting(2, "passes over the set that drives the method", min=1, max=200)
    optimizer: str = setting("adamw", "adamw, or sgd (momentum 0.9)", choices=("adamw", "sgd"))
    lr: float = setting(1e-3, "learning rate", min=1e-7, max=1.0, log=True)
    batch_size: int = setting(
        64, "clips per batch (forget and retain batches alike)", min=1, max=4096
    )
    weight_decay: float = setting(0.0, "weight decay", min=0.0, max=1.0)
    grad_clip: float = setting(5.0, "clip the gradient norm to this (0 = off)", min=0.0, max=1000.0)
    schedule: str = setting(
        "constant", "learning-rate schedule over the run", choices=("constant", "cosine")
    )
    freeze_norm: bool = setting(
        True,
        "keep batch-norm statistics fixed (forget-only batches would skew them for every clip)",
    )


@dataclass
class UnlearnData:
    """Every clip of the task and the positions of Df and Dr in it.

    x: (M, ...) model inputs (featurized), y: (M,) int64 labels,
    forget: (F,) and retain: (R,) int64 positions into x (disjoint); val: (V,) positions
    of held-out validation clips (never the test clips), a reference of unseen data;
    unheard: (U,) positions of clips of speakers no model trained on (split "unheard"; may
    be empty), the reference of a speaker no model heard (speaker mode).
    """

    x: torch.Tensor
    y: torch.Tensor
    forget: torch.Tensor
    retain: torch.Tensor
    num_classes: int
    mode: str = "sample"  # "sample", "class" or "speaker" (data.splits.forget_mode)
    forgotten_classes: tuple[int, ...] = ()
    val: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))
    unheard: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.long))

    def to(self, device: torch.device) -> UnlearnData:
        return dataclasses.replace(self, x=self.x.to(device), y=self.y.to(device))


@dataclass
class Batch:
    """Positions of one step's forget and retain clips (None: no such batch)."""

    forget: torch.Tensor | None = None  # (Bf,)
    retain: torch.Tensor | None = None  # (Br,)
    epoch: int = 0
    phase: str = "train"  # e.g. "max" / "min" for SCRUB

    def to(self, device: torch.device) -> Batch:
        def mv(t):
            return None if t is None else t.to(device)

        return dataclasses.replace(self, forget=mv(self.forget), retain=mv(self.retain))


@dataclass
class Terms:
    """Per-sample losses of one step. objective = fw * mean(forget) + rw * mean(retain).

    `forget_objective` / `retain_objective` replace the per-sample values inside the
    objective when a wrapper (SuperLoss) re-weights them; the step log always shows
    the plain means of `forget` and `retain`.
    """

    forget: torch.Tensor | None = None  # (Bf,)
    retain: torch.Tensor | None = None  # (Br,)
    forget_weight: float = 1.0  # < 0: the forget term is maximised
    retain_weight: float = 1.0
    forget_objective: torch.Tensor | None = None
    retain_objective: torch.Tensor | None = None

    def objective(self) -> torch.Tensor:
        parts = []
        for raw, obj, w in (
            (self.forget, self.forget_objective, self.forget_weight),
            (self.retain, self.retain_objective, self.retain_weight),
        ):
            if raw is not None and raw.numel() and w != 0:
                parts.append(w * (obj if obj is not None else raw).mean())
        if not parts:
            raise ValueError("a step with neither a forget nor a retain loss")
        return torch.stack(parts).sum()

    def logged(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(mean forget loss, mean retain loss) for the step log, as detached 0-d tensors
        on the model's device (the engine reads them back without a per-step sync)."""

        def m(t):
            return None if t is None or not t.numel() else t.detach().float().mean()

        return m(self.forget), m(self.retain)


class Method:
    """Base class of the unlearning methods (see the module docstring)."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    paper: ClassVar[str] = ""
    Config: ClassVar[type] = UnlearnConfig
    # tuned defaults per unlearning mode, applied over Config() (see registry.resolve_config)
    defaults: ClassVar[dict[str, dict[str, Any]]] = {"sample": {}, "class": {}}
    # the method's result is the gold retrain itself (no losses of its own to re-weight)
    yields_gold: ClassVar[bool] = False
    # the run's work meter, set by the engine for the run (None outside one)
    meter: WorkMeter | None = None

    def __init__(self, cfg: UnlearnConfig | None = None) -> None:
        self.cfg = cfg if cfg is not None else self.Config()

    def train_config(
        self, seed: int = 0, device: str = "auto", time_budget_s: float | None = None
    ) -> TrainConfig:
        c = self.cfg
        return TrainConfig(
            epochs=c.epochs,
            lr=c.lr,
            weight_decay=c.weight_decay,
            batch_size=c.batch_size,
            grad_clip=c.grad_clip,
            seed=seed,
            device=device,
            time_budget_s=time_budget_s,
        )

    def run_whole(self, ctx: Any, split: Any, device: str, on_step: Any = None) -> Any:
        """A method that is not a loop on the engine (the gold retrain) returns its
        (model, RunResult) here; engine methods return None."""
        return None

    def scheduler(self, opt: torch.optim.Optimizer, total_steps: int):
        """A per-step learning-rate scheduler, or None for a constant rate."""
        if getattr(self.cfg, "schedule", "constant") == "cosine" and total_steps > 0:
            return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
        return None

    def train_mode(self, model: nn.Module) -> None:
        """Training mode for the run; with cfg.freeze_norm the batch-norm layers normalise
        with their stored statistics and do not update them."""
        model.train()
        if getattr(self.cfg, "freeze_norm", False):
            for m in model.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()

    def setup(self, model: nn.Module, data: UnlearnData, gen: torch.Generator) -> None:
        """Before the first step (teachers, masks, labels). Counted in the run time."""

    def watch(self, module: nn.Module, share: float = 1.0) -> None:
        """Count `module`'s passes in the run's work, each clip as `share` of a pass through
        the whole model (a teacher: 1; a part of the model: engine.split_shares). The engine
        already counts the model's own passes: watch only modules called directly."""
        if self.meter is not None:
            self.meter.watch(module, share)

    def watch_split(
        self, model: nn.Module, k: int, x1: torch.Tensor
    ) -> tuple[nn.Module, nn.Module]:
        """model.split(k) as (prefix, rest), each watched with its share of the model's
        forward FLOPs (measured on one input x1 (1, ...)): a frozen prefix whose outputs are
        computed once counts once."""
        return model.split(k) if self.meter is None else self.meter.watch_split(model, k, x1)

    def trainable(self, model: nn.Module) -> list[nn.Parameter]:
        """The parameters the optimiser updates."""
        return [p for p in model.parameters() if p.requires_grad]

    def total_steps(self, data: UnlearnData) -> int:
        raise NotImplementedError

    def steps(self, data: UnlearnData, gen: torch.Generator) -> Iterator[Batch]:
        raise NotImplementedError

    def loss(self, model: nn.Module, data: UnlearnData, batch: Batch) -> Terms:
        raise NotImplementedError

    def after_backward(self, model: nn.Module) -> None:
        """After backward, before clipping and the optimiser step (gradient masks)."""

    def after_step(self, model: nn.Module) -> None:
        """After the optimiser step (restore frozen coordinates)."""


# ---- batch plans -------------------------------------------------------------------------


def n_batches(n: int, batch_size: int) -> int:
    return -(-n // batch_size) if n else 0


def shuffled(idx: torch.Tensor, batch_size: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    """One shuffled pass over the positions `idx`, in batches (the last may be short)."""
    order = idx[torch.randperm(len(idx), generator=gen)]
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def cycled(idx: torch.Tensor, batch_size: int, gen: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless full batches drawn from `idx`, reshuffled on every pass."""
    if len(idx) == 0:
        raise ValueError("cannot draw batches from an empty set")
    buf = torch.zeros(0, dtype=torch.long)
    while True:
        while len(buf) < batch_size:
            buf = torch.cat([buf, idx[torch.randperm(len(idx), generator=gen)]])
        yield buf[:batch_size]
        buf = buf[batch_size:]


def paired(
    drive: torch.Tensor,
    batch_size: int,
    gen: torch.Generator,
    other: Iterator[torch.Tensor],
    drive_is_forget: bool = True,
    epoch: int = 0,
    phase: str = "train",
) -> Iterator[Batch]:
    """One pass over `drive` in batches, each paired with the next batch of the `other`
    stream (e.g. `cycled(retain, ...)`, kept by the caller across epochs)."""
    for b in shuffled(drive, batch_size, gen):
        o = next(other)
        f, r = (b, o) if drive_is_forget else (o, b)
        yield Batch(forget=f, retain=r, epoch=epoch, phase=phase)


def mixed(
    forget: torch.Tensor,
    retain: torch.Tensor,
    batch_size: int,
    gen: torch.Generator,
    epoch: int = 0,
    phase: str = "train",
) -> Iterator[Batch]:
    """One shuffled pass over the union of `forget` and `retain`, each batch split
    back into its forget and retain positions."""
    union = torch.cat([forget, retain])
    is_forget = torch.zeros(len(union), dtype=torch.bool)
    is_forget[: len(forget)] = True
    order = torch.randperm(len(union), generator=gen)
    for start in range(0, len(union), batch_size):
        sel = order[start : start + batch_size]
        fm = is_forget[sel]
        yield Batch(forget=union[sel][fm], retain=union[sel][~fm], epoch=epoch, phase=phase)


@dataclass
class PairedConfig(UnlearnConfig):
    """epochs = passes over the forget set (each forget batch with a batch of retain clips)."""

    retain_batch_size: int = setting(
        0, "retain clips per step (0 = batch_size, the forget clips per step)", min=0, max=4096
    )


class ForgetPaired(Method):
    """A method whose epoch is one pass over Df, each forget batch paired with the next
    batch of a retain stream kept across epochs (NegGrad+, random labels, SalUn)."""

    def total_steps(self, data: UnlearnData) -> int:
        return self.cfg.epochs * n_batches(len(data.forget), self.cfg.batch_size)

    def steps(self, data: UnlearnData, gen: torch.Generator) -> Iterator[Batch]:
        stream = cycled(data.retain, self.cfg.retain_batch_size or self.cfg.batch_size, gen)
        for epoch in range(self.cfg.epochs):
            yield from paired(data.forget, self.cfg.batch_size, gen, stream, epoch=epoch)
