"""One clip a visitor uploads or records: load it, predict it with each model, score its
membership with the report's loss attack, and say in plain words what changed.

    wave = load_clip(path)                           # (16000,) float32 at 16 kHz
    probs = model_probs(model, wave)                 # (C,) one model's probabilities
    check = check_clip(wave, "yes", res, ctx)        # ClipCheck: probs, label, scores, verdict

A clip that is not speech (speechforget.speechcheck: a tone, hum, noise, DC, music or
silence) is not predicted: its ClipCheck has no probabilities and its verdict says what the
clip was taken for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from speechforget.data.dataset import SAMPLE_RATE
from speechforget.engine import predict
from speechforget.evaluation import member_probability, softmax
from speechforget.pipeline import Context, Result
from speechforget.speechcheck import SpeechCheck, speech_check

MIN_SECONDS = 0.2  # shorter uploads cannot hold a word


def model_probs(model: torch.nn.Module, wave: np.ndarray) -> np.ndarray:
    """(C,) class probabilities of `model` for a (16000,) float32 clip at 16 kHz (CPU)."""
    return _probs(model, _inputs(model, wave))


def wave_probs(
    models: dict[str, torch.nn.Module], ctx: Context, wave: np.ndarray
) -> dict[str, np.ndarray]:
    """{model: (C,) probabilities} for a (16000,) float32 clip at 16 kHz (CPU); the clip is
    featurized once, by the context's original (every model of a run shares its inputs)."""
    x = _inputs(ctx.original.model, wave)
    return {name: _probs(model, x) for name, model in models.items()}


def _inputs(model: torch.nn.Module, wave: np.ndarray) -> torch.Tensor:
    """(1, ...) model inputs of one (16000,) clip."""
    with torch.no_grad():
        return model.featurize(torch.from_numpy(np.asarray(wave, np.float32))[None])


def _probs(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """(C,) softmax of the model's logits for (1, ...) inputs, on the CPU."""
    logits, _ = predict(model, x, device="cpu")
    return softmax(logits.numpy())[0]


def result_models(res: Result | None, ctx: Context) -> dict[str, torch.nn.Module]:
    """The models to compare an uploaded clip with: the original, and when a run
    exists its unlearned and gold models."""
    out = {"original": ctx.original.model}
    if res is not None:
        out.update({k: res.models[k] for k in ("unlearned", "retrain") if k in res.models})
    return out


def load_clip(
    path: str | Path, max_seconds: float = 30.0, max_bytes: int = 10_000_000
) -> np.ndarray:
    """An uploaded or recorded file as the (16000,) clip every model expects: any rate and
    channel count, resampled to 16 kHz mono, its silence cut, then cropped to its loudest
    second or padded (data.audio.centre_word).
    Raises AudioError (a ValueError) saying what is wrong with a bad file."""
    from speechforget.data.audio import AudioError, centre_word, load_audio

    x = load_audio(path, SAMPLE_RATE, max_seconds=max_seconds, max_bytes=max_bytes)
    if len(x) < MIN_SECONDS * SAMPLE_RATE:
        raise AudioError(
            f"the clip is only {1000 * len(x) / SAMPLE_RATE:.0f} ms long; "
            f"record at least {MIN_SECONDS:g} s (a whole word)"
        )
    return centre_word(x)


@dataclass(frozen=True)
class ClipCheck:
    """What the models make of one clip."""

    probs: dict[str, np.ndarray]  # {model: (C,) class probabilities}
    label: int  # the class the clip is judged against
    class_names: list[str]
    scores: dict[str, float]  # {model: P(training member)}, see membership_scores
    verdict: str  # in plain words, see verdict
    speech: SpeechCheck  # is it speech? (when not: probs and scores are empty)

    @property
    def is_speech(self) -> bool:
        return self.speech.is_speech


def check_clip(
    wave: np.ndarray,
    said: str | None,
    res: Result | None,
    ctx: Context | None = None,
    original_loss: np.ndarray | None = None,
) -> ClipCheck:
    """Predict a (16000,) clip with the original model and, when `res` (a run with an
    unlearned model) is given, with its unlearned and gold models; judge it against the
    class named `said` (any other value: the class the original model hears). `ctx` is
    the context to use without a run; `original_loss` the original's per-clip losses
    there (computed when None). A clip that is not speech is not predicted (its verdict
    is the speech check's message)."""
    ctx = res.ctx if res is not None else ctx
    if ctx is None:
        raise ValueError("check_clip needs a run or a context")
    names = list(ctx.task.class_names)
    speech = speech_check(wave)
    if not speech.is_speech:
        label = names.index(said) if said in names else 0
        return ClipCheck({}, label, names, {}, speech.message, speech)
    probs = wave_probs(result_models(res, ctx), ctx, wave)
    label = names.index(said) if said in names else int(probs["original"].argmax())
    loss = None if res is not None else original_loss
    scores = membership_scores(res, ctx, probs, label, loss)
    return ClipCheck(probs, label, names, scores, verdict(probs, label, names), speech)


# ---- membership of one clip ----------------------------------------------------------------


def membership_scores(
    res: Result | None,
    ctx: Context,
    probs: dict[str, np.ndarray],
    label: int,
    original_loss: np.ndarray | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """P(member) of one clip under each model, from the loss attack of the report's MIA:
    a balanced logistic regression on log(CE) fit on that model's retain (members) vs
    test (non-members) clips, applied to the clip's CE for `label`. Near 1: the model
    treats the clip like its training data; near 0: like a clip it never saw."""
    out = {}
    for name, p in probs.items():
        if res is not None and name in res.evals:
            loss, retain, test = res.evals[name].losses, res.split.retain, res.split.test
        elif name == "original":
            loss = original_loss if original_loss is not None else original_losses(ctx)
            retain, test = ctx.task.where("train"), ctx.task.where("test")
        else:
            continue
        clip_loss = -np.log(max(float(p[label]), 1e-12))
        out[name] = member_probability(loss[retain], loss[test], clip_loss, seed)
    return out


def original_losses(ctx: Context) -> np.ndarray:
    """(M,) per-sample CE of the original model on every task clip (computed once)."""
    from speechforget.evaluation import per_sample_ce
    from speechforget.pipeline import original_outputs

    return per_sample_ce(original_outputs(ctx)[0], ctx.task.y)


def verdict(probs: dict[str, np.ndarray], label: int, class_names: list[str]) -> str:
    """A plain-words verdict: does the unlearned model still recognise the clip as `label`?"""
    name = class_names[label]

    def heard(p):
        top = int(np.argmax(p))
        return top == label, class_names[top], float(p[top])

    if "unlearned" not in probs:
        ok, top, conf = heard(probs["original"])
        return (
            f"The original model recognises it as '{name}' with {conf:.0%}."
            if ok
            else f"The original model hears '{top}' ({conf:.0%}), not '{name}'."
        ) + " Run an unlearning experiment to see what changes."
    was, _, was_conf = heard(probs["original"])
    ok, top, conf = heard(probs["unlearned"])
    if ok:
        text = f"Still recognised as '{name}' with {conf:.0%}"
        text += (
            f" (the original: {was_conf:.0%})." if was else " (the original did not recognise it)."
        )
    else:
        text = f"No longer recognised as '{name}': the unlearned model hears '{top}' ({conf:.0%})"
        text += (
            f"; the original said '{name}' with {was_conf:.0%}."
            if was
            else "; neither did the original."
        )
    if "retrain" in probs:
        g_ok, g_top, g_conf = heard(probs["retrain"])
        text += f" The gold model {'also recognises it' if g_ok else f'hears {g_top!r}'} ({g_conf:.0%})."
    return text
