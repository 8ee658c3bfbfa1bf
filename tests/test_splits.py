"""Forget specs: parsing, clear errors, disjoint and deterministic splits."""

import numpy as np
import pytest

from speechforget.data import ForgetSpec, make_split


@pytest.mark.parametrize(
    "text,kind,names,pct",
    [
        ("class:stop", "class", ("stop",), 0),
        ("class:stop, go", "class", ("stop", "go"), 0),
        ("speaker:spk07", "speaker", ("spk07",), 0),
        ("sample:5", "sample", (), 5.0),
    ],
)
def test_parse(text, kind, names, pct):
    spec = ForgetSpec.parse(text)
    assert (spec.kind, spec.names, spec.percent) == (kind, names, pct)
    assert ForgetSpec.parse(str(spec)) == spec


@pytest.mark.parametrize(
    "text,msg",
    [
        ("stop", "class:<names>"),
        ("klass:stop", "class:<names>"),
        ("sample:abc", "number"),
        ("sample:0", "between 0 and 100"),
        ("sample:100", "between 0 and 100"),
        ("class:", "names nothing"),
    ],
)
def test_parse_errors(text, msg):
    with pytest.raises(ValueError, match=msg):
        ForgetSpec.parse(text)


def test_unknown_names_list_valid_ones(tiny_data):
    task = tiny_data.task("kws")
    with pytest.raises(ValueError, match=r"unknown class 'stpo'; choose from yes, no, up, down"):
        make_split(task, "class:stpo")
    with pytest.raises(ValueError, match=r"unknown speaker 'spk99'; choose from spk00"):
        make_split(task, "speaker:spk99")
    with pytest.raises(ValueError, match="unknown speaker 'yes'"):
        make_split(tiny_data.task("sid"), "class:yes")


def test_nothing_to_retain(tiny_data):
    task = tiny_data.task("kws")
    with pytest.raises(ValueError, match="nothing would be retained"):
        make_split(task, "class:yes,no,up,down")


@pytest.mark.parametrize("spec", ["class:up", "class:up,down", "speaker:spk02", "sample:10"])
@pytest.mark.parametrize("task_name", ["kws", "sid"])
def test_split_disjoint_and_complete(tiny_data, spec, task_name):
    task = tiny_data.task(task_name)
    if task_name == "sid" and spec.startswith("class:"):
        spec = "class:spk01,spk03"
    s = make_split(task, spec, seed=3)
    train = task.where("train")
    assert len(np.intersect1d(s.forget, s.retain)) == 0
    assert np.array_equal(np.sort(np.concatenate([s.forget, s.retain])), train)
    for other in (s.test, s.val, s.unheard):
        assert len(np.intersect1d(other, train)) == 0
    again = make_split(task, spec, seed=3)
    assert np.array_equal(again.forget, s.forget)
    if spec.startswith("sample"):
        assert s.test_forgotten is None
        assert len(s.forget) == round(0.1 * len(train))
        assert not np.array_equal(make_split(task, spec, seed=4).forget, s.forget)
    else:
        assert s.test_forgotten.dtype == bool and s.test_forgotten.any()


def test_class_split_selects_exactly_that_class(tiny_data):
    task = tiny_data.task("kws")
    s = make_split(task, "class:up")
    up = task.class_names.index("up")
    assert (task.y[s.forget] == up).all() and (task.y[s.retain] != up).all()
    assert np.array_equal(s.test_forgotten, task.y[s.test] == up)
    assert s.forgotten_classes == (up,)


def test_speaker_split_in_kws(tiny_data):
    task = tiny_data.task("kws")
    s = make_split(task, "speaker:spk02")
    spk = tiny_data.speaker_names.index("spk02")
    assert (task.speaker[s.forget] == spk).all() and (task.speaker[s.retain] != spk).all()
    assert s.forgotten_classes == ()


def test_sid_task_excludes_unheard_speakers(tiny_data):
    sid = tiny_data.task("sid")
    assert "spk06" not in sid.class_names and sid.num_classes == 6
    assert (sid.split != "unheard").all()
    kws = tiny_data.task("kws")
    assert (kws.split == "unheard").sum() == 20
