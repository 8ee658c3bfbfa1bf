"""A visitor's own clips: read, held back, added as a speaker, trained in, forgotten, and
reported (speechforget.data.visitor, speechforget.enrol, `unlearn --add-speaker`)."""

from __future__ import annotations

import json
import tempfile

import numpy as np
import pytest
import torch
from conftest import make_tiny_data
from visitor_support import VOICE, write_visitor

from speechforget.config import ExperimentConfig, TrainConfig
from speechforget.data.audio import save_wav
from speechforget.data.visitor import (
    HELD,
    hold_back,
    keyword_of,
    make_visitor,
    read_visitor,
    with_visitor,
)
from speechforget.store import Store

QUICK = TrainConfig(epochs=6, lr=3e-3, batch_size=16, device="cpu")  # SpecAugment: 3 were too few


def _tones(words, seed=1):
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000
    freq = {"yes": 220, "no": 440, "up": 660, "down": 880}
    return [
        (0.3 * np.sin(2 * np.pi * freq[w] * 1.01 * t) + 0.02 * rng.standard_normal(16000)).astype(
            np.float32
        )
        for w in words
    ]


def _base(task: str):
    """A context on the tiny data with a quickly trained original (its own store)."""
    from speechforget.models import build_model
    from speechforget.models.cnn import CNN_SPEC
    from speechforget.pipeline import Context
    from speechforget.training import featurize
    from speechforget.training.builtin import train_builtin

    t = make_tiny_data().task(task)
    x = featurize(build_model({**CNN_SPEC, "num_classes": t.num_classes}), t.waves)
    return Context(t, x, train_builtin("cnn", t, x, recipe=QUICK), Store(tempfile.mkdtemp()))


@pytest.fixture(scope="module")
def bases():
    return {task: _base(task) for task in ("kws", "sid")}


def _visitor(task: str, name: str = "me"):
    words = ["yes", "no", "up", "down"] * 3
    return make_visitor(name, _tones(words), words, task, min_keywords=2)


def test_the_espeak_voice_of_the_test_visitor_is_not_in_the_built_in_data():
    from speechforget.data.synthetic import VARIANTS

    assert VOICE.partition("+")[2] not in VARIANTS


def test_hold_back_keeps_one_take_per_keyword_and_two_or_three_utterances():
    words = np.array(["yes"] * 3 + ["no"] * 2 + ["up"])
    held = hold_back(words, "kws", seed=0)
    assert held.sum() == 2 and held[:3].sum() == 1 and held[3:5].sum() == 1 and not held[5]
    assert hold_back(np.array([""] * 6), "sid").sum() == 2
    assert hold_back(np.array([""] * 12), "sid").sum() == 3
    assert np.array_equal(hold_back(words, "kws", 3), hold_back(words, "kws", 3))


def test_too_few_clips_say_what_to_record():
    with pytest.raises(ValueError, match="at least 2 takes of at least 5 keywords"):
        make_visitor("me", _tones(["yes", "yes", "no"]), ["yes", "yes", "no"], "kws")
    with pytest.raises(ValueError, match="at least 5 short utterances"):
        make_visitor("me", _tones(["yes"] * 3), [""] * 3, "sid")


def test_keywords_from_folders_or_file_names(tmp_path):
    assert keyword_of(tmp_path / "stop" / "a.wav", tmp_path) == "stop"
    assert keyword_of(tmp_path / "Left_take2.wav", tmp_path) == "left"
    assert keyword_of(tmp_path / "hello.wav", tmp_path) == ""


def test_read_visitor_both_layouts_and_a_bad_file(tmp_path):
    v = read_visitor("me", write_visitor(tmp_path / "dirs", takes=2), "kws")
    assert (
        len(v) == 12
        and v.n_held == 6
        and set(v.words) == {"yes", "no", "up", "down", "left", "right"}
    )
    v = read_visitor("me", write_visitor(tmp_path / "names", takes=2, layout="names"), "sid")
    assert len(v) == 12 and v.n_held == 3 and v.waves.shape == (12, 16000)
    (tmp_path / "names" / "yes_9.wav").write_bytes(b"not audio")
    with pytest.raises(ValueError, match="yes_9.wav"):
        read_visitor("me", tmp_path / "names", "sid")
    with pytest.raises(ValueError, match="names a keyword"):
        save_wav(tmp_path / "none" / "hello.wav", np.full(8000, 0.1, np.float32))
        read_visitor("me", tmp_path / "none", "kws")


def test_with_visitor_appends_a_speaker_and_keeps_every_row(tiny_data):
    v = _visitor("kws")
    data = with_visitor(tiny_data, v)
    n = len(tiny_data)
    assert len(data) == n + len(v) and np.array_equal(data.waves[:n], tiny_data.waves)
    assert data.speaker_names[-1] == "me" and set(data.speaker[n:]) == {
        len(tiny_data.speaker_names)
    }
    assert (data.split[n:] == HELD).sum() == v.n_held and (
        data.split[n:] == "train"
    ).sum() == v.n_trained
    sid = data.task("sid")
    assert sid.class_names[-1] == "me" and sid.num_classes == tiny_data.task("sid").num_classes + 1
    assert len(data.task("kws").where("test")) == len(tiny_data.task("kws").where("test"))
    with pytest.raises(ValueError, match="already in the data set"):
        with_visitor(tiny_data, _visitor("kws", name="spk00"))


def test_the_recipe_is_deterministic_so_the_kws_gold_may_be_the_original(bases):
    """The reuse of the original as the keyword gold rests on this: the same recipe on the
    same clips gives the same weights, bit for bit."""
    from speechforget.training.builtin import train_builtin

    base = bases["kws"]
    again = train_builtin("cnn", base.task, base.x, recipe=QUICK)
    for k, v in base.original.model.state_dict().items():
        assert torch.equal(v, again.model.state_dict()[k]), k


@pytest.mark.parametrize("task", ["kws", "sid"])
def test_enrol_train_in_forget_and_report(bases, task, tmp_path):
    from speechforget.enrol import enrol
    from speechforget.pipeline import run_experiment

    base, private, shared = bases[task], Store(tmp_path / "private"), Store(tmp_path / "shared")
    before = {k: v.clone() for k, v in base.original.model.state_dict().items()}
    v = _visitor(task)
    ctx = enrol(base, v, private, gold_store=shared)
    n_held = 4 if task == "kws" else 3  # one take per keyword; 3 utterances of 12
    assert v.n_held == n_held and v.n_trained == 12 - n_held
    assert ctx.original.meta["n_train"] == len(base.task.where("train")) + v.n_trained
    assert len(ctx.enrolment.held) == v.n_held and len(ctx.enrolment.trained) == v.n_trained
    cfg = ExperimentConfig(task=task, forget="speaker:me", method="random_label", seed=0)
    res = run_experiment(cfg, ctx=ctx)
    rep = res.report()
    assert rep["added"]["n_added"] == v.n_trained and rep["added"]["n_held_back"] == v.n_held
    for m in ("original", "unlearned", "retrain"):
        assert 0 <= rep["models"][m]["added_test_acc"] <= 1
        assert 0 <= rep["models"][m]["added_forget_member"] <= 1
    assert rep["models"]["original"]["added_test_acc"] == 1.0  # it heard these tones
    assert all(torch.equal(v, base.original.model.state_dict()[k]) for k, v in before.items())
    gold_files = (
        list(shared.dir("gold").glob("*.safetensors")) if shared.dir("gold").exists() else []
    )
    if task == "kws":  # the base original is the gold: nothing retrained
        assert "reused" in rep["added"]["gold"] and not gold_files
        gold = res.models["retrain"].state_dict()
        assert all(torch.equal(v, gold[k]) for k, v in before.items())
    else:  # one more class: retrained once, kept where every visitor finds it
        assert rep["models"]["retrain"]["added_test_acc"] == 0.0 and len(gold_files) == 1
        other = enrol(base, _visitor(task, name="you"), Store(tmp_path / "p2"), gold_store=shared)
        assert (
            other.enrolment.gold().meta["time_s"]
            == json.loads(gold_files[0].with_suffix(".json").read_text())["time_s"]
        )  # the same visitor-free gold serves another visitor


def test_the_visitor_lives_only_in_the_private_store(bases, tmp_path):
    """Nothing trained with the visitor's clips reaches the shared store."""
    from speechforget.enrol import enrol
    from speechforget.pipeline import run_experiment

    base, private, shared = bases["sid"], Store(tmp_path / "private"), Store(tmp_path / "shared")
    ctx = enrol(base, _visitor("sid"), private, gold_store=shared)
    run_experiment(ExperimentConfig(task="sid", forget="speaker:me", method="finetune"), ctx=ctx)
    for f in shared.root.rglob("*.json"):
        assert "me" not in json.loads(f.read_text()).get("class_names", [])
    for f in shared.root.rglob("*.npz"):
        with np.load(f) as z:
            assert all(len(z[k]) != len(ctx.task) for k in z.files)  # no per-clip rows of ours


def test_a_shipped_gold_is_found_after_the_store(bases, tmp_path, monkeypatch):
    """assets/golds/ serves a gold that the store does not have (same key), and a store
    entry wins over it."""
    import shutil

    from speechforget.training import gold as gold_mod

    base = bases["sid"]
    made = Store(tmp_path / "made")
    retain = base.task.where("train")[5:]
    first = gold_mod.retrain_gold(base.original, base.task, base.x, retain, store=made)
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    for f in made.dir("gold").iterdir():
        shutil.copy(f, shipped / f.name)
    monkeypatch.setattr(gold_mod, "SHIPPED", shipped)
    empty = Store(tmp_path / "empty")
    assert gold_mod.cached_gold(base.original, retain, empty)["time_s"] == first.meta["time_s"]
    again = gold_mod.retrain_gold(base.original, base.task, base.x, retain, store=empty)
    assert again.run is None  # loaded, not trained
    assert all(
        torch.equal(v, again.model.state_dict()[k]) for k, v in first.model.state_dict().items()
    )
    assert not empty.dir("gold").exists()


def test_the_shipped_sid_visitor_gold_has_no_visitor_and_matches_its_key():
    from speechforget.training.gold import SHIPPED

    metas = [json.loads(p.read_text()) for p in SHIPPED.glob("*.json")]
    assert all("rebuild" in m for m in metas)
    metas = [m for m in metas if m["task"] == "sid"]  # the others: keyword class golds
    assert len(metas) == 1
    for m in metas:
        assert m["spec"]["num_classes"] == len(m["class_names"]) + 1  # the visitor's empty slot
