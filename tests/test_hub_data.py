"""Real-data sources on tiny local copies: Speech Commands as Hub parquet files, and a
VoxCeleb1-style folder with iden_split.txt. Nothing is downloaded."""

from __future__ import annotations

import io

import datasets
import numpy as np
import pytest
import soundfile as sf

from speechforget.config import DataConfig
from speechforget.data import KWS_LABELS, load_source, make_split
from speechforget.data.audio import save_wav
from speechforget.data.dataset import KEYWORDS, UNKNOWN_WORDS

SC_NAMES = KEYWORDS + UNKNOWN_WORDS + ["_silence_"]  # the 31 labels of speech_commands v0.01


def wav_bytes(x: np.ndarray, sr: int = 16_000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def write_parquet(path, rows: list[tuple], label_names: list[str] | None) -> None:
    """rows of (wave, sample rate, label, speaker, take) -> one parquet file with the
    features of the Hub export (audio as {bytes, path})."""
    label = datasets.ClassLabel(names=label_names) if label_names else datasets.Value("string")
    feats = datasets.Features(
        {
            "audio": {"bytes": datasets.Value("binary"), "path": datasets.Value("string")},
            "label": label,
            "speaker_id": datasets.Value("string"),
            "utterance_id": datasets.Value("int8"),
        }
    )
    cols = {
        "audio": [
            {"bytes": wav_bytes(x, sr), "path": f"{i}.wav"} for i, (x, sr, *_) in enumerate(rows)
        ],
        "label": [label_names.index(r[2]) if label_names else r[2] for r in rows],
        "speaker_id": [r[3] for r in rows],
        "utterance_id": [r[4] for r in rows],
    }
    ds = datasets.Dataset.from_dict(cols, features=feats)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.cast_column("audio", datasets.Audio(decode=False)).to_parquet(str(path))


@pytest.fixture(scope="module")
def sc_parquet(tiny_data, tmp_path_factory):
    """The tiny tones as Speech Commands parquet (train/validation/test), plus per split one
    'bed' clip at 8 kHz (-> _unknown_) and a 3.03 s background-noise clip (-> 3 x _silence_)."""
    root = tmp_path_factory.mktemp("sc_parquet")
    rng = np.random.default_rng(0)
    for split, ours in (("train", "train"), ("validation", "val"), ("test", "test")):
        rows = [
            (
                tiny_data.waves[i],
                16_000,
                tiny_data.keyword_names[tiny_data.keyword[i]],
                tiny_data.speaker_names[tiny_data.speaker[i]],
                int(tiny_data.take[i]),
            )
            for i in np.flatnonzero(tiny_data.split == ours)
        ]
        rows.append(((0.1 * rng.standard_normal(8000)).astype(np.float32), 8000, "bed", "spk00", 0))
        rows.append(
            ((0.01 * rng.standard_normal(48_500)).astype(np.float32), 16_000, "_silence_", None, 0)
        )
        write_parquet(root / "v0.01" / split / "0000.parquet", rows, SC_NAMES)
    return root


def test_speech_commands_parquet_gives_superb_labels(sc_parquet, tiny_data, monkeypatch):
    data = load_source(DataConfig(source=f"hub:{sc_parquet}"))
    assert data.keyword_names == KWS_LABELS and data.waves.shape[1] == 16_000
    counts = dict(zip(*np.unique(data.keyword, return_counts=True)))
    n_words = int((tiny_data.split != "unheard").sum())
    assert counts[KWS_LABELS.index("_unknown_")] == 3  # one 'bed' per split
    assert counts[KWS_LABELS.index("_silence_")] == 9  # 3 s of noise -> 3 clips, per split
    assert sum(counts.values()) == n_words + 12
    assert set(data.split) == {"train", "val", "test"}
    assert data.speaker_names == sorted({f"spk{i:02d}" for i in range(6)})
    assert (data.speaker[data.keyword == KWS_LABELS.index("_silence_")] == -1).all()
    # 16-bit PCM in, the same samples out (to the 16-bit step)
    yes = np.flatnonzero((tiny_data.keyword == 0) & (tiny_data.split == "train"))[0]
    assert np.abs(data.waves - tiny_data.waves[yes]).max(1).min() < 1e-4
    # a speaker can be forgotten inside keyword spotting
    split = make_split(data.task("kws"), "speaker:spk01", 0)
    assert len(split.forget) > 0 and (data.task("kws").speaker[split.forget] == 1).all()
    # the second load reads the npz cache and never opens the parquet files
    monkeypatch.setattr("speechforget.data.hub._open", lambda *a: pytest.fail("not cached"))
    again = load_source(DataConfig(source=f"hub:{sc_parquet}"))
    assert again.checksum() == data.checksum()


def test_subset_keeps_n_clips_per_class_and_split(sc_parquet):
    data = load_source(DataConfig(source=f"hub:{sc_parquet}", subset=2, seed=1))
    for split in ("train", "val", "test"):
        counts = np.bincount(data.keyword[data.split == split], minlength=12)
        assert counts.max() <= 2 and (counts[:4] == 2).all()
    same = load_source(DataConfig(source=f"hub:{sc_parquet}", subset=2, seed=1))
    assert same.checksum() == data.checksum()


def test_speaker_labelled_parquet_is_speaker_id(tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        ((0.2 * rng.standard_normal(40_000)).astype(np.float32), 16_000, f"id1000{s}", None, 0)
        for s in range(3)
        for _ in range(2)
    ]
    write_parquet(tmp_path / "data" / "train-00000-of-00001.parquet", rows, None)
    write_parquet(tmp_path / "data" / "test-00000-of-00001.parquet", rows[:3], None)
    data = load_source(DataConfig(source=f"hub:{tmp_path}?seconds=2"))
    assert data.waves.shape == (9, 32_000) and (data.keyword == -1).all()
    assert data.task("sid").class_names == ["id10000", "id10001", "id10002"]


def test_hub_id_offline_says_what_to_do(monkeypatch):
    monkeypatch.setattr("speechforget.models.hub.hub_reachable", lambda timeout=3.0: False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    with pytest.raises(ValueError, match="cannot be reached.*hub:<that folder>"):
        load_source(DataConfig(source="hub:google/speech_commands"))


def test_hub_load_failure_says_how_to_use_local_files(monkeypatch):
    def refuse(*args, **kwargs):
        raise ConnectionError("no route to the Hub")

    monkeypatch.setattr("speechforget.models.hub.hub_reachable", lambda timeout=3.0: True)
    monkeypatch.setattr(datasets, "load_dataset", refuse)
    with pytest.raises(ValueError, match="no route to the Hub.*--data hub:<dir>"):
        load_source(DataConfig(source="hub:google/speech_commands"))


@pytest.fixture(scope="module")
def vox_folder(tmp_path_factory):
    """3 speakers x 2 videos x 2 utterances of 0.5 to 4 s, the official split codes."""
    root = tmp_path_factory.mktemp("voxceleb1")
    rng = np.random.default_rng(0)
    lines = []
    for s in range(3):
        for v, video in enumerate(("aaa", "bbb")):
            for u in (1, 2):
                rel = f"id1000{s}/{video}/0000{u}.wav"
                secs = 0.5 + 3.5 * rng.random()
                save_wav(
                    root / "wav" / rel, 0.2 * np.sin(np.arange(int(secs * 16_000)) * (s + 1) / 20)
                )
                lines.append(f"{1 if v == 0 else 2 + (u - 1)} {rel}")
    (root / "iden_split.txt").write_text("\n".join(lines) + "\n")
    return root


def test_voxceleb_folder_with_iden_split(vox_folder):
    data = load_source(DataConfig(source=f"voxceleb:{vox_folder}?seconds=1.5"))
    assert data.waves.shape == (12, 24_000) and data.keyword_names == []
    assert dict(zip(*np.unique(data.split, return_counts=True))) == {
        "train": 6,
        "val": 3,
        "test": 3,
    }
    task = data.task("sid")
    assert task.class_names == ["id10000", "id10001", "id10002"] and len(task) == 12
    assert make_split(task, "class:id10001", 0).forget.size == 2
    small = load_source(DataConfig(source=f"voxceleb:{vox_folder}", subset=1))
    assert small.waves.shape == (9, 48_000)  # default 3 s; 1 per speaker and split


def test_voxceleb_errors_and_missing_files(tmp_path, vox_folder):
    with pytest.raises(ValueError, match="iden_split.txt"):
        load_source(DataConfig(source=f"voxceleb:{tmp_path}"))
    (tmp_path / "iden_split.txt").write_text("4 id10001/x/00001.wav\n")
    with pytest.raises(ValueError, match="cannot read"):
        load_source(DataConfig(source=f"voxceleb:{tmp_path}"))
    (tmp_path / "iden_split.txt").write_text(
        (vox_folder / "iden_split.txt").read_text() + "1 id10009/zzz/00001.wav\n"
    )
    (tmp_path / "wav").symlink_to(vox_folder / "wav")
    with pytest.warns(UserWarning, match="skipped 1"):
        data = load_source(DataConfig(source=f"voxceleb:{tmp_path}"))
    assert len(data) == 12
