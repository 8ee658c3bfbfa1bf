"""The "This session's runs" tab: one row per run of this browser session (gaps to gold),
and the downloads of the last run's report and unlearned model."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from speechforget.ui import views


@dataclass
class RunsTab:
    table: gr.Dataframe
    report: gr.DownloadButton
    checkpoint: gr.DownloadButton


def build() -> RunsTab:
    with gr.Tab("This session's runs", elem_id="tab-runs"):
        table = gr.Dataframe(
            headers=views.RUN_HEADERS,
            interactive=False,
            elem_id="runs",
            label="Your runs in this browser session (gaps to gold: lower is better)",
        )
        with gr.Row():
            report = gr.DownloadButton(
                "Report (JSON)", interactive=False, elem_id="download-report"
            )
            checkpoint = gr.DownloadButton(
                "Unlearned model (safetensors)", interactive=False, elem_id="download-checkpoint"
            )
    return RunsTab(table, report, checkpoint)
