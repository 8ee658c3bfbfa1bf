"""Checks beyond the paper's attacks, per model, judged against the gold model.

    per_model = audit_losses({"original": ce_o, "unlearned": ce_u, "retrain": ce_g},
                             forget, retain, test, attack_test, seed=0)
    gaps = aggregate_gaps(models["unlearned"], models["retrain"])

- **Reference attack** (the reference-loss difference; Carlini et al. 2022, "Membership
  inference attacks from first principles" (LiRA, offline, one reference model), and
  Zarifzadeh et al. 2024, "Low-cost high-power membership inference attacks" (RMIA)): the
  gold model, which never trained on Df, is the reference. A clip's score is
  CE_gold - CE_model: positive when the model fits the clip better than a model that never
  saw it. AUC of Df (members) against test clips (non-members), and TPR at 1% and 0.1%
  FPR. Under the gold model itself every score is 0 (AUC 0.5): the ideal.
- **TPR at low FPR** of the loss threshold attack (score -CE) on Df vs test clips: the
  share of forget clips an attacker flags while wrongly flagging at most 1% (0.1%) of
  unseen clips (Carlini et al. 2022 argue this, not the AUC, is what matters for privacy).
- **KS to gold**: the Kolmogorov-Smirnov statistic between the model's and the gold's
  Df losses (0: the same distribution).
- **Retain-set MIA**: ROC-AUC of -CE separating retain clips (subsampled to |Dt|) from test
  clips. Unlearning that makes Dr easier to tell from Dt than gold does leaks Dr.

Small sets: an AUC needs at least MIN_AUC_SIDE clips on each side and a TPR at FPR f needs
at least 1/f non-member clips; below that the value is None and `notes` says why.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from speechforget.evaluation.scores import MIN_AUC_SIDE, gap_to_retrain

FPRS = {"1pct": 0.01, "0.1pct": 0.001}
UTILITY = ("test_acc", "retain_acc")
FORGETTING = ("forget_acc", "mia", "mia_efficacy", "rmia_auc")


def _finite(loss: np.ndarray) -> np.ndarray:
    """Per-sample CE with NaN/inf (a diverged model) as the largest finite loss."""
    loss = np.asarray(loss, dtype=np.float64)
    return np.nan_to_num(loss, nan=np.finfo(np.float64).max, posinf=np.finfo(np.float64).max)


def auc(pos: np.ndarray, neg: np.ndarray) -> float | None:
    """ROC-AUC of scores `pos` (label 1) against `neg` (label 0), higher = member; None
    below MIN_AUC_SIDE clips on a side; 0.5 when every score is the same."""
    if min(len(pos), len(neg)) < MIN_AUC_SIDE:
        return None
    x = np.concatenate([pos, neg])
    if np.ptp(x) == 0:
        return 0.5
    from sklearn.metrics import roc_auc_score  # imported late: see evaluation/attacks.py

    return float(roc_auc_score(np.r_[np.ones(len(pos)), np.zeros(len(neg))], x))


def tpr_at_fpr(pos: np.ndarray, neg: np.ndarray, fpr: float) -> float | None:
    """TPR of the attack "score > t" with t the lowest threshold whose false-positive rate on
    `neg` is at most `fpr` (ties count against the attacker); None when `neg` holds fewer
    than 1/fpr clips (such an FPR cannot be measured) or `pos` is empty."""
    if len(pos) == 0 or len(neg) < math.ceil(1 / fpr - 1e-9):
        return None
    allowed = int(math.floor(fpr * len(neg) + 1e-9))  # false positives tolerated
    t = np.sort(neg)[::-1][allowed]  # at most `allowed` negatives lie strictly above t
    return float(np.mean(pos > t))


def finite_loss(loss: np.ndarray) -> np.ndarray:
    """(N,) per-sample CE with NaN/inf (a diverged model) as the largest finite loss."""
    return _finite(loss)


def reference_score(loss: np.ndarray, gold_loss: np.ndarray) -> np.ndarray:
    """(N,) reference-attack scores CE_gold - CE_model in nats: > 0 where the model fits a
    clip better than the gold model, which never saw Df (NaN/inf losses as in `_finite`)."""
    return _finite(gold_loss) - _finite(loss)


def roc_curve(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) of the attack "score >= t" for every threshold t, from (0, 0) to (1, 1):
    `pos` (N1,) are the members' scores, `neg` (N0,) the non-members'. Empty arrays when a
    side is empty. Collinear points are dropped, so the curve stays small."""
    if len(pos) == 0 or len(neg) == 0:
        return np.zeros(0), np.zeros(0)
    from sklearn.metrics import roc_curve as sk_roc_curve

    labels = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    fpr, tpr, _ = sk_roc_curve(labels, np.r_[pos, neg], drop_intermediate=True)
    return fpr, tpr


def rates_at(pos: np.ndarray, neg: np.ndarray, threshold: float) -> tuple[int, int]:
    """(members flagged, non-members flagged) by the attack "score > threshold": the
    counts behind TPR (of len(pos)) and FPR (of len(neg))."""
    return int(np.sum(np.asarray(pos) > threshold)), int(np.sum(np.asarray(neg) > threshold))


def _subsample(idx: np.ndarray, n: int, seed: int) -> np.ndarray:
    if len(idx) <= n:
        return idx
    return np.sort(np.random.default_rng(seed).choice(idx, size=n, replace=False))


def audit_losses(
    losses: Mapping[str, np.ndarray],
    forget: np.ndarray,
    retain: np.ndarray,
    test: np.ndarray,
    attack_test: np.ndarray | None = None,
    seed: int = 0,
    gold: str = "retrain",
) -> dict[str, dict[str, float | None]]:
    """{model: checks} from each model's (M,) per-clip CE. `attack_test` are the test
    positions the forget clips are compared with (the forgotten classes' test clips in
    class unlearning, else all of `test`); the reference attack and KS need the gold
    model's losses (key `gold`) and are None without them."""
    attack_test = test if attack_test is None else attack_test
    ref = _finite(losses[gold]) if gold in losses else None
    dr = _subsample(retain, len(test), seed)
    out = {}
    for name, loss in losses.items():
        ce = _finite(loss)
        row: dict[str, float | None] = {
            f"tpr_at_{k}_fpr": tpr_at_fpr(-ce[forget], -ce[attack_test], f) for k, f in FPRS.items()
        }
        row["retain_mia_auc"] = auc(-ce[dr], -ce[test])
        if ref is not None:
            score = reference_score(ce, ref)
            row["rmia_auc"] = auc(score[forget], score[attack_test])
            for k, f in FPRS.items():
                row[f"rmia_tpr_at_{k}_fpr"] = tpr_at_fpr(score[forget], score[attack_test], f)
            from scipy.stats import ks_2samp

            row["ks_to_gold"] = float(ks_2samp(ce[forget], ref[forget]).statistic)
        out[name] = row
    return out


def small_set_notes(n_forget: int, n_attack_test: int) -> list[str]:
    """What the report says instead of an unstable number."""
    notes = []
    if min(n_forget, n_attack_test) < MIN_AUC_SIDE:
        notes.append(
            f"rmia_auc and mia_auc are not reported: {n_forget} forget and {n_attack_test} test clips to "
            f"compare, fewer than {MIN_AUC_SIDE} on a side give no stable AUC"
        )
    for k, f in FPRS.items():
        if n_attack_test < math.ceil(1 / f - 1e-9):
            notes.append(
                f"TPR at {k.replace('pct', '%')} FPR is not reported: it needs at least "
                f"{math.ceil(1 / f - 1e-9)} test clips, there are {n_attack_test}"
            )
    return notes


def _gap(u: Mapping, g: Mapping, key: str) -> float | None:
    a, b = u.get(key), g.get(key)
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)):
        return None
    return abs(float(a) - float(b))


def aggregate_gaps(unlearned: Mapping, gold: Mapping) -> dict[str, float | None]:
    """The two aggregates, with their parts: `utility` = mean |gap| over Dt and Dr
    accuracy; `forgetting` = mean |gap| over Df accuracy, the loss MIA, MIA-Efficacy and
    the reference attack's AUC; None where no part is defined."""
    out: dict[str, float | None] = {}
    for name, keys in (("utility", UTILITY), ("forgetting", FORGETTING)):
        parts = [g for k in keys if (g := _gap(unlearned, gold, k)) is not None]
        out[name] = float(np.mean(parts)) if parts else None
        out[f"{name}_parts"] = list(keys)
    return out


def noise_floor(gold: Mapping, n_forget: int, z: float = 2.0) -> float:
    """Without several gold seeds, the sampling noise of a Df rate (accuracy, MIA) under
    gold: z binomial standard errors, z * sqrt(p (1 - p) / n), at least 1 / n."""
    p = gold.get("forget_acc")
    p = 0.5 if p is None or not math.isfinite(p) else float(p)
    n = max(n_forget, 1)
    return max(z * math.sqrt(p * (1 - p) / n), 1.0 / n)


def over_unlearning(unlearned: Mapping, gold: Mapping, floor: float) -> bool:
    """Past gold in the direction a user would misread as success: Df accuracy lower than
    gold's, or the MIA (share of Df called non-member) higher, by more than `floor`."""
    fa, ga = unlearned.get("forget_acc"), gold.get("forget_acc")
    fm, gm = unlearned.get("mia"), gold.get("mia")
    low_acc = fa is not None and ga is not None and fa < ga - floor
    high_mia = fm is not None and gm is not None and fm > gm + floor
    return bool(low_acc or high_mia)


NOISE_METRICS = ("test_acc", "forget_acc", "retain_acc", "mia", "mia_efficacy", "rmia_auc")


def gold_noise(golds: list[Mapping]) -> dict | None:
    """The gold's own noise: golds[0] is the gold every gap is measured to, golds[1:] golds
    retrained with other seeds (same recipe and retain set). Per metric the mean |gap| of
    the other golds to golds[0] (the gap a method would have if it were a retrain itself),
    `avg` over Dt, Df, Dr and the loss MIA (as gap_to_retrain's avg), and the two
    aggregates; None with fewer than two golds."""
    if len(golds) < 2:
        return None
    ref, others = golds[0], golds[1:]

    def mean(values: list[float | None]) -> float | None:
        vals = [v for v in values if v is not None and math.isfinite(v)]
        return float(np.mean(vals)) if vals else None

    per = {k: mean([_gap(g, ref, k) for g in others]) for k in NOISE_METRICS}
    aggs = [aggregate_gaps(g, ref) for g in others]
    return {
        "k": len(golds),
        "per_metric": per,
        "avg": mean([gap_to_retrain(g, ref)["avg"] for g in others]),
        "utility": mean([a["utility"] for a in aggs]),
        "forgetting": mean([a["forgetting"] for a in aggs]),
    }


def within_noise(gaps: Mapping, noise: Mapping | None) -> bool | None:
    """True when both aggregates of a method's gaps (utility, forgetting) are no larger
    than the gold-vs-gold ones: "indistinguishable from retraining here"; None without a
    measured noise floor."""
    if not noise:
        return None
    pairs = [(gaps.get(k), noise.get(k)) for k in ("utility", "forgetting")]
    if any(a is None or b is None for a, b in pairs):
        return None
    return all(a <= b for a, b in pairs)


def floor_from_golds(noise: Mapping | None, binomial: float) -> float:
    """The over-unlearning floor: the binomial floor, or the gold-vs-gold gap in Df accuracy
    and MIA when that is larger."""
    if not noise:
        return binomial
    per = noise["per_metric"]
    vals = [v for v in (per.get("forget_acc"), per.get("mia")) if v is not None]
    return max([binomial, *vals])
