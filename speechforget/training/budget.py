"""The paper's time rule: unlearning may not take longer than retraining from scratch.
The budget is the gold retrain's time when one is kept for this retain set, else the
original's training time scaled to the size of the retain set; None when neither is known
(a ready checkpoint whose training time is unrecorded). The engine stops a run at it
(TrainConfig.time_budget_s)."""

from __future__ import annotations

import numpy as np

from speechforget.store import Store
from speechforget.training.gold import cached_gold
from speechforget.training.recipe import Trained


def gold_budget(
    original: Trained, n_train: int, retain: np.ndarray, store: Store | None = None
) -> float | None:
    """Seconds an unlearning run of this retain set may take (see the module docstring)."""
    cached = cached_gold(original, retain, store)
    if cached is not None:
        return float(cached["time_s"])
    if original.meta.get("train_time_s") is None:
        return None
    n = original.meta.get("n_train") or n_train
    return float(original.meta["train_time_s"]) * len(retain) / n
