"""Top-k predictions of several models for one clip, as horizontal bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from speechforget.viz.style import MODEL_COLORS, MODEL_TITLES, finish


def topk_bars(
    probs: Mapping[str, np.ndarray],
    class_names: Sequence[str],
    k: int = 5,
    true_class: int | None = None,
) -> go.Figure:
    """probs: {model name: (C,) probabilities}. One panel per model with its k most
    likely classes (highest on top); `true_class` is drawn in bold."""
    names = list(probs)
    fig = make_subplots(
        rows=1,
        cols=max(1, len(names)),
        horizontal_spacing=0.12,
        subplot_titles=[MODEL_TITLES.get(m, m) for m in names],
    )
    for j, m in enumerate(names):
        p = np.asarray(probs[m], dtype=float)
        top = np.argsort(-p)[: min(k, len(p))][::-1]
        labels = [f"<b>{class_names[c]}</b>" if c == true_class else class_names[c] for c in top]
        fig.add_trace(
            go.Bar(
                x=p[top],
                y=labels,
                orientation="h",
                name=MODEL_TITLES.get(m, m),
                marker_color=MODEL_COLORS.get(m, "#888"),
                showlegend=False,
                text=[f"{v:.0%}" for v in p[top]],
                textposition="auto",
                hovertemplate="%{y}: %{x:.1%}<extra></extra>",
            ),
            row=1,
            col=j + 1,
        )
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    return finish(fig, 260, "topk")
