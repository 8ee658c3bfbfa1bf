"""The bench's steps (see speechforget.bench for the grid they fill): a forget set's gold
step (its K seeded golds, the original and the golds evaluated once), one method's step
against it, a whole cell (the gold step, then every method), and `run_bench`, every cell
in this process. grid.py runs the same steps as separate tasks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from speechforget.bench import (
    AUDIT,
    GOLD,
    METRICS,
    ORIGINAL,
    BenchConfig,
    all_methods,
    forget_specs,
    is_gold_row,
    method_overrides,
    replica_label,
)
from speechforget.config import ExperimentConfig
from speechforget.data import Split, make_split


def _row(setting: str, seed: int, spec: str, model: str, metrics: dict, **extra: Any) -> dict:
    return {
        "setting": setting,
        "seed": seed,
        "forget": spec,
        "model": model,
        **{m: metrics.get(m) for m in (*METRICS, *AUDIT)},
        **extra,
    }


def _gaps(metrics: dict, gold: dict, floor: float) -> dict:
    """A model's gaps to gold 0: the paper's avg and the two aggregates, and the
    over-unlearning flag (evaluation.audit)."""
    from speechforget.evaluation import audit, gap_to_retrain

    aggs = audit.aggregate_gaps(metrics, gold)
    return {
        "gap_avg": gap_to_retrain(metrics, gold)["avg"],
        "gap_utility": aggs["utility"],
        "gap_forgetting": aggs["forgetting"],
        "over_unlearning": audit.over_unlearning(metrics, gold, floor),
    }


def _golds(cfg: BenchConfig, ctx, split: Split) -> list:
    """The K golds of a split: trained once, then kept in ctx.store (cache hits after)."""
    return [ctx.retrain_gold(split.retain, device=cfg.device, replica=k) for k in range(cfg.golds)]


def _gold_labels(cfg: BenchConfig) -> list[str]:
    return [GOLD] + [replica_label(k) for k in range(1, cfg.golds)]


def _checks(models: dict, evals: dict, ctx, split: Split, seed: int, device: str) -> dict:
    """Every model's metrics with the checks beyond the paper: the attacks against gold
    (`evals` must hold GOLD's) and the relearning attack's accuracy after its last step.
    Each model's checks depend only on it and gold's losses, so a model checked alone
    gets the numbers it gets among others."""
    from speechforget.evaluation import attack_positions, audit
    from speechforget.evaluation.relearn import MIN_FORGET, relearn

    metrics = {k: dict(evals[k].metrics) for k in models}
    checks = audit.audit_losses(
        {k: ev.losses for k, ev in evals.items()},
        split.forget,
        split.retain,
        split.test,
        attack_positions(split.test, split.test_forgotten),
        seed,
        gold=GOLD,
    )
    for k in models:
        metrics[k].update(checks[k])
    if len(split.forget) >= MIN_FORGET:  # accuracy on 80% of Df after the attack's last step
        curves = relearn(models, ctx.x, ctx.y, split.forget, seed=seed, device=device)
        for k in models:
            metrics[k]["relearn_acc"] = curves[k][-1]
    return metrics


def gold_step(cfg: BenchConfig, ctx, setting: str, seed: int, spec: str) -> dict:
    """The gold task of one forget set: its K golds (trained once, kept in the store), the
    original and the golds evaluated, their rows, and what every method cell of the set
    needs (gold 0's metrics and the over-unlearning floor). JSON-able."""
    from speechforget.cost import work_ratio
    from speechforget.evaluation import audit
    from speechforget.pipeline import evaluate
    from speechforget.training import gold_run

    split: Split = make_split(ctx.task, spec, seed)
    golds = _golds(cfg, ctx, split)
    gold_t = float(golds[0].meta["time_s"])
    gold_work = gold_run(golds[0]).work
    labels = _gold_labels(cfg)
    models = {label: g.model for label, g in zip(labels, golds)}
    models[ORIGINAL] = ctx.original.model
    evals = {k: evaluate(m, ctx, split, seed, cfg.device) for k, m in models.items()}
    metrics = _checks(models, evals, ctx, split, seed, cfg.device)
    gold = metrics[GOLD]
    noise = audit.gold_noise([gold, *(metrics[k] for k in labels[1:])])
    floor = audit.floor_from_golds(noise, audit.noise_floor(gold, len(split.forget)))
    sizes = {"n_forget": len(split.forget), "n_retain": len(split.retain)}
    rows = []
    for label in models:
        extra: dict[str, Any] = {**_gaps(metrics[label], gold, floor), **sizes}
        if is_gold_row(label):
            g = golds[labels.index(label)]
            extra.update(
                time_s=float(g.meta["time_s"]),
                time_ratio=extra_ratio(g, gold_t),
                compute_ratio=work_ratio(gold_run(g).work, gold_work),
            )
        rows.append(_row(setting, seed, spec, label, metrics[label], **extra))
    return jsonable({"rows": rows, "gold": gold, "floor": floor})


def method_step(
    cfg: BenchConfig, ctx, setting: str, seed: int, spec: str, name: str, gold: dict
) -> dict:
    """One method on one forget set, against the gold task's record `gold` (gold_step):
    the method on a copy of the original under the paper's time rule, evaluated and
    checked against gold 0 (loaded from the store). Returns the method's row."""
    from speechforget.cost import work_ratio
    from speechforget.pipeline import evaluate, run_unlearning
    from speechforget.training import gold_run

    split: Split = make_split(ctx.task, spec, seed)
    gold0 = ctx.retrain_gold(split.retain, device=cfg.device, replica=0)  # kept: a cache hit
    gold_t = float(gold0.meta["time_s"])
    gold_work = gold_run(gold0).work  # sample passes: compute_ratio does not depend on load
    budget = ctx.budget(split.retain, cfg.device)  # gold 0's time if uncontended, else estimated
    exp = ExperimentConfig(
        task=cfg.task,
        backbone=cfg.backbone,
        forget=spec,
        method=name,
        method_overrides=method_overrides(name, cfg.overrides),
        superloss=cfg.superloss,
        seed=seed,
        device=cfg.device,
        data=cfg.data,
    )
    label = name + ("+sl" if cfg.superloss and not name.endswith("+sl") else "")
    model, run = run_unlearning(exp, ctx, split, budget)
    models = {label: model}
    evals = {
        label: evaluate(model, ctx, split, seed, cfg.device),
        GOLD: evaluate(gold0.model, ctx, split, seed, cfg.device),
    }
    metrics = _checks(models, evals, ctx, split, seed, cfg.device)[label]
    extra: dict[str, Any] = {
        **_gaps(metrics, gold["gold"], gold["floor"]),
        "n_forget": len(split.forget),
        "n_retain": len(split.retain),
        "time_s": run.time_s,
        "time_ratio": run.time_s / gold_t if gold_t > 0 else None,
        "compute_ratio": work_ratio(run.work, gold_work),
        "budget_hit": bool(run.budget_hit),
        "steps": run.steps,
    }
    return jsonable({"rows": [_row(setting, seed, spec, label, metrics, **extra)]})


def jsonable(value: Any) -> Any:
    """numpy scalars as Python numbers, tuples as lists: what a JSON file gives back."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def run_cell(
    cfg: BenchConfig,
    ctx,
    setting: str,
    seed: int,
    spec: str,
    methods: tuple[str, ...],
    tick: Callable[[str], None] | None = None,
) -> list[dict]:
    """The golds, the original and every method on one (setting, seed): one row per model
    (the gold task, then one method task each: what the grid's executors run one by one)."""
    gold = gold_step(cfg, ctx, setting, seed, spec)
    rows = list(gold["rows"])
    for name in methods:
        if tick:
            tick(f"{setting} seed {seed} {name}")
        rows += method_step(cfg, ctx, setting, seed, spec, name, gold)["rows"]
    # the order of run_cell before the split: golds, original, methods
    return rows


def extra_ratio(gold, gold_t: float) -> float | None:
    """A gold's time as a fraction of gold 0's."""
    t = float(gold.meta["time_s"])
    return t / gold_t if gold_t > 0 else None


def run_bench(cfg: BenchConfig, progress: bool = True) -> tuple[list[dict], dict]:
    """Every cell of the grid; returns (rows, info about the run)."""
    from tqdm import tqdm

    from speechforget.pipeline import prepare

    methods = cfg.methods or all_methods()
    ctx = prepare(cfg.task, cfg.backbone, cfg.data, device=cfg.device)
    if cfg.golds < 1:
        raise ValueError(f"--golds must be at least 1, got {cfg.golds}")
    cells = list(forget_specs(cfg, ctx.task))
    bar = tqdm(total=len(cells) * len(methods), disable=not progress, unit="run")
    rows: list[dict] = []
    try:
        for setting, seed, spec in cells:

            def tick(desc: str) -> None:
                bar.set_description(desc[:48])

            rows += run_cell(cfg, ctx, setting, seed, spec, methods, tick)
            bar.update(len(methods))
    finally:
        bar.close()
    info = {
        "config": {**dataclasses.asdict(cfg), "methods": list(methods)},
        "original": ctx.original.meta.get("metrics"),
        "n_clips": len(ctx.task),
    }
    return rows, info
