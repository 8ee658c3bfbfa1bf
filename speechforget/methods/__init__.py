"""Unlearning methods: one small file each, registered by name below.

    from speechforget.methods import METHODS, run_method
    METHODS.build("scrub", mode="class", overrides={"lr": "1e-4"}, superloss=True)

Adding a method: write methods/<name>.py (a Method subclass with name, label,
paper, Config, defaults, steps, loss) and add its class to the Registry line.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from speechforget.engine import RunResult, StepLog, unlearn
from speechforget.methods.bad_teaching import BadTeaching
from speechforget.methods.base import Method, UnlearnData
from speechforget.methods.finetune import Finetune
from speechforget.methods.grad_ascent import GradAscent
from speechforget.methods.loss_match import LossMatch
from speechforget.methods.neggrad_plus import NegGradPlus
from speechforget.methods.random_label import RandomLabel
from speechforget.methods.registry import MODES, SL_SUFFIX, Registry, superloss_schema
from speechforget.methods.retrain import Retrain
from speechforget.methods.salun import SalUn
from speechforget.methods.scrub import Scrub

if TYPE_CHECKING:
    from speechforget.config import ExperimentConfig
    from speechforget.data import Split
    from speechforget.models.base import Backbone
    from speechforget.pipeline import Context

METHODS = Registry(
    Retrain, Finetune, GradAscent, NegGradPlus, RandomLabel, SalUn, Scrub, BadTeaching, LossMatch
)


def get_method(name: str) -> type[Method]:
    """The Method class registered as `name`; unknown names list the valid ones."""
    return METHODS.get_method(name)


def describe_methods() -> str:
    return METHODS.describe()


def method_schema(name: str, mode: str = "sample") -> list[dict[str, Any]]:
    """Widget descriptions of a method's Config fields, defaults resolved for `mode`."""
    return METHODS.schema(name, mode)


def check_experiment(cfg: ExperimentConfig) -> None:
    """Raise ValueError (listing the valid choices) for an unknown method or setting,
    before any data is loaded or model trained."""
    from speechforget.data.splits import ForgetSpec

    if cfg.golds < 1:
        raise ValueError(f"--golds must be at least 1, got {cfg.golds}")
    requests = [ForgetSpec.parse(p) for p in cfg.forget.split(";")] if ";" in cfg.forget else []
    specs = requests or [ForgetSpec.parse(cfg.forget)]
    if cfg.method != "none":
        for spec in specs:
            METHODS.build(cfg.method, spec.mode_for(cfg.task), cfg.method_overrides, cfg.superloss)


def unlearn_data(ctx: Context, split: Split) -> UnlearnData:
    return UnlearnData(
        x=ctx.x,
        y=ctx.y,
        forget=torch.from_numpy(split.forget).long(),
        retain=torch.from_numpy(split.retain).long(),
        num_classes=ctx.task.num_classes,
        mode=split.mode,
        forgotten_classes=tuple(split.forgotten_classes),
        val=torch.from_numpy(split.val).long(),
        unheard=torch.from_numpy(split.unheard).long(),
    )


def trainable_copy(model: Backbone) -> Backbone:
    """A deep copy whose parameters all take gradients; the original is untouched."""
    twin = copy.deepcopy(model)
    for p in twin.parameters():
        p.requires_grad_(True)
    return twin


def run_method(
    cfg: ExperimentConfig,
    ctx: Context,
    split: Split,
    budget_s: float | None,
    on_step: Callable[[StepLog], object] | None = None,
) -> tuple[Backbone, RunResult]:
    """Run cfg.method (with cfg.method_overrides, cfg.superloss) on a copy of the
    original; the mode defaults come from split.mode. Returns the unlearned
    model (CPU, eval mode) and its RunResult; budget_s is the time budget (the gold
    retrain's time: the paper's rule)."""
    method = METHODS.build(cfg.method, split.mode, cfg.method_overrides, cfg.superloss)
    whole = method.run_whole(ctx, split, cfg.device, on_step)
    if whole is not None:
        return whole
    model = trainable_copy(ctx.original.model)
    train_cfg = method.train_config(seed=cfg.seed, device=cfg.device, time_budget_s=budget_s)
    run = unlearn(model, method, unlearn_data(ctx, split), train_cfg, on_step)
    return model.cpu().eval(), run


__all__ = [
    "METHODS",
    "MODES",
    "SL_SUFFIX",
    "Method",
    "UnlearnData",
    "check_experiment",
    "describe_methods",
    "get_method",
    "method_schema",
    "run_method",
    "superloss_schema",
    "trainable_copy",
    "unlearn_data",
]
