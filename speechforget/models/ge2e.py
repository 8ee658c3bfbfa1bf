"""A real pretrained speech encoder, offline: the GE2E speaker encoder of Resemblyzer.

Resemblyzer (Wan et al. 2018, "Generalized End-to-End Loss for Speaker Verification";
the `resemblyzer` package) ships a 3-layer LSTM (256 units) on 40 mel bands, trained on
real human speech (LibriSpeech, VoxCeleb1 and 2); its 256-d output is a voice embedding
(ReLU, L2-normed). Here it gets a classification head, in two forms:

- `ge2e` (finetune=False): the encoder is frozen and runs in `featurize`, so the model's
  inputs are the (B, 256) embeddings, cached like any built-in backbone's features, and
  every method, original and gold trains the head alone (seconds on a CPU);
- `ge2e-ft` (finetune=True): `featurize` gives (B, T, 40) mel frames and the encoder is
  trained with the head.

The weights are read from the installed package's `pretrained.pt` with
`torch.load(weights_only=True)` (no pickled code runs) and the package itself is not
imported (it imports librosa and webrtcvad). The mel frontend is Resemblyzer's in torch:
16 kHz, 25 ms Hann windows every 10 ms, 40 Slaney mel bands of the power spectrum (not
log), after raising the clip's level to -30 dBFS (never lowering it); the partials of
Resemblyzer's `embed_utterance` (1.6 s) are not needed for our 1 s clips.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import torch
import torchaudio
from torch import nn

from speechforget.config import TrainConfig
from speechforget.models.base import Backbone, package_dir

SAMPLE_RATE, N_MELS, HIDDEN, LAYERS, EMBED = 16_000, 40, 256, 3, 256
TARGET_DBFS = -30.0  # Resemblyzer's audio_norm_target_dBFS (increase only)

GE2E_SPEC = {"family": "ge2e", "finetune": False, "dropout": 0.1}
GE2E_FT_SPEC = {"family": "ge2e", "finetune": True, "dropout": 0.1}
HEAD_SCALE = EMBED**0.5  # unit-norm embeddings have ~1/16 per dimension: the head sees ~1
# the head on fixed embeddings: cheap epochs, large batches
GE2E_RECIPE = TrainConfig(epochs=30, lr=1e-2, weight_decay=1e-4, batch_size=128)
# the encoder fine-tuned: a few epochs at a small learning rate (it starts pretrained)
GE2E_FT_RECIPE = TrainConfig(epochs=6, lr=1e-3, weight_decay=1e-4, batch_size=32)


class GE2EEncoder(nn.Module):
    """Resemblyzer's VoiceEncoder: (B, T, 40) mel frames -> (B, 256) L2-normed embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(N_MELS, HIDDEN, LAYERS, batch_first=True)
        self.linear = nn.Linear(HIDDEN, EMBED)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        raw = torch.relu(self.linear(hidden[-1]))  # (B, 256)
        return raw / (raw.norm(dim=1, keepdim=True) + 1e-12)


def weights_path() -> Path:
    """The pretrained.pt of the installed resemblyzer package (not imported)."""
    needs = "the ge2e backbones need the resemblyzer package's weights"
    return package_dir("resemblyzer", needs, "resemblyzer==0.1.4") / "pretrained.pt"


@lru_cache(maxsize=1)
def pretrained_state() -> dict[str, torch.Tensor]:
    """The encoder's pretrained weights (read once; copies are loaded into models)."""
    ckpt = torch.load(weights_path(), map_location="cpu", weights_only=True)
    state = ckpt["model_state"]
    return {k: v for k, v in state.items() if k.startswith(("lstm.", "linear."))}


def pretrained_encoder() -> GE2EEncoder:
    enc = GE2EEncoder()
    enc.load_state_dict(pretrained_state())
    return enc


@lru_cache(maxsize=1)
def _frozen_encoder() -> GE2EEncoder:
    """The shared frozen encoder of `ge2e` (CPU, eval, no gradients)."""
    enc = pretrained_encoder().eval()
    for p in enc.parameters():
        p.requires_grad_(False)
    return enc


def _mel_transform() -> torchaudio.transforms.MelSpectrogram:
    """librosa.feature.melspectrogram's defaults at Resemblyzer's hparams."""
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=SAMPLE_RATE,
        n_fft=400,
        win_length=400,
        hop_length=160,
        n_mels=N_MELS,
        power=2.0,
        center=True,
        pad_mode="constant",
        norm="slaney",
        mel_scale="slaney",
    )


@torch.no_grad()
def mel_frames(wave: torch.Tensor, mel: nn.Module | None = None) -> torch.Tensor:
    """(B, L) waveform at 16 kHz -> (B, T, 40) mel power frames, as Resemblyzer's
    wav_to_mel_spectrogram after normalize_volume(-30 dBFS, increase_only)."""
    wave = wave.float()
    rms = wave.pow(2).mean(dim=1, keepdim=True).sqrt().clamp_min(1e-9)
    gain = (10 ** (TARGET_DBFS / 20) / rms).clamp_min(1.0)  # raise quiet clips only
    m = (mel or _mel_transform()).to(wave.device)(wave * gain)  # (B, 40, T)
    return m.transpose(1, 2).contiguous()


class GE2E(Backbone):
    family = "ge2e"

    def __init__(self, num_classes: int, finetune: bool = False, dropout: float = 0.1) -> None:
        super().__init__()
        self.num_classes, self.embed_dim = num_classes, EMBED
        self.finetune, self.dropout_p = bool(finetune), dropout
        self.mel = _mel_transform()
        if self.finetune:  # trained with the head, saved with it
            self.encoder = pretrained_encoder()
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(EMBED, num_classes)

    @torch.no_grad()
    def featurize(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, L) waveform -> (B, T, 40) mel frames (fine-tuned), or the frozen encoder's
        (B, 256) embeddings (frozen)."""
        mels = mel_frames(wave, self.mel)
        if self.finetune:
            return mels
        return _frozen_encoder()(mels.cpu()).to(wave.device)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        emb = self.encoder(x) if self.finetune else x  # (B, 256)
        return self.head(self.drop(emb * HEAD_SCALE)), emb

    def spec(self) -> dict:
        return {
            "family": self.family,
            "num_classes": self.num_classes,
            "finetune": self.finetune,
            "dropout": self.dropout_p,
        }
