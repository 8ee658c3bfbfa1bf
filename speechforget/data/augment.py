"""Augmentation of the synthetic speech, the same for every engine: a recording chain.

Each word is placed in a 1 s window with a random shift, then, in batches:
  1. pitch and vocal-tract (formant) shift, tempo kept: VTLP, a piecewise-linear warp of the
     frequency axis (Jaitly & Hinton 2013) applied to the STFT, with phase-vocoder phases;
  2. a room on some clips: a synthetic impulse response (sparse early reflections, then an
     exponential tail) of a small, medium or large room (RT60 0.1 s .. 1.2 s);
  3. background noise (white, pink, brown or babble-like) at a random SNR;
  4. the microphone and device: a random EQ (tilt and three bells), then one of: none,
     a phone (300-3,400 Hz band), a laptop mic (high-pass, low-pass, a resonance) or a
     low-bit-rate codec (band-limited, spectral holes, coarse magnitudes);
  5. a gain; a phone clip is mu-law quantised (8 bit), a few clips are overdriven (clipped).
The speed (tempo with pitch) of each take is set when it is rendered (synthetic.py).
All randomness comes from the generator passed in, in a fixed order: the data set's
checksum rests on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from speechforget.data.dataset import CLIP_SAMPLES, SAMPLE_RATE

if TYPE_CHECKING:
    from speechforget.data.synthetic import SynthConfig

NFFT, IR_LEN = 32768, 16000  # FFT size for filters + reverb (>= clip + IR), IR length (1 s)
WIN, HOP = 512, 128  # STFT of the warp and the codec (32 ms, 8 ms)
DEVICES = ("none", "phone", "laptop", "codec")
ROOMS = ((0.1, 0.3), (0.3, 0.6), (0.6, 1.2))  # RT60 ranges (s): small, medium, large


def noise(kind: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(B,) kind 0 white, 1 pink, 2 brown, 3 babble-like -> (B, CLIP_SAMPLES) noise, rms 1."""
    f = np.maximum(np.fft.rfftfreq(CLIP_SAMPLES, 1 / SAMPLE_RATE), 20.0)
    alpha = np.array([0.0, 1.0, 2.0, 1.0])[kind][:, None]
    shape = f[None] ** (-alpha / 2)
    band = 1 / (1 + (300 / f) ** 4) / (1 + (f / 3500) ** 4)  # speech band for babble
    shape = np.where((kind == 3)[:, None], shape * band, shape)
    shape[:, 0] = 0.0
    n = np.fft.irfft(np.fft.rfft(rng.standard_normal((len(kind), CLIP_SAMPLES))) * shape)
    t = np.arange(CLIP_SAMPLES) / SAMPLE_RATE
    rate, phase = rng.uniform(2, 7, (len(kind), 3, 1)), rng.uniform(0, 2 * np.pi, (len(kind), 3, 1))
    env = 1 + 0.8 * np.sin(2 * np.pi * rate * t + phase).mean(axis=1)  # syllable-rate bursts
    n = np.where((kind == 3)[:, None], n * env, n)
    return n / np.sqrt((n**2).mean(axis=1, keepdims=True))


_WINDOW = np.hanning(WIN + 1)[:WIN].astype(np.float32)  # periodic Hann: sums to 2 at hop WIN/4


def _stft(y: np.ndarray) -> np.ndarray:
    """(B, L) -> (B, WIN//2+1, frames) complex64, frames centred every HOP samples."""
    pad = np.pad(y.astype(np.float32), ((0, 0), (WIN // 2, WIN // 2 + HOP)))
    frames = np.lib.stride_tricks.sliding_window_view(pad, WIN, axis=1)[:, ::HOP] * _WINDOW
    return np.fft.rfft(frames, axis=2).astype(np.complex64).transpose(0, 2, 1)


def _istft(z: np.ndarray) -> np.ndarray:
    """The inverse of _stft (weighted overlap-add): (B, F, frames) -> (B, CLIP_SAMPLES)."""
    frames = np.fft.irfft(z.transpose(0, 2, 1), WIN, axis=2).astype(np.float32) * _WINDOW
    n = (frames.shape[1] - 1) * HOP + WIN
    out, norm = np.zeros((len(z), n), np.float32), np.zeros(n, np.float32)
    for t in range(frames.shape[1]):
        out[:, t * HOP : t * HOP + WIN] += frames[:, t]
        norm[t * HOP : t * HOP + WIN] += _WINDOW**2
    out /= np.maximum(norm, 1e-3)
    return out[:, WIN // 2 : WIN // 2 + CLIP_SAMPLES].astype(np.float64)


def vtlp(y: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(B, L) clips, (B,) warp factors -> clips with every frequency below ~4.8 kHz (harmonics
    and formants) scaled by alpha, the rest warped linearly to Nyquist; tempo kept."""
    z = _stft(y)
    nbin = z.shape[1]
    f = np.arange(nbin, dtype=np.float32)  # in bins; Nyquist = nbin - 1
    hi = 0.6 * (nbin - 1) * np.minimum(alpha, 1) / alpha  # the VTLP boundary
    a = alpha[:, None]
    fwd = np.where(
        f <= hi[:, None],
        f * a,
        (nbin - 1) - ((nbin - 1) - a * hi[:, None]) / ((nbin - 1) - hi[:, None]) * ((nbin - 1) - f),
    )
    src = np.stack([np.interp(f, fw, f) for fw in fwd])  # (B, F) source bin of each output bin
    idx = np.clip(np.rint(src).astype(int), 0, nbin - 1)
    picked = np.take_along_axis(z, idx[:, :, None], axis=1)  # (B, F, T)
    # phase vocoder: each source bin's true frequency, scaled to its output bin, accumulated
    expect = np.float32(2 * np.pi * HOP / WIN) * idx[:, :, None].astype(np.float32)
    dphi = np.diff(np.angle(picked), axis=2, prepend=np.float32(0)) - expect
    dphi = (dphi + np.float32(np.pi)) % np.float32(2 * np.pi) - np.float32(np.pi)
    fwd_src = np.take_along_axis(fwd, idx, axis=1)  # where each source bin's frequency goes
    ratio = np.where(idx > 0, fwd_src / np.maximum(idx, 1), 1).astype(np.float32)[:, :, None]
    phase = np.cumsum((expect + dphi) * ratio, axis=2)
    return _istft(np.abs(picked) * (np.cos(phase) + 1j * np.sin(phase)).astype(np.complex64))


def room(n: int, cfg: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """(n, NFFT//2+1) responses: a random room on cfg.reverb_prob of the clips, else flat."""
    on = rng.random(n) < cfg.reverb_prob
    size = rng.integers(0, len(ROOMS), n)
    lo, hi = np.array(ROOMS)[size].T
    rt60 = rng.uniform(lo, hi)[:, None]
    drr_db = rng.uniform(0, 12, (n, 1))  # direct-to-reverberant ratio
    t = np.arange(IR_LEN) / SAMPLE_RATE
    ir = rng.standard_normal((n, IR_LEN)) * np.exp(-6.91 * t / rt60)  # exponential tail
    ir[:, : int(0.002 * SAMPLE_RATE)] *= 0.1  # the tail starts after the first reflections
    taps = rng.integers(int(0.001 * SAMPLE_RATE), int(0.03 * SAMPLE_RATE), (n, 6))
    amps = rng.uniform(-0.6, 0.6, (n, 6)) * (rt60 / 1.2) ** 0.5
    np.add.at(ir, (np.repeat(np.arange(n), 6), taps.ravel()), amps.ravel())  # early reflections
    ir *= 10 ** (-drr_db / 20) / np.sqrt((ir**2).sum(axis=1, keepdims=True))
    ir[:, 0] = 1.0  # the direct path
    return np.where(on[:, None], np.fft.rfft(ir, NFFT), 1.0)


def mic(k: np.ndarray, device: np.ndarray, cfg: SynthConfig, rng: np.random.Generator):
    """(B,) strengths and device ids -> (B, NFFT//2+1) response of the mic EQ and device."""
    b = len(k)
    hz = np.maximum(np.fft.rfftfreq(NFFT, 1 / SAMPLE_RATE), 20.0)
    lf = np.log2(hz / 1000)  # octaves from 1 kHz
    tilt = rng.uniform(-1, 1, (b, 1)) * cfg.eq_db / 4 * k[:, None]  # dB per octave
    centre, width = rng.uniform(-2.7, 2.6, (b, 3, 1)), rng.uniform(0.3, 1.0, (b, 3, 1))
    gain = rng.uniform(-1, 1, (b, 3, 1)) * cfg.eq_db * k[:, None, None]
    db = tilt * lf + (gain * np.exp(-0.5 * ((lf - centre) / width) ** 2)).sum(axis=1)
    low_hz = np.select(
        [device == 1, device == 2], [rng.uniform(250, 400, b), rng.uniform(120, 300, b)], 60.0
    )[:, None]
    high_hz = np.select(
        [device == 1, device == 2, device == 3],
        [rng.uniform(3200, 3600, b), rng.uniform(5000, 7500, b), rng.uniform(3800, 7000, b)],
        rng.uniform(6000, 9000, b),
    )[:, None]
    reso_hz, reso_db = rng.uniform(2000, 5000, (b, 1)), rng.uniform(3, 9, (b, 1))
    db += np.where(
        (device == 2)[:, None], reso_db * np.exp(-0.5 * (np.log2(hz / reso_hz) / 0.3) ** 2), 0
    )
    db -= 24 * np.maximum(np.log2(low_hz / hz), 0) + 36 * np.maximum(np.log2(hz / high_hz), 0)
    return 10 ** (np.maximum(db, -80) / 20)


def codec(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(B, L) -> the clips through a crude low-bit-rate perceptual codec: in each 32 ms frame
    the bins more than 30-45 dB below its peak are dropped, the rest keep coarse magnitudes."""
    z = _stft(y)
    mag = np.abs(z)
    floor_db = rng.uniform(30, 45, (len(y), 1, 1))
    step_db = rng.uniform(1.0, 3.0, (len(y), 1, 1))
    keep = mag >= mag.max(axis=1, keepdims=True) * 10 ** (-floor_db / 20)
    qdb = np.round(20 * np.log10(np.maximum(mag, 1e-12)) / step_db) * step_db
    gain = np.where(keep, 10 ** (qdb / 20) / np.maximum(mag, 1e-12), 0.0).astype(np.float32)
    return _istft(z * gain)


def mu_law(y: np.ndarray, bits: int = 8) -> np.ndarray:
    mu = 2**bits - 1
    c = np.sign(y) * np.log1p(mu * np.abs(y)) / np.log1p(mu)
    c = np.round((c + 1) / 2 * mu) / mu * 2 - 1
    return np.sign(c) * ((1 + mu) ** np.abs(c) - 1) / mu


def augment(
    speech: list[np.ndarray | None],
    cfg: SynthConfig,
    k: np.ndarray,
    rng: np.random.Generator,
    warp: np.ndarray | None = None,
) -> np.ndarray:
    """Place each word in a 1 s window, then the recording chain above, as one batch
    (synthetic.py gives each batch of CHUNK clips its own generator).

    speech: B words (L_i,) at 16 kHz, None for a silence clip; k: (B,) strengths;
    warp: (B,) VTLP factors (1 = none; not used on silence).
    Returns (B, CLIP_SAMPLES) float64 with peak <= 1.
    """
    n, w = len(speech), CLIP_SAMPLES
    warp = np.ones(n) if warp is None else np.asarray(warp, float)
    y, length = np.zeros((n, w)), np.ones(n)
    shift = rng.uniform(-1, 1, n) * cfg.shift_s * SAMPLE_RATE * k
    for i, x in enumerate(speech):
        if x is not None:
            x = x[max(0, (len(x) - w) // 2) :][:w]  # a word longer than 1 s keeps its centre
            start = int(np.clip(round(w / 2 + shift[i] - len(x) / 2), 0, w - len(x)))
            y[i, start : start + len(x)], length[i] = x, len(x)
    gain = 10 ** (rng.uniform(cfg.gain_db_min, cfg.gain_db_max, n) / 20)
    snr = rng.uniform(cfg.snr_db_min, cfg.snr_db_max, n) - 5 * (k - 1)
    kind = rng.integers(0, 4, n)
    p_dev = np.array([cfg.phone_prob, cfg.laptop_prob, cfg.codec_prob])
    device = rng.choice(len(DEVICES), n, p=[1 - p_dev.sum(), *p_dev])
    overdrive = np.where(rng.random(n) < cfg.clip_prob, 10 ** (rng.uniform(3, 12, n) / 20), 1.0)
    sp = np.array([x is not None for x in speech])
    if sp.any():
        y[sp] = vtlp(y[sp], warp[sp])
    y = np.fft.irfft(np.fft.rfft(y, NFFT) * room(n, cfg, rng), NFFT)[:, :w]
    y /= np.maximum(np.abs(y).max(axis=1), 1e-9)[:, None]  # speech peak 1
    rms = np.where(sp, np.sqrt((y**2).sum(axis=1) / length), 0.2)
    y += noise(kind, rng) * (rms / 10 ** (snr / 20))[:, None]
    y = np.fft.irfft(np.fft.rfft(y, NFFT) * mic(k, device, cfg, rng), NFFT)[:, :w]
    if (device == 3).any():
        y[device == 3] = codec(y[device == 3], rng)
    y *= (gain * overdrive / np.maximum(np.abs(y).max(axis=1), 1e-9))[:, None]
    y = np.clip(y, -1.0, 1.0)  # an overdriven clip is clipped
    y = np.where((device == 1)[:, None], mu_law(y), y)
    return y / np.maximum(np.abs(y).max(axis=1, keepdims=True) / 0.999, 1.0)
