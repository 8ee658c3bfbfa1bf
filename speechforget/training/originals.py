"""The original of a backbone, from a registry keyed by model family.

    x, original = load_original(DEFAULT_BACKBONE, task, store=store)  # shipped, kept or trained

A family's entry says how its original comes to be and how clips become model inputs:
the built-in backbones (models.BUILTIN) are trained from scratch with their recipe and
shipped in assets/ (training/builtin.py); transformer backbones are loaded from a
checkpoint and fine-tuned here (training/transformers.py).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from speechforget.data.dataset import TaskData
from speechforget.models import builtin
from speechforget.models.hf_entry import HF_FAMILIES
from speechforget.models.registry import BUILTIN
from speechforget.store import Store
from speechforget.training.builtin import load_builtin
from speechforget.training.recipe import Trained

# ---- the registry: family -> how its original is made -----------------------------------

# load(backbone, task, checkpoint, recipe overrides, device, store) -> (inputs (M, ...), original)
OriginalLoader = Callable[
    [str, TaskData, "str | None", dict, str, Store], "tuple[torch.Tensor, Trained]"
]


def _builtin(backbone, task, checkpoint, recipe, device, store):
    return load_builtin(backbone, task, checkpoint, recipe, store)


def _transformer(backbone, task, checkpoint, recipe, device, store):
    # imported on use: transformers takes about 1.5 s to import, the built-in CNN needs none of it
    from speechforget.training.transformers import load_transformer

    return load_transformer(backbone, task, checkpoint, recipe, device, store)


ORIGINALS: dict[str, OriginalLoader] = {
    **{b.spec["family"]: _builtin for b in BUILTIN.values()},
    **dict.fromkeys(HF_FAMILIES, _transformer),
}


def family_of(backbone: str) -> str:
    """The model family of a backbone name ('hubert-base:frozen' -> 'hubert'); a name the
    catalog does not know (a local checkpoint) is read as a transformer."""
    entry = builtin(backbone)
    if entry is not None:
        return entry.spec["family"]
    from speechforget.models.catalog import BACKBONES

    info = BACKBONES.get(backbone.partition(":")[0])
    return info.family if info is not None else HF_FAMILIES[0]


def check_recipe(backbone: str, overrides: dict) -> None:
    """ValueError for --recipe overrides a backbone does not take (before any data loads)."""
    if not overrides:
        return
    if builtin(backbone) is not None:
        raise ValueError(
            "--recipe sets how a transformer backbone is fine-tuned here; the built-in "
            f"{backbone}'s original is shipped: retrain it with "
            "`python -m speechforget train --set KEY=VALUE`"
        )
    from speechforget.training.transformers import recipe_with

    recipe_with(backbone, overrides)


def load_original(
    backbone: str,
    task: TaskData,
    checkpoint: str | None = None,
    recipe: dict | None = None,
    device: str = "auto",
    store: Store | None = None,
) -> tuple[torch.Tensor, Trained]:
    """(inputs of every task clip, the original model) for `backbone` on `task`."""
    check_recipe(backbone, recipe or {})
    load = ORIGINALS[family_of(backbone)]
    return load(backbone, task, checkpoint, recipe or {}, device, Store.of(store))
