"""Membership-inference view: per-sample loss of forget vs retain vs test clips, per model.

A loss attack calls a clip a member (trained on) when its loss is low. Before
unlearning, forget clips sit with the retain clips (low loss); after good
unlearning they move to where the test clips are, as they do for the gold model.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from speechforget.viz.style import MODEL_TITLES, SUBSET_COLORS, SUBSET_TITLES, finish

FLOOR = 1e-6  # losses of perfectly fit clips, clipped so the log scale shows them


def mia_histograms(losses: Mapping[str, Mapping[str, np.ndarray]], bins: int = 40) -> go.Figure:
    """losses: {model name: {"forget"|"retain"|"test": (N,) per-sample CE in nats}}.

    One panel per model, overlaid density histograms of log10(loss), shared bins so
    panels compare directly."""
    names = list(losses)
    every = [np.asarray(v, float) for m in names for v in losses[m].values() if len(v)]
    allv = np.log10(np.maximum(np.concatenate(every), FLOOR)) if every else np.zeros(1)
    allv = allv[np.isfinite(allv)] if np.isfinite(allv).any() else np.zeros(1)
    lo, hi = float(allv.min()), float(max(allv.max(), allv.min() + 1e-3))
    size = (hi - lo) / bins
    fig = make_subplots(
        rows=1,
        cols=max(1, len(names)),
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=[MODEL_TITLES.get(m, m) for m in names],
    )
    for j, m in enumerate(names):
        for subset, values in losses[m].items():
            v = np.log10(np.maximum(np.nan_to_num(np.asarray(values, float), nan=1e3), FLOOR))
            fig.add_trace(
                go.Histogram(
                    x=v,
                    xbins=dict(start=lo, end=hi + size, size=size),
                    histnorm="probability",
                    name=f"{SUBSET_TITLES.get(subset, subset)} (n={len(v)})" if j == 0 else subset,
                    legendgroup=subset,
                    showlegend=j == 0,
                    opacity=0.55,
                    marker_color=SUBSET_COLORS.get(subset),
                ),
                row=1,
                col=j + 1,
            )
    ticks = np.arange(np.floor(lo), np.ceil(hi) + 1)
    fig.update_xaxes(
        title_text="per-sample loss (log scale)",
        tickvals=ticks,
        ticktext=[f"1e{int(t)}" if t < -1 or t > 1 else f"{10**t:g}" for t in ticks],
    )
    fig.update_yaxes(title_text="share of clips", row=1, col=1)
    return finish(fig, 330, "mia", barmode="overlay")
