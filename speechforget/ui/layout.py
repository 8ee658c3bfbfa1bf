"""The page: controls on the left, live curves and results on the right, then figures,
play-and-predict, your own clip, and this session's runs. `build_demo` wires the
widgets to `App`'s handlers; nothing is launched here.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import gradio as gr

from speechforget import viz
from speechforget.ui import controls, views
from speechforget.ui.callbacks import GOLD_KEYS, RUN_KEYS, App, ContextProvider
from speechforget.ui.panels import SAID_ORIGINAL
from speechforget.ui.state import SessionStore
from speechforget.ui.zerogpu import make_gpu_phase

ASSETS = Path(__file__).resolve().parents[2] / "assets"
INTRO = """# 🧽 SpeechForget: make a speech model forget, and check what it really forgot
Pick a keyword or a speaker (or a random share of the training clips) to **forget**, pick an
**unlearning method**, press **Run**. The loss curves stream live; then the unlearned model is
compared with the **original** and with a **gold model retrained from scratch** without the
forgotten clips, the yardstick unlearning is judged by. Record or upload your own clip to see
whether the model still recognises it."""


def _widget(p: controls.Param) -> gr.components.Component:
    kw = dict(label=p.name, info=p.help, elem_id=p.elem_id)
    if p.type == "bool":
        return gr.Checkbox(value=bool(p.default), **kw)
    if p.type in ("int", "float"):
        return gr.Number(
            value=p.default,
            minimum=p.min,
            maximum=p.max,
            precision=0 if p.type == "int" else None,
            step=1 if p.type == "int" else 0.0001,
            **kw,
        )
    if p.choices:
        return gr.Dropdown(list(p.choices), value=p.default, **kw)
    return gr.Textbox(value="" if p.default is None else str(p.default), **kw)


def _backbone_choices() -> list[tuple[str, str]]:
    try:
        from speechforget.models import list_backbones
    except ImportError:
        return [("cnn: built-in small CNN (offline)", "cnn")]
    return [(f"{b['name']}: {b.get('description', '')}", b["name"]) for b in list_backbones()]


def _examples() -> tuple[list[list[str]], list[str]]:
    folder = ASSETS / "clips"
    files = sorted(folder.glob("*.wav")) if folder.is_dir() else []
    notes = {
        "trained": "heard in training",
        "new_speaker": "a speaker never heard",
        "test": "test clip",
    }

    def label(f: Path) -> str:  # stop_spk15_trained.wav -> 'stop' by spk15, heard in training
        word, spk, note = (f.stem.split("_", 2) + ["", ""])[:3]
        return f"'{word}' by {spk}, {notes.get(note, note.replace('_', ' '))}" if spk else f.stem

    return [[str(f)] for f in files], [label(f) for f in files]


def build_demo(
    contexts: ContextProvider | None = None,
    default_task: str = "kws",
    prefetch: tuple[str, ...] = (),
    warm_umap: bool = True,
    max_runs: int | None = None,
    store: SessionStore | None = None,
    umap_wait_s: float = 3.0,
    projection: str = "auto",
) -> gr.Blocks:
    """The app. `contexts(task, backbone, data) -> pipeline.Context` overrides the built-in data
    (tests pass tiny ones); `prefetch` names other tasks to load in the background after
    launch (they compete with visitors' runs for the CPU, so none by default: a task loads
    when picked); `max_runs` runs at once (default $SPEECHFORGET_MAX_RUNS or 1)."""
    store = store or SessionStore()
    app = App(contexts, store, umap_wait_s=umap_wait_s, projection=projection)
    app.gpu_phase = make_gpu_phase(app.context)
    max_runs = max_runs or int(os.environ.get("SPEECHFORGET_MAX_RUNS", "1"))
    data = app.context(default_task).task
    # started by launch() once the page is served: UMAP's compilation (its own process),
    # plotly's first figures, the original's outputs (reused by every run; from a disk
    # cache after the first start), then the `prefetch` tasks
    app.warm_plan = ((default_task, *prefetch), warm_umap)
    kinds = controls.forget_kinds(default_task)
    method0 = controls.default_method()
    by_method: dict[str, list[controls.Param]] = {}
    for p in app.params:
        by_method.setdefault(p.method, []).append(p)

    with gr.Blocks(title="SpeechForget: machine unlearning for speech") as demo:
        session = gr.State(None, time_to_live=store.ttl_s, delete_callback=store.drop)
        run_id = gr.State(None)  # the run this page shows: what its Stop button stops
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=1, min_width=300, elem_id="controls"):
                backbone = gr.Dropdown(
                    _backbone_choices(), value="cnn", label="Backbone", elem_id="backbone"
                )
                backbone_note = gr.Markdown(app.on_backbone("cnn"))
                data_set = gr.Dropdown(
                    controls.data_choices(), value="synthetic", label="Data set", elem_id="data-set"
                )
                data_note = gr.Markdown(app.on_data("synthetic"))
                task = gr.Radio(
                    controls.task_choices(), value=default_task, label="Task", elem_id="task"
                )
                kind = gr.Radio(
                    kinds, value=kinds[0], label="What to forget", elem_id="forget-kind"
                )
                names = gr.Dropdown(
                    controls.forget_names(data, kinds[0]),
                    multiselect=True,
                    value=controls.default_names(data, kinds[0]),
                    label="Forget these",
                    elem_id="forget-names",
                )
                percent = gr.Slider(
                    1,
                    50,
                    value=10,
                    step=1,
                    visible=False,
                    elem_id="forget-percent",
                    label="% of the training clips to forget (random, seeded)",
                )
                method = gr.Dropdown(
                    controls.method_choices(),
                    value=method0,
                    label="Unlearning method",
                    elem_id="method",
                )
                method_note = gr.Markdown(controls.method_paper(method0))
                widgets, groups = [], {}
                with gr.Accordion("Method settings (defaults tuned per mode)", open=False):
                    for name, params in by_method.items():
                        if not name:
                            continue
                        with gr.Group(visible=name == method0) as groups[name]:
                            widgets += [_widget(p) for p in params]
                superloss = gr.Checkbox(
                    False, label="SuperLoss: re-weight per-sample losses", elem_id="superloss"
                )
                with gr.Group(visible=False) as sl_group:
                    widgets += [_widget(p) for p in by_method.get("", [])]
                seed = gr.Number(0, precision=0, minimum=0, label="Seed", elem_id="seed")
                with gr.Row():
                    run = gr.Button("Run", variant="primary", elem_id="run")
                    stop = gr.Button("Stop", variant="stop", elem_id="stop")
            with gr.Column(scale=3):
                status = gr.Markdown(
                    "Pick what to forget and a method, then press **Run**.",
                    elem_id="status",
                    min_height=48,
                )
                loss = gr.Plot(
                    views.loss_figure({}, {}), label="Live loss curves", elem_id="loss-plot"
                )
                metrics = gr.Dataframe(
                    headers=views.METRIC_HEADERS,
                    label="Original / unlearned / gold",
                    interactive=False,
                    elem_id="metrics",
                    wrap=True,
                    column_widths=["30%", "11%", "11%", "13%", "11%", "24%"],
                )
                gr.Markdown(views.MIA_NOTE, elem_id="mia-note")
        with gr.Row(equal_height=False):
            with gr.Column():
                cm_subset = gr.Radio(
                    ["test", "forget", "retain"],
                    value="test",
                    label="Confusion matrices on",
                    elem_id="cm-subset",
                )
                confusion = gr.Plot(
                    views.confusion_figure(None),
                    label="Confusion matrices before / after",
                    elem_id="confusion-plot",
                )
        mia = gr.Plot(
            views.mia_figure(None),
            elem_id="mia-plot",
            label="Membership view: per-sample loss of forget vs retain vs test clips",
        )
        embedding = gr.Plot(
            views.embedding_figure(None)[0],
            elem_id="embedding-plot",
            label="Embeddings before / after, coloured by class; ◆ = forget clips",
        )
        with gr.Tabs():
            with gr.Tab("Play & predict", elem_id="tab-play"):
                with gr.Row():
                    clip_subset = gr.Radio(
                        ["forget", "retain", "test"],
                        value="forget",
                        label="Clips from",
                        elem_id="clip-subset",
                    )
                    clip_pick = gr.Dropdown([], label="Clip", elem_id="clip-pick")
                with gr.Row():
                    clip_audio = gr.Audio(label="Listen", interactive=False, elem_id="clip-audio")
                    clip_bars = gr.Plot(label="Top predictions before / after", elem_id="clip-bars")
                clip_caption = gr.Markdown(elem_id="clip-caption")
            with gr.Tab("Your voice", elem_id="tab-voice"):
                gr.Markdown(
                    "Record or upload a clip (wav, flac, ogg, mp3; any sample rate or channel "
                    "count; the loudest second is used, at most 30 s and 10 MB)."
                )
                with gr.Row():
                    with gr.Column():
                        clip = gr.Audio(
                            sources=["upload", "microphone"],
                            type="filepath",
                            label="Your clip",
                            elem_id="clip",
                        )
                        said = gr.Dropdown(
                            [SAID_ORIGINAL, *data.class_names],
                            value=SAID_ORIGINAL,
                            label="What is said (or who speaks)",
                            elem_id="said",
                        )
                        predict = gr.Button("Predict", variant="primary", elem_id="predict")
                        rows, labels = _examples()
                        if rows:
                            gr.Examples(
                                rows,
                                inputs=[clip],
                                example_labels=labels,
                                cache_examples=False,
                                label="Example clips from the built-in data",
                            )
                    with gr.Column():
                        upload_bars = gr.Plot(label="Top predictions", elem_id="upload-bars")
                        verdict = gr.Markdown(elem_id="verdict")
            with gr.Tab("This session's runs", elem_id="tab-runs"):
                runs = gr.Dataframe(
                    headers=views.RUN_HEADERS,
                    interactive=False,
                    elem_id="runs",
                    label="Your runs in this browser session (gaps to gold: lower is better)",
                )
                with gr.Row():
                    report = gr.DownloadButton(
                        "Report (JSON)", interactive=False, elem_id="download-report"
                    )
                    checkpoint = gr.DownloadButton(
                        "Unlearned model (safetensors)",
                        interactive=False,
                        elem_id="download-checkpoint",
                    )

        comp = dict(
            session=session,
            status=status,
            loss=loss,
            metrics=metrics,
            confusion=confusion,
            mia=mia,
            embedding=embedding,
            clips=clip_pick,
            runs=runs,
            report=report,
            checkpoint=checkpoint,
            run_id=run_id,
        )
        # runs queue behind each other (max_runs at once); gold retrains have a queue of their
        # own, so a visitor's long retrain never holds up the next visitor's unlearning run
        train = dict(show_progress="minimal", show_progress_on=[status], time_limit=900)
        run_evt = run.click(
            app.run,
            [
                session,
                backbone,
                data_set,
                task,
                kind,
                names,
                percent,
                method,
                superloss,
                seed,
                *widgets,
            ],
            [comp[k] for k in RUN_KEYS],
            api_name="run",
            concurrency_limit=max_runs,
            concurrency_id="train",
            **train,
        )
        gold_evt = run_evt.success(
            app.gold,
            [session, cm_subset],
            [comp[k] for k in GOLD_KEYS],
            api_name="gold",
            concurrency_limit=1,
            concurrency_id="gold",
            **train,
        )
        # Run comes back when the stopped run has ended: a Run clicked while the old run's
        # cancellation is still in flight would be swallowed by it
        stop.click(
            lambda: gr.update(interactive=False), None, run, queue=False, api_visibility="private"
        )
        stop.click(
            app.stop,
            [session, run_id],
            [status, run],
            cancels=[run_evt, gold_evt],
            api_name="stop",
            concurrency_limit=None,
        )

        private = dict(api_visibility="private", concurrency_limit=4)
        task.change(
            app.on_task, [task, backbone, data_set], [kind, names, said, backbone_note], **private
        )
        data_set.change(
            app.on_data_set, [task, backbone, data_set], [kind, names, said, data_note], **private
        )
        kind.change(
            app.on_kind, [task, backbone, kind, data_set], [names, percent, *widgets], **private
        )
        method_names = list(groups)
        method.change(
            lambda m: (
                [gr.update(visible=n == m) for n in method_names] + [controls.method_paper(m)]
            ),
            [method],
            [*groups.values(), method_note],
            **private,
        )
        superloss.change(lambda on: gr.update(visible=bool(on)), [superloss], [sl_group], **private)
        backbone.change(app.on_backbone, [backbone], [backbone_note], **private)
        cm_subset.change(app.confusion, [session, cm_subset], [confusion], **private)
        clip_subset.change(app.clip_list, [session, clip_subset], [clip_pick], **private)
        clip_pick.change(
            app.play_clip,
            [session, clip_pick],
            [clip_audio, clip_bars, clip_caption],
            api_name="play_clip",
            concurrency_limit=4,
        )
        gr.on(
            [predict.click, clip.stop_recording],
            app.predict_upload,
            [session, clip, said, task, backbone, data_set],
            [upload_bars, verdict],
            api_name="predict",
            concurrency_limit=4,
        )
    demo.app_state = app  # for tests and scripts: the handlers and the session store
    return demo


THEME = "soft"
CSS = """
#status {min-height: 2.5em}
#metrics table {font-size: 0.92em}
#mia-note {font-size: 0.85em; color: var(--body-text-color-subdued)}
"""


def launch_kwargs() -> dict:
    """launch() settings shared by app.py and the tests (host/port from the environment)."""
    return dict(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
        server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        theme=gr.themes.Soft(primary_hue="indigo"),
        css=CSS,
        max_file_size="10mb",
        state_session_capacity=2000,
        footer_links=["api", "gradio", "settings"],
        allowed_paths=[str(ASSETS / "clips")],  # the example clips, wherever the app starts from
    )


def launch(demo: gr.Blocks | None = None, **overrides):
    """Queue (bounded) and serve the app, then start the background warm-ups;
    `overrides` go to Blocks.launch (prevent_thread_lock=True returns at once)."""
    demo = demo or build_demo()
    demo.queue(max_size=32, default_concurrency_limit=2)
    kwargs = {**launch_kwargs(), **overrides}
    block = not kwargs.pop("prevent_thread_lock", False)
    served = demo.launch(prevent_thread_lock=True, **kwargs)
    app = getattr(demo, "app_state", None)
    if app is not None and getattr(app, "warm_plan", None):
        tasks, umap = app.warm_plan
        if umap:
            viz.warm_up_umap()  # a process of its own: its ~10 s of compiling never blocks us
        threading.Thread(target=app.warm_up, args=(tasks,), name="warm-up", daemon=True).start()
    if block:
        demo.block_thread()
    return served
