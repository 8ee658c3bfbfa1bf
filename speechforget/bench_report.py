"""Benchmark outputs: results.csv (one row per run), results.json (rows, summary, config),
results.md (the paper's table: Dt, Df, Dr, MIA, time, mean +- std over seeds, the
gold row, each method's average gap to gold, its time as a fraction of gold's and its
work as a fraction of gold's: the compute ratio, which does not depend on load)
and results.html (forget vs test accuracy per method; plotly, from speechforget.viz)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from speechforget.bench import GOLD, NOISE_ROW, ORIGINAL, is_gold_row, summarize, within_noise

COLUMNS = (
    ("test_acc", "Dt"),
    ("forget_acc", "Df"),
    ("retain_acc", "Dr"),
    ("mia", "MIA"),
    ("mia_efficacy", "MIA-Eff"),
)
AUDIT_COLUMNS = (  # (key, title, scale): accuracies and rates in %, AUCs and KS as fractions
    ("rmia_auc", "ref. attack AUC", 1.0),
    ("rmia_tpr_at_1pct_fpr", "ref. TPR@1%FPR", 100.0),
    ("tpr_at_1pct_fpr", "loss TPR@1%FPR", 100.0),
    ("ks_to_gold", "KS to gold", 1.0),
    ("retain_mia_auc", "retain MIA AUC", 1.0),
    ("probe_acc", "probe acc", 100.0),
    ("relearn_acc", "relearn acc (k=50)", 100.0),
)
AGGREGATES = {
    "gap_forgetting": "forgetting gap (Df, MIA, MIA-Efficacy, reference AUC)",
    "gap_utility": "utility gap (Dt, Dr)",
    "gap_avg": "avg gap (Dt, Df, Dr, MIA)",
}


def _pm(mean: float | None, std: float | None, scale: float = 100.0, digits: int = 1) -> str:
    if mean is None:
        return "-"
    text = f"{scale * mean:.{digits}f}"
    return text + (f" ± {scale * std:.{digits}f}" if std is not None else "")


def _noise(summary: list[dict], setting: str) -> dict | None:
    return next((r for r in summary if r["setting"] == setting and r["model"] == NOISE_ROW), None)


def _methods(summary: list[dict], setting: str) -> list[dict]:
    return [
        r
        for r in summary
        if r["setting"] == setting
        and r["model"] not in (ORIGINAL, NOISE_ROW)
        and not is_gold_row(r["model"])
    ]


def cost_ratio(r: dict) -> float:
    """What "faster than gold" is judged by: the compute ratio (work / gold's work, which does
    not depend on load), the wall-clock ratio where the work is unknown."""
    c = r.get("compute_ratio")
    return c if c is not None else (r.get("time_ratio") or 0)


def best_methods(summary: list[dict], setting: str) -> dict[str, dict | None]:
    """Per aggregate (AGGREGATES), the method with the smallest mean gap among those
    cheaper than gold (cost_ratio < 1); 'fast_close': the cheapest method within 3 points
    of gold by the forgetting gap and the utility gap (None when none is)."""
    rows = _methods(summary, setting)
    faster = [r for r in rows if cost_ratio(r) < 1]
    out: dict[str, dict | None] = {}
    for key in AGGREGATES:
        cands = [r for r in faster if r.get(key) is not None]
        out[key] = min(cands, key=lambda r: r[key]) if cands else None
    close = [
        r
        for r in rows
        if all(r.get(k) is not None and r[k] <= 0.03 for k in ("gap_forgetting", "gap_utility"))
    ]
    out["fast_close"] = min(close, key=cost_ratio) if close else None
    return out


def setting_title(info: dict, setting: str, n_seeds: int) -> str:
    cfg = info["config"]
    what = f"{cfg['mode']} unlearning"
    detail = "all ratios pooled" if setting == "all" else setting
    if cfg["mode"] == "sample" and setting != "all":
        detail = f"{setting} of the training clips"
    elif cfg["mode"] in ("class", "speaker"):
        unit = "keyword" if cfg["task"] == "kws" and cfg["mode"] == "class" else "speaker"
        n = cfg["classes"]
        detail = f"{n} {unit}{'s' if n > 1 else ''} per run, a distinct draw per seed"
    golds = cfg.get("golds", 1)
    return f"{cfg['task']} · {what} · {detail} ({n_seeds} seeds, {golds} golds each)"


def _verdict(r: dict, noise: dict | None) -> str:
    if r["model"] == NOISE_ROW or is_gold_row(r["model"]) or r["model"] == ORIGINAL:
        return ""
    return {True: "≈ gold", False: "", None: ""}[within_noise(r, noise)]


def markdown_table(summary: list[dict], setting: str) -> list[str]:
    noise = _noise(summary, setting)
    titles = [t for _, t in COLUMNS]
    lines = [
        "| method | "
        + " | ".join(titles)
        + " | time / gold | work / gold | forgetting gap | utility gap | avg gap | ≈ gold |",
        "|---" * (len(titles) + 7) + "|",
    ]
    rows = [r for r in summary if r["setting"] == setting]
    rows = [r for r in rows if not is_gold_row(r["model"]) or r["model"] == GOLD]
    for r in rows:
        cells = [_pm(r[k], r[k + "_std"]) for k, _ in COLUMNS]
        ratio = "-" if r["time_ratio"] is None else f"{r['time_ratio']:.3f}"
        if r.get("budget_hit"):
            ratio += f" (budget hit {r['budget_hit']}/{r['n']})"
        compute = "-" if r.get("compute_ratio") is None else f"{r['compute_ratio']:.3f}"
        gaps = [_pm(r[k], r[k + "_std"]) for k in ("gap_forgetting", "gap_utility", "gap_avg")]
        if r["model"] == GOLD:
            ratio, compute, gaps = "1.000", "1.000", ["0.0"] * 3
        if r["model"] == NOISE_ROW:
            cells = ["-"] * len(COLUMNS)
        name = f"**{r['model']}**" if r["model"] in (GOLD, NOISE_ROW) else r["model"]
        line = [name, *cells, ratio, compute, *gaps, _verdict(r, noise)]
        lines.append("| " + " | ".join(line) + " |")
    return lines


def audit_table(summary: list[dict], setting: str) -> list[str]:
    """The checks beyond the paper, mean ± std over seeds."""
    lines = [
        "| method | " + " | ".join(t for _, t, _ in AUDIT_COLUMNS) + " | over-unlearning |",
        "|---" * (len(AUDIT_COLUMNS) + 2) + "|",
    ]
    for r in summary:
        if r["setting"] != setting or r["model"] == NOISE_ROW:
            continue
        if is_gold_row(r["model"]) and r["model"] != GOLD:
            continue
        digits = {1.0: 3, 100.0: 1}
        cells = [_pm(r[k], r[k + "_std"], sc, digits[sc]) for k, _, sc in AUDIT_COLUMNS]
        flag = "-" if r["model"] == GOLD else f"{r.get('over_unlearning', 0)}/{r['n']}"
        lines.append(f"| {r['model']} | {' | '.join(cells)} | {flag} |")
    return lines


LEGEND = [
    "Accuracies, MIA and MIA-Efficacy in %, mean ± std over seeds. Every gap is |method -",
    "gold| in points against gold 0 (the retrain with the original's seed), 0 is ideal:",
    "the **forgetting gap** averages Df accuracy, the loss MIA, MIA-Efficacy and the",
    "reference attack's AUC; the **utility gap** averages Dt and Dr accuracy; **avg gap**",
    "is the paper-style average over Dt, Df, Dr and the loss MIA (kept for continuity; it",
    "includes the loss MIA that loss matching is built to match). **gold vs gold** is the",
    "gap of golds retrained with other seeds to gold 0: the noise floor. **≈ gold**: the",
    "method's mean forgetting and utility gaps are both within the noise floor",
    '("indistinguishable from retraining here"). time / gold: wall time over gold 0\'s',
    "(the paper's rule); work / gold: the compute ratio, the run's sample passes over gold",
    "0's (a backward pass counts 2 forwards), which does not depend on load; \"faster than",
    'gold" below is judged by it.',
]


def _best_lines(summary: list[dict], setting: str) -> list[str]:
    best = best_methods(summary, setting)
    out = [""]
    for key, title in AGGREGATES.items():
        b = best[key]
        if b:
            out.append(
                f"Smallest {title} among methods faster than gold: **{b['model']}** "
                f"({100 * b[key]:.1f} points at {_cost(b)})."
            )
    noise = _noise(summary, setting)
    if noise:
        out.append(
            f"Noise floor (gold vs gold): forgetting {100 * (noise['gap_forgetting'] or 0):.1f}, "
            f"utility {100 * (noise['gap_utility'] or 0):.1f}, avg {100 * (noise['gap_avg'] or 0):.1f}"
            " points."
        )
        same = [r["model"] for r in _methods(summary, setting) if within_noise(r, noise)]
        out.append(
            "Indistinguishable from retraining here (both aggregates within the noise floor): "
            + (", ".join(f"**{m}**" for m in same) if same else "no method")
            + "."
        )
    b = best["fast_close"]
    out.append(
        f"Fastest within 3 points of gold on both aggregates: **{b['model']}** (forgetting "
        f"{100 * b['gap_forgetting']:.1f}, utility {100 * b['gap_utility']:.1f} at "
        f"{_cost(b)})."
        if b
        else "No method comes within 3 points of gold on both aggregates here."
    )
    return out


def markdown(rows: list[dict], info: dict) -> str:
    from speechforget.report_text import MIA_LEGEND

    summary = summarize(rows)
    cfg = info["config"]
    n_seeds = len(cfg["seeds"])
    out = [f"# Benchmark: {cfg['task']}, {cfg['mode']} unlearning, {cfg['backbone']} backbone", ""]
    out.append(f"Command: `{info.get('command', '')}`" if info.get("command") else "")
    out += ["", *LEGEND, f"{MIA_LEGEND}.", ""]
    for setting in dict.fromkeys(r["setting"] for r in summary):
        out += [f"## {setting_title(info, setting, n_seeds)}", ""]
        out += markdown_table(summary, setting)
        out += _best_lines(summary, setting)
        out += ["", 'Checks beyond the paper (README, "The report"):', ""]
        out += audit_table(summary, setting)
        out.append("")
    return "\n".join(out)


def _cost(r: dict) -> str:
    """e.g. "0.091 of gold's work, 0.052 of its time"."""
    time = "-" if r.get("time_ratio") is None else f"{r['time_ratio']:.3f}"
    if r.get("compute_ratio") is None:
        return f"{time} of gold's time"
    return f"{r['compute_ratio']:.3f} of gold's work, {time} of its time"


def write_outputs(
    rows: list[dict], info: dict, out: str | Path, figure: bool = True
) -> dict[str, Path]:
    """Write results.csv/.json/.md (and .html) under `out`; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / f"results.{k}" for k in ("csv", "json", "md")}
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with paths["csv"].open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    summary = summarize(rows)
    paths["json"].write_text(
        json.dumps({**info, "runs": rows, "summary": summary}, indent=1, default=str)
    )
    paths["md"].write_text(markdown(rows, info))
    if figure:
        from speechforget.viz.bench import bench_figure

        paths["html"] = out / "results.html"
        fig = bench_figure(summary, title=f"{info['config']['task']} · {info['config']['mode']}")
        fig.write_html(paths["html"], include_plotlyjs=True)
    return paths


def noise_floor(summary: list[dict], info: dict) -> dict | None:
    """The floor of one bench (its summary and info, as in results.json) for the app
    (speechforget.noisefloor): the gold-vs-gold row, pooled over settings."""
    rows = [r for r in summary if r["model"] == NOISE_ROW]
    row = next((r for r in rows if r["setting"] == "all"), rows[0] if rows else None)
    if row is None:
        return None
    cfg = info["config"]
    return {
        "utility": row["gap_utility"],
        "forgetting": row["gap_forgetting"],
        "avg": row["gap_avg"],
        "k": cfg.get("golds"),
        "sets": len(cfg["seeds"]) * (len(cfg["ratios"]) if cfg["mode"] == "sample" else 1),
        "source": info.get("command", ""),
    }
