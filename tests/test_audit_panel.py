"""The Audit panel's numbers and figures: ROC points and threshold rates against hand
computations, the AuditView of a real tiny run (with and without the gold), the figures,
and the riskiest clips' table with players."""

from __future__ import annotations

import base64
import io
import wave

import numpy as np
import pytest

from speechforget.auditview import audit_view
from speechforget.evaluation.audit import MIN_AUC_SIDE, rates_at, reference_score, roc_curve
from speechforget.ui import audit as shown
from speechforget.viz import audit as figs

# ---- the numbers --------------------------------------------------------------------------


def test_rates_at_a_threshold_by_hand():
    pos = np.array([3.0, 2.0, 1.0, 0.5])  # forget clips (members)
    neg = np.array([2.5, 0.7, 0.2, 0.1, -1.0])  # test clips (non-members)
    assert rates_at(pos, neg, 1.5) == (2, 1)  # 3, 2 flagged; 2.5 wrongly flagged
    assert rates_at(pos, neg, 0.5) == (3, 2)  # strict: 0.5 itself is not flagged
    assert rates_at(pos, neg, 10.0) == (0, 0) and rates_at(pos, neg, -5.0) == (4, 5)


def test_roc_curve_points_by_hand():
    fpr, tpr = roc_curve(np.array([3.0, 2.0, 1.0]), np.array([2.5, 0.0]))
    # thresholds 3 -> (0, 1/3), 2.5 -> (1/2, 1/3), 2 -> (1/2, 2/3), 1 -> (1/2, 1), 0 -> (1, 1)
    points = set(zip(np.round(fpr, 3), np.round(tpr, 3)))
    assert {(0.0, 0.0), (0.0, 0.333), (0.5, 1.0), (1.0, 1.0)} <= points
    assert fpr[0] == 0 and tpr[0] == 0 and fpr[-1] == 1 and tpr[-1] == 1
    zero = roc_curve(np.zeros(5), np.zeros(7))  # the gold under the reference attack
    assert list(zip(zero[0], zero[1])) == [(0.0, 0.0), (1.0, 1.0)]  # the diagonal
    assert len(roc_curve(np.zeros(0), np.ones(3))[0]) == 0


def test_reference_score_is_gold_minus_model():
    np.testing.assert_allclose(
        reference_score(np.array([0.1, 2.0]), np.array([1.0, 1.0])), [0.9, -1]
    )
    assert np.isfinite(reference_score(np.array([np.nan]), np.array([1.0]))).all()


# ---- the view of a real run ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_run(tiny_ctx):
    """A sample-forgetting run with enough clips on each side for a ROC curve. Its gold is a
    stand-in (the original's outputs, as if retrained): the audit reads only per-clip
    outputs, and a real retrain costs about a minute on two shared cores."""
    import dataclasses

    from speechforget.config import ExperimentConfig
    from speechforget.pipeline import start_experiment, unlearn_step
    from speechforget.runview import run_view

    cfg = ExperimentConfig(forget="sample:40", method="neggrad_plus", device="cpu")
    res = unlearn_step(start_experiment(cfg, tiny_ctx))
    res.evals["retrain"] = dataclasses.replace(res.evals["original"])
    res.relearn = {"steps": [0, 5], "unlearned": [0.5, 0.75], "retrain": [0.5, 0.5]}
    return res, run_view(res)


def test_audit_view_scores_match_the_losses(sample_run):
    res, view = sample_run
    audit = audit_view(view)
    f, t = res.split.forget, res.split.test  # sample forgetting: all of Dt is compared
    assert audit.n_forget == len(f) >= MIN_AUC_SIDE and audit.n_test == len(t) >= MIN_AUC_SIDE
    assert audit.curve_note == "" and audit.has_gold and audit.ranked_by == "reference"
    ce_u, ce_g = res.evals["unlearned"].losses, res.evals["retrain"].losses
    ref = audit.scores["reference"]["unlearned"]
    np.testing.assert_allclose(ref.forget, ce_g[f] - ce_u[f])
    np.testing.assert_allclose(
        audit.scores["loss"]["original"].test, -res.evals["original"].losses[t]
    )
    assert not audit.scores["reference"]["retrain"].forget.any()  # gold scores 0: the diagonal
    # the threshold's rates by hand
    r = audit.rates("reference", 0.2)["unlearned"]
    assert (r.tp, r.fp) == (
        int(np.sum(ce_g[f] - ce_u[f] > 0.2)),
        int(np.sum(ce_g[t] - ce_u[t] > 0.2)),
    )
    assert r.tpr == r.tp / len(f) and r.fpr == r.fp / len(t)
    loss = audit.rates("loss", -1.0)["original"]  # flagged: loss below 0.1 nats
    ce_o = res.evals["original"].losses
    assert (loss.tp, loss.fp) == (int(np.sum(ce_o[f] < 0.1)), int(np.sum(ce_o[t] < 0.1)))
    # the report's TPR at 1% FPR lies on the curve
    fpr, tpr = audit.curve("reference", "unlearned")
    assert fpr[0] == 0 and tpr[-1] == 1 and np.all(np.diff(fpr) >= 0)


def test_audit_view_riskiest_clips_and_classes(sample_run):
    res, view = sample_run
    audit = audit_view(view, top=4)
    ref = audit.scores["reference"]["unlearned"].forget
    assert [c.pos for c in audit.risky] == [int(res.split.forget[i]) for i in np.argsort(-ref)[:4]]
    clip = audit.risky[0]
    assert set(clip.preds) == {"original", "unlearned", "retrain"}
    assert clip.reference["retrain"] == 0 and 0 <= clip.member["unlearned"] <= 1
    y = res.ctx.task.y
    pred = res.evals["unlearned"].logits.argmax(1)
    for c in range(len(view.class_names)):
        clips = res.split.test[y[res.split.test] == c]
        expected = np.mean(pred[clips] == c)
        assert audit.class_acc["test"]["unlearned"][c] == pytest.approx(expected)
    assert audit.relearn["unlearned"] == [0.5, 0.75] and audit.probe["retrain"] is not None
    lo, hi, default = audit.threshold_range("reference")
    assert lo <= default == 0.0 <= hi
    lo, hi, default = audit.threshold_range("loss")
    assert lo < default < hi


def test_a_diverged_model_still_gets_curves(sample_run):
    import dataclasses

    _, view = sample_run
    losses = {m: dict(v) for m, v in view.losses.items()}
    losses["unlearned"]["forget"] = np.full(len(losses["unlearned"]["forget"]), np.nan)
    losses["unlearned"]["test"] = losses["unlearned"]["test"].copy()
    losses["unlearned"]["test"][:3] = np.inf
    audit = audit_view(dataclasses.replace(view, losses=losses))
    fpr, tpr = audit.curve("loss", "unlearned")
    assert np.isfinite(fpr).all() and np.isfinite(tpr).all() and len(fpr) >= 2
    assert audit.rates("loss", 0.0)["unlearned"].tp == 0  # a NaN loss is no member
    lo, hi, default = audit.threshold_range("reference")
    assert np.isfinite([lo, hi, default]).all() and hi - lo < 1e3
    assert shown.rates_markdown(audit, "reference", 0.0).count("|") > 10


def test_audit_view_before_the_gold(tiny_ctx):
    """Right after the unlearning run: no reference attack, clips ranked by P(member)."""
    from speechforget.config import ExperimentConfig
    from speechforget.pipeline import start_experiment, unlearn_step
    from speechforget.runview import run_view

    cfg = ExperimentConfig(forget="class:up", method="neggrad_plus", device="cpu")
    view = run_view(unlearn_step(start_experiment(cfg, tiny_ctx)))
    audit = audit_view(view)
    assert set(audit.scores) == {"loss"} and not audit.has_gold and audit.ranked_by == "loss"
    assert audit.n_test == int(view.test_forgotten.sum())  # the forgotten class's test clips
    assert "too few clips" in audit.curve_note  # 6 test clips of 'up'
    member = [c.member["unlearned"] for c in audit.risky]
    assert member == sorted(member, reverse=True) and audit.risky[0].reference == {}
    # the panel says what is missing instead of drawing it
    text = shown.summary(audit, view, "the gold retrain runs next")
    assert "attacks need the gold model (the gold retrain runs next)" in text
    assert "needs the gold model" in shown.rates_markdown(audit, "reference", 0.0)
    assert "(" in shown.rates_markdown(audit, "loss", -1.0)  # counts beside the percentages
    roc = shown.roc_figure(audit, "loss", -1.0, "stopped")
    notes = [a.text for a in roc.layout.annotations]
    assert any("needs the gold model" in n for n in notes)
    assert any("too few clips" in n.replace("<br>", " ") for n in notes)
    relearn = shown.relearn_figure(audit, "the gold retrain was stopped")
    assert any("stopped" in a.text for a in relearn.layout.annotations)
    assert [t.type for t in relearn.data] == ["bar"]  # the probe is known before the gold
    assert audit_view(run_view(start_experiment(cfg, tiny_ctx))) is None  # nothing evaluated


# ---- figures and the table ----------------------------------------------------------------


def test_roc_figure_curves_notes_and_marks():
    curve = (np.array([0, 0.5, 1.0]), np.array([0, 0.8, 1.0]))
    diag = (np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    fig = figs.roc_figure(
        {"reference": {"unlearned": curve, "retrain": diag}, "loss": {"unlearned": curve}},
        marks={"reference": {"unlearned": (0.5, 0.8)}},
    )
    lines = [t for t in fig.data if t.mode == "lines" and t.name]
    assert [t.name for t in lines] == [
        "unlearned",
        "gold (retrained): the diagonal by construction",
        "unlearned",
    ]
    marks = [t for t in fig.data if t.mode == "markers"]
    assert len(marks) == 1 and (marks[0].x[0], marks[0].y[0]) == (0.5, 0.8)
    noted = figs.roc_figure({"reference": {}, "loss": {"unlearned": curve}}, {"reference": "x"})
    assert len([t for t in noted.data if t.name]) == 1
    assert (
        noted.layout.annotations[-1].text == "x" and noted.layout.annotations[-1].xref == "x domain"
    )


def test_class_accuracy_figure_leaves_out_empty_classes():
    nan = np.nan
    acc = {
        "test set": {"original": np.array([1.0, 0.5, 0.0]), "unlearned": np.array([0, 0.5, 0])},
        "forget set": {"original": np.array([1.0, nan, nan]), "unlearned": np.array([0, nan, nan])},
    }
    fig = figs.class_accuracy_figure(acc, ["yes", "no", "up"], forgotten=[0])
    assert len(fig.data) == 4 and fig.layout.barmode == "group"
    assert list(fig.data[0].x) == ["<b>✕ yes</b>", "no", "up"] and list(fig.data[2].x) == [
        "<b>✕ yes</b>"
    ]


def test_relearn_probe_figure():
    rel = {"steps": [0, 5, 10], "unlearned": [0.0, 0.5, 0.9], "retrain": [0.0, 0.1, 0.1]}
    fig = figs.relearn_probe_figure(rel, {"original": 0.9, "unlearned": 0.6, "retrain": None})
    assert [t.name for t in fig.data[:2]] == ["unlearned", "gold (retrained)"]
    assert list(fig.data[2].x) == ["original", "unlearned"]  # no probe value, no bar
    empty = figs.relearn_probe_figure(None, {}, "needs the gold model", "no probe")
    assert {a.text for a in empty.layout.annotations} >= {"needs the gold model", "no probe"}


def test_risky_table_plays_each_clip(sample_run):
    _, view = sample_run
    audit = audit_view(view)
    page = shown.risky_html(audit, view)
    assert page.count("<audio") == len(audit.risky) == 5
    assert "ranked by the reference score" in page and "ref +" in page or "ref -" in page
    src = page.split('src="data:audio/wav;base64,')[1].split('"')[0]
    with wave.open(io.BytesIO(base64.b64decode(src))) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnframes()) == (16000, 2, 16000)
    assert shown.risky_html(None, None).startswith("<p>Run an experiment")
