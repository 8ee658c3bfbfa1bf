"""Helpers shared by the UI tests: tiny contexts for both tasks, and test clips.

The keyword task reuses conftest's session-wide `tiny_ctx`; the speaker task is
trained on demand (a few seconds) only by the tests that switch to it.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf

from speechforget.data.audio import save_wav


class TinyContexts:
    """A context provider over the tiny data: the tiny CNN original only, like an offline
    Space. The tasks' default backbones (config.TASK_BACKBONES, what the app picks when a
    test passes none) get it too: these tests are about the app's flow, not the model's
    (tests/test_speech_embedding.py and the whole-app runs cover the defaults' models)."""

    def __init__(self, kws_ctx) -> None:
        self.ctxs = {"kws": kws_ctx}

    def __call__(self, task: str, backbone: str = "cnn", data: str = "synthetic"):
        if data != "synthetic":
            raise ValueError(f"data set '{data}' cannot be loaded here (offline test)")
        from speechforget.config import TASK_BACKBONES

        if backbone not in ("cnn", *TASK_BACKBONES.values()):
            raise ValueError(
                f"backbone '{backbone}' cannot be loaded here (offline test); pick cnn"
            )
        if task not in self.ctxs:
            self.ctxs[task] = _tiny_task_ctx(self.ctxs["kws"].task.data, task)
        return self.ctxs[task]


def _tiny_task_ctx(data, task: str):
    from speechforget.config import TrainConfig
    from speechforget.models import build_model
    from speechforget.models.cnn import CNN_SPEC
    from speechforget.pipeline import Context
    from speechforget.training import featurize
    from speechforget.training.builtin import train_builtin

    t = data.task(task)
    x = featurize(build_model({**CNN_SPEC, "num_classes": t.num_classes}), t.waves)
    # few epochs: these tests need the speaker names, not an accurate model
    recipe = TrainConfig(epochs=3, lr=3e-3, batch_size=16, device="cpu")
    return Context(t, x, train_builtin("cnn", t, x, recipe=recipe))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def launched_app(kws_ctx) -> Iterator[str]:
    """The app over the tiny contexts, served on 127.0.0.1; yields its URL."""
    from speechforget.ui import build_demo, launch

    demo = build_demo(TinyContexts(kws_ctx), prefetch=(), warm_umap=False, projection="pca")
    _, url, _ = launch(
        demo, server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True
    )
    try:
        yield url
    finally:
        demo.close()


def write_clips(folder: Path, ctx) -> dict[str, Path]:
    """Good and bad clips for upload tests, written from the tiny data."""
    folder.mkdir(parents=True, exist_ok=True)
    wave = ctx.task.waves[0]  # a 'yes' clip, 1 s at 16 kHz
    clips = {"wav": save_wav(folder / "yes.wav", wave)}
    t = np.linspace(0, 1, 44100, endpoint=False)
    stereo = np.stack([np.interp(t, np.arange(16000) / 16000, wave)] * 2, axis=1)
    sf.write(folder / "yes_44k_stereo.flac", stereo.astype(np.float32), 44100)
    clips["flac"] = folder / "yes_44k_stereo.flac"
    sf.write(folder / "yes.ogg", wave, 16000, format="OGG", subtype="VORBIS")
    clips["ogg"] = folder / "yes.ogg"
    try:
        sf.write(folder / "yes.mp3", wave, 16000, format="MP3")
        clips["mp3"] = folder / "yes.mp3"
    except (sf.LibsndfileError, TypeError, ValueError):  # libsndfile built without mp3
        pass
    (folder / "empty.wav").write_bytes(b"")
    clips["empty"] = folder / "empty.wav"
    clips["silent"] = save_wav(folder / "silent.wav", np.zeros(16000, np.float32))
    riff = (folder / "yes.wav").read_bytes()
    junk = np.random.default_rng(0).integers(0, 255, 4000, dtype=np.uint8).tobytes()
    (folder / "corrupt.wav").write_bytes(b"RIFF\x24\x10\x00\x00WAVEfmt " + junk)  # a broken header
    clips["corrupt"] = folder / "corrupt.wav"
    clips["short"] = save_wav(folder / "click.wav", np.r_[np.zeros(40), 0.5 * np.ones(20)])
    (folder / "notes.wav").write_text("this is a text file, not audio\n" * 20)
    clips["non_audio"] = folder / "notes.wav"
    big = folder / "huge.wav"
    with open(big, "wb") as f:  # a valid header followed by > 10 MB of noise
        f.write(riff[:44])
        f.write(np.random.default_rng(1).integers(-3000, 3000, 5_500_000, dtype=np.int16).tobytes())
    clips["oversized"] = big
    clips["long"] = save_wav(folder / "long.wav", 0.1 * np.sin(np.arange(8000 * 40) / 5.0), sr=8000)
    nan = wave.astype(np.float32).copy()
    nan[100:200] = np.nan
    sf.write(folder / "nan.wav", nan, 16000, subtype="FLOAT")
    clips["nan"] = folder / "nan.wav"
    return clips
