"""The launched app driven through its API with gradio_client: a whole run (live updates,
figures, then the gold retrain), an upload, bad input, and two isolated visitors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from ui_support import launched_app, write_clips

pytestmark = pytest.mark.usefixtures("tones_pass_the_speech_check")  # tiny data: tones


@pytest.fixture(scope="module")
def app_url(tiny_ctx):
    with launched_app(tiny_ctx) as url:
        yield url


@pytest.fixture(scope="module")
def clips(tmp_path_factory, tiny_ctx):
    return write_clips(tmp_path_factory.mktemp("client_clips"), tiny_ctx)


def run_outputs(client, **changes):
    """Every yielded output tuple of /run (the hyper-parameters keep their defaults)."""
    args = dict(
        backbone="cnn",
        data="synthetic",
        task="kws",
        kind="keywords",
        names=["yes"],
        percent=10,
        method="neggrad_plus",
        superloss=False,
        seed=0,
    )
    args.update(changes)
    job = client.submit(*args.values(), api_name="/run")
    list(job)
    return job.outputs()


def is_plot(v):
    return isinstance(v, dict) and v.get("type") == "plotly" and json.loads(v["plot"])["data"]


def test_whole_run_then_upload(app_url, clips):
    client = Client(app_url, verbose=False)
    outs = run_outputs(client)
    statuses = [o[0] for o in outs if isinstance(o[0], str)]
    assert any("step" in s for s in statuses) and any("Unlearned" in s for s in statuses)
    assert sum(1 for o in outs if is_plot(o[1])) >= 2  # the live curve was streamed
    final = {
        i: v
        for o in outs
        for i, v in enumerate(o)
        if not (isinstance(v, dict) and v.get("__type__") == "update")
    }
    for i in (3, 4, 5):  # confusion, mia, embedding
        assert is_plot(final[i]), i
    assert final[2]["headers"][0] == "metric"

    gold = client.predict(api_name="/gold")
    assert "Done" in gold[0]
    metrics = {r[0]: r for r in gold[2]["data"]}
    assert metrics["Dt accuracy (test)"][3] not in ("-", "…")
    report = gold[7]["value"] if isinstance(gold[7], dict) else gold[7]  # the report download
    assert json.loads(open(report).read())["models"]["retrain"]

    bars, verdict = client.predict(
        handle_file(str(clips["flac"])), "yes", "kws", "cnn", api_name="/predict"
    )
    assert "recognised as 'yes'" in verdict and "Membership score" in verdict
    assert len(json.loads(bars["plot"])["data"]) == 3  # original, unlearned, gold
    audio, clip_bars, caption = client.predict(0, api_name="/play_clip")
    assert caption and is_plot(clip_bars)


def test_bad_input_keeps_the_app_working(app_url, clips):
    client = Client(app_url, verbose=False)
    _, verdict = client.predict(
        handle_file(str(clips["non_audio"])), None, "kws", "cnn", api_name="/predict"
    )
    assert "not readable audio" in verdict
    outs = run_outputs(client, names=["yes", "no", "up", "down"])
    assert "nothing would be retained" in outs[-1][0]
    outs = run_outputs(client, kind="random % of training clips", percent=25)
    assert any(isinstance(o[0], str) and "Unlearned" in o[0] for o in outs)


def test_visitors_do_not_see_each_other(app_url, clips):
    alice, bob = Client(app_url, verbose=False), Client(app_url, verbose=False)
    run_outputs(alice, names=["yes"])
    assert alice.predict(0, api_name="/play_clip")[2]  # clip 0 is in alice's list ...
    with pytest.raises(AppError, match="not in the list of choices"):
        bob.predict(0, api_name="/play_clip")  # ... but bob's session has no clips at all
    _, verdict_b = bob.predict(
        handle_file(str(clips["wav"])), None, "kws", "cnn", api_name="/predict"
    )
    assert "Run an unlearning experiment" in verdict_b  # bob has no unlearned model
    _, verdict_a = alice.predict(
        handle_file(str(clips["wav"])), None, "kws", "cnn", api_name="/predict"
    )
    assert "unlearned" in verdict_a.lower() or "recognised" in verdict_a


def test_your_voice_loop_through_the_api(app_url, tmp_path):
    """Enrol eight takes, train them in, forget them, read the verdict, delete them; a
    second visitor's session sees none of it."""
    from visitor_support import visitor_clip

    from speechforget.data.audio import save_wav

    client = Client(app_url, verbose=False)
    for k in range(8):
        take = save_wav(tmp_path / f"take{k}.wav", visitor_clip("no", k))
        out = client.predict(handle_file(str(take)), "kws", api_name="/add_take")
        assert "kept" in out[0], out  # (message, prompt, recorder): states are not in the API
    import gradio as gr

    uploads = Path(gr.utils.get_upload_folder())  # the server runs in this process
    assert not list(uploads.rglob("take*.wav"))  # Gradio's copies of the takes are gone
    job = client.submit("kws", api_name="/train_in")
    list(job)
    assert "Trained with you" in job.outputs()[-1][0]
    job = client.submit("kws", "random_label", api_name="/forget_me")
    list(job)
    status, _, proof_rows, verdict, metrics = job.outputs()[-1]
    assert "Forgotten" in status and "membership score" in verdict
    assert len(proof_rows["data"]) == 8

    other = Client(app_url, verbose=False)
    job = other.submit("kws", "random_label", api_name="/forget_me")
    list(job)
    assert "first" in job.outputs()[-1][0]  # the other visitor has no model with our voice

    out = client.predict(api_name="/delete_my_recordings")
    assert "Deleted" in out[0]
    job = client.submit("kws", api_name="/train_in")
    list(job)
    assert "first" in job.outputs()[-1][0]
