"""SuperLoss (Castells, Weinzaepfel and Revaud, NeurIPS 2020), wrapped around any method.

Each per-sample loss l_i becomes

    L_i = (l_i - tau) * sigma_i + lambda_SL * (log sigma_i)^2,
    sigma_i = exp(-W(0.5 * max(-2/e, (l_i - tau) / lambda_SL)))    (W: principal Lambert-W)

with sigma_i the closed-form minimiser (detached), and tau a running mean of the
loss (an exponential moving average per term, started at the first batch mean).
So d L_i / d theta = sigma_i * d l_i / d theta: samples with a loss below tau weigh
more (sigma > 1), samples above tau weigh less (sigma < 1).

Which way the weights act on a maximised forget term (gradient ascent, NegGrad+,
SCRUB's max step): sigma is always computed from the raw per-sample loss that is
being ascended, and the maximised objective is -mean(L_i). A forget clip that is
still remembered (low loss) therefore gets sigma > 1 and is pushed hardest; a clip
already forgotten (high loss, the ones whose loss would run off to infinity) gets
sigma < 1 and is damped. Forgetting concentrates on what is not yet forgotten.
On minimised terms (retain CE, random labels, distillation) SuperLoss acts as in
the paper: confident samples first, hard or noisy ones down-weighted.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.special import lambertw
from torch import nn

from speechforget.methods.base import Batch, Method, Terms, UnlearnData

# float(-1/e) rounds just below the branch point, where scipy's W returns nan
_BRANCH = float(np.nextafter(-1 / math.e, 0.0))


@dataclass
class SuperLossConfig:
    sl_lambda: float = field(
        default=1.0,
        metadata={
            "help": "SuperLoss regulariser lambda_SL (larger = weights closer to 1)",
            "min": 1e-3,
            "max": 100.0,
            "log": True,
        },
    )
    sl_momentum: float = field(
        default=0.9,
        metadata={
            "help": "momentum of the running mean tau of each loss term",
            "min": 0.0,
            "max": 0.999,
        },
    )


def sigma(loss: torch.Tensor, tau: float, lam: float) -> torch.Tensor:
    """(B,) per-sample losses -> (B,) SuperLoss confidences (detached, same device)."""
    beta = (loss.detach().double().cpu().numpy() - tau) / lam
    z = np.maximum(0.5 * np.maximum(-2 / math.e, beta), _BRANCH)
    s = np.exp(-lambertw(z).real)
    return torch.from_numpy(s).to(loss.device, torch.float32)


def superloss(loss: torch.Tensor, tau: float, lam: float) -> torch.Tensor:
    """(B,) per-sample losses -> (B,) SuperLoss values (gradient sigma_i * dl_i)."""
    s = sigma(loss, tau, lam)
    return (loss - tau) * s + lam * torch.log(s) ** 2


class RunningMean:
    """tau: an exponential moving average of batch-mean losses."""

    def __init__(self, momentum: float) -> None:
        self.momentum, self.value = momentum, None

    def update(self, loss: torch.Tensor) -> float:
        m = float(loss.detach().float().mean())
        self.value = (
            m if self.value is None else self.momentum * self.value + (1 - self.momentum) * m
        )
        return self.value


class WithSuperLoss(Method):
    """Any method, its per-sample forget and retain losses re-weighted by SuperLoss."""

    def __init__(self, inner: Method, sl: SuperLossConfig | None = None) -> None:
        self.inner, self.sl = inner, sl or SuperLossConfig()
        self.cfg = inner.cfg
        self.name, self.label = f"{inner.name}+sl", f"{inner.label} + SuperLoss"
        self.paper, self.Config = inner.paper, inner.Config
        self.tau = {
            "forget": RunningMean(self.sl.sl_momentum),
            "retain": RunningMean(self.sl.sl_momentum),
        }

    @property
    def meter(self):  # the engine sets it on the wrapper; the inner method watches with it
        return self.inner.meter

    @meter.setter
    def meter(self, value) -> None:
        self.inner.meter = value

    def train_config(self, *args, **kwargs):
        return self.inner.train_config(*args, **kwargs)

    def train_mode(self, model: nn.Module) -> None:
        self.inner.train_mode(model)

    def scheduler(self, opt: torch.optim.Optimizer, total_steps: int):
        return self.inner.scheduler(opt, total_steps)

    def setup(self, model: nn.Module, data: UnlearnData, gen: torch.Generator) -> None:
        self.inner.setup(model, data, gen)

    def trainable(self, model: nn.Module) -> list[nn.Parameter]:
        return self.inner.trainable(model)

    def total_steps(self, data: UnlearnData) -> int:
        return self.inner.total_steps(data)

    def steps(self, data: UnlearnData, gen: torch.Generator) -> Iterator[Batch]:
        return self.inner.steps(data, gen)

    def loss(self, model: nn.Module, data: UnlearnData, batch: Batch) -> Terms:
        t = self.inner.loss(model, data, batch)
        changes = {}
        for term in ("forget", "retain"):
            raw = getattr(t, term)
            if raw is not None and raw.numel():
                tau = self.tau[term].update(raw)
                changes[f"{term}_objective"] = superloss(raw.float(), tau, self.sl.sl_lambda)
        return dataclasses.replace(t, **changes)

    def after_backward(self, model: nn.Module) -> None:
        self.inner.after_backward(model)

    def after_step(self, model: nn.Module) -> None:
        self.inner.after_step(model)
