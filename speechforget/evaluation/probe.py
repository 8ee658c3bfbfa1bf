"""Linear probe on the embeddings: can the forgotten class, speaker or clips still be read
off the representation, even when the head no longer says them?

Alain & Bengio, "Understanding intermediate layers using linear classifier probes", 2016;
as an audit of unlearning below the head, cf. Pawelczyk et al., "Machine Unlearning Fails
to Remove Data Poisoning Attacks", 2024.

The probe is a logistic regression (L2, C = 1) on standardised per-clip embeddings (M, D),
scored by balanced accuracy: 0.5 = the positives cannot be told apart, 1.0 = perfectly
decodable. Two protocols (probe_for_split picks one from the split):

- held-out (class and speaker forgetting: the split has a `test_forgotten` mask): fit on
  Df (label 1) vs an equal number of retain clips (label 0); score on the test clips of
  the forgotten classes/speaker (1) vs an equal number of other test clips (0). "Is the
  forgotten class/speaker still a direction in the representation?"
- cross-validated (sample forgetting: no forgotten class in the test set): Df (1) vs an
  equal number of test clips (0), 5-fold CV over matched pairs, out-of-fold predictions
  scored. "Do the forgotten clips still look like training clips in the representation?"

Sides are balanced: both get min(positives, negative pool) clips (a seeded subsample of the
larger). Negatives follow the positives' label mix where the pool allows (for a speaker
in keyword spotting: the same keywords from other speakers, so the probe must find the
speaker, not the words; for a class, no clip of it is a negative: they are drawn at random);
the rest are drawn at random. The clips drawn depend on (split, labels, seed) only, never
on the embeddings: original, unlearned and gold are probed on the same clips. The gold
never trained on Df, yet its embeddings may still separate a class (a distinct word or
voice): its score is the reference level, and the ideal is "equal to gold".

None means "not measured": fewer than MIN_SIDE clips on a side (a class with almost no
test clips, a tiny forget set). Non-finite embeddings (a diverged model) count as 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from speechforget.evaluation.attacks import scaled_logistic

# scikit-learn is imported where it is used (see evaluation/attacks.py)

if TYPE_CHECKING:
    from speechforget.data.splits import Split

MIN_SIDE = 5  # fewer clips on a side and the score would be noise: None
CV_FOLDS = 5


def probe_accuracy(
    emb: np.ndarray,
    y: np.ndarray | None,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    positive_idx_train: np.ndarray,
    positive_idx_test: np.ndarray,
    seed: int = 0,
) -> float | None:
    """Held-out probe balanced accuracy (0.5 = not decodable), or None (too few clips).

    emb: (M, D) embeddings of every clip; y: (M,) labels the negatives are matched on
    (None: drawn at random). The probe is fit on positive_idx_train (label 1) vs negatives
    drawn from train_idx without them (label 0), and scored on positive_idx_test vs negatives
    drawn from test_idx without them; all are positions into emb. None when either set has
    fewer than MIN_SIDE positives or negative candidates.
    """
    feats, y = _check(emb, y)
    rng = np.random.default_rng(seed)
    train = _sides(positive_idx_train, train_idx, y, rng)
    test = _sides(positive_idx_test, test_idx, y, rng)
    if train is None or test is None:
        return None
    from sklearn.metrics import balanced_accuracy_score

    probe = _probe().fit(*_stack(feats, *train))
    x_test, labels = _stack(feats, *test)
    return float(balanced_accuracy_score(labels, probe.predict(x_test)))


def probe_cv(
    emb: np.ndarray,
    y: np.ndarray | None,
    positive_idx: np.ndarray,
    negative_idx: np.ndarray,
    seed: int = 0,
    folds: int = CV_FOLDS,
) -> float | None:
    """Cross-validated probe balanced accuracy of positive_idx (1) vs negatives drawn from
    negative_idx (0), or None when either has fewer than MIN_SIDE clips; emb and y as in
    probe_accuracy. Seeded folds of whole matched pairs (see _pair_folds); the out-of-fold
    predictions are scored."""
    feats, y = _check(emb, y)
    rng = np.random.default_rng(seed)
    sides = _sides(positive_idx, negative_idx, y, rng)
    if sides is None:
        return None
    x, labels = _stack(feats, *sides)
    fold = _pair_folds(*sides, y, min(folds, len(sides[0])), rng)  # (2n,)
    cv = [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in np.unique(fold)]
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import cross_val_predict

    pred = cross_val_predict(_probe(), x, labels, cv=cv)
    return float(balanced_accuracy_score(labels, pred))


def probe_for_split(emb: np.ndarray, y: np.ndarray, split: Split, seed: int = 0) -> float | None:
    """The report's `probe_acc` of one model: the held-out protocol when the split has a
    `test_forgotten` mask (class, speaker), else the cross-validated one (sample); see the
    module docstring. emb: (M, D) that model's embeddings of every task clip, y: (M,) labels.
    A class split whose test set holds fewer than MIN_SIDE forgotten clips gives None (the
    other protocol would answer another question)."""
    if split.test_forgotten is None:
        return probe_cv(emb, y, split.forget, split.test, seed)
    mask = np.asarray(split.test_forgotten, dtype=bool)
    return probe_accuracy(emb, y, split.retain, split.test, split.forget, split.test[mask], seed)


def matched_sample(
    pool: np.ndarray, like: np.ndarray, y: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    """len(like) distinct positions from `pool` (sorted): per label of y[like], as many pool
    clips of that label as `like` has (or all the pool has), the rest at random from what
    is left. y None: all at random. Needs len(pool) >= len(like)."""
    pool, like = np.unique(pool), np.asarray(like, dtype=np.int64)
    if len(pool) < len(like):
        raise ValueError(f"cannot draw {len(like)} negatives from a pool of {len(pool)} clips")
    chosen = [np.empty(0, dtype=np.int64)]
    if y is not None:
        for label, count in zip(*np.unique(y[like], return_counts=True)):
            same = pool[y[pool] == label]
            chosen.append(rng.choice(same, size=min(count, len(same)), replace=False))
    picked = np.concatenate(chosen)
    rest = np.setdiff1d(pool, picked)
    fill = rng.choice(rest, size=len(like) - len(picked), replace=False)
    return np.sort(np.concatenate([picked, fill]).astype(np.int64))


def _sides(
    positive: np.ndarray, candidates: np.ndarray, y: np.ndarray | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray] | None:
    """(positives, matched negatives) of equal size min(#positives, #candidates not positive),
    or None when that is below MIN_SIDE."""
    positive = np.unique(np.asarray(positive, dtype=np.int64))
    pool = np.setdiff1d(np.asarray(candidates, dtype=np.int64), positive)
    n = min(len(positive), len(pool))
    if n < MIN_SIDE:
        return None
    if len(positive) > n:
        positive = np.sort(rng.choice(positive, size=n, replace=False))
    return positive, matched_sample(pool, positive, y, rng)


def _pair_folds(
    positive: np.ndarray,
    negative: np.ndarray,
    y: np.ndarray | None,
    k: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(2n,) fold (0..k-1) of each clip of np.r_[positive, negative] (n each).

    Positives and negatives are paired, same label first (then the leftovers in order), and
    a pair shares a fold: every training fold keeps as many negatives as positives of each
    label. Leaving out single clips instead biases the score below chance (the held-out
    clip's label is over-represented on the other side of the training fold)."""
    n = len(positive)
    pair_p, pair_n = np.full(n, -1), np.full(n, -1)
    next_id = 0
    for label in np.unique(y[positive]) if y is not None else []:
        ip = np.flatnonzero(y[positive] == label)
        ineg = np.flatnonzero((y[negative] == label) & (pair_n < 0))
        m = min(len(ip), len(ineg))
        pair_p[ip[:m]] = pair_n[ineg[:m]] = np.arange(next_id, next_id + m)
        next_id += m
    left_p, left_n = np.flatnonzero(pair_p < 0), np.flatnonzero(pair_n < 0)
    pair_p[left_p] = pair_n[left_n] = np.arange(next_id, n)
    fold = rng.permutation(n) % k  # (n,) fold of each pair
    return np.r_[fold[pair_p], fold[pair_n]]


def _stack(
    feats: np.ndarray, positive: np.ndarray, negative: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(2n, D) features and (2n,) labels: 1 for the positives, 0 for the negatives."""
    labels = np.r_[np.ones(len(positive), dtype=np.int64), np.zeros(len(negative), np.int64)]
    return feats[np.r_[positive, negative]], labels


def _check(emb: np.ndarray, y: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
    """(M, D) float64 features with non-finite values set to 0, and y as an (M,) array."""
    emb = np.asarray(emb, dtype=np.float64)
    if emb.ndim != 2:
        raise ValueError(f"embeddings must be (clips, dims); got shape {emb.shape}")
    if y is not None:
        y = np.asarray(y).ravel()
        if len(y) != len(emb):
            raise ValueError(f"{len(y)} labels for {len(emb)} embeddings; give one per clip")
    return np.nan_to_num(emb, nan=0.0, posinf=0.0, neginf=0.0), y


def _probe():
    """Standardise, then an L2 logistic regression (deterministic lbfgs): a Pipeline."""
    return scaled_logistic(C=1.0, max_iter=2000)
