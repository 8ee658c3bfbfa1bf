"""Is it speech? (speechforget.speechcheck): every clip of the built-in test split passes
(its _silence_ clips are taken for background noise, the class they are), tones, hum,
white and pink noise, DC, silence and chords are refused with what they were taken for,
and the CLI, "Check a clip" and the enrolment takes give that answer, never a keyword."""

from __future__ import annotations

import json

import numpy as np
import pytest
from flite_support import flite_keywords, needs_flite

from speechforget import clip_check
from speechforget.__main__ import main
from speechforget.data.audio import AudioError, save_wav
from speechforget.data.dataset import SAMPLE_RATE
from speechforget.speechcheck import speech_check
from speechforget.takes import check_take

T = np.arange(SAMPLE_RATE) / SAMPLE_RATE


def _pink(rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(SAMPLE_RATE))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    x = np.fft.irfft(spec / np.sqrt(f), SAMPLE_RATE)
    return 0.5 * x / np.abs(x).max()


def _chords() -> np.ndarray:
    """C major for half a second, then F major: six steady notes, no voice."""
    c = sum(np.sin(2 * np.pi * f * T) for f in (261.6, 329.6, 392.0))
    f = sum(np.sin(2 * np.pi * f * T) for f in (349.2, 440.0, 523.3))
    return 0.15 * np.where(T < 0.5, c, f)


RNG = np.random.default_rng(0)
NOT_SPEECH = {  # name -> (clip, the kind it is taken for)
    "tone 440 Hz": (0.5 * np.sin(2 * np.pi * 440 * T), "tone"),
    "quiet tone 1 kHz": (0.05 * np.sin(2 * np.pi * 1000 * T), "tone"),
    "beep": (0.5 * np.sin(2 * np.pi * 1000 * T) * ((T > 0.3) & (T < 0.5)), "tone"),
    "mains hum": (0.3 * np.sin(2 * np.pi * 50 * T) + 0.1 * np.sin(2 * np.pi * 150 * T), "hum"),
    "square hum": (0.2 * np.sign(np.sin(2 * np.pi * 60 * T)), "hum"),
    "white noise": (0.3 * RNG.standard_normal(SAMPLE_RATE), "noise"),
    "pink noise": (_pink(RNG), "noise"),
    "dc offset": (np.full(SAMPLE_RATE, 0.5), "dc"),
    "silence": (np.zeros(SAMPLE_RATE), "silence"),
    "chords": (_chords(), "music"),
}


@pytest.fixture(scope="module")
def builtin_test():
    """The built-in keyword task's test split: (waves, class names of each clip)."""
    from speechforget.config import DataConfig
    from speechforget.data import load_source

    task = load_source(DataConfig()).task("kws")
    test = task.where("test")
    return task.waves[test], [task.class_names[y] for y in task.y[test]]


def test_every_clip_of_the_builtin_test_split_passes(builtin_test):
    waves, names = builtin_test
    refused, silence = [], []
    for wave, name in zip(waves, names):
        check = speech_check(wave)
        if name == "_silence_":
            silence.append(check)
        elif not check.is_speech:
            refused.append(f"{name}: {check.kind} (vad {check.vad:.2f})")
    assert len(names) > 400 and not refused, refused
    # the _silence_ clips are background noise: not speech, and not "not speech" either
    assert silence and all(c.background and not c.is_speech for c in silence)
    assert all("_silence_" in c.message for c in silence)


@pytest.mark.parametrize("name", NOT_SPEECH)
def test_what_is_not_speech_is_refused_and_named(name):
    wave, kind = NOT_SPEECH[name]
    check = speech_check(wave.astype(np.float32))
    assert not check.is_speech and check.kind == kind, (check, name)
    assert check.vad < 0.3
    assert "Record a word" in check.message
    if kind in ("noise", "silence"):
        assert check.message.startswith("No speech here") and "_silence_" in check.message
    else:
        assert check.message.startswith("This does not sound like speech")
        assert "_silence_" not in check.message


def test_a_tone_names_its_pitch():
    assert "440 Hz" in speech_check(NOT_SPEECH["tone 440 Hz"][0]).what
    assert speech_check(NOT_SPEECH["mains hum"][0]).what == "a low hum (about 50 Hz)"


def test_the_check_reads_16khz_only():
    with pytest.raises(ValueError, match="16 kHz"):
        speech_check(np.zeros(8000), sr=8000)


@pytest.fixture(scope="module")
def clip_files(tmp_path_factory, builtin_test) -> dict[str, str]:
    """A built-in test 'yes', a tone, white noise and chords as wav files."""
    folder = tmp_path_factory.mktemp("speech")
    waves, names = builtin_test
    out = {"yes": save_wav(folder / "yes.wav", waves[names.index("yes")])}
    for name in ("tone 440 Hz", "white noise", "chords"):
        out[name] = save_wav(folder / f"{name.replace(' ', '_')}.wav", NOT_SPEECH[name][0])
    return {k: str(v) for k, v in out.items()}


def test_cli_predict_answers_not_speech(clip_files, capsys):
    files = [clip_files[k] for k in ("yes", "tone 440 Hz", "white noise", "chords")]
    assert main(["predict", "--task", "kws", *files]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["top"] and "message" not in rows[0]
    for row, kind in zip(rows[1:], ("tone", "noise", "music")):
        assert row["speech"] is False and row["kind"] == kind and "top" not in row, row
        assert "probs" not in row and "Record a word" in row["message"]
    assert rows[2]["background"] is True and "_silence_" in rows[2]["message"]
    assert rows[1]["background"] is False and "steady tone" in rows[1]["message"]


def test_check_a_clip_answers_not_speech(clip_files):
    from speechforget.pipeline import prepare
    from speechforget.ui.app import App
    from speechforget.ui.state import SessionStore

    ctx = prepare("kws", "cnn")
    app = App.create(lambda task, backbone="cnn", data="synthetic": ctx, SessionStore(600))
    fig, text = app.voice.predict_upload(None, clip_files["tone 440 Hz"], "yes", "kws")
    assert "does not sound like speech: a steady tone" in text and "'yes'" not in text
    assert not fig.data
    fig, text = app.voice.predict_upload(None, clip_files["white noise"], None, "kws")
    assert "background noise" in text and "_silence_" in text and not fig.data
    fig, text = app.voice.predict_upload(None, clip_files["yes"], "yes", "kws")
    assert "Membership score" in text and len(fig.data) == 1
    check = clip_check.check_clip(NOT_SPEECH["chords"][0], "yes", None, ctx)
    assert not check.is_speech and not check.probs and "music" in check.verdict


def test_an_enrolment_take_must_be_speech():
    """Plucked chords rise and fall like a word (the take's signal tests let them through);
    the voice detector refuses them."""
    notes = [(261.6, 329.6, 392.0), (349.2, 440.0, 523.3), (392.0, 493.9, 587.3)] * 2
    x = 1e-3 * np.random.default_rng(0).standard_normal(SAMPLE_RATE)
    for i, chord in enumerate(notes[:4]):
        t = T - i * 0.25
        held = (t >= 0) & (t < 0.25)
        x += held * np.exp(-6 * t) * 0.15 * sum(np.sin(2 * np.pi * f * T) for f in chord)
    with pytest.raises(AudioError, match="does not sound like speech"):
        check_take(x.astype(np.float32))
    with pytest.raises(AudioError, match="steady sound"):  # a held chord: the signal tests
        check_take(NOT_SPEECH["chords"][0].astype(np.float32))


@pytest.mark.slow
@needs_flite
def test_keywords_of_another_engine_pass(tmp_path):
    """Every keyword in four flite voices (another synthesis engine than the built-in
    data's espeak-ng), as a take and as an uploaded clip."""
    refused = []
    for voice, word, path in flite_keywords(tmp_path):
        check = speech_check(clip_check.load_clip(path))
        if not check.is_speech:
            refused.append(f"{voice} {word}: {check.kind} {check.vad:.2f}")
        check_take(path)
    assert not refused, refused
