"""Lazy entry point of the transformer backbones: `import speechforget.models` stays free
of transformers (about 1.5 s of imports) until a transformer model is built."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from speechforget.models.base import Backbone

HF_FAMILIES = ("wav2vec2", "hubert", "whisper")


def build_hf(spec: dict) -> Backbone:
    """FAMILIES builder of wav2vec2, hubert and whisper (see models/hf.py)."""
    from speechforget.models.hf import HFBackbone

    return HFBackbone.from_spec(spec)
