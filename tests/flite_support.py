"""flite, the validation engine (Debian's `flite`; never in any training data): the ten
keywords in four of its voices, for the tests that check how another engine is heard."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FLITE_VOICES = ("kal", "slt", "rms", "awb")
KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")

needs_flite = pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed")


def flite_keywords(folder: Path) -> list[tuple[str, str, Path]]:
    """(voice, keyword, wav path) for every keyword in every voice, written into `folder`."""
    out = []
    for voice in FLITE_VOICES:
        for word in KEYWORDS:
            path = Path(folder) / f"{voice}_{word}.wav"
            subprocess.run(["flite", "-voice", voice, "-t", word, "-o", str(path)], check=True)
            out.append((voice, word, path))
    return out
