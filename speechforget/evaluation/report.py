"""One model's metrics, its gaps to the retrained gold model, and a readable summary.

`model_metrics` is called once per model (original, unlearned, retrain) on the
logits of every clip; `gap_to_retrain` compares unlearned with gold; and
`format_summary` prints the report dict the pipeline assembles:

    {"config": {...},
     "models": {"original": {...}, "unlearned": {..., "time_s"}, "retrain": {..., "time_s"}},
     "gap_to_retrain": {...}, "history": [...]}
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np

from .attacks import forget_vs_test_attack, mia_efficacy, mia_loss_attack
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

MIA_LEGEND = (
    "MIA = % of forget clips a loss attack (fit on retain vs test) calls non-member: "
    "closer to gold is better, the original scores low"
)
MIA_EFFICACY_LEGEND = (
    "MIA-Efficacy = the same with an SVC on the true-class confidence p_y: closer to gold is better"
)
MIA_AUC_LEGEND = (
    "mia_auc = forget-vs-test attack ROC-AUC: 0.5 means the forget clips look like unseen clips"
)

# row label and whether the value is a fraction shown as a percentage
_ROWS = {
    "test_acc": ("Dt accuracy (test)", True),
    "test_retained_acc": ("Dt acc, retained classes", True),
    "test_forgotten_acc": ("Dt acc, forgotten classes", True),
    "forget_acc": ("Df accuracy (forget)", True),
    "retain_acc": ("Dr accuracy (retain)", True),
    "mia": ("MIA (% Df non-member)", True),
    "mia_efficacy": ("MIA-Efficacy (%)", True),
    "mia_auc": ("mia_auc (ideal 0.5)", False),
    "mia_cv_acc": ("forget-vs-test CV acc", True),
}
_COLUMNS = (("original", "original"), ("unlearned", "unlearned"), ("retrain", "retrain (gold)"))


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
    attack_test = t
    if test_forgotten_mask is not None:
        mask = np.asarray(test_forgotten_mask)
        if mask.dtype != bool or mask.shape != t.shape:
            raise ValueError(
                f"test_forgotten_mask must be a bool array of shape {t.shape} (one entry per "
                f"test_idx); got {mask.dtype} {mask.shape}"
            )
        out["test_forgotten_acc"] = accuracy(pred[t[mask]], y[t[mask]])
        out["test_retained_acc"] = accuracy(pred[t[~mask]], y[t[~mask]])
        if mask.sum() >= 2:
            attack_test = t[mask]
    out["mia"] = mia_loss_attack(ce[r], ce[t], ce[f], seed=seed)
    out["mia_efficacy"] = mia_efficacy(conf[r], conf[t], conf[f], seed=seed)
    fvt = forget_vs_test_attack(ce[f], ce[attack_test], seed=seed)
    out["mia_auc"], out["mia_cv_acc"] = fvt["auc"], fvt["cv_acc"]
    return {k: _clean(v) for k, v in out.items()}


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


def _fmt(value: float | None, percent: bool) -> str:
    value = _clean(value)
    if value is None:
        return "-"
    return f"{100 * value:.1f}" if percent else f"{value:.3f}"


def _flatten(cfg: Mapping, prefix: str = "") -> list[str]:
    """{"a": {"b": 1}, "c": 2} -> ["a.b=1", "c=2"] (lists and long values abbreviated)."""
    items: list[str] = []
    for key, value in cfg.items():
        if isinstance(value, Mapping):
            items += _flatten(value, f"{prefix}{key}.")
        else:
            text = repr(value) if isinstance(value, str) else str(value)
            items.append(f"{prefix}{key}={text if len(text) <= 40 else text[:37] + '...'}")
    return items


def format_summary(report: Mapping) -> str:
    """A fixed-width text table of a report dict (see the module docstring).

    Rows are the metrics (accuracies and MIA scores as percentages with one
    decimal, mia_auc as a fraction), columns original / unlearned / retrain (gold)
    / |gap| (unlearned vs gold, in percentage points); then wall times, the
    unlearned/retrain time ratio, the average gap and a legend of the MIA numbers.
    Models that are missing or None are left out of the table.
    """
    models = {k: v for k, v in (report.get("models") or {}).items() if v}
    columns = [(key, title) for key, title in _COLUMNS if key in models]
    has_gap = "unlearned" in models and "retrain" in models
    header = ["metric".ljust(26)] + [title.rjust(16) for _, title in columns]
    header += ["|gap|".rjust(9)] if has_gap else []
    lines: list[str] = []
    if report.get("config"):
        lines += textwrap.wrap("config: " + "  ".join(_flatten(report["config"])), width=100)
    lines += ["".join(header), "-" * len("".join(header))]

    for key, (label, percent) in _ROWS.items():
        values = [_clean(models[m].get(key)) for m, _ in columns]
        if all(v is None for v in values):
            continue  # e.g. the forgotten-class test accuracy under sample unlearning
        row = [label.ljust(26)] + [_fmt(v, percent).rjust(16) for v in values]
        if has_gap:
            u, g = _clean(models["unlearned"].get(key)), _clean(models["retrain"].get(key))
            row.append(_fmt(None if u is None or g is None else abs(u - g), percent).rjust(9))
        lines.append("".join(row))

    times = [_clean(models[m].get("time_s")) for m, _ in columns]
    if any(t is not None for t in times):
        row = ["wall time (s)".ljust(26)] + [
            ("-" if t is None else f"{t:.1f}").rjust(16) for t in times
        ]
        lines.append("".join(row))
    lines.append("")
    if has_gap:
        t_u = _clean(models["unlearned"].get("time_s"))
        t_r = _clean(models["retrain"].get("time_s"))
        if t_u is not None and t_r:
            lines.append(
                f"time ratio unlearned/retrain: {t_u / t_r:.2f} (much less than 1 is the point)"
            )
        gaps = report.get("gap_to_retrain") or gap_to_retrain(
            models["unlearned"], models["retrain"]
        )
        avg = _clean(gaps.get("avg"))
        names = ", ".join(GAP_METRICS)
        lines.append(f"avg |gap| to gold over {names}: {_fmt(avg, True)} points (0 is ideal)")
    elif "retrain" not in models:
        lines.append("no retrained gold model in this report: gaps to gold cannot be shown")
    if report.get("history"):
        lines.append(f"history: {len(report['history'])} logged steps")
    lines += [MIA_LEGEND, MIA_EFFICACY_LEGEND, MIA_AUC_LEGEND]
    return "\n".join(lines)


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
