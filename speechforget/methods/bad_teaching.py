"""Bad-Teaching (Chundawat et al., "Can Bad Teaching Induce Forgetting?", AAAI 2023).

The student f' (starting as the original f) is distilled on Df towards an
incompetent teacher f_bad and on a seeded subset of Dr towards the competent
teacher f, in shuffled batches of their union:

    minimise  mean over the batch of  KL_T(teacher_i || f'(x_i)),
              teacher_i = f_bad on forget clips, f on retain clips

(KL_T as in losses.kl_t, the direction of the published code; the spec's
KL(f' || f_bad) names the student distilled towards f_bad.) The incompetent teacher
is the same architecture rebuilt from its spec with a fresh head: for a pretrained
backbone the pretrained, not fine-tuned, encoder; for the built-in CNN a randomly
initialised copy. The retain subset is drawn from Dr only, with the run's seed."""

from __future__ import annotations

import math
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
    mixed,
    n_batches,
    setting,
)  # fmt: skip
from speechforget.methods.losses import kl_t_per_sample
from speechforget.models import build_model
from speechforget.models.base import Backbone
from speechforget.originals import frozen_copy


@dataclass
class BadTeachingConfig(UnlearnConfig):
    """epochs = passes over Df plus the retain subset."""

    T: float = setting(1.0, "distillation temperature", min=0.1, max=20.0)
    retain_fraction: float = setting(
        0.3, "fraction of Dr in the distillation set", min=0.01, max=1.0
    )


def incompetent_teacher(model: Backbone, gen: torch.Generator) -> Backbone:
    """The same architecture rebuilt empty from its spec, with a fresh head, frozen."""
    seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen))
    bad = build_model(model.spec(), seed=seed)
    bad.reset_head(gen)
    return frozen_copy(bad)


class BadTeaching(Method):
    name = "bad_teaching"
    label = "Bad-Teaching"
    paper = "Chundawat et al., Can Bad Teaching Induce Forgetting?, AAAI 2023"
    Config = BadTeachingConfig
    # class: scripts/tune_methods.py, seed 0: validation gap 1.9 at 0.07 of gold's time
    defaults = {"sample": {"epochs": 1, "lr": 1e-4, "batch_size": 64},
                "class": {"epochs": 2, "lr": 3e-4, "batch_size": 64}}  # fmt: skip

    def setup(self, model: nn.Module, data: UnlearnData, gen: torch.Generator) -> None:
        device = data.x.device
        self.good = frozen_copy(model)
        self.bad = incompetent_teacher(model, gen).to(device)
        n = math.ceil(self.cfg.retain_fraction * len(data.retain))
        self.subset = data.retain[torch.randperm(len(data.retain), generator=gen)[:n]]

    def total_steps(self, data: UnlearnData) -> int:
        n = len(data.forget) + math.ceil(self.cfg.retain_fraction * len(data.retain))
        return self.cfg.epochs * n_batches(n, self.cfg.batch_size)

    def steps(self, data: UnlearnData, gen: torch.Generator) -> Iterator[Batch]:
        for epoch in range(self.cfg.epochs):
            yield from mixed(data.forget, self.subset, self.cfg.batch_size, gen, epoch=epoch)

    def loss(self, model: nn.Module, data: UnlearnData, batch: Batch) -> Terms:
        nf, nr = len(batch.forget), len(batch.retain)
        x = data.x[torch.cat([batch.forget, batch.retain])]
        logits, _ = model(x)
        with torch.no_grad():
            bad = self.bad(x[:nf])[0] if nf else logits[:0].detach()
            good = self.good(x[nf:])[0] if nr else logits[:0].detach()
        T = self.cfg.T
        # weights nf/B and nr/B: the objective is the mean over the whole mixed batch
        return Terms(forget=kl_t_per_sample(logits[:nf], bad, T),
                     retain=kl_t_per_sample(logits[nf:], good, T),
                     forget_weight=nf / (nf + nr), retain_weight=nr / (nf + nr))  # fmt: skip
