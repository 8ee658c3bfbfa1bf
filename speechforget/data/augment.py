"""Augmentation of the synthetic speech: each word placed in a 1 s window with a random
shift, then a random EQ, sometimes a room (reverberation), a gain and background noise
(white, pink, brown or babble-like) at a random SNR. Moved out of synthetic.py as is:
the calls and their order on the generator are what the data set's checksum rests on."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from speechforget.data.dataset import CLIP_SAMPLES, SAMPLE_RATE

if TYPE_CHECKING:
    from speechforget.data.synthetic import SynthConfig

NFFT, IR_LEN = 32768, 8000  # FFT size for EQ + reverb (>= clip + IR), IR length (0.5 s)


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


def room_and_eq(k: np.ndarray, cfg: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """(B,) strengths -> (B, NFFT//2+1) response of a random EQ and, on some clips, a room."""
    b = len(k)
    lf = np.log2(np.maximum(np.fft.rfftfreq(NFFT, 1 / SAMPLE_RATE), 50.0) / 1000)  # octaves
    tilt = rng.uniform(-1, 1, (b, 1)) * cfg.eq_db / 4 * k[:, None]  # dB per octave
    centre, width = rng.uniform(-2.7, 2.6, (b, 3, 1)), rng.uniform(0.3, 1.0, (b, 3, 1))
    gain = rng.uniform(-1, 1, (b, 3, 1)) * cfg.eq_db * k[:, None, None]
    lowpass = (rng.random((b, 1)) < 0.3) * np.log2(rng.uniform(3.0, 7.5, (b, 1)))  # kHz
    db = tilt * lf + (gain * np.exp(-0.5 * ((lf - centre) / width) ** 2)).sum(axis=1)
    db -= np.where(lowpass > 0, 24 * np.maximum(lf - lowpass, 0), 0)
    h = 10 ** (np.maximum(db, -60) / 20)
    room = rng.random(b) < cfg.reverb_prob
    rt60, drr_db = rng.uniform(0.15, 0.7, (b, 1)), rng.uniform(0, 12, (b, 1))
    t = np.arange(IR_LEN) / SAMPLE_RATE
    ir = rng.standard_normal((b, IR_LEN)) * np.exp(-6.91 * t / rt60)  # exponential decay
    ir *= 10 ** (-drr_db / 20) / np.sqrt((ir**2).sum(axis=1, keepdims=True))
    ir[:, 0] = 1.0  # the direct path
    return np.where(room[:, None], h * np.fft.rfft(ir, NFFT), h)


def augment(
    speech: list[np.ndarray | None],
    cfg: SynthConfig,
    k: np.ndarray,
    rng: np.random.Generator,
    chunk: int = 128,
) -> np.ndarray:
    """Place each word in a 1 s window, then EQ, reverb, gain and noise, in batches.

    speech: N words (L_i,) at 16 kHz, None for a silence clip; k: (N,) strengths.
    Returns (N, CLIP_SAMPLES) float64 with peak <= 1.
    """
    n, w = len(speech), CLIP_SAMPLES
    out, length = np.zeros((n, w)), np.ones(n)
    shift = rng.uniform(-1, 1, n) * cfg.shift_s * SAMPLE_RATE * k
    for i, x in enumerate(speech):
        if x is not None:
            x = x[max(0, (len(x) - w) // 2) :][:w]  # a word longer than 1 s keeps its centre
            start = int(np.clip(round(w / 2 + shift[i] - len(x) / 2), 0, w - len(x)))
            out[i, start : start + len(x)], length[i] = x, len(x)
    gain = 10 ** (rng.uniform(cfg.gain_db_min, cfg.gain_db_max, n) / 20)
    snr = rng.uniform(cfg.snr_db_min, cfg.snr_db_max, n) - 5 * (k - 1)
    kind = rng.integers(0, 4, n)
    for a in range(0, n, chunk):
        s = slice(a, a + chunk)
        y = np.fft.irfft(np.fft.rfft(out[s], NFFT) * room_and_eq(k[s], cfg, rng), NFFT)[:, :w]
        is_speech = np.array([x is not None for x in speech[s]])
        y *= (gain[s] / np.maximum(np.abs(y).max(axis=1), 1e-9))[:, None]  # speech peak
        rms = np.where(is_speech, np.sqrt((y**2).sum(axis=1) / length[s]), 0.2 * gain[s])
        y += noise(kind[s], rng) * (rms / 10 ** (snr[s] / 20))[:, None]
        out[s] = y / np.maximum(np.abs(y).max(axis=1, keepdims=True) / 0.999, 1.0)
    return out
