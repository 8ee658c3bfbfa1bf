"""Loss helpers shared by the methods: per-sample cross-entropy, temperature KL,
random wrong labels. Every helper works on float32 (logits are cast up first, so
bf16 autocast never reaches the softmax)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def ce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(B, C) logits, (B,) labels -> (B,) cross-entropy per sample (nats)."""
    return F.cross_entropy(logits.float(), y, reduction="none")


def kl_t(student: torch.Tensor, teacher: torch.Tensor, T: float = 1.0) -> torch.Tensor:
    """KL_T(teacher || student) as knowledge distillation writes it:

        kl_div(log_softmax(s / T), softmax(t / T), reduction="batchmean") * T * T

    student, teacher: (B, C) raw logits (never pass logits straight to kl_div)."""
    log_p_s = F.log_softmax(student.float() / T, dim=1)
    p_t = F.softmax(teacher.float() / T, dim=1)
    return F.kl_div(log_p_s, p_t, reduction="batchmean") * T * T


def kl_t_per_sample(student: torch.Tensor, teacher: torch.Tensor, T: float = 1.0) -> torch.Tensor:
    """(B,) per-sample KL_T(teacher || student) * T^2; its mean equals `kl_t`."""
    return kl_t_probs_per_sample(student, F.softmax(teacher.float() / T, dim=1), T)


def kl_t_probs_per_sample(student: torch.Tensor, p_t: torch.Tensor, T: float = 1.0) -> torch.Tensor:
    """(B,) per-sample KL(p_t || softmax(student / T)) * T^2, for a teacher given
    as probabilities (B, C) (Bad-Teaching mixes two teachers per sample)."""
    log_p_s = F.log_softmax(student.float() / T, dim=1)
    return F.kl_div(log_p_s, p_t, reduction="none").sum(dim=1) * T * T


def wrong_labels(y: torch.Tensor, num_classes: int, gen: torch.Generator) -> torch.Tensor:
    """(N,) labels -> (N,) labels drawn uniformly from the C-1 other classes.

    y + k mod C with k uniform in 1..C-1 is never y, for odd and even C alike
    (unlike a fixed map such as C-1-y). Drawn on the CPU with `gen`."""
    if num_classes < 2:
        raise ValueError("random labels need at least 2 classes")
    k = torch.randint(1, num_classes, (len(y),), generator=gen)
    return (y.cpu() + k) % num_classes
