"""Cost that does not depend on load: work counts (engine/work.py), the conditions of a
wall time and contention (engine/conditions.py), the gold's key, work and budget, and
compute_ratio in the report and the bench rows (speechforget/cost.py)."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from speechforget import cost, report_text
from speechforget.config import ExperimentConfig, TrainConfig
from speechforget.data import make_split
from speechforget.engine import Work, fit, split_shares, unlearn
from speechforget.engine.conditions import Probe, is_contended, timing_key
from speechforget.methods import METHODS, unlearn_data
from speechforget.training import Trained, gold_key, gold_run, gold_work, retrain_gold


def _run(ctx, name: str, spec: str = "class:yes", **overrides):
    """(method, split, RunResult) of one method on a copy of the tiny original (CPU)."""
    from speechforget.methods import trainable_copy

    split = make_split(ctx.task, spec, 0)
    method = METHODS.build(name, split.mode, {k: str(v) for k, v in overrides.items()}, False)
    model = trainable_copy(ctx.original.model)
    run = unlearn(model, method, unlearn_data(ctx, split), method.train_config(device="cpu"))
    return method, split, run


# ---- work counts ---------------------------------------------------------------------------


def test_gradient_ascent_work_is_forget_clips_times_epochs(tiny_ctx):
    _, split, run = _run(tiny_ctx, "grad_ascent", epochs=3)
    n = 3 * len(split.forget)
    assert (run.work.forward, run.work.backward, run.work.units) == (n, n, 3 * n)


def test_scrub_counts_its_teacher_forwards_once(tiny_ctx):
    # one max epoch over Df, then 2 min epochs over Dr; the teacher runs beside the student
    # on every batch (forward only): a frozen copy of a watched model is counted once
    _, split, run = _run(tiny_ctx, "scrub", epochs=2, msteps=1)
    student = len(split.forget) + 2 * len(split.retain)
    assert run.work.backward == student
    assert run.work.forward == 2 * student


def test_bad_teaching_counts_both_teachers_once(tiny_ctx):
    method, split, run = _run(tiny_ctx, "bad_teaching", epochs=2)
    n = len(split.forget) + len(method.subset)
    assert run.work.backward == 2 * n  # the student, every epoch
    assert run.work.forward == 2 * n + n  # + each teacher's logits, computed once in setup


def test_loss_matching_counts_the_frozen_prefix_once(tiny_ctx):
    e, k = 3, 2
    method, split, run = _run(tiny_ctx, "loss_match", epochs=e, frozen_blocks=k, refresh_every=0)
    front, rest = split_shares(tiny_ctx.original.model, k, tiny_ctx.x[:1])
    assert 0 < front < 1 and front + rest == pytest.approx(1.0)
    c = method.cfg
    nf, nr, nv = len(split.forget), len(method.pool), len(split.val)
    # each forget batch is paired with a full retain batch drawn from the pool
    epoch = nf + math.ceil(nf / c.batch_size) * (c.retain_batch_size or c.batch_size)
    # prefix: once over forget + retain pool + val; rest: the original's forget losses, the
    # reference losses, then every step
    assert run.work.forward == pytest.approx(front * (nf + nr + nv) + rest * (nf + nv + e * epoch))
    assert run.work.backward == pytest.approx(rest * e * epoch)
    # the same run without a frozen prefix runs the whole model at every step: more work
    _, _, whole = _run(tiny_ctx, "loss_match", epochs=e, frozen_blocks=0, refresh_every=0)
    assert whole.work.backward == e * epoch and whole.work.units > run.work.units


def test_split_shares_grow_with_the_prefix(tiny_ctx):
    shares = [split_shares(tiny_ctx.original.model, k, tiny_ctx.x[:1])[0] for k in range(5)]
    assert shares[0] == 0 and all(a < b for a, b in zip(shares, shares[1:]))
    assert shares[-1] == pytest.approx(1.0, abs=1e-3)  # the head's FLOPs are a rounding error


def test_fit_work_is_epochs_times_clips():
    from speechforget.models import build_model
    from speechforget.models.cnn import CNN_SPEC

    x, y = torch.randn(20, 1, 40, 101), torch.randint(0, 3, (20,))
    run = fit(
        build_model({**CNN_SPEC, "num_classes": 3}), x, y, TrainConfig(epochs=2, device="cpu")
    )
    assert run.work == Work(forward=40, backward=40) and run.work.units == 120
    assert run.conditions["device"] == "cpu" and run.conditions["threads"] >= 1


# ---- the gold: key, work, conditions ---------------------------------------------------------


def _legacy_key(original: Trained, retain: np.ndarray) -> str:
    """gold_key before conditions were added (the shipped golds' file names)."""
    meta = original.meta
    key = {
        "spec": original.model.spec(),
        **{k: meta.get(k) for k in ("recipe", "data_checksum", "task")},
    }
    h = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode())
    h.update(np.ascontiguousarray(np.sort(retain)).tobytes())
    return h.hexdigest()[:20]


def test_gold_key_holds_device_and_threads(tiny_ctx, monkeypatch):
    import speechforget.training.gold as gold_mod

    orig, retain = tiny_ctx.original, tiny_ctx.task.where("train")[3:]
    cpu = gold_key(orig, retain, "cpu")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1 if threads != 1 else 2)
        assert gold_key(orig, retain, "cpu") != cpu
    finally:
        torch.set_num_threads(threads)
    assert gold_key(orig, retain, "cpu") == cpu
    monkeypatch.setattr(gold_mod, "resolve_device", lambda d: torch.device("cuda"))
    assert gold_key(orig, retain, "cuda") != cpu
    assert timing_key(torch.device("cuda"))["device"] == "cuda"
    # without conditions: the key the shipped golds are named by, as before
    assert gold_key(orig, retain, None) == _legacy_key(orig, retain)


def test_the_shipped_gold_is_still_found_by_its_file_name():
    from speechforget.training.gold import SHIPPED

    for meta_path in SHIPPED.glob("*.json"):
        meta = json.loads(meta_path.read_text())
        run = gold_run(Trained(None, {**meta, "shipped": True}))
        assert run.conditions["source"] == "shipped" and run.conditions["contended"] is None
        n = meta["recipe"]["epochs"] * meta["n_retain"]  # its work, from the recipe: exact
        assert run.work == Work(forward=n, backward=n)
        assert "shipped" in cost.time_note(run.conditions)


def test_gold_meta_keeps_work_and_conditions(tiny_ctx, tmp_path):
    from speechforget.store import Store

    orig = _quick_original(tiny_ctx)
    retain = tiny_ctx.task.where("train")[2:]
    gold = retrain_gold(
        orig, tiny_ctx.task, tiny_ctx.x, retain, device="cpu", store=Store(tmp_path)
    )
    n = 2 * len(retain)
    assert gold.meta["work"] == {"forward": n, "backward": n, "units": 3 * n}
    assert gold_work({k: v for k, v in gold.meta.items() if k != "work"}).units == 3 * n
    cond = gold.meta["conditions"]
    assert cond["device"] == "cpu" and set(cond) >= {"cpu_share", "other_cores", "contended"}
    kept = retrain_gold(
        orig, tiny_ctx.task, tiny_ctx.x, retain, device="cpu", store=Store(tmp_path)
    )
    assert kept.run is None and gold_run(kept).conditions["source"] == "kept"
    assert gold_run(kept).work.units == 3 * n


def _quick_original(ctx, epochs: int = 2) -> Trained:
    """The tiny original with a short recipe: its gold retrains in about a second."""
    recipe = {**ctx.original.meta["recipe"], "epochs": epochs, "device": "cpu"}
    return Trained(ctx.original.model, {**ctx.original.meta, "recipe": recipe})


# ---- contention ---------------------------------------------------------------------------


def test_contention_decision():
    assert is_contended(0.05, cores=2, threads=2) is False  # a quiet machine
    assert is_contended(1.0, cores=2, threads=2) is True  # a core's worth of other work
    assert is_contended(1.0, cores=16, threads=2) is False  # it ran on cores this run left free
    assert is_contended(14.5, cores=16, threads=2) is True
    assert is_contended(None, cores=2, threads=2) is None  # no /proc/stat: cannot tell
    assert is_contended(None, cores=2, threads=2, concurrent_runs=1) is True


def test_a_run_overlapping_another_in_this_process_is_contended():
    outer = Probe(torch.device("cpu"))
    inner = Probe(torch.device("cpu"))
    assert inner.stop().concurrent_runs == 1 and inner.stop().contended is True
    assert outer.stop().concurrent_runs == 1
    assert Probe(torch.device("cpu")).stop().concurrent_runs == 0


def test_a_run_that_raised_does_not_count_as_concurrent_later(tiny_ctx):
    import dataclasses

    split = make_split(tiny_ctx.task, "class:yes", 0)
    data = dataclasses.replace(unlearn_data(tiny_ctx, split), val=torch.zeros(0, dtype=torch.long))
    method = METHODS.build("loss_match", "class", {}, False)
    from speechforget.methods import trainable_copy

    model = trainable_copy(tiny_ctx.original.model)
    with pytest.raises(ValueError, match="held-out reference clips"):  # raised in setup
        unlearn(model, method, data, method.train_config(device="cpu"))
    assert Probe(torch.device("cpu")).stop().concurrent_runs == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/stat")
def test_a_cpu_hog_beside_a_gold_retrain_marks_it_contended(tiny_ctx, tmp_path):
    from speechforget.engine.conditions import usable_cores
    from speechforget.store import Store

    hog = "import time\nt = time.time() + 60\nwhile time.time() < t: pass"
    hogs = [subprocess.Popen([sys.executable, "-c", hog]) for _ in usable_cores()]
    try:
        time.sleep(0.3)  # let them start burning
        orig = _quick_original(tiny_ctx, epochs=8)  # 16 steps: long enough to measure
        retain = tiny_ctx.task.where("train")[4:]
        gold = retrain_gold(
            orig, tiny_ctx.task, tiny_ctx.x, retain, device="cpu", store=Store(tmp_path)
        )
    finally:
        for p in hogs:
            p.kill()
            p.wait()
    cond = gold.meta["conditions"]
    assert cond["contended"] is True and cond["other_cores"] > 0.5, cond
    assert "competed" in cost.time_note(gold_run(gold).conditions)


# ---- the budget before any gold ---------------------------------------------------------------


def test_budget_is_an_estimate_from_work_until_a_quiet_gold_is_kept(
    tiny_ctx, tmp_path, monkeypatch
):
    import speechforget.training.budget as budget
    from speechforget.store import Store

    store, orig = Store(tmp_path), _quick_original(tiny_ctx)
    retain = tiny_ctx.task.where("train")[1:]
    monkeypatch.setattr(budget, "training_throughput", lambda *a: 1000.0)  # units per second
    expected = 3 * 2 * len(retain) / 1000.0
    assert budget.gold_budget(orig, tiny_ctx.x, retain, store, "cpu") == pytest.approx(expected)
    gold = retrain_gold(orig, tiny_ctx.task, tiny_ctx.x, retain, device="cpu", store=store)
    kept = budget.gold_budget(orig, tiny_ctx.x, retain, store, "cpu")
    if gold.meta["conditions"]["contended"] is False:
        assert kept == gold.meta["time_s"]  # measured here, alone: the paper's rule
    else:
        assert kept == pytest.approx(expected)  # a contended time is not the budget


def test_measured_throughput_is_positive_and_cached(tiny_ctx):
    from speechforget.training.budget import estimated_gold_s, training_throughput

    first = estimated_gold_s(tiny_ctx.original, tiny_ctx.x, 1000, "cpu")
    hits = training_throughput.cache_info().hits
    assert first > 0 and estimated_gold_s(tiny_ctx.original, tiny_ctx.x, 2000, "cpu") == (
        pytest.approx(2 * first, rel=1e-2)
    )
    assert training_throughput.cache_info().hits == hits + 1  # measured once per process


# ---- the report, the app's table and the bench rows ---------------------------------------------


def test_compute_ratio_in_the_report_summary_and_table(tiny_ctx):
    from speechforget.pipeline import run_experiment

    cfg = ExperimentConfig(
        forget="class:yes",
        method="grad_ascent",
        method_overrides={"epochs": "2"},
        device="cpu",
    )
    rep = run_experiment(cfg, ctx=tiny_ctx).report()
    n_forget = rep["config"]["sizes"]["forget"]
    assert rep["work"]["unlearned"]["units"] == 3 * 2 * n_forget
    gold_units = rep["work"]["retrain"]["units"]
    assert rep["compute_ratio"] == pytest.approx(3 * 2 * n_forget / gold_units, abs=1e-4)
    assert rep["timing"]["retrain"]["source"] in ("retrained now", "kept")
    json.dumps(rep, allow_nan=False)
    text = report_text.summary(rep)
    assert f"compute ratio unlearned/retrain: {rep['compute_ratio']:.2f}" in text
    assert "Speed: compute ratio" in text
    rows = {r[0]: r for r in report_text.table_rows(rep)}
    assert f"compute {rep['compute_ratio']:.2f}" in rows[report_text.TIME_ROW.label][4]
    assert rows[report_text.WORK_ROW.label][4] == f"ratio {rep['compute_ratio']:.2f}"


def test_speed_verdict_uses_compute_and_says_why():
    rep = {
        "compute_ratio": 0.1,
        "time_ratio": 0.05,
        "timing": {
            "unlearned": {"device": "cpu", "threads": 2, "contended": False},
            "retrain": {"device": "cpu", "threads": 2, "contended": True, "source": "kept"},
            "comparable": False,
        },
    }
    text = cost.speed_verdict(rep)
    assert "compute ratio 0.10" in text and "cheaper than retraining" in text
    assert "measured while other work competed" in text and "uses the compute ratio" in text
    rep["timing"]["retrain"]["contended"] = False
    rep["timing"]["comparable"] = cost.comparable(
        rep["timing"]["unlearned"], rep["timing"]["retrain"]
    )
    assert rep["timing"]["comparable"] and "same load" in cost.speed_verdict(rep)
    assert "retraining wins" in cost.speed_verdict({**rep, "compute_ratio": 1.3})
    cell = report_text.table_rows({"models": {"retrain": {"time_s": 197.0}}, **rep})
    assert any("197.0" in c for r in cell for c in r)


def test_bench_rows_carry_compute_ratio(tiny_ctx):
    from speechforget.bench import GOLD, ORIGINAL, BenchConfig, summarize
    from speechforget.bench_report import markdown_table
    from speechforget.bench_steps import run_cell

    cfg = BenchConfig(device="cpu", overrides={"epochs": "1"})
    rows = run_cell(cfg, tiny_ctx, "1 class", 0, "class:yes", ("grad_ascent",))
    by = {r["model"]: r for r in rows}
    assert by[GOLD]["compute_ratio"] == 1.0 and by[ORIGINAL].get("compute_ratio") is None
    n_forget, n_retain = by["grad_ascent"]["n_forget"], by["grad_ascent"]["n_retain"]
    epochs = tiny_ctx.original.meta["recipe"]["epochs"]
    assert by["grad_ascent"]["compute_ratio"] == pytest.approx(
        n_forget / (epochs * n_retain), abs=1e-4
    )
    table = "\n".join(markdown_table(summarize(rows), "1 class"))
    assert "work / gold" in table and f"{by['grad_ascent']['compute_ratio']:.3f}" in table
