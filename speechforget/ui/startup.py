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

from speechforget import progress, runs, viz
from speechforget.ui import views

OUTPUTS_STAGE = "computing the original model's outputs"
FIGURES_STAGE = "warming up the figures"
# the other tasks are prepared once no run or gold has trained for QUIET_S seconds since the
# first was ready (or after QUIET_WAIT_S, whatever is running)
QUIET_S, QUIET_WAIT_S = 10.0, 180.0
UMAP_STAGE = "compiling UMAP for the embedding maps"
UMAP_WAIT_S = 30.0  # Run is enabled after at most this long for UMAP (a run draws PCA then)
STARTUP_NICE = 5  # the start-up thread's nice value (then 10 for the other tasks)


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
        # a little below the web server and a visitor's browser (on this machine when it
        # measures itself): the page is served and drawn while the data is built (the build's
        # child process inherits this thread's priority)
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), STARTUP_NICE)
        with progress.listening(self._on_progress):
            for i, task in enumerate(self.tasks):
                if i > 0:  # the others after visitors' training (a visitor may ask sooner)
                    runs.wait_quiet(QUIET_S, QUIET_WAIT_S)
                try:
                    ctx = self.app.context(task)
                    self._on_progress(OUTPUTS_STAGE, None)
                    runs.warm_up(ctx)
                    if i == 0:
                        self._on_progress(FIGURES_STAGE, None)
                        views.warm_up_figures()
                        import_late()
                        if viz.projection_status() == "warming":  # started by App.start_up
                            self._on_progress(UMAP_STAGE, None)
                            viz.warm_up_umap(block=True, timeout_s=UMAP_WAIT_S)
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


def import_late() -> None:
    """Import what serving the page does not need but a run does: scikit-learn (the
    attacks, the probe) and scipy (an upload's resampling, the audit's KS test). The modules
    that use them import them late, so that the page is served ~1.3 s sooner."""
    import scipy.signal  # noqa: F401
    import scipy.stats  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import sklearn.model_selection  # noqa: F401
    import sklearn.svm  # noqa: F401


def _terminal(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
