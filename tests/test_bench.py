"""The benchmark grid on the tiny data set: files written, a gold row, gaps and times."""

from __future__ import annotations

import csv
import json

import pytest

from speechforget.bench import (
    GOLD,
    NOISE_ROW,
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
            "10,11",
            "--golds",
            "2",
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
    models = {GOLD, "gold, seed +1", ORIGINAL, "finetune", "grad_ascent+sl"}
    assert {r["model"] for r in rows} == models
    assert len(rows) == 2 * 5
    assert len({r["forget"] for r in rows}) == 2, "two seeds, two distinct forget sets"
    result = json.loads((out / "results.json").read_text())
    gold = [s for s in result["summary"] if s["model"] == GOLD]
    assert gold and all(s["gap_avg"] == 0.0 and s["time_ratio"] == 1.0 for s in gold)
    runs = [r for r in result["runs"] if r["model"] == "finetune"]
    assert all(0 < r["time_ratio"] and r["steps"] > 0 for r in runs)
    md = (out / "results.md").read_text()
    assert f"| **{GOLD}** |" in md and "| finetune |" in md and "forgetting gap" in md
    assert f"| **{NOISE_ROW}** |" in md and "Noise floor (gold vs gold)" in md
    assert "--mode class" in md and "--golds 2" in md
    noise = [s for s in result["summary"] if s["model"] == NOISE_ROW]
    other = [r for r in result["runs"] if r["model"] == "gold, seed +1"]
    assert noise[0]["gap_avg"] == pytest.approx(sum(r["gap_avg"] for r in other) / 2)
    assert all(float(r["ks_to_gold"]) > 0 for r in other), "another seed, another gold"


def test_grid_specs_and_overrides(tiny_data):
    task = tiny_data.task("kws")
    cfg = BenchConfig(mode="sample", ratios=(1, 10), seeds=(0, 1))
    specs = list(forget_specs(cfg, task))
    assert [s[2] for s in specs] == ["sample:1", "sample:1", "sample:10", "sample:10"]
    cfg = BenchConfig(mode="class", classes=1, seeds=(10, 11, 12))
    specs = list(forget_specs(cfg, task))
    assert all(s[2].startswith("class:") and "_" not in s[2] for s in specs)
    assert len({s[2] for s in specs}) == 3, "distinct forget sets per seed"
    assert specs == list(forget_specs(cfg, task)), "the draw follows the seed"
    with pytest.raises(ValueError, match="would both forget"):
        list(forget_specs(BenchConfig(mode="class", seeds=(10, 11, 12, 13)), task))
    specs = list(forget_specs(BenchConfig(mode="speaker", seeds=(10, 11)), task))
    assert [s[0] for s in specs] == ["1 speaker"] * 2 and specs[0][2] != specs[1][2]
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


TIME_COLUMNS = ("time_s", "time_ratio")


def test_the_same_bench_twice_gives_the_same_rows(tiny_ctx, tmp_path, monkeypatch):
    """Determinism: two runs of one grid, each retraining its golds in a fresh store, give
    byte-identical CSVs apart from the time columns."""
    import dataclasses

    import speechforget.pipeline as pipeline
    from speechforget.bench_report import write_outputs
    from speechforget.bench_steps import run_bench
    from speechforget.store import Store

    cfg = BenchConfig(
        mode="sample",
        ratios=(10,),
        methods=("finetune", "loss_match"),
        seeds=(10, 11),
        golds=2,
        overrides={"epochs": "1"},
        device="cpu",
    )
    texts = []
    for run in ("a", "b"):
        ctx = dataclasses.replace(tiny_ctx, store=Store.of(tmp_path / f"store_{run}"))
        monkeypatch.setattr(pipeline, "prepare", lambda *a, ctx=ctx, **k: ctx)
        rows, info = run_bench(cfg, progress=False)
        for r in rows:
            for k in TIME_COLUMNS:
                r.pop(k, None)
        path = write_outputs(rows, info, tmp_path / run, figure=False)["csv"]
        texts.append(path.read_bytes())
    assert texts[0] == texts[1]
    assert b"gold, seed +1" in texts[0] and b"rmia_auc" in texts[0]
