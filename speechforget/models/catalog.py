"""The transformer backbones speechforget knows by name, and access to the Hub.

    BACKBONES["hubert-base"].hub_id          # 'facebook/hubert-base-ls960'
    list_backbones()                         # for the app and the command line
    load_from(AutoConfig.from_pretrained, "facebook/hubert-base-ls960")

Offline (as on every machine of this project) a Hub id fails at once with a
message that says how to point at local files instead; a local folder written by
`save_pretrained` always works.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

T = TypeVar("T")


@dataclass(frozen=True)
class BackboneInfo:
    name: str  # short name used by --backbone
    hub_id: str  # the checkpoint on the Hugging Face Hub
    family: str  # wav2vec2 | hubert | whisper
    size: str  # parameter count, for the list shown to users
    task: str | None = None  # kws | sid for a fine-tuned (SUPERB) checkpoint, None for a base one
    base: str | None = None  # the pretrained (not fine-tuned) encoder of a fine-tuned checkpoint

    @property
    def init_id(self) -> str:
        """Where a gold retrain (and Bad-Teaching's teacher) starts: the pretrained encoder."""
        return self.base or self.hub_id


_BASES = [
    BackboneInfo("whisper-tiny", "openai/whisper-tiny", "whisper", "8M encoder"),
    BackboneInfo("whisper-base", "openai/whisper-base", "whisper", "21M encoder"),
    BackboneInfo("wav2vec2-base", "facebook/wav2vec2-base", "wav2vec2", "95M"),
    BackboneInfo("wav2vec2-large", "facebook/wav2vec2-large", "wav2vec2", "317M"),
    BackboneInfo("hubert-base", "facebook/hubert-base-ls960", "hubert", "95M"),
    BackboneInfo("hubert-large", "facebook/hubert-large-ll60k", "hubert", "317M"),
    BackboneInfo("hubert-xlarge", "facebook/hubert-xlarge-ll60k", "hubert", "964M"),
]
# SUPERB's large wav2vec 2.0 is the LibriLight-60k one (wav2vec2-large-lv60), see its model card.
_SUPERB_BASE = {
    "wav2vec2-base": "facebook/wav2vec2-base",
    "wav2vec2-large": "facebook/wav2vec2-large-lv60",
    "hubert-base": "facebook/hubert-base-ls960",
    "hubert-large": "facebook/hubert-large-ll60k",
}
_SUPERB = [
    BackboneInfo(
        f"superb-{arch}-{t}",
        f"superb/{arch}-superb-{t}",
        arch.split("-")[0],
        "95M" if arch.endswith("base") else "317M",
        {"ks": "kws", "sid": "sid"}[t],
        base,
    )
    for t in ("ks", "sid")
    for arch, base in _SUPERB_BASE.items()
]
BACKBONES: dict[str, BackboneInfo] = {b.name: b for b in _BASES + _SUPERB}


def list_backbones() -> list[dict]:
    """Every backbone a user can pick, the built-in CNN first (for the app and the CLI)."""
    rows = [
        {
            "name": "cnn",
            "hub_id": None,
            "family": "cnn",
            "size": "33k",
            "task": None,
            "description": "built-in small CNN on log-mels (shipped, offline)",
        }
    ]
    for b in BACKBONES.values():
        what = f"fine-tuned for {b.task} (SUPERB)" if b.task else "pretrained, fine-tuned here"
        rows.append(
            {
                "name": b.name,
                "hub_id": b.hub_id,
                "family": b.family,
                "size": b.size,
                "task": b.task,
                "description": f"{b.hub_id}: {what}",
            }
        )
    return rows


def describe_backbones() -> str:
    """list_backbones() as a text table (for `--backbone list`)."""
    rows = list_backbones()
    width = max(len(r["name"]) for r in rows)
    lines = [f"{r['name']:<{width}}  {r['size']:>11}  {r['description']}" for r in rows]
    return "\n".join(
        lines
        + [
            "",
            "a transformer backbone also takes --checkpoint <local "
            "save_pretrained folder>; NAME:frozen trains the head only",
        ]
    )


def resolve_backbone(name: str) -> BackboneInfo:
    """The table entry of a short name or a Hub id; ValueError listing the choices."""
    if name in BACKBONES:
        return BACKBONES[name]
    for b in BACKBONES.values():
        if b.hub_id == name:
            return b
    raise ValueError(
        f"unknown backbone '{name}'; choose one of cnn, {', '.join(BACKBONES)} "
        "(or give --checkpoint a local folder written by save_pretrained)"
    )


def hub_reachable(timeout: float = 3.0) -> bool:
    """False when HF_HUB_OFFLINE is set or the Hub endpoint does not answer (fast, no retries)."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        return False
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def offline_message(source: str) -> str:
    return (
        f"cannot load '{source}': the Hugging Face Hub cannot be reached from this machine and "
        "it is not in the local Hugging Face cache. Either point --checkpoint at a local folder "
        "written by save_pretrained (config.json + model.safetensors), or download it on a "
        f"machine with internet (`hf download {source}`), copy the cache folder here and set "
        "HF_HOME to it and HF_HUB_OFFLINE=1."
    )


def is_local(source: str) -> bool:
    p = Path(source).expanduser()
    return p.exists() or source.startswith((".", "/", "~")) or source.count("/") > 1


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """No weight-loading reports or progress bars (their missing/unexpected keys are
    expected here: a new head, Whisper's unused decoder); restored afterwards."""
    from transformers.utils import logging

    level, bars = logging.get_verbosity(), logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(level)
        if bars:
            logging.enable_progress_bar()


def load_from(loader: Callable[..., T], source: str, **kwargs) -> T:
    """`loader(source, **kwargs)` (e.g. AutoConfig.from_pretrained) for a local folder or a
    Hub id: the local cache first, the Hub only when it answers; ValueError saying what to
    do otherwise."""
    if is_local(source):
        path = Path(source).expanduser()
        if not (path / "config.json").is_file():
            raise ValueError(
                f"'{source}' is not a checkpoint folder: expected config.json (+ model.safetensors) "
                "as written by save_pretrained"
            )
        with quiet_transformers():
            return loader(str(path), **kwargs)
    try:
        with quiet_transformers():
            return loader(source, local_files_only=True, **kwargs)
    except OSError:
        pass
    if not hub_reachable():
        raise ValueError(offline_message(source))
    try:
        with quiet_transformers():
            return loader(source, **kwargs)
    except OSError as err:
        raise ValueError(f"could not load '{source}' from the Hub: {err}") from None
