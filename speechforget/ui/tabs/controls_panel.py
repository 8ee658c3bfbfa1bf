"""The control panel on the left: backbone, data set, task, what to forget, the method and
its settings (built from the methods registry), SuperLoss, the seed, Run and Stop."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from speechforget.config import default_backbone
from speechforget.ui import controls
from speechforget.ui.handlers.controls import ControlHandlers


@dataclass
class ControlsPanel:
    backbone: gr.Dropdown
    backbone_note: gr.Markdown
    data_set: gr.Dropdown
    data_note: gr.Markdown
    task: gr.Radio
    kind: gr.Radio
    names: gr.Dropdown
    percent: gr.Slider
    method: gr.Dropdown
    method_note: gr.Markdown
    groups: dict[str, gr.Group]  # one group of settings per method
    superloss: gr.Checkbox
    superloss_group: gr.Group
    settings: list[gr.components.Component]  # in the order of controls.all_params()
    seed: gr.Number
    run: gr.Button
    stop: gr.Button

    @property
    def run_inputs(self) -> list[gr.components.Component]:
        """What the Run button sends (after the session), in RunHandlers.run's order."""
        return [
            self.backbone,
            self.data_set,
            self.task,
            self.kind,
            self.names,
            self.percent,
            self.method,
            self.superloss,
            self.seed,
            *self.settings,
        ]


def param_widget(p: controls.Param) -> gr.components.Component:
    """The widget of one hyper-parameter: a checkbox, a number in its bounds, a dropdown
    of its choices, or a text box."""
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


def build(
    handlers: ControlHandlers,
    task_data,
    default_task: str,
    params: list[controls.Param],
    run_enabled: bool = True,
) -> ControlsPanel:
    """`task_data`: the default task's clips (for the forget names); `params`: every
    method's settings (see controls.all_params); run_enabled False: Run starts disabled
    (the page's load event enables it when the start-up is done)."""
    with gr.Column(scale=1, min_width=300, elem_id="controls"):
        backbone, backbone_note, data_set, data_note = _model_and_data(handlers, default_task)
        task, kind, names, percent = _forget(task_data, default_task)
        method0 = controls.default_method()
        method = gr.Dropdown(
            controls.method_choices(), value=method0, label="Unlearning method", elem_id="method"
        )
        method_note = gr.Markdown(controls.method_paper(method0))
        groups, settings, superloss, sl_group = _settings(params, method0)
        seed = gr.Number(0, precision=0, minimum=0, label="Seed", elem_id="seed")
        with gr.Row():
            run = gr.Button("Run", variant="primary", elem_id="run", interactive=run_enabled)
            stop = gr.Button("Stop", variant="stop", elem_id="stop")
    return ControlsPanel(
        backbone,
        backbone_note,
        data_set,
        data_note,
        task,
        kind,
        names,
        percent,
        method,
        method_note,
        groups,
        superloss,
        sl_group,
        settings,
        seed,
        run,
        stop,
    )


def _model_and_data(handlers: ControlHandlers, task: str):
    first = default_backbone(task)
    backbone = gr.Dropdown(
        controls.backbone_choices(), value=first, label="Backbone", elem_id="backbone"
    )
    backbone_note = gr.Markdown(handlers.on_backbone(first))
    data_set = gr.Dropdown(
        controls.data_choices(), value="synthetic", label="Data set", elem_id="data-set"
    )
    data_note = gr.Markdown(handlers.on_data("synthetic"))
    return backbone, backbone_note, data_set, data_note


def _forget(task_data, default_task: str):
    kinds = controls.forget_kinds(default_task)
    task = gr.Radio(controls.task_choices(), value=default_task, label="Task", elem_id="task")
    kind = gr.Radio(kinds, value=kinds[0], label="What to forget", elem_id="forget-kind")
    names = gr.Dropdown(
        controls.forget_names(task_data, kinds[0]),
        multiselect=True,
        value=controls.default_names(task_data, kinds[0]),
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
    return task, kind, names, percent


def _settings(params: list[controls.Param], method0: str):
    """The method settings (one hidden group per method, the chosen one shown) and the
    SuperLoss checkbox with its settings; the widgets in `params` order."""
    by_method: dict[str, list[controls.Param]] = {}
    for p in params:
        by_method.setdefault(p.method, []).append(p)
    widgets, groups = [], {}
    with gr.Accordion("Method settings (defaults tuned per mode)", open=False):
        for name, method_params in by_method.items():
            if name:
                with gr.Group(visible=name == method0) as groups[name]:
                    widgets += [param_widget(p) for p in method_params]
    superloss = gr.Checkbox(
        False, label="SuperLoss: re-weight per-sample losses", elem_id="superloss"
    )
    with gr.Group(visible=False) as sl_group:
        widgets += [param_widget(p) for p in by_method.get("", [])]
    return groups, widgets, superloss, sl_group
