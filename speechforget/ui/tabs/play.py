"""The "Play & predict" tab: pick a clip of the run's forget, retain or test set, listen
to it and see the models' top predictions before and after."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr


@dataclass
class PlayTab:
    subset: gr.Radio
    pick: gr.Dropdown
    audio: gr.Audio
    bars: gr.Plot
    caption: gr.Markdown


def build() -> PlayTab:
    with gr.Tab("Play & predict", elem_id="tab-play"):
        with gr.Row():
            subset = gr.Radio(
                ["forget", "retain", "test"],
                value="forget",
                label="Clips from",
                elem_id="clip-subset",
            )
            pick = gr.Dropdown([], label="Clip", elem_id="clip-pick")
        with gr.Row():
            audio = gr.Audio(label="Listen", interactive=False, elem_id="clip-audio")
            bars = gr.Plot(label="Top predictions before / after", elem_id="clip-bars")
        caption = gr.Markdown(elem_id="clip-caption")
    return PlayTab(subset, pick, audio, bars, caption)
