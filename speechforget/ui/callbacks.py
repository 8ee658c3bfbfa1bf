"""The app's event handlers, as methods of `App` so tests can call them directly.

Each handler takes widget values and returns (or yields) output values in the order
of its *_KEYS tuple; gr.skip() leaves an output as it is. Bad input never raises
into Gradio: the handler answers with a message in the status or verdict box, and
the app stays usable. Heavy work goes through speechforget.explore (the core);
nothing here touches a tensor.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from speechforget import explore
from speechforget import report as reports
from speechforget.config import DataConfig
from speechforget.pipeline import Context, prepare, start_experiment
from speechforget.ui import controls, views
from speechforget.ui.panels import Panels
from speechforget.ui.state import Session, SessionStore
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
)
GOLD_KEYS = ("status", "loss", "metrics", "confusion", "mia", "embedding", "runs", "report")
PUSH_EVERY_S = 0.3  # live-curve updates per second are ~1 / this
STOP_SETTLE_S = 0.6  # Stop answers after this, so no live update lands after its message
STOP_WAIT_S = 30.0  # at most this long for the stopped run's worker to end

ContextProvider = Callable[[str, str, str], Context]  # (task, backbone, data source)


def default_contexts(task: str, backbone: str, data: str = "synthetic") -> Context:
    """The data set and original model (cached per process by pipeline.prepare): the
    built-in data and shipped originals unless another backbone or data set is picked."""
    if backbone != "cnn" or controls.needs_hub(data):
        from speechforget.models.catalog import hub_reachable

        if not hub_reachable(timeout=2.0):
            what = f"backbone '{backbone}'" if backbone != "cnn" else f"data set '{data}'"
            raise ValueError(
                f"{what} needs the Hugging Face Hub, which cannot be reached from "
                f"this server (offline). {controls.OFFLINE_HELP}"
            )
    try:
        return prepare(task, backbone, DataConfig(source=data))
    except ValueError:
        raise
    except Exception as err:  # download, checkpoint or memory problems: say what happened
        raise ValueError(
            f"could not load backbone '{backbone}' on data '{data}' for {task}: {err}"
        ) from err


class App(Panels):
    """Handlers bound to a context provider and a per-session store."""

    def __init__(
        self,
        contexts: ContextProvider | None = None,
        store: SessionStore | None = None,
        gpu_phase: Callable | None = None,
        umap_wait_s: float = 3.0,
        projection: str = "auto",
    ) -> None:
        self.contexts = contexts or default_contexts
        self.store = store or SessionStore()
        self.params = controls.all_params("class")
        self.gpu_phase = gpu_phase  # ZeroGPU: the spaces.GPU-decorated phase runner
        self.umap_wait_s = umap_wait_s
        self.projection = projection  # auto (UMAP once warmed up, else PCA) | umap | pca
        self._original_loss: dict[tuple[str, str], Any] = {}
        self.warm_plan: tuple | None = None  # (tasks, warm UMAP?): launch() starts it

    # ---- plumbing -------------------------------------------------------------------------

    def context(self, task: str, backbone: str = "cnn", data: str = "synthetic") -> Context:
        return self.contexts(task, backbone or "cnn", data or "synthetic")

    def warm_up(self, tasks: tuple[str, ...]) -> None:
        """Background work at start: load each task and compute its original model's
        outputs once, at low priority, so the first visitor's run does not pay for it."""
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # this thread only
        for i, task in enumerate(tasks):
            try:
                explore.warm_up(self.context(task))
            except Exception:  # the error shows when a visitor picks that task
                pass
            if i == 0:
                views.warm_up_figures()

    def _events(self, phase: str, cfg, ctx: Context, res, stop, idle=None) -> Iterator[tuple]:
        if self.gpu_phase is None:
            return explore.phase_events(phase, cfg, ctx, res, stop, idle)
        if phase == "unlearn":
            start_experiment(cfg, ctx)  # validate the forget choice before asking for a GPU
        return self._gpu_events(phase, cfg, ctx, res)

    def _gpu_events(self, phase: str, cfg, ctx: Context, res) -> Iterator[tuple]:
        state = explore.detach(res) if res is not None else None
        for event in self.gpu_phase(phase, cfg, state):
            if event[0] == "done":
                yield ("done", explore.attach(event[1], ctx))
            elif event[0] == "error":
                yield ("error", ValueError(str(event[1])))
            else:
                yield event

    @staticmethod
    def _out(keys: tuple[str, ...], **values) -> tuple:
        return tuple(values.get(k, gr.skip()) for k in keys)

    # ---- Run: the unlearning phase ------------------------------------------------------------

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
        """Stream the unlearning run (live loss curve), then show its figures.
        The gold retrain follows in `gold` (chained after this event)."""
        sid, sess = self.store.get(sid)
        sess.awaiting_gold = False
        out = lambda **kw: self._out(RUN_KEYS, session=sid, **kw)  # noqa: E731
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
                self.params,
                list(hp),
                data,
            )
            ctx = self.context(cfg.task, cfg.backbone, cfg.data.source)
            stop = threading.Event()
            # start_experiment checks the forget choice here, before anything runs
            events = self._events("unlearn", cfg, ctx, None, stop, sess.idle)
        except ValueError as err:  # the previous run's results stay usable
            yield out(status=f"⚠️ **Cannot run:** {err}")
            return
        sess.new_run(stop)
        run_no = sess.runs
        waiting = empty_figure("running…")
        yield out(
            status=f"**Starting** {cfg.method} on `{cfg.forget}` …",
            run_id=run_no,
            loss=views.loss_figure(sess.history, {}),
            metrics=[],
            confusion=waiting,
            mia=waiting,
            embedding=waiting,
        )
        res = yield from self._stream(sess, events, progress, out, "unlearning", run_no)
        if res is None:
            return
        sess.result = res
        if res.stopped:
            yield out(
                status="⏹️ **Stopped.** The unlearning run ended early; nothing to evaluate. "
                "Change the settings and press Run again."
            )
            return
        yield from self._show_unlearned(sess, res, out)

    def _stream(self, sess: Session, events, progress, out, what: str, run_no: int):
        """Consume step events: update the live curve at most every PUSH_EVERY_S.
        Returns the finished Result, or None after an error (reported in the status) or
        when a newer run of this session superseded this one."""
        with contextlib.closing(events):  # a cancelled run closes this generator: stop the worker
            res = yield from self._consume(sess, events, progress, out, what, run_no)
        return res if sess.runs == run_no else None

    def _consume(self, sess: Session, events, progress, out, what: str, run_no: int):
        last, t0 = 0.0, time.monotonic()
        for event in events:
            if event[0] == "step":
                if sess.runs != run_no:
                    continue  # superseded by a newer run: its curve is not ours to draw
                _, which, log = event
                sess.history[which].append(log.to_dict())
                sess.totals[which] = log.total_steps
                now = time.monotonic()
                if sess.stop.is_set():
                    continue  # Stop was pressed: its message must stay the last word
                if now - last >= PUSH_EVERY_S or len(sess.history[which]) == 1:
                    last = now
                    total = log.total_steps or log.step
                    progress(
                        min(log.step / max(total, 1), 1.0), desc=f"{what} step {log.step}/{total}"
                    )
                    yield out(
                        status=self._live_status(sess, which, log, now - t0),
                        loss=views.loss_figure(sess.history, sess.totals, self._gold_note(sess)),
                    )
            elif event[0] == "tick":
                if time.monotonic() - last >= 1.0:  # keep the generator responsive to Stop
                    last = time.monotonic()
                    yield out()
            elif event[0] == "error":
                yield out(
                    status=f"⚠️ **The {what} failed:** {event[1]}. The app is ready for another run."
                )
                return None
            else:
                return event[1]
        return None

    @staticmethod
    def _gold_note(sess: Session) -> str:
        gold = sess.history.get("retrain") or []
        return "loaded from cache" if gold and gold[-1].get("phase") == "cached" else ""

    @staticmethod
    def _live_status(sess: Session, which: str, log, elapsed: float) -> str:
        total = log.total_steps or "?"
        if which == "retrain":
            if log.phase == "cached":
                return "**Gold retrain**: loaded from the cache (this forget set was retrained before)."
            return f"**Gold retrain** (the yardstick): step {log.step}/{total}, {elapsed:.0f} s"
        loss = log.forget_loss if log.forget_loss is not None else log.retain_loss
        shown = "-" if loss is None else f"{loss:.3f}"
        return f"**Unlearning**: step {log.step}/{total}, loss {shown}, {elapsed:.1f} s"

    def _show_unlearned(self, sess: Session, res, out) -> Iterator[tuple]:
        report = reports.build(res)
        n = sess.runs
        ckpt = reports.write_model(
            res, sess.folder / f"run{n}_unlearned_{res.config.method}", report
        )
        rep = reports.write(report, sess.folder / f"run{n}_report.json")
        sess.rows.append(views.run_row(n, report, gold_pending=res.config.run_gold))
        t_u = res.times.get("unlearned", 0.0)
        gold = (
            "the gold retrain runs next (its numbers fill in when it is done)"
            if res.config.run_gold
            else "no gold retrain"
        )
        yield out(
            status=f"✅ **Unlearned** in {t_u:.1f} s. Figures below; {gold}.",
            metrics=views.metrics_rows(report, gold_pending=res.config.run_gold),
            confusion=views.confusion_figure(res),
            mia=views.mia_figure(res),
            clips=self._clip_update(res, "forget"),
            runs=sess.rows,
            report=gr.update(value=str(rep), interactive=True),
            checkpoint=gr.update(value=str(ckpt), interactive=True),
        )
        fig, sess.projection = views.embedding_figure(res, self.umap_wait_s, self.projection)
        sess.awaiting_gold = res.config.run_gold  # before the last yield: .success(gold) follows it
        yield out(embedding=fig)

    # ---- the gold retrain phase -------------------------------------------------------------

    def gold(
        self, sid: str | None, subset: str = "test", progress: gr.Progress = gr.Progress()
    ) -> Iterator[tuple]:
        """Retrain the gold model for the last run, then fill in its numbers and gaps."""
        sess = self.store.peek(sid)
        out = lambda **kw: self._out(GOLD_KEYS, **kw)  # noqa: E731
        res = None if sess is None else sess.result
        if res is None or res.stopped or not sess.awaiting_gold:
            yield out()
            return
        sess.awaiting_gold = False
        run_no = sess.runs
        try:
            events = self._events("gold", res.config, res.ctx, res, sess.stop, sess.idle)
        except ValueError as err:
            yield out(status=f"⚠️ **Gold retrain failed:** {err}")
            return
        res = yield from self._stream(sess, events, progress, out, "gold retrain", run_no)
        if res is None:
            return
        if res.stopped:
            yield out(
                status="⏹️ **Gold retrain stopped.** The unlearned model's results stay; "
                "gaps to gold need the gold model."
            )
            return
        sess.result = res
        report = reports.build(res)
        n = sess.runs
        rep = reports.write(report, sess.folder / f"run{n}_report.json")
        if sess.rows:
            sess.rows[-1] = views.run_row(n, report, gold_pending=False)
        avg = (report.get("gap_to_retrain") or {}).get("avg")
        gap = "-" if avg is None else f"{100 * avg:.1f} points"
        yield out(
            status=f"✅ **Done.** Gold retrain {res.times.get('retrain', 0):.1f} s · "
            f"avg |gap| to gold {gap} (0 is ideal). Try another method or forget set.",
            loss=views.loss_figure(sess.history, sess.totals, self._gold_note(sess)),
            metrics=views.metrics_rows(report),
            confusion=views.confusion_figure(res, subset),
            mia=views.mia_figure(res),
            runs=sess.rows,
            report=gr.update(value=str(rep), interactive=True),
        )
        if sess.projection.startswith("PCA (UMAP still"):  # warming up during the run: redraw
            fig, sess.projection = views.embedding_figure(res, 60.0, self.projection)
            yield out(embedding=fig)

    def stop(self, sid: str | None, run_id: int | None = None) -> tuple:
        """Ask the run in progress to stop after its current step (the Stop button also
        cancels the event); the app stays usable. Answers (status, Run button) once the
        run's worker has ended, so that Run (disabled by the click) comes back only when a
        new run can no longer collide with the old one's cancellation. `run_id` is the run
        the page showed when Stop was pressed: a Stop that reaches the server after a newer
        run began leaves that run, and its status, alone."""
        sess = self.store.peek(sid)
        enable = gr.update(interactive=True)
        if sess is not None:
            if run_id is not None and sess.runs != run_id:
                return gr.skip(), enable
            sess.stop.set()
            sess.awaiting_gold = False
            sess.idle.wait(timeout=STOP_WAIT_S)
            time.sleep(STOP_SETTLE_S)  # let an update already on its way land before this one
        return "⏹️ **Stopped.** The app is ready for another run.", enable
