"""The checks beyond the paper (speechforget.evaluation.audit) and their report keys."""

from __future__ import annotations

import numpy as np
import pytest

from speechforget.evaluation import audit


def test_auc_refuses_small_sets_and_reads_separation():
    rng = np.random.default_rng(0)
    assert audit.auc(np.ones(5), np.zeros(50)) is None
    assert audit.auc(np.ones(30), np.ones(30)) == 0.5
    assert audit.auc(rng.normal(3, 1, 200), rng.normal(0, 1, 200)) > 0.95
    same = audit.auc(rng.normal(0, 1, 400), rng.normal(0, 1, 400))
    assert abs(same - 0.5) < 0.06


def test_tpr_at_fpr_by_hand():
    neg = np.arange(100.0)  # at 1% FPR one negative (99) may lie above the threshold 98
    assert audit.tpr_at_fpr(np.array([99.5, 50.0, 100.5]), neg, 0.01) == pytest.approx(2 / 3)
    assert audit.tpr_at_fpr(np.array([99.5]), neg, 0.001) is None  # needs 1000 negatives
    assert audit.tpr_at_fpr(np.array([]), neg, 0.01) is None
    assert audit.tpr_at_fpr(np.full(10, 98.0), neg, 0.01) == 0.0  # ties count against


def test_the_gold_is_the_reference_and_a_memorising_model_is_caught():
    rng = np.random.default_rng(1)
    m = 600
    forget, retain, test = np.arange(0, 100), np.arange(100, 400), np.arange(400, 600)
    gold = rng.gamma(2.0, 0.5, m)
    memorised = gold.copy()
    memorised[forget] = gold[forget] * 0.01  # fits Df far better than a model that never saw it
    rows = audit.audit_losses({"original": memorised, "retrain": gold}, forget, retain, test)
    assert rows["retrain"]["rmia_auc"] == 0.5 and rows["retrain"]["ks_to_gold"] == 0.0
    assert rows["original"]["rmia_auc"] > 0.9 and rows["original"]["ks_to_gold"] > 0.5
    assert rows["original"]["rmia_tpr_at_1pct_fpr"] > 0.5
    assert rows["original"]["rmia_tpr_at_0.1pct_fpr"] is None  # 200 test clips
    assert abs(rows["retrain"]["retain_mia_auc"] - 0.5) < 0.1
    no_gold = audit.audit_losses({"original": memorised}, forget, retain, test)
    assert "rmia_auc" not in no_gold["original"] and "tpr_at_1pct_fpr" in no_gold["original"]


def test_aggregates_noise_floor_and_over_unlearning():
    gold = {"test_acc": 0.9, "retain_acc": 1.0, "forget_acc": 0.9, "mia": 0.5, "mia_efficacy": 0.3}
    unl = {"test_acc": 0.8, "retain_acc": 0.9, "forget_acc": 0.7, "mia": 0.9, "mia_efficacy": 0.3}
    gaps = audit.aggregate_gaps(unl, gold)
    assert gaps["utility"] == pytest.approx(0.1) and gaps["forgetting"] == pytest.approx(0.2)
    assert gaps["forgetting_parts"] == ["forget_acc", "mia", "mia_efficacy", "rmia_auc"]
    floor = audit.noise_floor(gold, 100)
    assert floor == pytest.approx(2 * np.sqrt(0.9 * 0.1 / 100))
    assert audit.over_unlearning(unl, gold, floor)
    assert not audit.over_unlearning(gold, gold, floor)
    assert audit.noise_floor({"forget_acc": 0.0}, 50) == pytest.approx(1 / 50)


def test_the_report_carries_the_audit_keys(tiny_ctx):
    from speechforget.config import ExperimentConfig
    from speechforget.pipeline import run_experiment

    cfg = ExperimentConfig(forget="sample:30", method="finetune", device="cpu")
    rep = run_experiment(cfg, ctx=tiny_ctx).report()
    for m in ("original", "unlearned", "retrain"):
        assert {"rmia_auc", "ks_to_gold", "retain_mia_auc", "tpr_at_1pct_fpr"} <= rep["models"][
            m
        ].keys()
    assert rep["models"]["retrain"]["ks_to_gold"] == 0.0
    assert {"utility", "forgetting"} <= rep["gaps"].keys()
    assert isinstance(rep["over_unlearning"], bool) and rep["noise_floor"]["value"] > 0
    assert any("0.1% FPR" in n for n in rep["audit_notes"])  # the tiny test set is small
    assert rep["relearn"]["steps"] == [0, 5, 10, 25, 50]
    assert len(rep["relearn"]["unlearned"]) == len(rep["relearn"]["retrain"]) == 5
    assert all("probe_acc" in rep["models"][m] for m in ("original", "unlearned", "retrain"))
