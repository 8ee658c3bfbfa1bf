"""The model registry: which families can be built from a spec, and the built-in backbones.

A new built-in backbone is a model file (its architecture, spec and recipe) plus an entry
in BUILTIN; speechforget.training trains its originals and gold retrains from that entry.
Transformer backbones are named in models/catalog.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from speechforget.config import TrainConfig
from speechforget.models.base import Backbone
from speechforget.models.cnn import CNN_RECIPE, CNN_SPEC, SmallCNN
from speechforget.models.hf_entry import HF_FAMILIES, build_hf


@dataclass(frozen=True)
class Builtin:
    """A built-in backbone: its spec (without num_classes), the recipe its originals are
    trained with, and how it is described to users."""

    name: str
    spec: dict
    recipe: TrainConfig
    size: str
    description: str

    def spec_for(self, num_classes: int) -> dict:
        return {**self.spec, "num_classes": num_classes}


# family name -> builder(spec dict) -> Backbone
FAMILIES: dict[str, Callable[[dict], Backbone]] = {
    "cnn": lambda s: SmallCNN(**{k: v for k, v in s.items() if k != "family"}),
    **dict.fromkeys(HF_FAMILIES, build_hf),
}
# backbone name -> the built-in backbones (the first is the default's)
BUILTIN: dict[str, Builtin] = {
    "cnn": Builtin(
        "cnn", CNN_SPEC, CNN_RECIPE, "74k", "built-in small CNN on log-mels (shipped, offline)"
    ),
}


def builtin(name: str) -> Builtin | None:
    """The registry entry of a built-in backbone, or None for a transformer backbone."""
    return BUILTIN.get(name)
