"""Speech Commands (and other labelled audio) from Hub parquet files.

    hub:                                   google/speech_commands, config v0.01
    hub:google/speech_commands:v0.01       a Hub dataset repo and config
    hub:/data/speech_commands              a local folder of parquet files
    hub:/data/voxceleb_parquet?seconds=3   clips cut or padded to 3 s

`datasets` 4+ runs no loading scripts and decodes audio with torchcodec, so the
parquet export is read (the `refs/convert/parquet` revision for script-based
repos), the audio column is cast to `Audio(decode=False)` and its bytes are
decoded with soundfile (`load_audio`). Local files are split by the first part of
their path that names a split (train / validation / test).

Keyword spotting follows SUPERB: the 10 keywords, `_unknown_` for the other 20
words, `_silence_` for the background-noise clips, cut into 1 s pieces. A data set
whose labels are not keywords (e.g. a VoxCeleb copy) labels clips by speaker.
`speaker_id` is kept, so a speaker can be forgotten inside keyword spotting.
Decoded clips are cached under `$SPEECHFORGET_CACHE/hub/`.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from speechforget.config import DataConfig
from speechforget.data.audio import AudioError, fit_clip, load_audio
from speechforget.data.dataset import KEYWORDS, KWS_LABELS, SAMPLE_RATE, SpeechData
from speechforget.data.npz_cache import cached, per_class_subset
from speechforget.store import Store

DEFAULT_REPO, DEFAULT_CONFIG = "google/speech_commands", "v0.01"
SPLIT_NAMES = {
    "train": "train",
    "validation": "val",
    "valid": "val",
    "val": "val",
    "dev": "val",
    "test": "test",
}
SPEAKER_COLUMNS = ("speaker_id", "speaker", "client_id", "spk_id")
LABEL_COLUMNS = ("label", "word", "keyword", "command")
LAYOUT_HELP = (
    "expected parquet files whose path names their split, e.g. "
    "<dir>/v0.01/train/0000.parquet or <dir>/test-00000-of-00001.parquet"
)


def names_local_folder(arg: str) -> bool:
    """Whether a hub: argument names a local folder (an existing one, or a path) rather
    than a Hub repo id."""
    return bool(arg) and (arg.startswith(("/", ".", "~")) or Path(arg).expanduser().is_dir())


def parse_arg(arg: str) -> tuple[str, str | None, float]:
    """'repo:config?seconds=3' -> (repo or folder, config, seconds)."""
    arg, _, query = arg.partition("?")
    seconds = 1.0
    for item in filter(None, query.split("&")):
        key, _, value = item.partition("=")
        if key != "seconds":
            raise ValueError(f"unknown option '{key}' in hub source; the only one is seconds=<s>")
        seconds = float(value)
    if not arg:
        return DEFAULT_REPO, DEFAULT_CONFIG, seconds
    path = Path(arg).expanduser()
    if path.is_dir():
        return str(path), None, seconds
    if arg.startswith(("/", ".", "~")):
        raise ValueError(f"no folder {arg}; {LAYOUT_HELP}")
    repo, _, config = arg.partition(":")
    return repo, config or (DEFAULT_CONFIG if repo == DEFAULT_REPO else None), seconds


def _split_of(path: Path) -> str | None:
    for part in [*path.parent.parts[::-1], path.stem]:
        head = part.lower().split("-")[0].split("_")[0].split(".")[0]
        if head in SPLIT_NAMES:
            return head
    return None


def _local_files(root: Path) -> dict[str, list[str]]:
    files = sorted(root.rglob("*.parquet"))
    if not files:
        raise ValueError(f"no parquet files under {root}; {LAYOUT_HELP}")
    by_split: dict[str, list[str]] = {}
    for f in files:
        split = _split_of(f.relative_to(root))
        if split is None:
            raise ValueError(f"cannot tell the split of {f}; {LAYOUT_HELP}")
        by_split.setdefault(split, []).append(str(f))
    return by_split


def _source_key(source: str, config: str | None) -> dict:
    """What the decoded clips depend on: the local files (name, size, time) or the repo."""
    if not Path(source).is_dir():
        return {"repo": source, "config": config}
    files = _local_files(Path(source))
    return {
        "files": {
            s: [(f, Path(f).stat().st_size, Path(f).stat().st_mtime_ns) for f in fs]
            for s, fs in files.items()
        }
    }


def _open(source: str, config: str | None, store: Store) -> dict:
    """{split: datasets.Dataset} for a local folder or a Hub repo, audio undecoded."""
    import datasets

    hf_cache = str(store.dir("hf_datasets"))
    if Path(source).is_dir():
        files = _local_files(Path(source))
        return dict(datasets.load_dataset("parquet", data_files=files, cache_dir=hf_cache))
    from speechforget.models.hub import hub_reachable

    if not hub_reachable() and not datasets.config.HF_HUB_OFFLINE:
        raise ValueError(
            f"cannot load the data set '{source}': the Hugging Face Hub cannot be reached. On a "
            f"machine with internet run `hf download {source} --repo-type dataset --revision "
            f"refs/convert/parquet` (add --include '{config}/*' for one config), copy the folder "
            "here and pass --data hub:<that folder>"
        )
    # the parquet export of a script-based repo keeps one folder per config; a parquet repo
    # may name its configs; untested here (no Hub access), hence the three attempts
    attempts = [
        dict(name=config, revision="refs/convert/parquet"),
        dict(data_dir=config, revision="refs/convert/parquet"),
        dict(name=config),
    ]
    for kwargs in attempts:
        try:
            return dict(datasets.load_dataset(source, cache_dir=hf_cache, **kwargs))
        except Exception as err:  # noqa: BLE001 - the next attempt or the message below
            last = err
    raise ValueError(
        f"could not load '{source}' ({config}) from the Hub: {last}. Offline, download its "
        f"parquet files elsewhere and pass the folder: --data hub:<dir> ({LAYOUT_HELP})"
    )


def _undecoded(ds):
    """The same rows with the audio column as {bytes, path} (no torchcodec)."""
    import datasets

    return ds.cast_column(_audio_column(ds), datasets.Audio(decode=False))


def _column(ds, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in ds.column_names), None)


def _labels(ds) -> list[str]:
    """The label of every row as a string (ClassLabel ints mapped to their names)."""
    col = _column(ds, LABEL_COLUMNS)
    if col is None:
        raise ValueError(f"no label column in {ds.column_names}; expected one of {LABEL_COLUMNS}")
    values, feature = ds[col], ds.features[col]
    names = getattr(feature, "names", None)
    return [names[v] if names is not None else str(v) for v in values]


def _audio_column(ds) -> str:
    import datasets

    for name, feature in ds.features.items():
        if isinstance(feature, datasets.Audio):
            return name
    if "audio" in ds.column_names:
        return "audio"
    raise ValueError(f"no audio column in {ds.column_names}")


def _decode(item: dict, max_seconds: float) -> np.ndarray:
    """{bytes, path} -> (L,) float32 at 16 kHz."""
    src = item.get("bytes") or item.get("path")
    if not src:
        raise AudioError("a row holds neither audio bytes nor a path")
    return load_audio(src, max_seconds=max_seconds, max_bytes=500_000_000, allow_silent=True)


def _kws_label(name: str) -> str:
    low = name.strip().lower()
    if low in KEYWORDS:
        return low
    return "_silence_" if low.strip("_") in ("silence", "background_noise") else "_unknown_"


def _rows(splits: dict) -> tuple[list[tuple], bool]:
    """(split, dataset, row, label name, speaker, take) per row, and whether it is kws."""
    rows = []
    for split, ds in splits.items():
        if split not in SPLIT_NAMES:
            warnings.warn(
                f"ignoring split '{split}' (not one of {', '.join(SPLIT_NAMES)})", stacklevel=3
            )
            continue
        spk_col = _column(ds, SPEAKER_COLUMNS)
        speakers = ds[spk_col] if spk_col else [None] * len(ds)
        takes = ds["utterance_id"] if "utterance_id" in ds.column_names else [0] * len(ds)
        for i, (label, spk, take) in enumerate(zip(_labels(ds), speakers, takes)):
            rows.append((SPLIT_NAMES[split], ds, i, label, spk or None, int(take or 0)))
    labels = {r[3].lower() for r in rows}
    return rows, len(labels & set(KEYWORDS)) >= 2


def _clips(rows: list[tuple], kws: bool, n: int) -> tuple[list[np.ndarray], list[tuple]]:
    """Decode rows into n-sample clips; long silence clips give one clip per second."""
    waves, meta, bad = [], [], []
    for split, ds, i, label, spk, take in rows:
        try:
            x = _decode(ds[i][_audio_column(ds)], max_seconds=3600.0)
        except AudioError as err:
            bad.append(str(err))
            continue
        cls = _kws_label(label) if kws else (spk or label)
        if kws and cls == "_silence_" and len(x) >= 2 * n:
            pieces = [x[s : s + n] for s in range(0, len(x) - n + 1, n)]
            waves += pieces
            meta += [(split, cls, None, k, "") for k in range(len(pieces))]
            continue
        waves.append(fit_clip(x, n))
        word = label if kws and cls != "_silence_" else ""
        meta.append((split, cls, spk if kws else (spk or label), take, word))
    if bad:
        warnings.warn(f"skipped {len(bad)} unreadable clip(s), e.g. {bad[0]}", stacklevel=3)
    return waves, meta


def _assemble(waves: list[np.ndarray], meta: list[tuple], kws: bool, name: str) -> SpeechData:
    if not waves:
        raise ValueError(f"{name}: no readable clips")
    classes = KWS_LABELS if kws else []
    speakers = sorted({m[2] for m in meta if m[2]})
    spk_index = {s: i for i, s in enumerate(speakers)}
    return SpeechData(
        waves=np.stack(waves).astype(np.float32),
        keyword=np.array([classes.index(m[1]) if kws else -1 for m in meta], np.int64),
        speaker=np.array([spk_index.get(m[2], -1) for m in meta], np.int64),
        take=np.array([m[3] for m in meta], np.int64),
        split=np.array([m[0] for m in meta], dtype="U7"),
        word=np.array([m[4] for m in meta]),
        keyword_names=list(classes),
        speaker_names=speakers,
        name=name,
    )


def load_hub(arg: str, cfg: DataConfig, store: Store | None = None) -> SpeechData:
    """SpeechData from a Hub repo or a local folder of parquet files (see module docstring);
    at most cfg.subset clips per class in each split, drawn with cfg.seed."""
    source, config, seconds = parse_arg(arg)
    n = int(round(seconds * SAMPLE_RATE))
    name = f"hub:{Path(source).name if Path(source).is_dir() else source}"

    def build() -> SpeechData:
        splits = {s: _undecoded(ds) for s, ds in _open(source, config, Store.of(store)).items()}
        rows, kws = _rows(splits)
        silence = [r for r in rows if kws and _kws_label(r[3]) == "_silence_"]
        rest = [r for r in rows if not (kws and _kws_label(r[3]) == "_silence_")]
        label = np.array([_kws_label(r[3]) if kws else (r[4] or r[3]) for r in rest])
        keep = per_class_subset(np.array([r[0] for r in rest]), label, cfg.subset, cfg.seed)
        waves, meta = _clips(silence + [rest[i] for i in keep], kws, n)
        if cfg.subset is not None:  # the silence pieces are a class too
            pos = per_class_subset(
                np.array([m[0] for m in meta]), np.array([m[1] for m in meta]), cfg.subset, cfg.seed
            )
            waves, meta = [waves[i] for i in pos], [meta[i] for i in pos]
        return _assemble(waves, meta, kws, name)

    key = _source_key(source, config)
    key = {**key, "subset": cfg.subset, "seed": cfg.seed, "n": n}
    return cached("hub", key, build, store)
