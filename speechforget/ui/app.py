"""The app's handlers, composed: one object per concern, all sharing one AppContext.

    app = App.create(contexts, store)
    app.runs.run(...), app.runs.gold(sid), app.runs.stop(sid)      # ui/handlers/runs.py
    app.results.play_clip(sid, pos), app.results.confusion(...)     # ui/handlers/results.py
    app.audit.threshold(sid, attack, t), app.audit.show(sid)        # ui/handlers/audit.py
    app.voice.predict_upload(sid, path, said, task)                 # ui/handlers/voice.py
    app.controls.on_task(task, backbone)                            # ui/handlers/controls.py
    app.enrol.add_take(sid, path, task), app.enrol.train_in(sid, task), ...  # ui/handlers/enrol.py

Tests call these directly; layout.build_demo wires them to the widgets.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import gradio as gr

from speechforget import runs, viz
from speechforget.runs import Runner
from speechforget.ui.context import AppContext, ContextProvider, Settings, default_contexts
from speechforget.ui.handlers.audit import AuditHandlers
from speechforget.ui.handlers.controls import ControlHandlers
from speechforget.ui.handlers.enrol import EnrolHandlers
from speechforget.ui.handlers.results import ResultHandlers
from speechforget.ui.handlers.runs import RunHandlers
from speechforget.ui.handlers.voice import VoiceHandlers
from speechforget.ui.startup import Preparation
from speechforget.ui.state import SessionStore


@dataclass
class App:
    ctx: AppContext
    runs: RunHandlers
    results: ResultHandlers
    voice: VoiceHandlers
    controls: ControlHandlers
    enrol: EnrolHandlers
    audit: AuditHandlers
    # the start-up work (ui/startup.py): set by build_demo, started by launch() (or by the
    # first page load); warm_umap: start UMAP's worker with it
    startup: Preparation | None = None
    warm_umap: bool = False

    @classmethod
    def create(
        cls,
        contexts: ContextProvider | None = None,
        store: SessionStore | None = None,
        runner: Runner | None = None,
        umap_wait_s: float = 1.0,
        projection: str = "auto",
    ) -> App:
        """Handlers over a context provider (default: the built-in data and shipped
        models), a session store and a runner (default: runs in this process)."""
        ctx = AppContext(
            contexts=contexts or default_contexts,
            store=store or SessionStore(),
            runner=runner or runs.LocalRunner(),
            settings=Settings(umap_wait_s=umap_wait_s, projection=projection),
        )
        return cls(
            ctx,
            RunHandlers(ctx),
            ResultHandlers(ctx),
            VoiceHandlers(ctx),
            ControlHandlers(ctx),
            EnrolHandlers(ctx),
            AuditHandlers(ctx),
        )

    @property
    def store(self) -> SessionStore:
        return self.ctx.store

    @property
    def params(self) -> list:
        return self.ctx.params

    def start_up(self) -> None:
        """Start the background start-up work (idempotent): UMAP's worker, then the
        default task's data, model and first outputs (ui/startup.py)."""
        if self.startup is None or self.startup.started:
            return
        if self.warm_umap:
            viz.warm_up_umap()  # a process of its own: its ~10 s of compiling never blocks us
        self.startup.start()

    def page_ready(self) -> Iterator[tuple]:
        """A page's load event: (status, Run button) updates, "preparing the built-in data:
        n%" with Run disabled until the start-up is done, then Run enabled. Nothing changes
        when it was ready before the page loaded."""
        prep = self.startup
        if prep is None:
            return
        self.start_up()  # a page served without launch() (tests) starts it here
        if prep.ready.is_set() and not prep.error:
            yield gr.skip(), gr.update(interactive=True)
            return
        while not prep.ready.wait(timeout=0.5):
            yield (
                f"⏳ **Preparing:** {prep.line()} … Run is enabled when it is done.",
                gr.update(interactive=False),
            )
        if prep.error:
            yield f"⚠️ **{prep.line()}.** Run says why again.", gr.update(interactive=True)
        else:
            yield (
                f"✅ **Ready** ({prep.line()}). Pick what to forget and press Run.",
                gr.update(interactive=True),
            )
