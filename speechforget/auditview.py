"""What the app's Audit panel shows of a run, read once from its RunView: compact per-clip
attack scores (the forget clips and the test clips they are compared with, per model),
class-wise accuracies, the relearning curve, the probe and the riskiest forget clips.
Numpy and plain Python only; a threshold moved in the app is answered from these arrays.

    audit = audit_view(view)              # None before the unlearned model is evaluated
    audit.scores["reference"]["unlearned"].forget   # (F,) CE_gold - CE_model, nats
    audit.curve("loss", "original")                 # (fpr, tpr) of the loss attack
    audit.rates("reference", 0.0)                   # {model: Rates} at "score > 0"
    audit.risky[0].pos                              # the riskiest forget clip's position

The attacks (speechforget.evaluation.audit): the loss attack flags a clip as a member when
its loss is low (score -CE); the reference attack when the model fits it better than the
gold model, which never saw Df (score CE_gold - CE_model; 0 for every clip under the gold,
so the gold's curve is the diagonal). Members are the forget clips Df, non-members the
test clips of `evaluation.attack_positions` (the forgotten classes' test clips in class
forgetting, else all of Dt).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from speechforget.evaluation import attack_positions, member_probability, softmax
from speechforget.evaluation.audit import (
    MIN_AUC_SIDE,
    finite_loss,
    rates_at,
    reference_score,
    roc_curve,
)
from speechforget.runview import RunView

ATTACKS = ("reference", "loss")  # display order
GOLD = "retrain"
RISKY_TOP = 5


@dataclass(frozen=True)
class AttackScores:
    """Member scores of one model under one attack (higher = more like a member)."""

    forget: np.ndarray  # (F,) the forget clips (members)
    test: np.ndarray  # (T,) the test clips they are compared with (non-members)


@dataclass(frozen=True)
class Rates:
    """What an attack with one threshold flags, for one model."""

    tp: int  # forget clips flagged as members
    n_forget: int
    fp: int  # test clips wrongly flagged
    n_test: int

    @property
    def tpr(self) -> float:
        return self.tp / self.n_forget if self.n_forget else math.nan

    @property
    def fpr(self) -> float:
        return self.fp / self.n_test if self.n_test else math.nan


@dataclass(frozen=True)
class RiskyClip:
    """One forget clip and how each model treats it."""

    pos: int  # position in the task's clips
    label: str  # its true class
    describe: str  # e.g. "'stop' by spk07, take 2 (train)"
    preds: dict[str, str]  # {model: predicted class}
    p_true: dict[str, float]  # {model: probability of the true class}
    member: dict[str, float]  # {model: P(member) under the loss attack}
    reference: dict[str, float]  # {model: CE_gold - CE_model}; empty without the gold


@dataclass(frozen=True)
class AuditView:
    models: tuple[str, ...]  # the evaluated models, in display order
    has_gold: bool
    scores: dict[str, dict[str, AttackScores]]  # {attack: {model: scores}}; no "reference"
    n_forget: int  # without the gold
    n_test: int  # test clips compared with
    test_desc: str  # which test clips, in words
    curve_note: str  # why no ROC curve is drawn ("" when it is)
    class_names: list[str]
    forgotten_classes: tuple[int, ...]
    class_acc: dict[str, dict[str, np.ndarray]]  # {"test"|"forget": {model: (C,) acc, NaN}}
    relearn: dict | None  # report["relearn"]: {"steps", "unlearned", "retrain"}
    probe: dict[str, float | None]  # {model: probe_acc}
    risky: list[RiskyClip] = field(default_factory=list)
    ranked_by: str = "loss"  # the score the risky clips are ranked by: "reference" | "loss"

    def curve(self, attack: str, model: str) -> tuple[np.ndarray, np.ndarray]:
        """(fpr, tpr) of `model` under `attack`; empty when the attack is unavailable."""
        s = self.scores.get(attack, {}).get(model)
        return (np.zeros(0), np.zeros(0)) if s is None else roc_curve(s.forget, s.test)

    def rates(self, attack: str, threshold: float) -> dict[str, Rates]:
        """{model: Rates} of `attack` at `threshold` in the slider's units
        (`threshold_range`): "score > threshold"; the loss attack's slider is log10 of the
        loss, and a clip is flagged when its loss is below 10**threshold nats."""
        cut = -(10.0**threshold) if attack == "loss" else threshold
        out = {}
        for m, s in self.scores.get(attack, {}).items():
            tp, fp = rates_at(s.forget, s.test, cut)
            out[m] = Rates(tp, len(s.forget), fp, len(s.test))
        return out

    def threshold_range(self, attack: str) -> tuple[float, float, float]:
        """(low, high, default) of the slider for `attack`: nats of CE_gold - CE_model for
        the reference attack (default 0: fit better than the gold), log10 of the loss for the
        loss attack (default: the median test clip's loss under the unlearned model)."""
        by_model = self.scores.get(attack, {})
        pooled = np.concatenate([np.r_[s.forget, s.test] for s in by_model.values()] or [[0.0]])
        if attack == "loss":
            pooled = np.log10(np.maximum(-pooled, 1e-8))
        pooled = pooled[np.isfinite(pooled) & (np.abs(pooled) < 1e6)]
        lo, hi = np.percentile(pooled, [0.5, 99.5]) if len(pooled) else (0.0, 1.0)
        lo, hi = math.floor(lo * 10) / 10, math.ceil(hi * 10) / 10
        if attack == "loss":
            u = by_model.get("unlearned") or next(iter(by_model.values()), None)
            default = 0.0 if u is None else float(np.log10(max(np.median(-u.test), 1e-8)))
        else:
            default = 0.0
        hi = max(hi, lo + 0.1)
        return lo, hi, round(min(max(default, lo), hi), 2)


def audit_view(view: RunView, top: int = RISKY_TOP) -> AuditView | None:
    """The Audit panel's data for a run; None before the unlearned model is evaluated."""
    if not view.has_unlearned:
        return None
    local = attack_positions(np.arange(len(view.positions["test"])), view.test_forgotten)
    losses = {  # a diverged model's NaN/inf losses count as the worst fit
        m: (finite_loss(view.losses[m]["forget"]), finite_loss(view.losses[m]["test"][local]))
        for m in view.models
    }
    scores = {"loss": {m: AttackScores(-f, -t) for m, (f, t) in losses.items()}}
    if view.has_gold:
        g_f, g_t = losses[GOLD]
        scores["reference"] = {
            m: AttackScores(reference_score(f, g_f), reference_score(t, g_t))
            for m, (f, t) in losses.items()
        }
    n_f, n_t = len(view.positions["forget"]), len(local)
    note = ""
    if min(n_f, n_t) < MIN_AUC_SIDE:
        note = (
            f"too few clips for a stable curve: {n_f} forget and {n_t} test clips "
            f"(at least {MIN_AUC_SIDE} on each side)"
        )
    members = {m: _member_probability(view, m) for m in view.models}
    ranked_by = "reference" if "reference" in scores else "loss"
    rank = scores["reference"]["unlearned"].forget if view.has_gold else members["unlearned"]
    order = np.argsort(-np.nan_to_num(rank, nan=-np.inf), kind="stable")[:top]
    metrics = view.report.get("models", {})
    return AuditView(
        models=view.models,
        has_gold=view.has_gold,
        scores=scores,
        n_forget=n_f,
        n_test=n_t,
        test_desc=_test_desc(view, n_t),
        curve_note=note,
        class_names=list(view.class_names),
        forgotten_classes=tuple(view.forgotten_classes),
        class_acc={s: {m: _class_acc(view.confusions[s][m]) for m in view.models} for s in _SETS},
        relearn=view.report.get("relearn"),
        probe={m: (metrics.get(m) or {}).get("probe_acc") for m in view.models},
        risky=[_risky(view, int(i), members, scores.get("reference")) for i in order],
        ranked_by=ranked_by,
    )


_SETS = ("test", "forget")


def _test_desc(view: RunView, n: int) -> str:
    if n < len(view.positions["test"]):
        return f"the {n} test clips of the forgotten classes or speaker"
    return f"all {n} test clips"


def _class_acc(cm: np.ndarray) -> np.ndarray:
    """(C,) accuracy per true class from (C, C) counts; NaN for a class without clips."""
    n = cm.sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.diag(cm) / np.maximum(n, 1), np.nan)


def _member_probability(view: RunView, model: str) -> np.ndarray:
    """(F,) P(member) of each forget clip under `model`'s loss attack (fit on Dr vs Dt)."""
    loss = view.losses[model]
    return np.asarray(
        member_probability(loss["retain"], loss["test"], loss["forget"], view.seed), float
    )


def _risky(view: RunView, i: int, members: dict, reference: dict | None) -> RiskyClip:
    """Forget clip number i (an index into the forget positions)."""
    pos = int(view.positions["forget"][i])
    label = view.clip_label(pos)
    preds, p_true = {}, {}
    for m in view.models:
        p = softmax(view.logits[m][pos : pos + 1])[0]
        preds[m], p_true[m] = view.class_names[int(p.argmax())], float(p[label])
    return RiskyClip(
        pos=pos,
        label=view.class_names[label],
        describe=view.describe(pos),
        preds=preds,
        p_true=p_true,
        member={m: float(members[m][i]) for m in view.models},
        reference={m: float(s.forget[i]) for m, s in (reference or {}).items()},
    )
