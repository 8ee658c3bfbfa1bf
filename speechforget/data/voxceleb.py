"""VoxCeleb1 speaker identification from a local folder (VoxCeleb is gated on the Hub).

    voxceleb:/data/voxceleb1             <dir>/iden_split.txt + <dir>/wav/id10001/<video>/00001.wav
    voxceleb:/data/voxceleb1?seconds=2   clips of 2 s instead of 3 s
    voxceleb:/data/vox1_parquet          a Hub parquet copy (no iden_split.txt; see hub.py)

`iden_split.txt` holds one line per utterance, `<1|2|3> id10001/1zcIwhmdeo4/00001.wav`:
1 = train, 2 = val, 3 = test (the identification split: 1,251 speakers, 138,361 /
6,904 / 8,251 utterances). Every clip is cut to its `seconds`-long window with the
most energy, or padded, so that waves are (N, L) with one L. The whole of VoxCeleb1
at 3 s is about 29 GB as float32 in memory: use `--subset` (clips per speaker).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from speechforget.config import DataConfig
from speechforget.data.audio import AudioError, fit_clip, load_audio
from speechforget.data.dataset import SAMPLE_RATE, SpeechData
from speechforget.data.npz_cache import cached, per_class_subset
from speechforget.store import Store

DEFAULT_SECONDS = 3.0
SPLIT_CODES = {"1": "train", "2": "val", "3": "test"}
LAYOUT_HELP = (
    "expected <dir>/iden_split.txt (lines '1 id10001/1zcIwhmdeo4/00001.wav') and "
    "the wav files under <dir>/wav/ or <dir>/, or a folder of parquet files"
)


def _parse_arg(arg: str) -> tuple[Path, float]:
    root, _, query = arg.partition("?")
    seconds = DEFAULT_SECONDS
    for item in filter(None, query.split("&")):
        key, _, value = item.partition("=")
        if key != "seconds":
            raise ValueError(
                f"unknown option '{key}' in voxceleb source; the only one is seconds=<s>"
            )
        seconds = float(value)
    if not root:
        raise ValueError(f"voxceleb:<dir> needs a folder; {LAYOUT_HELP}")
    return Path(root).expanduser(), seconds


def read_iden_split(path: Path) -> list[tuple[str, str]]:
    """[(split, relative wav path)] from an iden_split.txt."""
    entries = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        code, _, rel = line.strip().partition(" ")
        if code not in SPLIT_CODES or not rel.strip():
            raise ValueError(f"{path}:{n}: cannot read '{line}'; {LAYOUT_HELP}")
        entries.append((SPLIT_CODES[code], rel.strip()))
    return entries


def _decode_all(entries: list[tuple[str, str]], wav_root: Path, n: int, name: str) -> SpeechData:
    speakers = sorted({rel.split("/")[0] for _, rel in entries})
    spk_index = {s: i for i, s in enumerate(speakers)}
    waves, meta, bad = [], [], []
    for split, rel in entries:
        try:
            x = load_audio(wav_root / rel, max_seconds=600.0, allow_silent=True)
        except AudioError as err:
            bad.append(str(err))
            continue
        parts = rel.split("/")
        stem = Path(parts[-1]).stem
        waves.append(fit_clip(x, n))
        meta.append(
            (split, spk_index[parts[0]], int(stem) if stem.isdigit() else 0, "/".join(parts[1:]))
        )
    if bad:
        warnings.warn(
            f"skipped {len(bad)} missing or unreadable file(s), e.g. {bad[0]}", stacklevel=3
        )
    if not waves:
        raise ValueError(f"none of the {len(entries)} files of {name} is readable; {LAYOUT_HELP}")
    return SpeechData(
        waves=np.stack(waves).astype(np.float32),
        keyword=-np.ones(len(meta), np.int64),
        speaker=np.array([m[1] for m in meta], np.int64),
        take=np.array([m[2] for m in meta], np.int64),
        split=np.array([m[0] for m in meta], dtype="U7"),
        word=np.array([m[3] for m in meta]),
        keyword_names=[],
        speaker_names=speakers,
        name=name,
    )


def load_voxceleb(arg: str, cfg: DataConfig, store: Store | None = None) -> SpeechData:
    """SpeechData for speaker identification (no keywords; labels are speakers); at most
    cfg.subset clips per speaker in each split, drawn with cfg.seed."""
    root, seconds = _parse_arg(arg)
    if not root.is_dir():
        raise ValueError(f"VoxCeleb folder {root} does not exist; {LAYOUT_HELP}")
    split_file = root / "iden_split.txt"
    if not split_file.is_file():
        if next(root.rglob("*.parquet"), None) is not None:
            from speechforget.data.hub import load_hub

            return load_hub(f"{root}?seconds={seconds:g}", cfg, store)
        raise ValueError(f"no iden_split.txt in {root}; {LAYOUT_HELP}")
    entries = read_iden_split(split_file)
    if not entries:
        raise ValueError(f"{split_file} lists no files; {LAYOUT_HELP}")
    split = np.array([s for s, _ in entries])
    speaker = np.array([rel.split("/")[0] for _, rel in entries])
    keep = per_class_subset(split, speaker, cfg.subset, cfg.seed)
    entries = [entries[i] for i in keep]
    wav_root = root / "wav" if (root / "wav").is_dir() else root
    n = int(round(seconds * SAMPLE_RATE))
    stat = split_file.stat()
    key = {
        "root": str(root.resolve()),
        "split_file": (stat.st_size, stat.st_mtime_ns),
        "subset": cfg.subset,
        "seed": cfg.seed,
        "n": n,
    }
    build = lambda: _decode_all(entries, wav_root, n, f"voxceleb:{root.name}")  # noqa: E731
    return cached("voxceleb", key, build, store)
