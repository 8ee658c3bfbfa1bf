"""The right-hand column: the status line, the live loss curves and the metrics table of
the original, unlearned and gold models, with the MIA legend under it."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from speechforget.ui import views


@dataclass
class LivePanel:
    status: gr.Markdown
    loss: gr.Plot
    metrics: gr.Dataframe


def build() -> LivePanel:
    with gr.Column(scale=3):
        status = gr.Markdown(
            "Pick what to forget and a method, then press **Run**.",
            elem_id="status",
            min_height=48,
        )
        loss = gr.Plot(views.loss_figure({}, {}), label="Live loss curves", elem_id="loss-plot")
        metrics = gr.Dataframe(
            headers=views.METRIC_HEADERS,
            label="Original / unlearned / gold",
            interactive=False,
            elem_id="metrics",
            wrap=True,
            column_widths=["30%", "11%", "11%", "13%", "11%", "24%"],
        )
        gr.Markdown(views.MIA_NOTE, elem_id="mia-note")
    return LivePanel(status, loss, metrics)
