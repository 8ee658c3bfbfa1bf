"""The work of a run, counted in sample passes: a cost that does not depend on load.

Unit: one *sample-forward equivalent* = one clip's forward pass through the whole model as
the engine calls it, `model(x)` on featurized inputs (featurizing runs once per data set, for
every run alike, and is not counted). A backward pass counts as 2 forwards (the usual FLOP
rule: the gradients with respect to activations and to weights each cost about one forward).
A pass through part of the model counts as that part's share of the model's forward FLOPs
(`split_shares`: convolution and matrix-multiply FLOPs as torch.utils.flop_counter counts
them, on one input): loss matching's frozen prefix runs once over its clips, then every step
runs only the rest of the model.

    units = forward + 2 * backward,   forward = sum over passes of n_clips * share

Counted: every pass a run makes, its setup included (teachers' logits, SalUn's saliency
gradients, frozen-prefix outputs, loss matching's reference losses). Not counted: the
evaluation after a run (the report's metrics, attacks, probe and relearning).
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

# a backward pass through a module costs about this many forwards through it
BACKWARD_FORWARDS = 2


@dataclass
class Work:
    """Sample passes of a run, in whole-model sample-forward equivalents (see module)."""

    forward: float = 0.0  # sample forwards, each weighted by the share of the model it ran
    backward: float = 0.0  # sample backwards, weighted the same way

    @property
    def units(self) -> float:
        """Sample-forward equivalents: forward + 2 * backward."""
        return self.forward + BACKWARD_FORWARDS * self.backward

    def to_dict(self) -> dict:
        r = lambda v: round(v, 3)  # noqa: E731 (shares are fractions of a pass)
        return {"forward": r(self.forward), "backward": r(self.backward), "units": r(self.units)}

    @classmethod
    def from_dict(cls, d: dict | None) -> Work | None:
        return None if d is None else cls(float(d["forward"]), float(d["backward"]))


class WorkMeter:
    """Counts the sample passes through watched modules (forward hooks; a backward pass is
    counted when the gradient reaches the module's output). Watch every module a run calls
    directly, once: a watched module called through a watched parent would count twice."""

    def __init__(self) -> None:
        self.work = Work()
        self._handles: list = []
        self._paused = False

    def watch(self, module: nn.Module, share: float = 1.0) -> None:
        """Count `module`'s passes, each clip as `share` of a whole-model pass."""

        target = weakref.ref(module)

        def on_forward(mod: nn.Module, args: tuple, output) -> None:
            # a deep copy (a teacher made by frozen_copy) inherits the hook: not counted here,
            # unless it stands in for the module (predict's channels-last copy says so)
            origin = getattr(mod, "_counted_as", None)
            mod = origin() if origin is not None else mod
            if mod is not target() or self._paused:
                return
            if not args or not isinstance(args[0], torch.Tensor):
                return
            n = args[0].shape[0] * share  # (B, ...) inputs
            self.work.forward += n
            outs = [t for t in _tensors(output) if t.requires_grad]
            if outs:  # fires once per backward pass that reaches any of the outputs
                torch.autograd.graph.register_multi_grad_hook(
                    outs, lambda _: self._backward(n), mode="any"
                )

        self._handles.append(module.register_forward_hook(on_forward))

    def watch_split(
        self, model: nn.Module, k: int, x1: torch.Tensor
    ) -> tuple[nn.Module, nn.Module]:
        """model.split(k) as (prefix, rest), each watched with its share of the model's
        forward FLOPs (split_shares on one input x1 (1, ...); that measurement not counted)."""
        with self.paused():
            front, back = split_shares(model, k, x1)
        prefix, rest = model.split(k)
        self.watch(prefix, front)
        self.watch(rest, back)
        return prefix, rest

    def _backward(self, n: float) -> None:
        if not self._paused:
            self.work.backward += n

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Passes made inside are not counted (evaluation inside a loop)."""
        self._paused = True
        try:
            yield
        finally:
            self._paused = False

    def close(self) -> Work:
        """Remove the hooks; the work counted."""
        for h in self._handles:
            h.remove()
        self._handles = []
        return self.work


def _tensors(output) -> list[torch.Tensor]:
    if isinstance(output, torch.Tensor):
        return [output]
    if isinstance(output, (tuple, list)):
        return [t for t in output if isinstance(t, torch.Tensor)]
    return []


def forward_flops(module: nn.Module, x: torch.Tensor) -> int:
    """Forward FLOPs of module(x) (convolutions and matrix multiplies), no gradients kept."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(x)
    return int(counter.get_total_flops())


@torch.no_grad()
def split_shares(model: nn.Module, k: int, x1: torch.Tensor) -> tuple[float, float]:
    """(prefix share, rest share) of model(x1)'s forward FLOPs for model.split(k), measured
    on one input x1 (1, ...); the two add up to 1. A model without FLOPs to count (no
    convolution or matrix multiply) gives (0, 1)."""
    prefix, rest = model.split(k)
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        total = forward_flops(model, x1)
        front = forward_flops(prefix, x1) if k else 0
    finally:
        for m, training in modes:
            m.training = training
    if total <= 0:
        return 0.0, 1.0
    return front / total, 1.0 - front / total


def warm_up_flop_counter() -> None:
    """Pay FlopCounterMode's one-time set-up (about 0.8 s on 2 CPU cores) outside any timed
    run (engine.warm_up calls it)."""
    forward_flops(nn.Linear(1, 1), torch.zeros(1, 1))
