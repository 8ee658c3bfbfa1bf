"""Audio in and out, with soundfile only (wav, flac, ogg, mp3; never torchaudio.load).

`load_audio` turns a file or uploaded bytes into a 16 kHz mono float32 waveform
and refuses, with an `AudioError` that says what is wrong, anything that is not
usable speech: empty, too large, not audio, too long, NaN/inf, silent.
`fit_clip` cuts or pads it to the 1 s clips every model expects.
"""

from __future__ import annotations

import io
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf

from speechforget.data.dataset import CLIP_SAMPLES, SAMPLE_RATE

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
SILENT_PEAK = 1e-4  # peak below this (full scale 1.0) counts as silence


class AudioError(ValueError):
    """A file or upload that cannot be used as audio; the message says why."""


def _source(path_or_bytes: str | Path | bytes, max_bytes: int) -> tuple[object, str]:
    """A soundfile-readable object and a name for messages; checks existence and size."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data, name = bytes(path_or_bytes), "uploaded audio"
        size = len(data)
    else:
        path = Path(path_or_bytes)
        name = f"'{path.name}'"
        if not path.is_file():
            raise AudioError(f"audio file {path} does not exist")
        size, data = path.stat().st_size, None
    if size == 0:
        raise AudioError(f"{name} is empty (0 bytes); record or upload a wav/flac/ogg/mp3 file")
    if size > max_bytes:
        raise AudioError(
            f"{name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.1f} MB: upload a shorter clip"
        )
    return (io.BytesIO(data) if data is not None else str(path_or_bytes)), name


def resample(x: np.ndarray, sr: int, target_sr: int) -> np.ndarray:
    """(L,) float32 at `sr` Hz -> (L * target_sr / sr,) float32 at `target_sr` Hz (polyphase)."""
    if sr == target_sr:
        return x
    g = gcd(int(sr), int(target_sr))
    from scipy.signal import resample_poly  # ~0.6 s to import: only when a clip needs it

    return resample_poly(x, target_sr // g, sr // g).astype(np.float32)


def load_audio(
    path_or_bytes: str | Path | bytes,
    target_sr: int = SAMPLE_RATE,
    max_seconds: float = 30.0,
    max_bytes: int = 20_000_000,
    allow_silent: bool = False,
) -> np.ndarray:
    """Read wav/flac/ogg/mp3 (any rate, any channels) as (L,) float32 mono at `target_sr` Hz.

    Raises AudioError for a missing or empty file, a file over `max_bytes`, data
    that is not audio, zero length, more than `max_seconds` seconds, NaN/inf
    samples, or silence (peak < 1e-4; pass allow_silent=True to accept it).
    """
    src, name = _source(path_or_bytes, max_bytes)
    try:
        info = sf.info(src)
        if isinstance(src, io.BytesIO):
            src.seek(0)
        if info.frames > 0 and info.duration > max_seconds:
            raise AudioError(
                f"{name} is {info.duration:.1f} s long; the limit is {max_seconds:g} s: trim it"
            )
        x, sr = sf.read(src, dtype="float32", always_2d=True)  # (L, channels)
    except sf.LibsndfileError as err:
        raise AudioError(
            f"{name} is not readable audio ({err}); use wav, flac, ogg or mp3"
        ) from None
    except RuntimeError as err:  # soundfile raises RuntimeError for some malformed files
        raise AudioError(f"{name} is not readable audio ({err})") from None
    if x.shape[0] == 0:
        raise AudioError(f"{name} holds no samples (zero length)")
    if x.shape[0] / sr > max_seconds:
        raise AudioError(f"{name} is {x.shape[0] / sr:.1f} s long; the limit is {max_seconds:g} s")
    if not np.isfinite(x).all():
        raise AudioError(f"{name} contains NaN or infinite samples; re-export it")
    x = x[:, 0] if x.shape[1] == 1 else x.mean(axis=1, dtype=np.float32)
    x = resample(np.ascontiguousarray(x), int(sr), int(target_sr))
    if not allow_silent and float(np.abs(x).max()) < SILENT_PEAK:
        raise AudioError(f"{name} is silent (peak below {SILENT_PEAK:g}); check the microphone")
    return x


def fit_clip(x: np.ndarray, n: int = CLIP_SAMPLES) -> np.ndarray:
    """(L,) -> (n,) float32: zero-pad centred, or crop the n-sample window with most energy."""
    x = np.asarray(x, dtype=np.float32)
    if len(x) == n:
        return x
    if len(x) < n:
        left = (n - len(x)) // 2
        return np.pad(x, (left, n - len(x) - left))
    energy = np.concatenate([[0.0], np.cumsum(x.astype(np.float64) ** 2)])
    start = int(np.argmax(energy[n:] - energy[:-n]))  # window sums for every start
    return x[start : start + n].copy()


def cut_silence(x: np.ndarray, floor: float = 0.02, margin: int = 160) -> np.ndarray:
    """(L,) -> from `margin` samples before the first sample louder than `floor` x the peak
    to `margin` after the last (10 ms at 16 kHz: the built-in data's takes are cut so);
    x itself when no sample is that loud. Keeps x's dtype."""
    x = np.asarray(x)
    loud = np.flatnonzero(np.abs(x) > floor * np.abs(x).max()) if x.size else []
    if len(loud) == 0:
        return x
    return x[max(int(loud[0]) - margin, 0) : int(loud[-1]) + margin]


def centre_word(x: np.ndarray, n: int = CLIP_SAMPLES) -> np.ndarray:
    """An upload or a recording as the clip a model reads: its silence cut, then fit_clip.
    The built-in data's words sit in the middle of their second; fit_clip alone would pad a
    short file with its silence, or put a short word of a long recording at the edge of the
    first window that holds it (every such window has the same energy). On espeak voices
    the data never uses (6 klatt variants x 3 rates x 10 keywords, 0.05-0.4 s of silence
    either side; scripts/upload_silence.py), the keyword default heard 94.4% of 180 without
    the cut and 99.4% with it."""
    return fit_clip(cut_silence(x), n)


def to_int16(x: np.ndarray) -> np.ndarray:
    """float in [-1, 1] -> int16 PCM (scale 32768, so int16 / 32768 reads back exactly)."""
    return np.clip(np.round(np.asarray(x, np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def save_wav(path: str | Path, x: np.ndarray, sr: int = SAMPLE_RATE) -> Path:
    """Write (L,) float in [-1, 1] as 16-bit PCM wav; makes parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), to_int16(x), sr, subtype="PCM_16")
    return path
