"""Widgets <-> dataclasses, without Gradio: method lists and hyper-parameter schemas from
the methods registry, forget choices per task, and ExperimentConfig from widget values.

Everything here is plain Python so the callbacks and the tests share it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from speechforget.config import (
    DEFAULT_BACKBONE,
    TASK_LABELS,
    DataConfig,
    ExperimentConfig,
    default_backbone,
)
from speechforget.data import needs_hub
from speechforget.data.splits import forget_mode

FORGET_KEYWORDS, FORGET_SPEAKERS, FORGET_RANDOM = (
    "keywords",
    "speakers",
    "random % of training clips",
)
# pipeline methods that exist without the registry
BUILTIN_METHODS = {"retrain": "Retrain (gold)", "none": "No unlearning (the original)"}
# fast methods that forget a class well on the built-in CNN, best first (the default pick)
PREFERRED = ("random_label", "neggrad_plus", "finetune", "grad_ascent", "retrain")


def _registry():
    try:
        from speechforget import methods
    except ImportError:  # the methods package is optional while it is being written
        return None
    return methods if hasattr(methods, "METHODS") else None


def method_choices() -> list[tuple[str, str]]:
    """(label, name) of every method, registry order, then 'none'."""
    reg = _registry()
    out = [(f"{cls.label} [{name}]", name) for name, cls in reg.METHODS.items()] if reg else []
    names = {n for _, n in out}
    out += [
        (f"{label} [{name}]", name) for name, label in BUILTIN_METHODS.items() if name not in names
    ]
    return out


def default_method() -> str:
    names = [n for _, n in method_choices()]
    return next((n for n in PREFERRED if n in names), names[0])


def method_paper(name: str) -> str:
    reg = _registry()
    if reg is None or name not in reg.METHODS:
        return {"none": "the original model, unchanged (a baseline)"}.get(name, "")
    return reg.METHODS[name].paper


@dataclass(frozen=True)
class Param:
    """One hyper-parameter widget: the Config field it sets and how to show it."""

    method: str  # "" for the SuperLoss settings
    name: str
    type: str  # int | float | bool | str
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None  # a str field limited to these

    @property
    def elem_id(self) -> str:
        return f"hp-{self.method or 'superloss'}-{self.name}".replace("_", "-")


def method_params(name: str, mode: str = "class") -> list[Param]:
    """The widgets of a method's Config, defaults resolved for `mode` (sample | class)."""
    reg = _registry()
    if reg is None or name not in reg.METHODS:
        return []
    return [_param(name, row) for row in reg.method_schema(name, mode)]


def superloss_params() -> list[Param]:
    reg = _registry()
    if reg is None or not hasattr(reg, "superloss_schema"):
        from speechforget.methods.registry import superloss_schema  # pragma: no cover

        return [_param("", r) for r in superloss_schema()]
    return [_param("", r) for r in reg.superloss_schema()]


def _param(method: str, row: dict) -> Param:
    t = row.get("type", "float")
    t = t if t in ("int", "float", "bool", "str") else type(row.get("default")).__name__
    choices = tuple(row["choices"]) if row.get("choices") else None
    return Param(
        method,
        row["name"],
        t,
        row.get("default"),
        row.get("help", ""),
        row.get("min"),
        row.get("max"),
        choices,
    )


def all_params(mode: str = "class") -> list[Param]:
    """Every method's widgets in method_choices() order, then SuperLoss's: the flat list
    the Run button sends (the callback picks the chosen method's slice)."""
    out = [p for _, n in method_choices() for p in method_params(n, mode)]
    try:
        return out + superloss_params()
    except ImportError:
        return out


def mode_of(forget_kind: str, task: str = "kws") -> str:
    """The methods' mode (sample or class) for a forget kind of the control panel."""
    kind = {FORGET_RANDOM: "sample", FORGET_SPEAKERS: "speaker"}.get(forget_kind, "class")
    return forget_mode(kind, task)


def cast_param(p: Param, value: Any) -> Any:
    """A widget value as the field's type, inside its bounds (ValueError says which)."""
    if value is None or value == "":
        raise ValueError(f"{p.name}: enter a value (default {p.default})")
    if p.type == "bool":
        return bool(value)
    if p.type == "str":
        if p.choices and str(value) not in p.choices:
            raise ValueError(f"{p.name} must be one of {', '.join(p.choices)}; got '{value}'")
        return str(value)
    try:
        v = int(round(float(value))) if p.type == "int" else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{p.name}: '{value}' is not a number") from None
    if (p.min is not None and v < p.min) or (p.max is not None and v > p.max):
        raise ValueError(f"{p.name} must lie between {p.min:g} and {p.max:g}; got {v:g}")
    return v


def overrides_for(method: str, params: list[Param], values: list[Any], superloss: bool) -> dict:
    """{field: value} for the chosen method (and SuperLoss when on) from the flat widget values."""
    out = {}
    for p, v in zip(params, values):
        if p.method == method or (superloss and p.method == ""):
            out[p.name] = cast_param(p, v)
    return out


# ---- forget choices ------------------------------------------------------------------------


def forget_kinds(task: str) -> list[str]:
    """The ways to pick what to forget in a task."""
    return (
        [FORGET_SPEAKERS, FORGET_RANDOM]
        if task == "sid"
        else [FORGET_KEYWORDS, FORGET_SPEAKERS, FORGET_RANDOM]
    )


def forget_names(task_data, kind: str) -> list[str]:
    """The names a user picks from: keywords (kws classes) or trained speakers."""
    if kind == FORGET_KEYWORDS:
        return list(task_data.class_names)
    if kind == FORGET_SPEAKERS:
        if task_data.task == "sid":
            return list(task_data.class_names)
        train = task_data.where("train")
        names = task_data.data.speaker_names
        return sorted({names[s] for s in task_data.speaker[train] if s >= 0})
    return []


def default_names(task_data, kind: str) -> list[str]:
    names = forget_names(task_data, kind)
    if kind == FORGET_KEYWORDS and "stop" in names:
        return ["stop"]
    return names[:1]


def forget_spec(task: str, kind: str, names: list[str] | None, percent: float | None) -> str:
    """The forget spec string (see speechforget.data.splits) for the widgets' values."""
    if kind == FORGET_RANDOM:
        if percent is None or not 0 < float(percent) < 100:
            raise ValueError("pick a share of the training clips between 0 and 100 %")
        return f"sample:{float(percent):g}"
    names = [n for n in (names or []) if n]
    if not names:
        what = "keyword" if kind == FORGET_KEYWORDS else "speaker"
        raise ValueError(f"nothing to forget: pick at least one {what}")
    if kind == FORGET_KEYWORDS or task == "sid":
        return "class:" + ",".join(names)
    return "speaker:" + ",".join(names)


OFFLINE_HELP = (
    "The built-in models and data work offline. To use your own files, start the app with "
    "SPEECHFORGET_DATA=hub:<folder of Speech Commands parquet files>,voxceleb:<VoxCeleb1 "
    "folder>,folder:<folder of <label>/*.wav> (they are listed under Data set), or use the "
    "command line: --data hub:<dir> | voxceleb:<dir> | folder:<dir> and --checkpoint "
    "<local save_pretrained folder> for a transformer backbone."
)
DATA_LABELS = {
    "synthetic": "Built-in synthetic speech commands (offline)",
    "hub:": "Speech Commands v0.01, 12 SUPERB labels (Hugging Face Hub)",
}


def data_choices(env: str | None = None) -> list[tuple[str, str]]:
    """(label, source) of the data sets the app offers: the built-in one, Speech Commands
    from the Hub, and the local sources named in $SPEECHFORGET_DATA (comma-separated)."""
    env = os.environ.get("SPEECHFORGET_DATA", "") if env is None else env
    local = [s.strip() for s in env.split(",") if s.strip()]
    return [(v, k) for k, v in DATA_LABELS.items()] + [(data_note(s), s) for s in local]


def data_note(source: str | None) -> str:
    """What a data source is, in words."""
    source = source or "synthetic"
    if source in DATA_LABELS:
        return DATA_LABELS[source]
    kind, _, arg = source.partition(":")
    what = {"hub": "parquet files", "voxceleb": "VoxCeleb1 folder", "folder": "your recordings"}
    if kind == "hub" and needs_hub(source):
        return f"Hub data set {arg}"
    return f"{what.get(kind, kind)} in {arg}" if arg else source


def task_choices() -> list[tuple[str, str]]:
    return [(label, key) for key, label in TASK_LABELS.items()]


def backbone_choices() -> list[tuple[str, str]]:
    """(label, name) of every backbone in the model registry."""
    try:
        from speechforget.models import list_backbones
    except ImportError:
        return [(f"{DEFAULT_BACKBONE}: built-in small CNN (offline)", DEFAULT_BACKBONE)]
    return [(f"{b['name']}: {b.get('description', '')}", b["name"]) for b in list_backbones()]


def builtin_note(backbone: str) -> str | None:
    """The description of a built-in (offline) backbone, None for a transformer one."""
    from speechforget.models import builtin

    entry = builtin(backbone)
    return None if entry is None else f"**{backbone}**: {entry.description}."


SAID_ORIGINAL = "(as the original model hears it)"  # "what is said": judge by the original


def experiment_config(
    backbone: str,
    task: str,
    kind: str,
    names: list[str] | None,
    percent: float | None,
    method: str,
    superloss: bool,
    seed: Any,
    params: list[Param],
    values: list[Any],
    data: str = "synthetic",
) -> ExperimentConfig:
    """ExperimentConfig from the control panel; ValueError with a message for bad input."""
    if task not in TASK_LABELS:
        raise ValueError(f"unknown task '{task}'; choose one of {', '.join(TASK_LABELS)}")
    try:
        seed = int(seed)
    except (TypeError, ValueError):
        raise ValueError(f"seed must be a whole number; got '{seed}'") from None
    if seed < 0:
        raise ValueError("seed must be 0 or more")
    if superloss and method in ("retrain", "none"):
        raise ValueError(f"SuperLoss re-weights a method's losses; '{method}' has none: untick it")
    return ExperimentConfig(
        task=task,
        backbone=backbone or default_backbone(task),
        forget=forget_spec(task, kind, names, percent),
        method=method,
        method_overrides=overrides_for(method, params, values, superloss),
        superloss=bool(superloss),
        seed=seed,
        device="auto",
        data=DataConfig(source=data or "synthetic"),
    )
