"""Handlers that read the session's finished run through its RunView: the confusion
matrices' subset, and the Play tab (a clip list per subset, one clip's audio, top
predictions and verdict). None of them trains; bad input gets a message."""

from __future__ import annotations

from typing import Any

import gradio as gr

from speechforget import clip_check
from speechforget.runview import RunView
from speechforget.ui import views
from speechforget.ui.context import AppContext
from speechforget.viz.style import empty_figure


def clip_update(view: RunView | None, subset: str) -> dict:
    """The clip dropdown of the Play tab for a subset of the run's clips."""
    if view is None or not view.has_unlearned:
        return gr.update(choices=[], value=None)
    choices = view.clip_choices(subset)
    return gr.update(choices=choices, value=choices[0][1] if choices else None)


class ResultHandlers:
    def __init__(self, app: AppContext) -> None:
        self.app = app

    def _view(self, sid: str | None) -> RunView | None:
        sess = self.app.store.peek(sid)
        return None if sess is None else sess.view

    def confusion(self, sid: str | None, subset: str):
        return views.confusion_figure(self._view(sid), subset)

    def clip_list(self, sid: str | None, subset: str):
        return clip_update(self._view(sid), subset)

    def play_clip(self, sid: str | None, pos: Any):
        """(audio, top-k figure, caption) of one clip of the last run."""
        view = self._view(sid)
        if view is None or not view.has_unlearned:
            return (
                None,
                empty_figure("run an experiment first"),
                "Run an experiment, then pick a clip.",
            )
        if pos is None or pos == "":
            return None, empty_figure("pick a clip"), "Pick a clip from the list."
        try:
            pos = int(pos)
            audio = view.clip_audio(pos)
        except (TypeError, ValueError, IndexError):
            return (
                None,
                empty_figure("unknown clip"),
                f"⚠️ No clip '{pos}' in this run; pick one from the list.",
            )
        probs, label = view.clip_probs(pos), view.clip_label(pos)
        caption = f"**{view.describe(pos)}**, in the {view.subset_of(pos)} set. "
        caption += clip_check.verdict(probs, label, view.class_names)
        return audio, views.clip_figure(probs, view.class_names, label), caption
