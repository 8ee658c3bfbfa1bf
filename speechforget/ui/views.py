"""A run's results as the app shows them: figures (via speechforget.viz) and tables.

Inputs are pipeline Results handled through speechforget.explore, so nothing here
touches a tensor; outputs are plotly Figures, lists of rows and Markdown strings.
"""

from __future__ import annotations

from speechforget import explore, report, viz
from speechforget.viz.style import empty_figure

PENDING = report.PENDING
MODEL_NAMES = {"original": "original", "unlearned": "unlearned", "retrain": "gold"}
METRIC_HEADERS = report.TABLE_HEADERS
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
MIA_NOTE = report.MIA_NOTE
metrics_rows = report.table_rows


def run_row(n: int, rep: dict, gold_pending: bool) -> list:
    """One row of the session's comparison table (RUN_HEADERS)."""
    cfg, models = rep["config"], rep["models"]
    u = models.get("unlearned", {})
    avg = (rep.get("gap_to_retrain") or {}).get("avg")
    ratio = rep.get("time_ratio")
    method = cfg["method"] + (" +SuperLoss" if cfg.get("superloss") else "")
    pct = [report.fmt(u.get(k), "%") for k in ("test_acc", "forget_acc", "retain_acc", "mia")]
    return [
        n,
        cfg["task"],
        cfg["forget"],
        method,
        cfg["seed"],
        *pct,
        PENDING if gold_pending else report.fmt(avg, "%"),
        report.fmt(u.get("time_s"), "s"),
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
