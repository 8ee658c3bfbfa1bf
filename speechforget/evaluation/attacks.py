"""Black-box membership-inference attacks used to judge forgetting.

Each attack only sees one number per clip (its cross-entropy or its true-class
confidence), exactly as in the published protocols, so it needs no model and no
torch. All are deterministic given `seed` (the seed drives the random
subsampling and the cross-validation shuffles; the classifiers themselves are
deterministic).

Degenerate inputs never raise: an empty set gives NaN, and a feature that is the
same constant for members and non-members (the attack has nothing to learn
from) gives NaN for the two MIA scores and chance level (0.5) for the
forget-vs-test attack, whose ideal is exactly "cannot tell them apart".
Non-finite inputs (a diverged model) count as the worst possible fit: a NaN or
infinite loss becomes the largest finite feature, a NaN confidence becomes 0.
"""

from __future__ import annotations

import numpy as np

# scikit-learn is imported where it is used: it takes ~0.7 s, and the app serves its page
# before anything is evaluated (ui/startup.py imports it in the background)

EPS = 1e-300  # keeps log(loss) finite for perfectly fit clips (loss == 0); tiny, so that
# losses of 1e-20 and 1e-40 (margins of 46 and 92) stay apart
_LOG_MAX = float(np.log(np.finfo(np.float64).max))  # ~709.8, the feature of an infinite loss

NAN = float("nan")


def _loss_feature(loss: np.ndarray) -> np.ndarray:
    """(N,) per-sample CE -> (N, 1) feature log(loss + eps); losses are spread over
    orders of magnitude (1e-6 for memorised clips, ~1 for unseen ones), the log
    makes them linearly separable by a threshold."""
    loss = np.asarray(loss, dtype=np.float64).ravel()
    loss = np.where(np.isnan(loss), np.inf, np.maximum(loss, 0.0))
    with np.errstate(over="ignore"):
        feat = np.log(loss + EPS)
    return np.minimum(feat, _LOG_MAX)[:, None]


def _conf_feature(conf: np.ndarray) -> np.ndarray:
    """(N,) true-class confidence p_y -> (N, 1) feature clipped to 0..1 (NaN -> 0)."""
    conf = np.asarray(conf, dtype=np.float64).ravel()
    return np.clip(np.nan_to_num(conf, nan=0.0), 0.0, 1.0)[:, None]


def _subsample(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """At most `n` rows of x, drawn without replacement (all rows, in order, if fewer)."""
    if len(x) <= n:
        return x
    return x[np.sort(rng.choice(len(x), size=n, replace=False))]


def _shadow_set(
    members: np.ndarray, non_members: np.ndarray, rng: np.random.Generator, cap: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Balanced attack training set: members (label 1) subsampled to the size of the
    non-members (label 0), both capped at `cap` rows. Returns X (M, 1), labels (M,)."""
    n_non = len(non_members) if cap is None else min(len(non_members), cap)
    non_members = _subsample(non_members, n_non, rng)
    members = _subsample(members, n_non, rng)
    x = np.concatenate([members, non_members])
    labels = np.concatenate([np.ones(len(members)), np.zeros(len(non_members))]).astype(int)
    return x, labels


def _fraction_non_member(clf, x_shadow, y_shadow, x_forget: np.ndarray) -> float:
    """Fit the attack on the shadow set, return the fraction of Df it calls non-member."""
    if len(x_shadow) == 0 or len(x_forget) == 0 or y_shadow.min() == y_shadow.max():
        return NAN  # an empty side: nothing to fit or nothing to judge
    if np.ptp(x_shadow) == 0:
        return NAN  # members and non-members share one constant value: no attack exists
    clf.fit(x_shadow, y_shadow)
    return float(np.mean(clf.predict(x_forget) == 0))


def mia_loss_attack(
    loss_retain: np.ndarray, loss_test: np.ndarray, loss_forget: np.ndarray, seed: int = 0
) -> float:
    """The paper's loss-based black-box MIA: fraction (0..1) of Df called non-member.

    Cheng & Amiri, "Speech Unlearning" (2025), Table 1 "MIA", following the
    loss-threshold attacks in the SCRUB (Kurmanji et al., NeurIPS 2023) and SalUn
    (Fan et al., ICLR 2024) code: a balanced logistic regression on log(CE) is fit
    on Dr members (label 1, seeded subsample to |Dt|) vs Dt non-members (label 0),
    then applied to Df. Higher means Df looks more unseen; the original model scores
    low, and the target is the retrained gold model's value, not 1.

    loss_retain (Nr,), loss_test (Nt,), loss_forget (Nf,): per-sample CE in nats.
    """
    clf, x, labels = _loss_attack(loss_retain, loss_test, seed)
    return _fraction_non_member(clf, x, labels, _loss_feature(loss_forget))


def _loss_attack(loss_retain: np.ndarray, loss_test: np.ndarray, seed: int):
    """(unfitted attack, shadow features, labels) of the paper's loss MIA."""
    rng = np.random.default_rng(seed)
    x, labels = _shadow_set(_loss_feature(loss_retain), _loss_feature(loss_test), rng, None)
    return scaled_logistic(class_weight="balanced"), x, labels


def scaled_logistic(**kw):
    """An unfitted Pipeline: standardise, then LogisticRegression(**kw)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(**kw))


def member_probability(
    loss_retain: np.ndarray, loss_test: np.ndarray, loss: np.ndarray | float, seed: int = 0
) -> np.ndarray | float:
    """P(member) of clips under the paper's loss MIA (`mia_loss_attack`, fit the same way on
    Dr vs Dt), for clips it did not see: near 1, the model treats a clip like its training
    data; near 0, like an unseen clip. `loss` is one CE or an (N,) array of them; NaN when a
    side has fewer than 2 clips, 0.5 when every shadow loss is the same constant."""
    single = np.ndim(loss) == 0
    clf, x, labels = _loss_attack(loss_retain, loss_test, seed)
    n = len(np.atleast_1d(loss))
    if min(np.sum(labels == 1), np.sum(labels == 0)) < 2:
        out = np.full(n, NAN)
    elif np.ptp(x) == 0:
        out = np.full(n, 0.5)
    else:
        clf.fit(x, labels)
        out = clf.predict_proba(_loss_feature(np.atleast_1d(loss)))[:, 1]
    return float(out[0]) if single else out


def mia_efficacy(
    conf_retain: np.ndarray,
    conf_test: np.ndarray,
    conf_forget: np.ndarray,
    seed: int = 0,
    max_per_side: int = 2000,
) -> float:
    """MIA-Efficacy: fraction (0..1) of Df an SVC on the confidence calls non-member.

    Jia et al., "Model Sparsity Can Simplify Machine Unlearning" (NeurIPS 2023), as
    implemented in SalUn's `evaluation/SVC_MIA.py` (Fan et al., ICLR 2024):
    `SVC(kernel="rbf", C=3, gamma="auto")` on p_y, fit on Dr members (label 1) vs Dt
    non-members (label 0), equal sizes, then `1 - mean(predict(Df))`. Both sides are
    capped at `max_per_side` seeded samples because an RBF SVC is quadratic in size.
    Higher means Df looks more unseen; the target is the gold model's value.

    conf_retain (Nr,), conf_test (Nt,), conf_forget (Nf,): true-class probabilities.
    """
    rng = np.random.default_rng(seed)
    x, labels = _shadow_set(_conf_feature(conf_retain), _conf_feature(conf_test), rng, max_per_side)
    from sklearn.svm import SVC

    clf = SVC(kernel="rbf", C=3, gamma="auto")
    return _fraction_non_member(clf, x, labels, _conf_feature(conf_forget))


def forget_vs_test_attack(
    loss_forget: np.ndarray, loss_test: np.ndarray, seed: int = 0, n_splits: int = 10
) -> dict[str, float]:
    """Can an attacker tell forget clips from unseen clips by their loss? Ideal 0.5.

    After `simple_mia` in the NeurIPS 2023 Machine Unlearning Challenge starter kit:
    logistic regression on log(CE), Df (label 1) vs an equal-size seeded sample of
    Dt (label 0) (the larger side is subsampled). Stratified k-fold CV with
    k = min(n_splits, samples per side), k >= 2, instead of the kit's shuffle-split;
    accuracy and ROC-AUC are computed on each held-out fold and averaged. (An AUC
    over pooled out-of-fold scores is biased below 0.5 when the two sides do not
    differ - fold models that flip direction anti-correlate - which would make a
    gold model look better than ideal.)

    loss_forget (Nf,), loss_test (Nt,): per-sample CE in nats.
    Returns {"cv_acc": float, "auc": float}; NaN for both with fewer than 2 samples
    per side, 0.5 for both when every loss is the same constant.
    """
    rng = np.random.default_rng(seed)
    forget, test = _loss_feature(loss_forget), _loss_feature(loss_test)
    n = min(len(forget), len(test))
    if n < 2:
        return {"cv_acc": NAN, "auc": NAN}
    x = np.concatenate([_subsample(forget, n, rng), _subsample(test, n, rng)])
    labels = np.repeat([1, 0], n)
    if np.ptp(x) == 0:
        return {"cv_acc": 0.5, "auc": 0.5}
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    cv = StratifiedKFold(n_splits=max(2, min(n_splits, n)), shuffle=True, random_state=seed)
    clf = scaled_logistic()
    accs, aucs = [], []
    for train_idx, test_idx in cv.split(x, labels):
        clf.fit(x[train_idx], labels[train_idx])
        scores = clf.decision_function(x[test_idx])
        accs.append(np.mean((scores > 0).astype(int) == labels[test_idx]))
        aucs.append(roc_auc_score(labels[test_idx], scores))
    return {"cv_acc": float(np.mean(accs)), "auc": float(np.mean(aucs))}
