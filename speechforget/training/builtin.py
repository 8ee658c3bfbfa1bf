"""Originals of the built-in backbones (models.BUILTIN): trained from scratch with the
entry's recipe on every training clip. The shipped ones live in
`assets/<backbone>_<task>.safetensors` (+ `.json`); one trained here for another data set
is kept in the store under `originals/`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from speechforget.config import TrainConfig
from speechforget.data.dataset import TaskData
from speechforget.engine import StepCallback
from speechforget.models import Builtin, build_model, builtin, load_checkpoint, save_checkpoint
from speechforget.store import Store
from speechforget.training.recipe import Trained, featurize, original_metrics, train_model

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def asset_path(backbone: str, task: str) -> Path:
    return ASSETS / f"{backbone}_{task}"


def entry(backbone: str) -> Builtin:
    found = builtin(backbone)
    if found is None:
        raise ValueError(f"'{backbone}' is not a built-in backbone")
    return found


def builtin_inputs(backbone: str, task: TaskData, store: Store | None = None) -> torch.Tensor:
    """(M, ...) inputs of every task clip (a built-in featurizer has no trained weights),
    kept in the store."""
    model = build_model(entry(backbone).spec_for(task.num_classes))
    waves = task.waves
    key = {"spec": model.spec(), "data": task.data.checksum(), "task": task.task}
    compute = lambda rows: (featurize(model, waves[rows]).numpy(),)  # noqa: E731
    (x,) = Store.of(store).rows("features", key, len(waves), compute)
    return torch.from_numpy(x)


def load_builtin(
    backbone: str,
    task: TaskData,
    checkpoint: str | None = None,
    recipe: dict | None = None,
    store: Store | None = None,
    on_step: StepCallback | None = None,
) -> tuple[torch.Tensor, Trained]:
    """(inputs, original): a checkpoint file when given, the shipped original when it was
    trained on this data set, else one trained now (and kept in the store)."""
    store = Store.of(store)
    x = builtin_inputs(backbone, task, store)
    if checkpoint is not None:  # a file written by save_checkpoint
        return x, Trained(*load_checkpoint(checkpoint))
    checksum = task.data.checksum()
    kept = store.path("originals", f"{backbone}_{task.task}_{checksum[:12]}")
    for path in (asset_path(backbone, task.task), kept):
        if Path(str(path) + ".safetensors").exists():
            model, meta = load_checkpoint(path)
            if meta.get("data_checksum") == checksum:
                return x, Trained(model, meta)
    trained = train_builtin(backbone, task, x, on_step=on_step)
    save_checkpoint(trained.model, kept, trained.meta)
    return x, trained


def rebuild_line(backbone: str, task: str, recipe: TrainConfig) -> str:
    """The command that trains this original again: `--set` for every recipe field that
    differs from the backbone's recipe for the task (the device aside)."""
    usual = dataclasses.asdict(entry(backbone).recipe_for(task))
    sets = [
        f" --set {k}={v}"
        for k, v in dataclasses.asdict(recipe).items()
        if k != "device" and usual.get(k) != v
    ]
    return f"python -m speechforget train --task {task} --backbone {backbone}" + "".join(sets)


def train_builtin(
    backbone: str,
    task: TaskData,
    x: torch.Tensor,
    spec: dict | None = None,
    recipe: TrainConfig | None = None,
    on_step: StepCallback | None = None,
) -> Trained:
    """Train a built-in backbone on every training clip of `task` with its recipe."""
    found = entry(backbone)
    spec = {**found.spec_for(task.num_classes), **(spec or {})}
    recipe = recipe or found.recipe_for(task.task)
    train = task.where("train")
    model, run = train_model(spec, recipe, x[train], torch.from_numpy(task.y[train]), on_step)
    meta = {
        "task": task.task,
        "backbone": backbone,
        "class_names": task.class_names,
        "recipe": dataclasses.asdict(recipe),
        "data": task.data.name,
        "data_checksum": task.data.checksum(),
        "train_time_s": round(run.time_s, 2),
        "n_train": len(train),
        "metrics": original_metrics(model, task, x, recipe.device),
        "rebuild": rebuild_line(backbone, task.task, recipe),
    }
    return Trained(model, meta, run)
