"""The core the app uses: the step-wise pipeline streamed as typed events (speechforget.runs),
detach/attach across a process boundary (speechforget.portable), the RunView the UI reads
(speechforget.runview) and one visitor's clip (speechforget.clip_check)."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from speechforget import clip_check, portable, runs
from speechforget.config import ExperimentConfig
from speechforget.pipeline import gold_step, run_experiment, start_experiment, unlearn_step
from speechforget.runs import Done, Error, Step
from speechforget.runview import embedding_sample, run_view


@pytest.fixture(scope="module")
def result(tiny_ctx):
    cfg = ExperimentConfig(forget="class:down", method="none")
    events = list(runs.unlearn_events(cfg, tiny_ctx))
    assert isinstance(events[-1], Done)
    res = events[-1].result
    events = list(runs.gold_events(res))
    assert sum(isinstance(e, Step) for e in events) >= 1 and isinstance(events[-1], Done)
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
        runs.unlearn_events(ExperimentConfig(forget="class:yes,no,up,down"), tiny_ctx)


def test_stream_stops_when_closed():
    stop, seen = threading.Event(), []

    def work(on_step):
        for i in range(10_000):
            seen.append(i)
            if on_step("unlearned", i):
                return "stopped"
            threading.Event().wait(0.001)
        return "finished"

    gen = runs.stream(work, stop)
    assert isinstance(next(gen), Step)
    gen.close()
    assert stop.is_set() and len(seen) < 10_000


def test_stream_reports_errors():
    def work(on_step):
        raise ValueError("boom")

    assert isinstance(list(runs.stream(work))[-1], Error)


def test_detach_attach_round_trip(tiny_ctx, result):
    import pickle

    state = pickle.loads(pickle.dumps(portable.detach(result)))
    back = portable.attach(state, tiny_ctx)
    x = run_view(result).clip_audio(0)[1].astype(np.float32) / 32768
    a = clip_check.wave_probs(clip_check.result_models(result, tiny_ctx), tiny_ctx, x)
    b = clip_check.wave_probs(clip_check.result_models(back, tiny_ctx), tiny_ctx, x)
    for k in a:
        assert np.allclose(a[k], b[k], atol=1e-5)


def test_views(tiny_ctx, result):
    view = run_view(result)
    assert list(view.models) == ["original", "unlearned", "retrain"]
    assert view.has_unlearned and view.has_gold
    cm = view.confusions["forget"]["retrain"]
    assert cm.sum() == len(result.split.forget) and cm[3, 3] == 0  # gold never learnt 'down'
    losses = view.losses["original"]
    assert {k: len(v) for k, v in losses.items()} == {k: len(v) for k, v in view.positions.items()}
    s = embedding_sample(result, max_points=40)
    assert s.before.shape == s.after.shape and s.forget.any() and len(s.hover) == len(s.labels)
    choices = view.clip_choices("test", limit=8)
    assert len(choices) == 8 and "'down'" in choices[0][0]
    probs = view.clip_probs(int(choices[0][1]))
    assert set(probs) == {"original", "unlearned", "retrain"} and np.isclose(
        probs["retrain"].sum(), 1
    )


def test_membership_and_verdict(tiny_ctx, result):
    pos = int(result.split.forget[0])  # a 'down' training clip
    probs = run_view(result).clip_probs(pos)
    label = int(tiny_ctx.task.y[pos])
    scores = clip_check.membership_scores(result, tiny_ctx, probs, label)
    assert all(0 <= v <= 1 for v in scores.values())
    assert scores["original"] > scores["retrain"]  # trained on vs never seen
    text = clip_check.verdict(
        {**probs, "unlearned": probs["retrain"]}, label, tiny_ctx.task.class_names
    )
    assert text.startswith("No longer recognised as 'down'")
    text = clip_check.verdict(
        {"original": probs["original"], "unlearned": probs["original"]},
        label,
        tiny_ctx.task.class_names,
    )
    assert text.startswith("Still recognised as 'down' with")


def test_outputs(tmp_path, result):
    import json

    from speechforget import report, report_text

    rep = json.loads(report.write(report.build(result), tmp_path / "r.json").read_text())
    assert rep["class_names"] == ["yes", "no", "up", "down"] and "unlearned_model_spec" in rep
    path = report.write_model(result, tmp_path / "m")
    assert path.suffix == ".safetensors" and path.exists()
    assert "MIA" in report_text.summary(report.build(result))


def test_check_clip_with_and_without_a_run(tiny_ctx, result, tones_pass_the_speech_check):
    wave = run_view(result).clip_audio(0)[1].astype(np.float32) / 32768  # a 'yes' clip
    alone = clip_check.check_clip(wave, "yes", None, tiny_ctx)
    assert set(alone.probs) == {"original"} and alone.label == 0
    assert "Run an unlearning experiment" in alone.verdict and set(alone.scores) == {"original"}
    run = clip_check.check_clip(wave, "(not a class)", result)  # judged by what the original hears
    assert set(run.probs) == {"original", "unlearned", "retrain"} == set(run.scores)
    assert run.label == int(run.probs["original"].argmax())


def test_background_work_waits_until_no_phase_has_run_for_a_while():
    """wait_quiet: False while a phase's worker runs (it timed out), True once none has run
    for quiet_s seconds."""
    release = threading.Event()
    events = runs.stream(lambda on_step: release.wait(10))
    next(events)  # the worker runs: a Tick after poll_s
    assert runs.wait_quiet(0.05, timeout_s=0.3) is False
    release.set()
    assert any(isinstance(e, runs.Done) for e in events)
    t0 = time.monotonic()
    assert runs.wait_quiet(0.2, timeout_s=5.0) is True
    assert time.monotonic() - t0 >= 0.15  # it waited for the quiet spell after the end
