"""The Gradio app (the only package that imports gradio).

    from speechforget.ui import build_demo, launch
    launch()                                  # what app.py does
    demo = build_demo(contexts=my_provider)   # tests: tiny data, launch(prevent_thread_lock=True)

serve.py launches it (queue, settings, start-up); layout.py composes the page from tabs/ (one small Blocks module per panel or tab) and
wires it to the handlers of app.App (handlers/: runs, results, voice, controls), which
share one context.AppContext. The handlers read a run through speechforget.runview's
RunView (views.py turns it into figures and tables) and keep per-visitor state in
state.py's SessionStore; zerogpu.py runs a run's phases on Hugging Face ZeroGPU.
"""

from speechforget.ui.layout import build_demo
from speechforget.ui.serve import launch, launch_kwargs

__all__ = ["build_demo", "launch", "launch_kwargs"]
