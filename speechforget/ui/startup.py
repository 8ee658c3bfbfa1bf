"""The app's start-up work, off the request path: the page is served first, then this
prepares the default task in a background thread while the terminal and every open page
say what it is doing ("building the built-in data: 40%"); Run is enabled when it is done.

    prep = Preparation(app_context, ("kws",))
    prep.start()                  # idempotent; launch() calls it before serving the page
    prep.ready.wait(); prep.line() # "ready in 23.4 s" | "building the built-in data: 40%"

Steps, for each task (the first one gates Run): the data (built once into the cache
folder, ~half a minute on 2 cores; from the cache on later starts), the featurized clips
and the original model, the original's outputs on every clip (reused by every run), then
plotly's first figures. UMAP's compilation runs in its own process (viz.warm_up_umap).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable

from speechforget import progress, runs
from speechforget.ui import views

OUTPUTS_STAGE = "computing the original model's outputs"
FIGURES_STAGE = "warming up the figures"


class Preparation:
    def __init__(
        self,
        app,  # ui.context.AppContext
        tasks: tuple[str, ...],
        write: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.tasks = tasks
        self.write = write if write is not None else _terminal
        self.stage = "starting"
        self.fraction: float | None = None
        self.error: str | None = None
        self.ready = threading.Event()  # the first task can run (or its preparation failed)
        self.done = threading.Event()  # every task prepared
        self.seconds: float | None = None
        self._started = False
        self._lock = threading.Lock()
        self._t0 = time.perf_counter()
        self._said: tuple[str, int] | None = None

    def start(self) -> Preparation:
        with self._lock:
            if not self._started:
                self._started = True
                self._t0 = time.perf_counter()
                threading.Thread(target=self._work, name="start-up", daemon=True).start()
        return self

    @property
    def started(self) -> bool:
        return self._started

    def line(self) -> str:
        """Where the start-up is, in a few words (for the page)."""
        if self.error:
            return f"could not prepare the built-in data: {self.error}"
        if self.ready.is_set():
            return f"ready in {self.seconds:.1f} s"
        pct = "" if self.fraction is None else f": {100 * self.fraction:.0f}%"
        return f"{self.stage}{pct}"

    # ---- the work ------------------------------------------------------------------------

    def _work(self) -> None:
        with progress.listening(self._on_progress):
            for i, task in enumerate(self.tasks):
                try:
                    ctx = self.app.context(task)
                    self._on_progress(OUTPUTS_STAGE, None)
                    runs.warm_up(ctx)
                    if i == 0:
                        self._on_progress(FIGURES_STAGE, None)
                        views.warm_up_figures()
                except Exception as err:  # the page says it; a visitor's run says it again
                    if i == 0:
                        self.error = f"{type(err).__name__}: {err}"
                        self.write(f"speechforget: {self.line()}")
                if i == 0:
                    self.seconds = time.perf_counter() - self._t0
                    self.ready.set()
                    if not self.error:
                        self.write(f"speechforget: {task} is {self.line()}; Run is enabled")
                    # the other tasks load behind visitors' work, at low priority
                    with contextlib.suppress(OSError, AttributeError):
                        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        self.done.set()

    def _on_progress(self, stage: str, fraction: float | None) -> None:
        if self.ready.is_set():
            return  # a later task's loading: the page no longer waits for it
        self.stage, self.fraction = stage, fraction
        # the terminal: a line per stage, and per 10% of a stage with a fraction
        step = -1 if fraction is None else int(fraction * 10)
        if self._said != (stage, step):
            self._said = (stage, step)
            self.write(f"speechforget: {self.line()}")


def _terminal(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
