"""The your-voice loop on the command line: a folder of a visitor's clips, in an espeak-ng
voice the data never uses, added as a new speaker, trained in, forgotten and reported;
then the unlearned model's view of a clip through `predict`."""

from __future__ import annotations

import json

import pytest
from conftest import make_tiny_data
from visitor_support import write_visitor

from speechforget.__main__ import main

WORDS = ("yes", "no", "up", "down", "left", "right")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from speechforget.data.synthetic import write_wavs

    root = tmp_path_factory.mktemp("cli_visitor")
    data = write_wavs(make_tiny_data(names=WORDS), root / "data")
    me = write_visitor(root / "me", takes=2, words=WORDS[:5])
    return data, me, root


@pytest.mark.parametrize("task", ["kws", "sid"])
def test_add_speaker_forget_and_report(folders, task, capsys):
    data, me, root = folders
    out = root / f"{task}_report.json"
    model = root / f"{task}_unlearned"
    args = ["unlearn", "--task", task, "--backbone", "cnn", "--data", f"folder:{data}"]
    args += ["--add-speaker", f"me={me}"]
    args += ["--forget", "speaker:me", "--method", "random_label", "--quiet"]
    assert main([*args, "--out", str(out), "--save-model", str(model)]) == 0
    rep = json.loads(out.read_text())
    held = 5 if task == "kws" else 3  # one take per keyword; 3 of 10 utterances
    assert rep["added"]["n_added"] == 10 - held and rep["added"]["n_held_back"] == held
    for m in ("original", "unlearned", "retrain"):
        assert 0 <= rep["models"][m]["added_test_acc"] <= 1
        assert 0 <= rep["models"][m]["added_forget_member"] <= 1
    if task == "sid":  # a new class, which the gold never saw: it can never name the visitor
        assert rep["class_names"][-1] == "me" and rep["models"]["retrain"]["added_test_acc"] == 0
    else:
        assert "reused" in rep["added"]["gold"]
    printed = capsys.readouterr().out
    assert "your held-back clips: accuracy" in printed

    capsys.readouterr()
    clip = next(me.rglob("*.wav"))
    assert main(["predict", "--task", task, "--model", f"{model}.safetensors", str(clip)]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(line["probs"]) == set(rep["class_names"])


def test_add_speaker_errors_say_what_to_do(folders, capsys):
    data, me, root = folders
    base = ["unlearn", "--task", "kws", "--backbone", "cnn", "--data", f"folder:{data}"]
    base.append("--quiet")  # the CNN: the errors do not depend on the backbone
    assert main([*base, "--add-speaker", "me"]) == 2
    assert "NAME=DIR" in capsys.readouterr().err
    few = write_visitor(root / "few", takes=1, words=WORDS[:2])
    assert main([*base, "--add-speaker", f"me={few}", "--forget", "speaker:me"]) == 2
    assert "at least 2 takes of at least 5 keywords" in capsys.readouterr().err
    assert main([*base, "--add-speaker", f"spk00={me}", "--forget", "speaker:spk00"]) == 2
    assert "already in the data set" in capsys.readouterr().err
