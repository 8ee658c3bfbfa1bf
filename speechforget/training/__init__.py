"""Everything trained with "the recipe": originals (from a registry keyed by backbone
family), the gold retrain (one entry point, kept in the store) and the time budget it sets.

    x, original = load_original(DEFAULT_BACKBONE, task)
    gold = retrain_gold(original, task, x, split.retain)
    budget = gold_budget(original, x, split.retain)

models/ holds architectures only and never imports this package.
"""

from speechforget.training.budget import gold_budget
from speechforget.training.gold import (
    cached_gold,
    gold_key,
    gold_run,
    gold_without_visitor,
    gold_work,
    retrain_gold,
)
from speechforget.training.originals import ORIGINALS, check_recipe, family_of, load_original
from speechforget.training.recipe import Trained, featurize, original_metrics, train_model

__all__ = [
    "ORIGINALS",
    "Trained",
    "cached_gold",
    "check_recipe",
    "family_of",
    "featurize",
    "gold_budget",
    "gold_key",
    "gold_run",
    "gold_without_visitor",
    "gold_work",
    "load_original",
    "original_metrics",
    "retrain_gold",
    "train_model",
]
