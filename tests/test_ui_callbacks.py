"""The app's handlers called directly (no server): runs, stop, figures, clips, uploads,
sessions, and every kind of bad input answered with a message."""

from __future__ import annotations

import json

import gradio as gr
import numpy as np
import plotly.graph_objects as go
import pytest
from ui_support import TinyContexts, write_clips

from speechforget.ui import controls, views
from speechforget.ui.app import App
from speechforget.ui.handlers.audit import AUDIT_KEYS, audit_of
from speechforget.ui.handlers.runs import GOLD_KEYS, RUN_KEYS
from speechforget.ui.state import SessionStore

pytestmark = pytest.mark.usefixtures("tones_pass_the_speech_check")  # tiny data: tones

FAST = "neggrad_plus"  # quick on the tiny data, and logs both forget and retain loss


@pytest.fixture(scope="module")
def app(tiny_ctx):
    return App.create(TinyContexts(tiny_ctx), SessionStore(ttl_s=600), projection="pca")


@pytest.fixture(scope="module")
def clips(tmp_path_factory, tiny_ctx):
    return write_clips(tmp_path_factory.mktemp("clips"), tiny_ctx)


def hp(app, mode="class"):
    return [p.default for p in controls.all_params(mode)]


def run_args(
    app,
    sid=None,
    names=("yes",),
    kind=controls.FORGET_KEYWORDS,
    method=FAST,
    percent=10,
    superloss=False,
    seed=0,
    backbone="cnn",
    data="synthetic",
):
    return (
        sid,
        backbone,
        data,
        "kws",
        kind,
        list(names),
        percent,
        method,
        superloss,
        seed,
        *hp(app, controls.mode_of(kind)),
    )


def outputs(gen, keys):
    """Every yield of a handler as {key: value}."""
    return [dict(zip(keys, out)) for out in gen]


def last(outs, key):
    """The last value a handler gave for `key` (skips left untouched)."""
    vals = [o[key] for o in outs if not _is_skip(o[key])]
    return vals[-1] if vals else None


def _is_skip(v):
    return isinstance(v, dict) and v.get("__type__") == "update" and len(v) == 1


def traces_with_data(fig) -> int:
    fig = fig if isinstance(fig, go.Figure) else go.Figure(fig)
    return sum(
        1
        for t in fig.data
        if getattr(t, "x", None) is not None and len(t.x) > 0 or getattr(t, "z", None) is not None
    )


@pytest.fixture(scope="module")
def finished(app):
    """One whole run (unlearning, then gold) of the session 'sid' with its outputs."""
    outs = outputs(app.runs.run(*run_args(app)), RUN_KEYS)
    sid = outs[-1]["session"]
    gold = outputs(app.runs.gold(sid), GOLD_KEYS)
    return sid, outs, gold


# ---- a whole run ----------------------------------------------------------------------------


def test_run_streams_curves_then_figures(finished):
    sid, outs, _ = finished
    assert sid and all(o["session"] == sid for o in outs)
    live = [o for o in outs if not _is_skip(o["loss"])]
    assert len(live) >= 2, "the loss curve is updated while the run goes"
    assert traces_with_data(live[-1]["loss"]) >= 2  # forget and retain loss
    assert "Unlearned" in last(outs, "status")
    for key in ("confusion", "mia", "embedding"):
        assert traces_with_data(last(outs, key)) >= 2, key
    rows = last(outs, "metrics")
    assert rows[0][0].startswith("Dt accuracy") and rows[0][3] == views.PENDING  # gold pending
    assert any("MIA" in r[0] for r in rows)


def test_gold_fills_in_gaps_and_downloads(finished, app):
    sid, outs, gold = finished
    assert "Done" in last(gold, "status")
    rows = last(gold, "metrics")
    by_name = {r[0]: r for r in rows}
    assert by_name["Dt accuracy (test)"][3] not in ("-", views.PENDING)
    assert by_name["avg |gap| (Dt, Df, Dr, MIA)"][4] not in ("-", views.PENDING)
    assert "compute" in by_name["wall time (s)"][4]  # the compute ratio beside the wall clock's
    assert "Speed: compute ratio" in last(gold, "status")
    confusion = last(gold, "confusion")
    assert sum(1 for t in confusion.data if t.type == "heatmap") == 3  # original, unlearned, gold
    report = json.loads(open(last(gold, "report")["value"]).read())
    assert {"original", "unlearned", "retrain"} <= set(report["models"])
    assert report["gap_to_retrain"]["avg"] is not None

    from speechforget.models import load_checkpoint

    path = last(outs, "checkpoint")["value"]
    assert path.endswith(".safetensors")
    model, meta = load_checkpoint(path)
    assert model.num_classes == 4 and meta["class_names"] == ["yes", "no", "up", "down"]
    runs = last(gold, "runs")
    assert len(runs) == 1 and runs[0][3] == FAST and runs[0][9] != views.PENDING


def test_runs_table_compares_runs_of_a_session(app, finished):
    sid, _, _ = finished
    outs = outputs(
        app.runs.run(*run_args(app, sid=sid, kind=controls.FORGET_RANDOM, percent=20)), RUN_KEYS
    )
    outputs(app.runs.gold(sid), GOLD_KEYS)
    sess = app.store.peek(sid)
    assert len(sess.rows) == 2 and sess.rows[1][2] == "sample:20"
    assert traces_with_data(last(outs, "embedding")) >= 1


def test_audit_panel_fills_in_after_the_run_then_the_gold(app, finished):
    """After the unlearning run: the loss attack, the riskiest clips by P(member), the probe;
    the reference and relearning attacks wait for the gold. After the gold: all of them."""
    sid, outs, gold = finished
    assert "need the gold model (the gold retrain runs next" in last(outs, "audit_summary")
    assert last(outs, "audit_attack")["value"] == "loss"
    assert "loss attack" in last(outs, "audit_rates") and "of 18) |" in last(outs, "audit_rates")
    risky = last(outs, "audit_risky")
    assert risky.count("<audio") == 5 and "P(member) of the paper's loss attack" in risky
    assert traces_with_data(last(outs, "audit_classes")) == 4  # original, unlearned x Dt, Df
    after = {k: last(gold, k) for k in AUDIT_KEYS}
    assert "needs the gold" not in after["audit_summary"]
    assert after["audit_attack"]["value"] == "reference" and after["audit_threshold"]["value"] == 0
    assert "ranked by the reference score" in after["audit_risky"]
    assert after["audit_risky"].count("<audio") == 5 and "ref " in after["audit_risky"]
    assert {t.name for t in after["audit_relearn"].data if t.name} == {
        "unlearned",
        "gold (retrained)",
    }
    # 'yes' has 18 forget and 6 test clips: a note instead of ROC curves, counts in the read-out
    roc = after["audit_roc"]
    assert any("too few clips" in a.text.replace("<br>", " ") for a in roc.layout.annotations)
    assert "of 6) |" in after["audit_rates"] and "read the counts" in after["audit_rates"]
    # the slider: another threshold, other rates (of the session's latest run: other tests
    # of this module run more in the same session)
    low, _ = app.audit.threshold(sid, "reference", -5.0)
    high, _ = app.audit.threshold(sid, "reference", 5.0)
    assert low != high and "> -5.00 nats" in low and "> +5.00 nats" in high
    n = audit_of(app.store.peek(sid))
    gold_row = f"| gold (retrained) | 0% (0 of {n.n_forget}) | 0% (0 of {n.n_test}) |"
    assert gold_row in high  # the gold's reference scores are all 0
    bar, rates, _ = app.audit.attack(sid, "loss")
    assert bar["minimum"] < bar["value"] < bar["maximum"] and "loss <" in rates
    assert "number" in app.audit.threshold(sid, "loss", "abc")[0]
    assert app.audit.show(None)[0].startswith("Run an experiment")


def test_confusion_subset_and_play_clip(app, finished):
    sid, outs, _ = finished
    for subset in ("forget", "retain", "test"):
        assert traces_with_data(app.results.confusion(sid, subset)) >= 2
    clips = app.results.clip_list(sid, "test")
    first = clips["choices"][0]
    assert "'yes'" in first[0]  # the forgotten keyword's test clips come first
    (sr, audio), fig, caption = app.results.play_clip(sid, first[1])
    assert sr == 16000 and audio.dtype == np.int16 and len(audio) == 16000
    assert len(fig.data) >= 2 and "test set" in caption
    assert "recognised" in caption.lower() or "hears" in caption


def test_upload_predicts_before_and_after(app, finished, clips):
    sid, _, _ = finished
    for fmt in ("wav", "flac", "ogg", "mp3"):
        if fmt not in clips:
            continue
        fig, text = app.voice.predict_upload(sid, str(clips[fmt]), "yes", "kws")
        assert len(fig.data) == 3, fmt  # original, unlearned, gold
        assert "recognised as 'yes'" in text and "Membership score" in text, (fmt, text)
    fig, text = app.voice.predict_upload(
        sid, str(clips["wav"]), "(as the original model hears it)", "kws"
    )
    assert "'yes'" in text


def test_upload_before_any_run_uses_the_original(app, clips):
    fig, text = app.voice.predict_upload(None, str(clips["wav"]), None, "kws")
    assert len(fig.data) == 1 and "Run an unlearning experiment" in text
    assert "Membership score" in text


# ---- bad input: a clear message, and the app keeps working ----------------------------------


@pytest.mark.parametrize(
    "bad, words",
    [
        ("empty", "empty"),
        ("silent", "silent"),
        ("corrupt", "not readable"),
        ("non_audio", "not readable"),
        ("oversized", "limit"),
        ("long", "limit is 30"),
        ("nan", "NaN"),
        ("short", "ms long"),
    ],
)
def test_bad_uploads_get_a_message(app, finished, clips, bad, words):
    sid, _, _ = finished
    fig, text = app.voice.predict_upload(sid, str(clips[bad]), None, "kws")
    assert text.startswith("⚠️") and words in text, text


def test_a_good_clip_works_after_bad_ones(app, finished, clips):
    sid, _, _ = finished
    for bad in ("corrupt", "nan", "oversized"):
        app.voice.predict_upload(sid, str(clips[bad]), None, "kws")
    fig, text = app.voice.predict_upload(sid, str(clips["wav"]), None, "kws")
    assert "Membership score" in text and len(fig.data) == 3


def test_no_clip_at_all(app):
    fig, text = app.voice.predict_upload(None, None, None, "kws")
    assert "Record or upload" in text


@pytest.mark.parametrize(
    "args, words",
    [
        (dict(names=()), "nothing to forget"),
        (dict(names=("yes", "no", "up", "down")), "nothing would be retained"),
        (dict(kind=controls.FORGET_SPEAKERS, names=("spk06",)), "unknown speaker"),
        (dict(kind=controls.FORGET_RANDOM, percent=0), "between 0 and 100"),
        (dict(seed="abc"), "seed"),
        (dict(method="retrain", superloss=True), "SuperLoss"),
        (dict(backbone="hubert-base"), "cannot be loaded"),
    ],
)
def test_bad_run_choices_get_a_message(app, args, words):
    outs = outputs(app.runs.run(*run_args(app, **args)), RUN_KEYS)
    assert len(outs) == 1
    assert "Cannot run" in outs[0]["status"] and words in outs[0]["status"], outs[0]["status"]
    sid = outs[0]["session"]
    assert list(app.runs.gold(sid)) and app.store.peek(sid).result is None  # gold does nothing


def test_out_of_range_setting_gets_a_message(app):
    args = list(run_args(app))
    i = next(i for i, p in enumerate(app.params) if p.method == FAST and p.name == "lr")
    args[10 + i] = 5.0  # above the lr's max of 1.0
    outs = outputs(app.runs.run(*args), RUN_KEYS)
    assert "lr must lie between" in outs[0]["status"]


def _forget_cached_golds() -> None:
    """Other tests may have cached this gold retrain; these tests need a real one to stop."""
    import shutil

    from speechforget.store import Store

    shutil.rmtree(Store.default().dir("gold"), ignore_errors=True)


def test_stop_ends_a_run_cleanly_and_the_app_keeps_working(app):
    _forget_cached_golds()
    gen = app.runs.run(*run_args(app, method="retrain", names=("no",)))  # the longest run there is
    sid = None
    for out in gen:
        o = dict(zip(RUN_KEYS, out))
        sid = o["session"]
        if "step" in str(o["status"]):
            assert app.runs.stop(sid)[0].startswith("⏹️")
            assert app.store.peek(sid).idle.is_set()  # Stop answers once the worker has ended
    assert app.store.peek(sid).result.stopped
    assert list(app.runs.gold(sid))  # nothing to retrain after a stop
    outs = outputs(app.runs.run(*run_args(app, sid=sid)), RUN_KEYS)  # a new run works
    assert "Unlearned" in last(outs, "status")


def test_audit_says_when_the_gold_retrain_was_stopped(app):
    _forget_cached_golds()
    outs = outputs(app.runs.run(*run_args(app, names=("up",))), RUN_KEYS)
    sid = outs[-1]["session"]
    gold = app.runs.gold(sid)
    next(gold)  # the gold retrain has begun
    app.runs.stop(sid)
    outputs(gold, GOLD_KEYS)
    panel = dict(zip(AUDIT_KEYS, app.audit.show(sid)))  # the Stop button's follow-up
    assert "need the gold model (the gold retrain was stopped)" in panel["audit_summary"]
    assert panel["audit_risky"].count("<audio") == 5 and panel["audit_attack"]["value"] == "loss"
    assert "stopped" in app.audit.threshold(sid, "reference", 0.0)[0]


def test_a_late_stop_leaves_the_next_run_alone(app):
    """Stop pressed during run N but reaching the server after run N+1 began (CI saw this:
    the new run ended at once) must neither stop run N+1 nor overwrite its status."""
    first = outputs(app.runs.run(*run_args(app)), RUN_KEYS)
    sid, shown = first[-1]["session"], first[0]["run_id"]
    gen = app.runs.run(*run_args(app, sid=sid, names=("no",)))
    start = dict(zip(RUN_KEYS, next(gen)))
    assert start["run_id"] == shown + 1
    assert _is_skip(app.runs.stop(sid, shown)[0])  # the Stop of the run the page showed before
    assert not app.store.peek(sid).stop.is_set()
    outs = [start, *outputs(gen, RUN_KEYS)]
    assert "Unlearned" in last(outs, "status") and not app.store.peek(sid).result.stopped
    assert app.runs.stop(sid, shown + 1)[0].startswith("⏹️") and app.store.peek(sid).stop.is_set()


def test_closing_the_stream_stops_the_worker(app):
    """Gradio's cancel closes the generator: the run's stop flag must be set."""
    _forget_cached_golds()
    gen = app.runs.run(*run_args(app, method="retrain", names=("up",)))
    sid = None
    for out in gen:
        sid = dict(zip(RUN_KEYS, out))["session"]
        if "step" in str(out[1]):
            break
    gen.close()
    assert app.store.peek(sid).stop.is_set()


# ---- sessions -------------------------------------------------------------------------------


def test_sessions_are_isolated(app, finished):
    sid, _, _ = finished
    other_sid, other = app.store.get(None)
    assert other_sid != sid and other.result is None and other.folder != app.store.peek(sid).folder
    audio, fig, caption = app.results.play_clip(other_sid, 0)
    assert audio is None and "Run an experiment" in caption
    assert app.results.clip_list(other_sid, "forget")["choices"] == []


def test_store_expires_and_bounds_sessions(tmp_path):
    store = SessionStore(ttl_s=0.0, capacity=2)
    sid, sess = store.get(None)
    folder = sess.folder
    store.get(None)  # the first one has expired (ttl 0) and is swept
    assert store.peek(sid) is None and not folder.exists()
    store = SessionStore(ttl_s=100, capacity=2)
    ids = [store.get(None)[0] for _ in range(3)]
    assert len(store) == 2 and store.peek(ids[0]) is None
    store.drop(ids[1])
    assert len(store) == 1


# ---- the control panel ------------------------------------------------------------------------


def test_task_and_kind_changes(app):
    kind, names, said, note = app.controls.on_task("sid", "cnn")
    assert kind["value"] == controls.FORGET_SPEAKERS and names["choices"][0].startswith("spk")
    assert said["choices"][1].startswith("spk") and note == ""
    names, percent, *defaults = app.controls.on_kind("kws", "cnn", controls.FORGET_RANDOM)
    assert names["visible"] is False and percent["visible"] is True
    assert len(defaults) == len(app.params)
    names, percent, *_ = app.controls.on_kind("kws", "cnn", controls.FORGET_SPEAKERS)
    assert names["value"] == ["spk00"] and percent["visible"] is False
    kind, names, said, note = app.controls.on_task("kws", "hubert-base")
    assert "cannot be loaded" in note


def test_a_new_task_brings_its_default_backbone_unless_one_was_chosen(app):
    from speechforget.config import default_backbone

    assert default_backbone("kws") == "speechemb-tuned" and default_backbone("sid") == "cnn"
    backbone, kind, names, said, note = app.controls.on_task_and_backbone("sid", "speechemb-tuned")
    assert backbone["value"] == "cnn" and kind["value"] == controls.FORGET_SPEAKERS
    assert note == app.controls.on_backbone("cnn")
    backbone, *_ = app.controls.on_task_and_backbone("kws", "cnn")
    assert backbone["value"] == "speechemb-tuned"
    backbone, *_, note = app.controls.on_task_and_backbone("kws", "hubert-base")  # chosen
    assert backbone["value"] == "hubert-base" and "cannot be loaded" in note


def test_data_set_choices_and_notes(app, monkeypatch, tmp_path):
    monkeypatch.setenv("SPEECHFORGET_DATA", f"voxceleb:{tmp_path}, hub:{tmp_path}")
    values = [v for _, v in controls.data_choices()]
    assert values == ["synthetic", "hub:", f"voxceleb:{tmp_path}", f"hub:{tmp_path}"]
    assert controls.needs_hub("hub:") and controls.needs_hub("hub:google/speech_commands")
    assert not controls.needs_hub(f"hub:{tmp_path}") and not controls.needs_hub("synthetic")
    assert "offline" in app.controls.on_data("synthetic")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    note = app.controls.on_data("hub:")
    assert "cannot be reached" in note and "SPEECHFORGET_DATA" in note and "--data" in note
    # the tiny provider loads only the built-in data: the error reaches the data note
    kind, names, said, note = app.controls.on_data_set("kws", "cnn", f"voxceleb:{tmp_path}")
    assert "cannot be loaded" in note and names["choices"] == []
    bad = outputs(app.runs.run(*run_args(app, data=f"voxceleb:{tmp_path}")), RUN_KEYS)
    assert "Cannot run" in last(bad, "status") and "cannot be loaded" in last(bad, "status")


def test_default_provider_explains_offline_hub_data(monkeypatch):
    from speechforget.ui.context import default_contexts

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="data set 'hub:' needs the Hugging Face Hub.*--data hub:"):
        default_contexts("kws", "cnn", "hub:")
    with pytest.raises(ValueError, match="backbone 'hubert-base'.*--checkpoint"):
        default_contexts("kws", "hubert-base")


def test_speaker_identification_run(app):
    args = (
        None,
        "cnn",
        "synthetic",
        "sid",
        controls.FORGET_SPEAKERS,
        ["spk01"],
        10,
        FAST,
        False,
        0,
        *hp(app),
    )
    outs = outputs(app.runs.run(*args), RUN_KEYS)
    assert "Unlearned" in last(outs, "status")
    assert last(outs, "runs")[-1][2] == "class:spk01"
    assert "Audit of `class:spk01`" in last(outs, "audit_summary")
    assert last(outs, "audit_risky").count("<audio") == 5  # a speaker's forget clips play


def test_offline_backbone_note(app, monkeypatch):
    import speechforget.models.hub as hub

    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=3.0: False)
    assert "cannot be reached" in app.controls.on_backbone("whisper-tiny")
    assert "offline" in app.controls.on_backbone("cnn")
    for name in ("ge2e", "ge2e-ft"):  # the other built-in backbones: offline, in the list
        assert "offline" in app.controls.on_backbone(name) and "GE2E" in app.controls.on_backbone(
            name
        )
        assert name in [value for _, value in controls.backbone_choices()]
    note = app.controls.on_backbone("speechemb")
    assert "offline" in note and "speech embedding" in note
    assert "speechemb" in [value for _, value in controls.backbone_choices()]


def test_method_settings_come_from_the_registry():
    names = [n for _, n in controls.method_choices()]
    assert "retrain" in names and "none" in names
    from speechforget.methods import METHODS

    assert set(METHODS) <= set(names)
    for name in METHODS:
        for p in controls.method_params(name, "class"):
            assert p.help, (name, p.name)
    sl = [p for p in controls.all_params() if p.method == ""]
    assert {p.name for p in sl} >= {"sl_lambda"}
    p = controls.Param("x", "epochs", "int", 2, "", 1, 10)
    assert controls.cast_param(p, 3.0) == 3
    with pytest.raises(ValueError, match="between 1 and 10"):
        controls.cast_param(p, 11)


def test_forget_spec_strings():
    assert (
        controls.forget_spec("kws", controls.FORGET_KEYWORDS, ["stop", "go"], None)
        == "class:stop,go"
    )
    assert controls.forget_spec("kws", controls.FORGET_SPEAKERS, ["spk03"], None) == "speaker:spk03"
    assert controls.forget_spec("sid", controls.FORGET_SPEAKERS, ["spk03"], None) == "class:spk03"
    assert controls.forget_spec("kws", controls.FORGET_RANDOM, [], 5) == "sample:5"
    with pytest.raises(ValueError, match="nothing to forget"):
        controls.forget_spec("kws", controls.FORGET_KEYWORDS, [], None)


def test_zerogpu_path_hands_back_picklable_cpu_data(tiny_ctx, monkeypatch):
    """On ZeroGPU each phase runs in a spaces.GPU worker whose arguments and events are
    pickled; simulate that (with a pickle round trip) on the CPU."""
    import pickle
    from types import SimpleNamespace

    from speechforget.ui import zerogpu

    durations = []

    def gpu(duration):
        def wrap(fn):
            def in_worker(*args):
                args = pickle.loads(pickle.dumps(args))
                durations.append(duration(*args))
                for event in fn(*args):
                    yield pickle.loads(pickle.dumps(event))

            return in_worker

        return wrap

    monkeypatch.setattr(zerogpu, "spaces", SimpleNamespace(GPU=gpu))
    monkeypatch.setenv("SPACES_ZERO_GPU", "1")
    contexts = TinyContexts(tiny_ctx)
    app = App.create(contexts, SessionStore(), zerogpu.make_runner(contexts), projection="pca")
    outs = outputs(app.runs.run(*run_args(app, names=("down",))), RUN_KEYS)
    assert "Unlearned" in last(outs, "status") and traces_with_data(last(outs, "confusion")) >= 2
    sid = outs[-1]["session"]
    gold = outputs(app.runs.gold(sid), GOLD_KEYS)
    assert "Done" in last(gold, "status") and durations == [60, 120]
    fig, text = app.voice.predict_upload(sid, None, None, "kws")
    assert "Record or upload" in text
    bad = outputs(
        app.runs.run(*run_args(app, names=())), RUN_KEYS
    )  # checked before asking for a GPU
    assert "nothing to forget" in bad[0]["status"] and len(durations) == 2


def test_a_new_run_supersedes_the_previous_gold_retrain(app):
    outs = outputs(app.runs.run(*run_args(app, names=("up", "down"))), RUN_KEYS)
    sid = outs[-1]["session"]
    gold = app.runs.gold(sid)
    first = dict(zip(GOLD_KEYS, next(gold)))  # the old run's gold retrain has begun
    assert "Gold retrain" in str(first["status"]) or _is_skip(first["status"])
    outputs(app.runs.run(*run_args(app, sid=sid, names=("no",))), RUN_KEYS)  # a new run meanwhile
    late = outputs(gold, GOLD_KEYS)  # the old retrain stops and writes nothing
    assert not any("Done" in str(o["status"]) for o in late)
    assert app.store.peek(sid).result.config.forget == "class:no"


def test_choice_settings_are_dropdowns_with_mode_defaults():
    from speechforget.ui.tabs.controls_panel import param_widget

    sample = {p.name: p for p in controls.method_params("random_label", "sample")}
    klass = {p.name: p for p in controls.method_params("random_label", "class")}
    opt = sample["optimizer"]
    assert opt.choices == ("adamw", "sgd") and isinstance(param_widget(opt), gr.Dropdown)
    assert (opt.default, klass["optimizer"].default) == ("sgd", "adamw")
    with pytest.raises(ValueError, match="adamw, sgd"):
        controls.cast_param(opt, "adam")


def test_a_provisional_map_is_redrawn_after_the_gold(tiny_ctx, monkeypatch):
    """A PCA map drawn while UMAP still warms up is redrawn once the gold retrain is done."""
    from speechforget import viz

    now = {"used": "PCA (UMAP still warming up)", "status": "warming"}
    monkeypatch.setattr(viz, "project_2d", lambda b, a, *_: (b[:, :2], a[:, :2], now["used"]))
    monkeypatch.setattr(viz, "projection_status", lambda: now["status"])
    app = App.create(TinyContexts(tiny_ctx), SessionStore(), projection="auto")
    outs = outputs(app.runs.run(*run_args(app, names=("down",))), RUN_KEYS)
    sid = outs[-1]["session"]
    assert app.store.peek(sid).projection.provisional
    now.update(used="UMAP", status="ready")
    gold = outputs(app.runs.gold(sid), GOLD_KEYS)
    assert "(UMAP)" in last(gold, "embedding").layout.annotations[0].text
    assert not app.store.peek(sid).projection.provisional


def test_a_map_still_computing_comes_from_the_map_event(tiny_ctx, monkeypatch):
    """Run draws PCA while UMAP's fit runs (the train queue is not held for it); the map
    event then draws UMAP's map once, and leaves a newer run's map alone."""
    from speechforget import viz

    now = {"used": viz.UMAP_COMPUTING}
    waits = []

    def project(b, a, seed, method, wait_s, fit_wait_s=None):
        waits.append(fit_wait_s)
        return b[:, :2], a[:, :2], now["used"]

    monkeypatch.setattr(viz, "project_2d", project)
    monkeypatch.setattr(viz, "projection_status", lambda: "ready")
    app = App.create(TinyContexts(tiny_ctx), SessionStore(), projection="auto")
    outs = outputs(app.runs.run(*run_args(app, names=("down",))), RUN_KEYS)
    sid = outs[-1]["session"]
    assert "UMAP still computing" in last(outs, "embedding").layout.annotations[0].text
    assert waits == [app.ctx.settings.umap_fit_wait_s]
    assert app.store.peek(sid).projection.provisional
    now["used"] = "UMAP"
    fig = app.runs.map(sid)
    assert "(UMAP)" in fig.layout.annotations[0].text
    assert not app.store.peek(sid).projection.provisional
    assert app.runs.map(sid) == gr.skip()  # final already: nothing to redraw
    # a newer run while the map waited: its map is not replaced by the old run's
    now["used"] = viz.UMAP_COMPUTING
    outputs(app.runs.run(*run_args(app, sid=sid, names=("up",))), RUN_KEYS)
    sess = app.store.peek(sid)

    def newer_run_meanwhile(b, a, *args):
        sess.new_run()
        return b[:, :2], a[:, :2], "UMAP"

    monkeypatch.setattr(viz, "project_2d", newer_run_meanwhile)
    assert app.runs.map(sid) == gr.skip()


@pytest.mark.parametrize(("which", "moves_the_bar"), [("unlearned", True), ("retrain", False)])
def test_streaming_a_phase_paces_updates_and_leaves_gradio_progress_to_the_run(
    tmp_path, which, moves_the_bar
):
    """Every step lands in the session's log; the first and then at most one update per
    push interval go out, each with the status line; a gold retrain sends no progress
    messages (the browser redraws each), the unlearning run does; Done returns its result."""
    from speechforget.engine import StepLog
    from speechforget.runs import Done, Step
    from speechforget.ui.handlers import streaming
    from speechforget.ui.state import Session

    sess = Session(tmp_path)
    sess.runs = 1
    logs = [StepLog(i, 0, 0.5, 0.4, 0.01 * i, total_steps=5) for i in range(1, 6)]
    events = (e for e in [*(Step(which, log) for log in logs), Done("the result")])
    bar = []
    gen = streaming.stream(sess, events, lambda *a, **k: bar.append(a), dict, which, 1)
    sent = []
    with pytest.raises(StopIteration) as end:
        while True:
            sent.append(next(gen))
    assert end.value.value == "the result"
    assert [h["step"] for h in sess.history[which]] == [1, 2, 3, 4, 5]
    assert 1 <= len(sent) < 5 and all("status" in u for u in sent)  # steps come faster
    assert "step 1/5" in sent[0]["status"] and "loss" in sent[0]
    assert bool(bar) is moves_the_bar


def test_a_whole_run_in_the_app_with_the_speech_embedding_backbone(builtin_ctx, clips):
    """speechemb picked in the app: the run, its figures (the map of its 2,048-d features),
    the gold, the audit and a visitor's upload, as with the CNN."""

    class Provider:
        def __call__(self, task: str, backbone: str = "cnn", data: str = "synthetic"):
            assert (task, backbone, data) == ("kws", "speechemb", "synthetic")
            return builtin_ctx("speechemb")

    app = App.create(Provider(), SessionStore(ttl_s=600), projection="pca")
    outs = outputs(app.runs.run(*run_args(app, backbone="speechemb")), RUN_KEYS)
    assert "Unlearned" in last(outs, "status")
    for key in ("confusion", "mia", "embedding"):
        assert traces_with_data(last(outs, key)) >= 2, key
    sid = outs[-1]["session"]
    gold = outputs(app.runs.gold(sid), GOLD_KEYS)
    assert "Done" in last(gold, "status")
    by_name = {r[0]: r for r in last(gold, "metrics")}
    assert by_name["avg |gap| (Dt, Df, Dr, MIA)"][4] not in ("-", views.PENDING)
    assert "Audit of `class:yes`" in last(gold, "audit_summary")
    fig, text = app.voice.predict_upload(sid, str(clips["wav"]), "yes", "kws")
    assert len(fig.data) == 3 and "Membership score" in text
