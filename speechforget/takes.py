"""An enrolment take: a visitor records one keyword to train on. `check_take` refuses a
take that no model should learn from, with a message that says what to do.

    clip = check_take("yes.wav")              # (16000,) float32 at 16 kHz, or AudioError
    feats = take_features(wave)               # the numbers the checks read (calibration)

The checks, in order: readable (load_audio), the file's length, clipping, then, with the
DC offset removed, from 25 ms frames (take_features; each frame detrended, so a slow drift
is no sound): silence; a click (sound above the noise floor too brief for a word); a steady
signal (tone, hum, noise: the energy envelope of a word rises and falls); the spectral
flatness of the sound (noise is flat, voiced speech is not); its share of power in the
speech band (rumble); last, the voice detector of speechforget.speechcheck (Silero VAD),
which also refuses what the signal tests let through: a beep, music, a chord.

Calibration: each threshold sits between the built-in data set's train split (version 1:
every keyword and _unknown_ clip accepted; the margin to each feature's minimum or maximum
there; version 2's recording chain overdrives 5% of its clips and drowns some words, and 19
of its 1,969 train words are refused: 9 too loud, 10 as noise or not speech) and
generated tones, hums, white/pink/brown noise, noise bursts, clicks and DC offsets; verified
on its val, test and unheard splits and on espeak-ng voices it never uses (tests/
test_takes.py). MIN_SOUND_S is far below the 0.3 s a word lasts: in the built-in noisy takes
"off" and "up" rise above the noise for only 90-150 ms (27% of the training keywords for less
than 0.3 s), so it only refuses clicks; a longer burst of noise is refused by its flatness.
The envelope's rise is read at its 99th percentile, so a 90 ms word still counts in a 4 s
take. Not refused: a tone burst (a beep), speech-like babble, gusts of rumble near the band
threshold - a word can be as tonal as a beep in 25 ms frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speechforget.data.audio import SILENT_PEAK, AudioError, centre_word, load_audio, resample
from speechforget.data.dataset import SAMPLE_RATE

MIN_SECONDS = 0.3  # shortest file that can hold one word
MAX_SECONDS = 4.0  # longest file: one word and a little silence around it
CLIP_LEVEL = 0.99  # |x| at or above this (full scale 1.0) counts as clipped
MAX_CLIPPED = 0.005  # share of clipped samples above which a take is too loud
QUIET_DB = -50.0  # loudest frame below this (dBFS rms) counts as silence
RANGE_DB = 50.0  # frames further below the loudest one count as the floor (no sound)
ACTIVE_DB = 6.0  # frames this far above the noise floor (p10 of the frames) hold sound
STEADY_DB = 6.0  # an envelope whose p99 rises less than this above the floor is steady
MIN_SOUND_S = 0.05  # less sound than this is no word (see the module docstring) ...
CLICK_DB = 12.0  # ... but a click when its loudest frame rises this far above the floor
MAX_FLATNESS = 0.45  # median spectral flatness of the sound above this: noise, not speech
MIN_BAND_SHARE = 0.25  # share of the sound's power in SPEECH_BAND below this: not speech
SPEECH_BAND = (100.0, 4000.0)  # Hz
FRAME, HOP, NFFT = 400, 160, 512  # 25 ms frames every 10 ms at 16 kHz


@dataclass(frozen=True)
class TakeFeatures:
    """What the checks read from one take (16 kHz mono, DC removed)."""

    peak_db: float  # loudest frame, dBFS rms
    rise_db: float  # loudest frame above the noise floor (p10 of the frames), dB
    dynamic_db: float  # p99 - p10 of the frame energies (dB): how much the envelope varies
    sound_s: float  # seconds of frames ACTIVE_DB above the noise floor
    flatness: float  # median spectral flatness in SPEECH_BAND of those frames (0 tonal .. 1)
    band_share: float  # share of their power (less the noise floor's) in SPEECH_BAND


def check_take(path_or_wave: str | Path | bytes | np.ndarray, sr: int | None = None) -> np.ndarray:
    """A recorded or uploaded take of one word as the (16000,) float32 clip the models train
    on (16 kHz, DC removed, its silence cut, then its loudest second: data.audio.centre_word).
    A file (path or bytes) is read with load_audio; an array is (L,) float in [-1, 1] at
    `sr` Hz (default 16 kHz).
    Raises AudioError (a ValueError) saying what to do when the take is unreadable,
    too short, too long, too loud (clipped), silent or not speech."""
    x = _as_wave(path_or_wave, sr)
    _check_recording(x)
    x = _remove_offset(x)
    _check_speech(take_features(x))
    _check_voice(x)
    return centre_word(x)


def _check_voice(x: np.ndarray) -> None:
    """Raise AudioError when the voice detector hears no voice in a (L,) take at 16 kHz."""
    from speechforget.speechcheck import speech_check

    found = speech_check(x)
    if not found.is_speech:
        raise AudioError(
            f"the take does not sound like speech ({found.what}; the voice detector's best "
            f"score is {found.vad:.2f}): say the word close to the microphone"
        )


def _check_recording(x: np.ndarray) -> None:
    """Raise AudioError for a (L,) take at 16 kHz of the wrong length or clipped."""
    seconds = len(x) / SAMPLE_RATE
    if seconds < MIN_SECONDS:
        raise AudioError(
            f"the take is too short ({1000 * seconds:.0f} ms); "
            f"record the whole word, at least {MIN_SECONDS:g} s"
        )
    if seconds > MAX_SECONDS:
        raise AudioError(
            f"the take is too long ({seconds:.1f} s); record one word, at most {MAX_SECONDS:g} s"
        )
    clipped = float(np.mean(np.abs(x) >= CLIP_LEVEL))
    if clipped > MAX_CLIPPED:
        raise AudioError(
            f"the take is too loud ({clipped:.1%} of its samples are clipped): "
            "move back from the microphone or lower the input gain"
        )


def _remove_offset(x: np.ndarray) -> np.ndarray:
    """(L,) take less its DC offset (no sound); AudioError when nothing else is left."""
    offset = float(x.mean())
    x = x - np.float32(offset)
    if float(np.abs(x).max()) < SILENT_PEAK:
        what = (
            f" (a constant offset of {offset:.2f}, no sound)" if abs(offset) >= SILENT_PEAK else ""
        )
        raise AudioError(f"the take is silent{what}; check the microphone and say the word")
    return x


def _as_wave(path_or_wave: str | Path | bytes | np.ndarray, sr: int | None) -> np.ndarray:
    """(L,) float32 at 16 kHz from a file or an array."""
    if not isinstance(path_or_wave, np.ndarray):
        return load_audio(path_or_wave, SAMPLE_RATE, allow_silent=True)
    x = np.asarray(path_or_wave, dtype=np.float32)
    if x.ndim != 1 or len(x) == 0:
        raise AudioError(f"a take is a (L,) mono waveform; got shape {x.shape}")
    if not np.isfinite(x).all():
        raise AudioError("the take contains NaN or infinite samples; record it again")
    return resample(x, int(sr or SAMPLE_RATE), SAMPLE_RATE)


def _check_speech(f: TakeFeatures) -> None:
    """Raise AudioError when the features do not look like one spoken word."""
    if f.peak_db < QUIET_DB:
        raise AudioError(
            f"the take is silent (its level peaks at {f.peak_db:.0f} dBFS); "
            "speak closer to the microphone or raise the input gain"
        )
    if f.sound_s < MIN_SOUND_S and f.rise_db >= CLICK_DB:
        raise AudioError(
            f"the take is too short: only {1000 * f.sound_s:.0f} ms of sound (a click?); "
            "say the whole word"
        )
    if f.sound_s < MIN_SOUND_S or f.dynamic_db < STEADY_DB:
        raise AudioError(
            "the take is a steady sound (a tone, hum or noise), not speech: "
            "say the word in a quiet room"
        )
    if f.flatness > MAX_FLATNESS:
        raise AudioError(
            "the take sounds like noise (hiss, wind or a rustle), not speech: "
            "say the word in a quiet room"
        )
    if f.band_share < MIN_BAND_SHARE:
        lo, hi = SPEECH_BAND
        raise AudioError(
            f"most of the take's sound is outside {lo:g} Hz-{hi / 1000:g} kHz (a hum or "
            "rumble?), not speech: say the word in a quiet room"
        )


def take_features(x: np.ndarray) -> TakeFeatures:
    """The features of a (L,) take at 16 kHz (L >= one 25 ms frame, DC removed)."""
    frames = np.lib.stride_tricks.sliding_window_view(np.asarray(x, np.float64), FRAME)[::HOP]
    frames = _detrend(frames)  # less any drift slower than a frame: no sound
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)  # (T,) frame energy, dBFS
    db = np.maximum(db, db.max() - RANGE_DB)  # a digital-silence floor reads as RANGE_DB down
    floor, top = np.percentile(db, [10, 99])
    active = db > floor + ACTIVE_DB  # (T,) frames that hold sound
    power = np.abs(np.fft.rfft(frames * np.hanning(FRAME), NFFT)) ** 2  # (T, NFFT/2+1)
    freq = np.fft.rfftfreq(NFFT, 1 / SAMPLE_RATE)
    band = (freq >= SPEECH_BAND[0]) & (freq <= SPEECH_BAND[1])
    held = active if active.any() else np.ones_like(active)  # a steady take: all of it
    sound = power[held].mean(0)  # (F,) the sound's spectrum, less the noise floor's
    if active.any():
        sound = np.maximum(sound - power[db <= floor].mean(0), 0.0)
    return TakeFeatures(
        peak_db=float(db.max()),
        rise_db=float(db.max() - floor),
        dynamic_db=float(top - floor),
        sound_s=float(active.sum() * HOP / SAMPLE_RATE),
        flatness=float(np.median(_flatness(power[held][:, band]))),
        band_share=float(sound[band].sum() / max(float(sound.sum()), 1e-20)),
    )


def _detrend(frames: np.ndarray) -> np.ndarray:
    """(T, N) frames less each one's least-squares line (its mean and slope)."""
    t = np.arange(frames.shape[1]) - (frames.shape[1] - 1) / 2  # centred: orthogonal to 1
    slope = frames @ t / (t @ t)  # (T,)
    return frames - frames.mean(axis=1, keepdims=True) - slope[:, None] * t


def _flatness(power: np.ndarray) -> np.ndarray:
    """(T, F) power spectra -> (T,) spectral flatness: geometric / arithmetic mean, in
    [0, 1]: near 0 for harmonics and formants, about 0.56 for white noise (Hann frames)."""
    p = power + 1e-20
    return np.exp(np.mean(np.log(p), axis=1)) / np.mean(p, axis=1)
