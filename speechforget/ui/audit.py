"""The Audit panel's contents from an `AuditView` (speechforget.auditview): figures, the
threshold read-out, the riskiest forget clips as an HTML table with players, and the
one-sentence readings. No Gradio and no tensors here; the handlers in ui/handlers/audit.py
turn these into widget updates.
"""

from __future__ import annotations

import base64
import html
import io
import math
import wave

import numpy as np

from speechforget.auditview import ATTACKS, AuditView
from speechforget.runview import RunView
from speechforget.viz import audit as figs
from speechforget.viz.style import MODEL_TITLES, empty_figure

# one sentence per element on how to read it (shown above each element)
READ = {
    "roc": "Each curve is one model: for every threshold, the share of forget clips an attacker "
    "flags as members (TPR) against the share of unseen test clips it wrongly flags (FPR); on "
    "the dotted diagonal it cannot tell them apart, which is where the gold model lies and "
    "where the unlearned model should be.",
    "threshold": "Pick an attack and move its threshold: the table gives, per model, how many "
    "forget clips are flagged (TPR) and how many unseen test clips are flagged too (FPR); the "
    "unlearned model should flag what the gold flags.",
    "risky": "The forget clips an attacker would pick first under the unlearned model; if "
    "they are still predicted right with high confidence, or score far above the gold, the "
    "model still remembers them.",
    "classes": "Accuracy per class on the test set and on the forget set (✕ marks a forgotten "
    "class or speaker); the unlearned model's bars should follow the gold's, not the "
    "original's.",
    "relearn": "Left: fine-tune on 20% of the forget set and measure the other 80%; an unlearned "
    "curve rising faster than the gold's means the knowledge was hidden, not removed. Right: "
    "a linear probe's balanced accuracy at telling what was forgotten from the rest in the "
    "embeddings (50% = not decodable); it should match the gold's.",
}
ATTACK_CHOICES = [("reference attack (needs the gold)", "reference"), ("loss attack", "loss")]
NOT_YET = "Run an experiment: its audit appears here."
SLIDER_LABELS = {
    "reference": "threshold t (nats): a clip is called a member when CE_gold − CE_model > t",
    "loss": "threshold t (log10 of the loss): a clip is called a member when its loss < 10^t",
}
RANKED_BY = {
    "reference": "ranked by the reference score CE_gold − CE_unlearned (nats; > 0: the "
    "unlearned model fits the clip better than the gold, which never saw it)",
    "loss": "ranked by P(member) of the paper's loss attack on the unlearned model (fit on its "
    "retain vs test losses); the reference score joins once the gold is done",
}


def needs_gold(reason: str, verb: str = "needs") -> str:
    """e.g. "needs the gold model (the gold retrain was stopped)"."""
    return f"{verb} the gold model" + (f" ({reason})" if reason else "")


def summary(audit: AuditView | None, view: RunView | None, no_gold: str = "") -> str:
    """The panel's first line: what is compared with what, and what is still missing."""
    if audit is None or view is None:
        return NOT_YET
    forget = view.report.get("config", {}).get("forget", "")
    text = (
        f"**Audit of `{forget}`** ({view.method}): the {audit.n_forget} forget clips (members) "
        f"against {audit.test_desc} (non-members)."
    )
    if not audit.has_gold:
        text += f" The reference and relearning attacks {needs_gold(no_gold, 'need')}."
    if audit.curve_note:
        text += f" ROC curves: {audit.curve_note}."
    return text


def roc_figure(
    audit: AuditView | None,
    attack: str | None = None,
    threshold: float | None = None,
    no_gold: str = "",
):
    """Both attacks' ROC curves; with a threshold, each model's operating point on `attack`."""
    if audit is None:
        return empty_figure("run an experiment to see the ROC curves")
    curves, notes = {}, {}
    for a in ATTACKS:
        curves[a] = {m: audit.curve(a, m) for m in audit.models if a in audit.scores}
        if a not in audit.scores:
            notes[a] = needs_gold(no_gold)
        elif audit.curve_note:
            notes[a] = audit.curve_note
    marks = {}
    if attack in audit.scores and threshold is not None and not audit.curve_note:
        rates = audit.rates(attack, threshold)
        marks[attack] = {m: (r.fpr, r.tpr) for m, r in rates.items()}
    return figs.roc_figure(curves, notes, marks)


def slider(audit: AuditView | None, attack: str) -> dict:
    """The threshold slider's settings (gr.update keywords) for `attack`."""
    if audit is None or attack not in audit.scores:
        return dict(minimum=-1.0, maximum=1.0, value=0.0, step=0.01, label=SLIDER_LABELS[attack])
    lo, hi, default = audit.threshold_range(attack)
    return dict(minimum=lo, maximum=hi, value=default, step=0.01, label=SLIDER_LABELS[attack])


def rates_markdown(
    audit: AuditView | None, attack: str, threshold: float, no_gold: str = ""
) -> str:
    """Per model: TPR on the forget clips and FPR on the test clips at `threshold`."""
    if audit is None:
        return NOT_YET
    if attack not in audit.scores:
        return f"The reference attack {needs_gold(no_gold)}; the loss attack works now."
    if attack == "loss":
        rule = f"loss < {10.0**threshold:.3g} nats"
    else:
        rule = f"CE_gold − CE_model > {threshold:+.2f} nats"
    lines = [
        f"**{attack} attack, a clip is called a member when {rule}**",
        "",
        "| model | TPR: forget clips flagged | FPR: test clips flagged |",
        "|---|---|---|",
    ]
    for m, r in audit.rates(attack, threshold).items():
        lines.append(
            f"| {MODEL_TITLES.get(m, m)} | {_pct(r.tpr)} ({r.tp} of {r.n_forget}) "
            f"| {_pct(r.fpr)} ({r.fp} of {r.n_test}) |"
        )
    if audit.curve_note:
        lines += ["", f"Few clips: {audit.curve_note}; read the counts, not the percentages."]
    return "\n".join(lines)


def _pct(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{100 * x:.0f}%"


def classes_figure(audit: AuditView | None):
    if audit is None:
        return empty_figure("run an experiment to see the accuracy per class")
    titles = {"test": "test set (Dt)", "forget": "forget set (Df)"}
    acc = {titles[s]: v for s, v in audit.class_acc.items()}
    return figs.class_accuracy_figure(acc, audit.class_names, audit.forgotten_classes)


def relearn_figure(audit: AuditView | None, no_gold: str = ""):
    if audit is None:
        return empty_figure("run an experiment to see the relearning attack and the probe")
    if not audit.has_gold:
        note = f"the relearning attack {needs_gold(no_gold)}"
    else:
        note = "not run: it needs at least 5 forget clips"
    return figs.relearn_probe_figure(audit.relearn, audit.probe, note, "no probe")


# ---- the riskiest forget clips -----------------------------------------------------------


def risky_html(audit: AuditView | None, view: RunView | None) -> str:
    """The riskiest forget clips as a table: clip, label, each model's prediction and
    scores, and a player (a data: URI, so nothing is written to disk)."""
    if audit is None or view is None:
        return f"<p>{NOT_YET}</p>"
    if not audit.risky:
        return "<p>No forget clips.</p>"
    head = "".join(f"<th>{_esc(MODEL_TITLES.get(m, m))}</th>" for m in audit.models)
    rows = [
        f"<p><i>Top {len(audit.risky)} of {audit.n_forget} forget clips, "
        f"{_esc(RANKED_BY[audit.ranked_by])}. Each model: its prediction (✓ right), "
        "P(true class), P(member) of the loss attack"
        + (", reference score." if audit.has_gold else ".")
        + "</i></p>",
        f'<table class="audit-risky"><tr><th>#</th><th>clip</th><th>listen</th>{head}</tr>',
    ]
    for k, clip in enumerate(audit.risky, start=1):
        cells = "".join(f"<td>{_model_cell(clip, m)}</td>" for m in audit.models)
        sr, pcm = view.clip_audio(clip.pos)
        rows.append(
            f"<tr><td>{k}</td><td><b>{_esc(clip.label)}</b><br>"
            f"<small>#{clip.pos} {_esc(clip.describe)}</small></td>"
            f'<td><audio controls preload="none" src="{wav_data_uri(sr, pcm)}"></audio></td>'
            f"{cells}</tr>"
        )
    return "\n".join([*rows, "</table>"])


def _model_cell(clip, m: str) -> str:
    pred = clip.preds[m]
    mark = "✓" if pred == clip.label else "✗"
    ref = clip.reference.get(m)
    parts = [f"P(member) {clip.member[m]:.2f}"]
    if ref is not None:
        parts.append(f"ref {ref:+.2f}")
    return (
        f"{mark} {_esc(pred)} · {100 * clip.p_true[m]:.0f}%<br><small>{' · '.join(parts)}</small>"
    )


def _esc(text: str) -> str:
    """Text for an HTML text node (quotes stay as they are: "'stop' by spk07")."""
    return html.escape(text, quote=False)


def wav_data_uri(sr: int, pcm: np.ndarray) -> str:
    """A mono int16 clip as a data:audio/wav URI for an <audio> element."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sr))
        w.writeframes(np.asarray(pcm, dtype="<i2").tobytes())
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode()
