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
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import torch

from speechforget import report
from speechforget.config import DataConfig, ExperimentConfig, TrainConfig, apply_overrides
from speechforget.data import Split, TaskData, load_source, make_split
from speechforget.disk_cache import cached_rows
from speechforget.engine import RunResult, StepLog, predict, warm_up
from speechforget.evaluation import model_metrics, per_sample_ce
from speechforget.models import state_hash
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
    # the original's (logits (M, C), embeddings (M, D)) once computed: it never changes
    original_outputs: tuple[np.ndarray, np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )

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
        """The JSON report (accuracies as fractions 0..1): see speechforget.report."""
        return report.build(self)


@lru_cache(maxsize=4)
def _prepare_cached(
    task: str, backbone: str, data: tuple, checkpoint: str | None, recipe: tuple, device: str
) -> Context:
    warm_up()  # torch's lazy imports, kept out of every timed run (gold and unlearning)
    data_cfg = DataConfig(*data)
    tdata = load_source(data_cfg).task(task)
    if backbone == "cnn" and checkpoint is None:
        from speechforget.models import build_model
        from speechforget.originals import CNN_SPEC

        feat_model = build_model({**CNN_SPEC, "num_classes": tdata.num_classes})
        waves = tdata.waves
        key = {"spec": feat_model.spec(), "data": tdata.data.checksum(), "task": task}
        (x,) = cached_rows(
            "features", key, len(waves), lambda rows: (featurize(feat_model, waves[rows]).numpy(),)
        )
        x = torch.from_numpy(x)
        return Context(tdata, x, load_original(backbone, tdata, x))
    from speechforget.engine import resolve_device
    from speechforget.models import load_original_checkpoint  # transformer backbones

    trained = load_original_checkpoint(
        backbone, tdata, checkpoint, recipe=original_recipe(backbone, dict(recipe)), device=device
    )
    x = featurize(trained.model, tdata.waves, str(resolve_device(device)))
    return Context(tdata, x, trained)


def original_recipe(backbone: str, overrides: dict) -> TrainConfig | None:
    """The recipe a transformer original is fine-tuned with: the backbone's default with
    `overrides` (--recipe KEY=VALUE) applied; None (the default) when there are none.
    The built-in CNN's original is shipped: it is retrained with `train --set`."""
    if not overrides:
        return None
    if backbone == "cnn":
        raise ValueError(
            "--recipe sets how a transformer backbone is fine-tuned here; the "
            "built-in CNN's original is shipped: retrain it with "
            "`python -m speechforget train --set KEY=VALUE`"
        )
    from speechforget.models.pretrained import default_recipe

    return apply_overrides(default_recipe(backbone), overrides)


def prepare(
    task: str = "kws",
    backbone: str = "cnn",
    data: DataConfig | None = None,
    checkpoint: str | None = None,
    recipe: dict | None = None,
    device: str = "auto",
) -> Context:
    """Load the clips, featurize them once and load (or train) the original model.

    recipe: --recipe overrides of a transformer original's fine-tuning recipe;
    device: where a transformer original is fine-tuned and its inputs featurized."""
    data = data or DataConfig()
    recipe = recipe or {}
    original_recipe(backbone, recipe)  # a bad key fails here, before any data is loaded
    key = tuple(sorted((k, str(v)) for k, v in recipe.items()))
    return _prepare_cached(task, backbone, dataclasses.astuple(data), checkpoint, key, device)


_ORIGINAL_OUTPUTS_LOCK = threading.Lock()


def original_outputs(ctx: Context, device: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """The original's logits (M, C) and embeddings (M, D) on every clip, computed once
    per context (a forward pass over every clip takes seconds on a small CPU)."""
    with _ORIGINAL_OUTPUTS_LOCK:  # a second caller waits instead of computing it again
        if ctx.original_outputs is None:
            model = ctx.original.model
            key = {
                "spec": model.spec(),
                "state": state_hash(model),
                "task": ctx.task.task,
                "data": ctx.original.meta.get("data_checksum"),
                "n": len(ctx.x),
            }
            ctx.original_outputs = cached_rows(
                "outputs",
                key,
                len(ctx.x),
                lambda rows: tuple(t.numpy() for t in predict(model, ctx.x[rows], device)),
            )
    return ctx.original_outputs


def evaluate(
    model: Backbone, ctx: Context, split: Split, seed: int, device: str = "auto"
) -> ModelEval:
    if model is ctx.original.model:
        logits, emb = original_outputs(ctx, device)
    else:
        logits, emb = (t.numpy() for t in predict(model, ctx.x, device))
    metrics = model_metrics(
        logits, ctx.task.y, split.forget, split.retain, split.test, split.test_forgotten, seed=seed
    )
    return ModelEval(logits, emb, per_sample_ce(logits, ctx.task.y), metrics)


def run_unlearning(
    cfg: ExperimentConfig,
    ctx: Context,
    split: Split,
    budget_s: float | None,
    on_step: Callable[[StepLog], object] | None = None,
    gold: Trained | None = None,
) -> tuple[Backbone, RunResult]:
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


def gold_budget(ctx: Context, split: Split) -> float | None:
    """The paper's rule: unlearning may not take longer than the gold retrain. The
    cached gold time when there is one, else the original's training time scaled
    to the retain set."""
    cached = gold_cached_meta(ctx.original, split.retain)
    if cached is not None:
        return float(cached["time_s"])
    n_train = ctx.original.meta.get("n_train") or len(ctx.task.where("train"))
    if ctx.original.meta.get("train_time_s") is None:
        return None  # a ready checkpoint whose training time is unknown: no budget yet
    return float(ctx.original.meta["train_time_s"]) * len(split.retain) / n_train


def start_experiment(cfg: ExperimentConfig, ctx: Context | None = None) -> Result:
    """The split for cfg.forget (ValueError when it leaves nothing to forget or retain),
    nothing trained yet. Steps: start_experiment -> unlearn_step -> gold_step; the app
    calls them one by one to show the unlearned model's results before the gold's."""
    ctx = ctx or prepare(cfg.task, cfg.backbone, cfg.data, cfg.checkpoint, cfg.recipe, cfg.device)
    return Result(cfg, ctx, make_split(ctx.task, cfg.forget, cfg.seed))


def _tagged(on_step: ExperimentCallback | None, which: str):
    return None if on_step is None else (lambda log: on_step(which, log))


def _retrain(res: Result, on_step: ExperimentCallback | None) -> Trained:
    ctx, device = res.ctx, res.config.device
    return gold_retrain(
        ctx.original, ctx.task, ctx.x, res.split.retain, _tagged(on_step, "retrain"), device=device
    )


def _keep_gold(res: Result, gold: Trained) -> None:
    res.models["retrain"], res.times["retrain"] = gold.model, gold.meta["time_s"]


def unlearn_step(res: Result, on_step: ExperimentCallback | None = None) -> Result:
    """Run the method on a copy of the original and evaluate it (and the original).
    With `--method retrain` the gold retrain runs here and is kept for gold_step."""
    cfg, ctx, split = res.config, res.ctx, res.split
    gold = None
    if cfg.method == "retrain":
        gold = _retrain(res, on_step)
        if not gold.meta.get("stopped"):
            _keep_gold(res, gold)
    model, run = run_unlearning(
        cfg, ctx, split, gold_budget(ctx, split), _tagged(on_step, "unlearned"), gold
    )
    res.models["unlearned"], res.runs["unlearned"] = model, run
    res.times["unlearned"], res.stopped = run.time_s, run.stopped
    if "original" not in res.evals:
        res.evals["original"] = evaluate(ctx.original.model, ctx, split, cfg.seed, cfg.device)
    if not res.stopped:
        res.evals["unlearned"] = evaluate(model, ctx, split, cfg.seed, cfg.device)
    return res


def gold_step(res: Result, on_step: ExperimentCallback | None = None) -> Result:
    """Retrain the gold model on the retain set (cached on disk) and evaluate it."""
    cfg, ctx, split = res.config, res.ctx, res.split
    if "retrain" not in res.models:
        gold = _retrain(res, on_step)
        if gold.meta.get("stopped"):
            res.stopped = True
            return res
        _keep_gold(res, gold)
    if "retrain" not in res.evals:
        res.evals["retrain"] = evaluate(res.models["retrain"], ctx, split, cfg.seed, cfg.device)
    return res


def run_experiment(
    cfg: ExperimentConfig, on_step: ExperimentCallback | None = None, ctx: Context | None = None
) -> Result:
    """Original, unlearned and gold models evaluated side by side (see module docstring).

    The unlearning run goes first (its live curve is what a user watches), then the
    gold retrain; with `--method retrain` the gold model is the unlearned one."""
    res = unlearn_step(start_experiment(cfg, ctx), on_step)
    if res.stopped or not (cfg.run_gold or cfg.method == "retrain"):
        return res
    return gold_step(res, on_step)
