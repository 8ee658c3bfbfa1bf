"""Is it speech? A clip that holds no voice gets a plain answer instead of a keyword guess.

    check = speech_check(wave)            # (L,) float32 at 16 kHz -> SpeechCheck
    if not check.is_speech:
        print(check.message)              # "This does not sound like speech: a steady tone ..."

Two parts. The voice detector is Silero VAD (the `silero-vad` package, trained on real
speech; its ONNX model is run with onnxruntime, so no pickled code is executed, and the
package is not imported: importing it sets torch's thread count to 1). It scores every
32 ms chunk; the clip is speech when its best chunk scores SPEECH_VAD or more (read three
ways: as given, peak-normalised between 0.25 s of silence, and shifted by half a chunk,
since one short noisy word can fall between chunks), or BORDERLINE_VAD with an energy
envelope that rises DYNAMIC_DB above its floor (a word in loud noise).

A clip that is not speech is named by simple signal tests, so that the answer says what it
was taken for: silence, a DC offset, a steady tone or hum (most power in one spectral
peak), music or a chord (most power in a few peaks), else background noise: what the
keyword task's `_silence_` class stands for, a different answer from "not speech".

Calibration (the built-in synthetic data: espeak voices in white, pink, brown or babble
noise at 5-30 dB SNR): every keyword and _unknown_ clip of its test split passes; its
_silence_ clips (noise alone) score at most 0.37 and are taken for background noise;
generated tones, hums, white and pink noise, DC, silence and chords score below 0.2
(tests/test_speechcheck.py); the validation engine's keywords in four voices pass (a slow
test in tests/test_other_engine.py).
Known gap: chords that start abruptly out of digital silence (0.5 s of zeros before them)
reach 0.6 in the peak-normalised reading and pass for speech.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from speechforget.data.dataset import SAMPLE_RATE

SPEECH_VAD = 0.5  # a chunk this sure of a voice makes the clip speech
BORDERLINE_VAD = 0.3  # ... or this sure, in a clip whose envelope rises DYNAMIC_DB
DYNAMIC_DB = 15.0  # p95 - p10 of 32 ms chunk energies
SILENT_RMS = 1e-3  # rms (full scale 1.0) below this, once the offset is removed: no sound
PEAK_DB, PEAK_WIDTH = 10.0, 31  # a spectral peak: this far above the median of this many bins
TONAL_SHARE = 0.5  # share of the power in spectral peaks above which a sound is tonal
ONE_TONE_SHARE = 0.7  # ... and one tone when its strongest peak and harmonics hold this much
HUM_HZ = 120.0  # a tone below this is a hum
CHUNK, CONTEXT = 512, 64  # Silero's 32 ms chunk at 16 kHz and the samples it sees before it

NOT_SPEECH = "This does not sound like speech: {what}. Record a word."
NO_SPEECH = (
    "No speech here: {what} (what the keyword model's _silence_ class stands for). Record a word."
)


@dataclass(frozen=True)
class SpeechCheck:
    """What the speech check made of one clip."""

    is_speech: bool
    kind: str  # speech, silence, dc, tone, hum, music or noise
    what: str  # the kind in words, e.g. "a steady tone (about 440 Hz)"
    vad: float  # the voice detector's best chunk score, 0..1

    @property
    def background(self) -> bool:
        """Background noise or silence: what the keyword task's _silence_ class stands for
        (a tone, hum, DC offset or music is "not speech" instead)."""
        return self.kind in ("noise", "silence")

    @property
    def message(self) -> str:
        """The answer to show instead of a prediction ("" for speech)."""
        if self.is_speech:
            return ""
        return (NO_SPEECH if self.background else NOT_SPEECH).format(what=self.what)


def speech_check(wave: np.ndarray, sr: int = SAMPLE_RATE) -> SpeechCheck:
    """Speech or not, and what it is when not, for a (L,) float waveform at 16 kHz."""
    if sr != SAMPLE_RATE:
        raise ValueError(f"speech_check reads 16 kHz audio; got {sr} Hz (resample it first)")
    raw = np.asarray(wave, np.float64).reshape(-1)
    x = raw - raw.mean()
    if float(np.sqrt(np.mean(x**2))) < SILENT_RMS:
        if abs(float(raw.mean())) >= SILENT_RMS:
            return SpeechCheck(False, "dc", "a constant offset (DC), no sound", 0.0)
        return SpeechCheck(False, "silence", "silence (nothing above -60 dBFS)", 0.0)
    x = x.astype(np.float32)
    vad = float(vad_scores(x[None])[0])
    if vad >= SPEECH_VAD or (vad >= BORDERLINE_VAD and dynamic_db(x) >= DYNAMIC_DB):
        return SpeechCheck(True, "speech", "speech", vad)
    kind, what = _what_sound(x)
    return SpeechCheck(False, kind, what, vad)


def vad_scores(waves: np.ndarray) -> np.ndarray:
    """(B,) best Silero chunk score of each (B, L) clip at 16 kHz, the best of three
    readings (as given; peak-normalised between 0.25 s of silence; shifted half a chunk)."""
    w = np.asarray(waves, np.float32)
    w = w - w.mean(axis=1, keepdims=True)
    norm = 0.5 * w / (np.abs(w).max(axis=1, keepdims=True) + 1e-9)
    pad = np.zeros((len(w), SAMPLE_RATE // 4), np.float32)
    readings = (w, np.concatenate([pad, norm, pad], 1), np.concatenate([pad[:, :256], norm], 1))
    return np.max([_chunk_probs(r).max(axis=1) for r in readings], axis=0)


def dynamic_db(x: np.ndarray) -> float:
    """p95 - p10 of the (L,) clip's 32 ms chunk energies, in dB: how far its envelope rises."""
    n = len(x) // CHUNK * CHUNK
    e = 10 * np.log10(np.mean(np.asarray(x[:n], np.float64).reshape(-1, CHUNK) ** 2, 1) + 1e-12)
    return float(np.percentile(e, 95) - np.percentile(e, 10))


def _what_sound(x: np.ndarray) -> tuple[str, str]:
    """(kind, words) for a (L,) sound with no voice in it (offset removed)."""
    from scipy.ndimage import median_filter

    n = 2048
    frames = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), n)[:: n // 2]
    if len(frames) == 0:
        frames = np.pad(x.astype(np.float64), (0, n - len(x)))[None]
    power = (np.abs(np.fft.rfft(frames * np.hanning(n), axis=1)) ** 2).mean(0)  # (F,)
    freq = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    # spectral peaks: bins PEAK_DB above the local median spectrum (noise has none)
    floor = median_filter(power, size=PEAK_WIDTH, mode="nearest")
    peaks = _peaks(np.where(power > floor * 10 ** (PEAK_DB / 10), power, 0.0))
    share = sum(p for _, p in peaks) / max(float(power.sum()), 1e-20)
    if share < TONAL_SHARE:
        return "noise", "background noise"
    f0 = _peak_hz(power, peaks[0][0], freq[1])
    harmonic = sum(p for b, p in peaks if _near_multiple(freq[b], f0))
    if harmonic < ONE_TONE_SHARE * share * power.sum():
        return "music", "music or a chord (a few steady tones)"
    if f0 < HUM_HZ:
        return "hum", f"a low hum (about {f0:.0f} Hz)"
    return "tone", f"a steady tone (about {f0:.0f} Hz)"


def _peaks(power: np.ndarray) -> list[tuple[int, float]]:
    """(bin of its maximum, summed power) of each run of non-zero bins of a (F,) spectrum,
    strongest first."""
    on = np.concatenate([[False], power > 0, [False]])
    edges = np.flatnonzero(on[1:] != on[:-1]).reshape(-1, 2)  # [start, stop) of each run
    runs = [(a + int(np.argmax(power[a:b])), float(power[a:b].sum())) for a, b in edges]
    return sorted(runs, key=lambda r: -r[1])


def _peak_hz(power: np.ndarray, b: int, bin_hz: float) -> float:
    """The frequency of a spectral peak at bin b, interpolated on a parabola of log power."""
    if not 0 < b < len(power) - 1:
        return b * bin_hz
    lo, mid, hi = np.log(power[b - 1 : b + 2] + 1e-20)
    bend = lo - 2 * mid + hi
    return (b + (0.5 * (lo - hi) / bend if bend < 0 else 0.0)) * bin_hz


def _near_multiple(f: float, f0: float, tol: float = 0.02) -> bool:
    """True when f is within tol of a whole multiple of f0 (a harmonic), give or take a bin."""
    k = max(round(f / max(f0, 1e-9)), 1)
    return abs(f - k * f0) <= tol * k * f0 + 8.0


# ---- Silero VAD --------------------------------------------------------------------------


def _silero_file(name: str) -> Path:
    """A file of the installed silero-vad package's data folder (the package not imported)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the speech check needs the silero-vad package: pip install silero-vad==6.2.3"
        )
    return Path(spec.submodule_search_locations[0]) / "data" / name


@lru_cache(maxsize=1)
def _session():
    """The ONNX Silero VAD model in an onnxruntime session (one per process)."""
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = opts.intra_op_num_threads = 1
    path = str(_silero_file("silero_vad.onnx"))
    return onnxruntime.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def _chunk_probs(w: np.ndarray) -> np.ndarray:
    """(B, L) float32 at 16 kHz -> (B, L // 512) speech probability of each 32 ms chunk,
    each chunk read with the 64 samples before it and the model's state carried on."""
    session = _session()
    b, n = len(w), w.shape[1] // CHUNK
    state = np.zeros((2, b, 128), np.float32)
    context = np.zeros((b, CONTEXT), np.float32)
    sr = np.array(SAMPLE_RATE, np.int64)
    out = np.zeros((b, max(n, 1)), np.float32)
    for i in range(n):
        chunk = np.ascontiguousarray(w[:, i * CHUNK : (i + 1) * CHUNK])
        feed = {"input": np.concatenate([context, chunk], 1), "state": state, "sr": sr}
        prob, state = session.run(None, feed)
        out[:, i], context = prob[:, 0], chunk[:, -CONTEXT:]
    return out
