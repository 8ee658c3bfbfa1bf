"""Progress of long preparation work (building the built-in data, loading models), for
whoever listens: the app's start-up (terminal lines and the page's "preparing …: n%").

    with progress.listening(lambda stage, fraction: print(stage, fraction)):
        prepare("kws")                     # reports "building the built-in data" 0..1, ...
    progress.report("loading the original model")       # fraction None: a stage without %

A child process (the data build runs in one) writes `child_line(stage, fraction)` to its
stderr; the parent passes each stderr line through `relay`, which reports the ones that
are progress and returns the others. Nothing is reported when nobody listens.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

Listener = Callable[[str, float | None], None]
MARK = "@@speechforget-progress "

_listeners: list[Listener] = []
_lock = threading.Lock()


def report(stage: str, fraction: float | None = None) -> None:
    """Tell every listener that `stage` is `fraction` (0..1, or None) done. A listener that
    raises is ignored: progress never breaks the work it describes."""
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        with contextlib.suppress(Exception):
            listener(stage, None if fraction is None else min(max(float(fraction), 0.0), 1.0))


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[None]:
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


def child_line(stage: str, fraction: float) -> str:
    """The stderr line a child process writes to report progress to its parent."""
    return f"{MARK}{fraction:.4f} {stage}\n"


def relay(line: str) -> str | None:
    """Report a child's progress line (None returned), or return any other line."""
    if not line.startswith(MARK):
        return line
    head, _, stage = line[len(MARK) :].strip().partition(" ")
    with contextlib.suppress(ValueError):
        report(stage, float(head))
    return None
