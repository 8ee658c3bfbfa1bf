"""The engine's bookkeeping: the step log, the run result, the optimiser, and the Loop
that clips, steps, enforces the time budget and reads losses back (see engine/__init__)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from speechforget.config import TrainConfig
from speechforget.engine.conditions import Probe
from speechforget.engine.device import resolve_device
from speechforget.engine.work import Work, WorkMeter, warm_up_flop_counter


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
            "step": self.step,
            "epoch": self.epoch,
            "forget_loss": self.forget_loss,
            "retain_loss": self.retain_loss,
            "elapsed_s": round(self.elapsed_s, 4),
            "phase": self.phase,
        }


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
    # the sample passes it made (engine.work; None: unknown, e.g. a kept gold without them)
    work: Work | None = None
    # engine.conditions.Conditions.to_dict() of its wall time: device, threads, contended...
    conditions: dict | None = None


def make_optimizer(
    params, lr: float, weight_decay: float, kind: str = "adamw"
) -> torch.optim.Optimizer:
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
    warm_up_flop_counter()  # loss matching measures its frozen prefix's share of the FLOPs


class Loop:
    """Shared bookkeeping for fit and unlearn: device, clipping, budget, step log, and the
    run's cost: its work (`meter` watches the model; a method watches its teachers) and the
    conditions its wall time was measured under (engine.conditions).

    On CUDA the logged losses (and whether each step's objective was finite) stay on
    the device and are read SYNC_EVERY steps at a time (one host sync instead of one
    per step); on_step then sees those steps in a burst, and a stop it asks for or a
    non-finite loss takes effect at the next read. On CPU every step is read and
    reported at once, and a non-finite loss is caught before it is stepped on."""

    SYNC_EVERY = 25

    def __init__(
        self,
        model: nn.Module,
        cfg: TrainConfig,
        total_steps: int,
        on_step: StepCallback | None = None,
    ) -> None:
        self.model, self.cfg, self.on_step = model, cfg, on_step
        self.device = resolve_device(cfg.device)
        self.total_steps = total_steps
        self.result = RunResult()
        self.meter = WorkMeter()
        self.meter.watch(model)
        self.probe = Probe(self.device)
        self.t0 = time.perf_counter()
        self._pending: list[tuple] = []  # steps logged but not yet read back (CUDA)
        self.deferred = defer_reads(self.device)  # read losses back in bursts, not per step

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def backward_step(
        self,
        loss: torch.Tensor,
        opt: torch.optim.Optimizer,
        after_backward: Callable[[], None] | None = None,
        after_step: Callable[[], None] | None = None,
    ) -> None:
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

    def log(
        self,
        epoch: int,
        forget_loss: torch.Tensor | float | None,
        retain_loss: torch.Tensor | float | None,
        phase: str = "train",
        objective: torch.Tensor | None = None,
    ) -> bool:
        """Record one step; True when the run must stop (callback asked, budget hit, or
        a non-finite `objective` read back)."""
        r = self.result
        r.steps += 1
        finite = None if objective is None else torch.isfinite(objective.detach())
        self._pending.append(
            (
                r.steps,
                epoch,
                _detached(forget_loss),
                _detached(retain_loss),
                self.elapsed(),
                phase,
                finite,
            )
        )
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
        values = _floats(
            [p[2] for p in pending] + [p[3] for p in pending] + [p[6] for p in pending]
        )
        if any(v is not None and not v for v in values[2 * n :]):
            self.result.diverged = True
        for i, (step, epoch, _, _, elapsed, phase, _) in enumerate(pending):
            entry = StepLog(step, epoch, values[i], values[n + i], elapsed, phase, self.total_steps)
            self.result.history.append(entry)
            if self.on_step is not None and self.on_step(entry):
                self.result.stopped = True

    def finish(self) -> RunResult:
        self._flush()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.result.time_s = self.elapsed()
        self.result.work = self.meter.close()
        self.result.conditions = self.probe.stop().to_dict()
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
