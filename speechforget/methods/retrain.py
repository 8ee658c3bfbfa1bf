"""Retrain (the gold standard): train from scratch on the retain set only, from the
original's initialisation and with its recipe, through the context's retrain_gold
(speechforget.training.retrain_gold, the one entry point the pipeline and the bench use
too), which keeps the result per retain set; its time is the budget every other method
is held to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from speechforget.engine import RunResult
from speechforget.methods.base import Method, setting
from speechforget.models.base import Backbone
from speechforget.training.gold import gold_run


@dataclass
class RetrainConfig:
    """The recipe is the original's (epochs, lr, ...); nothing to tune here."""

    use_cache: bool = setting(True, "reuse a kept gold retrain of the same retain set")


class Retrain(Method):
    name = "retrain"
    label = "Retrain (gold)"
    paper = "the gold standard: retrain from scratch on Dr with the original's recipe"
    Config = RetrainConfig
    defaults = {"sample": {}, "class": {}}
    yields_gold = True

    def run_whole(
        self, ctx: Any, split: Any, device: str, on_step: Any = None
    ) -> tuple[Backbone, RunResult]:
        gold = ctx.retrain_gold(split.retain, on_step, device, use_cache=self.cfg.use_cache)
        if gold.meta.get("stopped"):
            return gold.model, gold.run
        # the gold's time, work and conditions as kept with it (a later run that loads it
        # reports the same)
        return gold.model, gold_run(gold)
