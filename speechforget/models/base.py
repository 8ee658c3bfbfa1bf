"""The backbone contract every model family implements.

A backbone turns 16 kHz waveforms into class logits and pooled embeddings:

    x = model.featurize(wave)        # (B, L) float32 waveform -> model inputs, no grad
    logits, emb = model(x)           # (B, C), (B, D)

`featurize` is deterministic and parameter-free with respect to training (the
built-in CNN computes log-mels there; transformer adapters may normalise or run a
frozen encoder), so the pipeline computes it once per data set and caches it.
Every method, metric and figure only relies on this contract.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import torch
from torch import nn


class Backbone(nn.Module):
    """Base class: subclasses set `num_classes`, `embed_dim` and implement
    `featurize` and `forward`."""

    num_classes: int
    embed_dim: int
    family: str = "base"

    @torch.no_grad()
    def featurize(self, wave: torch.Tensor) -> torch.Tensor:  # (B, L) -> inputs
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, ...) inputs -> (logits (B, C), embedding (B, D))."""
        raise NotImplementedError

    splittable: bool = False  # True where split(k) works for k > 0

    def split(self, k: int) -> tuple[nn.Module, nn.Module]:
        """(prefix, rest) with model(x) == rest(prefix(x)): prefix is the first k blocks
        (shared modules, not copies), whose outputs a method may cache while it keeps
        them frozen. Backbones that cannot be split raise ValueError."""
        raise ValueError(
            f"the {self.family} backbone cannot be split into blocks; use frozen_blocks=0"
        )

    def reset_head(self, generator: torch.Generator | None = None) -> None:
        """Re-initialise the classification head (Bad-Teaching's incompetent teacher): by
        default the module's `head` (its own reset_parameters); a backbone without one
        overrides this."""
        head = getattr(self, "head", None)
        if head is None:
            raise NotImplementedError(f"the {self.family} backbone has no `head` to reset")
        head.reset_parameters()

    def spec(self) -> dict:
        """What is needed to rebuild this model empty (saved beside its weights)."""
        raise NotImplementedError


def package_dir(module: str, needs: str, install: str) -> Path:
    """The folder of an installed package whose files (pretrained weights) a backbone reads
    without importing it; a clear error naming the pip line when it is missing."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:  # the parent of a dotted name is missing
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{needs}: pip install {install}")
    return Path(spec.submodule_search_locations[0])


def frozen_copy(model: Backbone) -> Backbone:
    """A deep copy with no gradients: methods get copies, the original stays as it was."""
    twin = copy.deepcopy(model).eval()
    for p in twin.parameters():
        p.requires_grad_(False)
    return twin
