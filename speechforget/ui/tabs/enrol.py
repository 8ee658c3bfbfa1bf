"""The "Your voice" tab: four steps (enrol, train it in, forget me, prove it) around the
visitor's own recordings. Each take is listed with a small waveform and a player that
are drawn into the page itself (a data: URI), so no copy of the visitor's audio lands in
Gradio's file cache; the takes live in the session's folder only."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import gradio as gr
import numpy as np
import soundfile as sf

from speechforget import report_text
from speechforget.ui import controls
from speechforget.ui.handlers.enrol import HEARD_HEADERS, PROOF_HEADERS, EnrolHandlers

INTRO = """### Your voice in the model: record it, train it in, forget it, prove it
1. **Enrol**: record (or upload) the words you are asked for; one take of each word is held back
   to test the model and never trained on. For speaker identification, say about ten short words.
2. **Train it in**: a model is trained on the built-in clips *plus yours* (for speaker
   identification you become a new speaker).
3. **Forget me**: an unlearning method removes your recordings again.
4. **Prove it**: how the model that heard you, the unlearned one and a model that never heard you
   treat your clips. Your recordings stay in this browser session only; **Delete my recordings**
   removes them and every model trained with them."""
DEFAULT_METHOD = "loss_match"


@dataclass
class EnrolTab:
    task: gr.Radio
    prompt: gr.Markdown
    recorder: gr.Audio
    message: gr.Markdown
    version: gr.State
    train: gr.Button
    status: gr.Markdown
    loss: gr.Plot
    heard: gr.Dataframe
    method: gr.Dropdown
    forget: gr.Button
    verdict: gr.Markdown
    proof: gr.Dataframe
    metrics: gr.Dataframe
    delete: gr.Button


def build(session: gr.State, handlers: EnrolHandlers, first_prompt: str) -> EnrolTab:
    with gr.Tab("Your voice", elem_id="tab-enrol"):
        gr.Markdown(INTRO)
        task = gr.Radio(
            [("Keyword spotting", "kws"), ("Speaker identification", "sid")],
            value="kws",
            label="Task",
            elem_id="enrol-task",
        )
        gr.Markdown("#### 1. Enrol")
        prompt = gr.Markdown(first_prompt, elem_id="enrol-prompt")
        recorder = gr.Audio(
            sources=["microphone", "upload"],
            type="filepath",
            label="Record a take (stop the recording to keep it)",
            elem_id="enrol-rec",
        )
        message = gr.Markdown(elem_id="enrol-msg")
        version = gr.State(0)
        _takes_list(session, version, handlers, task, message, prompt)
        gr.Markdown("#### 2. Train it in")
        train = gr.Button("Train it in", variant="primary", elem_id="train-in")
        status = gr.Markdown(elem_id="enrol-status")
        loss = gr.Plot(label="Training loss", elem_id="enrol-loss")
        heard = gr.Dataframe(
            headers=HEARD_HEADERS, label="Your held-back clips", elem_id="enrol-heard"
        )
        gr.Markdown("#### 3. Forget me")
        with gr.Row():
            names = [n for _, n in controls.method_choices()]
            method = gr.Dropdown(
                controls.method_choices(),
                value=DEFAULT_METHOD if DEFAULT_METHOD in names else names[0],
                label="Unlearning method",
                elem_id="enrol-method",
            )
            forget = gr.Button("Forget me", interactive=False, elem_id="forget-me")
        gr.Markdown("#### 4. Prove it")
        verdict = gr.Markdown(elem_id="enrol-verdict")
        proof = gr.Dataframe(
            headers=PROOF_HEADERS, label="Every clip of yours", elem_id="enrol-proof"
        )
        metrics = gr.Dataframe(
            headers=report_text.TABLE_HEADERS,
            label="Metrics with Df = your clips",
            elem_id="enrol-metrics",
        )
        delete = gr.Button("Delete my recordings", variant="stop", elem_id="delete-me")
    return EnrolTab(
        task,
        prompt,
        recorder,
        message,
        version,
        train,
        status,
        loss,
        heard,
        method,
        forget,
        verdict,
        proof,
        metrics,
        delete,
    )


def _takes_list(session, version, handlers: EnrolHandlers, task, message, prompt) -> None:
    """The takes, redrawn whenever `version` changes: waveform, player, delete, re-record."""

    @gr.render(inputs=[session, version, task])
    def draw(sid, _version, task_value):
        takes = handlers.takes(sid)
        if not takes:
            gr.Markdown("*No takes yet.*", elem_id="enrol-takes-empty")
            return
        for i, take in enumerate(takes):
            with gr.Row(elem_classes=["enrol-take"], equal_height=True):
                word = f"“{take.word}”" if take.word else ""
                gr.HTML(take_html(i, word, take.path), elem_id=f"enrol-take-{i}")
                delete = gr.Button(
                    "Delete", size="sm", scale=0, min_width=80, elem_id=f"enrol-del-{i}"
                )
                redo = gr.Button(
                    "Re-record", size="sm", scale=0, min_width=100, elem_id=f"enrol-redo-{i}"
                )
            delete.click(
                lambda sid, t, i=i: handlers.delete_take(sid, i, t),
                [session, task],
                [version, message, prompt],
                api_visibility="private",
            )
            redo.click(
                lambda sid, t, i=i: handlers.redo_take(sid, i, t),
                [session, task],
                [message, prompt],
                api_visibility="private",
            )


def take_html(i: int, word: str, path) -> str:
    """A take as HTML: its number and word, a waveform (SVG) and a player (data: URI)."""
    x, sr = sf.read(str(path), dtype="float32")
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="WAV", subtype="PCM_16")
    src = "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode()
    return (
        f'<div style="display:flex;align-items:center;gap:10px"><b>{i + 1}.</b> {word}'
        f'{waveform_svg(x)}<audio controls preload="none" src="{src}"></audio></div>'
    )


def waveform_svg(x: np.ndarray, width: int = 160, height: int = 32) -> str:
    """A small min/max envelope of a clip as inline SVG."""
    cols = np.array_split(np.asarray(x, np.float32), width) if len(x) >= width else [x]
    peak = max(float(np.abs(x).max()), 1e-6)
    half = height / 2
    lines = "".join(
        f'<line x1="{j}" x2="{j}" y1="{half - half * float(c.max()) / peak:.1f}" '
        f'y2="{half - half * float(c.min()) / peak:.1f}"/>'
        for j, c in enumerate(cols)
        if len(c)
    )
    return (
        f'<svg width="{width}" height="{height}" stroke="currentColor" stroke-width="1" '
        f'aria-label="waveform">{lines}</svg>'
    )
