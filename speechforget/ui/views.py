"""A run's results as the app shows them: figures (via speechforget.viz) and tables.

Inputs are `RunView`s (speechforget.runview) and the session's step log, so nothing
here touches a Result or a tensor; outputs are plotly Figures, lists of rows and
Markdown strings. The row labels, headers and the MIA legend come from
speechforget.report, shared with the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from speechforget import cost, report_text, viz
from speechforget.runview import RunView
from speechforget.viz.style import empty_figure

if TYPE_CHECKING:
    from speechforget.engine import StepLog

PENDING = report_text.PENDING
MODEL_NAMES = {"original": "original", "unlearned": "unlearned", "retrain": "gold"}
METRIC_HEADERS = report_text.TABLE_HEADERS
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
    "work / gold",
]
MIA_NOTE = report_text.MIA_NOTE
metrics_rows = report_text.table_rows
speed_verdict = cost.speed_verdict  # compute ratio first: work does not depend on load


@dataclass(frozen=True)
class Projection:
    """How an embedding map was drawn."""

    method: str = ""  # "umap" | "pca" ("" before any map)
    label: str = ""  # as the figure's titles name it, e.g. "PCA (UMAP still warming up)"
    provisional: bool = False  # PCA while UMAP warms up: worth redrawing later


def run_row(n: int, rep: dict, gold_pending: bool) -> list:
    """One row of the session's comparison table (RUN_HEADERS)."""
    cfg, models = rep["config"], rep["models"]
    u = models.get("unlearned", {})
    avg = (rep.get("gap_to_retrain") or {}).get("avg")
    ratio = rep.get("time_ratio")
    method = cfg["method"] + (" +SuperLoss" if cfg.get("superloss") else "")
    pct = [report_text.fmt(u.get(k), "%") for k in ("test_acc", "forget_acc", "retain_acc", "mia")]
    return [
        n,
        cfg["task"],
        cfg["forget"],
        method,
        cfg["seed"],
        *pct,
        PENDING if gold_pending else report_text.fmt(avg, "%"),
        report_text.fmt(u.get("time_s"), "s"),
        PENDING if gold_pending else ("-" if ratio is None else f"{ratio:.2f}"),
        PENDING if gold_pending else report_text.fmt(rep.get("compute_ratio"), "frac"),
    ]


def loss_figure(history: dict, totals: dict, gold_note: str = ""):
    """The live loss curves from the session's step log ({which: [StepLog.to_dict()]})."""
    return viz.loss_curves(
        history.get("unlearned", []),
        history.get("retrain", []),
        totals.get("unlearned"),
        totals.get("retrain"),
        gold_note,
    )


def live_status(which: str, log: StepLog, elapsed: float) -> str:
    """The status line while a phase streams: its step, loss and time so far."""
    total = log.total_steps or "?"
    if which == "retrain":
        if log.phase == "cached":
            return "**Gold retrain**: loaded from the cache (this forget set was retrained before)."
        return f"**Gold retrain** (the yardstick): step {log.step}/{total}, {elapsed:.0f} s"
    loss = log.forget_loss if log.forget_loss is not None else log.retain_loss
    shown = "-" if loss is None else f"{loss:.3f}"
    return f"**Unlearning**: step {log.step}/{total}, loss {shown}, {elapsed:.1f} s"


def gold_note(history: dict) -> str:
    """The loss figure's note on the gold curve ("loaded from cache" when it was)."""
    gold = history.get("retrain") or []
    return "loaded from cache" if gold and gold[-1].get("phase") == "cached" else ""


def _shown(view: RunView | None) -> bool:
    return view is not None and view.has_unlearned


def confusion_figure(view: RunView | None, subset: str = "test"):
    if not _shown(view):
        return empty_figure("run an experiment to see the confusion matrices")
    mats = view.confusions[subset]
    return viz.confusion_figure(mats, view.class_names, subset, view.forgotten_classes)


def mia_figure(view: RunView | None):
    if not _shown(view):
        return empty_figure("run an experiment to see the loss distributions")
    return viz.mia_histograms(view.losses)


def embedding_figure(
    view: RunView | None, wait_s: float = 0.0, method: str = "auto", fit_wait_s=None
):
    """(figure, Projection used). method: "auto" (UMAP once warmed up, waiting at most
    wait_s for it and fit_wait_s for the fit, else PCA), "umap" or "pca"."""
    if not _shown(view):
        return empty_figure("run an experiment to see the embeddings"), Projection()
    s = view.embeddings
    before, after, used = viz.project_2d(s.before, s.after, view.seed, method, wait_s, fit_wait_s)
    fig = viz.embedding_figure(
        before, after, s.labels, view.class_names, s.forget, method=used, hover=s.hover
    )
    return fig, _projection(method, used)


def _projection(asked: str, used: str) -> Projection:
    # provisional: "auto" fell back to PCA because UMAP's worker is still compiling, or its
    # fit is still running (not because UMAP failed, which a redraw would not mend)
    waiting = viz.projection_status() == "warming" or used == viz.UMAP_COMPUTING
    provisional = asked == "auto" and used != "UMAP" and waiting
    return Projection("umap" if used == "UMAP" else "pca", used, provisional)


def clip_figure(probs: dict, class_names: list[str], true_class: int | None):
    return viz.topk_bars(probs, class_names, k=5, true_class=true_class)


def warm_up_figures() -> None:
    """Build one small figure of each kind: plotly loads its validators on first use
    (about a second), which the first visitor's run would otherwise pay for."""
    z = np.eye(2, dtype=int)
    viz.confusion_figure({"original": z, "unlearned": z}, ["a", "b"])
    viz.mia_histograms({"original": {"forget": np.ones(3), "test": np.ones(3)}})
    xy = np.zeros((2, 2))
    viz.embedding_figure(xy, xy, np.array([0, 1]), ["a", "b"], np.array([True, False]))
    viz.topk_bars({"original": np.array([0.5, 0.5])}, ["a", "b"])
    viz.loss_curves([{"step": 1, "forget_loss": 1.0, "retain_loss": 1.0}])
