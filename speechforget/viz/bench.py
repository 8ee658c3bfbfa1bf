"""The benchmark figure: forget accuracy against test accuracy, one point per method
(mean over seeds, error bars = std), the gold retrain marked as a star, the original
as a diamond; one panel per forget setting."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from speechforget.viz.style import MODEL_COLORS, class_colors, finish

GOLD, ORIGINAL = "retrain (gold)", "original"


def bench_figure(summary: Sequence[dict], title: str = "") -> go.Figure:
    """summary: rows with setting, model, forget_acc(_std), test_acc(_std) (fractions),
    as speechforget.bench.summarize returns them."""
    settings = list(dict.fromkeys(r["setting"] for r in summary))
    models = list(dict.fromkeys(r["model"] for r in summary))
    colors = dict(zip(models, class_colors(len(models))))
    colors.update({GOLD: MODEL_COLORS["retrain"], ORIGINAL: MODEL_COLORS["original"]})
    fig = make_subplots(
        rows=1,
        cols=max(1, len(settings)),
        shared_yaxes=True,
        subplot_titles=[f"{title} · {s}" if title else s for s in settings],
    )
    for j, setting in enumerate(settings):
        for r in (r for r in summary if r["setting"] == setting):
            m = r["model"]
            if r.get("forget_acc") is None or r.get("test_acc") is None:
                continue
            symbol, size = {GOLD: ("star", 18), ORIGINAL: ("diamond", 12)}.get(m, ("circle", 10))
            fig.add_trace(
                go.Scatter(
                    x=[100 * r["forget_acc"]],
                    y=[100 * r["test_acc"]],
                    mode="markers",
                    name=m,
                    legendgroup=m,
                    showlegend=j == 0,
                    marker=dict(
                        symbol=symbol, size=size, color=colors[m], line=dict(width=1, color="#333")
                    ),
                    error_x=dict(
                        type="data", array=[100 * (r.get("forget_acc_std") or 0)], thickness=1
                    ),
                    error_y=dict(
                        type="data", array=[100 * (r.get("test_acc_std") or 0)], thickness=1
                    ),
                    hovertemplate=f"{m}<br>Df %{{x:.1f}}%<br>Dt %{{y:.1f}}%<extra>{setting}</extra>",
                ),
                row=1,
                col=j + 1,
            )
        fig.update_xaxes(title_text="forget accuracy Df (%)", row=1, col=j + 1)
    fig.update_yaxes(title_text="test accuracy Dt (%)", row=1, col=1)
    return finish(fig, 420, "bench")
