"""The Gradio app (the only package that imports gradio).

from speechforget.ui import build_demo, launch
launch()                                  # what app.py does
demo = build_demo(contexts=my_provider)   # tests: tiny data, launch(prevent_thread_lock=True)
"""

from speechforget.ui.layout import build_demo, launch, launch_kwargs

__all__ = ["build_demo", "launch", "launch_kwargs"]
