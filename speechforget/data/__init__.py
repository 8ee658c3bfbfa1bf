"""Audio sources, clips, forget specs and splits.

`load_source(DataConfig)` dispatches on the source string:
    synthetic             the built-in offline data set (espeak-ng voices)
    folder:<dir>          <dir>/<label>/*.wav, a user's own recordings
    hub:<repo or dir>     Speech Commands v0.01 (SUPERB labels) from Hub parquet files
    voxceleb:<dir>        a local VoxCeleb1 folder with iden_split.txt (speaker id)
Further sources register in SOURCES.
"""

from __future__ import annotations

from collections.abc import Callable

from speechforget.config import DataConfig
from speechforget.data.dataset import KWS_LABELS, SpeechData, TaskData
from speechforget.data.splits import ForgetSpec, Split, make_split
from speechforget.store import Store


def _synthetic(arg: str, cfg: DataConfig, store: Store) -> SpeechData:
    from speechforget.data.synthetic import SynthConfig, build_synthetic

    return build_synthetic(SynthConfig(seed=cfg.seed), store)


def _folder(arg: str, cfg: DataConfig, store: Store) -> SpeechData:
    from speechforget.data.folder import load_folder

    return load_folder(arg)


def _hub(arg: str, cfg: DataConfig, store: Store) -> SpeechData:
    from speechforget.data.hub import load_hub

    return load_hub(arg, cfg, store)


def _voxceleb(arg: str, cfg: DataConfig, store: Store) -> SpeechData:
    from speechforget.data.voxceleb import load_voxceleb

    return load_voxceleb(arg, cfg, store)


# source kind -> loader(argument after the colon, DataConfig, the cache folder)
SOURCES: dict[str, Callable[[str, DataConfig, Store], SpeechData]] = {
    "synthetic": _synthetic,
    "folder": _folder,
    "hub": _hub,
    "voxceleb": _voxceleb,
}


def load_source(cfg: DataConfig, store: Store | None = None) -> SpeechData:
    """The clips of a data source; built or decoded data is kept in `store` (default: the
    cache folder, see speechforget.store)."""
    kind, _, arg = cfg.source.partition(":")
    if kind not in SOURCES:
        raise ValueError(f"unknown data source '{cfg.source}'; choose one of {', '.join(SOURCES)}")
    return SOURCES[kind](arg, cfg, Store.of(store))


# (--data value, what it is) for `--data list` and the app's data-set notes
SOURCE_HELP: tuple[tuple[str, str], ...] = (
    (
        "synthetic",
        "built-in synthetic speech commands: espeak-ng voices saying the 12 SUPERB "
        "labels, offline (both tasks; --data-seed)",
    ),
    (
        "hub:",
        "Speech Commands v0.01 with the 12 SUPERB labels from the Hub's parquet files "
        "(google/speech_commands, needs the Hub; keyword spotting, speaker_id kept)",
    ),
    (
        "hub:<dir>",
        "the same from a local folder of those parquet files (offline), or a Hub "
        "parquet copy of VoxCeleb1 (speaker labels)",
    ),
    (
        "voxceleb:<dir>",
        "a local VoxCeleb1 folder with iden_split.txt and wav/ (speaker "
        "identification; ?seconds=3 clip length; --subset N clips per speaker)",
    ),
    ("folder:<dir>", "your own recordings, <dir>/<label>/*.wav or <dir>/{train,val,test}/<label>/"),
)


def needs_hub(source: str | None) -> bool:
    """True for a data source that downloads from the Hub: `hub:` or `hub:<repo id>`,
    not `hub:<local folder>` (the rule hub.parse_arg reads its argument by)."""
    kind, _, arg = (source or "synthetic").partition(":")
    if kind != "hub":
        return False
    from speechforget.data.hub import names_local_folder

    return not names_local_folder(arg)


def describe_sources() -> str:
    """SOURCE_HELP as a text table (for `--data list`)."""
    width = max(len(k) for k, _ in SOURCE_HELP)
    lines = [f"{k:<{width}}  {v}" for k, v in SOURCE_HELP]
    return "\n".join(
        lines + ["", "--subset N keeps at most N training clips per class (quick runs)"]
    )


__all__ = [
    "KWS_LABELS",
    "SOURCES",
    "SOURCE_HELP",
    "ForgetSpec",
    "SpeechData",
    "Split",
    "TaskData",
    "describe_sources",
    "load_source",
    "make_split",
    "needs_hub",
]
