"""The model registry: which families can be built from a spec, and the built-in backbones.

A new built-in backbone is a model file (its architecture, spec and recipe) plus an entry
in BUILTIN; speechforget.training trains its originals and gold retrains from that entry.
Transformer backbones are named in models/catalog.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from speechforget.config import TrainConfig
from speechforget.models.base import Backbone
from speechforget.models.cnn import CNN_RECIPE, CNN_SPEC, SmallCNN
from speechforget.models.ge2e import GE2E, GE2E_FT_RECIPE, GE2E_FT_SPEC, GE2E_RECIPE, GE2E_SPEC
from speechforget.models.hf_entry import HF_FAMILIES, build_hf
from speechforget.models.speech_embedding import (
    SPEECHEMB_FT_RECIPE,
    SPEECHEMB_FT_SPEC,
    SPEECHEMB_RECIPE,
    SPEECHEMB_SPEC,
    SPEECHEMB_TUNED_RECIPE,
    SPEECHEMB_TUNED_SPEC,
    SpeechEmbeddingHead,
)


@dataclass(frozen=True)
class Builtin:
    """A built-in backbone: its spec (without num_classes), the recipe its originals are
    trained with, and how it is described to users."""

    name: str
    spec: dict
    recipe: TrainConfig
    size: str
    description: str
    task_recipe: dict = field(default_factory=dict)  # task -> fields that differ there

    def spec_for(self, num_classes: int) -> dict:
        return {**self.spec, "num_classes": num_classes}

    def recipe_for(self, task: str) -> TrainConfig:
        """The recipe of this backbone's originals for `task`."""
        return dataclasses.replace(self.recipe, **self.task_recipe.get(task, {}))


# family name -> builder(spec dict) -> Backbone
FAMILIES: dict[str, Callable[[dict], Backbone]] = {
    "cnn": lambda s: SmallCNN(**{k: v for k, v in s.items() if k != "family"}),
    "ge2e": lambda s: GE2E(**{k: v for k, v in s.items() if k != "family"}),
    "speechemb": lambda s: SpeechEmbeddingHead(**{k: v for k, v in s.items() if k != "family"}),
    **dict.fromkeys(HF_FAMILIES, build_hf),
}
# backbone name -> the built-in backbones (the first is the default's)
BUILTIN: dict[str, Builtin] = {
    "cnn": Builtin(
        "cnn",
        CNN_SPEC,
        CNN_RECIPE,
        "74k",
        "built-in small CNN on log-mels (shipped, offline)",
        {"sid": {"epochs": 48}},  # 44 speakers: more epochs (chosen on val)
    ),
    "ge2e": Builtin(
        "ge2e",
        GE2E_SPEC,
        GE2E_RECIPE,
        "1.4M frozen",
        "pretrained GE2E speaker encoder (Resemblyzer, real speech), frozen; head on its "
        "embeddings (offline, trained here in seconds)",
    ),
    "ge2e-ft": Builtin(
        "ge2e-ft",
        GE2E_FT_SPEC,
        GE2E_FT_RECIPE,
        "1.4M",
        "pretrained GE2E speaker encoder (Resemblyzer), fine-tuned with its head (offline, "
        "trained here: minutes on a CPU)",
    ),
    "speechemb": Builtin(
        "speechemb",
        SPEECHEMB_SPEC,
        SPEECHEMB_RECIPE,
        "330k frozen + 111k",
        "pretrained speech embedding (Google's keyword-spotting encoder, real speech), frozen; "
        "a small CNN head on its embeddings (offline; the keyword original is shipped, the "
        "built-in clips' embeddings take about 20 s once)",
    ),
    "speechemb-ft": Builtin(
        "speechemb-ft",
        SPEECHEMB_FT_SPEC,
        SPEECHEMB_FT_RECIPE,
        "440k",
        "pretrained speech embedding (Google's keyword-spotting encoder), fine-tuned with its "
        "head (offline, trained here: about 4 minutes on a 2-core CPU)",
    ),
    "speechemb-tuned": Builtin(
        "speechemb-tuned",
        SPEECHEMB_TUNED_SPEC,
        SPEECHEMB_TUNED_RECIPE,
        "190k frozen + 139k + 111k",
        "pretrained speech embedding (Google's keyword-spotting encoder, real speech): its "
        "last 5 of 20 convolutions tuned with a small CNN head, the rest frozen (offline; the "
        "keyword original is shipped and is the app's default for keywords)",
    ),
}


def builtin(name: str) -> Builtin | None:
    """The registry entry of a built-in backbone, or None for a transformer backbone."""
    return BUILTIN.get(name)
