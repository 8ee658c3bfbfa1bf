"""The app's handlers that read a finished run or set up the controls: confusion
subset, play-and-predict, your own clip, and the control panel's dependent widgets.
`App` (callbacks.py) inherits them; they need its `store`, `context` and
`_original_loss`. None of them trains; bad input gets a message, never an exception."""

from __future__ import annotations

from typing import Any

import gradio as gr

from speechforget import explore
from speechforget.data.audio import AudioError
from speechforget.pipeline import Context
from speechforget.ui import controls, views
from speechforget.viz.style import empty_figure

SAID_ORIGINAL = "(as the original model hears it)"


class Panels:
    """Handlers for the panels below the run: see the module docstring."""

    # ---- figures that depend on a choice ----------------------------------------------------

    def _result(self, sid: str | None):
        sess = self.store.peek(sid)
        return None if sess is None else sess.result

    def confusion(self, sid: str | None, subset: str):
        return views.confusion_figure(self._result(sid), subset)

    # ---- play and predict -------------------------------------------------------------------

    @staticmethod
    def _clip_update(res, subset: str):
        if res is None or "unlearned" not in res.evals:
            return gr.update(choices=[], value=None)
        choices = explore.clip_choices(res, subset)
        return gr.update(choices=choices, value=choices[0][1] if choices else None)

    def clip_list(self, sid: str | None, subset: str):
        return self._clip_update(self._result(sid), subset)

    def play_clip(self, sid: str | None, pos: Any):
        """(audio, top-k figure, caption) of one clip of the last run."""
        res = self._result(sid)
        if res is None or "unlearned" not in res.evals:
            return (
                None,
                empty_figure("run an experiment first"),
                "Run an experiment, then pick a clip.",
            )
        if pos is None or pos == "":
            return None, empty_figure("pick a clip"), "Pick a clip from the list."
        try:
            pos = int(pos)
            audio = explore.clip_audio(res.ctx, pos)
        except (TypeError, ValueError, IndexError):
            return (
                None,
                empty_figure("unknown clip"),
                f"⚠️ No clip '{pos}' in this run; pick one from the list.",
            )
        probs = explore.clip_probs(res, pos)
        task = res.ctx.task
        label = int(task.y[pos])
        where = next((k for k, p in explore.positions(res).items() if pos in set(p.tolist())), "?")
        caption = f"**{task.describe(pos)}**, in the {where} set. " + explore.verdict(
            probs, label, task.class_names
        )
        return audio, views.clip_figure(probs, task.class_names, label), caption

    # ---- your own clip -------------------------------------------------------------------------

    def said_choices(self, task: str, backbone: str = "cnn", data: str = "synthetic"):
        try:
            names = self.context(task, backbone, data).task.class_names
        except ValueError:
            names = []
        return gr.update(choices=[SAID_ORIGINAL, *names], value=SAID_ORIGINAL)

    def predict_upload(
        self,
        sid: str | None,
        path: str | None,
        said: str | None,
        task: str,
        backbone: str = "cnn",
        data: str = "synthetic",
    ):
        """(top-k figure, verdict) for an uploaded or recorded clip."""
        if not path:
            return empty_figure(
                "no clip"
            ), "⚠️ Record or upload a clip first (wav, flac, ogg or mp3)."
        try:
            wave = explore.load_clip(path)
        except AudioError as err:
            return empty_figure("clip not usable"), f"⚠️ **Cannot use this clip:** {err}"
        res = self._result(sid)
        res = res if res is not None and "unlearned" in res.models else None
        try:
            ctx = res.ctx if res is not None else self.context(task, backbone, data)
        except ValueError as err:
            return empty_figure("no model"), f"⚠️ {err}"
        names = ctx.task.class_names
        probs = explore.wave_probs(explore.result_models(res, ctx), ctx, wave)
        label = names.index(said) if said in names else int(probs["original"].argmax())
        scores = explore.membership_scores(res, ctx, probs, label, self._baseline_loss(ctx, res))
        text = explore.verdict(probs, label, names)
        shown = " · ".join(f"{views.MODEL_NAMES.get(k, k)} {v:.2f}" for k, v in scores.items())
        text += (
            f"\n\n**Membership score** for '{names[label]}' (P(training member) from the loss "
            f"attack of the MIA ★; near 1 = treated like training data, near 0 = like an "
            f"unseen clip): {shown}."
        )
        if res is not None and res.ctx.task.task != task:
            text += f"\n\n(Compared with your last run, on the {res.ctx.task.task} task.)"
        return views.clip_figure(probs, names, label), text

    def _baseline_loss(self, ctx: Context, res):
        if res is not None:
            return None  # the run's own evaluations are used
        key = (ctx.task.task, id(ctx))
        if key not in self._original_loss:
            self._original_loss[key] = explore.original_losses(ctx)
        return self._original_loss[key]

    # ---- control panel ------------------------------------------------------------------------

    def on_task(self, task: str, backbone: str, source: str = "synthetic"):
        """New forget kinds, names and 'what is said' choices for a task (or data set)."""
        kinds = controls.forget_kinds(task)
        try:
            data = self.context(task, backbone, source).task
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

    def on_kind(self, task: str, backbone: str, kind: str, source: str = "synthetic"):
        """Names list and percentage slider for a forget kind, and the method settings'
        defaults for its mode (sample vs class)."""
        random = kind == controls.FORGET_RANDOM
        names, value = [], []
        if not random:
            try:
                data = self.context(task, backbone, source).task
                names, value = controls.forget_names(data, kind), controls.default_names(data, kind)
            except ValueError:
                pass
        mode = controls.mode_of(kind)
        defaults = [p.default for p in controls.all_params(mode)]
        return (
            gr.update(choices=names, value=value, visible=not random),
            gr.update(visible=random),
            *defaults,
        )

    def on_backbone(self, backbone: str) -> str:
        if backbone in (None, "", "cnn"):
            return "Built-in CNN on log-mels: shipped with the app, works offline."
        from speechforget.models.catalog import hub_reachable

        if not hub_reachable(timeout=2.0):
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
            from speechforget.models.catalog import hub_reachable

            if not hub_reachable(timeout=2.0):
                return (
                    f"⚠️ {note}: the Hugging Face Hub cannot be reached from this server "
                    f"(offline), so runs on it will fail. {controls.OFFLINE_HELP}"
                )
            return f"{note}: downloaded from the Hub on first use (can take many minutes)."
        return note
