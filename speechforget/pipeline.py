"""The narrative of the project, top to bottom:

    audio source -> clips + labels -> forget spec -> (forget, retain, test) split
      -> original model -> unlearning method -> unlearned model
      -> retrained gold model (same recipe, retain only)
      -> evaluation (accuracy on Df/Dr/Dt, MIA, gaps to gold, time) -> report

`prepare` does the part that does not depend on the forget spec (and is cached
per process); `run_experiment` does the rest.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from speechforget.config import DataConfig, ExperimentConfig
from speechforget.data import Split, TaskData, load_source, make_split
from speechforget.engine import RunResult, StepLog, predict
from speechforget.evaluation import gap_to_retrain, model_metrics, per_sample_ce
from speechforget.models.base import Backbone
from speechforget.originals import Trained, featurize, gold_cached_meta, gold_retrain, load_original

# on_step(which, log): which is "unlearned" or "retrain"; a truthy return stops that run.
ExperimentCallback = Callable[[str, StepLog], object]


@dataclass
class Context:
    """Everything that does not depend on the forget spec."""

    task: TaskData
    x: torch.Tensor  # (M, ...) featurized inputs of every task clip
    original: Trained

    @property
    def y(self) -> torch.Tensor:
        return torch.from_numpy(self.task.y)


@dataclass
class ModelEval:
    """One model on every clip of the task: what the metrics and figures need."""

    logits: np.ndarray  # (M, C)
    embeddings: np.ndarray  # (M, D)
    losses: np.ndarray  # (M,) per-sample cross-entropy
    metrics: dict


@dataclass
class Result:
    config: ExperimentConfig
    ctx: Context
    split: Split
    evals: dict[str, ModelEval] = field(default_factory=dict)
    models: dict[str, Backbone] = field(default_factory=dict)
    runs: dict[str, RunResult] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)
    stopped: bool = False

    def report(self) -> dict:
        """The JSON report (accuracies as fractions 0..1)."""
        models = {k: dict(v.metrics) for k, v in self.evals.items()}
        for k in ("unlearned", "retrain"):
            if k in models:
                models[k]["time_s"] = round(self.times.get(k, float("nan")), 3)
        gap = (
            gap_to_retrain(models["unlearned"], models["retrain"])
            if "retrain" in models and "unlearned" in models
            else None
        )
        run = self.runs.get("unlearned")
        out = {
            "config": {**self.config.to_dict(), "train": self.ctx.original.meta.get("recipe"),
                       "sizes": self.split.sizes()},  # fmt: skip
            "models": models,
            "gap_to_retrain": gap,
            "history": [_hist(h) for h in (run.history if run else [])],
        }
        if "retrain" in self.times and "unlearned" in self.times and self.times["retrain"] > 0:
            out["time_ratio"] = round(self.times["unlearned"] / self.times["retrain"], 4)
            out["budget_hit"] = bool(run.budget_hit) if run else False
        return out


def _hist(h: StepLog) -> dict:
    d = h.to_dict()
    return {k: d[k] for k in ("step", "epoch", "forget_loss", "retain_loss", "elapsed_s")}


@lru_cache(maxsize=4)
def _prepare_cached(task: str, backbone: str, data: tuple, checkpoint: str | None) -> Context:
    data_cfg = DataConfig(*data)
    tdata = load_source(data_cfg).task(task)
    if backbone == "cnn" and checkpoint is None:
        from speechforget.models import build_model
        from speechforget.originals import CNN_SPEC

        feat_model = build_model({**CNN_SPEC, "num_classes": tdata.num_classes})
        x = featurize(feat_model, tdata.waves)
        return Context(tdata, x, load_original(backbone, tdata, x))
    from speechforget.models import load_original_checkpoint  # transformer backbones

    trained = load_original_checkpoint(backbone, tdata, checkpoint)
    return Context(tdata, featurize(trained.model, tdata.waves), trained)


def prepare(task: str = "kws", backbone: str = "cnn", data: DataConfig | None = None,
            checkpoint: str | None = None) -> Context:  # fmt: skip
    """Load the clips, featurize them once and load (or train) the original model."""
    data = data or DataConfig()
    return _prepare_cached(task, backbone, dataclasses.astuple(data), checkpoint)


def evaluate(
    model: Backbone, ctx: Context, split: Split, seed: int, device: str = "auto"
) -> ModelEval:
    logits, emb = predict(model, ctx.x, device)
    logits = logits.numpy()
    metrics = model_metrics(logits, ctx.task.y, split.forget, split.retain, split.test,
                            split.test_forgotten, seed=seed)  # fmt: skip
    return ModelEval(logits, emb.numpy(), per_sample_ce(logits, ctx.task.y), metrics)


def run_unlearning(cfg: ExperimentConfig, ctx: Context, split: Split, budget_s: float | None,
                   on_step: Callable[[StepLog], object] | None = None,
                   gold: Trained | None = None) -> tuple[Backbone, RunResult]:  # fmt: skip
    """Run the configured method on a copy of the original; the original is untouched."""
    if cfg.method == "none":
        return copy.deepcopy(ctx.original.model), RunResult()
    if cfg.method == "retrain":
        gold = gold or gold_retrain(
            ctx.original, ctx.task, ctx.x, split.retain, on_step, device=cfg.device
        )
        return gold.model, gold.run or RunResult(time_s=gold.meta["time_s"])
    from speechforget.methods import run_method

    return run_method(cfg, ctx, split, budget_s, on_step)


def gold_budget(ctx: Context, split: Split) -> float:
    """The paper's rule: unlearning may not take longer than the gold retrain. The
    cached gold time when there is one, else the original's training time scaled
    to the retain set."""
    cached = gold_cached_meta(ctx.original, split.retain)
    if cached is not None:
        return float(cached["time_s"])
    n_train = ctx.original.meta.get("n_train") or len(ctx.task.where("train"))
    return float(ctx.original.meta.get("train_time_s", 60.0)) * len(split.retain) / n_train


def run_experiment(cfg: ExperimentConfig, on_step: ExperimentCallback | None = None,
                   ctx: Context | None = None) -> Result:  # fmt: skip
    """Original, unlearned and gold models evaluated side by side (see module docstring).

    The unlearning run goes first (its live curve is what a user watches), then the
    gold retrain; with `--method retrain` the gold model is the unlearned one."""
    ctx = ctx or prepare(cfg.task, cfg.backbone, cfg.data, cfg.checkpoint)
    split = make_split(ctx.task, cfg.forget, cfg.seed)
    res = Result(cfg, ctx, split)
    res.evals["original"] = evaluate(ctx.original.model, ctx, split, cfg.seed, cfg.device)

    def tagged(which: str):
        return None if on_step is None else (lambda log: on_step(which, log))

    gold = None
    if cfg.method == "retrain":
        gold = gold_retrain(
            ctx.original, ctx.task, ctx.x, split.retain, tagged("retrain"), device=cfg.device
        )
    model, run = run_unlearning(cfg, ctx, split, gold_budget(ctx, split), tagged("unlearned"), gold)
    res.models["unlearned"], res.runs["unlearned"] = model, run
    res.times["unlearned"], res.stopped = run.time_s, run.stopped
    if res.stopped:
        return res
    res.evals["unlearned"] = evaluate(model, ctx, split, cfg.seed, cfg.device)
    if cfg.run_gold or gold is not None:
        gold = gold or gold_retrain(
            ctx.original, ctx.task, ctx.x, split.retain, tagged("retrain"), device=cfg.device
        )
        if gold.meta.get("stopped"):
            res.stopped = True
            return res
        res.models["retrain"], res.times["retrain"] = gold.model, gold.meta["time_s"]
        res.evals["retrain"] = evaluate(gold.model, ctx, split, cfg.seed, cfg.device)
    return res
