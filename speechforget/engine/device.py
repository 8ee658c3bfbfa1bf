"""Where the engine runs: device choice, bf16 autocast on CUDA, and eval-mode prediction."""

from __future__ import annotations

import contextlib

import torch
from torch import nn


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' -> cuda when available else cpu; an unavailable 'cuda' is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for but no CUDA device is available; use cpu or auto")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise ValueError(f"unknown device '{name}'; choose one of cpu, cuda, auto")
    return torch.device(name)


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA, nothing on CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def predict(
    model: nn.Module, x: torch.Tensor, device: str | torch.device = "auto", batch_size: int = 256
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode logits (N, C) and embeddings (N, D), as float32 CPU tensors."""
    dev = resolve_device(device) if isinstance(device, str) else device
    was_training = model.training
    model.to(dev).eval()
    outs, embs = [], []
    for start in range(0, len(x), batch_size):
        with autocast(dev):
            logits, emb = model(x[start : start + batch_size].to(dev))
        outs.append(logits.float().cpu())
        embs.append(emb.float().cpu())
    model.train(was_training)
    if not outs:
        return torch.zeros(0, 0), torch.zeros(0, 0)
    return torch.cat(outs), torch.cat(embs)
