"""NegGrad+: gradient ascent on the forget set balanced by descent on the retain set
(Kurmanji et al., "Towards Unbounded Machine Unlearning", NeurIPS 2023):

    minimise  retain_weight * CE(Dr batch) - forget_weight * CE(Df batch)

Each epoch is one pass over Df, every forget batch paired with a batch of retain clips
(`retain_batch_size` of them)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from speechforget.methods.base import (
    Batch,
    ForgetPaired,
    PairedConfig,
    Terms,
    UnlearnData,
    setting,
)
from speechforget.methods.losses import ce


@dataclass
class NegGradPlusConfig(PairedConfig):
    """epochs = passes over the forget set (each forget batch with a retain batch)."""

    forget_weight: float = setting(1.0, "weight of the ascended forget CE", min=0.0, max=10.0)
    retain_weight: float = setting(
        1.0, "weight of the retain CE (what keeps it usable)", min=0.0, max=10.0
    )


class NegGradPlus(ForgetPaired):
    name = "neggrad_plus"
    label = "NegGrad+"
    paper = "Kurmanji et al., Towards Unbounded Machine Unlearning, NeurIPS 2023"
    Config = NegGradPlusConfig
    # sample (scripts/tune_methods.py, seeds 0-1, SuperLoss on: validation gap 5.9 at 0.06 of
    # gold's time): SGD with a cosine decay and a light forget weight; ascent under Adam
    # collapses the model within a few steps at any useful rate
    defaults = {
        "sample": {
            "epochs": 8,
            "lr": 2e-2,
            "optimizer": "sgd",
            "schedule": "cosine",
            "forget_weight": 0.3,
        },
        "class": {"epochs": 2, "lr": 1e-4, "retain_weight": 6.0, "schedule": "cosine"},
    }

    def loss(self, model: nn.Module, data: UnlearnData, batch: Batch) -> Terms:
        logits_f, _ = model(data.x[batch.forget])
        logits_r, _ = model(data.x[batch.retain])
        return Terms(
            forget=ce(logits_f, data.y[batch.forget]),
            retain=ce(logits_r, data.y[batch.retain]),
            forget_weight=-self.cfg.forget_weight,
            retain_weight=self.cfg.retain_weight,
        )
