"""Hugging Face ZeroGPU: GPU work in a `spaces.GPU` function that returns CPU data.

On ZeroGPU (the `spaces` package installed and SPACES_ZERO_GPU set) each phase of a
run (the unlearning, the gold retrain) runs in the GPU worker the platform forks;
its step log streams back as events and the finished run comes back detached
(CPU state dicts and numpy evaluations, no Context), see speechforget.explore.
Anywhere else `make_gpu_phase` returns None and runs happen in this process.
UMAP and plotting always stay on the CPU, outside the GPU function.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

try:  # the platform installs `spaces`; it is optional everywhere else
    import spaces
except ImportError:  # pragma: no cover - depends on the environment
    spaces = None

from speechforget import explore


def on_zerogpu() -> bool:
    return spaces is not None and bool(os.environ.get("SPACES_ZERO_GPU"))


def _duration(phase: str, cfg, state) -> int:
    """Seconds of GPU asked for (quota is checked against this, so keep it small)."""
    return 60 if phase == "unlearn" else 120


def make_gpu_phase(contexts: Callable) -> Callable | None:
    """A spaces.GPU generator (phase, cfg, detached result | None) -> events, or None off ZeroGPU."""
    if not on_zerogpu():
        return None

    def gpu_phase(phase: str, cfg, state) -> Iterator[tuple]:
        ctx = contexts(
            cfg.task, cfg.backbone, cfg.data.source
        )  # inherited from the parent by fork: no reload
        res = explore.attach(state, ctx) if state is not None else None
        for event in explore.phase_events(phase, cfg, ctx, res):
            if event[0] == "done":
                yield ("done", explore.detach(event[1]))
            elif event[0] == "error":
                yield ("error", str(event[1]))  # exceptions may not pickle
            elif event[0] == "step":
                yield event

    return spaces.GPU(duration=_duration)(gpu_phase)
