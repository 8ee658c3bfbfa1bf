"""The "Check a clip" handler: an uploaded or recorded clip predicted by the original model
and, after a run, by its unlearned and gold models, with a membership score per model
(speechforget.clip_check does the work). Bad clips get a message, never an exception; a
clip that is not speech (a tone, noise, silence...) gets the speech check's answer, never a
keyword guess."""

from __future__ import annotations

from speechforget import clip_check
from speechforget.data.audio import AudioError
from speechforget.ui import views
from speechforget.ui.context import AppContext
from speechforget.viz.style import empty_figure


class VoiceHandlers:
    def __init__(self, app: AppContext) -> None:
        self.app = app

    def predict_upload(
        self,
        sid: str | None,
        path: str | None,
        said: str | None,
        task: str,
        backbone: str | None = None,
        data: str = "synthetic",
    ):
        """(top-k figure, verdict) for an uploaded or recorded clip."""
        if not path:
            return (
                empty_figure("no clip"),
                "⚠️ Record or upload a clip first (wav, flac, ogg or mp3).",
            )
        try:
            wave = clip_check.load_clip(path)
        except AudioError as err:
            return empty_figure("clip not usable"), f"⚠️ **Cannot use this clip:** {err}"
        sess = self.app.store.peek(sid)
        view = None if sess is None else sess.view
        run = sess.result if view is not None and "unlearned" in view.trained else None
        try:
            ctx = None if run is not None else self.app.context(task, backbone, data)
        except ValueError as err:
            return empty_figure("no model"), f"⚠️ {err}"
        baseline = None if ctx is None else self.app.original_losses(ctx)
        check = clip_check.check_clip(wave, said, run, ctx, baseline)
        if not check.is_speech:
            return empty_figure("not speech"), f"🔇 **{check.verdict}**"
        text = check.verdict + _membership_note(check)
        if run is not None and view.task != task:
            text += f"\n\n(Compared with your last run, on the {view.task} task.)"
        return views.clip_figure(check.probs, check.class_names, check.label), text


def _membership_note(check: clip_check.ClipCheck) -> str:
    shown = " · ".join(f"{views.MODEL_NAMES.get(k, k)} {v:.2f}" for k, v in check.scores.items())
    return (
        f"\n\n**Membership score** for '{check.class_names[check.label]}' (P(training member) "
        f"from the loss attack of the MIA ★; near 1 = treated like training data, near 0 = "
        f"like an unseen clip): {shown}."
    )
