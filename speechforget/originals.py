"""Original models and gold retrains: one recipe for both.

The original is trained on every training clip; the gold model is retrained
from the same initialisation with the same recipe on the retain set only. The
shipped originals live in `assets/<backbone>_<task>.safetensors` (+ `.json`);
gold retrains are cached under `$SPEECHFORGET_CACHE/gold/` keyed by what they
depend on, so a second run of the same forget spec reuses it.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from speechforget.config import TrainConfig
from speechforget.data.dataset import TaskData
from speechforget.engine import RunResult, StepCallback, StepLog, fit, predict
from speechforget.evaluation import forget_vs_test_attack, per_sample_ce
from speechforget.models import build_model, load_checkpoint, save_checkpoint
from speechforget.models.base import Backbone

ASSETS = Path(__file__).resolve().parent.parent / "assets"

# The built-in CNN's recipe (see README "Built-in models" for how it was chosen).
CNN_SPEC = {"family": "cnn", "n_mels": 40, "width": 16, "embed_dim": 64, "dropout": 0.1}
CNN_RECIPE = TrainConfig()


def cache_dir() -> Path:
    return Path(os.environ.get("SPEECHFORGET_CACHE", Path.home() / ".cache" / "speechforget"))


def asset_path(backbone: str, task: str) -> Path:
    return ASSETS / f"{backbone}_{task}"


def featurize(model: Backbone, waves: np.ndarray, device: str = "cpu", batch: int = 256):
    """(N, L) float32 waveforms -> (N, ...) model inputs on CPU."""
    dev = torch.device(device if device != "auto" else "cpu")
    model = model.to(dev)
    outs = [
        model.featurize(torch.from_numpy(waves[i : i + batch]).to(dev)).cpu()
        for i in range(0, len(waves), batch)
    ]
    return torch.cat(outs) if outs else torch.zeros(0)


@dataclass
class Trained:
    model: Backbone
    meta: dict
    run: RunResult | None = None


def train_model(
    spec: dict,
    recipe: TrainConfig,
    x: torch.Tensor,
    y: torch.Tensor,
    on_step: StepCallback | None = None,
) -> tuple[Backbone, RunResult]:
    """Build from `spec` with the recipe's init seed and fit on (x, y)."""
    model = build_model(spec, seed=recipe.seed)
    run = fit(model, x, y, recipe, on_step)
    return model.cpu().eval(), run


def original_metrics(
    model: Backbone, task: TaskData, x: torch.Tensor, device: str = "auto"
) -> dict:
    """Accuracies on every split and the train-vs-test attack AUC (memorisation)."""
    logits, _ = predict(model, x, device)
    logits, y = logits.numpy(), task.y
    pred = logits.argmax(1)
    out = {}
    for split in ("train", "val", "test", "unheard"):
        pos = task.where(split)
        if len(pos):
            out[f"{split}_acc"] = float((pred[pos] == y[pos]).mean())
    loss = per_sample_ce(logits, y)
    train, test = task.where("train"), task.where("test")
    att = forget_vs_test_attack(loss[train], loss[test], seed=0)
    out["train_vs_test_auc"], out["train_vs_test_cv_acc"] = att["auc"], att["cv_acc"]
    return out


def load_original(
    backbone: str, task: TaskData, x: torch.Tensor, on_step: StepCallback | None = None
) -> Trained:
    """The shipped original when it matches this data set, else one trained now
    (and cached under $SPEECHFORGET_CACHE/originals)."""
    checksum = task.data.checksum()
    for path in (
        asset_path(backbone, task.task),
        cache_dir() / "originals" / f"{backbone}_{task.task}_{checksum[:12]}",
    ):
        if Path(str(path) + ".safetensors").exists():
            model, meta = load_checkpoint(path)
            if meta.get("data_checksum") == checksum:
                return Trained(model, meta)
    if backbone != "cnn":
        raise ValueError(f"no original checkpoint for backbone '{backbone}'; pass --checkpoint DIR")
    trained = train_original(task, x, on_step=on_step)
    save_checkpoint(
        trained.model, cache_dir() / "originals" / f"cnn_{task.task}_{checksum[:12]}", trained.meta
    )
    return trained


def train_original(
    task: TaskData,
    x: torch.Tensor,
    spec: dict | None = None,
    recipe: TrainConfig | None = None,
    on_step: StepCallback | None = None,
) -> Trained:
    """Train the built-in CNN on every training clip of `task` with the recipe."""
    spec = {**CNN_SPEC, "num_classes": task.num_classes, **(spec or {})}
    recipe = recipe or CNN_RECIPE
    train = task.where("train")
    model, run = train_model(spec, recipe, x[train], torch.from_numpy(task.y[train]), on_step)
    meta = {
        "task": task.task,
        "backbone": "cnn",
        "class_names": task.class_names,
        "recipe": dataclasses.asdict(recipe),
        "data": task.data.name,
        "data_checksum": task.data.checksum(),
        "train_time_s": round(run.time_s, 2),
        "n_train": len(train),
        "metrics": original_metrics(model, task, x, recipe.device),
        "rebuild": f"python -m speechforget train --task {task.task}",
    }
    return Trained(model, meta, run)


def gold_key(original: Trained, retain: np.ndarray) -> str:
    """What a gold retrain depends on: model spec, recipe, data, task and retain set."""
    meta = original.meta
    key = {
        "spec": original.model.spec(),
        **{k: meta.get(k) for k in ("recipe", "data_checksum", "task")},
    }
    h = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode())
    h.update(np.ascontiguousarray(np.sort(retain)).tobytes())
    return h.hexdigest()[:20]


def gold_cached_meta(original: Trained, retain: np.ndarray) -> dict | None:
    """The metadata of a cached gold retrain for this retain set, or None."""
    path = cache_dir() / "gold" / (gold_key(original, retain) + ".json")
    if path.exists() and Path(str(path)[:-5] + ".safetensors").exists():
        return json.loads(path.read_text())
    return None


def gold_retrain(
    original: Trained,
    task: TaskData,
    x: torch.Tensor,
    retain: np.ndarray,
    on_step: StepCallback | None = None,
    use_cache: bool = True,
    device: str = "auto",
) -> Trained:
    """Retrain from scratch on the retain clips with the original's recipe and init.

    Cached by (spec, recipe, data, retain set); the cached meta keeps the time it
    took, which is the budget unlearning methods are held to."""
    path = cache_dir() / "gold" / gold_key(original, retain)
    if use_cache and gold_cached_meta(original, retain) is not None:
        model, meta = load_checkpoint(path)
        if on_step is not None and meta.get("history"):
            last = meta["history"][-1]
            on_step(
                StepLog(
                    last["step"],
                    last["epoch"],
                    None,
                    last["retain_loss"],
                    meta["time_s"],
                    "cached",
                    last["step"],
                )
            )
        return Trained(model, meta)
    recipe = TrainConfig(**{**original.meta["recipe"], "device": device})
    t0 = time.perf_counter()
    model, run = train_model(
        original.model.spec(), recipe, x[retain], torch.from_numpy(task.y[retain]), on_step
    )
    if run.stopped:
        return Trained(model, {"stopped": True, "time_s": run.time_s}, run)
    meta = {
        **{
            k: original.meta.get(k)
            for k in ("task", "backbone", "class_names", "recipe", "data_checksum")
        },
        "time_s": round(time.perf_counter() - t0, 3),
        "n_retain": int(len(retain)),
        "history": [h.to_dict() for h in run.history],
    }
    if use_cache:
        save_checkpoint(model, path, meta)
    return Trained(model, meta, run)


def frozen_copy(model: Backbone) -> Backbone:
    """A deep copy with no gradients: methods get copies, the original stays as it was."""
    twin = copy.deepcopy(model).eval()
    for p in twin.parameters():
        p.requires_grad_(False)
    return twin
