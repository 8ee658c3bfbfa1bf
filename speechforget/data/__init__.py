"""Audio sources, clips, forget specs and splits.

`load_source(DataConfig)` dispatches on the source string:
    synthetic             the built-in offline data set (espeak-ng voices)
    folder:<dir>          <dir>/<label>/*.wav, a user's own recordings
Further sources (Hub parquet, VoxCeleb1) register in SOURCES.
"""

from __future__ import annotations

from collections.abc import Callable

from speechforget.config import DataConfig
from speechforget.data.dataset import KWS_LABELS, SpeechData, TaskData
from speechforget.data.splits import ForgetSpec, Split, make_split


def _synthetic(arg: str, cfg: DataConfig) -> SpeechData:
    from speechforget.data.synthetic import SynthConfig, build_synthetic

    return build_synthetic(SynthConfig(seed=cfg.seed))


def _folder(arg: str, cfg: DataConfig) -> SpeechData:
    from speechforget.data.folder import load_folder

    return load_folder(arg)


# source kind -> loader(argument after the colon, DataConfig)
SOURCES: dict[str, Callable[[str, DataConfig], SpeechData]] = {
    "synthetic": _synthetic,
    "folder": _folder,
}


def load_source(cfg: DataConfig) -> SpeechData:
    kind, _, arg = cfg.source.partition(":")
    if kind not in SOURCES:
        raise ValueError(f"unknown data source '{cfg.source}'; choose one of {', '.join(SOURCES)}")
    return SOURCES[kind](arg, cfg)


__all__ = [
    "KWS_LABELS", "SOURCES", "ForgetSpec", "SpeechData", "Split", "TaskData", "load_source",
    "make_split",
]  # fmt: skip
