"""The benchmark grid: methods x forget settings x seeds, against the gold retrain.

    settings = ratios (sample mode) or one draw of `classes` classes per seed (class mode)
    for each setting and seed: split -> gold retrain (cached per retain set) -> original
      and gold evaluated once -> each method on a copy of the original, under the
      paper's rule (time budget = the gold retrain's time) -> evaluated

`run_bench` returns one row per (setting, seed, model); `summarize` turns them into
mean +- std over seeds (see bench_report.py for the tables and files).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from speechforget.config import DEFAULT_BACKBONE, DataConfig, ExperimentConfig
from speechforget.data import Split, make_split

GOLD, ORIGINAL = "retrain (gold)", "original"
METRICS = ("test_acc", "forget_acc", "retain_acc", "mia", "mia_efficacy", "mia_auc")


@dataclass
class BenchConfig:
    task: str = "kws"
    mode: str = "sample"  # "sample" or "class"
    ratios: tuple[float, ...] = (1.0, 5.0, 10.0)  # percent of the training clips (sample mode)
    classes: int = 1  # classes (keywords or speakers) forgotten per run (class mode)
    methods: tuple[str, ...] = ()  # method names, "+sl" for SuperLoss variants; () = all
    seeds: tuple[int, ...] = (0, 1, 2)
    overrides: dict[str, str] = field(default_factory=dict)  # "key" or "method.key" -> value
    superloss: bool = False  # wrap every method in SuperLoss
    device: str = "auto"
    backbone: str = DEFAULT_BACKBONE
    data: DataConfig = field(default_factory=DataConfig)


def all_methods() -> tuple[str, ...]:
    """Every registered method except the gold retrain (the gold row is always there)."""
    from speechforget.methods import METHODS

    return tuple(n for n, cls in METHODS.items() if not cls.yields_gold)


def parse_methods(text: str) -> tuple[str, ...]:
    """'all' | 'all+sl' | 'scrub,scrub+sl,...' -> method names (validated)."""
    from speechforget.methods import get_method

    names: list[str] = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        if item in ("all", "all+sl"):
            names += [n + item[3:] for n in all_methods()]
        else:
            get_method(item)  # raises with the valid names
            names.append(item)
    if not names:
        raise ValueError("--methods names no method; e.g. all or scrub,scrub+sl")
    return tuple(dict.fromkeys(names))


def class_candidates(class_names: list[str]) -> list[str]:
    """Classes a class-mode run may forget: not the _silence_ / _unknown_ fillers."""
    return [c for c in class_names if not c.startswith("_")]


def forget_specs(cfg: BenchConfig, class_names: list[str]) -> Iterator[tuple[str, int, str]]:
    """(setting label, seed, forget spec) for every cell of the grid."""
    if cfg.mode == "sample":
        for r in cfg.ratios:
            if not 0 < r < 100:
                raise ValueError(f"ratio {r} is not a percentage between 0 and 100")
            for seed in cfg.seeds:
                yield f"{r:g}%", seed, f"sample:{r:g}"
    elif cfg.mode == "class":
        cands = class_candidates(class_names)
        if not 1 <= cfg.classes < len(cands):
            raise ValueError(f"--classes must be between 1 and {len(cands) - 1}")
        for seed in cfg.seeds:
            picked = np.random.default_rng(seed).choice(cands, cfg.classes, replace=False)
            yield f"{cfg.classes} class", seed, "class:" + ",".join(sorted(picked))
    else:
        raise ValueError(f"unknown mode '{cfg.mode}'; choose one of sample, class")


def method_overrides(name: str, overrides: dict[str, str]) -> dict[str, str]:
    """The overrides that apply to `name`: 'key' ones its Config (or SuperLoss) has,
    and 'method.key' ones addressed to it."""
    import dataclasses as dc

    from speechforget.methods import get_method
    from speechforget.methods.superloss import SuperLossConfig

    cls = get_method(name)
    own = {f.name for f in dc.fields(cls.Config)} | {f.name for f in dc.fields(SuperLossConfig)}
    out = {}
    for key, value in overrides.items():
        target, dot, k = key.rpartition(".")
        if dot and target in (name, cls.name):
            out[k] = value
        elif not dot and key in own:
            out[key] = value
    return out


def _row(setting: str, seed: int, spec: str, model: str, metrics: dict, **extra: Any) -> dict:
    return {
        "setting": setting,
        "seed": seed,
        "forget": spec,
        "model": model,
        **{m: metrics.get(m) for m in METRICS},
        **extra,
    }


def run_cell(
    cfg: BenchConfig,
    ctx,
    setting: str,
    seed: int,
    spec: str,
    methods: tuple[str, ...],
    tick: Callable[[str], None] | None = None,
) -> list[dict]:
    """Gold, original and every method on one (setting, seed): one row per model."""
    from speechforget.cost import work_ratio
    from speechforget.evaluation import gap_to_retrain
    from speechforget.pipeline import evaluate, run_unlearning
    from speechforget.training import gold_run

    split: Split = make_split(ctx.task, spec, seed)
    gold = ctx.retrain_gold(split.retain, device=cfg.device)
    gold_t = float(gold.meta["time_s"])
    gold_work = gold_run(gold).work  # sample passes: compute_ratio does not depend on load
    ev_gold = evaluate(gold.model, ctx, split, seed, cfg.device).metrics
    ev_orig = evaluate(ctx.original.model, ctx, split, seed, cfg.device).metrics
    sizes = {"n_forget": len(split.forget), "n_retain": len(split.retain)}
    rows = [
        _row(
            setting, seed, spec, GOLD, ev_gold, time_s=gold_t, time_ratio=1.0, gap_avg=0.0, **sizes
        ),
        _row(
            setting,
            seed,
            spec,
            ORIGINAL,
            ev_orig,
            gap_avg=gap_to_retrain(ev_orig, ev_gold)["avg"],
            **sizes,
        ),
    ]
    rows[0]["compute_ratio"] = 1.0 if gold_work else None  # the gold against itself
    for name in methods:
        if tick:
            tick(f"{setting} seed {seed} {name}")
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
        model, run = run_unlearning(exp, ctx, split, gold_t)
        ev = evaluate(model, ctx, split, seed, cfg.device).metrics
        label = name + ("+sl" if cfg.superloss and not name.endswith("+sl") else "")
        rows.append(
            _row(
                setting,
                seed,
                spec,
                label,
                ev,
                time_s=run.time_s,
                time_ratio=run.time_s / gold_t if gold_t > 0 else None,
                compute_ratio=work_ratio(run.work, gold_work),
                budget_hit=bool(run.budget_hit),
                steps=run.steps,
                gap_avg=gap_to_retrain(ev, ev_gold)["avg"],
                **sizes,
            )
        )
    return rows


def run_bench(cfg: BenchConfig, progress: bool = True) -> tuple[list[dict], dict]:
    """Every cell of the grid; returns (rows, info about the run)."""
    from tqdm import tqdm

    from speechforget.pipeline import prepare

    methods = cfg.methods or all_methods()
    ctx = prepare(cfg.task, cfg.backbone, cfg.data, device=cfg.device)
    cells = list(forget_specs(cfg, ctx.task.class_names))
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


def summarize(rows: list[dict], by: tuple[str, ...] = ("setting", "model")) -> list[dict]:
    """Mean and std (over seeds, ddof=1; None for one seed) of every numeric column per group,
    in first-seen order; a pooled group "all" is added when there are several settings."""
    keys = ("time_s", "time_ratio", "compute_ratio", "gap_avg", *METRICS)
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in by), []).append(r)
    if "setting" in by and len({r["setting"] for r in rows}) > 1:
        for r in rows:
            groups.setdefault(tuple("all" if k == "setting" else r[k] for k in by), []).append(r)
    out = []
    for key, members in groups.items():
        entry = dict(zip(by, key))
        entry["n"] = len(members)
        for k in keys:
            vals = np.array([m[k] for m in members if m.get(k) is not None], dtype=float)
            entry[k] = float(vals.mean()) if len(vals) else None
            entry[k + "_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else None
        entry["budget_hit"] = sum(bool(m.get("budget_hit")) for m in members)
        out.append(entry)
    return out
