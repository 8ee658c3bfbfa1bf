"""A visitor's own recordings, added to a data set as one more speaker.

    v = read_visitor("me", "recordings/", "kws")     # DIR/<keyword>/*.wav or <keyword>_*.wav
    data = with_visitor(built_in, v)                 # SpeechData with the visitor's clips

The visitor's clips join the training split as a new speaker, except a few held back
(split "added"): one take per keyword in keyword spotting, two or three utterances in
speaker identification. Those are the visitor's own test clips: never trained on, and
not part of the built-in test set either, so Dt stays the data set's own.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from speechforget.data.audio import AUDIO_SUFFIXES, AudioError, centre_word, load_audio
from speechforget.data.dataset import CLIP_SAMPLES, KEYWORDS, SpeechData

HELD = "added"  # the split of the visitor's held-back clips
MIN_KEYWORDS, MIN_TAKES = 5, 2  # keyword spotting: at least 2 takes of at least 5 keywords
MIN_UTTERANCES = 5  # speaker identification: at least this many clips
LAYOUT_HELP = (
    "put the clips in DIR/<keyword>/*.wav or name them <keyword>_<anything>.wav "
    f"(keywords: {', '.join(KEYWORDS)}); wav, flac, ogg or mp3"
)


@dataclass
class Visitor:
    """One visitor's clips.

    waves: (K, CLIP_SAMPLES) float32 at 16 kHz
    words: (K,) str, the keyword said ("" when not known: speaker identification)
    held:  (K,) bool, True for the clips held back as the visitor's test clips
    """

    name: str
    waves: np.ndarray
    words: np.ndarray
    held: np.ndarray
    files: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.waves)

    @property
    def n_trained(self) -> int:
        return int((~self.held).sum())

    @property
    def n_held(self) -> int:
        return int(self.held.sum())


def keyword_of(path: Path, root: Path) -> str:
    """The keyword a file names: its folder under `root`, else the part of its stem
    before the first '_' (or the whole stem); "" when that is not a keyword."""
    rel = path.relative_to(root)
    word = rel.parts[0] if len(rel.parts) > 1 else path.stem.split("_")[0]
    word = word.lower()
    return word if word in KEYWORDS else ""


def hold_back(words: np.ndarray, task: str, seed: int = 0) -> np.ndarray:
    """(K,) bool: the clips held back as the visitor's test clips. Keyword spotting: one
    take of every keyword said at least twice; speaker identification: 2 clips (3 from
    10 clips on). Seeded, so the same recordings give the same split."""
    rng = np.random.default_rng(seed)
    held = np.zeros(len(words), bool)
    if task == "kws":
        for w in sorted(set(words.tolist()) - {""}):
            idx = np.flatnonzero(words == w)
            if len(idx) >= 2:
                held[rng.choice(idx)] = True
    else:
        n = 3 if len(words) >= 10 else 2
        held[rng.choice(len(words), size=min(n, len(words) - 1), replace=False)] = True
    return held


def check_enough(words: np.ndarray, task: str, min_keywords: int = MIN_KEYWORDS) -> None:
    """ValueError saying what to record when there are too few clips to train and test."""
    if task == "kws":
        counts = {w: int((words == w).sum()) for w in set(words.tolist()) - {""}}
        enough = sorted(w for w, c in counts.items() if c >= MIN_TAKES)
        if len(enough) < min_keywords:
            raise ValueError(
                f"record at least {MIN_TAKES} takes of at least {min_keywords} keywords; "
                f"you have {len(enough)} keyword(s) with {MIN_TAKES}+ takes"
                + (f" ({', '.join(enough)})" if enough else "")
            )
    elif len(words) < MIN_UTTERANCES:
        raise ValueError(
            f"record at least {MIN_UTTERANCES} short utterances (about 10 is best); "
            f"you have {len(words)}"
        )


def make_visitor(
    name: str,
    waves: list[np.ndarray] | np.ndarray,
    words: list[str],
    task: str,
    seed: int = 0,
    min_keywords: int = MIN_KEYWORDS,
) -> Visitor:
    """A Visitor from clips (any length: their silence cut, fitted to 1 s) and the keyword
    each says ("" if none; keyword spotting drops those)."""
    if task not in ("kws", "sid"):
        raise ValueError(f"unknown task '{task}'; choose one of kws, sid")
    words_arr = np.asarray(list(words), dtype=object).astype(str)
    if task == "kws":
        keep = words_arr != ""
        waves = [w for w, k in zip(waves, keep) if k]
        words_arr = words_arr[keep]
    check_enough(words_arr, task, min_keywords)
    stacked = np.stack([centre_word(np.asarray(w, np.float32)) for w in waves])
    return Visitor(name, stacked, words_arr, hold_back(words_arr, task, seed))


def read_visitor(name: str, folder: str | Path, task: str, seed: int = 0) -> Visitor:
    """The visitor's clips in `folder` (see LAYOUT_HELP); every file must be usable audio
    (AudioError names the file otherwise)."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"--add-speaker: {root} is not a folder; {LAYOUT_HELP}")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if not files:
        raise ValueError(f"--add-speaker: no audio files in {root}; {LAYOUT_HELP}")
    waves, words = [], []
    for f in files:
        try:
            waves.append(load_audio(f, max_seconds=30.0))
        except AudioError as err:
            raise AudioError(f"{f.relative_to(root)}: {err}") from None
        words.append(keyword_of(f, root))
    if task == "kws" and not any(words):
        raise ValueError(f"--add-speaker: no file names a keyword; {LAYOUT_HELP}")
    visitor = make_visitor(name, waves, words, task, seed)
    used = [str(f.relative_to(root)) for f, w in zip(files, words) if task == "sid" or w]
    return replace(visitor, files=tuple(used))


def with_visitor(data: SpeechData, visitor: Visitor) -> SpeechData:
    """`data` plus the visitor's clips as speaker `visitor.name` (appended at the end, so
    every row of `data` keeps its position)."""
    if visitor.name in data.speaker_names:
        raise ValueError(
            f"a speaker named '{visitor.name}' is already in the data set; pick another name"
        )
    k = len(visitor)
    names = list(data.keyword_names)
    keyword = np.array([names.index(w) if w in names else -1 for w in visitor.words], np.int64)
    take = np.zeros(k, np.int64)
    for w in set(visitor.words.tolist()):
        idx = np.flatnonzero(visitor.words == w)
        take[idx] = np.arange(len(idx))
    return SpeechData(
        waves=np.concatenate([data.waves, visitor.waves.reshape(k, CLIP_SAMPLES)]),
        keyword=np.concatenate([data.keyword, keyword]),
        speaker=np.concatenate([data.speaker, np.full(k, len(data.speaker_names), np.int64)]),
        take=np.concatenate([data.take, take]),
        split=np.concatenate([data.split, np.where(visitor.held, HELD, "train")]),
        word=np.concatenate([data.word, visitor.words]),
        keyword_names=names,
        speaker_names=[*data.speaker_names, visitor.name],
        name=f"{data.name}+{visitor.name}",
        not_voices=data.not_voices,
    )
