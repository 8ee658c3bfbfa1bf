"""What a model makes of a visitor's own clips, and a verdict in plain words: the "Prove
it" step of the your-voice loop (speechforget.enrol trains the visitor in).

    heard = hearing(ctx)              # after train-in: held-back clips, with you vs shipped
    proof = prove(res)                # after forgetting: every clip of yours, three models
    print(proof.verdict)

A clip's membership score is the paper's loss attack (`member_probability`, fit on the
model's retain vs test clips) applied to the clip: near 1, the model treats it like its
training data; near 0, like a clip it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from speechforget.engine import predict
from speechforget.evaluation import member_probability, softmax
from speechforget.pipeline import Context, Result

MODEL_LABELS = {
    "original": "trained with you",
    "unlearned": "after forgetting",
    "retrain": "never heard you (gold)",
    "shipped": "shipped (never heard you)",
}
CLOSE = 0.1  # membership scores this close to gold's count as "like the gold"


@dataclass(frozen=True)
class Heard:
    """One model on one clip: its top label, that label's probability, the probability of
    the clip's true label, and the clip's membership score (None where not computed)."""

    top: str
    p_top: float
    p_true: float
    member: float | None = None


@dataclass(frozen=True)
class ClipRow:
    kind: str  # "training" (trained in, then forgotten) or "held back" (never trained on)
    said: str  # the true label: the keyword, or the visitor's name
    by: dict[str, Heard]  # {model: Heard}


@dataclass(frozen=True)
class Proof:
    rows: list[ClipRow]
    verdict: str
    member: dict[str, float]  # {model: mean membership score of the visitor's training clips}
    held_acc: dict[str, float]  # {model: accuracy on the held-back clips}


def _heard(probs: np.ndarray, y: np.ndarray, names: list[str], member=None) -> list[Heard]:
    top = probs.argmax(1)
    return [
        Heard(
            names[t],
            float(p[t]),
            float(p[k]),
            None if member is None else float(member[i]),
        )
        for i, (p, t, k) in enumerate(zip(probs, top, y))
    ]


def hearing(ctx: Context) -> list[ClipRow]:
    """The visitor's held-back clips under the model trained with them and under the
    shipped original that never heard them (for speaker identification the shipped model
    has no class for the visitor: its top guess is another speaker)."""
    e = ctx.enrolment
    names, held = ctx.task.class_names, e.held
    y = ctx.task.y[held]
    by = {"original": _heard(_probs(ctx.original.model, ctx, held), y, names)}
    shipped = softmax(predict(e.base.original.model, ctx.x[held], "cpu")[0].numpy())
    pad = np.zeros((len(held), len(names) - shipped.shape[1]), np.float32)  # no class for you
    by["shipped"] = _heard(np.concatenate([shipped, pad], 1), y, names)
    return [ClipRow("held back", names[k], {m: by[m][i] for m in by}) for i, k in enumerate(y)]


def _probs(model, ctx: Context, idx: np.ndarray) -> np.ndarray:
    return softmax(predict(model, ctx.x[idx], "cpu")[0].numpy())


def prove(res: Result, seed: int = 0) -> Proof:
    """Every clip of the visitor (training and held back) under the original (trained with
    them), the unlearned and the gold model, with membership scores and a verdict."""
    ctx, split = res.ctx, res.split
    e, names, y = ctx.enrolment, ctx.task.class_names, ctx.task.y
    idx = np.concatenate([e.trained, e.held])
    kinds = ["training"] * len(e.trained) + ["held back"] * len(e.held)
    by, member, held_acc = {}, {}, {}
    for m, ev in res.evals.items():
        probs = softmax(ev.logits[idx])
        loss = ev.losses
        scores = member_probability(loss[split.retain], loss[split.test], loss[idx], seed)
        by[m] = _heard(probs, y[idx], names, np.atleast_1d(scores))
        member[m] = float(np.mean(np.atleast_1d(scores)[: len(e.trained)]))
        held_acc[m] = float(np.mean(probs[len(e.trained) :].argmax(1) == y[e.held]))
    rows = [
        ClipRow(k, names[y[i]], {m: by[m][j] for m in by})
        for j, (i, k) in enumerate(zip(idx, kinds))
    ]
    return Proof(
        rows, verdict(rows, member, held_acc, ctx.task.task, e.visitor.name), member, held_acc
    )


def _most_said(rows: list[ClipRow], model: str) -> tuple[str, float]:
    """The label a model gives most often to the held-back clips, and its mean probability."""
    heard = [r.by[model] for r in rows if r.kind == "held back" and model in r.by]
    if not heard:
        return "-", 0.0
    labels = [h.top for h in heard]
    top = max(set(labels), key=labels.count)
    return top, float(np.mean([h.p_top for h in heard if h.top == top]))


def verdict(
    rows: list[ClipRow], member: dict[str, float], held_acc: dict[str, float], task: str, me: str
) -> str:
    """Plain words: is the visitor still picked out (sid) or still remembered (kws)?"""
    n = sum(r.kind == "held back" for r in rows)
    parts = []
    if task == "sid":
        top, p = _most_said(rows, "unlearned")
        if top == me:
            parts.append(
                f"The model still picks you out: '{me}' with {p:.0%} on your held-back clips."
            )
        else:
            g_top, g_p = _most_said(rows, "retrain")
            parts.append(
                f"You are no longer identified: on your held-back clips it says {top} with "
                f"{p:.0%}, as the model that never heard you does ({g_top} with {g_p:.0%})."
            )
    else:
        right = {m: round(a * n) for m, a in held_acc.items()}
        parts.append(
            f"After forgetting, the model hears {right.get('unlearned', 0)}/{n} of your "
            f"held-back words right ({right.get('original', 0)}/{n} when trained with you, "
            f"{right.get('retrain', 0)}/{n} for the model that never heard you: it keeps the "
            "words, only your recordings should go)."
        )
    if {"unlearned", "retrain", "original"} <= member.keys():
        u, g, o = member["unlearned"], member["retrain"], member["original"]
        like = abs(u - g) <= CLOSE
        parts.append(
            f"Your recordings' membership score is {u:.2f} after forgetting, {g:.2f} under the "
            f"model that never heard you and {o:.2f} before: "
            + (
                "they look like clips it never trained on."
                if like
                else "they still look like training data."
                if u > g
                else "lower than a model that never heard you would give (over-forgetting)."
            )
        )
    return " ".join(parts)
