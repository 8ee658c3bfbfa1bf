"""The model registry and safetensors checkpoints: architectures only (what is trained
with a recipe, originals and gold retrains, lives in speechforget.training).

`FAMILIES` builds an empty model of each family from the dict its `spec()` gave
(`build_model(spec)`); `BUILTIN` names the built-in backbones, trained from scratch with
their own recipe and shipped in assets/ (a new one is a model file plus an entry here);
transformer backbones are listed in models/catalog.py. `save_checkpoint` /
`load_checkpoint` store weights as safetensors beside a JSON metadata file (recipe, data
checksum, accuracies). Nothing here unpickles.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from speechforget.models.base import Backbone
from speechforget.models.registry import BUILTIN, FAMILIES, Builtin, builtin

__all__ = ["BUILTIN", "FAMILIES", "Backbone", "Builtin", "build_model", "builtin"]


def list_backbones() -> list[dict]:
    """Every backbone a user can pick, the built-in ones first (for the app and the CLI)."""
    from speechforget.models.catalog import list_backbones as transformers

    rows = [
        {"name": b.name, "hub_id": None, "family": b.spec["family"], "size": b.size}
        | {"task": None, "description": b.description}
        for b in BUILTIN.values()
    ]
    return rows + transformers()


def describe_backbones() -> str:
    """Every backbone as a text table (for `--backbone list`)."""
    rows = list_backbones()
    width = max(len(r["name"]) for r in rows)
    lines = [f"{r['name']:<{width}}  {r['size']:>11}  {r['description']}" for r in rows]
    note = (
        "a transformer backbone also takes --checkpoint <local save_pretrained folder>; "
        "NAME:frozen trains the head only"
    )
    return "\n".join([*lines, "", note])


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
    h = hashlib.sha256()
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
