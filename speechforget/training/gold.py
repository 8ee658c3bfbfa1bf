"""The gold standard: retrain from scratch on the retain set with the original's recipe and
initialisation. This is the one entry point the pipeline, the bench and the `retrain`
method use; results are kept in the store under `gold/`, keyed by what a gold retrain
depends on (spec, recipe, data, task, retain set) and by the conditions its time is
measured under (device type, torch's thread count), so a forget set is retrained once per
condition and a wall time is only compared with one measured alike.

A kept gold's meta holds its time (`time_s`), its work (`work`: sample passes, see
engine/work.py) and the conditions of its time (`conditions`: engine/conditions.py, with
`contended` when other work competed). `gold_run` turns any gold into the RunResult the
report reads, its `conditions["source"]` saying where the time comes from.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from speechforget.config import TrainConfig
from speechforget.data.dataset import TaskData
from speechforget.engine import RunResult, StepCallback, StepLog, Work, resolve_device
from speechforget.engine.conditions import timing_key
from speechforget.models import build_model, load_checkpoint, save_checkpoint
from speechforget.store import Store
from speechforget.training.recipe import Trained, train_model

KEPT = ("task", "backbone", "class_names", "recipe", "data_checksum")
# gold retrains shipped with the app (the built-in data's visitor-free speaker gold), found
# after the store by the key without conditions (device=None: weights made on one machine
# serve every machine), or by the full key; their time was measured when they were made
# (meta "made"), so a run compares its work with theirs, not its time
SHIPPED = Path(__file__).resolve().parents[2] / "assets" / "golds"
NO_SHIPPED = "SPEECHFORGET_NO_SHIPPED_GOLDS"  # set (1): ignore them (to measure a real retrain)


def replica_recipe(recipe: dict, replica: int = 0) -> dict:
    """The recipe of the `replica`-th independent gold of a retain set: replica 0 is the
    original's recipe (its initialisation and batch order), replica k > 0 the same recipe
    with seed + k (another initialisation and batch order): golds 0..K-1 measure the
    gold's own noise (evaluation.audit.gold_noise)."""
    if not replica:
        return dict(recipe)
    return {**recipe, "seed": int(recipe.get("seed", 0)) + replica}


def gold_key(
    original: Trained, retain: np.ndarray, device: str | None = "auto", replica: int = 0
) -> str:
    """What a gold retrain depends on: model spec, recipe (its seed moved for a replica),
    data, task and retain set, and the conditions of its time: device type and torch's
    intra-op thread count (so that golds timed on CPU and CUDA, or with 2 and 16 threads,
    are not mixed). device=None leaves the conditions out (the key of the shipped golds)."""
    meta = original.meta
    key = {
        "spec": original.model.spec(),
        **{k: meta.get(k) for k in ("recipe", "data_checksum", "task")},
    }
    if replica:
        key["recipe"] = replica_recipe(meta.get("recipe") or {}, replica)
    if device is not None:
        key["timing"] = timing_key(resolve_device(device))
    h = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode())
    h.update(np.ascontiguousarray(np.sort(retain)).tobytes())
    return h.hexdigest()[:20]


def cached_gold(
    original: Trained,
    retain: np.ndarray,
    store: Store | None = None,
    device: str = "auto",
    replica: int = 0,
) -> dict | None:
    """The metadata of a kept (or shipped: "shipped" True) gold retrain for this retain set
    and these conditions, or None."""
    path = _kept_path(original, retain, store, device, replica)
    if path is None:
        return None
    meta = json.loads(path.with_suffix(".json").read_text())
    return {**meta, "shipped": True} if path.parent == SHIPPED else meta


def _kept_path(
    original: Trained,
    retain: np.ndarray,
    store: Store | None,
    device: str = "auto",
    replica: int = 0,
) -> Path | None:
    """<folder>/<key> of the gold for this retain set in the store, else among the shipped
    golds (full key, then the key without conditions); None when neither has it."""
    key = gold_key(original, retain, device, replica)
    paths = [Store.of(store).path("gold", key)]
    if not os.environ.get(NO_SHIPPED):
        paths += [SHIPPED / key, SHIPPED / gold_key(original, retain, None, replica)]
    for path in paths:
        if path.with_suffix(".json").exists() and path.with_suffix(".safetensors").exists():
            return path
    return None


def gold_work(meta: dict) -> Work | None:
    """A gold's work: as counted when it was trained, else from its recipe (fit passes over
    every retain clip once per epoch, forward and backward: exact for a kept gold, which
    never stopped early); None when neither is known (no recipe, or a time budget in it)."""
    if meta.get("work"):
        return Work.from_dict(meta["work"])
    recipe, n = meta.get("recipe") or {}, meta.get("n_retain")
    if not recipe.get("epochs") or n is None or recipe.get("time_budget_s") is not None:
        return None
    passes = float(recipe["epochs"]) * int(n)
    return Work(forward=passes, backward=passes)


def gold_run(gold: Trained) -> RunResult:
    """The gold's cost as the report reads it: time, work (gold_work) and the conditions of
    its time, with conditions["source"] one of "retrained now", "kept" (an earlier retrain
    under the same conditions), "shipped" (made elsewhere: meta "made") or "reused original"
    (the original's training time, measured when it was trained)."""
    meta = gold.meta
    if gold.run is not None and not meta.get("reused"):
        cond = {**(gold.run.conditions or {}), "source": "retrained now"}
        return replace(gold.run, time_s=float(meta["time_s"]), conditions=cond)
    if meta.get("reused"):
        cond = {"source": "reused original", "contended": None}
    elif meta.get("shipped"):
        cond = {"source": "shipped", "made": meta.get("made"), "contended": None}
    else:
        cond = {"contended": None, **(meta.get("conditions") or {}), "source": "kept"}
    return RunResult(time_s=float(meta.get("time_s") or 0.0), work=gold_work(meta), conditions=cond)


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

    Kept per (spec, recipe, data, retain set, device type, thread count); the kept meta
    holds the time it took, its work and the conditions of that time: when they show no
    other work competing, the time is the budget unlearning methods are held to
    (training/budget.py)."""
    store = Store.of(store)
    path = store.path("gold", gold_key(original, retain, device, replica))
    if not use_cache:
        return _retrain(original, task, x, retain, on_step, False, device, store, replica, path)
    # one retrain per gold however many ask at once (visitors of the app, bench workers in
    # threads): the others wait for it and load what it kept
    with _GOLD_LOCKS_LOCK:
        lock = _GOLD_LOCKS.setdefault(str(path), threading.Lock())
    with lock:
        kept = _kept_path(original, retain, store, device, replica)
        if kept is not None:
            model, meta = load_checkpoint(kept)
            _replay_cached(meta, on_step)
            return Trained(model, {**meta, "shipped": True} if kept.parent == SHIPPED else meta)
        return _retrain(original, task, x, retain, on_step, True, device, store, replica, path)


_GOLD_LOCKS: dict[str, threading.Lock] = {}
_GOLD_LOCKS_LOCK = threading.Lock()


def _retrain(original, task, x, retain, on_step, use_cache, device, store, replica, path):
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
        "work": run.work.to_dict() if run.work else None,
        "conditions": run.conditions,  # device, threads, cpu_share, ..., contended
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
