"""`python -m speechforget predict`: one JSON line per clip, from the shipped original or a
safetensors checkpoint; unusable clips get the app's message and do not stop the rest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from speechforget.__main__ import main
from speechforget.clip_check import load_clip, model_probs
from speechforget.data.audio import AudioError, save_wav
from speechforget.data.dataset import KWS_LABELS
from speechforget.models import load_checkpoint, save_checkpoint
from speechforget.training.builtin import asset_path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Two built-in test clips as wav files ("yes", "stop"), a text file named .wav and a
    silent wav."""
    from speechforget.config import DataConfig
    from speechforget.data import load_source

    task = load_source(DataConfig()).task("kws")
    test, out = task.where("test"), tmp_path_factory.mktemp("clips")
    paths = {}
    for word in ("yes", "stop"):
        i = next(i for i in test if task.class_names[task.y[i]] == word)
        paths[word] = save_wav(out / f"{word}.wav", task.waves[i])
    (out / "notes.wav").write_text("not audio")
    paths["notes"] = out / "notes.wav"
    paths["silent"] = save_wav(out / "silent.wav", np.zeros(16000))
    return paths


@pytest.fixture(scope="module")
def shipped_copy(tmp_path_factory) -> Path:
    """The shipped keyword original, written again by save_checkpoint with its metadata."""
    model, meta = load_checkpoint(asset_path("cnn", "kws"))
    return save_checkpoint(model, tmp_path_factory.mktemp("models") / "copy", meta)


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    """(exit status, JSON rows printed, stderr) of `python -m speechforget predict ...`."""
    rc = main(["predict", *map(str, argv)])
    out, err = capsys.readouterr()
    return rc, [json.loads(line) for line in out.splitlines()], err


def check_row(row: dict, names: list[str]) -> None:
    """A prediction row: every class, rounded probabilities that sum to 1, top = argmax."""
    probs = row["probs"]
    assert list(probs) == names
    assert all(isinstance(p, float) and round(p, 4) == p for p in probs.values())
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-3)
    assert row["top"] == max(probs, key=probs.get)
    assert row["confidence"] == probs[row["top"]]


def app_message(path: Path) -> str:
    """What the app's "Check a clip" tab says after "Cannot use this clip:"."""
    with pytest.raises(AudioError) as err:
        load_clip(path)
    return str(err.value)


def test_predict_prints_a_row_per_clip_and_goes_on_after_a_bad_one(clips, capsys):
    from speechforget.config import default_backbone
    from speechforget.pipeline import prepare

    argv = ["--task", "kws", clips["yes"], clips["notes"], clips["stop"], clips["silent"]]
    rc, rows, _ = run(capsys, *argv)
    assert rc == 0 and [r["file"] for r in rows] == [str(a) for a in argv[2:]]
    model = prepare("kws", default_backbone("kws")).original.model  # the command's default
    for row, word in ((rows[0], "yes"), (rows[2], "stop")):
        check_row(row, KWS_LABELS)
        expected = model_probs(model, load_clip(clips[word]))
        assert np.allclose(list(row["probs"].values()), expected, atol=1e-4)
    for row, bad in ((rows[1], "notes"), (rows[3], "silent")):
        assert row == {"file": str(clips[bad]), "error": app_message(clips[bad])}
    assert "not readable audio" in rows[1]["error"] and "silent" in rows[3]["error"]


def test_predict_fails_when_no_clip_is_usable(clips, shipped_copy, capsys):
    rc, rows, err = run(capsys, "--model", shipped_copy, clips["notes"], clips["silent"])
    assert rc == 1 and all("error" in r for r in rows) and "no clip" in err


def test_predict_with_a_checkpoint(clips, shipped_copy, tmp_path, capsys):
    model, meta = load_checkpoint(shipped_copy)
    rc, rows, _ = run(capsys, "--model", shipped_copy, clips["yes"])
    assert rc == 0
    check_row(rows[0], KWS_LABELS)
    assert np.allclose(
        list(rows[0]["probs"].values()), model_probs(model, load_clip(clips["yes"])), atol=1e-4
    )
    # report.write_model's metadata: the task sits in the config; names come from the file
    renamed = [n.upper() for n in KWS_LABELS]
    unlearned = save_checkpoint(
        model, tmp_path / "unlearned", {"class_names": renamed, "config": {"task": "kws"}}
    )
    rc, rows, _ = run(capsys, "--model", unlearned, clips["yes"])
    assert rc == 0
    check_row(rows[0], renamed)
    bare = save_checkpoint(model, tmp_path / "bare")  # no class names: their indices
    rc, rows, _ = run(capsys, "--model", bare, clips["yes"])
    check_row(rows[0], [str(i) for i in range(len(KWS_LABELS))])


def test_predict_refuses_a_checkpoint_of_another_task(clips, shipped_copy, tmp_path, capsys):
    rc, rows, err = run(capsys, "--task", "sid", "--model", shipped_copy, clips["yes"])
    assert rc == 2 and not rows and "is a kws model; pass --task kws" in err
    rc, rows, err = run(capsys, "--model", tmp_path / "none.safetensors", clips["yes"])
    assert rc == 2 and "no checkpoint" in err


def test_predict_help_gives_the_exit_status(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert (
        "0 when at least one clip was answered (predicted, or found not to be speech), 1 when none"
        in out
    )
