"""Backbone registry and safetensors checkpoints.

`build_model(spec)` rebuilds an empty model from the dict its `spec()` gave;
`save_checkpoint` / `load_checkpoint` store weights as safetensors beside a JSON
metadata file (recipe, data checksum, accuracies). Nothing here unpickles.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from speechforget.models.base import Backbone
from speechforget.models.cnn import SmallCNN
from speechforget.models.hf_entry import build_hf, list_backbones, load_original_checkpoint  # noqa: F401

# family name -> builder(spec dict) -> Backbone. Transformer families register here too.
FAMILIES: dict[str, Callable[[dict], Backbone]] = {
    "cnn": lambda s: SmallCNN(**{k: v for k, v in s.items() if k != "family"}),
    "wav2vec2": build_hf,
    "hubert": build_hf,
    "whisper": build_hf,
}


def build_model(spec: dict, seed: int | None = None) -> Backbone:
    """An untrained model from a spec dict; `seed` fixes the initialisation."""
    family = spec.get("family")
    if family not in FAMILIES:
        raise ValueError(f"unknown model family '{family}'; choose one of {', '.join(FAMILIES)}")
    if seed is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return FAMILIES[family](spec)
    return FAMILIES[family](spec)


def save_checkpoint(model: Backbone, path: str | Path, meta: dict | None = None) -> Path:
    """Write `<path>.safetensors` and `<path>.json` (spec + meta). Returns the weights path."""
    path = Path(path).with_suffix("")
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    # write beside, then rename: a reader (another run sharing the cache) never sees half a file
    tmp = Path(f"{path}.{os.getpid()}.tmp")
    save_file(state, str(tmp))
    os.replace(tmp, str(path) + ".safetensors")
    info = {"spec": model.spec(), **(meta or {})}
    tmp.write_text(json.dumps(info, indent=2, default=str))
    os.replace(tmp, str(path) + ".json")
    return Path(str(path) + ".safetensors")


def load_checkpoint(path: str | Path) -> tuple[Backbone, dict]:
    """(model in eval mode, metadata) from a checkpoint written by save_checkpoint."""
    path = Path(path).with_suffix("")
    meta_path, weights = Path(str(path) + ".json"), Path(str(path) + ".safetensors")
    if not weights.exists() or not meta_path.exists():
        raise FileNotFoundError(f"no checkpoint at {path} (.safetensors + .json expected)")
    meta = json.loads(meta_path.read_text())
    model = build_model(meta["spec"])
    model.load_state_dict(load_file(str(weights)))
    return model.eval(), meta


def state_hash(model: torch.nn.Module) -> str:
    """A digest of every parameter and buffer (tests: the original is never modified)."""
    import hashlib

    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
