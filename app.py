"""The Hugging Face Space entry point: `python app.py` serves the app on 0.0.0.0:7860
(or $GRADIO_SERVER_NAME / $GRADIO_SERVER_PORT).

Everything sits under the main guard: the UMAP worker process (spawned) re-imports
this file and must not start a second app."""

import contextlib
import os
import tempfile

if __name__ == "__main__":
    print("speechforget: starting (loading torch and gradio) …", flush=True)
    with contextlib.suppress(OSError, AttributeError):  # glibc only
        import ctypes

        # two malloc arenas, not eight per core: the server's many threads (one per
        # visitor's request) otherwise each keep memory of their own
        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "numba_cache"))
    with contextlib.suppress(ImportError):
        import spaces  # noqa: F401  (ZeroGPU: must be imported before anything touches CUDA)

    from speechforget.ui import launch

    launch()
