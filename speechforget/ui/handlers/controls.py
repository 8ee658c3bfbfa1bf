"""The control panel's handlers: the widgets that depend on another (forget kinds and
names per task and data set, the "what is said" choices, the method settings' defaults
per forget mode, which method's settings show) and the notes on a backbone or data set.
The choices themselves come from speechforget.ui.controls (plain Python)."""

from __future__ import annotations

import gradio as gr

from speechforget.config import DEFAULT_BACKBONE, TASK_BACKBONES, default_backbone
from speechforget.ui import controls
from speechforget.ui.context import AppContext


def _hub_reachable() -> bool:
    from speechforget.models.hub import hub_reachable  # may ask the network: only on use

    return hub_reachable(timeout=2.0)


class ControlHandlers:
    def __init__(self, app: AppContext) -> None:
        self.app = app

    def said_choices(self, task: str, backbone: str | None = None, data: str = "synthetic"):
        try:
            names = self.app.context(task, backbone, data).task.class_names
        except ValueError:
            names = []
        return gr.update(choices=[controls.SAID_ORIGINAL, *names], value=controls.SAID_ORIGINAL)

    def on_task(self, task: str, backbone: str, source: str = "synthetic"):
        """New forget kinds, names and 'what is said' choices for a task (or data set)."""
        kinds = controls.forget_kinds(task)
        try:
            data = self.app.context(task, backbone, source).task
        except ValueError as err:
            return (
                gr.update(choices=kinds, value=kinds[0]),
                gr.update(choices=[], value=[]),
                gr.update(),
                f"⚠️ {err}",
            )
        names = controls.forget_names(data, kinds[0])
        return (
            gr.update(choices=kinds, value=kinds[0]),
            gr.update(choices=names, value=controls.default_names(data, kinds[0]), visible=True),
            self.said_choices(task, backbone, source),
            "",
        )

    def on_task_and_backbone(self, task: str, backbone: str, source: str = "synthetic"):
        """A new task: the task's default backbone when the picked one is another task's
        default (a backbone the visitor chose stays), then as on_task; outputs (backbone,
        kind, names, said, backbone note)."""
        if backbone in (None, "", *TASK_BACKBONES.values()):
            backbone = default_backbone(task)
        kind, names, said, err = self.on_task(task, backbone, source)
        return gr.update(value=backbone), kind, names, said, err or self.on_backbone(backbone)

    def on_kind(self, task: str, backbone: str, kind: str, source: str = "synthetic"):
        """Names list and percentage slider for a forget kind, and the method settings'
        defaults for its mode (sample vs class)."""
        random = kind == controls.FORGET_RANDOM
        names, value = [], []
        if not random:
            try:
                data = self.app.context(task, backbone, source).task
                names, value = controls.forget_names(data, kind), controls.default_names(data, kind)
            except ValueError:
                pass
        defaults = [p.default for p in controls.all_params(controls.mode_of(kind, task))]
        return (
            gr.update(choices=names, value=value, visible=not random),
            gr.update(visible=random),
            *defaults,
        )

    @staticmethod
    def on_method(method: str, methods: list[str]) -> list:
        """Show the settings group of `method` (one group per name in `methods`) and its paper."""
        return [gr.update(visible=n == method) for n in methods] + [controls.method_paper(method)]

    @staticmethod
    def on_superloss(on: bool):
        return gr.update(visible=bool(on))

    def on_backbone(self, backbone: str) -> str:
        if backbone in (None, "", DEFAULT_BACKBONE):
            return "Built-in CNN on log-mels: shipped with the app, works offline."
        note = controls.builtin_note(backbone)
        if note is not None:  # another built-in backbone (ge2e, ge2e-ft): offline too
            return note
        if not _hub_reachable():
            return (
                f"⚠️ **{backbone}** is downloaded from the Hugging Face Hub, which cannot be "
                "reached from this server (offline): runs with it will fail. "
                f"{controls.OFFLINE_HELP}"
            )
        return f"**{backbone}** loads from the Hugging Face Hub on first use (can take minutes)."

    def on_data_set(self, task: str, backbone: str, source: str):
        """A new data set: its forget choices (as for a new task) and its note."""
        kind, names, said, err = self.on_task(task, backbone, source)
        note = self.on_data(source)
        return kind, names, said, (f"{err}\n\n{note}" if err else note)

    def on_data(self, data: str) -> str:
        """A note on the picked data set: what it is, and whether it can be loaded here."""
        note = controls.data_note(data)
        if controls.needs_hub(data):
            if not _hub_reachable():
                return (
                    f"⚠️ {note}: the Hugging Face Hub cannot be reached from this server "
                    f"(offline), so runs on it will fail. {controls.OFFLINE_HELP}"
                )
            return f"{note}: downloaded from the Hub on first use (can take many minutes)."
        return note
