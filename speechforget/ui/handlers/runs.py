"""The Run, gold and Stop handlers: a run's two phases streamed to the page.

Run streams the unlearning phase (live loss curve), then shows the unlearned model's
figures; the gold retrain follows in `gold` (an event chained after Run's). The
session's `RunState` says where the run is; every change goes through Session.move,
which ignores a superseded run's handler. A loss point travels

    engine StepLog -> pipeline on_step(which, log) -> runs.stream's Step event
      -> streaming.stream (session step log) -> views.loss_figure -> gr.Plot "loss-plot"

Each handler yields output values in the order of its *_KEYS; gr.skip() leaves an
output as it is. Bad input never raises into Gradio: it gets a message in the status.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import gradio as gr

from speechforget import report as reports
from speechforget import report_text
from speechforget.runview import RunView, run_view
from speechforget.ui import controls, views
from speechforget.ui.context import AppContext
from speechforget.ui.handlers import audit, streaming
from speechforget.ui.handlers.results import clip_update
from speechforget.ui.handlers.streaming import READY
from speechforget.ui.state import RunState, Session
from speechforget.viz.style import empty_figure

RUN_KEYS = (
    "session",
    "status",
    "loss",
    "metrics",
    "confusion",
    "mia",
    "embedding",
    "clips",
    "runs",
    "report",
    "checkpoint",
    "run_id",
    *audit.AUDIT_KEYS,
)
GOLD_KEYS = (
    "status",
    "loss",
    "metrics",
    "confusion",
    "mia",
    "embedding",
    "runs",
    "report",
    *audit.AUDIT_KEYS,
)
STOP_WAIT_S = 30.0  # at most this long for the stopped run's worker to end
# ... and then at most this long for the run's handler to send its last update: Stop's
# message must be the last word. A direct call from the handler's own thread (tests)
# cannot see the handler end, so this stays short.
STOP_SETTLE_S = 0.6
# a redraw of a provisional (PCA) map after the gold waits this long for UMAP's warm-up and
# then its fit (it holds the train queue); the map event, on its own queue, waits longer.
# UMAP's worker only gets CPU time that training leaves (viz.embedding): under a class's
# load a map may come late
REDRAW_MAP_WAIT_S = 2.0
MAP_WAIT_S = 180.0
STOPPED_EARLY = f"⏹️ **Stopped.** The unlearning run ended early; nothing to evaluate. {READY}"
GOLD_STOPPED = (
    "⏹️ **Gold retrain stopped.** The unlearned model's results stay; gaps to gold need "
    f"the gold model. {READY}"
)


def outputs(keys: tuple[str, ...], **values: Any) -> tuple:
    """Values in the order of `keys`; gr.skip() for the ones not given."""
    return tuple(values.get(k, gr.skip()) for k in keys)


class RunHandlers:
    def __init__(self, app: AppContext) -> None:
        self.app = app

    # ---- Run: the unlearning phase ------------------------------------------------------

    def run(
        self,
        sid: str | None,
        backbone: str,
        data: str,
        task: str,
        kind: str,
        names: list[str] | None,
        percent: float | None,
        method: str,
        superloss: bool,
        seed: Any,
        *hp: Any,
        progress: gr.Progress = gr.Progress(),
    ) -> Iterator[tuple]:
        """Stream the unlearning run (live loss curve), then show its figures."""
        sid, sess = self.app.store.get(sid)
        sess.give_up_gold()
        out = lambda **kw: outputs(RUN_KEYS, session=sid, **kw)  # noqa: E731
        try:
            cfg = controls.experiment_config(
                backbone,
                task,
                kind,
                names,
                percent,
                method,
                superloss,
                seed,
                self.app.params,
                list(hp),
                data,
            )
            ctx = self.app.context(cfg.task, cfg.backbone, cfg.data.source)
            stop = threading.Event()
            # the runner checks the forget choice here, before anything runs
            events = self.app.runner.unlearn(cfg, ctx, stop, sess.idle)
        except ValueError as err:  # the previous run's results stay usable
            yield out(status=f"⚠️ **Cannot run:** {err}")
            return
        run_no = sess.new_run(stop)
        quiet = sess.quiet  # this run's: a newer run has its own
        try:
            starting = f"**Starting** {cfg.method} on `{cfg.forget}` …"
            yield out(status=starting, run_id=run_no, **_cleared(sess))
            res = yield from streaming.stream(sess, events, progress, out, "unlearning", run_no)
            if res is not None:
                yield from self._unlearned(sess, res, out, run_no)
        finally:
            quiet.set()

    def _unlearned(self, sess: Session, res, out, run_no: int) -> Iterator[tuple]:
        sess.result, sess.view = res, run_view(res)
        if sess.view.stopped:
            sess.move(RunState.STOPPED, run_no)
            if not sess.stop.is_set():  # a pressed Stop answers for itself: one last word
                yield out(status=STOPPED_EARLY, **audit.panel(sess))
            return
        yield from self._show_unlearned(sess, res, out)
        # before the last yield: the chained gold event starts as soon as Run's ends
        sess.move(RunState.AWAITING_GOLD if sess.view.run_gold else RunState.DONE, run_no)
        # a fit that takes longer than the settings' umap_fit_wait_s leaves a PCA map, which
        # the map event (`map`) redraws: the train queue is not held for UMAP
        fig, sess.projection = self._embedding(sess.view, None, self.app.settings.umap_fit_wait_s)
        yield out(embedding=fig)

    def map(self, sid: str | None):
        """The run's embedding map again once UMAP has it, when the run drew a provisional
        (PCA) one. Chained after Run on a queue of its own: the wait for UMAP's worker
        holds no training queue. Nothing changes for a newer run or a final map."""
        sess = self.app.store.peek(sid)
        if sess is None or sess.projection is None or not sess.projection.provisional:
            return gr.skip()
        run_no, view = sess.runs, sess.view
        fig, projection = self._embedding(view, MAP_WAIT_S, MAP_WAIT_S)
        current = sess.projection
        if sess.runs != run_no or current is None or not current.provisional:
            return gr.skip()  # a newer run, or the gold's redraw came first
        sess.projection = projection
        return fig

    def _show_unlearned(self, sess: Session, res, out) -> Iterator[tuple]:
        view, n = sess.view, sess.runs
        ckpt = reports.write_model(
            res, sess.folder / f"run{n}_unlearned_{view.method}", view.report
        )
        rep = reports.write(view.report, sess.folder / f"run{n}_report.json")
        sess.rows.append(views.run_row(n, view.report, gold_pending=view.run_gold))
        gold = (
            "the gold retrain runs next (its numbers fill in when it is done)"
            if view.run_gold
            else "no gold retrain"
        )
        yield out(
            status=f"✅ **Unlearned** in {view.times.get('unlearned', 0.0):.1f} s. "
            f"Figures below; {gold}.",
            metrics=views.metrics_rows(view.report, gold_pending=view.run_gold),
            confusion=views.confusion_figure(view),
            mia=views.mia_figure(view),
            clips=clip_update(view, "forget"),
            runs=sess.rows,
            report=gr.update(value=str(rep), interactive=True),
            checkpoint=gr.update(value=str(ckpt), interactive=True),
            **audit.panel(sess),
        )

    def _embedding(self, view: RunView, wait_s: float | None = None, fit_wait_s=None):
        s = self.app.settings
        wait_s = s.umap_wait_s if wait_s is None else wait_s
        return views.embedding_figure(view, wait_s, s.projection, fit_wait_s)

    # ---- the gold retrain phase ---------------------------------------------------------

    def gold(
        self, sid: str | None, subset: str = "test", progress: gr.Progress = gr.Progress()
    ) -> Iterator[tuple]:
        """Retrain the gold model for the last run, then fill in its numbers and gaps."""
        sess = self.app.store.peek(sid)
        out = lambda **kw: outputs(GOLD_KEYS, **kw)  # noqa: E731
        if sess is None or not sess.move(RunState.GOLD):
            yield out()  # nothing awaits a gold retrain (no run, stopped, failed, superseded)
            return
        run_no, quiet = sess.runs, sess.quiet
        quiet.clear()
        try:
            try:
                events = self.app.runner.gold(sess.result, sess.stop, sess.idle)
            except ValueError as err:
                sess.move(RunState.FAILED, run_no)
                yield out(status=f"⚠️ **Gold retrain failed:** {err}", **audit.panel(sess))
                return
            res = yield from streaming.stream(sess, events, progress, out, "gold retrain", run_no)
            if res is not None:
                yield from self._gold_done(sess, res, out, run_no, subset)
        finally:
            quiet.set()

    def _gold_done(self, sess: Session, res, out, run_no: int, subset: str) -> Iterator[tuple]:
        view = run_view(res)
        if view.stopped:
            sess.move(RunState.STOPPED, run_no)
            if not sess.stop.is_set():  # a pressed Stop answers for itself: one last word
                yield out(status=GOLD_STOPPED, **audit.panel(sess))
            return
        sess.result, sess.view = res, view
        sess.move(RunState.DONE, run_no)
        n = sess.runs
        rep = reports.write(view.report, sess.folder / f"run{n}_report.json")
        if sess.rows:
            sess.rows[-1] = views.run_row(n, view.report, gold_pending=False)
        avg = (view.report.get("gap_to_retrain") or {}).get("avg")
        gap = "-" if avg is None else f"{100 * avg:.1f} points"
        yield out(
            status=f"✅ **Done.** Gold retrain {view.times.get('retrain', 0):.1f} s · "
            f"avg |gap| to gold {gap} (0 is ideal). {report_text.noise_verdict(view.report)} "
            f"{views.speed_verdict(view.report)} "
            "Try another method or forget set.",
            loss=views.loss_figure(sess.history, sess.totals, views.gold_note(sess.history)),
            metrics=views.metrics_rows(view.report),
            confusion=views.confusion_figure(view, subset),
            mia=views.mia_figure(view),
            runs=sess.rows,
            report=gr.update(value=str(rep), interactive=True),
            **audit.panel(sess),
        )
        if sess.projection is not None and sess.projection.provisional:  # UMAP may be ready now
            # (in the page the map event mostly came first; an API client has only this one)
            fig, sess.projection = self._embedding(view, REDRAW_MAP_WAIT_S, REDRAW_MAP_WAIT_S)
            yield out(embedding=fig)

    # ---- Stop ---------------------------------------------------------------------------

    def stop(self, sid: str | None, run_id: int | None = None) -> tuple:
        """Ask the run in progress to stop after its current step (the Stop button also
        cancels the event); the app stays usable. Answers (status, Run button) once the
        run's worker has ended, so that Run (disabled by the click) comes back only when a
        new run can no longer collide with the old one's cancellation. `run_id` is the run
        the page showed when Stop was pressed: a Stop that reaches the server after a newer
        run began leaves that run, and its status, alone."""
        sess = self.app.store.peek(sid)
        enable = gr.update(interactive=True)
        message = f"⏹️ **Stopped.** {READY}"
        if sess is not None:
            if run_id is not None and sess.runs != run_id:
                return gr.skip(), enable
            if sess.state in (RunState.AWAITING_GOLD, RunState.GOLD):
                message = GOLD_STOPPED
            sess.request_stop()
            sess.idle.wait(timeout=STOP_WAIT_S)
            # the run's handler stays silent about a pressed Stop (only this answer says
            # it); its last live update should still land before ours
            sess.quiet.wait(timeout=STOP_SETTLE_S)
        return message, enable


def _cleared(sess: Session) -> dict:
    """The outputs a new run resets: an empty curve, no metrics, placeholder figures."""
    waiting = empty_figure("running…")
    return dict(
        loss=views.loss_figure(sess.history, {}),
        metrics=[],
        confusion=waiting,
        mia=waiting,
        embedding=waiting,
        **audit.placeholders("The audit of this run appears when it has been unlearned …"),
    )
