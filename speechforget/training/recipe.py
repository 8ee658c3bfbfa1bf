"""What every model trained with "the recipe" shares: build from a spec with the recipe's
init seed, fit, measure (originals and gold retrains alike).

    model, run = train_model(spec, recipe, x[train], y[train])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from speechforget.config import TrainConfig
from speechforget.data.dataset import TaskData
from speechforget.engine import RunResult, StepCallback, fit, predict
from speechforget.evaluation import forget_vs_test_attack, per_sample_ce
from speechforget.models import build_model
from speechforget.models.base import Backbone
from speechforget.store import Store


@dataclass
class Trained:
    model: Backbone
    meta: dict
    run: RunResult | None = None


def featurize(model: Backbone, waves: np.ndarray, device: str = "cpu", batch: int = 256):
    """(N, L) float32 waveforms -> (N, ...) model inputs on CPU."""
    dev = torch.device(device if device != "auto" else "cpu")
    model = model.to(dev)
    outs = [
        model.featurize(torch.from_numpy(waves[i : i + batch]).to(dev)).cpu()
        for i in range(0, len(waves), batch)
    ]
    return torch.cat(outs) if outs else torch.zeros(0)


def train_model(
    spec: dict,
    recipe: TrainConfig,
    x: torch.Tensor,
    y: torch.Tensor,
    on_step: StepCallback | None = None,
    store: Store | None = None,
) -> tuple[Backbone, RunResult]:
    """Build from `spec` with the recipe's init seed and fit on (x, y); a model that caches
    features (a frozen transformer encoder) keeps them in `store`."""
    model = build_model(spec, seed=recipe.seed)
    if store is not None:
        model.feature_store = store
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
