"""Serving the app: the launch settings shared by app.py and the tests, the bounded and
calmed queue, and the start-up's warm-ups once the page is served.

    from speechforget.ui import launch
    launch()                                              # what app.py does
    launch(demo, prevent_thread_lock=True, quiet=True)    # tests: returns at once
"""

from __future__ import annotations

import os

import gradio as gr

from speechforget.ui.layout import build_demo
from speechforget.ui.tabs import voice

CSS = """
#status {min-height: 2.5em}
#metrics table {font-size: 0.92em}
#mia-note {font-size: 0.85em; color: var(--body-text-color-subdued)}
.audit-read {font-size: 0.9em; color: var(--body-text-color-subdued)}
table.audit-risky td, table.audit-risky th {padding: 4px 8px; vertical-align: middle}
"""


def launch_kwargs() -> dict:
    """launch() settings shared by app.py and the tests (host/port from the environment)."""
    return dict(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        theme=gr.themes.Soft(primary_hue="indigo"),
        css=CSS,
        max_file_size="10mb",
        state_session_capacity=2000,
        footer_links=["api", "gradio", "settings"],
        allowed_paths=[str(voice.CLIPS)],  # the example clips, wherever the app starts from
    )


# Gradio's queue looks for work every 1 ms on Linux, and for progress every 10 ms: 4-5% of a
# core on an idle server, which a 2-thread torch training (the gold) feels several times
# over, since each of its steps waits for its slower thread. 20 ms delays an event's start by
# at most that; progress goes out 20 times a second.
QUEUE_POLL_S = 0.02
PROGRESS_POLL_S = 0.05


def calm_queue(demo: gr.Blocks) -> None:
    """Make the queue's polling loops poll at QUEUE_POLL_S / PROGRESS_POLL_S (private
    attributes of gradio.queueing.Queue, read on each turn of its loops; left alone if a
    Gradio version lacks them)."""
    q = getattr(demo, "_queue", None)
    if hasattr(q, "sleep_when_free"):
        q.sleep_when_free = max(q.sleep_when_free, QUEUE_POLL_S)
    if hasattr(q, "progress_update_sleep_when_free"):
        q.progress_update_sleep_when_free = max(q.progress_update_sleep_when_free, PROGRESS_POLL_S)


def launch(demo: gr.Blocks | None = None, **overrides):
    """Queue (bounded) and serve the app, then start the background warm-ups;
    `overrides` go to Blocks.launch (prevent_thread_lock=True returns at once)."""
    demo = demo or build_demo()
    # a class of thirty: a run and a gold each, waiting in the "train" queue
    demo.queue(max_size=100, default_concurrency_limit=2)
    calm_queue(demo)
    kwargs = {**launch_kwargs(), **overrides}
    block = not kwargs.pop("prevent_thread_lock", False)
    served = demo.launch(prevent_thread_lock=True, **kwargs)
    app = getattr(demo, "app_state", None)
    if app is not None:  # after the server is up (it competes for the cores otherwise)
        app.start_up()  # pages say how far it is, and enable Run when it is done
    if block:
        demo.block_thread()
    return served
