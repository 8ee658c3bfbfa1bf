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
from typing import TYPE_CHECKING

import numpy as np
import torch

from speechforget import progress, report
from speechforget.config import DEFAULT_BACKBONE, NO_METHOD, DataConfig, ExperimentConfig
from speechforget.data import Split, TaskData, load_source, make_split
from speechforget.engine import RunResult, StepLog, predict, warm_up
from speechforget.evaluation import added_metrics, model_metrics, per_sample_ce
from speechforget.evaluation.probe import probe_for_split
from speechforget.evaluation.relearn import MIN_FORGET as MIN_RELEARN
from speechforget.evaluation.relearn import relearn
from speechforget.models import state_hash
from speechforget.models.base import Backbone
from speechforget.store import Store
from speechforget.training import (
    Trained,
    check_recipe,
    gold_budget,
    gold_run,
    load_original,
    retrain_gold,
)

if TYPE_CHECKING:
    from speechforget.enrol import Enrolment

# on_step(which, log): which is "unlearned" or "retrain"; a truthy return stops that run.
ExperimentCallback = Callable[[str, StepLog], object]


@dataclass
class Context:
    """Everything that does not depend on the forget spec."""

    task: TaskData
    x: torch.Tensor  # (M, ...) featurized inputs of every task clip
    original: Trained
    store: Store = field(default_factory=Store.default)  # where golds and outputs are kept
    # the original's (logits (M, C), embeddings (M, D)) once computed: it never changes
    original_outputs: tuple[np.ndarray, np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )
    # a visitor's clips added to a built-in context (speechforget.enrol): its gold is the
    # recipe on the built-in training set alone
    enrolment: Enrolment | None = field(default=None, repr=False, compare=False)

    @property
    def y(self) -> torch.Tensor:
        return torch.from_numpy(self.task.y)

    def retrain_gold(
        self,
        retain: np.ndarray,
        on_step=None,
        device: str = "auto",
        use_cache: bool = True,
        replica: int = 0,
    ) -> Trained:
        """The gold retrain of a retain set (training.retrain_gold, kept in this store);
        replica k > 0 is the k-th independently seeded gold (the gold's own noise)."""
        if self.enrolment is not None and self.enrolment.is_base_train(retain) and not replica:
            return self.enrolment.gold(on_step, device)
        return retrain_gold(
            self.original,
            self.task,
            self.x,
            retain,
            on_step,
            use_cache=use_cache,
            device=device,
            store=self.store,
            replica=replica,
        )

    def budget(self, retain: np.ndarray, device: str = "auto") -> float | None:
        """The paper's time rule for a retain set (training.gold_budget)."""
        if self.enrolment is not None and self.enrolment.is_base_train(retain):
            return self.enrolment.budget(device)
        return gold_budget(self.original, self.x, retain, self.store, device)


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
    # "unlearned" and "retrain": time, work (sample passes) and the conditions of the time
    runs: dict[str, RunResult] = field(default_factory=dict)
    times: dict[str, float] = field(default_factory=dict)
    stopped: bool = False
    relearn: dict | None = None  # the relearning attack (evaluation.relearn), after the gold
    # golds retrained with other seeds (config.golds - 1 of them): the gold's own noise
    gold_replicas: list[ModelEval] = field(default_factory=list)

    def report(self) -> dict:
        """The JSON report (accuracies as fractions 0..1): see speechforget.report."""
        return report.build(self)


@lru_cache(maxsize=4)
def _prepare_cached(
    task: str,
    backbone: str,
    data: tuple,
    checkpoint: str | None,
    recipe: tuple,
    device: str,
    cache: str | None,
) -> Context:
    warm_up()  # torch's lazy imports, kept out of every timed run (gold and unlearning)
    store = Store.of(cache)
    progress.report(LOAD_DATA_STAGE)
    tdata = _task_data(task, data, cache)
    progress.report(LOAD_MODEL_STAGE)
    x, original = load_original(backbone, tdata, checkpoint, dict(recipe), device, store)
    return Context(tdata, x, original, store)


@lru_cache(maxsize=4)
def _task_data(task: str, data: tuple, cache: str | None) -> TaskData:
    return load_source(DataConfig(*data), Store.of(cache)).task(task)


def _source_key(data: DataConfig | None, cache) -> tuple[tuple, str | None]:
    """(data, cache) as the hashable arguments of the cached loaders."""
    return dataclasses.astuple(data or DataConfig()), None if cache is None else str(cache)


LOAD_DATA_STAGE = "loading the data"
LOAD_MODEL_STAGE = "featurizing the clips and loading the original model"
_PREPARE_LOCKS: dict[tuple, threading.Lock] = {}
_PREPARE_LOCKS_LOCK = threading.Lock()


def prepare(
    task: str = "kws",
    backbone: str = DEFAULT_BACKBONE,
    data: DataConfig | None = None,
    checkpoint: str | None = None,
    recipe: dict | None = None,
    device: str = "auto",
    cache: str | None = None,
) -> Context:
    """Load the clips, featurize them once and load (or train) the original model.

    recipe: --recipe overrides of a transformer original's fine-tuning recipe;
    device: where a transformer original is fine-tuned and its inputs featurized;
    cache: the folder for built data, originals and golds (default: speechforget.store)."""
    data = data or DataConfig()
    recipe = recipe or {}
    check_recipe(backbone, recipe)  # a bad key fails here, before any data is loaded
    key = tuple(sorted((k, str(v)) for k, v in recipe.items()))
    data_key, cache = _source_key(data, cache)
    args = (task, backbone, data_key, checkpoint, key, device, cache)
    with _PREPARE_LOCKS_LOCK:
        lock = _PREPARE_LOCKS.setdefault(args, threading.Lock())
    with lock:  # two callers at once (the app's start-up and a visitor) prepare it once
        return _prepare_cached(*args)


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
            ctx.original_outputs = ctx.store.rows(
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
    y = ctx.task.y
    metrics = model_metrics(
        logits, y, split.forget, split.retain, split.test, split.test_forgotten, seed=seed
    )
    metrics["probe_acc"] = probe_for_split(emb, y, split, seed)  # is Df decodable?
    if ctx.enrolment is not None:  # a visitor's held-back and training clips
        held, added = ctx.enrolment.held, ctx.enrolment.trained
        metrics.update(added_metrics(logits, y, held, added, split.retain, split.test, seed))
    return ModelEval(logits, emb, per_sample_ce(logits, ctx.task.y), metrics)


def run_unlearning(
    cfg: ExperimentConfig,
    ctx: Context,
    split: Split,
    budget_s: float | None,
    on_step: Callable[[StepLog], object] | None = None,
) -> tuple[Backbone, RunResult]:
    """Run the configured method on a copy of the original; the original is untouched."""
    if cfg.method == NO_METHOD:
        return copy.deepcopy(ctx.original.model), RunResult()
    from speechforget.methods import run_method

    return run_method(cfg, ctx, split, budget_s, on_step)


def start_experiment(cfg: ExperimentConfig, ctx: Context | None = None) -> Result:
    """The split for cfg.forget (ValueError when it leaves nothing to forget or retain),
    nothing trained yet. Steps: start_experiment -> unlearn_step -> gold_step; the app
    calls them one by one to show the unlearned model's results before the gold's."""
    if ctx is None:  # a bad forget choice fails on the clips, before an original is trained
        check_recipe(cfg.backbone, cfg.recipe or {})
        make_split(_task_data(cfg.task, *_source_key(cfg.data, cfg.cache)), cfg.forget, cfg.seed)
        ctx = prepare(
            cfg.task, cfg.backbone, cfg.data, cfg.checkpoint, cfg.recipe, cfg.device, cfg.cache
        )
    return Result(cfg, ctx, make_split(ctx.task, cfg.forget, cfg.seed))


def _tagged(on_step: ExperimentCallback | None, which: str):
    return None if on_step is None else (lambda log: on_step(which, log))


def _keep_gold(res: Result, gold: Trained) -> None:
    res.models["retrain"], res.times["retrain"] = gold.model, gold.meta["time_s"]
    res.runs["retrain"] = gold_run(gold)  # its work and the conditions of its time


def unlearn_step(res: Result, on_step: ExperimentCallback | None = None) -> Result:
    """Run the method on a copy of the original and evaluate it (and the original).
    A method that is the gold retrain itself (`--method retrain`) logs as "retrain", and
    its model is kept as the gold for gold_step."""
    cfg, ctx, split = res.config, res.ctx, res.split
    is_gold = yields_gold(cfg.method)
    which = "retrain" if is_gold else "unlearned"
    budget = ctx.budget(split.retain, cfg.device)
    model, run = run_unlearning(cfg, ctx, split, budget, _tagged(on_step, which))
    res.models["unlearned"], res.runs["unlearned"] = model, run
    res.times["unlearned"], res.stopped = run.time_s, run.stopped
    if is_gold and not run.stopped:
        res.models["retrain"], res.times["retrain"] = model, run.time_s
        res.runs["retrain"] = run
    if "original" not in res.evals:
        res.evals["original"] = evaluate(ctx.original.model, ctx, split, cfg.seed, cfg.device)
    if not res.stopped:
        res.evals["unlearned"] = evaluate(model, ctx, split, cfg.seed, cfg.device)
    return res


def gold_step(res: Result, on_step: ExperimentCallback | None = None) -> Result:
    """Retrain the gold model on the retain set (kept in the store) and evaluate it."""
    cfg, ctx, split = res.config, res.ctx, res.split
    if "retrain" not in res.models:
        gold = ctx.retrain_gold(split.retain, _tagged(on_step, "retrain"), cfg.device)
        if gold.meta.get("stopped"):
            res.stopped = True
            return res
        _keep_gold(res, gold)
    if "retrain" not in res.evals:
        res.evals["retrain"] = evaluate(res.models["retrain"], ctx, split, cfg.seed, cfg.device)
    for k in range(len(res.gold_replicas) + 1, cfg.golds):
        other = ctx.retrain_gold(split.retain, None, cfg.device, replica=k)
        res.gold_replicas.append(evaluate(other.model, ctx, split, cfg.seed, cfg.device))
    if res.relearn is None and "unlearned" in res.models and len(split.forget) >= MIN_RELEARN:
        pair = {k: res.models[k] for k in ("unlearned", "retrain")}
        res.relearn = relearn(pair, ctx.x, ctx.y, split.forget, seed=cfg.seed, device=cfg.device)
    return res


def yields_gold(method: str) -> bool:
    """True for the method whose result is the gold retrain itself."""
    if method == NO_METHOD:
        return False
    from speechforget.methods import get_method

    return get_method(method).yields_gold


def run_experiment(
    cfg: ExperimentConfig, on_step: ExperimentCallback | None = None, ctx: Context | None = None
) -> Result:
    """Original, unlearned and gold models evaluated side by side (see module docstring).

    The unlearning run goes first (its live curve is what a user watches), then the
    gold retrain; with `--method retrain` the gold model is the unlearned one."""
    res = unlearn_step(start_experiment(cfg, ctx), on_step)
    if res.stopped or not (cfg.run_gold or yields_gold(cfg.method)):
        return res
    return gold_step(res, on_step)
