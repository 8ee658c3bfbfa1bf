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

import contextlib
import os
import threading
from dataclasses import dataclass

from speechforget import runs
from speechforget.runs import Runner
from speechforget.ui import views
from speechforget.ui.context import AppContext, ContextProvider, Settings, default_contexts
from speechforget.ui.handlers.audit import AuditHandlers
from speechforget.ui.handlers.controls import ControlHandlers
from speechforget.ui.handlers.enrol import EnrolHandlers
from speechforget.ui.handlers.results import ResultHandlers
from speechforget.ui.handlers.runs import RunHandlers
from speechforget.ui.handlers.voice import VoiceHandlers
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
    # (tasks to load, warm UMAP up?) after launch; set by build_demo, started by launch()
    warm_plan: tuple[tuple[str, ...], bool] | None = None

    @classmethod
    def create(
        cls,
        contexts: ContextProvider | None = None,
        store: SessionStore | None = None,
        runner: Runner | None = None,
        umap_wait_s: float = 3.0,
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

    def warm_up(self, tasks: tuple[str, ...]) -> None:
        """Background work at start: load each task and compute its original model's
        outputs once, at low priority, so the first visitor's run does not pay for it."""
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # this thread only
        for i, task in enumerate(tasks):
            try:
                runs.warm_up(self.ctx.context(task))
            except Exception:  # the error shows when a visitor picks that task
                pass
            if i == 0:
                views.warm_up_figures()
