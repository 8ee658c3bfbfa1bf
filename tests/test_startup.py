"""The first minute: progress of the data build, the app's start-up in the background
(the page is built before the data, Run enabled when it is ready), one gold retrain however
many ask at once, and the shipped class golds of the built-in keyword task."""

from __future__ import annotations

import json
import threading

import pytest

from speechforget import progress


def test_progress_lines_are_relayed_and_others_kept():
    heard = []
    with progress.listening(lambda stage, f: heard.append((stage, f))):
        assert progress.relay(progress.child_line("building the built-in data", 0.25)) is None
        assert progress.relay("a warning\n") == "a warning\n"
        progress.report("loading", None)
        progress.report("over", 1.7)  # clipped to 0..1
    progress.report("nobody listens", 0.5)
    assert heard == [("building the built-in data", 0.25), ("loading", None), ("over", 1.0)]


def test_the_data_build_reports_its_progress(tmp_path):
    from speechforget.data.synthetic import BUILD_STAGE, SynthConfig, build_synthetic

    heard = []
    with progress.listening(lambda stage, f: heard.append((stage, f))):
        build_synthetic(SynthConfig.small(seed=5), tmp_path)
    fractions = [f for stage, f in heard if stage == BUILD_STAGE]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert len(fractions) >= 5 and fractions == sorted(fractions)  # per speaker, in order
    heard.clear()
    with progress.listening(lambda stage, f: heard.append((stage, f))):
        build_synthetic(SynthConfig.small(seed=5), tmp_path)  # from the cache: no build
    assert not heard


class _SlowContexts:
    """A context provider that reports progress and waits until released."""

    def __init__(self, ctx, fail: bool = False):
        self.ctx, self.fail = ctx, fail
        self.release, self.calls = threading.Event(), 0

    def __call__(self, task, backbone="cnn", data="synthetic"):
        self.calls += 1
        progress.report("building the built-in data", 0.4)
        assert self.release.wait(30)
        if self.fail:
            raise RuntimeError("disk full")
        return self.ctx


def test_page_waits_for_the_start_up_then_enables_run(tiny_ctx):
    from speechforget.ui.app import App
    from speechforget.ui.startup import Preparation

    lines = []
    slow = _SlowContexts(tiny_ctx)
    app = App.create(slow, umap_wait_s=0)
    app.startup = Preparation(app.ctx, ("kws",), write=lines.append)
    page = app.page_ready()
    status, run = next(page)  # starts the preparation, which waits in the provider
    assert "Preparing" in status and "building the built-in data: 40%" in status
    assert run["interactive"] is False
    assert any("building the built-in data: 40%" in ln for ln in lines)  # the terminal
    slow.release.set()
    *_, (status, run) = list(page)
    assert "Ready" in status and run["interactive"] is True
    assert app.startup.ready.is_set() and "ready in" in app.startup.line()
    assert any("Run is enabled" in ln for ln in lines)
    # a page opened later: Run enabled at once, the status left alone
    ((status, run),) = list(app.page_ready())
    assert run["interactive"] is True and status["__type__"] == "update" and len(status) == 1
    assert slow.calls == 1


def test_a_failed_start_up_is_said_and_run_still_answers(tiny_ctx):
    from speechforget.ui.app import App
    from speechforget.ui.startup import Preparation

    slow = _SlowContexts(tiny_ctx, fail=True)
    slow.release.set()
    app = App.create(slow, umap_wait_s=0)
    app.startup = Preparation(app.ctx, ("kws",), write=lambda line: None)
    *_, (status, run) = list(app.page_ready())
    assert "could not prepare" in status and "disk full" in status
    assert run["interactive"] is True


def test_the_page_is_built_before_the_built_in_data(monkeypatch):
    """build_demo with the built-in data loads nothing: the keyword labels are known, the
    data is built after the page is served; Run starts disabled."""
    import gradio as gr

    import speechforget.ui.app as app_mod
    import speechforget.ui.layout as layout

    def no_loading(*args, **kwargs):
        raise AssertionError("the page must be built without loading the data")

    monkeypatch.setattr(app_mod, "default_contexts", no_loading)
    monkeypatch.setattr(layout, "default_contexts", no_loading)
    demo = layout.build_demo(warm_umap=False)
    run = next(b for b in demo.blocks.values() if isinstance(b, gr.Button) and b.elem_id == "run")
    assert run.interactive is False
    names = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "forget-names")
    from speechforget.data.dataset import KWS_LABELS

    assert [c[0] for c in names.choices] == list(KWS_LABELS) and names.value == ["stop"]
    assert demo.app_state.startup is not None and not demo.app_state.startup.started


def test_a_gold_asked_for_twice_at_once_is_trained_once(tiny_ctx, tmp_path):
    import dataclasses

    from speechforget.store import Store

    ctx = dataclasses.replace(tiny_ctx, store=Store(tmp_path))
    retain = ctx.task.where("train")[3:]
    golds = [None, None]

    def ask(i):
        golds[i] = ctx.retrain_gold(retain, device="cpu")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    trained = [g for g in golds if g.run is not None]  # retrained now (the other: loaded)
    assert len(trained) == 1, [g.meta.get("time_s") for g in golds]
    a, b = (g.model.state_dict() for g in golds)
    assert all(bool((a[k] == b[k]).all()) for k in a)
    assert len(list((tmp_path / "gold").glob("*.safetensors"))) == 1


def test_every_keyword_the_app_offers_has_a_shipped_class_gold():
    """The class-mode golds of the built-in keyword task ship with the app (made by
    scripts/make_shipped_golds.py): they must match the built-in data and the shipped
    original, or every visitor waits for a retrain again."""
    from pathlib import Path

    from speechforget.data import make_split
    from speechforget.data.synthetic import SynthConfig, build_synthetic
    from speechforget.models import build_model
    from speechforget.training import Trained
    from speechforget.training.gold import SHIPPED, gold_key
    from speechforget.ui import controls

    assets = Path(__file__).resolve().parent.parent / "assets"
    from speechforget.config import default_backbone

    meta = json.loads((assets / f"{default_backbone('kws')}_kws.json").read_text())
    original = Trained(build_model(meta["spec"]), meta)
    task = build_synthetic(SynthConfig(seed=0)).task("kws")  # the session cache
    names = controls.forget_names(task, controls.FORGET_KEYWORDS)
    assert "stop" in names
    for name in names:
        retain = make_split(task, f"class:{name}").retain
        key = gold_key(original, retain, device=None)
        assert (SHIPPED / f"{key}.json").exists(), f"no shipped gold for class:{name}"
        kept = json.loads((SHIPPED / f"{key}.json").read_text())
        assert kept["n_retain"] == len(retain) and kept["data_checksum"] == meta["data_checksum"]


@pytest.mark.parametrize("value", ["1"])
def test_shipped_golds_can_be_hidden(monkeypatch, value, tiny_ctx, tmp_path):
    """SPEECHFORGET_NO_SHIPPED_GOLDS=1 (scripts/measure_app.py --fresh-gold) makes the
    retrain really train."""
    import speechforget.training.gold as gold_mod

    retain = tiny_ctx.task.where("train")[5:]
    key = gold_mod.gold_key(tiny_ctx.original, retain, None)
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    kept = tmp_path / "kept"
    gold = gold_mod.retrain_gold(
        tiny_ctx.original, tiny_ctx.task, tiny_ctx.x, retain, device="cpu", store=kept
    )
    for f in (kept / "gold").iterdir():
        f.rename(shipped / f"{key}{f.suffix}")
    monkeypatch.setattr(gold_mod, "SHIPPED", shipped)
    assert gold_mod.cached_gold(tiny_ctx.original, retain, kept, "cpu")["shipped"]
    monkeypatch.setenv(gold_mod.NO_SHIPPED, value)
    assert gold_mod.cached_gold(tiny_ctx.original, retain, kept, "cpu") is None
    assert gold is not None


def test_built_in_backbones_need_no_hub_in_the_app(monkeypatch):
    """ge2e(-ft) and speechemb(-ft) ship with their packages: picking them offline loads them, it does
    not say the Hub cannot be reached (a transformer backbone still does)."""
    import speechforget.models.hub as hub
    import speechforget.ui.context as context

    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=2.0: False)
    monkeypatch.setattr(context, "prepare", lambda task, backbone, data: (task, backbone))
    for backbone in ("cnn", "ge2e", "ge2e-ft", "speechemb", "speechemb-ft", "speechemb-tuned"):
        assert context.default_contexts("kws", backbone) == ("kws", backbone)
    with pytest.raises(ValueError, match="needs the Hugging Face Hub"):
        context.default_contexts("kws", "wav2vec2-base")


def test_the_served_queue_polls_calmly_and_still_answers():
    """Gradio's queue polls every 1 ms on Linux (4-5% of a core on an idle server, which a
    2-thread training feels more): the app's launch slows its loops, and events still run."""
    import gradio as gr
    from gradio_client import Client
    from ui_support import free_port

    from speechforget.ui import serve

    with gr.Blocks() as demo:
        box = gr.Textbox()
        out = gr.Textbox()
        gr.Button().click(lambda s: s.upper(), box, out, api_name="shout")
    _, url, _ = serve.launch(
        demo, server_name="127.0.0.1", server_port=free_port(), prevent_thread_lock=True, quiet=True
    )
    try:
        assert demo._queue.sleep_when_free == serve.QUEUE_POLL_S
        assert demo._queue.progress_update_sleep_when_free == serve.PROGRESS_POLL_S
        assert Client(url, verbose=False).predict("hi", api_name="/shout") == "HI"
    finally:
        demo.close()
