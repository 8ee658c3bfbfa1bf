"""Relearning attack: how fast do a few forgotten clips bring the rest of the forget set back?

Golatkar, Achille & Soatto, "Eternal Sunshine of the Spotless Net", CVPR 2020 (relearn
time); Lynch et al., "Eight Methods to Evaluate Robust Unlearning in LLMs", 2024
(relearning as an attack on unlearning that only hides knowledge).

Protocol. The forget set Df is split once, seeded, into a relearning part (20%) and a
held part (the other 80%). A deep copy of each model is fine-tuned with cross-entropy
on the relearning part (AdamW at a constant lr, batches of 16 cycled in a seeded order,
batch-norm statistics frozen, the parameters that take gradients) and its accuracy on the
held part is measured after k = 0, 5, 10, 25, 50 optimiser steps. Every model sees the
same split and the same batch order. The optimiser steps run in the engine
(speechforget.engine.train_steps); the model passed in is never modified.

Reading it: the gold retrain never saw Df, so its curve is how much 20% of Df teaches the
rest by itself; an unlearned model whose curve rises above the gold's still holds Df in
its weights. Ideal: equal to the gold's curve.

Why lr 3e-5 (measured on the built-in CNN, synthetic keywords, 2 CPU cores): the attack
must bring hidden knowledge back without damaging a model that hides nothing. A tiny
relearning set (7 clips for one speaker) teaches a label prior: at lr 1e-3 the original's
accuracy on the held part of speaker:spk07 fell from 1.0 to 0.17 in 50 steps (1e-4: 0.53,
3e-5: 0.97). At 3e-5 a random-label unlearning of class:stop still comes back (held part
0 -> 0.81 at k = 25, 1.0 at k = 50) while its gold stays at 0. Pass a larger lr for a
stronger attacker.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping

import numpy as np
import torch
from torch import nn

from speechforget.config import TrainConfig
from speechforget.engine import predict, train_steps
from speechforget.evaluation.metrics import accuracy

DEFAULT_STEPS = (0, 5, 10, 25, 50)
DEFAULT_LR = 3e-5  # see the module docstring
MIN_FORGET = 5  # fewer forget clips cannot be split into a relearning and a held part


def split_forget(
    forget: np.ndarray, fraction: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (relearn, held) positions from the (F,) forget positions: round(fraction * F)
    clips (at least 1, at most F - 1) to fine-tune on, the rest to measure on; both sorted."""
    forget = np.asarray(forget, dtype=np.int64).ravel()
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1 (e.g. 0.2), got {fraction}")
    if len(forget) < MIN_FORGET:
        raise ValueError(
            f"the forget set has {len(forget)} clips: too small to split into a relearning "
            f"part and a held part; the relearning attack needs at least {MIN_FORGET}"
        )
    n_train = min(len(forget) - 1, max(1, round(fraction * len(forget))))
    order = np.random.default_rng(seed).permutation(len(forget))
    return np.sort(forget[order[:n_train]]), np.sort(forget[order[n_train:]])


def relearn_config(
    lr: float = DEFAULT_LR, batch_size: int = 16, seed: int = 0, device: str = "cpu"
) -> TrainConfig:
    """The attacker's recipe: constant-lr AdamW without weight decay, no time budget."""
    return TrainConfig(
        epochs=1, lr=lr, weight_decay=0.0, batch_size=batch_size, seed=seed, device=device
    )


def relearn_curve(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor | np.ndarray,
    forget: np.ndarray,
    steps: Iterable[int] = DEFAULT_STEPS,
    fraction: float = 0.2,
    lr: float = DEFAULT_LR,
    batch_size: int = 16,
    seed: int = 0,
    device: str = "cpu",
) -> dict:
    """One model's relearning curve (see the module docstring).

    x: (M, ...) model inputs of every clip, y: (M,) int labels, forget: (F,) positions of
    Df in x (F >= 5). Returns {"steps": [k, ...], "acc": [accuracy 0..1 on the held part
    after k steps, ...], "n_train": clips fine-tuned on, "n_eval": clips measured on};
    an accuracy is NaN after the fine-tuning loss became non-finite (a diverged model).
    """
    curves = relearn({"acc": model}, x, y, forget, steps, fraction, lr, batch_size, seed, device)
    train_idx, eval_idx = split_forget(forget, fraction, seed)
    return {**curves, "n_train": len(train_idx), "n_eval": len(eval_idx)}


def relearn(
    models: Mapping[str, nn.Module],
    x: torch.Tensor,
    y: torch.Tensor | np.ndarray,
    forget: np.ndarray,
    steps: Iterable[int] = DEFAULT_STEPS,
    fraction: float = 0.2,
    lr: float = DEFAULT_LR,
    batch_size: int = 16,
    seed: int = 0,
    device: str = "cpu",
) -> dict[str, list]:
    """The report's `relearn`: {"steps": [k, ...], name: [accuracy after k steps, ...]} for
    each named model (e.g. "unlearned", "retrain"), all on the same seeded split of Df and
    the same batch order; arguments as in relearn_curve."""
    if "steps" in models:
        raise ValueError("'steps' is the key of the step counts; name the models otherwise")
    marks = _check_steps(steps)
    train_idx, eval_idx = split_forget(forget, fraction, seed)
    cfg = relearn_config(lr, batch_size, seed, device)
    out: dict[str, list] = {"steps": marks}
    for name, model in models.items():
        out[name] = _curve(model, x, y, train_idx, eval_idx, marks, cfg)
    return out


def _check_steps(steps: Iterable[int]) -> list[int]:
    """Distinct step counts in increasing order; ValueError when empty or negative."""
    marks = sorted({int(k) for k in steps})
    if not marks or marks[0] < 0:
        raise ValueError(f"steps must be step counts >= 0, e.g. {DEFAULT_STEPS}; got {steps}")
    return marks


def _curve(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor | np.ndarray,
    train_idx: np.ndarray,
    eval_idx: np.ndarray,
    marks: list[int],
    cfg: TrainConfig,
) -> list[float]:
    """Accuracy on x[eval_idx] after each of `marks` steps of fine-tuning a copy of `model`
    on x[train_idx] (the model itself is left as it was); NaN after a non-finite loss."""
    twin = copy.deepcopy(model)
    if not any(p.requires_grad for p in twin.parameters()):
        for p in twin.parameters():  # a frozen copy: the attacker may fine-tune everything
            p.requires_grad_(True)
    y = torch.as_tensor(y).long()  # (M,)
    x_eval, y_eval = x[torch.from_numpy(eval_idx)], y[torch.from_numpy(eval_idx)].numpy()
    acc: list[float] = []

    def measure(_k: int) -> None:
        logits, _ = predict(twin, x_eval, cfg.device)  # (E, C)
        acc.append(accuracy(logits.numpy(), y_eval))

    train_steps(twin, x, y, torch.from_numpy(train_idx), marks, cfg, measure)
    # a run that stopped early (a diverged model's NaN loss) has no later points
    return acc + [float("nan")] * (len(marks) - len(acc))
