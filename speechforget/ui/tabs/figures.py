"""The figures under the run: confusion matrices (on a chosen subset), the membership
view (per-clip loss histograms) and the embedding maps before / after."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from speechforget.ui import views


@dataclass
class FiguresPanel:
    cm_subset: gr.Radio
    confusion: gr.Plot
    mia: gr.Plot
    embedding: gr.Plot


def build() -> FiguresPanel:
    with gr.Row(equal_height=False), gr.Column():
        cm_subset = gr.Radio(
            ["test", "forget", "retain"],
            value="test",
            label="Confusion matrices on",
            elem_id="cm-subset",
        )
        confusion = gr.Plot(
            views.confusion_figure(None),
            label="Confusion matrices before / after",
            elem_id="confusion-plot",
        )
    mia = gr.Plot(
        views.mia_figure(None),
        elem_id="mia-plot",
        label="Membership view: per-sample loss of forget vs retain vs test clips",
    )
    embedding = gr.Plot(
        views.embedding_figure(None)[0],
        elem_id="embedding-plot",
        label="Embeddings before / after, coloured by class; ◆ = forget clips",
    )
    return FiguresPanel(cm_subset, confusion, mia, embedding)
