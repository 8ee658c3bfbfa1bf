"""The core facade the app uses: step-wise pipeline, streaming, detach/attach, clip views."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from speechforget import explore
from speechforget.config import ExperimentConfig
from speechforget.pipeline import gold_step, run_experiment, start_experiment, unlearn_step


@pytest.fixture(scope="module")
def result(tiny_ctx):
    cfg = ExperimentConfig(forget="class:down", method="none")
    events = list(explore.phase_events("unlearn", cfg, tiny_ctx))
    assert events[-1][0] == "done"
    res = events[-1][1]
    events = list(explore.phase_events("gold", cfg, tiny_ctx, res=res))
    assert [e[0] for e in events].count("step") >= 1 and events[-1][0] == "done"
    return res


def test_steps_match_run_experiment(tiny_ctx, result):
    cfg = result.config
    whole = run_experiment(cfg, ctx=tiny_ctx)  # gold now comes from the cache
    assert set(whole.evals) == set(result.evals) == {"original", "unlearned", "retrain"}
    for k in whole.evals:
        assert whole.evals[k].metrics == pytest.approx(result.evals[k].metrics, nan_ok=True)


def test_retrain_method_reuses_its_gold(tiny_ctx):
    cfg = ExperimentConfig(forget="class:down", method="retrain")
    res = unlearn_step(start_experiment(cfg, tiny_ctx))
    assert res.models["retrain"] is res.models["unlearned"]
    gold_step(res)
    assert res.evals["retrain"].metrics == res.evals["unlearned"].metrics


def test_bad_forget_choice_fails_before_any_thread(tiny_ctx):
    with pytest.raises(ValueError, match="nothing would be retained"):
        explore.phase_events("unlearn", ExperimentConfig(forget="class:yes,no,up,down"), tiny_ctx)
    with pytest.raises(ValueError, match="unknown phase"):
        explore.phase_events("later", ExperimentConfig(), tiny_ctx)


def test_stream_stops_when_closed():
    stop, seen = threading.Event(), []

    def work(on_step):
        for i in range(10_000):
            seen.append(i)
            if on_step("unlearned", i):
                return "stopped"
            threading.Event().wait(0.001)
        return "finished"

    gen = explore.stream(work, stop)
    assert next(gen)[0] == "step"
    gen.close()
    assert stop.is_set() and len(seen) < 10_000


def test_stream_reports_errors():
    def work(on_step):
        raise ValueError("boom")

    assert list(explore.stream(work))[-1][0] == "error"


def test_detach_attach_round_trip(tiny_ctx, result):
    import pickle

    state = pickle.loads(pickle.dumps(explore.detach(result)))
    back = explore.attach(state, tiny_ctx)
    x = explore.clip_audio(tiny_ctx, 0)[1].astype(np.float32) / 32768
    a = explore.wave_probs(explore.result_models(result, tiny_ctx), tiny_ctx, x)
    b = explore.wave_probs(explore.result_models(back, tiny_ctx), tiny_ctx, x)
    for k in a:
        assert np.allclose(a[k], b[k], atol=1e-5)


def test_views(tiny_ctx, result):
    assert explore.models_of(result) == ["original", "unlearned", "retrain"]
    cm = explore.confusion(result, "retrain", "forget")
    assert cm.sum() == len(result.split.forget) and cm[3, 3] == 0  # gold never learnt 'down'
    losses = explore.subset_losses(result, "original")
    assert {k: len(v) for k, v in losses.items()} == {
        k: len(v) for k, v in explore.positions(result).items()
    }
    s = explore.embedding_sample(result, max_points=40)
    assert (
        s["before"].shape == s["after"].shape
        and s["forget"].any()
        and len(s["hover"]) == len(s["labels"])
    )
    choices = explore.clip_choices(result, "test", limit=8)
    assert len(choices) == 8 and "'down'" in choices[0][0]
    probs = explore.clip_probs(result, int(choices[0][1]))
    assert set(probs) == {"original", "unlearned", "retrain"} and np.isclose(
        probs["retrain"].sum(), 1
    )


def test_membership_and_verdict(tiny_ctx, result):
    pos = int(result.split.forget[0])  # a 'down' training clip
    probs = explore.clip_probs(result, pos)
    label = int(tiny_ctx.task.y[pos])
    scores = explore.membership_scores(result, tiny_ctx, probs, label)
    assert all(0 <= v <= 1 for v in scores.values())
    assert scores["original"] > scores["retrain"]  # trained on vs never seen
    text = explore.verdict(
        {**probs, "unlearned": probs["retrain"]}, label, tiny_ctx.task.class_names
    )
    assert text.startswith("No longer recognised as 'down'")
    text = explore.verdict(
        {"original": probs["original"], "unlearned": probs["original"]},
        label,
        tiny_ctx.task.class_names,
    )
    assert text.startswith("Still recognised as 'down' with")


def test_outputs(tmp_path, result):
    import json

    from speechforget import report

    rep = json.loads(report.write(report.build(result), tmp_path / "r.json").read_text())
    assert rep["class_names"] == ["yes", "no", "up", "down"] and "unlearned_model_spec" in rep
    path = report.write_model(result, tmp_path / "m")
    assert path.suffix == ".safetensors" and path.exists()
    assert "MIA" in report.summary(report.build(result))
