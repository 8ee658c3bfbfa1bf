"""Live loss curves: forget and retain loss per step, unlearning run beside the gold retrain."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from speechforget.viz.style import SUBSET_COLORS, finish

MAX_POINTS = 400  # each UI update ships the whole figure: keep it small


def _downsample(steps: np.ndarray, values: np.ndarray, n: int = MAX_POINTS):
    """At most n points, always keeping the last one (the live edge)."""
    if len(steps) <= n:
        return steps, values
    keep = np.unique(np.r_[np.linspace(0, len(steps) - 1, n).astype(int), len(steps) - 1])
    return steps[keep], values[keep]


def _series(history: Sequence[Mapping], key: str) -> tuple[np.ndarray, np.ndarray]:
    pts = [(h["step"], h[key]) for h in history if h.get(key) is not None]
    if not pts:
        return np.zeros(0), np.zeros(0)
    s, v = np.array(pts, dtype=float).T
    return _downsample(s, v)


def loss_curves(
    unlearn: Sequence[Mapping] = (),
    gold: Sequence[Mapping] = (),
    unlearn_total: int | None = None,
    gold_total: int | None = None,
    gold_note: str = "",
) -> go.Figure:
    """Two panels, x = optimiser step, y = batch-mean cross-entropy (log scale).

    unlearn, gold: step logs as dicts with "step", "forget_loss", "retain_loss"
    (None where a step had no such batch). The gold retrain only logs its training
    loss, which is a retain loss. *_total fix the x range so progress is visible.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        horizontal_spacing=0.08,
        subplot_titles=(
            "unlearning run",
            "gold retrain (retain clips only)" + (f" - {gold_note}" if gold_note else ""),
        ),
    )
    for col, hist in ((1, unlearn), (2, gold)):
        for key, name in (("forget_loss", "forget"), ("retain_loss", "retain")):
            if col == 2 and key == "forget_loss":
                continue  # the gold retrain never sees the forget clips
            s, v = _series(hist, key)
            fig.add_trace(
                go.Scatter(
                    x=s,
                    y=v,
                    mode="lines+markers" if len(s) < 30 else "lines",
                    name=f"{name} loss",
                    legendgroup=name,
                    showlegend=col == 1,
                    line=dict(color=SUBSET_COLORS[name], width=2),
                ),
                row=1,
                col=col,
            )
    for col, total in ((1, unlearn_total), (2, gold_total)):
        if total:
            fig.update_xaxes(range=[0, total * 1.02], row=1, col=col)
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(type="log", title_text="loss (CE, nats)", row=1, col=1)
    fig.update_yaxes(type="log", row=1, col=2)
    return finish(fig, 320, "loss")
