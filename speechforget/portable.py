"""Runs whose phases execute in another process (Hugging Face ZeroGPU's forked GPU worker).

Arguments and events cross that process boundary by pickling, so what crosses it is
plain CPU data: a `Detached` copy of a Result (CPU state dicts and numpy evaluations,
no Context: it is large and both sides already have it), `Step` events as they are,
`Done(Detached)` and `Error(str)` (exceptions may not pickle). `RemoteRunner` turns a
pair of such remote phase functions back into a `runs.Runner`: the same events as a
local run, with `Done(Result)` rebuilt beside this process's Context.

    worker side:   yield from worker_events(runs.unlearn_events(cfg, ctx))
    parent side:   RemoteRunner(remote_unlearn, remote_gold).unlearn(cfg, ctx)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from speechforget.config import ExperimentConfig
from speechforget.data import Split
from speechforget.engine import RunResult
from speechforget.models import build_model
from speechforget.pipeline import Context, ModelEval, Result, start_experiment
from speechforget.runs import Done, Error, Event, Step


@dataclass
class Detached:
    """A picklable, CPU-only copy of a Result without its Context."""

    config: ExperimentConfig
    split: Split
    evals: dict[str, ModelEval]
    # {name: {"spec": model spec, "state": CPU state dict}}
    models: dict[str, dict] = field(default_factory=dict)
    runs: dict[str, RunResult] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)
    stopped: bool = False
    relearn: dict | None = None


def detach(res: Result) -> Detached:
    """The Result as plain CPU data (see the module docstring)."""
    models = {
        k: {"spec": m.spec(), "state": {n: t.detach().cpu() for n, t in m.state_dict().items()}}
        for k, m in res.models.items()
    }
    return Detached(
        res.config,
        res.split,
        dict(res.evals),
        models,
        dict(res.runs),
        dict(res.times),
        res.stopped,
        res.relearn,
    )


def attach(state: Detached, ctx: Context) -> Result:
    """The Result `detach` described, rebuilt on CPU beside `ctx`."""
    res = Result(state.config, ctx, state.split, dict(state.evals))
    for k, m in state.models.items():
        model = build_model(m["spec"])
        model.load_state_dict(m["state"])
        res.models[k] = model.eval()
    res.runs, res.times, res.stopped = dict(state.runs), dict(state.times), state.stopped
    res.relearn = state.relearn
    return res


def worker_events(events: Iterator[Event]) -> Iterator[Event]:
    """A phase's events as they may cross the boundary: Step as is, Done(Detached),
    Error(message); Ticks stay behind (the parent has its own pace)."""
    for event in events:
        match event:
            case Step():
                yield event
            case Done(result):
                yield Done(detach(result))
            case Error(error):
                yield Error(str(error))


def attached_events(events: Iterator[Event], ctx: Context) -> Iterator[Event]:
    """The parent's side of `worker_events`: Done carries a Result again, Error a ValueError."""
    for event in events:
        match event:
            case Done(result):
                yield Done(attach(result, ctx))
            case Error(error):
                yield Error(ValueError(str(error)))
            case _:
                yield event


RemoteUnlearn = Callable[[ExperimentConfig], Iterator[Event]]  # worker_events of unlearn_events
RemoteGold = Callable[[Detached], Iterator[Event]]  # worker_events of gold_events


class RemoteRunner:
    """A runs.Runner over remote phase functions. A stop flag cannot cross the boundary:
    a remote phase runs to its end (or its time limit)."""

    def __init__(self, unlearn: RemoteUnlearn, gold: RemoteGold) -> None:
        self._unlearn, self._gold = unlearn, gold

    def unlearn(
        self,
        cfg: ExperimentConfig,
        ctx: Context,
        stop: threading.Event | None = None,
        idle: threading.Event | None = None,
    ) -> Iterator[Event]:
        start_experiment(cfg, ctx)  # a bad forget choice fails here, before asking for a GPU
        return attached_events(self._unlearn(cfg), ctx)

    def gold(
        self, res: Result, stop: threading.Event | None = None, idle: threading.Event | None = None
    ) -> Iterator[Event]:
        return attached_events(self._gold(detach(res)), res.ctx)
