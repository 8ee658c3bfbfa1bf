"""python -m speechforget predict --task kws [--backbone cnn] [--model FILE.safetensors] CLIP...

One JSON object per line and clip, in the order given:

    {"file": "yes.wav", "top": "yes", "confidence": 0.97, "probs": {"yes": 0.97, ...}}
    {"file": "bad.txt", "error": "'bad.txt' is not readable audio (...)"}
    {"file": "beep.wav", "speech": false, "kind": "tone", "message": "This does not sound ..."}

A clip is loaded like the app's "Check a clip" tab does it (clip_check.load_clip: any rate and
channel count, resampled to 16 kHz mono, its loudest second); an unusable one gets the
message the app shows, and the next clip is read. A clip that is not speech (a tone, hum,
noise, DC offset, music or silence; speechforget.speechcheck) is not predicted: its row says
what it was taken for, with "background": true for noise or silence (the keyword task's
_silence_ class).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from speechforget.config import TASK_BACKBONES, TASKS, default_backbone

if TYPE_CHECKING:
    import torch

EPILOG = (
    "exit status: 0 when at least one clip was answered (predicted, or found not to be "
    "speech), 1 when none could be (each has an error line), 2 for a bad argument or model"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=TASKS, default="kws", help="kws or sid")
    p.add_argument(
        "--backbone",
        default=None,
        help="whose shipped original predicts (default: the task's, "
        f"{', '.join(f'{t} {b}' for t, b in TASK_BACKBONES.items())}; ignored with --model)",
    )
    p.add_argument(
        "--model",
        default=None,
        metavar="FILE.safetensors",
        help="predict with this checkpoint instead (written by `unlearn --save-model` or "
        "models.save_checkpoint, its .json beside it); its task must be --task",
    )
    p.add_argument("clips", nargs="+", metavar="CLIP", help="audio files: wav, flac, ogg or mp3")
    p.epilog = EPILOG


def main(args: argparse.Namespace) -> int:
    backbone = args.backbone or default_backbone(args.task)
    model, names = load_model(args.task, backbone, args.model)
    predicted = 0
    for clip in args.clips:
        row = predict_clip(model, names, clip)
        predicted += "error" not in row  # a clip that is not speech counts as answered
        print(json.dumps(row), flush=True)
    if not predicted:
        print("error: no clip could be predicted (see the error lines)", file=sys.stderr)
    return 0 if predicted else 1


def load_model(
    task: str, backbone: str, path: str | None = None
) -> tuple[torch.nn.Module, list[str]]:
    """(model, class names): the checkpoint at `path`, else the shipped original of
    `backbone` for `task` (pipeline.prepare: the built-in data set, trained when missing)."""
    if path is not None:
        return load_checkpoint_model(path, task)
    from speechforget.pipeline import prepare

    ctx = prepare(task, backbone)
    return ctx.original.model, list(ctx.task.class_names)


def load_checkpoint_model(path: str | Path, task: str) -> tuple[torch.nn.Module, list[str]]:
    """(model, class names) of a safetensors checkpoint (never unpickled) made for `task`;
    the names come from its metadata, else are the class indices."""
    from speechforget.models import load_checkpoint

    path = Path(path)
    if path.suffix not in ("", ".safetensors", ".json"):
        raise ValueError(f"--model {path}: give the .safetensors file of a checkpoint")
    try:
        model, meta = load_checkpoint(path)
    except FileNotFoundError as err:
        raise ValueError(
            f"--model: {err}; write one with `python -m speechforget unlearn --save-model FILE`"
        ) from None
    found = meta.get("task") or (meta.get("config") or {}).get("task")
    if found is not None and found != task:
        raise ValueError(f"--model {path.name} is a {found} model; pass --task {found}")
    n = int(meta["spec"]["num_classes"])
    names = [str(c) for c in meta.get("class_names") or range(n)]
    if len(names) != n:
        raise ValueError(
            f"--model {path.name}: its metadata names {len(names)} classes but the model has {n}"
        )
    return model, names


def predict_clip(model: torch.nn.Module, names: list[str], clip: str | Path) -> dict:
    """The JSON row of one clip: its top class, that class's probability and every class's
    (rounded to 4 decimals), or the app's message for an unusable clip."""
    from speechforget.clip_check import load_clip, model_probs
    from speechforget.data.audio import AudioError

    try:
        wave = load_clip(clip)
    except AudioError as err:
        return {"file": str(clip), "error": str(err)}
    from speechforget.speechcheck import speech_check

    speech = speech_check(wave)
    if not speech.is_speech:
        return {
            "file": str(clip),
            "speech": False,
            "kind": speech.kind,
            "background": speech.background,
            "message": speech.message,
        }
    probs = model_probs(model, wave)  # (C,)
    top = int(probs.argmax())
    return {
        "file": str(clip),
        "top": names[top],
        "confidence": round(float(probs[top]), 4),
        "probs": {name: round(float(p), 4) for name, p in zip(names, probs)},
    }
