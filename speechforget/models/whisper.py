"""Whisper's log-mel input, computed for the clip only and padded to 30 s on the fly.

Whisper's encoder accepts exactly 3,000 mel frames (30 s, `2 * max_source_positions`),
so every 1 s clip is padded to 30 s: the encoder always runs on 1,500 positions, which
makes Whisper the slowest backbone per clip by far. Storing 3,000 frames per clip
would cost ~1 MB each, so `log_mel` returns only the frames that see the clip and
`pad_frames` adds the rest inside `forward`. The result equals
`WhisperFeatureExtractor(...)(wave).input_features` (tested): the padded frames of the
real extractor are silence, whose value only depends on the clip's maximum.
"""

from __future__ import annotations

import numpy as np
import torch

N_FFT, HOP = 400, 160


def mel_filters(n_mels: int) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) Slaney mel filters, as WhisperFeatureExtractor builds them."""
    from transformers import WhisperFeatureExtractor

    return WhisperFeatureExtractor(feature_size=n_mels).mel_filters.astype(np.float32)


def log_mel(wave: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    """(B, L) 16 kHz waveform -> (B, n_mels, L // 160 + 2) normalised log-mel.

    The clip is zero-padded by n_fft samples first, so that the frames at its end
    see the same zeros as in the 30 s version; every later frame is pure silence."""
    x = torch.nn.functional.pad(wave.float(), (0, N_FFT))
    window = torch.hann_window(N_FFT, device=x.device)
    stft = torch.stft(x, N_FFT, HOP, window=window, return_complex=True)
    power = (stft[..., :-1].abs() ** 2).contiguous()  # (B, 201, T)
    mel = filters.T.to(x.device) @ power  # (B, n_mels, T)
    log = torch.clamp(mel, min=1e-10).log10()
    peak = log.amax(dim=(1, 2), keepdim=True)
    log = torch.maximum(log, peak - 8.0)
    return (log + 4.0) / 4.0


def pad_frames(x: torch.Tensor, frames: int) -> torch.Tensor:
    """(B, n_mels, T) -> (B, n_mels, frames): crop, or pad with the value the real
    extractor gives silence: (max(log peak - 8, -10) + 4) / 4."""
    if x.shape[-1] >= frames:
        return x[..., :frames]
    peak = x.amax(dim=(1, 2), keepdim=True)  # (B, 1, 1), normalised scale
    fill = torch.clamp(peak - 2.0, min=-1.5)
    pad = fill.expand(x.shape[0], x.shape[1], frames - x.shape[-1])
    return torch.cat([x, pad.to(x.dtype)], dim=-1)
