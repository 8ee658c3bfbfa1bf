"""Per-sample losses, confidences and accuracies, as plain numpy.

Everything here takes the model's logits (N, C) and integer labels (N,) as numpy
arrays (call `.detach().cpu().numpy()` on tensors first), so evaluation never
needs torch and the numbers are identical on every device.
"""

from __future__ import annotations

import numpy as np


def _as_logits(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (N, C); got shape {z.shape}")
    return z


def _as_labels(y: np.ndarray, n: int, num_classes: int | None = None) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"labels must have shape ({n},); got shape {y.shape}")
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"labels must be integers; got dtype {y.dtype}")
    y = y.astype(np.int64)
    if num_classes is not None and y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}; got {y.min()}..{y.max()}")
    return y


def _as_pred(logits_or_pred: np.ndarray) -> np.ndarray:
    """(N, C) logits -> (N,) argmax; (N,) predictions pass through."""
    a = np.asarray(logits_or_pred)
    if a.ndim == 2:
        return a.argmax(axis=1).astype(np.int64) if a.shape[0] else np.zeros(0, np.int64)
    if a.ndim != 1:
        raise ValueError(f"expected logits (N, C) or predictions (N,); got shape {a.shape}")
    return a.astype(np.int64)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """(N, C) logits -> (N, C) log-probabilities, stable via log-sum-exp."""
    z = _as_logits(logits)
    if z.shape[0] == 0:
        return z.copy()
    z = z - z.max(axis=1, keepdims=True)  # the largest logit becomes 0: no overflow
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def softmax(logits: np.ndarray) -> np.ndarray:
    """(N, C) logits -> (N, C) probabilities; each row sums to 1."""
    return np.exp(log_softmax(logits))


def per_sample_ce(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-entropy of each sample in nats: (N, C), (N,) -> (N,), `-log p_y`.

    As log(1 + sum_{j != y} exp(z_j - z_y)) with log1p, so that a confidently fit clip keeps
    its tiny loss (exp(-40) ~ 4e-18) instead of rounding to 0 as `log_softmax` does below
    ~1e-16: the loss attacks tell memorised clips apart by these (margins of 40 vs 60)."""
    z = _as_logits(logits)
    y = _as_labels(y, z.shape[0], z.shape[1])
    rows = np.arange(len(y))
    d = z - z[rows, y][:, None]  # z_j - z_y
    d[rows, y] = -np.inf
    top = d.max(axis=1, keepdims=True) if z.shape[1] > 1 else np.full((len(y), 1), -np.inf)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        a = (safe + np.log(np.exp(d - safe).sum(axis=1, keepdims=True)))[:, 0]
    return np.logaddexp(0.0, a)  # log(1 + exp(a)), exact for very negative a


def confidence(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Probability the model gives the true class: (N, C), (N,) -> (N,) `p_y` in 0..1."""
    return np.exp(-per_sample_ce(logits, y))


def accuracy(logits_or_pred: np.ndarray, y: np.ndarray) -> float:
    """Fraction (0..1) of correct predictions; logits (N, C) or predictions (N,).

    Returns NaN for an empty set (there is nothing to be right or wrong about).
    """
    pred = _as_pred(logits_or_pred)
    y = _as_labels(y, len(pred))
    if len(y) == 0:
        return float("nan")
    return float(np.mean(pred == y))


def per_class_accuracy(logits_or_pred: np.ndarray, y: np.ndarray, num_classes: int) -> np.ndarray:
    """(C,) accuracy of the clips of each true class; NaN where a class has no clips."""
    pred = _as_pred(logits_or_pred)
    y = _as_labels(y, len(pred), num_classes)
    n = np.bincount(y, minlength=num_classes).astype(np.float64)
    hits = np.bincount(y[pred == y], minlength=num_classes).astype(np.float64)
    return np.where(n > 0, hits / np.maximum(n, 1), np.nan)


def confusion_matrix(logits_or_pred: np.ndarray, y: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts: rows are the true class, columns the predicted class."""
    pred = _as_pred(logits_or_pred)
    y = _as_labels(y, len(pred), num_classes)
    if len(pred) and (pred.min() < 0 or pred.max() >= num_classes):
        raise ValueError(f"predictions must lie in 0..{num_classes - 1}")
    flat = np.bincount(y * num_classes + pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes).astype(np.int64)
