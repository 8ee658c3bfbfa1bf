"""What the app shows of a run, read once from the pipeline Result: a typed `RunView` of
numpy arrays and plain Python (no Gradio, no plotly, no tensors).

This is the only module the app's UI reads a Result through; the UI keeps the Result
itself only to hand it back to the core (the gold retrain, an uploaded clip's check).

    view = run_view(res)
    view.report                     # speechforget.report.build(res): metrics, gaps, config
    view.has_unlearned, view.has_gold
    view.confusions["test"]["unlearned"]       # (C, C) counts
    view.losses["original"]["forget"]          # (N,) per-clip CE in nats
    view.clip_choices("forget"), view.clip_probs(pos), view.clip_audio(pos)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from speechforget import report
from speechforget.data import TaskData
from speechforget.data.audio import to_int16
from speechforget.data.dataset import SAMPLE_RATE
from speechforget.evaluation import confusion_matrix, softmax
from speechforget.pipeline import Result

SUBSETS = ("forget", "retain", "test")
MODEL_ORDER = ("original", "unlearned", "retrain")


@dataclass(frozen=True)
class EmbeddingSample:
    """Embeddings of the same clips before (the original) and after (the unlearned model)."""

    before: np.ndarray  # (N, D)
    after: np.ndarray  # (N, D)
    labels: np.ndarray  # (N,) class index
    forget: np.ndarray  # (N,) bool: a forget clip
    hover: list[str]  # N clip descriptions
    positions: np.ndarray  # (N,) positions into the task's clips


@dataclass(frozen=True)
class RunView:
    """A finished (or stopped) run as the app shows it. Positions index the task's clips."""

    report: dict  # speechforget.report.build(res)
    models: tuple[str, ...]  # the evaluated models, in display order
    trained: tuple[str, ...]  # the models with weights (a stopped run's are not evaluated)
    task: str  # "kws" | "sid"
    class_names: list[str]
    forgotten_classes: tuple[int, ...]
    method: str
    seed: int
    run_gold: bool  # a gold retrain follows the unlearning run
    stopped: bool
    times: dict[str, float]  # wall time (s) per trained model
    positions: dict[str, np.ndarray]  # {"forget"|"retain"|"test": (N,) positions}
    confusions: dict[str, dict[str, np.ndarray]]  # {subset: {model: (C, C) counts}}
    losses: dict[str, dict[str, np.ndarray]]  # {model: {subset: (N,) per-clip CE, nats}}
    embeddings: EmbeddingSample | None  # None until the unlearned model is evaluated
    logits: dict[str, np.ndarray] = field(repr=False)  # {model: (M, C)} on every clip
    clips: TaskData = field(repr=False)
    test_forgotten: np.ndarray | None = field(default=None, repr=False)  # mask over "test"

    @property
    def has_unlearned(self) -> bool:
        return "unlearned" in self.models

    @property
    def has_gold(self) -> bool:
        return "retrain" in self.models

    # ---- clips --------------------------------------------------------------------------------

    def clip_label(self, pos: int) -> int:
        return int(self.clips.y[pos])

    def describe(self, pos: int) -> str:
        """e.g. "'stop' by spk07, take 2 (train)"."""
        return self.clips.describe(pos)

    def subset_of(self, pos: int) -> str:
        """ "forget", "retain" or "test" ("?" for a clip of none of them)."""
        return next((k for k, p in self.positions.items() if pos in set(p.tolist())), "?")

    def clip_audio(self, pos: int) -> tuple[int, np.ndarray]:
        """(sample rate, (L,) int16 PCM) of one clip, ready for an audio player."""
        return SAMPLE_RATE, to_int16(self.clips.data.waves[self.clips.index[pos]])

    def clip_probs(self, pos: int) -> dict[str, np.ndarray]:
        """{model: (C,) class probabilities} of one clip, from the stored logits."""
        return {m: softmax(self.logits[m][pos : pos + 1])[0] for m in self.models}

    def clip_choices(self, subset: str, limit: int = 60) -> list[tuple[str, int]]:
        """(label, position) of up to `limit` clips of a subset, spread over its classes;
        in the test set the clips of forgotten classes or speakers come first."""
        pos, mask = self.positions[subset], self.test_forgotten
        if subset == "test" and mask is not None:
            pos = np.concatenate([pos[mask], pos[~mask]])
        picked = _round_robin(pos, self.clips.y, limit)
        if subset == "test" and mask is not None:
            forgotten = set(pos[: int(mask.sum())].tolist())
            picked.sort(key=lambda i: i not in forgotten)
        return [(f"#{i} {self.describe(i)}", i) for i in picked]


def _round_robin(pos: np.ndarray, y: np.ndarray, limit: int) -> list[int]:
    """Up to `limit` of `pos`, one of each class in turn (in order within a class)."""
    by_class: dict[int, list[int]] = {}
    for i in pos[np.argsort(y[pos], kind="stable")]:
        by_class.setdefault(int(y[i]), []).append(int(i))
    picked, k = [], 0
    while len(picked) < min(limit, len(pos)):
        for items in by_class.values():
            if k < len(items) and len(picked) < limit:
                picked.append(items[k])
        k += 1
    return picked


# ---- reading a Result ---------------------------------------------------------------------


def run_view(res: Result) -> RunView:
    """The view of a pipeline Result (see RunView)."""
    cfg, split, task = res.config, res.split, res.ctx.task
    models = tuple(k for k in MODEL_ORDER if k in res.evals)
    positions = {"forget": split.forget, "retain": split.retain, "test": split.test}
    return RunView(
        report=report.build(res),
        models=models,
        trained=tuple(k for k in MODEL_ORDER if k in res.models),
        task=task.task,
        class_names=list(task.class_names),
        forgotten_classes=tuple(split.forgotten_classes),
        method=cfg.method,
        seed=cfg.seed,
        run_gold=cfg.run_gold,
        stopped=res.stopped,
        times=dict(res.times),
        positions=positions,
        confusions={s: {m: _confusion(res, m, p) for m in models} for s, p in positions.items()},
        losses={m: {s: res.evals[m].losses[p] for s, p in positions.items()} for m in models},
        embeddings=embedding_sample(res) if "unlearned" in models else None,
        logits={m: res.evals[m].logits for m in models},
        clips=task,
        test_forgotten=split.test_forgotten,
    )


def _confusion(res: Result, model: str, pos: np.ndarray) -> np.ndarray:
    """(C, C) counts of `model` on the clips at `pos` (rows true class, columns predicted)."""
    task = res.ctx.task
    return confusion_matrix(res.evals[model].logits[pos], task.y[pos], task.num_classes)


def embedding_sample(
    res: Result, max_points: int = 1200, after: str = "unlearned"
) -> EmbeddingSample:
    """Embeddings of the same clips before (original) and after (`after` model): a seeded
    sample of at most max_points clips from forget, retain and test (every forget clip
    up to half of it)."""
    from speechforget.viz.embedding import (
        subsample_positions,
    )  # numpy only (local: no plotly at import)

    split, task = res.split, res.ctx.task
    others = np.concatenate([split.retain, split.test])
    pos = subsample_positions(split.forget, others, max_points, seed=res.config.seed)
    return EmbeddingSample(
        before=res.evals["original"].embeddings[pos],
        after=res.evals[after].embeddings[pos],
        labels=task.y[pos],
        forget=np.isin(pos, split.forget),
        hover=[task.describe(int(i)) for i in pos],
        positions=pos,
    )
