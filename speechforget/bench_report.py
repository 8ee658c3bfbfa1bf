"""Benchmark outputs: results.csv (one row per run), results.json (rows, summary, config),
results.md (the paper's table: Dt, Df, Dr, MIA, time, mean +- std over seeds, the
gold row, each method's average gap to gold, its time as a fraction of gold's and its
work as a fraction of gold's: the compute ratio, which does not depend on load)
and results.html (forget vs test accuracy per method; plotly, from speechforget.viz)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from speechforget.bench import GOLD, ORIGINAL, summarize

COLUMNS = (("test_acc", "Dt"), ("forget_acc", "Df"), ("retain_acc", "Dr"), ("mia", "MIA"))


def _pm(mean: float | None, std: float | None, scale: float = 100.0, digits: int = 1) -> str:
    if mean is None:
        return "-"
    text = f"{scale * mean:.{digits}f}"
    return text + (f" ± {scale * std:.{digits}f}" if std is not None else "")


def cost_ratio(r: dict) -> float:
    """What "faster than gold" is judged by: the compute ratio (work / gold's work, which does
    not depend on load), the wall-clock ratio where the work is unknown."""
    c = r.get("compute_ratio")
    return c if c is not None else (r.get("time_ratio") or 0)


def best_methods(summary: list[dict], setting: str) -> dict[str, dict | None]:
    """'closest': the smallest average gap among methods cheaper than gold (cost_ratio < 1);
    'fast_close': the cheapest method within 3 points of gold (None when none is)."""
    rows = [
        r
        for r in summary
        if r["setting"] == setting
        and r["model"] not in (GOLD, ORIGINAL)
        and r.get("gap_avg") is not None
    ]
    faster = [r for r in rows if cost_ratio(r) < 1]
    close = [r for r in rows if r["gap_avg"] <= 0.03]
    return {
        "closest": min(faster, key=lambda r: r["gap_avg"]) if faster else None,
        "fast_close": min(close, key=cost_ratio) if close else None,
    }


def setting_title(info: dict, setting: str, n_seeds: int) -> str:
    cfg = info["config"]
    what = {"sample": "sample unlearning", "class": "class unlearning"}[cfg["mode"]]
    detail = "all ratios pooled" if setting == "all" else setting
    if cfg["mode"] == "sample" and setting != "all":
        detail = f"{setting} of the training clips"
    elif cfg["mode"] == "class":
        unit = "keyword" if cfg["task"] == "kws" else "speaker"
        detail = (
            f"{cfg['classes']} {unit}{'s' if cfg['classes'] > 1 else ''} per run, drawn by seed"
        )
    return f"{cfg['task']} · {what} · {detail} ({n_seeds} seeds)"


def markdown_table(summary: list[dict], setting: str) -> list[str]:
    lines = [
        "| method | Dt | Df | Dr | MIA | time (s) | time / gold | work / gold | avg gap to gold |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in (r for r in summary if r["setting"] == setting):
        cells = [_pm(r[k], r[k + "_std"]) for k, _ in COLUMNS]
        t = _pm(r["time_s"], r["time_s_std"], 1.0, 1)
        ratio = "-" if r["time_ratio"] is None else f"{r['time_ratio']:.3f}"
        if r.get("budget_hit"):
            ratio += f" (budget hit {r['budget_hit']}/{r['n']})"
        work = "-" if r.get("compute_ratio") is None else f"{r['compute_ratio']:.3f}"
        gap = _pm(r["gap_avg"], r["gap_avg_std"])
        name = f"**{r['model']}**" if r["model"] == GOLD else r["model"]
        lines.append(f"| {name} | {' | '.join(cells)} | {t} | {ratio} | {work} | {gap} |")
    return lines


def markdown(rows: list[dict], info: dict) -> str:
    from speechforget.report import MIA_LEGEND

    summary = summarize(rows)
    cfg = info["config"]
    n_seeds = len(cfg["seeds"])
    out = [f"# Benchmark: {cfg['task']}, {cfg['mode']} unlearning, {cfg['backbone']} backbone", ""]
    out.append(f"Command: `{info.get('command', '')}`" if info.get("command") else "")
    out += [
        "",
        "Accuracies and MIA in %, mean ± std over seeds; time in seconds; avg gap to gold",
        "= mean of |unlearned - gold| over Dt, Df, Dr and MIA, in points (0 is ideal).",
        "work / gold = the compute ratio: the run's sample passes over the gold retrain's",
        '(a backward pass counts 2 forwards), which does not depend on load; "faster than',
        'gold" below is judged by it.',
        f"{MIA_LEGEND}.",
        "",
    ]
    for setting in dict.fromkeys(r["setting"] for r in summary):
        out += [f"## {setting_title(info, setting, n_seeds)}", ""]
        out += markdown_table(summary, setting)
        best = best_methods(summary, setting)
        if best["closest"]:
            b = best["closest"]
            out += [
                "",
                f"Closest to gold among methods faster than gold: **{b['model']}** "
                f"(avg gap {100 * b['gap_avg']:.1f} points at {_cost(b)}).",
            ]
        if best["fast_close"]:
            b = best["fast_close"]
            out += [
                f"Fastest within 3 points of gold: **{b['model']}** (avg gap "
                f"{100 * b['gap_avg']:.1f} at {_cost(b)})."
            ]
        else:
            out += ["No method comes within 3 points of gold here."]
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
