"""The report of one run: built (`build`) and written (`write`, `write_model`); it is put
in words (the printed summary, the app's table rows, labels and legends) by
speechforget.report_text.

    report = build(res)          # {"config", "models", "gap_to_retrain", "history", ...}
    print(report_text.summary(report))
    write(report, "report.json")

`models.{original,unlearned,retrain}` hold the metrics of `evaluation.model_metrics`
as fractions 0..1 (plus `time_s`); `gap_to_retrain` is |unlearned - gold| per metric;
`compute_ratio`, `work` and `timing` the cost against the gold's (speechforget.cost).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speechforget import cost, noisefloor
from speechforget.config import DEFAULT_BACKBONE
from speechforget.evaluation import attack_positions, audit, gap_to_retrain

if TYPE_CHECKING:
    from speechforget.engine import StepLog
    from speechforget.pipeline import Result


# ---- building ---------------------------------------------------------------------------------


def build(res: Result) -> dict:
    """The JSON report of a run (accuracies as fractions 0..1), with the class names and
    the unlearned model's spec (needed to load its checkpoint)."""
    models = {k: dict(v.metrics) for k, v in res.evals.items()}
    for k in ("unlearned", "retrain"):
        if k in models:
            models[k]["time_s"] = round(res.times.get(k, float("nan")), 3)
    gap = None
    if "retrain" in models and "unlearned" in models:
        gap = gap_to_retrain(models["unlearned"], models["retrain"])
    run = res.runs.get("unlearned")
    out = {
        "config": {
            **res.config.to_dict(),
            "train": res.ctx.original.meta.get("recipe"),
            "sizes": res.split.sizes(),
        },
        "models": models,
        "gap_to_retrain": gap,
        "history": [_history_row(h) for h in (run.history if run else [])],
    }
    t_u, t_g = res.times.get("unlearned"), res.times.get("retrain")
    if t_u is not None and t_g:
        out["time_ratio"] = round(t_u / t_g, 4)
        out["budget_hit"] = bool(run.budget_hit) if run else False
    out.update(cost.section(res.runs))  # compute_ratio, work, timing (speechforget.cost)
    if "unlearned" in res.models:
        out["unlearned_model_spec"] = res.models["unlearned"].spec()
    _audit(res, models, out)
    out["relearn"] = res.relearn
    out["class_names"] = list(res.ctx.task.class_names)
    if res.ctx.enrolment is not None:  # a visitor's clips were trained in
        out["added"] = res.ctx.enrolment.summary()
    return out


def _audit(res: Result, models: dict, out: dict) -> None:
    """The checks beyond the paper (evaluation.audit) into each model's metrics, and the
    run-level verdict keys: gaps (utility, forgetting), noise_floor, over_unlearning."""
    split = res.split
    attack_test = attack_positions(split.test, split.test_forgotten)
    losses = {k: v.losses for k, v in res.evals.items()}
    replicas = [f"retrain_{k + 1}" for k in range(len(res.gold_replicas))]
    losses.update({name: ev.losses for name, ev in zip(replicas, res.gold_replicas)})
    checks = audit.audit_losses(
        losses, split.forget, split.retain, split.test, attack_test, res.config.seed
    )
    for name, row in checks.items():
        if name in models:
            models[name].update(row)
    others = [{**ev.metrics, **checks[name]} for name, ev in zip(replicas, res.gold_replicas)]
    out["audit_notes"] = audit.small_set_notes(len(split.forget), len(attack_test))
    if "retrain" in models:
        out["gold_replicas"] = others
        out["gold_noise"] = audit.gold_noise([models["retrain"], *others])
    if "retrain" in models and "unlearned" in models:
        u, g = models["unlearned"], models["retrain"]
        binomial = audit.noise_floor(g, len(split.forget))
        floor = audit.floor_from_golds(out["gold_noise"], binomial)
        out["gaps"] = audit.aggregate_gaps(u, g)
        out["noise_floor"] = {
            "value": floor,
            "source": (
                f"the gap between {len(others) + 1} independently seeded golds in Df accuracy "
                "and MIA, or 2 binomial standard errors of gold's Df accuracy when larger"
                if others
                else "binomial: 2 standard errors of gold's Df accuracy (one gold: "
                "--golds K measures the gap between golds)"
            ),
        }
        out["over_unlearning"] = audit.over_unlearning(u, g, floor)
        out["within_noise"] = audit.within_noise(out["gaps"], out["gold_noise"])
        bench = _bench_noise(res)
        if bench is not None:  # one gold here: the bench's gold-vs-gold floor for the setting
            out["bench_noise"] = bench
            if out["gold_noise"] is None:
                out["within_noise"] = noisefloor.within(out["gaps"], bench)


def _bench_noise(res: Result) -> dict | None:
    """The bench's noise floor for this task x mode (noisefloor.py), for the built-in data
    and backbone only (what the bench measured), never with a visitor's clips."""
    cfg = res.config
    if cfg.backbone != DEFAULT_BACKBONE or res.ctx.enrolment is not None:
        return None
    floor = noisefloor.bench_floor(cfg.task, res.split.mode)
    same_data = floor and floor.get("data_checksum") == res.ctx.original.meta.get("data_checksum")
    return floor if same_data else None


def _history_row(h: StepLog) -> dict:
    d = h.to_dict()
    return {k: d[k] for k in ("step", "epoch", "forget_loss", "retain_loss", "elapsed_s")}


# ---- writing ----------------------------------------------------------------------------------


def to_json(obj: Any) -> str:
    """JSON text of a report (numpy scalars and arrays become numbers and lists)."""
    return json.dumps(obj, indent=2, default=_json_default)


def _json_default(o: Any) -> Any:
    if hasattr(o, "item") and getattr(o, "ndim", 0) == 0:
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    return str(o)


def write(report: Mapping, path: str | Path) -> Path:
    """Write a report dict (see `build`) as JSON; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_json(report))
    return path


def write_model(res: Result, path: str | Path, report: Mapping | None = None) -> Path:
    """The unlearned model as `<path>.safetensors` (+ `.json` with its spec, the class names,
    the config and the report); returns the safetensors path."""
    from speechforget.models import save_checkpoint

    meta = {
        "class_names": list(res.ctx.task.class_names),
        "config": res.config.to_dict(),
        "report": report if report is not None else build(res),
    }
    return save_checkpoint(res.models["unlearned"], path, json.loads(to_json(meta)))
