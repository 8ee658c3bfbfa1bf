"""The grid as tasks (speechforget.grid) under both executors: same rows, resume after a
kill, a failing cell reported while the others finish, and `bench --report`."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from speechforget.bench import BenchConfig
from speechforget.executor import FixedContext, run_grid
from speechforget.grid import CellStore, collect, plan_grid
from speechforget.store import Store

TIME_COLUMNS = ("time_s", "time_ratio")


def small_grid(**kw) -> BenchConfig:
    """2 methods x 2 seeds x 2 settings on the tiny data, one epoch, one gold."""
    return BenchConfig(
        mode="sample",
        ratios=(10, 20),
        methods=("finetune", "grad_ascent"),
        seeds=(10, 11),
        golds=1,
        overrides={"epochs": "1"},
        device="cpu",
        **kw,
    )


@pytest.fixture
def one_thread():
    """Both executors' tasks on one torch thread (a Ray task gets one CPU)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _ctx(tiny_ctx, folder):
    return dataclasses.replace(tiny_ctx, store=Store.of(folder))


def _sections(cfg, factory):
    info = {"config": {**dataclasses.asdict(cfg), "methods": list(cfg.methods)}}
    keys = [t.key for t in plan_grid([cfg], lambda c: factory(c).task)]
    return [{"name": "", "info": info, "keys": keys, "backbones": [cfg.backbone]}]


def _rows(out):
    ((_, rows, missing),) = collect(out)
    return [{k: v for k, v in r.items() if k not in TIME_COLUMNS} for r in rows], missing


def _grid(cfg, tiny_ctx, tmp_path, name, **kw):
    factory = FixedContext(_ctx(tiny_ctx, tmp_path / f"store_{name}"))
    out = tmp_path / name
    outcome = run_grid(
        [cfg], out, factory=factory, sections=_sections(cfg, factory), progress=None, **kw
    )
    return out, outcome


def test_local_grid_resumes_and_reports_a_failing_cell(tiny_ctx, tmp_path, one_thread, capsys):
    cfg = small_grid()
    lines = []
    kills = {"n": 0}

    def kill_after_5(task, record):
        kills["n"] += 1
        if kills["n"] == 5:
            raise KeyboardInterrupt  # the bench killed after 5 stored tasks

    factory = FixedContext(_ctx(tiny_ctx, tmp_path / "store"))
    out = tmp_path / "bench"
    with pytest.raises(KeyboardInterrupt):
        run_grid(
            [cfg],
            out,
            factory=factory,
            sections=_sections(cfg, factory),
            on_task=kill_after_5,
            progress=None,
        )
    assert len(list((out / "cells").glob("*.json"))) == 5
    outcome = run_grid([cfg], out, factory=factory, progress=lines.append)
    assert outcome.total == 4 * 3 and outcome.skipped == 5 and outcome.ran == 7
    assert not outcome.failed
    assert lines[0].startswith("5 of 12 tasks already") and lines[-1].startswith("[12/12]")
    assert "left ~" in lines[-1] and "elapsed" in lines[-1]
    rows, missing = _rows(out)
    assert not missing and len(rows) == 4 * 4  # gold, original, 2 methods per forget set
    assert [r["model"] for r in rows[:3]] == ["retrain (gold)", "original", "finetune"]

    # the same grid in one process (bench_steps.run_bench): the same rows
    import speechforget.pipeline as pipeline
    from speechforget.bench_steps import run_bench

    ref_ctx = _ctx(tiny_ctx, tmp_path / "store_ref")
    old = pipeline.prepare
    pipeline.prepare = lambda *a, **k: ref_ctx
    try:
        ref, _ = run_bench(cfg, progress=False)
    finally:
        pipeline.prepare = old
    ref = [{k: v for k, v in r.items() if k not in TIME_COLUMNS} for r in ref]
    assert json.dumps(rows, default=str) == json.dumps(ref, default=str)

    # a method that raises for one setting: reported with its error, the others finish
    bad = dataclasses.replace(cfg, overrides={"epochs": "1", "grad_ascent.lr": "oops"})
    out_bad, outcome = _grid(bad, tiny_ctx, tmp_path, "bad", retries=1)
    assert len(outcome.failed) == 4 and all(r["attempts"] == 2 for r in outcome.failed)
    assert all("grad_ascent" in r["key"] and r["traceback"] for r in outcome.failed)
    rows, missing = _rows(out_bad)
    assert len(rows) == 4 * 3 and len(missing) == 4

    # bench --report rebuilds the files from the store alone
    from speechforget.cli.bench import report

    assert report(out, quiet=True, figure=False) == 0
    assert (out / "results.csv").stat().st_size > 0
    assert report(out_bad, quiet=True, figure=False) == 1
    assert "not finished" in capsys.readouterr().out


def test_ray_gives_the_local_rows(tiny_ctx, tmp_path, one_thread):
    """A local Ray instance with 2 CPUs, started and stopped here (about 35 s on 2 quiet
    cores: it runs by default)."""
    pytest.importorskip("ray")
    import time

    cfg = small_grid()
    t0 = time.perf_counter()
    out_l, local = _grid(cfg, tiny_ctx, tmp_path, "local")
    t_local = time.perf_counter() - t0
    t0 = time.perf_counter()
    out_r, ray_run = _grid(cfg, tiny_ctx, tmp_path, "ray", executor="ray", num_cpus=2, threads=1)
    t_ray = time.perf_counter() - t0
    print(f"small grid: local {t_local:.1f} s, ray {t_ray:.1f} s")
    assert not local.failed and not ray_run.failed and ray_run.ran == local.ran == 12
    assert _rows(out_r) == _rows(out_l)
    import ray

    assert not ray.is_initialized(), "the executor stops the instance it started"
    hosts = {json.loads(p.read_text())["host"] for p in (out_r / "cells").glob("*.json")}
    assert hosts and CellStore(out_r / "cells").root.is_dir()


def test_paper_dry_run_counts_the_grid_and_measures_a_step():
    from speechforget.paper import dry_run, paper_configs, paper_methods

    groups = paper_configs(BenchConfig(task="kws", device="cpu", golds=3), ["cnn"])
    assert [name for name, _ in groups] == ["sample", "class"]
    sample = groups[0][1][0]
    assert sample.ratios == tuple(float(r) for r in range(1, 11)) and sample.seeds == (
        10,
        11,
        12,
        13,
        14,
    )
    n_methods = len(paper_methods())
    assert n_methods >= 10 and "loss_match" in paper_methods() and "finetune+sl" in paper_methods()
    text = dry_run(groups, n_train=1000)
    total = 5 * 10 * (1 + n_methods) + 5 * (1 + n_methods)
    assert f"Total: {total} tasks" in text
    step = [ln for ln in text.splitlines() if ln.strip().startswith("step time cnn")]
    assert step and "ms per batch" in step[0], text
    assert "device-hours" in text.splitlines()[1]
