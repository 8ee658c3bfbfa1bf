"""Random labels: fit each forget clip to a wrong label drawn once per clip, while
rehearsing the retain set (Golatkar et al., CVPR 2020; the "RL" baseline of SalUn,
Fan et al., ICLR 2024):

    minimise  CE(f'(x_f), y'_f) + retain_weight * CE(f'(x_r), y_r),   y' != y

Each epoch is one pass over Df, every forget batch paired with a batch of retain clips
(`retain_batch_size` of them).
The wrong labels are drawn with the run's seed, uniformly among the C-1 other classes."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from speechforget.methods.base import (
    Batch,
    ForgetPaired,
    PairedConfig,
    Terms,
    UnlearnData,
    setting,
)
from speechforget.methods.losses import ce, wrong_labels


@dataclass
class RandomLabelConfig(PairedConfig):
    """epochs = passes over the forget set (each forget batch with a retain batch)."""

    retain_weight: float = setting(1.0, "weight lambda of the retain CE", min=0.0, max=10.0)


class RandomLabel(ForgetPaired):
    name = "random_label"
    label = "Random labels"
    paper = "Golatkar et al., Eternal Sunshine of the Spotless Net, CVPR 2020"
    Config = RandomLabelConfig
    # class: scripts/tune_methods.py --mode class, seeds 0-1 (validation gap 1.8 at 0.05 of
    # gold's time); the forget term is easy, repairing Dr is the work: a heavy retain weight
    # and a cosine decay
    # sample: SGD (steps in proportion to the gradient, gentler on a converged model than
    # Adam's) with more retain clips per step; validation gap 4.6 at 0.08 of gold's time
    defaults = {
        "sample": {
            "epochs": 4,
            "lr": 6e-3,
            "optimizer": "sgd",
            "schedule": "cosine",
            "retain_weight": 4.0,
            "retain_batch_size": 128,
        },
        "class": {"epochs": 8, "lr": 1e-3, "retain_weight": 6.0, "schedule": "cosine"},
    }

    def setup(self, model: nn.Module, data: UnlearnData, gen: torch.Generator) -> None:
        # (M,) targets: the true label everywhere except a wrong one on every forget clip
        self.targets = data.y.clone()
        wrong = wrong_labels(data.y[data.forget], data.num_classes, gen)
        self.targets[data.forget.to(data.y.device)] = wrong.to(data.y.device)

    def loss(self, model: nn.Module, data: UnlearnData, batch: Batch) -> Terms:
        logits_f, _ = model(data.x[batch.forget])
        logits_r, _ = model(data.x[batch.retain])
        return Terms(
            forget=ce(logits_f, self.targets[batch.forget]),
            retain=ce(logits_r, data.y[batch.retain]),
            retain_weight=self.cfg.retain_weight,
        )
