"""Data sources and audio I/O: synthetic set, folder source, load_audio, fit_clip."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import soundfile as sf

from speechforget.data.audio import AudioError, fit_clip, load_audio, save_wav
from speechforget.data.dataset import KWS_LABELS, SAMPLE_RATE
from speechforget.data.folder import load_folder, parse_name
from speechforget.data.synthetic import SynthConfig, build_synthetic, write_wavs

SMALL = SynthConfig.small()  # 8 trained + 2 unheard speakers, 26 clips each


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return build_synthetic(SMALL, cache_dir=tmp_path_factory.mktemp("cache_a"))


def test_build_is_deterministic_across_fresh_processes(small, tmp_path, monkeypatch):
    monkeypatch.setenv("SPEECHFORGET_CACHE", str(tmp_path))
    again = build_synthetic(SMALL)  # cache miss in another dir: a second fresh subprocess
    assert again.checksum() == small.checksum()
    assert list((tmp_path / "synthetic").glob("*.npz"))  # cached where the env var says
    hit = build_synthetic(SMALL)  # cache hit
    assert np.array_equal(hit.waves, small.waves) and hit.checksum() == small.checksum()


def test_seed_changes_the_data(small, tmp_path):
    other = build_synthetic(SynthConfig.small(seed=1, n_unheard=0), cache_dir=tmp_path)
    assert other.checksum() != small.checksum()


def test_shapes_dtypes_ranges(small):
    n = 10 * (10 * SMALL.takes + SMALL.unknown + SMALL.silence)
    assert len(small) == n and small.name == "synthetic"
    assert small.waves.shape == (n, 16000) and small.waves.dtype == np.float32
    assert np.isfinite(small.waves).all() and np.abs(small.waves).max() <= 1.0
    assert (np.abs(small.waves).max(axis=1) > 1e-3).all()  # no empty clip, silence has noise
    for arr in (small.keyword, small.speaker, small.take):
        assert arr.dtype == np.int64 and arr.shape == (n,)
    assert small.speaker_names == [f"spk{i:02d}" for i in range(10)]
    assert small.keyword_names == KWS_LABELS
    sil = small.keyword == KWS_LABELS.index("_silence_")
    assert (small.word[sil] == "").all() and (small.word[~sil] != "").all()


def test_label_coverage_and_splits(small):
    assert set(small.keyword.tolist()) == set(range(12))
    unheard = small.speaker >= SMALL.n_speakers
    assert (small.split[unheard] == "unheard").all()
    assert (small.split[~unheard] != "unheard").all()
    assert set(small.split[~unheard]) == {"train", "val", "test"}
    for s in range(SMALL.n_speakers):
        mine = small.speaker == s
        assert {"train", "test"} <= set(small.split[mine])
        for k in range(12):  # every (speaker, keyword) cell has a train clip
            assert ((small.split == "train") & mine & (small.keyword == k)).any()


def test_task_views(small):
    kws, sid = small.task("kws"), small.task("sid")
    assert kws.num_classes == 12 and len(kws) == len(small)
    # the piper speakers are one voice made different: no speaker-ID classes of their own
    voices = SMALL.n_speakers - SMALL.piper_speakers
    assert len(small.not_voices) == SMALL.piper_speakers + SMALL.piper_unheard > 0
    assert sid.num_classes == voices and not set(sid.class_names) & set(small.not_voices)
    assert len(sid) == voices * (10 * SMALL.takes + SMALL.unknown)  # no silence
    assert "unheard" not in set(sid.split)
    piper = np.isin(small.speaker_names, small.not_voices)[small.speaker[sid.index]]
    assert not piper.any()


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="must be 1"):
        build_synthetic(SynthConfig(train_frac=0.9))


def test_write_wavs_round_trip(small, tmp_path):
    out = write_wavs(small, tmp_path / "wavs")
    with open(out / "metadata.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(small)
    assert set(rows[0]) == {"path", "keyword", "word", "speaker", "take", "split"}
    assert all((out / r["path"]).exists() for r in rows[:20])
    back = load_folder(out)
    assert len(back) == len(small) and sorted(back.keyword_names) == sorted(KWS_LABELS)

    def key(d, i):
        return (
            d.split[i],
            d.keyword_names[d.keyword[i]],
            d.speaker_names[d.speaker[i]],
            str(d.word[i]),
            int(d.take[i]),
        )

    orig = {key(small, i): i for i in range(len(small))}
    for j in range(len(back)):
        assert np.array_equal(back.waves[j], small.waves[orig[key(back, j)]])


def _tone(seconds: float, sr: int = SAMPLE_RATE, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_folder_source(tmp_path):
    save_wav(tmp_path / "yes" / "alice_1.wav", _tone(0.5))
    save_wav(tmp_path / "yes" / "0a7c2a8d_nohash_0.wav", _tone(1.0))
    (tmp_path / "no").mkdir()
    sf.write(tmp_path / "no" / "alice_2.flac", _tone(2.0, 22050), 22050)  # long, 22.05 kHz
    save_wav(tmp_path / "no" / "recording.wav", _tone(0.8))
    (tmp_path / "no" / "broken.wav").write_text("not audio")
    with pytest.warns(UserWarning, match="skipped 1"):
        data = load_folder(tmp_path)
    assert data.keyword_names == ["no", "yes"] and len(data) == 4
    assert data.speaker_names == ["0a7c2a8d", "alice"]
    assert (data.speaker == -1).sum() == 1  # "recording" has no speaker prefix
    assert data.waves.shape == (4, 16000) and set(data.split) <= {"train", "val", "test"}
    assert parse_name("spk03_stop_2") == ("spk03", "stop", 2)


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="expected"):
        load_folder(tmp_path)
    (tmp_path / "yes").mkdir()
    (tmp_path / "yes" / "a.wav").write_bytes(b"")
    with pytest.raises(ValueError, match="none of the 1"), pytest.warns(UserWarning):
        load_folder(tmp_path)


@pytest.mark.parametrize("case", ["missing", "empty", "text", "nan", "silent", "long", "big"])
def test_load_audio_errors(tmp_path, case):
    path, kwargs = tmp_path / "clip.wav", {}
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("hello, I am not a wav file\n" * 20)
    elif case == "nan":
        x = _tone(0.5)
        x[100] = np.nan
        sf.write(path, x, SAMPLE_RATE, subtype="FLOAT")
    elif case == "silent":
        save_wav(path, np.zeros(8000, np.float32))
    elif case == "long":
        save_wav(path, _tone(3.0))
        kwargs = {"max_seconds": 2.0}
    elif case == "big":
        save_wav(path, _tone(1.0))
        kwargs = {"max_bytes": 1000}
    match = {
        "missing": "does not exist",
        "empty": "empty",
        "text": "not readable",
        "nan": "NaN",
        "silent": "silent",
        "long": "long",
        "big": "limit",
    }[case]
    with pytest.raises(AudioError, match=match):
        load_audio(path, **kwargs)


def test_load_audio_stereo_44k_to_mono_16k(tmp_path):
    x = _tone(1.0, 44100)
    sf.write(tmp_path / "s.wav", np.stack([x, 0.5 * x], axis=1), 44100)
    y = load_audio(tmp_path / "s.wav")
    assert y.dtype == np.float32 and y.ndim == 1 and len(y) == 16000
    assert abs(np.abs(y[2000:-2000]).max() - 0.375) < 0.01  # mean of the two channels
    z = load_audio((tmp_path / "s.wav").read_bytes())  # uploaded bytes work the same
    assert np.array_equal(y, z)


def test_fit_clip_keeps_the_loud_part():
    x = np.full(48000, 1e-3, np.float32)
    x[22000:27000] = _tone(5000 / SAMPLE_RATE)  # a "word" in the middle of 3 s
    y = fit_clip(x)
    assert len(y) == 16000 and np.abs(y).max() == np.abs(x).max()
    assert np.sum(y**2) >= np.sum(x[22000:27000] ** 2) - 1e-6
    short = fit_clip(np.ones(1000, np.float32))
    assert len(short) == 16000 and short[7500:8500].all() and not short[:7000].any()


def test_centre_word_puts_an_upload_s_word_in_the_middle():
    from speechforget.data.audio import centre_word, cut_silence

    word = _tone(4000 / SAMPLE_RATE)  # 0.25 s
    rec = np.full(48000, 1e-4, np.float32)  # 3 s of a quiet room, the word early in it
    rec[3000:7000] = word
    mid = lambda y: np.flatnonzero(np.abs(y) > 0.1).mean()  # noqa: E731
    assert abs(mid(centre_word(rec)) - 8000) < 200
    assert abs(mid(fit_clip(rec)) - 8000) > 4000  # fit_clip alone: at an edge of its window
    short = np.r_[np.zeros(800, np.float32), word, np.zeros(7000, np.float32)]  # 0.74 s
    assert abs(mid(centre_word(short)) - 8000) < 200 and abs(mid(fit_clip(short)) - 8000) > 2000
    assert abs(len(cut_silence(rec)) - (4000 + 2 * 160)) <= 2  # 10 ms kept either side
    for same in (np.zeros(9000, np.float32), np.full(9000, 0.3, np.float32)):  # silence, DC
        assert np.array_equal(cut_silence(same), same)


def test_espeak_driver():
    from speechforget.data.espeak import Espeak

    tts = Espeak.get()
    assert tts.sample_rate == 22050 and Espeak.get() is tts
    x = tts.say("yes", voice="en-us+f3", rate=170, pitch=60)
    assert x.dtype == np.float32 and len(x) > 2000 and 0 < np.abs(x).max() <= 1
    with pytest.raises(ValueError, match="unknown espeak voice"):
        tts.say("yes", voice="xx-nope")


def test_two_engines_and_their_speakers():
    from speechforget.data.synthetic import make_speakers

    spk = make_speakers(SMALL)
    engines = [s.engine for s in spk]
    # the last piper_speakers trained and the last piper_unheard unheard speakers are piper
    assert engines == ["espeak"] * 6 + ["piper"] * 2 + ["espeak", "piper"]
    assert [s.unheard for s in spk] == [False] * 8 + [True] * 2
    piper = [s for s in spk if s.engine == "piper"]
    assert len({(s.rate, s.noise, s.noise_w, s.formant, s.warp) for s in piper}) == 3  # varied
    cfg = SynthConfig()
    assert sum(s.engine == "piper" for s in make_speakers(cfg)) == (
        cfg.piper_speakers + cfg.piper_unheard
    )
    with pytest.raises(ValueError, match="piper_speakers"):
        SynthConfig(n_speakers=4, piper_speakers=5).validate()


def test_piper_driver_repeats_its_bytes_in_a_fresh_process():
    import subprocess
    import sys

    code = (
        "from speechforget.data.piper import Piper; import hashlib; t = Piper.get(0); "
        "x = [t.say('stop', 1.1, 0.7, 0.9), t.say('go')]; "
        "print(t.sample_rate, len(x[0]), hashlib.sha256(b''.join(a.tobytes() for a in x)).hexdigest())"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    }
    assert len(runs) == 1
    rate, n, _ = runs.pop().split()
    assert rate == "22050" and int(n) > 2000


def test_vtlp_scales_frequencies_and_keeps_tempo():
    from speechforget.data.augment import vtlp

    t = np.arange(16000) / 16000
    x = np.sin(2 * np.pi * 200 * t) + np.sin(2 * np.pi * 1000 * t)
    x[:4000] = 0  # the onset stays where it was
    for alpha in (0.9, 1.1):
        y = vtlp(x[None], np.array([alpha]))[0]
        spec = np.abs(np.fft.rfft(y[6000:15000]))
        peaks = np.sort(np.argsort(spec)[-2:]) * 16000 / 9000
        assert np.allclose(peaks, [200 * alpha, 1000 * alpha], atol=4)
        assert np.abs(y[:3500]).max() < 0.05 and np.abs(y[4500:]).max() > 0.5


def test_full_dataset_matches_shipped_models():
    """Same seed, same bytes: the built-in data set rebuilt here has the checksum the
    shipped originals were trained on (assets/cnn_*.json)."""
    import json
    from pathlib import Path

    assets = Path(__file__).resolve().parent.parent / "assets"
    data = build_synthetic(SynthConfig(seed=0))  # the session cache (tests/conftest.py)
    for task in ("kws", "sid"):
        meta = json.loads((assets / f"cnn_{task}.json").read_text())
        assert meta["data_checksum"] == data.checksum()
