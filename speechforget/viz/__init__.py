"""Figures: pure functions from numpy arrays (and plain lists) to plotly Figures.

Nothing here knows about models, tensors or Gradio, so every figure can be unit
tested and reused by a notebook or the CLI. Titles live in subplot titles, not in
`layout.title` (gr.Plot adds a tall top margin when a figure has a title).
"""

from speechforget.viz.bars import topk_bars
from speechforget.viz.confusion import confusion_figure
from speechforget.viz.curves import loss_curves
from speechforget.viz.embedding import (
    UMAP_COMPUTING,
    embedding_figure,
    project_2d,
    projection_status,
    subsample_positions,
    warm_up_umap,
)
from speechforget.viz.mia import mia_histograms

__all__ = [
    "UMAP_COMPUTING",
    "confusion_figure",
    "embedding_figure",
    "loss_curves",
    "mia_histograms",
    "project_2d",
    "projection_status",
    "subsample_positions",
    "topk_bars",
    "warm_up_umap",
]
