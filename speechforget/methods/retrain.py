"""Retrain (the gold standard): train from scratch on the retain set only, from the
original's initialisation and with its recipe. Delegates to
speechforget.originals.gold_retrain, which caches the result per retain set; its
time is the budget every other method is held to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from speechforget.engine import RunResult
from speechforget.methods.base import Method, setting
from speechforget.models.base import Backbone


@dataclass
class RetrainConfig:
    """The recipe is the original's (epochs, lr, ...); nothing to tune here."""

    use_cache: bool = setting(True, "reuse a cached gold retrain of the same retain set")


class Retrain(Method):
    name = "retrain"
    label = "Retrain (gold)"
    paper = "the gold standard: retrain from scratch on Dr with the original's recipe"
    Config = RetrainConfig
    defaults = {"sample": {}, "class": {}}

    def run_whole(
        self, ctx: Any, split: Any, device: str, on_step: Any = None
    ) -> tuple[Backbone, RunResult]:
        from speechforget.originals import gold_retrain

        gold = gold_retrain(
            ctx.original,
            ctx.task,
            ctx.x,
            split.retain,
            on_step,
            use_cache=self.cfg.use_cache,
            device=device,
        )
        return gold.model, gold.run or RunResult(time_s=float(gold.meta["time_s"]))
