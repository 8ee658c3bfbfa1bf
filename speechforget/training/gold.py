"""The gold standard: retrain from scratch on the retain set with the original's recipe and
initialisation. This is the one entry point the pipeline, the bench and the `retrain`
method use; results are kept in the store under `gold/`, keyed by what a gold retrain
depends on (spec, recipe, data, task, retain set), so a forget set is retrained once.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from pathlib import Path

import numpy as np
import torch

from speechforget.config import TrainConfig
from speechforget.data.dataset import TaskData
from speechforget.engine import StepCallback, StepLog
from speechforget.models import build_model, load_checkpoint, save_checkpoint
from speechforget.store import Store
from speechforget.training.recipe import Trained, train_model

KEPT = ("task", "backbone", "class_names", "recipe", "data_checksum")
# gold retrains shipped with the app (the built-in data's visitor-free speaker gold), by key;
# they are found after the store and labelled with the time measured when they were made
SHIPPED = Path(__file__).resolve().parents[2] / "assets" / "golds"


def replica_recipe(recipe: dict, replica: int = 0) -> dict:
    """The recipe of the `replica`-th independent gold of a retain set: replica 0 is the
    original's recipe (its initialisation and batch order), replica k > 0 the same recipe
    with seed + k (another initialisation and batch order): golds 0..K-1 measure the
    gold's own noise (evaluation.audit.gold_noise)."""
    if not replica:
        return dict(recipe)
    return {**recipe, "seed": int(recipe.get("seed", 0)) + replica}


def gold_key(original: Trained, retain: np.ndarray, replica: int = 0) -> str:
    """What a gold retrain depends on: model spec, recipe (its seed moved for a replica),
    data, task and retain set."""
    meta = original.meta
    key = {
        "spec": original.model.spec(),
        **{k: meta.get(k) for k in ("recipe", "data_checksum", "task")},
    }
    if replica:
        key["recipe"] = replica_recipe(meta.get("recipe") or {}, replica)
    h = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode())
    h.update(np.ascontiguousarray(np.sort(retain)).tobytes())
    return h.hexdigest()[:20]


def cached_gold(
    original: Trained, retain: np.ndarray, store: Store | None = None, replica: int = 0
) -> dict | None:
    """The metadata of a kept (or shipped) gold retrain for this retain set, or None."""
    path = _kept_path(original, retain, store, replica)
    return None if path is None else json.loads(path.with_suffix(".json").read_text())


def _kept_path(
    original: Trained, retain: np.ndarray, store: Store | None, replica: int = 0
) -> Path | None:
    """<folder>/<key> of the gold for this retain set in the store, else among the shipped
    golds; None when neither has it."""
    key = gold_key(original, retain, replica)
    for path in (Store.of(store).path("gold", key), SHIPPED / key):
        if path.with_suffix(".json").exists() and path.with_suffix(".safetensors").exists():
            return path
    return None


def _replay_cached(meta: dict, on_step: StepCallback | None) -> None:
    """A kept gold still shows one point on the live curve, marked as loaded."""
    if on_step is None or not meta.get("history"):
        return
    last = meta["history"][-1]
    log = StepLog(
        last["step"],
        last["epoch"],
        None,
        last["retain_loss"],
        meta["time_s"],
        "cached",
        last["step"],
    )
    on_step(log)


def retrain_gold(
    original: Trained,
    task: TaskData,
    x: torch.Tensor,
    retain: np.ndarray,
    on_step: StepCallback | None = None,
    use_cache: bool = True,
    device: str = "auto",
    store: Store | None = None,
    replica: int = 0,
) -> Trained:
    """Retrain from scratch on the retain clips with the original's recipe and init
    (replica k > 0: the recipe with seed + k, see replica_recipe).

    Kept per (spec, recipe, data, retain set); the kept meta holds the time it took,
    which is the budget unlearning methods are held to (training/budget.py)."""
    store = Store.of(store)
    path = store.path("gold", gold_key(original, retain, replica))
    kept = _kept_path(original, retain, store, replica) if use_cache else None
    if kept is not None:
        model, meta = load_checkpoint(kept)
        _replay_cached(meta, on_step)
        return Trained(model, meta)
    recipe = TrainConfig(**{**replica_recipe(original.meta["recipe"], replica), "device": device})
    t0 = time.perf_counter()
    y = torch.from_numpy(task.y[retain])
    model, run = train_model(original.model.spec(), recipe, x[retain], y, on_step, store)
    if run.stopped:
        return Trained(model, {"stopped": True, "time_s": run.time_s}, run)
    meta = {
        **{k: original.meta.get(k) for k in KEPT},
        "time_s": round(time.perf_counter() - t0, 3),
        "n_retain": int(len(retain)),
        "replica": int(replica),
        "history": [h.to_dict() for h in run.history],
    }
    if use_cache:
        save_checkpoint(model, path, meta)
    return Trained(model, meta, run)


def gold_without_visitor(
    base: Trained,
    task: TaskData,
    x: torch.Tensor,
    num_classes: int,
    on_step: StepCallback | None = None,
    device: str = "auto",
    store: Store | None = None,
) -> Trained:
    """The gold of a visitor's forget request: the recipe on `task`'s training clips alone
    (the data set without the visitor), with `num_classes` outputs.

    `base` is the original trained on `task` (the shipped one for the built-in data). With
    the same number of classes the gold is that original bit for bit (same spec, recipe,
    data and seed), so it is reused (meta "reused": True, "time_s" its training time);
    with one more class (the visitor as a speaker) it is retrained once and kept in
    `store`, which may be shared: it holds nothing of the visitor."""
    if base.model.spec().get("num_classes") == num_classes:
        meta = {
            **{k: base.meta.get(k) for k in KEPT},
            "time_s": base.meta.get("train_time_s"),
            "reused": True,
            "n_retain": int(len(task.where("train"))),
        }
        return Trained(copy.deepcopy(base.model), meta)
    spec = {**base.model.spec(), "num_classes": num_classes}
    wider = Trained(build_model(spec), base.meta)
    return retrain_gold(wider, task, x, task.where("train"), on_step, device=device, store=store)
