"""Decoded audio kept on disk, and the per-class subset shared by the real-data sources.

    data = cached("hub", {"repo": ..., "subset": 100}, lambda: decode_everything())

stores `<cache>/<kind>/<sha256 of the key>.npz` (see speechforget.store) (waves as 16-bit PCM,
which is what Speech Commands and VoxCeleb hold: reading it back is exact) and
loads it without pickle.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from speechforget.data.audio import to_int16
from speechforget.data.dataset import SpeechData
from speechforget.store import Store

FORMAT_VERSION = 1  # bump when a source's decoding changes: it invalidates the cache


def _arrays(data: SpeechData) -> dict[str, np.ndarray]:
    return {
        "waves": to_int16(data.waves),
        "keyword": data.keyword,
        "speaker": data.speaker,
        "take": data.take,
        "split": data.split.astype("U7"),
        "word": data.word.astype(str),
        "keyword_names": np.array(data.keyword_names, dtype=str),
        "speaker_names": np.array(data.speaker_names, dtype=str),
        "name": np.array(data.name),
        "not_voices": np.array(data.not_voices, dtype=str),
    }


def _speech_data(z: dict[str, np.ndarray]) -> SpeechData:
    return SpeechData(
        waves=z["waves"].astype(np.float32) / 32768.0,
        keyword=z["keyword"],
        speaker=z["speaker"],
        take=z["take"],
        split=z["split"],
        word=z["word"],
        keyword_names=z["keyword_names"].tolist(),
        speaker_names=z["speaker_names"].tolist(),
        name=str(z["name"]),
        not_voices=tuple(z["not_voices"].tolist()) if "not_voices" in z else (),
    )


def cached(
    kind: str, key: dict, build: Callable[[], SpeechData], store: Store | None = None
) -> SpeechData:
    """`build()` once per key; later calls read the npz file in the store. The first call
    returns the same 16-bit clips as every later one."""
    key = {"v": FORMAT_VERSION, **key}
    return _speech_data(Store.of(store).arrays(kind, key, lambda: _arrays(build())))


def per_class_subset(split: np.ndarray, label: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Sorted positions keeping at most `n` clips per (split, label), drawn with `seed`;
    every position when n is None."""
    if n is None:
        return np.arange(len(label))
    if n < 1:
        raise ValueError(f"subset must be at least 1 clip per class, got {n}")
    rng = np.random.default_rng(seed)
    keep = []
    for s in np.unique(split):
        for c in np.unique(label[split == s]):
            pos = np.flatnonzero((split == s) & (label == c))
            keep.append(pos if len(pos) <= n else rng.choice(pos, size=n, replace=False))
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)
