"""The report of one run in words: the rows, labels and legends that the command line prints
and the app's metrics table shows (defined here, once), the printed summary, the app's
table rows and the one-sentence verdict against the gold's own noise. The report itself
is built and written by speechforget.report.

    print(summary(report))       # report = speechforget.report.build(res)
    rows = table_rows(report)    # the app's metrics table
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from speechforget import cost
from speechforget.evaluation import GAP_METRICS, gap_to_retrain

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
