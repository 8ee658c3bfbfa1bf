"""Clips of a 'visitor': keywords spoken by an espeak-ng voice variant the built-in data set
never uses (klatt3), with a little pitch/rate variation per take and room noise."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from speechforget.data.audio import resample, save_wav
from speechforget.data.dataset import SAMPLE_RATE

VOICE = "en-us+klatt3"  # not among speechforget.data.synthetic.VARIANTS (tested)
WORDS = ("yes", "no", "up", "down", "left", "right")


def visitor_clip(word: str, take: int, voice: str = VOICE, seed: int = 0) -> np.ndarray:
    """(L,) float32 at 16 kHz: one take of `word`."""
    from speechforget.data.espeak import Espeak

    rng = np.random.default_rng([seed, take, len(word)])
    es = Espeak.get()
    x = es.say(word, voice=voice, rate=int(150 + 20 * take), pitch=int(40 + 6 * take))
    x = resample(x, es.sample_rate, SAMPLE_RATE)
    x = 0.5 * x / max(float(np.abs(x).max()), 1e-6)
    pad = np.zeros(SAMPLE_RATE // 4, np.float32)
    x = np.concatenate([pad, x, pad])
    return (x + 0.003 * rng.standard_normal(len(x))).astype(np.float32)


def write_visitor(folder: Path, takes: int = 3, words=WORDS, layout: str = "dirs") -> Path:
    """`folder`/<word>/take<k>.wav (layout "dirs") or `folder`/<word>_<k>.wav ("names")."""
    for w in words:
        for k in range(takes):
            name = f"{w}/take{k}.wav" if layout == "dirs" else f"{w}_{k}.wav"
            save_wav(folder / name, visitor_clip(w, k))
    return folder
