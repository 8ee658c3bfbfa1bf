"""The held-out protocol: tuning and reported seeds and forget sets never overlap."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from speechforget import protocol
from speechforget.bench import BenchConfig, forget_specs


def test_seeds_have_one_role_each():
    assert not set(protocol.TUNING_SEEDS) & set(protocol.REPORTED_SEEDS)
    assert len(protocol.REPORTED_SEEDS) == 5, "five reported seeds, as the paper"
    assert BenchConfig().seeds == protocol.REPORTED_SEEDS


@pytest.mark.parametrize("task_name", ["kws", "sid"])
@pytest.mark.parametrize("kind", ["class", "speaker"])
def test_pools_split_the_candidates(tiny_data, task_name, kind):
    task = tiny_data.task(task_name)
    tuning, reported = protocol.pools(task, kind)
    assert tuning and reported and not set(tuning) & set(reported)
    kind_of = "class" if task_name == "sid" else kind
    assert sorted(tuning + reported) == sorted(protocol.candidates(task, kind_of))
    assert not any(c.startswith("_") for c in tuning + reported)


@pytest.mark.parametrize("task_name", ["kws", "sid"])
@pytest.mark.parametrize("mode", ["sample", "class", "speaker"])
def test_tuning_and_reported_forget_sets_never_overlap(tiny_data, task_name, mode):
    """What scripts/tune_methods.py tunes on and what the bench reports are disjoint: seeds,
    and for class and speaker modes the classes or speakers themselves."""
    task = tiny_data.task(task_name)
    tuning, reported = protocol.pools(task, mode) if mode != "sample" else ([], [])
    n_tune = len(tuning) if mode != "sample" else 3
    n_rep = min(len(reported), 5) if mode != "sample" else 5
    tune_specs = list(
        forget_specs(BenchConfig(mode=mode, ratios=(10,), seeds=tuple(range(n_tune))), task)
    )
    rep_specs = list(
        forget_specs(
            BenchConfig(mode=mode, ratios=(10,), seeds=protocol.REPORTED_SEEDS[:n_rep]), task
        )
    )
    assert not {s[1] for s in tune_specs} & {s[1] for s in rep_specs}
    if mode != "sample":
        named = lambda specs: {n for s in specs for n in s[2].partition(":")[2].split(",")}  # noqa: E731
        assert named(tune_specs) <= set(tuning) and named(rep_specs) <= set(reported)
        assert not named(tune_specs) & named(rep_specs)
        assert len({s[2] for s in rep_specs}) == len(rep_specs), "a distinct set per seed"


def test_tuning_script_refuses_reported_seeds(tiny_data):
    path = Path(__file__).resolve().parents[1] / "scripts" / "tune_methods.py"
    spec = importlib.util.spec_from_file_location("tune_methods", path)
    tune = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tune)
    task = tiny_data.task("kws")
    assert tune.spec_for("class", 10, 0, task).partition(":")[2] in protocol.pools(task, "class")[0]
    with pytest.raises(SystemExit, match="reported seed"):
        tune.spec_for("sample", 10, protocol.REPORTED_SEEDS[0], task)


def test_the_shipped_pools_keep_what_the_defaults_were_tuned_on():
    """The keywords and speakers the defaults were tuned on before the protocol existed are
    on the tuning side (checked on the built-in data's names, no data needed)."""

    class Fake:
        def __init__(self, task, names):
            self.task, self.class_names = task, names

    kws = Fake("kws", ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"])
    tuning, reported = protocol.pools(kws, "class")
    assert {"stop", "left"} <= set(tuning) and len(reported) >= 5
    sid = Fake("sid", [f"spk{i:02d}" for i in range(48)])
    tuning, reported = protocol.pools(sid, "class")
    assert {"spk40", "spk22"} <= set(tuning) and len(reported) >= 5
