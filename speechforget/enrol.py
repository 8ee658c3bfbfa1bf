"""A visitor's voice in the model: train it in, then forget it like any other request.

    base = prepare("sid")                                    # the built-in context
    visitor = read_visitor("me", "recordings/", "sid")       # or make_visitor(...) from clips
    ctx = enrol(base, visitor, Store(private_folder))        # trains the original with you
    res = run_experiment(cfg_with(forget="speaker:me"), ctx=ctx)

The enrolled context's original is trained with the built-in recipe on the built-in
training set plus the visitor's clips (for speaker identification the visitor is one more
class). Its gold, for forgetting the visitor, is the recipe on the built-in training set
alone: in keyword spotting that is the shipped original bit for bit (same spec, recipe,
data and seed) and is reused; in speaker identification it has one more output and is
trained once, kept in the shared store (it holds nothing of the visitor).

Privacy: everything trained with the visitor's clips lives in `store`, which the caller
points at a private folder (the app: the visitor's session folder), never in the shared
cache; nothing here logs the visitor's files or clips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from speechforget.config import TrainConfig
from speechforget.data.visitor import HELD, Visitor, with_visitor
from speechforget.engine import StepCallback
from speechforget.models import builtin
from speechforget.pipeline import Context
from speechforget.store import Store
from speechforget.training import Trained, featurize, gold_budget, gold_without_visitor
from speechforget.training.builtin import train_builtin


@dataclass
class Enrolment:
    """A visitor's clips added to the built-in context `base`."""

    base: Context
    visitor: Visitor
    held: np.ndarray  # positions (into the enrolled task) of the visitor's held-back clips
    trained: np.ndarray  # positions of the visitor's training clips
    num_classes: int  # of the enrolled task
    gold_store: Store  # where a visitor-free gold may be kept (shared)

    def is_base_train(self, retain: np.ndarray) -> bool:
        """True when `retain` is exactly the built-in training set (the visitor forgotten)."""
        base_train = self.base.task.where("train")
        return len(retain) == len(base_train) and np.array_equal(np.sort(retain), base_train)

    def gold(self, on_step: StepCallback | None = None, device: str = "auto") -> Trained:
        b = self.base
        return gold_without_visitor(
            b.original, b.task, b.x, self.num_classes, on_step, device, self.gold_store
        )

    def budget(self, device: str = "auto") -> float | None:
        """The time rule's budget for the visitor-free gold: training.gold_budget on the
        built-in training set (a comparable kept gold's time, else the estimate from its
        work; not the original's recorded training time, measured in other conditions)."""
        b = self.base
        return gold_budget(b.original, b.x, b.task.where("train"), b.store, device)

    def summary(self) -> dict:
        """What the report says of the visitor: who, how many clips trained and held back."""
        v, b = self.visitor, self.base.original
        reused = b.model.spec().get("num_classes") == self.num_classes
        gold = (
            "the shipped original, reused: the same recipe, data and seed as a retrain without you"
            if reused
            else "the recipe on the built-in training set without you, with one more output "
            "(shipped in assets/golds, else retrained once and kept for every visitor)"
        )
        return {"speaker": v.name, "n_added": v.n_trained, "n_held_back": v.n_held, "gold": gold}


def enrol(
    base: Context,
    visitor: Visitor,
    store: Store,
    on_step: StepCallback | None = None,
    gold_store: Store | None = None,
) -> Context:
    """The context whose original was trained with the visitor's clips (see the module
    docstring). `store` must be private to the visitor; `gold_store` (default: `base`'s)
    keeps the visitor-free gold."""
    backbone = base.original.meta.get("backbone")
    if builtin(str(backbone)) is None:
        raise ValueError(
            f"adding a speaker trains a new original: only the built-in backbones can "
            f"(this run uses '{backbone}'); use --backbone cnn"
        )
    if base.task.task == "kws":
        unknown = sorted(set(visitor.words.tolist()) - set(base.task.class_names))
        if unknown:
            raise ValueError(
                f"this data set has no keyword {', '.join(map(repr, unknown))}; "
                f"record only {', '.join(base.task.class_names)}"
            )
    data = with_visitor(base.task.data, visitor)
    task = data.task(base.task.task)
    n_base = len(base.task)
    if not np.array_equal(task.index[:n_base], base.task.index):
        raise ValueError("the visitor's clips must come after the built-in clips")
    new_x = featurize(base.original.model, task.waves[n_base:])
    x = torch.cat([base.x, new_x]) if len(new_x) else base.x
    recipe = TrainConfig(**base.original.meta["recipe"])  # the base original's: same recipe
    original = train_builtin(str(backbone), task, x, recipe=recipe, on_step=on_step)
    original.meta["added"] = {"speaker": visitor.name, "n_added": visitor.n_trained}
    mine = np.flatnonzero(task.speaker == len(data.speaker_names) - 1)
    ctx = Context(task, x, original, store)
    ctx.enrolment = Enrolment(
        base,
        visitor,
        held=mine[task.split[mine] == HELD],
        trained=mine[task.split[mine] == "train"],
        num_classes=task.num_classes,
        gold_store=gold_store or base.store,
    )
    return ctx
