"""A user's own recordings: one folder per label.

    <root>/<label>/*.wav                      splits from a hash of each file name (80/10/10)
    <root>/<split>/<label>/*.wav              split in {train, val, test, unheard}

flac, ogg and mp3 work too. Every file is read with `load_audio` (16 kHz mono)
and cut or padded to 1 s with `fit_clip`. The speaker is the file-name prefix
before `_nohash_` (the Speech Commands convention) or before the first `_`.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import numpy as np

from speechforget.data.audio import AUDIO_SUFFIXES, AudioError, fit_clip, load_audio
from speechforget.data.dataset import CLIP_SAMPLES, SPLITS, SpeechData

LAYOUT_HELP = (
    "expected <root>/<label>/*.wav (or .flac/.ogg/.mp3), e.g. <root>/yes/alice_1.wav, "
    "or <root>/{train,val,test}/<label>/*.wav"
)


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def _label_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _hash_split(name: str) -> str:
    """80/10/10 train/val/test from a stable hash of the file name."""
    bucket = int(hashlib.sha1(name.encode()).hexdigest(), 16) % 100
    return "train" if bucket < 80 else "val" if bucket < 90 else "test"


def parse_name(stem: str) -> tuple[str | None, str | None, int]:
    """Speaker, word and take from a file stem.

    "0a7c2a8d_nohash_1" -> ("0a7c2a8d", None, 1); "spk03_stop_2" -> ("spk03", "stop", 2);
    "alice_1" -> ("alice", None, 1); "take1" -> (None, None, 0).
    """
    if "_nohash_" in stem:
        speaker, _, rest = stem.partition("_nohash_")
        return speaker or None, None, int(rest) if rest.isdigit() else 0
    parts = stem.split("_")
    if len(parts) == 1:
        return None, None, 0
    m = re.fullmatch(r"\d+", parts[-1])
    take = int(parts[-1]) if m else 0
    word = parts[1] if len(parts) == 3 and m else None  # the write_wavs naming
    return parts[0] or None, word, take


def _listing(root: Path) -> list[tuple[Path, str, str | None]]:
    """(file, label, split or None) for every audio file in either layout."""
    split_dirs = [p for p in _label_dirs(root) if p.name in SPLITS and _label_dirs(p)]
    if split_dirs:
        return [
            (f, lab.name, s.name)
            for s in split_dirs
            for lab in _label_dirs(s)
            for f in _audio_files(lab)
        ]
    return [(f, lab.name, None) for lab in _label_dirs(root) for f in _audio_files(lab)]


def load_folder(root: str | Path, max_seconds: float = 30.0) -> SpeechData:
    """Every labelled clip under `root` as SpeechData (waves (N, 16000) float32 at 16 kHz).

    keyword_names: sorted label folder names; speaker_names: sorted file-name prefixes
    (speaker -1 where a name has none). Unreadable files are skipped with one warning;
    ValueError when there is no labelled audio or none of it is readable.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ValueError(f"audio folder {root} does not exist; {LAYOUT_HELP}")
    listing = _listing(root)
    if not listing:
        raise ValueError(f"no labelled audio found in {root}; {LAYOUT_HELP}")
    waves, meta, bad = [], [], []
    for path, label, split in listing:
        try:
            x = load_audio(path, max_seconds=max_seconds, allow_silent=label == "_silence_")
        except AudioError as err:
            bad.append(str(err))
            continue
        speaker, word, take = parse_name(path.stem)
        # the label is the word, except for the catch-all labels
        word = "" if label == "_silence_" else (word or "") if label == "_unknown_" else label
        rel = path.relative_to(root).as_posix()
        meta.append((label, speaker, take, split or _hash_split(rel), word))
        waves.append(fit_clip(x, CLIP_SAMPLES))
    if bad:
        warnings.warn(
            f"skipped {len(bad)} unreadable file(s) in {root}, e.g. {bad[0]}", stacklevel=2
        )
    if not waves:
        raise ValueError(f"none of the {len(listing)} audio files in {root} is readable: {bad[0]}")
    labels = sorted({m[0] for m in meta})
    speakers = sorted({m[1] for m in meta if m[1] is not None})
    spk_index = {s: i for i, s in enumerate(speakers)}
    return SpeechData(
        waves=np.stack(waves).astype(np.float32),
        keyword=np.array([labels.index(m[0]) for m in meta], np.int64),
        speaker=np.array([spk_index.get(m[1], -1) for m in meta], np.int64),
        take=np.array([m[2] for m in meta], np.int64),
        split=np.array([m[3] for m in meta], dtype="U7"),
        word=np.array([m[4] for m in meta]),
        keyword_names=labels,
        speaker_names=speakers,
        name=f"folder:{root.name}",
    )
