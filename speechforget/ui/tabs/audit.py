"""The "Audit" tab: the membership attacks' ROC curves with a threshold slider, the riskiest
forget clips (they play), class-wise accuracy, the relearning curve and the probe, each with
one sentence on how to read it. Filled after the unlearning run, completed after the gold."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from speechforget.ui import audit


@dataclass
class AuditTab:
    summary: gr.Markdown
    roc: gr.Plot
    attack: gr.Radio
    threshold: gr.Slider
    rates: gr.Markdown
    risky: gr.HTML
    classes: gr.Plot
    relearn: gr.Plot

    def outputs(self) -> dict:
        """The components by their AUDIT_KEYS names."""
        return dict(
            audit_summary=self.summary,
            audit_roc=self.roc,
            audit_attack=self.attack,
            audit_threshold=self.threshold,
            audit_rates=self.rates,
            audit_risky=self.risky,
            audit_classes=self.classes,
            audit_relearn=self.relearn,
        )


def _read(key: str) -> None:
    gr.Markdown(f"*{audit.READ[key]}*", elem_classes=["audit-read"], elem_id=f"audit-read-{key}")


def build() -> AuditTab:
    with gr.Tab("Audit", elem_id="tab-audit"):
        summary = gr.Markdown(audit.NOT_YET, elem_id="audit-summary")
        _read("roc")
        roc = gr.Plot(
            audit.roc_figure(None),
            label="ROC curves of the membership attacks: forget clips vs unseen test clips",
            elem_id="audit-roc",
        )
        _read("threshold")
        with gr.Row(equal_height=False):
            attack = gr.Radio(
                audit.ATTACK_CHOICES, value="loss", label="Attack", elem_id="audit-attack", scale=1
            )
            threshold = gr.Slider(elem_id="audit-threshold", scale=2, **audit.slider(None, "loss"))
        rates = gr.Markdown(audit.NOT_YET, elem_id="audit-rates")
        gr.Markdown("### The riskiest forget clips")
        _read("risky")
        risky = gr.HTML(f"<p>{audit.NOT_YET}</p>", elem_id="audit-risky")
        _read("classes")
        classes = gr.Plot(
            audit.classes_figure(None), label="Accuracy per class", elem_id="audit-classes"
        )
        _read("relearn")
        relearn = gr.Plot(
            audit.relearn_figure(None),
            label="Relearning attack and linear probe",
            elem_id="audit-relearn",
        )
    return AuditTab(summary, roc, attack, threshold, rates, risky, classes, relearn)
