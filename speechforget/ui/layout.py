"""The page: controls on the left, live curves and results on the right, then figures,
play-and-predict, the audit, your own clip, and this session's runs. `build_demo` composes the
panels of ui/tabs and wires their events to the handlers of ui/app.App; `launch`
serves it. Nothing is launched at import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import gradio as gr

from speechforget.data.dataset import KWS_LABELS
from speechforget.ui import zerogpu
from speechforget.ui.app import App
from speechforget.ui.context import ContextProvider, default_contexts
from speechforget.ui.handlers.audit import AUDIT_KEYS
from speechforget.ui.handlers.runs import GOLD_KEYS, RUN_KEYS
from speechforget.ui.startup import Preparation
from speechforget.ui.state import SessionStore
from speechforget.ui.tabs import audit, controls_panel, enrol, figures, live, play, runs, voice
from speechforget.ui.tabs.controls_panel import ControlsPanel

INTRO = """# 🧽 SpeechForget: make a speech model forget, and check what it really forgot
Pick a keyword or a speaker (or a random share of the training clips) to **forget**, pick an
**unlearning method**, press **Run**. The loss curves stream live; then the unlearned model is
compared with the **original** and with a **gold model retrained from scratch** without the
forgotten clips, the yardstick unlearning is judged by. Record or upload your own clip to see
whether the model still recognises it."""
TRAIN = dict(show_progress="minimal", time_limit=900)  # both phases of a run
PRIVATE = dict(api_visibility="private", concurrency_limit=4)  # the panel's own updates


def build_demo(
    contexts: ContextProvider | None = None,
    default_task: str = "kws",
    prefetch: tuple[str, ...] = (),
    warm_umap: bool = True,
    max_runs: int | None = None,
    store: SessionStore | None = None,
    umap_wait_s: float = 1.0,
    projection: str = "auto",
) -> gr.Blocks:
    """The app. `contexts(task, backbone, data) -> pipeline.Context` overrides the built-in data
    (tests pass tiny ones); `prefetch` names other tasks to load in the background after
    launch (they compete with visitors' runs for the CPU, so none by default: a task loads
    when picked); `max_runs` runs at once (default $SPEECHFORGET_MAX_RUNS or 1)."""
    runner = zerogpu.make_runner(contexts or default_contexts)
    app = App.create(contexts, store, runner, umap_wait_s, projection)
    # started by launch() before the page is served (or by the first page load): UMAP's
    # compilation (its own process), the default task's data, model and the original's
    # outputs, plotly's first figures, then the `prefetch` tasks (ui/startup.py)
    app.startup = Preparation(app.ctx, (default_task, *prefetch))
    app.warm_umap = warm_umap
    data = _page_labels(app, default_task, built_in=contexts is None)
    kws_names = data.class_names if default_task == "kws" else None
    with gr.Blocks(title="SpeechForget: machine unlearning for speech") as demo:
        session = gr.State(None, time_to_live=app.store.ttl_s, delete_callback=app.store.drop)
        run_id = gr.State(None)  # the run this page shows: what its Stop button stops
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            panel = controls_panel.build(
                app.controls, data, default_task, app.params, run_enabled=contexts is not None
            )
            shown = live.build()
        figs = figures.build()
        with gr.Tabs():
            play_tab = play.build()
            audit_tab = audit.build()
            enrol_tab = enrol.build(
                session, app.enrol, app.enrol.prompt_for(None, "kws", kws_names)
            )
            voice_tab = voice.build(data.class_names)
            runs_tab = runs.build()
        outs = _outputs(session, run_id, shown, figs, play_tab, runs_tab, audit_tab)
        _wire_run(app, panel, session, run_id, figs.cm_subset, outs, max_runs)
        _wire_controls(app, panel, voice_tab.said)
        _wire_results(app, session, figs, play_tab)
        _wire_audit(app, session, audit_tab)
        _wire_voice(app, session, panel, voice_tab)
        _wire_enrol(app, session, enrol_tab)
        demo.load(
            app.page_ready,
            None,
            [shown.status, panel.run],
            show_progress="hidden",
            concurrency_limit=None,
            api_visibility="private",
        )
    demo.app_state = app  # for tests and scripts: the handlers and the session store
    return demo


@dataclass(frozen=True)
class _Labels:
    """What the page needs of the default task before its data is ready: the names of
    its classes (the keywords, or the speakers of speaker ID)."""

    task: str
    class_names: list[str]


def _page_labels(app: App, task: str, built_in: bool):
    """The default task's class names: the built-in keyword labels need no data (the page
    is served while the data is built); otherwise the task's clips, loaded now."""
    if built_in and task == "kws":
        return _Labels(task, list(KWS_LABELS))
    return app.ctx.context(task).task


def _outputs(
    session, run_id, shown: live.LivePanel, figs, tab: play.PlayTab, runs_tab, audit_tab
) -> dict:
    """The components the run handlers update, by their RUN_KEYS / GOLD_KEYS names."""
    return dict(
        session=session,
        run_id=run_id,
        status=shown.status,
        loss=shown.loss,
        metrics=shown.metrics,
        confusion=figs.confusion,
        mia=figs.mia,
        embedding=figs.embedding,
        clips=tab.pick,
        runs=runs_tab.table,
        report=runs_tab.report,
        checkpoint=runs_tab.checkpoint,
        **audit_tab.outputs(),
    )


def _wire_run(app: App, panel: ControlsPanel, session, run_id, cm_subset, outs, max_runs):
    """Run, then (chained) the gold retrain, and Stop, which cancels both."""
    max_runs = max_runs or int(os.environ.get("SPEECHFORGET_MAX_RUNS", "1"))
    status = outs["status"]
    # runs and gold retrains share one queue ("train", max_runs at once, as the "Your
    # voice" training): torch work never fights over the cores, and every waiting visitor
    # sees its place in the queue and an estimate. Golds are shared across sessions (the
    # disk cache, one retrain per forget set however many ask) and the built-in keyword
    # class golds are shipped, so a gold in the queue is mostly a load and an evaluation.
    run_evt = panel.run.click(
        app.runs.run,
        [session, *panel.run_inputs],
        [outs[k] for k in RUN_KEYS],
        api_name="run",
        concurrency_limit=max_runs,
        concurrency_id="train",
        show_progress_on=[status],
        **TRAIN,
    )
    # the run's embedding map once UMAP has it (when Run drew a provisional PCA map): its
    # own queue, so that waiting for UMAP's worker holds no visitor's training
    run_evt.success(
        app.runs.map,
        [session],
        [outs["embedding"]],
        concurrency_limit=8,
        concurrency_id="maps",
        show_progress="hidden",
        api_visibility="private",
    )
    gold_evt = run_evt.success(
        app.runs.gold,
        [session, cm_subset],
        [outs[k] for k in GOLD_KEYS],
        api_name="gold",
        concurrency_limit=max_runs,
        concurrency_id="train",
        show_progress_on=[status],
        **TRAIN,
    )
    # Run comes back when the stopped run has ended: a Run clicked while the old run's
    # cancellation is still in flight would be swallowed by it
    disable = lambda: gr.update(interactive=False)  # noqa: E731
    panel.stop.click(disable, None, panel.run, queue=False, api_visibility="private")
    panel.stop.click(
        app.runs.stop,
        [session, run_id],
        [status, panel.run],
        cancels=[run_evt, gold_evt],
        api_name="stop",
        concurrency_limit=None,
    ).then(app.audit.show, [session], [outs[k] for k in AUDIT_KEYS], **PRIVATE)


def _wire_controls(app: App, panel: ControlsPanel, said) -> None:
    """The control panel's dependent widgets."""
    h, p = app.controls, panel
    p.task.change(
        h.on_task_and_backbone,
        [p.task, p.backbone, p.data_set],
        [p.backbone, p.kind, p.names, said, p.backbone_note],
        **PRIVATE,
    )
    p.data_set.change(
        h.on_data_set,
        [p.task, p.backbone, p.data_set],
        [p.kind, p.names, said, p.data_note],
        **PRIVATE,
    )
    p.kind.change(
        h.on_kind,
        [p.task, p.backbone, p.kind, p.data_set],
        [p.names, p.percent, *p.settings],
        **PRIVATE,
    )
    methods = list(p.groups)
    p.method.change(
        lambda m: h.on_method(m, methods),
        [p.method],
        [*p.groups.values(), p.method_note],
        **PRIVATE,
    )
    p.superloss.change(h.on_superloss, [p.superloss], [p.superloss_group], **PRIVATE)
    p.backbone.change(h.on_backbone, [p.backbone], [p.backbone_note], **PRIVATE)


def _wire_results(app: App, session, figs: figures.FiguresPanel, tab: play.PlayTab) -> None:
    """The confusion subset and the Play tab."""
    h = app.results
    figs.cm_subset.change(h.confusion, [session, figs.cm_subset], [figs.confusion], **PRIVATE)
    tab.subset.change(h.clip_list, [session, tab.subset], [tab.pick], **PRIVATE)
    tab.pick.change(
        h.play_clip,
        [session, tab.pick],
        [tab.audio, tab.bars, tab.caption],
        api_name="play_clip",
        concurrency_limit=4,
    )


def _wire_audit(app: App, session, tab: audit.AuditTab) -> None:
    """The Audit tab's attack choice and threshold slider (the run handlers fill the rest)."""
    h = app.audit
    tab.attack.input(
        h.attack, [session, tab.attack], [tab.threshold, tab.rates, tab.roc], **PRIVATE
    )
    tab.threshold.change(
        h.threshold,
        [session, tab.attack, tab.threshold],
        [tab.rates, tab.roc],
        trigger_mode="always_last",
        **PRIVATE,
    )


def _wire_voice(app: App, session, panel: ControlsPanel, tab: voice.VoiceTab) -> None:
    """Predict an uploaded clip, or a recording as soon as it stops."""
    gr.on(
        [tab.predict.click, tab.clip.stop_recording],
        app.voice.predict_upload,
        [session, tab.clip, tab.said, panel.task, panel.backbone, panel.data_set],
        [tab.bars, tab.verdict],
        api_name="predict",
        concurrency_limit=4,
    )


def _wire_enrol(app: App, session, tab: enrol.EnrolTab) -> None:
    """The "Your voice" loop: takes in, train it in, forget me, delete."""
    h = app.enrol
    gr.on(
        [tab.recorder.stop_recording, tab.recorder.upload],
        h.add_take,
        [session, tab.recorder, tab.task],
        [session, tab.version, tab.message, tab.prompt, tab.recorder],
        api_name="add_take",
        concurrency_limit=4,
    )
    tab.task.change(h.prompt_for, [session, tab.task], [tab.prompt], **PRIVATE)
    tab.train.click(
        h.train_in,
        [session, tab.task],
        [tab.status, tab.loss, tab.heard, tab.forget],
        api_name="train_in",
        concurrency_limit=1,
        concurrency_id="train",
        show_progress_on=[tab.status],
        **TRAIN,
    )
    tab.forget.click(
        h.forget,
        [session, tab.task, tab.method],
        [tab.status, tab.loss, tab.proof, tab.verdict, tab.metrics],
        api_name="forget_me",
        concurrency_limit=1,
        concurrency_id="train",
        show_progress_on=[tab.status],
        **TRAIN,
    )
    tab.delete.click(
        h.delete_all,
        [session],
        [tab.version, tab.message, tab.heard, tab.proof, tab.verdict, tab.metrics],
        api_name="delete_my_recordings",
    ).then(lambda: gr.update(interactive=False), None, tab.forget, **PRIVATE)
