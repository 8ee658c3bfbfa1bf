"""The benchmark grid on the tiny data set: files written, a gold row, gaps and times."""

from __future__ import annotations

import csv
import json

import pytest

from speechforget.bench import (
    GOLD,
    ORIGINAL,
    BenchConfig,
    forget_specs,
    method_overrides,
    parse_methods,
)


@pytest.fixture
def tiny_prepare(monkeypatch, tiny_ctx):
    import speechforget.pipeline as pipeline

    monkeypatch.setattr(pipeline, "prepare", lambda *a, **k: tiny_ctx)
    return tiny_ctx


def test_bench_writes_every_file_with_a_gold_row(tiny_prepare, tmp_path):
    from speechforget.__main__ import main

    out = tmp_path / "bench"
    rc = main(
        [
            "bench",
            "--task",
            "kws",
            "--mode",
            "class",
            "--methods",
            "finetune,grad_ascent+sl",
            "--seeds",
            "0,1",
            "--set",
            "epochs=1",
            "--set",
            "finetune.lr=1e-4",
            "--device",
            "cpu",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == 0
    for ext in ("csv", "json", "md", "html"):
        assert (out / f"results.{ext}").stat().st_size > 0
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert {r["model"] for r in rows} == {GOLD, ORIGINAL, "finetune", "grad_ascent+sl"}
    assert len(rows) == 2 * 4
    result = json.loads((out / "results.json").read_text())
    gold = [s for s in result["summary"] if s["model"] == GOLD]
    assert gold and all(s["gap_avg"] == 0.0 and s["time_ratio"] == 1.0 for s in gold)
    runs = [r for r in result["runs"] if r["model"] == "finetune"]
    assert all(0 < r["time_ratio"] and r["steps"] > 0 for r in runs)
    md = (out / "results.md").read_text()
    assert f"| **{GOLD}** |" in md and "| finetune |" in md and "avg gap to gold" in md
    assert "--mode class" in md


def test_grid_specs_and_overrides():
    cfg = BenchConfig(mode="sample", ratios=(1, 10), seeds=(0, 1))
    specs = list(forget_specs(cfg, ["yes", "no"]))
    assert [s[2] for s in specs] == ["sample:1", "sample:1", "sample:10", "sample:10"]
    cfg = BenchConfig(mode="class", classes=1, seeds=(0, 1, 2))
    names = ["yes", "no", "up", "down", "_silence_", "_unknown_"]
    specs = list(forget_specs(cfg, names))
    assert all(s[2].startswith("class:") and "_" not in s[2] for s in specs)
    assert specs == list(forget_specs(cfg, names)), "the draw follows the seed"
    assert method_overrides(
        "scrub+sl", {"lr": "1", "scrub.T": "2", "msteps": "3", "mask_ratio": "1", "sl_lambda": "2"}
    ) == {"lr": "1", "T": "2", "msteps": "3", "sl_lambda": "2"}
    assert "scrub+sl" in parse_methods("all,scrub+sl") and "retrain" not in parse_methods("all")
    with pytest.raises(ValueError, match="choose one of"):
        parse_methods("scrb")


def test_bench_figure_marks_gold():
    from speechforget.viz.bench import bench_figure

    summary = [
        {
            "setting": s,
            "model": m,
            "forget_acc": f,
            "test_acc": 0.9,
            "forget_acc_std": 0.01,
            "test_acc_std": None,
        }
        for s in ("1%", "10%")
        for m, f in ((GOLD, 0.9), (ORIGINAL, 1.0), ("scrub", 0.95))
    ]
    fig = bench_figure(summary, title="kws")
    gold = [t for t in fig.data if t.name == GOLD]
    assert len(gold) == 2 and gold[0].marker.symbol == "star"
    assert len(fig.data) == 6 and fig.data[2].x[0] == 95.0
