"""The benchmark grid: methods x forget settings x seeds, against the gold retrain.

    settings = ratios (sample mode), or per seed a draw of `classes` keywords / speakers
      (class and speaker modes) from the protocol's pool for that seed (protocol.py: the
      tuning seeds 0-9 draw from the tuning pool, reported seeds from the reported pool,
      and distinct seeds forget distinct sets)
    for each setting and seed: split -> K independently seeded gold retrains (cached per
      retain set and seed; gold 0 is the one every gap is measured to, golds 1..K-1 give
      the gold-vs-gold noise floor) -> original and golds evaluated once -> each method
      on a copy of the original, under the paper's rule (time budget = gold 0's time)
      -> evaluated, with the checks beyond the paper (evaluation.audit) and the
      relearning attack's accuracy after its last step

`run_bench` returns one row per (setting, seed, model); `summarize` turns them into
mean +- std over seeds (see bench_report.py for the tables and files). Apart from the
time columns (and a method that hits its time budget, see budget_hit), the rows of the
same command are byte-identical run to run (tests/test_bench.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from speechforget import protocol
from speechforget.config import DEFAULT_BACKBONE, DataConfig, ExperimentConfig
from speechforget.data import Split, make_split
from speechforget.data.dataset import TaskData

GOLD, ORIGINAL = "retrain (gold)", "original"
METRICS = ("test_acc", "forget_acc", "retain_acc", "mia", "mia_efficacy", "mia_auc")
# the checks beyond the paper (evaluation.audit, probe, relearn), per model
AUDIT = (
    "rmia_auc",
    "rmia_tpr_at_1pct_fpr",
    "tpr_at_1pct_fpr",
    "ks_to_gold",
    "retain_mia_auc",
    "probe_acc",
    "relearn_acc",
)
GAPS = ("gap_avg", "gap_utility", "gap_forgetting")
BENCH_MODES = ("sample", "class", "speaker")


def replica_label(k: int) -> str:
    """The row label of the k-th extra gold (k >= 1): a retrain with seed + k."""
    return f"gold, seed +{k}"


def is_gold_row(model: str) -> bool:
    return model == GOLD or model.startswith("gold, seed +")


@dataclass
class BenchConfig:
    task: str = "kws"
    mode: str = "sample"  # "sample", "class" or "speaker"
    ratios: tuple[float, ...] = (1.0, 5.0, 10.0)  # percent of the training clips (sample mode)
    classes: int = 1  # classes or speakers forgotten per run (class and speaker modes)
    methods: tuple[str, ...] = ()  # method names, "+sl" for SuperLoss variants; () = all
    seeds: tuple[int, ...] = protocol.REPORTED_SEEDS
    golds: int = 3  # independently seeded golds per forget set (>= 2: the noise floor)
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


def forget_specs(cfg: BenchConfig, task: TaskData) -> Iterator[tuple[str, int, str]]:
    """(setting label, seed, forget spec) for every cell of the grid (see protocol.py)."""
    if len(set(cfg.seeds)) != len(cfg.seeds):
        raise ValueError(f"--seeds repeats a seed: {cfg.seeds}")
    if cfg.mode == "sample":
        for r in cfg.ratios:
            if not 0 < r < 100:
                raise ValueError(f"ratio {r} is not a percentage between 0 and 100")
            for seed in cfg.seeds:
                yield f"{r:g}%", seed, f"sample:{r:g}"
    elif cfg.mode in ("class", "speaker"):
        protocol.check_distinct(task, cfg.mode, cfg.classes, cfg.seeds)
        for seed in cfg.seeds:
            picked = protocol.draw(task, cfg.mode, cfg.classes, seed)
            yield f"{cfg.classes} {cfg.mode}", seed, f"{cfg.mode}:" + ",".join(picked)
    else:
        raise ValueError(f"unknown mode '{cfg.mode}'; choose one of {', '.join(BENCH_MODES)}")


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


NOISE_ROW = "gold vs gold (noise floor)"
SUMMED = ("time_s", "time_ratio", "compute_ratio", *GAPS, *METRICS, *AUDIT)


def summarize(rows: list[dict], by: tuple[str, ...] = ("setting", "model")) -> list[dict]:
    """Mean and std (over seeds, ddof=1; None for one seed) of every numeric column per group,
    in first-seen order; a pooled group "all" is added when there are several settings.
    With several golds per forget set, the extra golds' rows are also pooled as the model
    NOISE_ROW: their gaps to gold 0 are the noise floor of every other row's gaps."""
    keys = SUMMED
    groups: dict[tuple, list[dict]] = {}

    def add(r: dict, **moved: str) -> None:
        groups.setdefault(tuple(moved.get(k, r[k]) for k in by), []).append(r)

    pooled = "setting" in by and len({r["setting"] for r in rows}) > 1
    for r in rows:
        add(r)
        if "model" in by and r["model"] != GOLD and is_gold_row(r["model"]):
            add(r, model=NOISE_ROW)
    if pooled:
        for r in rows:
            add(r, setting="all")
            if "model" in by and r["model"] != GOLD and is_gold_row(r["model"]):
                add(r, setting="all", model=NOISE_ROW)
    out = []
    for key, members in groups.items():
        entry = dict(zip(by, key))
        entry["n"] = len(members)
        for k in keys:
            vals = np.array([m[k] for m in members if m.get(k) is not None], dtype=float)
            entry[k] = float(vals.mean()) if len(vals) else None
            entry[k + "_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else None
        entry["budget_hit"] = sum(bool(m.get("budget_hit")) for m in members)
        entry["over_unlearning"] = sum(bool(m.get("over_unlearning")) for m in members)
        out.append(entry)
    return out


def within_noise(entry: dict, noise: dict | None) -> bool | None:
    """A summary row's mean utility and forgetting gaps both within the noise floor's
    (the extra golds' mean gaps to gold 0): "indistinguishable from retraining here"."""
    if noise is None:
        return None
    pairs = [(entry.get(k), noise.get(k)) for k in ("gap_utility", "gap_forgetting")]
    if any(a is None or b is None for a, b in pairs):
        return None
    return all(a <= b for a, b in pairs)
