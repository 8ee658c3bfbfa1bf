"""The built-in backbone: a small CNN on log-mel features.

Input waveforms are 1 s at 16 kHz; `featurize` gives (B, 1, n_mels, frames)
log-mels (25 ms windows, `hop` samples apart: 20 ms for the shipped originals), normalised
per clip. Four conv blocks
shrink time and frequency; global average pooling gives the embedding.
In training mode, SpecAugment (Park et al. 2019) masks `masks` random bands of up to
`spec_freq` mel channels and `masks` spans of up to `spec_time` frames of each input
(0 = off), drawing from torch's global generator (seeded by the engine).
"""

from __future__ import annotations

import torch
import torchaudio
from torch import nn

from speechforget.config import TrainConfig
from speechforget.models.base import Backbone

# The shipped originals' architecture and recipe (see README "Built-in data and models").
CNN_SPEC = {
    "family": "cnn",
    "n_mels": 40,
    "width": 24,
    "embed_dim": 96,
    "dropout": 0.1,
    "hop": 320,
    "spec_freq": 4,
    "spec_time": 5,
    "masks": 2,
}
CNN_RECIPE = TrainConfig(epochs=30)


def _block(c_in: int, c_out: int, pool: bool) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class _Rest(nn.Module):
    """The blocks after a split, then pooling and the head: (B, C', F', T') -> (logits, emb)."""

    def __init__(self, blocks: nn.Sequential, drop: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.blocks, self.drop, self.head = blocks, drop, head

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.blocks(h).mean(dim=(2, 3))
        return self.head(self.drop(emb)), emb


class SmallCNN(Backbone):
    family = "cnn"
    splittable = True

    def __init__(
        self,
        num_classes: int,
        n_mels: int = 40,
        width: int = 16,
        embed_dim: int = 64,
        dropout: float = 0.1,
        sample_rate: int = 16_000,
        hop: int = 160,
        spec_freq: int = 0,
        spec_time: int = 0,
        masks: int = 2,
    ) -> None:
        super().__init__()
        self.num_classes, self.embed_dim = num_classes, embed_dim
        self.n_mels, self.width, self.dropout_p, self.sample_rate = (
            n_mels,
            width,
            dropout,
            sample_rate,
        )
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate, n_fft=512, win_length=400, hop_length=hop, n_mels=n_mels
        )
        self.hop, self.spec_freq, self.spec_time, self.masks = hop, spec_freq, spec_time, masks
        w = width
        self.features = nn.Sequential(
            _block(1, w, True),
            _block(w, 2 * w, True),
            _block(2 * w, 2 * w, True),
            _block(2 * w, embed_dim, False),
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(embed_dim, num_classes)

    @torch.no_grad()
    def featurize(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, L) waveform at 16 kHz -> (B, 1, n_mels, frames) normalised log-mel."""
        m = self.mel.to(wave.device)(wave.float())
        m = torch.log(m + 1e-6)
        m = (m - m.mean(dim=(1, 2), keepdim=True)) / (m.std(dim=(1, 2), keepdim=True) + 1e-5)
        return m.unsqueeze(1)

    def specaugment(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, F, T) -> the same with random frequency bands and time spans set to 0
        (the per-clip mean of the normalised log-mel)."""
        b, _, f, t = x.shape
        keep = torch.ones(b, 1, f, t, dtype=torch.bool, device=x.device)
        for width, size, dim in ((self.spec_freq, f, 2), (self.spec_time, t, 3)):
            if width <= 0:
                continue
            pos = torch.arange(size, device=x.device)
            for _ in range(self.masks):
                w = torch.randint(0, width + 1, (b, 1), device=x.device)
                start = (torch.rand(b, 1, device=x.device) * (size - w + 1)).long()
                band = (pos >= start) & (pos < start + w)  # (B, size)
                keep &= ~(band[:, None, :, None] if dim == 2 else band[:, None, None, :])
        return x * keep

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.training and (self.spec_freq > 0 or self.spec_time > 0):
            x = self.specaugment(x)
        h = self.features(x)  # (B, D, F', T')
        emb = h.mean(dim=(2, 3))  # (B, D)
        return self.head(self.drop(emb)), emb

    def split(self, k: int) -> tuple[nn.Module, nn.Module]:
        """(the first k conv blocks, the rest); k in 0..4."""
        if not 0 <= k <= len(self.features):
            raise ValueError(f"the CNN has {len(self.features)} conv blocks; got {k}")
        return self.features[:k], _Rest(self.features[k:], self.drop, self.head)

    def spec(self) -> dict:
        return {
            "family": self.family,
            "num_classes": self.num_classes,
            "n_mels": self.n_mels,
            "width": self.width,
            "embed_dim": self.embed_dim,
            "dropout": self.dropout_p,
            "hop": self.hop,
            "spec_freq": self.spec_freq,
            "spec_time": self.spec_time,
            "masks": self.masks,
        }
