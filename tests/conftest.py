"""Shared fixtures: a tiny learnable data set (tones, no espeak) and a ready context.

Every test runs with SPEECHFORGET_CACHE pointing at a temporary folder, so no
test reads or writes ~/.cache.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "speechforget_numba"))
os.environ["SPEECHFORGET_CACHE"] = tempfile.mkdtemp(prefix="speechforget_test_cache_")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from speechforget.data.dataset import SAMPLE_RATE, SpeechData  # noqa: E402

torch.set_num_threads(2)


def make_tiny_data(
    n_speakers: int = 6, takes: int = 5, seed: int = 0, names=("yes", "no", "up", "down")
) -> SpeechData:
    """len(names) 'keywords' (tones of different pitch) x n_speakers (different timbre) x takes.

    Takes 0..takes-3 are train, takes-2 val, takes-1 test; one extra speaker is unheard."""
    rng = np.random.default_rng(seed)
    names = list(names)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    waves, kw, spk, take, split = [], [], [], [], []
    for s in range(n_speakers + 1):
        for k in range(len(names)):
            for j in range(takes):
                f0 = 220.0 * (k + 1) * (1 + 0.02 * rng.standard_normal())
                x = np.sin(2 * np.pi * f0 * t) + (0.3 + 0.1 * s) * np.sin(
                    2 * np.pi * f0 * (2 + s % 3) * t
                )
                x = 0.3 * x / np.abs(x).max() + 0.05 * rng.standard_normal(SAMPLE_RATE)
                waves.append(x.astype(np.float32))
                kw.append(k), spk.append(s), take.append(j)
                split.append(
                    "unheard"
                    if s == n_speakers
                    else "train"
                    if j < takes - 2
                    else "val"
                    if j == takes - 2
                    else "test"
                )
    words = np.array([names[k] for k in kw])
    return SpeechData(
        np.stack(waves),
        np.array(kw, dtype=np.int64),
        np.array(spk, dtype=np.int64),
        np.array(take, dtype=np.int64),
        np.array(split),
        words,
        names,
        [f"spk{i:02d}" for i in range(n_speakers + 1)],
        name="tiny",
    )


@pytest.fixture(scope="session")
def tiny_data() -> SpeechData:
    return make_tiny_data()


@pytest.fixture(scope="session")
def tiny_ctx(tiny_data):
    """A pipeline Context on the tiny keyword task with a CNN original trained on it
    (a few seconds; shared by the whole session - never modify ctx.original)."""
    from speechforget.config import TrainConfig
    from speechforget.models import build_model
    from speechforget.models.cnn import CNN_SPEC
    from speechforget.pipeline import Context
    from speechforget.training import featurize
    from speechforget.training.builtin import train_builtin

    task = tiny_data.task("kws")
    x = featurize(build_model({**CNN_SPEC, "num_classes": task.num_classes}), task.waves)
    recipe = TrainConfig(epochs=15, lr=3e-3, batch_size=16, device="cpu")
    return Context(task, x, train_builtin("cnn", task, x, recipe=recipe))


@pytest.fixture
def tones_pass_the_speech_check(monkeypatch):
    """The tiny data set's 'words' are tones, which the speech check (speechforget.
    speechcheck) rightly refuses: tests that upload them to check the models' answers take
    every clip for speech. tests/test_speechcheck.py tests the check itself."""
    from speechforget import clip_check
    from speechforget.speechcheck import SpeechCheck

    monkeypatch.setattr(
        clip_check, "speech_check", lambda wave: SpeechCheck(True, "speech", "speech", 1.0)
    )


def builtin_backbones(slow: tuple[str, ...] = ("ge2e-ft",)) -> list:
    """Every built-in backbone of the registry as a pytest parameter; those in `slow` (the
    fine-tuned LSTM: about 1 s a step on a busy 2-core CPU) are marked slow (opt-in)."""
    from speechforget.models import BUILTIN

    return [pytest.param(n, marks=pytest.mark.slow) if n in slow else n for n in BUILTIN]


# a short recipe per built-in backbone for the tiny data set (the CNN's is tiny_ctx's)
TINY_RECIPES = {
    "cnn": dict(epochs=15, lr=3e-3, batch_size=16),
    "ge2e": dict(epochs=40, lr=1e-2, batch_size=16),
    "ge2e-ft": dict(epochs=8, lr=3e-3, batch_size=8),
    "speechemb": dict(epochs=40, lr=3e-3, batch_size=16),
    "speechemb-ft": dict(epochs=8, lr=3e-3, batch_size=16),
    "speechemb-tuned": dict(epochs=12, lr=3e-3, batch_size=16),
}


@pytest.fixture(scope="session")
def builtin_ctx(tiny_ctx, tiny_data):
    """name -> a pipeline Context on the tiny keyword task with an original of that built-in
    backbone (models.BUILTIN) trained on it with TINY_RECIPES (each built once a session;
    never modify ctx.original). Tests parametrised over BUILTIN cover every backbone."""
    import dataclasses

    from speechforget.models import BUILTIN, build_model
    from speechforget.pipeline import Context
    from speechforget.training import featurize
    from speechforget.training.builtin import train_builtin

    made = {"cnn": tiny_ctx}
    # the fine-tuned LSTM costs most per clip: it gets the smallest data set that still
    # has a held-out speaker (3 speakers x 4 tones x 2 training takes)
    smallest = make_tiny_data(n_speakers=3, takes=4)

    def get(name: str):
        if name not in made:
            entry = BUILTIN[name]
            task = (smallest if name in ("ge2e-ft", "speechemb-ft") else tiny_data).task("kws")
            x = featurize(build_model(entry.spec_for(task.num_classes)), task.waves)
            recipe = dataclasses.replace(entry.recipe, **TINY_RECIPES[name], device="cpu")
            made[name] = Context(task, x, train_builtin(name, task, x, recipe=recipe))
        return made[name]

    return get
