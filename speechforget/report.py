"""The report of one run, in one place: built (`build`), printed (`summary`) and written
(`write`, `write_model`). The row labels, the columns and the MIA legends that the
command line prints and the app's metrics table shows are defined here, once.

    report = build(res)          # {"config", "models", "gap_to_retrain", "history", ...}
    print(summary(report))
    write(report, "report.json")

`models.{original,unlearned,retrain}` hold the metrics of `evaluation.model_metrics`
as fractions 0..1 (plus `time_s`); `gap_to_retrain` is |unlearned - gold| per metric;
`compute_ratio`, `work` and `timing` the cost against the gold's (speechforget.cost).
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from speechforget import cost, noisefloor
from speechforget.config import DEFAULT_BACKBONE
from speechforget.evaluation import GAP_METRICS, attack_positions, audit, gap_to_retrain

if TYPE_CHECKING:
    from speechforget.engine import StepLog
    from speechforget.pipeline import Result

MODELS = ("original", "unlearned", "retrain")


@dataclass(frozen=True)
class Row:
    """One metric row: its report key, its label, how it is shown and its ideal value."""

    key: str
    label: str
    unit: str  # "%": a fraction shown as a percentage; "frac": shown as is; "s": seconds
    ideal: str
    in_app: bool = True  # shown in the app's metrics table


ROWS = (
    Row("test_acc", "Dt accuracy (test)", "%", "= gold"),
    Row("test_retained_acc", "Dt acc, retained classes", "%", "= gold"),
    Row("test_forgotten_acc", "Dt acc, forgotten classes", "%", "= gold (≈ 0)"),
    Row("forget_acc", "Df accuracy (forget)", "%", "= gold"),
    Row("retain_acc", "Dr accuracy (retain)", "%", "= gold"),
    Row("mia", "MIA: % of Df called non-member ★", "%", "= gold (higher = looks unseen)"),
    Row("mia_efficacy", "MIA-Efficacy (%)", "%", "= gold"),
    Row("mia_auc", "forget-vs-test attack AUC", "frac", "0.5"),
    Row("mia_cv_acc", "forget-vs-test CV acc", "%", "50", in_app=False),
    # a visitor's own clips (only when a speaker was added: --add-speaker, "Your voice")
    Row("added_test_acc", "your held-back clips: accuracy", "%", "= gold"),
    Row("added_forget_member", "your training clips: membership", "frac", "= gold"),
)
TIME_ROW = Row("time_s", "wall time (s)", "s", "unlearned ≪ gold")
WORK_ROW = Row("work", f"work ({cost.UNIT})", "n", "unlearned ≪ gold")
AVG_LABEL = "avg |gap| (Dt, Df, Dr, MIA)"
UTILITY_LABEL = "utility gap (Dt, Dr)"
FORGETTING_LABEL = "forgetting gap (Df, MIA, MIA-Eff, ref. AUC)"
# (report key, column title) of the printed summary; the app's headers are below
SUMMARY_COLUMNS = (
    ("original", "original"),
    ("unlearned", "unlearned"),
    ("retrain", "retrain (gold)"),
)
TABLE_HEADERS = ["metric", "original", "unlearned", "gold (retrained)", "|gap| to gold", "ideal"]

MIA_LEGEND = (
    "MIA = % of forget clips a loss attack (fit on retain vs test) calls non-member: "
    "closer to gold is better, the original scores low"
)
MIA_EFFICACY_LEGEND = (
    "MIA-Efficacy = the same with an SVC on the true-class confidence p_y: closer to gold is better"
)
MIA_AUC_LEGEND = (
    "mia_auc = forget-vs-test attack ROC-AUC: 0.5 means the forget clips look like unseen clips"
)
MIA_NOTE = (  # the app's legend under the metrics table (Markdown)
    "**★ Which MIA number is shown:** the paper's loss-based attack (Cheng & Amiri 2025, Table 1): "
    "a logistic regression on each clip's loss, fit on retain clips (members) vs test clips "
    "(non-members), then applied to the forget clips; the number is the **% of forget clips it "
    "calls non-member**. Higher means the forget clips look unseen, but **the target is the gold "
    "model's value, not 100** (the original scores low). **|gap| to gold** = |unlearned − gold| "
    "in percentage points: **lower is better, 0 is ideal**.  \n"
    f"{MIA_EFFICACY_LEGEND}.  \n{MIA_AUC_LEGEND}."
)


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


def noise_verdict(report: Mapping) -> str:
    """One sentence on the run's gaps against the gold's own noise (measured here with
    --golds K, else the bench's for this setting), or "" without a floor."""
    gaps, verdict = report.get("gaps") or {}, report.get("within_noise")
    noise = report.get("gold_noise") or report.get("bench_noise")
    if not gaps or not noise or verdict is None:
        return ""
    where = (
        f"{noise['k']} seeded golds of this forget set"
        if report.get("gold_noise")
        else f"the bench: {noise.get('k')} seeded golds on each of {noise.get('sets')} forget sets"
    )
    floor = (
        f"utility {fmt(noise.get('utility'), '%')}, forgetting {fmt(noise.get('forgetting'), '%')}"
    )
    mine = f"utility {fmt(gaps.get('utility'), '%')}, forgetting {fmt(gaps.get('forgetting'), '%')}"
    if verdict:
        return (
            f"Indistinguishable from retraining here: gaps {mine} points, within the gap "
            f"between golds ({floor}; {where})."
        )
    return f"Gaps {mine} points, beyond the gap between golds ({floor}; {where})."


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


# ---- printing ---------------------------------------------------------------------------------


def clean(value: Any) -> float | None:
    """NaN/None -> None (not applicable or undefined), else a python float."""
    if value is None or not math.isfinite(float(value)):
        return None
    return float(value)


def fmt(value: Any, unit: str) -> str:
    """A metric as shown: '-' when undefined, percentages with one decimal, counts ("n")
    with thousands separators."""
    value = clean(value)
    if value is None:
        return "-"
    if unit == "%":
        return f"{100 * value:.1f}"
    if unit == "n":
        return f"{value:,.0f}"
    return f"{value:.1f}" if unit == "s" else f"{value:.3f}"


def _flatten(cfg: Mapping, prefix: str = "") -> list[str]:
    """{"a": {"b": 1}, "c": 2} -> ["a.b=1", "c=2"] (lists and long values abbreviated)."""
    items: list[str] = []
    for key, value in cfg.items():
        if isinstance(value, Mapping):
            items += _flatten(value, f"{prefix}{key}.")
        else:
            text = repr(value) if isinstance(value, str) else str(value)
            items.append(f"{prefix}{key}={text if len(text) <= 40 else text[:37] + '...'}")
    return items


def _gap_cell(models: Mapping, key: str, unit: str) -> str:
    u, g = clean(models["unlearned"].get(key)), clean(models["retrain"].get(key))
    return fmt(None if u is None or g is None else abs(u - g), unit)


def _table(
    models: Mapping, columns: list[tuple[str, str]], has_gap: bool, work: Mapping
) -> list[str]:
    header = ["metric".ljust(34)] + [title.rjust(16) for _, title in columns]
    header += ["|gap|".rjust(9)] if has_gap else []
    lines = ["".join(header), "-" * len("".join(header))]
    for row in ROWS:
        values = [clean(models[m].get(row.key)) for m, _ in columns]
        if all(v is None for v in values):
            continue  # e.g. the forgotten-class test accuracy under sample unlearning
        cells = [row.label.ljust(34)] + [fmt(v, row.unit).rjust(16) for v in values]
        cells += [_gap_cell(models, row.key, row.unit).rjust(9)] if has_gap else []
        lines.append("".join(cells))
    times = [clean(models[m].get("time_s")) for m, _ in columns]
    if any(t is not None for t in times):
        lines.append("".join([TIME_ROW.label.ljust(34)] + [fmt(t, "s").rjust(16) for t in times]))
    units = [(work.get(m) or {}).get("units") for m, _ in columns]
    if any(u is not None for u in units):
        lines.append("".join([WORK_ROW.label.ljust(34)] + [fmt(u, "n").rjust(16) for u in units]))
    return lines


def _verdict_lines(report: Mapping) -> list[str]:
    """The two aggregates and, with several golds, the gold-vs-gold noise floor."""
    gaps, noise = report.get("gaps") or {}, report.get("gold_noise")
    if not gaps:
        return []
    line = (
        f"utility gap (Dt, Dr): {fmt(gaps.get('utility'), '%')}  forgetting gap "
        f"(Df, MIA, MIA-Efficacy, reference AUC): {fmt(gaps.get('forgetting'), '%')}"
    )
    if not noise:
        return [line + "  (one gold: --golds 3 measures the noise floor)"]
    floor = (
        f"gold vs gold ({noise['k']} seeded golds): utility {fmt(noise.get('utility'), '%')}  "
        f"forgetting {fmt(noise.get('forgetting'), '%')}  avg {fmt(noise.get('avg'), '%')}"
    )
    verdict = {
        True: "within the noise floor: indistinguishable from retraining here",
        False: "outside the noise floor: distinguishable from retraining",
        None: "noise floor undefined for these metrics",
    }[report.get("within_noise")]
    return [line, floor, verdict]


def summary(report: Mapping) -> str:
    """A fixed-width text table of a report dict (see `build`).

    Rows are the metrics (accuracies and MIA scores as percentages with one decimal,
    the attack AUC as a fraction), columns original / unlearned / retrain (gold) / |gap|
    (unlearned vs gold, in percentage points); then wall times, the unlearned/retrain
    time ratio, the average gap and the legend of the MIA numbers. Models that are
    missing or None are left out of the table."""
    models = {k: v for k, v in (report.get("models") or {}).items() if v}
    columns = [(key, title) for key, title in SUMMARY_COLUMNS if key in models]
    has_gap = "unlearned" in models and "retrain" in models
    lines: list[str] = []
    if report.get("config"):
        lines += textwrap.wrap("config: " + "  ".join(_flatten(report["config"])), width=100)
    lines += _table(models, columns, has_gap, report.get("work") or {}) + [""]
    if has_gap:
        t_u, t_r = clean(models["unlearned"].get("time_s")), clean(models["retrain"].get("time_s"))
        if t_u is not None and t_r:
            note = cost.time_note((report.get("timing") or {}).get("retrain"))
            lines.append(
                f"time ratio unlearned/retrain: {t_u / t_r:.2f} (much less than 1 is the point)"
                + (f"; gold time {note}" if note else "")
            )
        if report.get("compute_ratio") is not None:
            lines.append(
                f"compute ratio unlearned/retrain: {report['compute_ratio']:.2f} (work in "
                f"{cost.UNIT}; does not depend on load)"
            )
        lines += textwrap.wrap(cost.speed_verdict(report), width=100)
        gaps = report.get("gap_to_retrain") or gap_to_retrain(
            models["unlearned"], models["retrain"]
        )
        avg = fmt(gaps.get("avg"), "%")
        lines.append(f"avg |gap| to gold over {', '.join(GAP_METRICS)}: {avg} points (0 is ideal)")
        lines += _verdict_lines(report)
    elif "retrain" not in models:
        lines.append("no retrained gold model in this report: gaps to gold cannot be shown")
    if report.get("history"):
        lines.append(f"history: {len(report['history'])} logged steps")
    return "\n".join(lines + [MIA_LEGEND, MIA_EFFICACY_LEGEND, MIA_AUC_LEGEND])


# ---- the app's metrics table ---------------------------------------------------------------------

PENDING = "…"


def table_rows(report: Mapping, gold_pending: bool = False) -> list[list[str]]:
    """Rows of the app's metrics table (TABLE_HEADERS) from a report dict; rows no model
    defines (e.g. forgotten-class accuracy under sample unlearning) are left out."""
    models = report.get("models", {})
    work = {m: ((report.get("work") or {}).get(m) or {}).get("units") for m in MODELS}
    rows = []
    for row in (*(r for r in ROWS if r.in_app), TIME_ROW, WORK_ROW):
        vals = [models.get(m, {}).get(row.key) for m in MODELS]
        if row is WORK_ROW:
            vals = [work.get(m) for m in MODELS]
        if all(v is None for v in vals) and row.key not in ("mia", "forget_acc", "time_s"):
            continue
        cells = [fmt(v, row.unit) for v in vals]
        if gold_pending:
            cells[2] = PENDING
        if gold_pending:
            gap = PENDING
        elif row is TIME_ROW:
            gap = _time_gap(report, vals)
            note = cost.time_note((report.get("timing") or {}).get("retrain"))
            cells[2] += f" ({note})" if note and vals[2] is not None else ""
        elif row is WORK_ROW:
            c = report.get("compute_ratio")
            gap = "-" if c is None else f"ratio {c:.2f}"
        else:
            u, g = clean(vals[1]), clean(vals[2])
            gap = fmt(None if u is None or g is None else abs(u - g), row.unit)
        rows.append([row.label, *cells, gap, row.ideal])
    avg = (report.get("gap_to_retrain") or {}).get("avg")
    rows.append([AVG_LABEL, "", "", "", PENDING if gold_pending else fmt(avg, "%"), "0"])
    gaps = report.get("gaps") or {}
    noise = report.get("gold_noise") or report.get("bench_noise") or {}
    for key, label in (("utility", UTILITY_LABEL), ("forgetting", FORGETTING_LABEL)):
        floor = fmt(noise.get(key), "%") if noise else "-"
        value = PENDING if gold_pending else fmt(gaps.get(key), "%")
        rows.append([label, "", "", "", value, f"≤ gold vs gold ({floor})"])
    return rows


def _time_gap(report: Mapping, vals: list) -> str:
    """The time row's gap cell: the wall-clock ratio and the compute ratio beside it."""
    wall = "-" if vals[1] is None or not vals[2] else f"{vals[1] / vals[2]:.2f}"
    c = report.get("compute_ratio")
    return f"wall {wall} · compute {'-' if c is None else f'{c:.2f}'}"
