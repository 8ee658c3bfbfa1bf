"""The paper's time rule: unlearning may not take longer than retraining from scratch.
The engine stops a run at the budget (TrainConfig.time_budget_s). The budget is

1. the time of the gold kept for this retain set under the same conditions (device, thread
   count: part of its key), when it was measured with no other work competing;
2. else an estimate of that gold's time here and now: its work, known before it runs
   (the recipe: epochs x |Dr| clips, each a forward and a backward pass, 3 sample-forward
   equivalents: engine/work.py), over the training throughput of the recipe's loop
   measured in this process (`training_throughput`: a few batches of the same shape, once
   per model spec, recipe, device and thread count; a second or less for the built-in CNN);
3. None when the recipe is unknown.

The original's recorded training time is not used: it was measured in other conditions
(the shipped keyword original's 365 s, scaled to Dr, was about ten times the real retrain).
"""

from __future__ import annotations

import dataclasses
import json
from functools import lru_cache

import numpy as np
import torch

from speechforget.config import TrainConfig
from speechforget.engine import resolve_device
from speechforget.store import Store
from speechforget.training.gold import cached_gold, gold_work
from speechforget.training.recipe import Trained, train_model

THROUGHPUT_STEPS = 5  # training steps timed (the first one, which warms up, is left out)


def gold_budget(
    original: Trained,
    x: torch.Tensor,
    retain: np.ndarray,
    store: Store | None = None,
    device: str = "auto",
) -> float | None:
    """Seconds an unlearning run of this retain set may take (see the module docstring).
    x: (M, ...) model inputs (their shape sets the throughput's)."""
    cached = cached_gold(original, retain, store, device)
    if cached is not None and (cached.get("conditions") or {}).get("contended") is False:
        return float(cached["time_s"])
    estimate = estimated_gold_s(original, x, len(retain), device)
    if estimate is None and cached is not None:
        return float(cached["time_s"])
    return estimate


def estimated_gold_s(
    original: Trained, x: torch.Tensor, n_retain: int, device: str = "auto"
) -> float | None:
    """The gold retrain's work on n_retain clips over the throughput measured here (s)."""
    recipe = original.meta.get("recipe")
    work = gold_work({"recipe": recipe, "n_retain": n_retain}) if recipe else None
    if work is None or len(x) == 0:
        return None
    dev = resolve_device(device).type
    spec = json.dumps(original.model.spec(), sort_keys=True, default=str)
    rate = training_throughput(
        spec, json.dumps(recipe, sort_keys=True), tuple(x.shape[1:]), dev, torch.get_num_threads()
    )
    return round(work.units / rate, 3)


@lru_cache(maxsize=16)
def training_throughput(
    spec_json: str, recipe_json: str, shape: tuple[int, ...], device: str, threads: int
) -> float:
    """Sample-forward equivalents per second of the recipe's training loop (engine.fit) on
    a fresh model of this spec, here: THROUGHPUT_STEPS full batches of seeded noise inputs
    of `shape`, timed from the end of the first step (the cost of a step does not depend on
    the values). `threads` keys the cache: torch.get_num_threads() when measured."""
    recipe = TrainConfig(
        **{**json.loads(recipe_json), "epochs": 1, "device": device, "time_budget_s": None}
    )
    n = THROUGHPUT_STEPS * recipe.batch_size
    gen = torch.Generator().manual_seed(0)
    x = torch.randn((n, *shape), generator=gen)
    y = torch.zeros(n, dtype=torch.long)
    _, run = train_model(json.loads(spec_json), dataclasses.replace(recipe, seed=0), x, y)
    # from the first step's log to the end (on CUDA the end waits for the device)
    seconds = max(run.time_s - run.history[0].elapsed_s, 1e-6)
    return (THROUGHPUT_STEPS - 1) * recipe.batch_size * 3 / seconds
