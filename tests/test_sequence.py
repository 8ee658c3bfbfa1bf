"""Sequential deletion requests (speechforget.sequence) on the tiny keyword task."""

from __future__ import annotations

import numpy as np
import pytest

from speechforget.config import ExperimentConfig
from speechforget.sequence import parse_requests, report, run_sequence, sequential_splits


def test_requests_parse_and_bad_ones_fail():
    assert [str(s) for s in parse_requests("speaker:spk01; class:yes")] == [
        "speaker:spk01",
        "class:yes",
    ]
    for bad in ("speaker:spk01;", "speaker:spk01;;class:no", "speaker:spk01;nonsense"):
        with pytest.raises(ValueError):
            parse_requests(bad)


def test_splits_delete_request_after_request(tiny_ctx):
    specs = parse_requests("speaker:spk01;class:yes")
    first, second = sequential_splits(tiny_ctx, specs, 0)
    train = tiny_ctx.task.where("train")
    assert np.array_equal(np.union1d(first.forget, first.retain), train)
    # step 2 forgets "yes" clips that step 1 did not already delete; Dr shrinks by both
    assert not np.isin(second.forget, first.forget).any()
    assert np.array_equal(second.retain, np.setdiff1d(first.retain, second.forget))
    assert second.mode == "class" and first.mode == "speaker"


def test_each_step_starts_from_the_last_and_rechecks_earlier_requests(tiny_ctx):
    original = {k: v.clone() for k, v in tiny_ctx.original.model.state_dict().items()}
    cfg = ExperimentConfig(
        task="kws",
        forget="class:yes;class:no",
        method="finetune",
        method_overrides={"epochs": "1"},
        device="cpu",
    )
    seq = run_sequence(cfg, ctx=tiny_ctx)
    first, second = seq["steps"]
    # the second step's "original" is the first step's unlearned model
    assert second["result"].ctx.original.model is first["result"].models["unlearned"]
    (earlier,) = second["earlier"]
    assert earlier["request"] == "class:yes"
    assert set(earlier["now"]) == {"unlearned", "retrain"}
    assert earlier["now"]["retrain"]["forget_acc"] == 0.0, "gold 2 never saw 'yes' either"
    assert isinstance(earlier["came_back"], bool)
    rep = report(seq)
    assert [s["request"] for s in rep["sequence"]] == ["class:yes", "class:no"]
    assert rep["config"]["forget"] == "class:no" and "gaps" in rep
    for k, v in tiny_ctx.original.model.state_dict().items():
        assert np.array_equal(v.numpy(), original[k].numpy()), "the original is untouched"
