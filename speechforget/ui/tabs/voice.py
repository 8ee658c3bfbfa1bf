"""The "Check a clip" tab: record or upload a clip, say what is in it, and see what the
original, unlearned and gold models make of it (with example clips from assets/clips)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from speechforget.ui import controls

CLIPS = Path(__file__).resolve().parents[3] / "assets" / "clips"
HELP = (
    "Record or upload a clip (wav, flac, ogg, mp3; any sample rate or channel "
    "count; the loudest second is used, at most 30 s and 10 MB)."
)
NOTES = {
    "trained": "heard in training",
    "new_speaker": "a speaker never heard",
    "test": "test clip",
}


@dataclass
class VoiceTab:
    clip: gr.Audio
    said: gr.Dropdown
    predict: gr.Button
    bars: gr.Plot
    verdict: gr.Markdown


def build(class_names: list[str]) -> VoiceTab:
    with gr.Tab("Check a clip", elem_id="tab-voice"):
        gr.Markdown(HELP)
        with gr.Row():
            with gr.Column():
                clip = gr.Audio(
                    sources=["upload", "microphone"],
                    type="filepath",
                    label="Your clip",
                    elem_id="clip",
                )
                said = gr.Dropdown(
                    [controls.SAID_ORIGINAL, *class_names],
                    value=controls.SAID_ORIGINAL,
                    label="What is said (or who speaks)",
                    elem_id="said",
                )
                predict = gr.Button("Predict", variant="primary", elem_id="predict")
                _examples(clip)
            with gr.Column():
                bars = gr.Plot(label="Top predictions", elem_id="upload-bars")
                verdict = gr.Markdown(elem_id="verdict")
    return VoiceTab(clip, said, predict, bars, verdict)


def _examples(clip: gr.Audio) -> None:
    files = sorted(CLIPS.glob("*.wav")) if CLIPS.is_dir() else []
    if files:
        gr.Examples(
            [[str(f)] for f in files],
            inputs=[clip],
            example_labels=[example_label(f) for f in files],
            cache_examples=False,  # predictions depend on the visitor's run: never cache them
            label="Example clips from the built-in data",
        )


def example_label(f: Path) -> str:
    """stop_spk15_trained.wav -> 'stop' by spk15, heard in training"""
    word, spk, note = (f.stem.split("_", 2) + ["", ""])[:3]
    return f"'{word}' by {spk}, {NOTES.get(note, note.replace('_', ' '))}" if spk else f.stem
