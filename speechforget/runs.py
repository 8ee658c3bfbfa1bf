"""Running one phase of an experiment in a worker thread, as a stream of typed events.

The app shows a run while it trains: the pipeline's `on_step(which, log)` callback
(called by the engine after every optimiser step) becomes a `Step` event here, which
the app's run handler turns into a point of the live loss curve.

    for event in LocalRunner().unlearn(cfg, ctx, stop):   # the worker trains meanwhile
        match event:
            case Step(which, log): ...      # which: "unlearned" | "retrain"; log: StepLog
            case Tick(): ...                # no news for a while: stay responsive to Stop
            case Error(error): ...          # the run failed; error says why
            case Done(result): ...          # the finished (or stopped) pipeline Result

A phase is the unlearning run (`unlearn_events`: the split, the method, its
evaluation) or the gold retrain that follows it (`gold_events`). A `Runner` runs
phases; `LocalRunner` runs them in this process, speechforget.portable's
`RemoteRunner` in another one (ZeroGPU's GPU worker) and yields the same events.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from speechforget.config import ExperimentConfig
from speechforget.engine import StepLog
from speechforget.pipeline import (
    Context,
    Result,
    gold_step,
    original_outputs,
    start_experiment,
    unlearn_step,
)

# ---- events -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One optimiser step of the model `which` ("unlearned" or "retrain")."""

    which: str
    log: StepLog


@dataclass(frozen=True)
class Tick:
    """No step for `poll_s`: lets a consumer stay responsive (to Stop) while it waits."""


@dataclass(frozen=True)
class Done:
    """The phase ended (finished, or stopped early: see `result.stopped`). `result` is the
    pipeline Result; across a process boundary it travels as a portable.Detached."""

    result: Any


@dataclass(frozen=True)
class Error:
    """The phase failed. `error` is the exception (a string across a process boundary,
    where exceptions may not pickle)."""

    error: BaseException | str


Event = Step | Tick | Done | Error


# ---- the streaming runner ------------------------------------------------------------------

_WORKING = threading.Condition()
_working = 0  # phases whose worker runs now (in this process)
_last_change = 0.0  # time.monotonic() when one started or ended (read only when none runs)


def wait_quiet(quiet_s: float = 3.0, timeout_s: float = 120.0) -> bool:
    """Block until no phase has run for quiet_s seconds, counted from the call at the
    earliest (True), or timeout_s passed (False). Background work (the app's start-up of
    its other tasks) waits here, so that it never takes the cores from a visitor's
    training, nor from a run about to start."""
    start = time.monotonic()
    deadline = start + timeout_s
    with _WORKING:
        while True:
            now = time.monotonic()
            calm = max(_last_change, start) + quiet_s - now if _working == 0 else quiet_s
            if calm <= 0:
                return True
            if now >= deadline:
                return False
            _WORKING.wait(min(calm, deadline - now))


def _working_changed(delta: int) -> None:
    global _working, _last_change
    with _WORKING:
        _working += delta
        _last_change = time.monotonic()
        _WORKING.notify_all()


def stream(
    fn: Callable[[Callable], object],
    stop: threading.Event | None = None,
    poll_s: float = 0.2,
    idle: threading.Event | None = None,
) -> Iterator[Event]:
    """Run fn(on_step) in a worker thread and yield its step log as it happens.

    Yields Step(which, log) for each on_step(which, log), Tick() every poll_s without
    news, then Done(fn's result) or Error(exception). Closing the generator early sets
    `stop` (on_step then asks the loop to stop) and waits briefly for the worker.
    `idle` is cleared while the worker runs and set when it has ended (whether or not
    anyone still reads the events)."""
    stop = stop or threading.Event()
    events: queue.Queue[Event] = queue.Queue()

    def on_step(which: str, log: StepLog) -> bool:
        events.put(Step(which, log))
        return stop.is_set()

    def work() -> None:
        _working_changed(+1)
        try:
            events.put(Done(fn(on_step)))
        except BaseException as err:  # handed to the caller, who shows it (never a silent hang)
            events.put(Error(err))
        finally:
            _working_changed(-1)
            if idle is not None:
                idle.set()

    worker = threading.Thread(target=work, name="speechforget-run", daemon=True)
    if idle is not None:
        idle.clear()
    worker.start()
    finished = False
    try:
        while not finished:
            event = _next_event(events, worker, poll_s)
            finished = isinstance(event, Done | Error)
            yield event
    finally:
        if not finished:
            stop.set()
            worker.join(timeout=30)


def _next_event(events: queue.Queue, worker: threading.Thread, poll_s: float) -> Event:
    try:
        return events.get(timeout=poll_s)
    except queue.Empty:
        if not worker.is_alive() and events.empty():  # died without a word
            return Error(RuntimeError("the run's worker thread ended unexpectedly"))
        return Tick()


# ---- the two phases of a run ------------------------------------------------------------


def unlearn_events(
    cfg: ExperimentConfig,
    ctx: Context,
    stop: threading.Event | None = None,
    idle: threading.Event | None = None,
) -> Iterator[Event]:
    """The unlearning phase: make the split, run the method and evaluate it. Raises
    ValueError at once (before any thread starts) for a forget choice that leaves
    nothing to forget or retain."""
    res = start_experiment(cfg, ctx)
    return stream(lambda on_step: unlearn_step(res, on_step), stop, idle=idle)


def gold_events(
    res: Result, stop: threading.Event | None = None, idle: threading.Event | None = None
) -> Iterator[Event]:
    """The gold phase: retrain the gold model for `res` (from the disk cache when this
    forget set was retrained before) and evaluate it."""
    return stream(lambda on_step: gold_step(res, on_step), stop, idle=idle)


class Runner(Protocol):
    """Runs the phases of a run and streams their events (see the module docstring)."""

    def unlearn(
        self,
        cfg: ExperimentConfig,
        ctx: Context,
        stop: threading.Event | None = None,
        idle: threading.Event | None = None,
    ) -> Iterator[Event]: ...

    def gold(
        self, res: Result, stop: threading.Event | None = None, idle: threading.Event | None = None
    ) -> Iterator[Event]: ...


class LocalRunner:
    """Both phases in a worker thread of this process."""

    def unlearn(self, cfg, ctx, stop=None, idle=None) -> Iterator[Event]:
        return unlearn_events(cfg, ctx, stop, idle)

    def gold(self, res, stop=None, idle=None) -> Iterator[Event]:
        return gold_events(res, stop, idle)


def warm_up(ctx: Context) -> None:
    """Compute what every run of this context reuses (the original's outputs)."""
    original_outputs(ctx, device="cpu")
