"""Typed configuration shared by the command line, the app and the tests.

Each field carries help text (and bounds where they matter) in its metadata, so
that the CLI can build `--set key=value` overrides and the UI can build widgets
from the same dataclasses.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

TASKS = ("kws", "sid")
TASK_LABELS = {"kws": "keyword spotting", "sid": "speaker identification"}
DEFAULT_BACKBONE = "cnn"  # the library's and the bench's (its tables are the CNN's)
# the app's and the commands' original per task: keyword spotting on the pretrained speech
# embedding (it hears voices outside the built-in data; see the README), speakers on the CNN
TASK_BACKBONES = {"kws": "speechemb-tuned", "sid": "cnn"}
NO_METHOD = "none"  # the original, unchanged: a baseline that is not a registered method


def default_backbone(task: str) -> str:
    """The backbone whose shipped original the app and the commands use for `task`."""
    return TASK_BACKBONES.get(task, DEFAULT_BACKBONE)


def _f(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


@dataclass
class DataConfig:
    """Where the clips come from."""

    source: str = _f("synthetic", "synthetic | folder:<dir> | hub:<repo> | voxceleb:<dir>")
    seed: int = _f(0, "seed of the built-in synthetic data set", min=0)
    subset: int | None = _f(None, "keep at most N training clips per class (quick runs)")


@dataclass
class TrainConfig:
    """The recipe shared by the original model and the gold retrain."""

    epochs: int = _f(24, "passes over the training clips", min=1, max=500)
    lr: float = _f(3e-3, "AdamW learning rate", min=1e-6, max=1.0, log=True)
    weight_decay: float = _f(1e-4, "AdamW decoupled weight decay", min=0.0, max=1.0)
    batch_size: int = _f(64, "clips per step", min=1, max=4096)
    label_smoothing: float = _f(
        0.0,
        "cross-entropy label smoothing (bounds the margins: an original whose training "
        "losses sit at 1e-20 gives gradient ascent nothing to climb)",
        min=0.0,
        max=0.5,
    )
    grad_clip: float = _f(5.0, "clip the gradient norm to this (0 = off)", min=0.0)
    seed: int = _f(0, "seed of the initialisation and the batch order", min=0)
    device: str = _f("auto", "cpu | cuda | auto (bf16 autocast on CUDA)")
    time_budget_s: float | None = _f(None, "stop after this many seconds (None = no limit)")


@dataclass
class ExperimentConfig:
    """One unlearning experiment: the narrative of pipeline.run_experiment."""

    task: str = _f("kws", "kws (keyword spotting) | sid (speaker identification)")
    backbone: str = _f(DEFAULT_BACKBONE, "cnn (built-in) or a transformer backbone name")
    forget: str = _f(
        "class:stop",
        "class:<names> | speaker:<id> | sample:<percent>; several requests one after "
        "another separated by ';' (speechforget.sequence)",
    )
    method: str = _f("retrain", "unlearning method name (see `--method list`)")
    method_overrides: dict[str, Any] = field(default_factory=dict)
    superloss: bool = _f(False, "re-weight per-sample losses with SuperLoss")
    seed: int = _f(0, "seed of the forget sample, random labels and batch order", min=0)
    device: str = _f("auto", "cpu | cuda | auto")
    data: DataConfig = field(default_factory=DataConfig)
    # fields of the original's training recipe (a transformer backbone fine-tuned here),
    # over the backbone's default recipe; the gold retrain uses the same recipe
    recipe: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = _f(None, "a local checkpoint folder for the original model")
    run_gold: bool = _f(True, "also retrain the gold model from scratch on the retain set")
    golds: int = _f(
        1, "independently seeded gold retrains; 2 or more measure the gold's own noise", min=1
    )
    cache: str | None = _f(None, "folder for built data, originals and golds (None = default)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def field_help(cls: type) -> dict[str, dict[str, Any]]:
    """{field name: metadata dict with 'help', 'min', 'max', 'default', 'type'}."""
    out = {}
    for f in dataclasses.fields(cls):
        meta = dict(f.metadata)
        default = f.default if f.default is not dataclasses.MISSING else None
        out[f.name] = {**meta, "default": default, "type": f.type}
    return out


def apply_overrides(obj: Any, overrides: dict[str, Any]) -> Any:
    """A copy of dataclass `obj` with `overrides` applied; string values are cast
    to the field's type. Unknown keys raise ValueError listing the valid ones."""
    names = {f.name: f for f in dataclasses.fields(obj)}
    changes = {}
    for key, value in overrides.items():
        if key not in names:
            valid = ", ".join(sorted(names))
            raise ValueError(
                f"unknown setting '{key}' for {type(obj).__name__}; choose from {valid}"
            )
        changes[key] = _cast(value, getattr(obj, key), key)
    return dataclasses.replace(obj, **changes)


def _cast(value: Any, current: Any, key: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if isinstance(current, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float) or current is None:
            return float(value) if value.lower() != "none" else None
    except ValueError:
        raise ValueError(
            f"setting '{key}': cannot read '{value}' as {type(current).__name__}"
        ) from None
    return value
