"""One model's metrics and its gaps to the retrained gold model.

`model_metrics` is called once per model (original, unlearned, retrain) on the
logits of every clip; `gap_to_retrain` compares unlearned with gold. The report
that carries them is built, printed and written by `speechforget.report`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from .attacks import forget_vs_test_attack, member_probability, mia_efficacy, mia_loss_attack
from .metrics import accuracy, per_class_accuracy, per_sample_ce

MODEL_METRICS = (
    "test_acc",
    "test_retained_acc",
    "test_forgotten_acc",
    "forget_acc",
    "retain_acc",
    "mia",
    "mia_efficacy",
    "mia_auc",
)
GAP_METRICS = ("test_acc", "forget_acc", "retain_acc", "mia")
# clips per side of an attack below which no AUC is reported (too unstable: evaluation.audit)
MIN_AUC_SIDE = 20


def _clean(value: float | None) -> float | None:
    """NaN/None -> None (JSON null: not applicable or undefined), else a python float."""
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def _as_index(idx: Sequence[int] | np.ndarray, n: int, name: str) -> np.ndarray:
    idx = np.asarray(idx)
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise ValueError(
            f"{name} must be a 1-D array of integer positions; got {idx.dtype} {idx.shape}"
        )
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"{name} holds positions outside 0..{n - 1}")
    return idx


def model_metrics(
    logits: np.ndarray,
    y: np.ndarray,
    forget_idx: Sequence[int] | np.ndarray,
    retain_idx: Sequence[int] | np.ndarray,
    test_idx: Sequence[int] | np.ndarray,
    test_forgotten_mask: Sequence[bool] | np.ndarray | None = None,
    seed: int = 0,
) -> dict[str, float | None]:
    """Accuracies and attacks for one model; every value a float in 0..1 or None.

    logits (M, C) and labels y (M,) cover every clip; forget_idx, retain_idx and
    test_idx are integer positions into them (Df, Dr, Dt). test_forgotten_mask is
    a bool mask (len(test_idx),) marking the test clips of the forgotten classes or
    speakers (class unlearning), or None for sample unlearning, where
    test_forgotten_acc and test_retained_acc are None.

    The forget-vs-test attack compares Df with the test clips of the forgotten
    classes when the mask marks at least 2 of them: a gold model has never seen
    either, so its AUC is near 0.5, whereas against the whole test set (mostly
    retained, well-fit classes) even gold would score near 1. Otherwise (sample
    unlearning, or speaker unlearning with speaker-disjoint test clips) it uses
    all of Dt. The loss MIA and MIA-Efficacy always fit on Dr vs all of Dt.

    Returns the keys of MODEL_METRICS plus "mia_cv_acc" (the forget-vs-test CV
    accuracy); undefined values (empty sets, degenerate attacks) are None.
    """
    logits = np.asarray(logits, dtype=np.float64)
    ce = per_sample_ce(logits, y)  # (M,) nats
    conf = np.exp(-ce)  # (M,) p_y
    pred = logits.argmax(axis=1) if len(logits) else np.zeros(0, np.int64)
    y = np.asarray(y, dtype=np.int64)
    f = _as_index(forget_idx, len(y), "forget_idx")
    r = _as_index(retain_idx, len(y), "retain_idx")
    t = _as_index(test_idx, len(y), "test_idx")

    out: dict[str, float | None] = {
        "test_acc": accuracy(pred[t], y[t]),
        "test_retained_acc": None,
        "test_forgotten_acc": None,
        "forget_acc": accuracy(pred[f], y[f]),
        "retain_acc": accuracy(pred[r], y[r]),
    }
    if test_forgotten_mask is not None:
        mask = np.asarray(test_forgotten_mask)
        if mask.dtype != bool or mask.shape != t.shape:
            raise ValueError(
                f"test_forgotten_mask must be a bool array of shape {t.shape} (one entry per "
                f"test_idx); got {mask.dtype} {mask.shape}"
            )
        out["test_forgotten_acc"] = accuracy(pred[t[mask]], y[t[mask]])
        out["test_retained_acc"] = accuracy(pred[t[~mask]], y[t[~mask]])
    attack_test = attack_positions(t, test_forgotten_mask)
    out["mia"] = mia_loss_attack(ce[r], ce[t], ce[f], seed=seed)
    out["mia_efficacy"] = mia_efficacy(conf[r], conf[t], conf[f], seed=seed)
    if min(len(f), len(attack_test)) >= MIN_AUC_SIDE:
        fvt = forget_vs_test_attack(ce[f], ce[attack_test], seed=seed)
        out["mia_auc"], out["mia_cv_acc"] = fvt["auc"], fvt["cv_acc"]
    else:  # e.g. a speaker's ~10 test clips: the AUC took a handful of values (0.700 for all)
        out["mia_auc"] = out["mia_cv_acc"] = None
    return {k: _clean(v) for k, v in out.items()}


def attack_positions(test_idx: np.ndarray, test_forgotten_mask=None) -> np.ndarray:
    """The test clips the forget clips are compared with: the forgotten classes' or
    speaker's test clips when at least 2 are marked, else the whole test set."""
    t = np.asarray(test_idx)
    if test_forgotten_mask is not None and np.sum(test_forgotten_mask) >= 2:
        return t[np.asarray(test_forgotten_mask, bool)]
    return t


def added_metrics(
    logits: np.ndarray,
    y: np.ndarray,
    held_idx: np.ndarray,
    added_idx: np.ndarray,
    retain_idx: np.ndarray,
    test_idx: np.ndarray,
    seed: int = 0,
) -> dict[str, float | None]:
    """A visitor's clips under one model: `added_test_acc`, the accuracy on the visitor's
    held-back clips (their keyword, or the visitor as the speaker), and
    `added_forget_member`, the mean membership score (`member_probability`, the paper's
    loss attack fit on Dr vs Dt) of the visitor's training clips `added_idx`."""
    held_idx, added_idx = np.asarray(held_idx), np.asarray(added_idx)
    acc = accuracy(logits[held_idx], y[held_idx]) if len(held_idx) else None
    loss = per_sample_ce(logits, y)
    member = None
    if len(added_idx):
        scores = member_probability(loss[retain_idx], loss[test_idx], loss[added_idx], seed)
        member = float(np.mean(scores))
    return {"added_test_acc": _clean(acc), "added_forget_member": _clean(member)}


def gap_to_retrain(
    unlearned: Mapping[str, float | None], retrain: Mapping[str, float | None]
) -> dict[str, float | None]:
    """abs(unlearned - gold) on each of GAP_METRICS (fractions, 0..1), plus "avg",
    their mean over the metrics both models define (None when none is defined)."""
    gaps: dict[str, float | None] = {}
    for key in GAP_METRICS:
        u, g = _clean(unlearned.get(key)), _clean(retrain.get(key))
        gaps[key] = None if u is None or g is None else abs(u - g)
    defined = [v for v in gaps.values() if v is not None]
    gaps["avg"] = float(np.mean(defined)) if defined else None
    return gaps


def per_class_table(
    logits: np.ndarray, y: np.ndarray, class_names: Sequence[str]
) -> list[dict[str, object]]:
    """[{"class": name, "n": clips, "accuracy": fraction or None}] for each class.

    logits (N, C) or predictions (N,), labels y (N,), class_names of length C.
    """
    acc = per_class_accuracy(logits, y, len(class_names))  # validates shapes and labels
    y = np.asarray(y, dtype=np.int64)
    counts = np.bincount(y, minlength=len(class_names)) if len(y) else np.zeros(len(class_names))
    return [
        {"class": name, "n": int(counts[c]), "accuracy": _clean(acc[c])}
        for c, name in enumerate(class_names)
    ]
