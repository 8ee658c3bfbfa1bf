"""Gradient ascent: maximise the cross-entropy of the forget set, nothing else
(Thudi et al., "Unrolling SGD", EuroS&P 2022; Graves et al., AAAI 2021). It
collapses fast: a small learning rate and few steps are what keep it usable."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from speechforget.methods.base import (
    Batch,
    Method,
    Terms,
    UnlearnConfig,
    UnlearnData,
    n_batches,
    shuffled,
)
from speechforget.methods.losses import ce


@dataclass
class GradAscentConfig(UnlearnConfig):
    """epochs = passes over the forget set."""


class GradAscent(Method):
    name = "grad_ascent"
    label = "Gradient ascent"
    paper = "Thudi et al., Unrolling SGD, EuroS&P 2022"
    Config = GradAscentConfig
    defaults = {
        "sample": {"epochs": 2, "lr": 1e-4, "batch_size": 32},
        "class": {"epochs": 2, "lr": 1e-4, "batch_size": 32},
    }

    def total_steps(self, data: UnlearnData) -> int:
        return self.cfg.epochs * n_batches(len(data.forget), self.cfg.batch_size)

    def steps(self, data: UnlearnData, gen: torch.Generator) -> Iterator[Batch]:
        for epoch in range(self.cfg.epochs):
            for idx in shuffled(data.forget, self.cfg.batch_size, gen):
                yield Batch(forget=idx, epoch=epoch)

    def loss(self, model: nn.Module, data: UnlearnData, batch: Batch) -> Terms:
        logits, _ = model(data.x[batch.forget])
        return Terms(forget=ce(logits, data.y[batch.forget]), forget_weight=-1.0)
