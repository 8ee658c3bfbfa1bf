"""Shared colours and layout defaults for every figure."""

from __future__ import annotations

import plotly.express as px
import plotly.graph_objects as go

# one colour per model, used by every figure that compares them
MODEL_COLORS = {"original": "#636efa", "unlearned": "#ef553b", "retrain": "#00a67e"}
MODEL_TITLES = {"original": "original", "unlearned": "unlearned", "retrain": "gold (retrained)"}
# one colour per subset of clips
SUBSET_COLORS = {"forget": "#ef553b", "retain": "#636efa", "test": "#00a67e"}
SUBSET_TITLES = {"forget": "forget (Df)", "retain": "retain (Dr)", "test": "test (Dt)"}


def class_colors(n: int) -> list[str]:
    """n distinguishable colours (cycled beyond 24)."""
    palette = px.colors.qualitative.Dark24 if n > 10 else px.colors.qualitative.Plotly
    return [palette[i % len(palette)] for i in range(n)]


def finish(fig: go.Figure, height: int, revision: str, **layout) -> go.Figure:
    """Common layout: compact margins, legend on top, `uirevision` keeps the user's zoom."""
    fig.update_layout(
        height=height,
        margin=dict(l=50, r=10, t=70, b=45),
        uirevision=revision,
        legend=dict(orientation="h", yanchor="bottom", y=1.1, x=1, xanchor="right"),
        template="plotly_white",
        **layout,
    )
    return fig


def empty_figure(message: str, height: int = 300) -> go.Figure:
    """A blank figure that says why it is blank (e.g. 'run an experiment first')."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font=dict(size=14, color="#666"),
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return finish(fig, height, "empty")
