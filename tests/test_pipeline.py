"""End to end: the unlearn command and the report, on tiny data."""

import json

import numpy as np
import pytest
import soundfile as sf
from conftest import builtin_backbones

from speechforget.__main__ import main
from speechforget.config import ExperimentConfig
from speechforget.evaluation import MODEL_METRICS
from speechforget.models import state_hash
from speechforget.pipeline import run_experiment


def test_retrain_class_forgets_the_class(tiny_ctx):
    before = state_hash(tiny_ctx.original.model)
    res = run_experiment(
        # use_cache off: another test may have kept this gold already (then it has no history)
        ExperimentConfig(
            forget="class:up",
            method="retrain",
            method_overrides={"use_cache": "false"},
            device="cpu",
        ),
        ctx=tiny_ctx,
    )
    rep = res.report()
    assert set(rep["models"]) == {"original", "unlearned", "retrain"}
    for name in ("original", "unlearned", "retrain"):
        assert set(MODEL_METRICS) <= set(rep["models"][name])
    gold = rep["models"]["retrain"]
    assert gold["forget_acc"] < 0.05 and gold["test_forgotten_acc"] < 0.05
    assert rep["models"]["original"]["forget_acc"] > 0.9
    assert rep["gap_to_retrain"]["avg"] == 0.0  # the gold model is the unlearned one
    assert rep["history"] and {"step", "epoch", "forget_loss", "retain_loss", "elapsed_s"} == set(
        rep["history"][0]
    )
    assert state_hash(tiny_ctx.original.model) == before
    json.dumps(rep, allow_nan=False)


@pytest.mark.parametrize("backbone", builtin_backbones())  # ge2e-ft (8 min here): -m slow
def test_every_builtin_backbone_reports_every_metric(builtin_ctx, backbone, forget="class:up"):
    """Loss matching against the gold on each built-in backbone of the registry: every
    metric of every model, finite gaps, the class forgotten by the gold."""
    ctx = builtin_ctx(backbone)
    before = state_hash(ctx.original.model)
    cfg = ExperimentConfig(forget=forget, method="loss_match", device="cpu", seed=0)
    rep = run_experiment(cfg, ctx=ctx).report()
    for name in ("original", "unlearned", "retrain"):
        assert set(MODEL_METRICS) <= set(rep["models"][name])
    assert rep["models"]["original"]["test_acc"] > 0.5
    if forget.startswith("class"):
        assert rep["models"]["retrain"]["forget_acc"] < 0.2
    assert np.isfinite(rep["gap_to_retrain"]["avg"])
    assert state_hash(ctx.original.model) == before
    json.dumps(rep, allow_nan=False)


def test_none_keeps_the_original(tiny_ctx):
    res = run_experiment(
        ExperimentConfig(forget="sample:20", method="none", device="cpu"), ctx=tiny_ctx
    )
    rep = res.report()
    assert rep["models"]["unlearned"]["forget_acc"] == rep["models"]["original"]["forget_acc"]
    assert rep["models"]["unlearned"]["test_forgotten_acc"] is None
    np.testing.assert_allclose(
        res.evals["unlearned"].logits, res.evals["original"].logits, atol=1e-5
    )
    assert rep["gap_to_retrain"]["avg"] >= 0


def test_gold_is_cached(tiny_ctx):
    cfg = ExperimentConfig(forget="class:down", method="retrain", device="cpu")
    first = run_experiment(cfg, ctx=tiny_ctx)
    second = run_experiment(cfg, ctx=tiny_ctx)
    assert second.times["retrain"] == pytest.approx(first.times["retrain"], abs=1e-3)
    assert state_hash(second.models["retrain"]) == state_hash(first.models["retrain"])


def _write_folder(data, root):
    for i in range(len(data)):
        d = root / data.split[i] if data.split[i] != "unheard" else root / "test"
        path = (
            d
            / data.keyword_names[data.keyword[i]]
            / f"{data.speaker_names[data.speaker[i]]}_nohash_{i}.wav"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, data.waves[i], 16_000, subtype="PCM_16")


def test_cli_unlearn_retrain_on_a_folder(tiny_data, tmp_path, capsys):
    _write_folder(tiny_data, tmp_path / "clips")
    out = tmp_path / "report.json"
    rc = main(
        [
            "unlearn",
            "--task",
            "kws",
            "--backbone",
            "cnn",  # the folder path is what is tested: the CNN trains on it in seconds
            "--data",
            f"folder:{tmp_path / 'clips'}",
            "--forget",
            "class:up",
            "--method",
            "retrain",
            "--device",
            "cpu",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "retrain (gold)" in printed and "MIA" in printed
    rep = json.loads(out.read_text())
    assert rep["models"]["retrain"]["forget_acc"] < 0.05
    assert rep["config"]["forget"] == "class:up" and rep["config"]["method"] == "retrain"


def test_cli_bad_spec_is_a_clear_error(tiny_data, tmp_path, capsys, monkeypatch):
    import speechforget.pipeline as pipeline

    def no_training(*a, **k):
        raise AssertionError("an original was trained before the forget choice was checked")

    monkeypatch.setattr(pipeline, "load_original", no_training)
    _write_folder(tiny_data, tmp_path / "clips")
    rc = main(
        ["unlearn", "--data", f"folder:{tmp_path / 'clips'}", "--forget", "class:stpo", "--quiet"]
    )
    assert rc == 2
    assert "unknown class 'stpo'; choose from" in capsys.readouterr().err
