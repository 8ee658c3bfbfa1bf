"""A run's results as the app shows them: figures (via speechforget.viz) and tables.

Inputs are pipeline Results handled through speechforget.explore, so nothing here
touches a tensor; outputs are plotly Figures, lists of rows and Markdown strings.
"""

from __future__ import annotations

import math

from speechforget import explore, viz
from speechforget.evaluation import MIA_AUC_LEGEND, MIA_EFFICACY_LEGEND
from speechforget.viz.style import empty_figure

PENDING = "…"
MODEL_NAMES = {"original": "original", "unlearned": "unlearned", "retrain": "gold"}
METRIC_ROWS = (  # (label, key, shown as %, ideal)
    ("Dt accuracy (test)", "test_acc", True, "= gold"),
    ("Dt acc, retained classes", "test_retained_acc", True, "= gold"),
    ("Dt acc, forgotten classes", "test_forgotten_acc", True, "= gold (≈ 0)"),
    ("Df accuracy (forget)", "forget_acc", True, "= gold"),
    ("Dr accuracy (retain)", "retain_acc", True, "= gold"),
    ("MIA: % of Df called non-member ★", "mia", True, "= gold (higher = looks unseen)"),
    ("MIA-Efficacy (%)", "mia_efficacy", True, "= gold"),
    ("forget-vs-test attack AUC", "mia_auc", False, "0.5"),
    ("wall time (s)", "time_s", None, "unlearned ≪ gold"),
)
METRIC_HEADERS = ["metric", "original", "unlearned", "gold (retrained)", "|gap| to gold", "ideal"]
RUN_HEADERS = [
    "run",
    "task",
    "forget",
    "method",
    "seed",
    "Dt acc",
    "Df acc",
    "Dr acc",
    "MIA ★",
    "avg |gap|",
    "time (s)",
    "time / gold",
]

MIA_NOTE = (
    "**★ Which MIA number is shown:** the paper's loss-based attack (Cheng & Amiri 2025, Table 1): "
    "a logistic regression on each clip's loss, fit on retain clips (members) vs test clips "
    "(non-members), then applied to the forget clips; the number is the **% of forget clips it "
    "calls non-member**. Higher means the forget clips look unseen, but **the target is the gold "
    "model's value, not 100** (the original scores low). **|gap| to gold** = |unlearned − gold| "
    "in percentage points: **lower is better, 0 is ideal**.  \n"
    f"{MIA_EFFICACY_LEGEND}.  \n{MIA_AUC_LEGEND}."
)


def _fmt(v, percent: bool | None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if percent is None:
        return f"{v:.1f}"
    return f"{100 * v:.1f}" if percent else f"{v:.3f}"


def metrics_rows(report: dict, gold_pending: bool = False) -> list[list[str]]:
    """Rows of the metrics table (METRIC_HEADERS) from a report dict; rows no model defines
    (e.g. forgotten-class accuracy under sample unlearning) are left out."""
    models = report.get("models", {})
    rows = []
    for label, key, pct, ideal in METRIC_ROWS:
        vals = [models.get(m, {}).get(key) for m in ("original", "unlearned", "retrain")]
        if all(v is None for v in vals) and key not in ("mia", "forget_acc", "time_s"):
            continue
        cells = [_fmt(v, pct) for v in vals]
        if gold_pending:
            cells[2] = PENDING
        if key == "time_s":
            gap = PENDING if gold_pending else _ratio(vals[1], vals[2])
        elif gold_pending:
            gap = PENDING
        else:
            u, g = vals[1], vals[2]
            gap = _fmt(None if u is None or g is None else abs(u - g), pct)
        rows.append([label, *cells, gap, ideal])
    avg = (report.get("gap_to_retrain") or {}).get("avg")
    rows.append(
        [
            "avg |gap| (Dt, Df, Dr, MIA)",
            "",
            "",
            "",
            PENDING if gold_pending else _fmt(avg, True),
            "0",
        ]
    )
    return rows


def _ratio(u, g) -> str:
    if u is None or not g:
        return "-"
    return f"ratio {u / g:.2f}"


def run_row(n: int, report: dict, gold_pending: bool) -> list:
    """One row of the session's comparison table (RUN_HEADERS)."""
    cfg, models = report["config"], report["models"]
    u = models.get("unlearned", {})
    avg = (report.get("gap_to_retrain") or {}).get("avg")
    ratio = report.get("time_ratio")
    method = cfg["method"] + (" +SuperLoss" if cfg.get("superloss") else "")
    return [
        n,
        cfg["task"],
        cfg["forget"],
        method,
        cfg["seed"],
        _fmt(u.get("test_acc"), True),
        _fmt(u.get("forget_acc"), True),
        _fmt(u.get("retain_acc"), True),
        _fmt(u.get("mia"), True),
        PENDING if gold_pending else _fmt(avg, True),
        _fmt(u.get("time_s"), None),
        PENDING if gold_pending else ("-" if ratio is None else f"{ratio:.2f}"),
    ]


def loss_figure(history: dict, totals: dict, gold_note: str = ""):
    return viz.loss_curves(
        history.get("unlearned", []),
        history.get("retrain", []),
        totals.get("unlearned"),
        totals.get("retrain"),
        gold_note,
    )


def confusion_figure(res, subset: str = "test"):
    if res is None or "unlearned" not in res.evals:
        return empty_figure("run an experiment to see the confusion matrices")
    mats = {m: explore.confusion(res, m, subset) for m in explore.models_of(res)}
    return viz.confusion_figure(mats, res.ctx.task.class_names, subset, res.split.forgotten_classes)


def mia_figure(res):
    if res is None or "unlearned" not in res.evals:
        return empty_figure("run an experiment to see the loss distributions")
    return viz.mia_histograms({m: explore.subset_losses(res, m) for m in explore.models_of(res)})


def embedding_figure(res, wait_s: float = 0.0, method: str = "auto"):
    """(figure, projection used)."""
    if res is None or "unlearned" not in res.evals:
        return empty_figure("run an experiment to see the embeddings"), ""
    s = explore.embedding_sample(res)
    before, after, used = viz.project_2d(s["before"], s["after"], res.config.seed, method, wait_s)
    fig = viz.embedding_figure(
        before,
        after,
        s["labels"],
        res.ctx.task.class_names,
        s["forget"],
        method=used,
        hover=s["hover"],
    )
    return fig, used


def clip_figure(probs: dict, class_names: list[str], true_class: int | None):
    return viz.topk_bars(probs, class_names, k=5, true_class=true_class)


def warm_up_figures() -> None:
    """Build one small figure of each kind: plotly loads its validators on first use
    (about a second), which the first visitor's run would otherwise pay for."""
    import numpy as np

    z = np.eye(2, dtype=int)
    viz.confusion_figure({"original": z, "unlearned": z}, ["a", "b"])
    viz.mia_histograms({"original": {"forget": np.ones(3), "test": np.ones(3)}})
    xy = np.zeros((2, 2))
    viz.embedding_figure(xy, xy, np.array([0, 1]), ["a", "b"], np.array([True, False]))
    viz.topk_bars({"original": np.array([0.5, 0.5])}, ["a", "b"])
    viz.loss_curves([{"step": 1, "forget_loss": 1.0, "retain_loss": 1.0}])
