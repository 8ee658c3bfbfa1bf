"""Clips and their labels, in memory, shared by every source.

A `SpeechData` holds every clip of a source once (waveforms plus keyword,
speaker, take and split). `TaskData` is the view of one task on it: the clips
that task uses and their class labels. Keyword spotting (kws) labels a clip by
its keyword, speaker identification (sid) by its speaker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000
CLIP_SAMPLES = 16_000  # 1 s at 16 kHz

# The 12 SUPERB keyword-spotting labels, in the order SUPERB uses.
KEYWORDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
KWS_LABELS = [*KEYWORDS, "_silence_", "_unknown_"]
UNKNOWN_WORDS = [
    "bed",
    "bird",
    "cat",
    "dog",
    "eight",
    "five",
    "four",
    "happy",
    "house",
    "marvin",
    "nine",
    "one",
    "seven",
    "sheila",
    "six",
    "three",
    "tree",
    "two",
    "wow",
    "zero",
]
SPLITS = ("train", "val", "test", "unheard")


@dataclass
class SpeechData:
    """Every clip of one source.

    waves:   (N, CLIP_SAMPLES) float32 in [-1, 1], 16 kHz mono
    keyword: (N,) int64 index into `keyword_names` (-1 when unknown)
    speaker: (N,) int64 index into `speaker_names` (-1 when unknown)
    take:    (N,) int64 take number within (speaker, word)
    split:   (N,) str, one of SPLITS ("unheard" = speakers no model trains on)
    word:    (N,) str, the spoken word ("" for silence)
    not_voices: names of speakers that are not voices of their own (the built-in piper
             speakers: one voice made different), never speaker-ID classes
    """

    waves: np.ndarray
    keyword: np.ndarray
    speaker: np.ndarray
    take: np.ndarray
    split: np.ndarray
    word: np.ndarray
    keyword_names: list[str]
    speaker_names: list[str]
    name: str = "data"
    not_voices: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.waves)

    def checksum(self) -> str:
        """sha256 of the waveform bytes and labels: same seed, same checksum."""
        h = hashlib.sha256()
        for arr in (self.waves, self.keyword, self.speaker, self.take):
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update("|".join(self.split.tolist()).encode())
        return h.hexdigest()

    def task(self, task: str) -> TaskData:
        """The view of one task on these clips (see module docstring)."""
        if task == "kws":
            keep = self.keyword >= 0
            labels, names = self.keyword, list(self.keyword_names)
        elif task == "sid":
            # speakers of the held-out group are never classes, nor are variants of one voice
            # (`not_voices`); silence has no voice
            silence = np.array([n == "_silence_" for n in self.keyword_names])
            is_sil = np.isin(self.keyword, np.flatnonzero(silence))  # -1 (no keyword) is not
            other = np.isin(self.speaker_names, list(self.not_voices))
            voice = (self.speaker >= 0) & ~other[np.maximum(self.speaker, 0)]
            keep = voice & (self.split != "unheard") & ~is_sil
            used = np.unique(self.speaker[keep])
            remap = -np.ones(len(self.speaker_names), dtype=np.int64)
            remap[used] = np.arange(len(used))
            labels = np.where(self.speaker >= 0, remap[np.maximum(self.speaker, 0)], -1)
            names = [self.speaker_names[i] for i in used]
        else:
            raise ValueError(f"unknown task '{task}'; choose one of kws, sid")
        idx = np.flatnonzero(keep)
        return TaskData(
            task=task, data=self, index=idx, y=labels[idx].astype(np.int64), class_names=names
        )


@dataclass
class TaskData:
    """The clips one task uses. Index sets (forget/retain/test) index into these.

    index: (M,) rows of `data` this task uses
    y:     (M,) int64 class label per clip, in range(len(class_names))
    """

    task: str
    data: SpeechData
    index: np.ndarray
    y: np.ndarray
    class_names: list[str]

    def __len__(self) -> int:
        return len(self.index)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def waves(self) -> np.ndarray:
        return self.data.waves[self.index]

    @property
    def split(self) -> np.ndarray:
        return self.data.split[self.index]

    @property
    def speaker(self) -> np.ndarray:
        return self.data.speaker[self.index]

    @property
    def keyword(self) -> np.ndarray:
        return self.data.keyword[self.index]

    def where(self, split: str) -> np.ndarray:
        """Positions (into this task) of the clips of one split."""
        return np.flatnonzero(self.split == split)

    def describe(self, i: int) -> str:
        """A short human label for clip i, e.g. "'stop' by spk07, take 2 (train)"."""
        d, r = self.data, self.index[i]
        word = d.word[r] or "(silence)"
        spk = d.speaker_names[d.speaker[r]] if d.speaker[r] >= 0 else "?"
        return f"'{word}' by {spk}, take {d.take[r]} ({d.split[r]})"
