"""Evaluation core: metrics against hand computations, attacks on known distributions,
the per-model report, gaps to gold and the text summary."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from speechforget.evaluation import (
    GAP_METRICS,
    MODEL_METRICS,
    accuracy,
    confidence,
    confusion_matrix,
    forget_vs_test_attack,
    gap_to_retrain,
    mia_efficacy,
    mia_loss_attack,
    model_metrics,
    per_class_accuracy,
    per_class_table,
    per_sample_ce,
    softmax,
)
from speechforget.report_text import MIA_AUC_LEGEND, MIA_LEGEND
from speechforget.report_text import summary as format_summary

# ---------------------------------------------------------------- metrics


def test_per_sample_ce_matches_hand_computation():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    y = np.array([0, 2])
    denom = math.exp(1) + math.exp(2) + math.exp(3)
    expected = [-math.log(math.exp(1) / denom), math.log(3)]
    np.testing.assert_allclose(per_sample_ce(logits, y), expected, rtol=1e-12)
    np.testing.assert_allclose(confidence(logits, y), [math.exp(1) / denom, 1 / 3], rtol=1e-12)
    np.testing.assert_allclose(softmax(logits).sum(axis=1), 1.0)


def test_per_sample_ce_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0], [0.0, 1000.0]])
    ce = per_sample_ce(logits, np.array([0, 0]))
    np.testing.assert_allclose(ce, [0.0, 1000.0], atol=1e-9)
    assert np.all(np.isfinite(softmax(logits * 10)))


def test_accuracy_and_confusion_on_tiny_example():
    y = np.array([0, 0, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0])
    assert accuracy(pred, y) == pytest.approx(3 / 5)
    logits = np.eye(3)[pred] * 5.0  # argmax == pred
    assert accuracy(logits, y) == pytest.approx(3 / 5)
    cm = confusion_matrix(pred, y, num_classes=4)
    assert cm.dtype == np.int64 and cm.shape == (4, 4)
    expected = np.zeros((4, 4), int)
    expected[0, 0], expected[0, 1], expected[1, 1], expected[2, 0] = 1, 1, 2, 1
    np.testing.assert_array_equal(cm, expected)
    pca = per_class_accuracy(pred, y, num_classes=4)
    np.testing.assert_allclose(pca[:3], [0.5, 1.0, 0.0])
    assert np.isnan(pca[3])  # class 3 has no clips
    assert math.isnan(accuracy(np.zeros(0, int), np.zeros(0, int)))


def test_metrics_reject_bad_inputs():
    with pytest.raises(ValueError, match="labels"):
        per_sample_ce(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="shape"):
        accuracy(np.zeros(3, int), np.zeros(2, int))


def test_per_class_table():
    rows = per_class_table(np.eye(3)[[0, 1, 1]], np.array([0, 1, 0]), ["yes", "no", "up"])
    assert rows[0] == {"class": "yes", "n": 2, "accuracy": 0.5}
    assert rows[2] == {"class": "up", "n": 0, "accuracy": None}


# ---------------------------------------------------------------- attacks


def test_forget_vs_test_auc_near_half_on_identical_distributions():
    aucs = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        out = forget_vs_test_attack(rng.exponential(1, 500), rng.exponential(1, 500), seed=seed)
        aucs.append(out["auc"])
        assert 0.0 <= out["cv_acc"] <= 1.0
    assert abs(np.mean(aucs) - 0.5) < 0.08


def test_forget_vs_test_auc_near_one_on_separable_losses():
    rng = np.random.default_rng(0)
    out = forget_vs_test_attack(rng.exponential(1e-3, 300), rng.exponential(1.0, 400), seed=0)
    assert out["auc"] > 0.95 and out["cv_acc"] > 0.9


def test_forget_vs_test_degenerate_and_deterministic():
    assert all(math.isnan(v) for v in forget_vs_test_attack([0.1], [0.2, 0.3]).values())
    assert forget_vs_test_attack([1.0, 1.0, 1.0], [1.0, 1.0]) == {"cv_acc": 0.5, "auc": 0.5}
    rng = np.random.default_rng(1)
    a, b = rng.exponential(1, 80), rng.exponential(2, 120)
    assert forget_vs_test_attack(a, b, seed=3) == forget_vs_test_attack(a, b, seed=3)
    assert math.isfinite(forget_vs_test_attack([0.1, np.inf, np.nan], [0.2, 0.3])["auc"])


def _member_losses(rng, n):  # a model that memorised its training clips
    return rng.exponential(1e-4, n)


def test_mia_loss_attack_directions():
    rng = np.random.default_rng(0)
    retain, test = _member_losses(rng, 2000), rng.exponential(1.0, 400)
    unseen_like = mia_loss_attack(retain, test, rng.exponential(1.0, 300), seed=0)
    member_like = mia_loss_attack(retain, test, _member_losses(rng, 300), seed=0)
    assert unseen_like > 0.9 and member_like < 0.1
    assert mia_loss_attack(retain, test, test[:50], seed=5) == mia_loss_attack(
        retain, test, test[:50], seed=5
    )


def test_mia_efficacy_directions():
    rng = np.random.default_rng(1)
    retain, test = np.exp(-_member_losses(rng, 3000)), np.exp(-rng.exponential(1.0, 2500))
    unseen_like = mia_efficacy(retain, test, np.exp(-rng.exponential(1.0, 300)), seed=0)
    member_like = mia_efficacy(retain, test, np.exp(-_member_losses(rng, 300)), seed=0)
    assert unseen_like > 0.8 and member_like < 0.1


def test_mia_degenerate_inputs_give_nan():
    assert math.isnan(mia_loss_attack(np.ones(5), np.ones(5), np.ones(3)))
    assert math.isnan(mia_loss_attack([], [1.0, 2.0], [1.0]))
    assert math.isnan(mia_efficacy([0.9, 0.8], [0.2, 0.1], []))


# ---------------------------------------------------------------- report


def _synthetic(rng, n_correct: dict[str, tuple[int, int]], margin: dict[str, float]):
    """Logits (M, 3) where set s has n_correct[s] = (correct, wrong) clips, with
    per-set confidence margins so that the attacks have something to see."""
    logits, y, idx, start = [], [], {}, 0
    for name, (right, wrong) in n_correct.items():
        n = right + wrong
        labels = rng.integers(0, 3, n)
        top = np.where(np.arange(n) < right, labels, (labels + 1) % 3)
        z = rng.normal(0, 0.1, (n, 3))
        z[np.arange(n), top] += margin[name] * rng.uniform(0.5, 1.5, n)
        logits.append(z), y.append(labels)
        idx[name] = np.arange(start, start + n)
        start += n
    return np.concatenate(logits), np.concatenate(y), idx


def test_model_metrics_sample_mode():
    rng = np.random.default_rng(0)
    counts = {"forget": (18, 2), "retain": (60, 0), "test": (35, 15)}
    logits, y, idx = _synthetic(rng, counts, {"forget": 12.0, "retain": 12.0, "test": 2.0})
    m = model_metrics(logits, y, idx["forget"], idx["retain"], idx["test"], seed=0)
    assert set(m) == set(MODEL_METRICS) | {"mia_cv_acc"}
    assert m["forget_acc"] == pytest.approx(0.9)
    assert m["retain_acc"] == pytest.approx(1.0)
    assert m["test_acc"] == pytest.approx(0.7)
    assert m["test_forgotten_acc"] is None and m["test_retained_acc"] is None
    for key, value in m.items():
        if value is not None:
            assert type(value) is float and 0.0 <= value <= 1.0, key
    assert m["mia"] < 0.3  # forget clips still look like members
    json.dumps(m, allow_nan=False)


def test_model_metrics_class_mode():
    rng = np.random.default_rng(1)
    counts = {"forget": (0, 30), "retain": (50, 0), "test": (40, 20)}
    logits, y, idx = _synthetic(rng, counts, {"forget": 3.0, "retain": 8.0, "test": 3.0})
    mask = np.arange(60) >= 40  # the 20 wrong test clips are the forgotten class
    m = model_metrics(logits, y, idx["forget"], idx["retain"], idx["test"], mask, seed=0)
    assert m["forget_acc"] == 0.0 and m["retain_acc"] == 1.0
    assert m["test_forgotten_acc"] == 0.0 and m["test_retained_acc"] == 1.0
    assert m["test_acc"] == pytest.approx(40 / 60)
    assert m["mia"] > 0.8  # wrong, high-loss forget clips look unseen
    with pytest.raises(ValueError, match="test_forgotten_mask"):
        model_metrics(logits, y, idx["forget"], idx["retain"], idx["test"], mask[:5])


def test_gap_to_retrain_skips_missing():
    unlearned = {"test_acc": 0.9, "forget_acc": 0.5, "retain_acc": 0.99, "mia": None}
    gold = {"test_acc": 0.95, "forget_acc": 0.2, "retain_acc": 0.99, "mia": 0.4}
    gaps = gap_to_retrain(unlearned, gold)
    assert set(gaps) == set(GAP_METRICS) | {"avg"}
    assert gaps["test_acc"] == pytest.approx(0.05) and gaps["mia"] is None
    assert gaps["avg"] == pytest.approx((0.05 + 0.3 + 0.0) / 3)
    assert gap_to_retrain({}, gold)["avg"] is None


def _report(with_retrain: bool) -> dict:
    base = {k: 0.5 for k in MODEL_METRICS} | {"test_forgotten_acc": None, "test_retained_acc": None}
    models = {
        "original": base | {"forget_acc": 0.974, "mia": 0.173},
        "unlearned": base | {"forget_acc": 0.953, "mia": 0.405, "time_s": 30.0},
        "retrain": (base | {"forget_acc": 0.96, "mia": 0.45, "time_s": 120.0})
        if with_retrain
        else None,
    }
    return {
        "config": {"method": "salun", "forget": {"mode": "sample", "ratio": 0.05}},
        "models": models,
        "history": [{"step": 1}],
    }


def test_format_summary_with_gold():
    report = _report(with_retrain=True)
    report["gap_to_retrain"] = gap_to_retrain(
        report["models"]["unlearned"], report["models"]["retrain"]
    )
    text = format_summary(report)
    assert MIA_LEGEND in text and MIA_AUC_LEGEND in text
    assert "retrain (gold)" in text and "|gap|" in text
    assert "97.4" in text and "40.5" in text and "0.500" in text
    assert "0.25" in text  # time ratio 30 / 120
    assert "forgotten classes" not in text  # all None in sample mode: row dropped
    assert "forget.mode='sample'" in text


def test_format_summary_without_gold():
    text = format_summary(_report(with_retrain=False))
    assert MIA_LEGEND in text and "no retrained gold model" in text
    assert "|gap|" not in text and "retrain (gold)" not in text
