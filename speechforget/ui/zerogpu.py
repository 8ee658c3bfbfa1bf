"""Hugging Face ZeroGPU: each phase of a run in a `spaces.GPU` function that returns CPU data.

On ZeroGPU (the `spaces` package installed and SPACES_ZERO_GPU set) the unlearning
and the gold retrain each run in the GPU worker the platform forks; their events
cross back pickled (speechforget.portable: Step as is, Done with a detached Result,
Error as a message) and `make_runner` returns a runner that yields the same events
as a local run. Anywhere else it returns None and runs happen in this process.
UMAP and plotting always stay on the CPU, outside the GPU functions.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

try:  # the platform installs `spaces`; it is optional everywhere else
    import spaces
except ImportError:  # pragma: no cover - depends on the environment
    spaces = None

from speechforget import portable, runs
from speechforget.config import ExperimentConfig
from speechforget.portable import Detached, RemoteRunner


def on_zerogpu() -> bool:
    return spaces is not None and bool(os.environ.get("SPACES_ZERO_GPU"))


# seconds of GPU asked for per phase (quota is checked against this, so keep it small)
def _unlearn_s(cfg: ExperimentConfig) -> int:
    return 60


def _gold_s(state: Detached) -> int:
    return 120


def make_runner(contexts: Callable) -> RemoteRunner | None:
    """A runner whose phases run in spaces.GPU workers, or None off ZeroGPU.
    `contexts(task, backbone, data)` gives the Context (in the worker: inherited from
    the parent by fork, so nothing is reloaded)."""
    if not on_zerogpu():
        return None

    def context(cfg: ExperimentConfig):
        return contexts(cfg.task, cfg.backbone, cfg.data.source)

    def gpu_unlearn(cfg: ExperimentConfig) -> Iterator[runs.Event]:
        yield from portable.worker_events(runs.unlearn_events(cfg, context(cfg)))

    def gpu_gold(state: Detached) -> Iterator[runs.Event]:
        res = portable.attach(state, context(state.config))
        yield from portable.worker_events(runs.gold_events(res))

    return RemoteRunner(
        spaces.GPU(duration=_unlearn_s)(gpu_unlearn), spaces.GPU(duration=_gold_s)(gpu_gold)
    )
