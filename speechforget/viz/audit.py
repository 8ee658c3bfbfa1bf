"""The Audit panel's figures: ROC curves of the membership attacks, class-wise accuracy, and
the relearning curve beside the linear probe. Pure functions of arrays and plain dicts.

Models are keyed "original", "unlearned", "retrain" (the gold), attacks "reference"
(score CE_gold - CE_model) and "loss" (score -CE); see speechforget.auditview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from speechforget.viz.style import MODEL_COLORS, MODEL_TITLES, finish

ATTACK_TITLES = {
    "reference": "reference attack (CE<sub>gold</sub> − CE)",
    "loss": "loss attack (−CE)",
}
GOLD = "retrain"
CHANCE = dict(color="#999", width=1, dash="dot")

Curve = tuple[np.ndarray, np.ndarray]  # (fpr, tpr), both (K,)


def _note(fig: go.Figure, text: str, col: int) -> None:
    """Text in the middle of the panel in column `col` (1-based) of a one-row figure."""
    axis = "" if col == 1 else str(col)
    fig.add_annotation(
        text=text,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref=f"x{axis} domain",
        yref=f"y{axis} domain",
        font=dict(size=13, color="#555"),
        bgcolor="rgba(255,255,255,0.85)",
    )


def _wrap(text: str, width: int = 38) -> str:
    """Break a note into lines of about `width` characters (<br>)."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + len(word) >= width:
            lines.append(line)
            line = ""
        line = f"{line} {word}".strip()
    return "<br>".join([*lines, line])


def roc_figure(
    curves: Mapping[str, Mapping[str, Curve]],
    notes: Mapping[str, str] | None = None,
    marks: Mapping[str, Mapping[str, tuple[float, float]]] | None = None,
) -> go.Figure:
    """One panel per attack (in the order of `curves`), one ROC curve per model: x = FPR on
    the test clips, y = TPR on the forget clips; the dotted diagonal is chance.

    curves: {attack: {model: (fpr, tpr)}}; notes: {attack: text shown instead of that
    panel's curves} (too few clips, needs the gold model); marks: {attack: {model: (fpr,
    tpr)}}, the operating point of a chosen threshold, drawn as a marker. The gold's
    reference-attack curve is the diagonal by construction (every score is 0) and is named so.
    """
    notes, marks = notes or {}, marks or {}
    attacks = list(curves) or ["loss"]
    fig = make_subplots(
        rows=1,
        cols=len(attacks),
        horizontal_spacing=0.1,
        subplot_titles=[ATTACK_TITLES.get(a, a) for a in attacks],
    )
    shown: set[str] = set()
    for j, attack in enumerate(attacks, start=1):
        fig.add_trace(
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=CHANCE, showlegend=False),
            row=1,
            col=j,
        )
        if notes.get(attack):
            _note(fig, _wrap(notes[attack]), j)
            continue
        for m, (fpr, tpr) in curves[attack].items():
            name = MODEL_TITLES.get(m, m)
            if attack == "reference" and m == GOLD:
                name += ": the diagonal by construction"
            fig.add_trace(_roc_trace(m, name, fpr, tpr, m not in shown), row=1, col=j)
            shown.add(m)
            if m in marks.get(attack, {}):
                fig.add_trace(_mark_trace(m, *marks[attack][m]), row=1, col=j)
    fig.update_xaxes(range=[-0.02, 1.02], title_text="FPR (test clips flagged)")
    fig.update_yaxes(range=[-0.02, 1.02])
    fig.update_yaxes(title_text="TPR (forget clips flagged)", row=1, col=1)
    return finish(fig, 380, "audit-roc")


def _roc_trace(model: str, name: str, fpr, tpr, legend: bool) -> go.Scatter:
    return go.Scatter(
        x=np.asarray(fpr, float),
        y=np.asarray(tpr, float),
        mode="lines",
        name=name,
        legendgroup=model,
        showlegend=legend,
        line=dict(color=MODEL_COLORS.get(model, "#888"), width=2),  # ties: a diagonal step
        hovertemplate=f"{name}<br>FPR %{{x:.1%}}, TPR %{{y:.1%}}<extra></extra>",
    )


def _mark_trace(model: str, fpr: float, tpr: float) -> go.Scatter:
    return go.Scatter(
        x=[fpr],
        y=[tpr],
        mode="markers",
        marker=dict(
            color=MODEL_COLORS.get(model, "#888"), size=11, line=dict(color="#222", width=1)
        ),
        legendgroup=model,
        showlegend=False,
        hovertemplate="threshold: FPR %{x:.1%}, TPR %{y:.1%}<extra></extra>",
    )


def class_accuracy_figure(
    acc: Mapping[str, Mapping[str, np.ndarray]],
    class_names: Sequence[str],
    forgotten: Sequence[int] = (),
) -> go.Figure:
    """acc: {subset title: {model: (C,) accuracy per class, NaN where the subset has no clip
    of the class}}. One row per subset, grouped bars per class (classes without clips left
    out); forgotten classes are marked ✕ and bold."""
    subsets = list(acc) or ["test"]
    fig = make_subplots(rows=len(subsets), cols=1, vertical_spacing=0.22, subplot_titles=subsets)
    shown: set[str] = set()
    for i, subset in enumerate(subsets, start=1):
        by_model = acc.get(subset, {})
        stack = np.array([np.asarray(v, float) for v in by_model.values()])
        keep = [c for c in range(len(class_names)) if stack.size and np.isfinite(stack[:, c]).any()]
        ticks = [_class_tick(class_names[c], c in forgotten) for c in keep]
        for m, values in by_model.items():
            fig.add_trace(
                go.Bar(
                    x=ticks,
                    y=np.asarray(values, float)[keep],
                    name=MODEL_TITLES.get(m, m),
                    legendgroup=m,
                    showlegend=m not in shown,
                    marker_color=MODEL_COLORS.get(m, "#888"),
                    hovertemplate="%{x}: %{y:.0%}<extra>" + MODEL_TITLES.get(m, m) + "</extra>",
                ),
                row=i,
                col=1,
            )
            shown.add(m)
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%", title_text="accuracy")
    return finish(fig, 230 * len(subsets) + 60, "audit-classes", barmode="group")


def _class_tick(name: str, forgotten: bool) -> str:
    return f"<b>✕ {name}</b>" if forgotten else name


def relearn_probe_figure(
    relearn: Mapping | None,
    probe: Mapping[str, float | None],
    relearn_note: str = "",
    probe_note: str = "",
) -> go.Figure:
    """Left: the relearning attack, accuracy on the held 80% of Df after k fine-tuning steps on
    the other 20% (relearn = {"steps": [k], model: [accuracy]}, models "unlearned" and
    "retrain"). Right: the linear probe's balanced accuracy per model (probe = {model:
    accuracy or None}), 0.5 = chance. A note replaces a panel that has nothing to show."""
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.62, 0.38],
        horizontal_spacing=0.12,
        subplot_titles=("relearning attack (held 80% of Df)", "linear probe on the embeddings"),
    )
    if relearn and relearn.get("steps"):
        for m in ("unlearned", GOLD):
            if relearn.get(m) is not None:
                fig.add_trace(_relearn_trace(m, relearn["steps"], relearn[m]), row=1, col=1)
        fig.update_xaxes(title_text="fine-tuning steps on 20% of Df", row=1, col=1)
    else:
        _note(fig, _wrap(relearn_note or "no relearning attack for this run", 34), 1)
    values = {m: v for m, v in probe.items() if v is not None}
    if values:
        names = [MODEL_TITLES.get(m, m) for m in values]
        fig.add_trace(
            go.Bar(
                x=names,
                y=list(values.values()),
                marker_color=[MODEL_COLORS.get(m, "#888") for m in values],
                showlegend=False,
                text=[f"{v:.0%}" for v in values.values()],
                textposition="auto",
                hovertemplate="%{x}: %{y:.1%}<extra></extra>",
            ),
            row=1,
            col=2,
        )
        fig.add_hline(y=0.5, line=CHANCE, row=1, col=2)
    else:
        _note(fig, _wrap(probe_note or "no probe for this run", 26), 2)
    fig.update_yaxes(range=[0, 1.05], tickformat=".0%")
    fig.update_yaxes(title_text="accuracy", row=1, col=1)
    return finish(fig, 340, "audit-relearn")


def _relearn_trace(model: str, steps, values) -> go.Scatter:
    name = MODEL_TITLES.get(model, model)
    return go.Scatter(
        x=list(steps),
        y=[np.nan if v is None else v for v in values],
        mode="lines+markers",
        name=name,
        legendgroup=model,
        line=dict(color=MODEL_COLORS.get(model, "#888"), width=2),
        hovertemplate=f"{name}: %{{y:.0%}} after %{{x}} steps<extra></extra>",
    )
