"""A phase's events streamed to the page: the live loss curve and status line of a run or
a gold retrain, paced for the browser and for the training that shares its cores.

    res = yield from streaming.stream(sess, events, progress, out, "unlearning", run_no)

`events` is a runs.Runner phase (Step / Tick / Error / Done). Each Step goes into the
session's step log; an update goes out at most every PUSH_EVERY_S (a gold retrain's status
every GOLD_PUSH_EVERY_S, its loss figure every GOLD_FIGURE_EVERY_S); a Tick sends an empty
update now and then, which keeps Stop's cancel responsive. `out(**values)` builds the
handler's output tuple.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from speechforget.runs import Done, Error, Event, Step, Tick
from speechforget.ui import views
from speechforget.ui.handlers import audit
from speechforget.ui.state import RunState, Session

if TYPE_CHECKING:
    from speechforget.engine import StepLog

# live-curve updates per second are ~1 / this. Each redraws the loss figure in the browser:
# headless Chromium on the same 2 cores took 40-50% of a core at one per 0.3 s, and the
# unlearning run (and every later run, on a page that grows) slowed with it
PUSH_EVERY_S = 0.5
# ... during a gold retrain, whose time is the yardstick of the run's cost: the status line
# (step, seconds) goes out every GOLD_PUSH_EVERY_S, the loss figure only every
# GOLD_FIGURE_EVERY_S. A figure costs ~30 ms of Python holding the GIL the training thread
# needs, and a browser on the same machine CPU to draw it (in headless Chromium on 2 cores a
# redraw shows as a spike of ~8% of a core over a second), which slowed a 2-thread retrain by
# a quarter at one per second.
GOLD_PUSH_EVERY_S = 1.0
GOLD_FIGURE_EVERY_S = 5.0
TICK_EVERY_S = 1.0  # without steps, an empty update this often (keeps Stop's cancel responsive)
READY = "The app is ready for another run."


def stream(sess: Session, events, progress, out: Callable, what: str, run_no: int):
    """Consume a phase's events: update the live curve at most every PUSH_EVERY_S.
    Returns the phase's Result, or None after an error (reported in the status) or
    when a newer run of this session superseded this one."""
    with contextlib.closing(events):  # a cancelled run closes this generator: stop the worker
        res = yield from _consume(sess, events, progress, out, what, run_no)
    return res if sess.runs == run_no else None


def _consume(sess: Session, events: Iterator[Event], progress, out, what, run_no):
    last = drawn = 0.0
    t0 = time.monotonic()
    for event in events:
        match event:
            case Step(which, log):
                if not _record(sess, run_no, which, log):
                    continue  # superseded, or Stop was pressed: its message stays last
                now = time.monotonic()
                gold = which != "unlearned"
                first = len(sess.history[which]) == 1
                if now - last >= (GOLD_PUSH_EVERY_S if gold else PUSH_EVERY_S) or first:
                    last = now
                    draw = not gold or first or now - drawn >= GOLD_FIGURE_EVERY_S
                    drawn = now if draw else drawn
                    yield _live(sess, which, log, now - t0, progress, out, what, draw)
            case Tick():
                if time.monotonic() - last >= TICK_EVERY_S:
                    last = time.monotonic()
                    yield out()
            case Error(error):
                sess.move(RunState.FAILED, run_no)
                failed = f"⚠️ **The {what} failed:** {error}. {READY}"
                yield out(status=failed, **audit.panel(sess))
                return None
            case Done(result):
                return result
    return None


def _live(sess: Session, which, log: StepLog, elapsed: float, progress, out, what, draw=True):
    """A live update: the status line, and the loss figure when `draw`. The unlearning
    run also moves Gradio's progress bar; a gold retrain does not (its status line says the
    step): each progress message made a headless Chromium redraw the status tracker, ~3-5% of
    a core at one a second, taken from the 2-thread retrain on the same cores."""
    if which == "unlearned":
        total = log.total_steps or log.step
        progress(min(log.step / max(total, 1), 1.0), desc=f"{what} step {log.step}/{total}")
    status = views.live_status(which, log, elapsed)
    if not draw:
        return out(status=status)
    loss = views.loss_figure(sess.history, sess.totals, views.gold_note(sess.history))
    return out(status=status, loss=loss)


def _record(sess: Session, run_no: int, which: str, log: StepLog) -> bool:
    """Add a step to the session's step log; True if it should be drawn now."""
    if sess.runs != run_no:
        return False  # superseded by a newer run: its curve is not ours to draw
    sess.history[which].append(log.to_dict())
    sess.totals[which] = log.total_steps
    return not sess.stop.is_set()
