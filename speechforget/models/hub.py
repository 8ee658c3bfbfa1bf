"""Access to the Hugging Face Hub for checkpoints, and what to say when it cannot be reached.

    load_from(AutoConfig.from_pretrained, "facebook/hubert-base-ls960")

Offline (as on every machine of this project) a Hub id fails at once with a message
that says how to point at local files instead; a local folder written by
`save_pretrained` always works.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

T = TypeVar("T")


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
