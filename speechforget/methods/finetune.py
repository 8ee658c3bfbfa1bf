"""Fine-tune: keep training the original on the retain set only (Golatkar et al.,
"Eternal Sunshine of the Spotless Net", CVPR 2020, as a baseline). Forgetting comes
only from catastrophic forgetting of what Dr does not rehearse."""

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
class FinetuneConfig(UnlearnConfig):
    """epochs = passes over the retain set."""


class Finetune(Method):
    name = "finetune"
    label = "Fine-tune"
    paper = "Golatkar et al., Eternal Sunshine of the Spotless Net, CVPR 2020"
    Config = FinetuneConfig
    defaults = {"sample": {"epochs": 2, "lr": 1e-3}, "class": {"epochs": 2, "lr": 1e-3}}

    def total_steps(self, data: UnlearnData) -> int:
        return self.cfg.epochs * n_batches(len(data.retain), self.cfg.batch_size)

    def steps(self, data: UnlearnData, gen: torch.Generator) -> Iterator[Batch]:
        for epoch in range(self.cfg.epochs):
            for idx in shuffled(data.retain, self.cfg.batch_size, gen):
                yield Batch(retain=idx, epoch=epoch)

    def loss(self, model: nn.Module, data: UnlearnData, batch: Batch) -> Terms:
        logits, _ = model(data.x[batch.retain])
        return Terms(retain=ce(logits, data.y[batch.retain]))
