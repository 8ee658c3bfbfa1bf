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

`bench_steps.run_bench` returns one row per (setting, seed, model) (its gold step and
method steps are the grid's tasks, grid.py); `summarize` turns them into mean +- std over
seeds (see bench_report.py for the tables and files). Apart from the
time columns (and a method that hits its time budget, see budget_hit), the rows of the
same command are byte-identical run to run (tests/test_bench.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from speechforget import protocol
from speechforget.config import DEFAULT_BACKBONE, DataConfig
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
