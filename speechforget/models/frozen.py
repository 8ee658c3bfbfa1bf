"""Frozen-encoder features, cached on disk.

With `frozen_encoder` a transformer backbone trains its head only (layer weights,
projector, classifier), so the encoder's output is a fixed function of the clip.
Because the projector is linear, mean-pooling the encoder states over time before
it gives the same embedding as after it: the cache keeps (B, layers, D) per clip,
a few KB instead of the (layers, T, D) states, and Whisper's 30 s padding is paid
once per clip instead of once per step.

Every method then runs on the head alone. That is what a method "allows" here:
unlearning only the head leaves the encoder's representation untouched, which a
linear probe on the embeddings can still read, so it is an opt-in speed mode
(`--backbone NAME:frozen`), not the default.

Files: `<store>/features/<sha256 of encoder weights + batch bytes>.safetensors`,
one per featurize batch: the same clips in the same batches (originals.featurize's
default of 256) hit the cache.
"""

from __future__ import annotations

import hashlib

import torch
from safetensors.torch import load_file, save_file

from speechforget.store import Store

CHUNK = 16


def encoder_fingerprint(model) -> str:
    """sha256 of the encoder's weights and the config (computed once per model object)."""
    fp = getattr(model, "_encoder_fp", None)
    if fp is None:
        h = hashlib.sha256(repr(sorted(model.spec()["config"].items())).encode())
        for k, v in sorted(model.encoder.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().float().cpu().contiguous().numpy().tobytes())
        fp = model._encoder_fp = h.hexdigest()
    return fp


@torch.no_grad()
def encoder_features(model, x: torch.Tensor) -> torch.Tensor:
    """(B, ...) encoder inputs -> (B, layers, D) time-pooled states, from the disk cache
    when this encoder has seen these exact inputs before."""
    h = hashlib.sha256(encoder_fingerprint(model).encode())
    h.update(x.detach().float().cpu().contiguous().numpy().tobytes())
    # the store of the run that built the model (training sets it), else the default one
    path = Store.of(getattr(model, "feature_store", None)).path(
        "features", h.hexdigest()[:32], ".safetensors"
    )
    if path.exists():
        return load_file(str(path))["states"].to(x.device)
    was_training = model.training
    model.eval()
    # (B, layers, D), a few clips at a time: every layer's (T, D) states are large
    states = torch.cat(
        [model.layer_states(x[i : i + CHUNK]).mean(dim=2).float() for i in range(0, len(x), CHUNK)]
    )
    model.train(was_training)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({"states": states.cpu().contiguous()}, str(path))
    return states
