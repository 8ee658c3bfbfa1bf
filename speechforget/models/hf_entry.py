"""Lazy entry points for the transformer backbones: `import speechforget.models` stays
free of transformers (about 1.5 s of imports) until one of these is called."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from speechforget.data.dataset import TaskData
    from speechforget.models.base import Backbone
    from speechforget.originals import Trained


def build_hf(spec: dict) -> Backbone:
    """FAMILIES builder of wav2vec2, hubert and whisper (see models/hf.py)."""
    from speechforget.models.hf import HFBackbone

    return HFBackbone.from_spec(spec)


def load_original_checkpoint(
    backbone: str, task: TaskData, checkpoint: str | None = None, **kwargs
) -> Trained:
    """The original of a transformer backbone (see models/pretrained.py)."""
    from speechforget.models.pretrained import load_original_checkpoint as load

    return load(backbone, task, checkpoint, **kwargs)


def list_backbones() -> list[dict]:
    """Every backbone a user can pick (see models/catalog.py)."""
    from speechforget.models.catalog import list_backbones as rows

    return rows()
