"""The gold's own noise: gold_noise, the within-noise verdict, and how the app shows it."""

from __future__ import annotations

import pytest

from speechforget import noisefloor, report_text
from speechforget.evaluation import audit


def _m(test, forget, retain, mia, eff=0.5, rmia=0.5):
    return {
        "test_acc": test,
        "forget_acc": forget,
        "retain_acc": retain,
        "mia": mia,
        "mia_efficacy": eff,
        "rmia_auc": rmia,
    }


def test_gold_noise_is_the_other_golds_gap_to_gold_zero():
    g0 = _m(0.90, 0.90, 1.00, 0.60)
    g1 = _m(0.88, 0.86, 1.00, 0.64)  # gaps .02 .04 0 .04
    g2 = _m(0.92, 0.90, 0.98, 0.50)  # gaps .02 0 .02 .10
    noise = audit.gold_noise([g0, g1, g2])
    assert noise["k"] == 3
    assert noise["per_metric"]["forget_acc"] == pytest.approx(0.02)
    assert noise["per_metric"]["mia"] == pytest.approx(0.07)
    assert noise["avg"] == pytest.approx(((0.02 + 0.04 + 0 + 0.04) / 4 + 0.14 / 4) / 2)
    assert noise["utility"] == pytest.approx((0.01 + 0.02) / 2)
    assert audit.gold_noise([g0]) is None
    # a method as close as the other golds is indistinguishable; one further is not
    assert audit.within_noise({"utility": 0.01, "forgetting": 0.01}, noise) is True
    assert audit.within_noise({"utility": 0.01, "forgetting": 0.5}, noise) is False
    assert audit.within_noise({"utility": 0.01, "forgetting": 0.01}, None) is None
    assert audit.floor_from_golds(noise, 0.01) == pytest.approx(0.07)
    assert audit.floor_from_golds(None, 0.01) == 0.01


def test_the_app_shows_the_noise_floor_and_the_verdict():
    rep = {
        "models": {},
        "gap_to_retrain": {"avg": 0.02},
        "gaps": {"utility": 0.01, "forgetting": 0.03},
        "bench_noise": {"utility": 0.004, "forgetting": 0.05, "avg": 0.03, "k": 3, "sets": 5},
        "within_noise": False,
    }
    rows = {r[0]: r for r in report_text.table_rows(rep)}
    assert (
        rows[report_text.UTILITY_LABEL][4] == "1.0" and "0.4" in rows[report_text.UTILITY_LABEL][5]
    )
    assert (
        rows[report_text.FORGETTING_LABEL][4] == "3.0"
        and "5.0" in rows[report_text.FORGETTING_LABEL][5]
    )
    text = report_text.noise_verdict(rep)
    assert "beyond the gap between golds" in text and "the bench" in text
    rep["within_noise"] = True
    assert report_text.noise_verdict(rep).startswith("Indistinguishable from retraining here")
    rep["gold_noise"] = {**rep.pop("bench_noise"), "k": 2}
    assert "2 seeded golds of this forget set" in report_text.noise_verdict(rep)
    assert report_text.noise_verdict({"gaps": {}}) == ""


def test_a_run_gets_the_bench_floor_only_for_the_data_it_was_measured_on(tiny_ctx, monkeypatch):
    from speechforget.config import ExperimentConfig
    from speechforget.pipeline import run_experiment

    floor = {"utility": 0.5, "forgetting": 0.5, "avg": 0.5, "k": 3, "sets": 5}
    checksum = tiny_ctx.original.meta.get("data_checksum")
    for data_checksum, expected in ((checksum, True), ("another data set", False)):
        table = {"kws": {"class": {**floor, "data_checksum": data_checksum}}}
        monkeypatch.setattr(noisefloor, "_table", lambda t=table: t)
        cfg = ExperimentConfig(
            forget="class:yes", method="finetune", method_overrides={"epochs": "1"}, device="cpu"
        )
        rep = run_experiment(cfg, ctx=tiny_ctx).report()
        assert ("bench_noise" in rep) is expected
        if expected:
            gaps = rep["gaps"]
            inside = gaps["utility"] <= 0.5 and gaps["forgetting"] <= 0.5
            assert rep["within_noise"] is inside and "the bench" in report_text.noise_verdict(rep)
