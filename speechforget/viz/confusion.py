"""Confusion matrices of several models side by side (rows: true class, columns: predicted)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from speechforget.viz.style import MODEL_TITLES, finish


def confusion_figure(
    matrices: Mapping[str, np.ndarray],
    class_names: Sequence[str],
    subset: str = "test",
    highlight: Sequence[int] = (),
) -> go.Figure:
    """matrices: {model name: (C, C) int counts}; shown row-normalised (share of each true
    class), counts on hover. `highlight` marks the forgotten classes' rows."""
    names = list(matrices)
    n = len(class_names)
    fig = make_subplots(
        rows=1,
        cols=max(1, len(names)),
        horizontal_spacing=0.06,
        subplot_titles=[f"{MODEL_TITLES.get(k, k)}: {subset} clips" for k in names],
    )
    labels = [f"<b>{c}</b>" if i in set(highlight) else c for i, c in enumerate(class_names)]
    text = n <= 16  # numbers in cells only while they stay readable
    for j, key in enumerate(names):
        cm = np.asarray(matrices[key], dtype=float)
        share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        fig.add_trace(
            go.Heatmap(
                z=share,
                x=labels,
                y=labels,
                zmin=0,
                zmax=1,
                colorscale="Blues",
                customdata=cm,
                showscale=j == len(names) - 1,
                colorbar=dict(title="share", thickness=10),
                text=cm.astype(int).astype(str) if text else None,
                texttemplate="%{text}" if text else None,
                hovertemplate="true %{y}<br>predicted %{x}<br>%{customdata:.0f} clips (%{z:.0%})<extra></extra>",
            ),
            row=1,
            col=j + 1,
        )
        fig.update_yaxes(autorange="reversed", row=1, col=j + 1, showticklabels=j == 0)
    fig.update_xaxes(title_text="predicted", tickangle=-45)
    fig.update_yaxes(title_text="true", row=1, col=1)
    return finish(fig, 380 if n <= 16 else 520, f"confusion-{subset}")
