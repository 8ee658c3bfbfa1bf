"""What the app needs from a run, as numpy arrays and plain Python (no Gradio, no plotly).

The UI layer never touches a tensor: it streams a run's step log through
`phase_events`, then asks this module for confusion matrices, per-sample losses,
embeddings, clip predictions and membership scores of the models in a `Result`.

    for event in phase_events("unlearn", cfg, ctx, stop=stop):   # in a worker thread
        ...  # ("step", "unlearned", StepLog) ... ("done", Result) | ("error", exc)
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

import numpy as np

from speechforget import clip_check
from speechforget.config import ExperimentConfig
from speechforget.data.dataset import SAMPLE_RATE
from speechforget.evaluation import confusion_matrix, softmax
from speechforget.models import build_model
from speechforget.pipeline import Context, Result, gold_step, start_experiment, unlearn_step

# one clip a visitor brings (speechforget.clip_check), re-exported: the UI reads through here
load_clip, wave_probs, result_models = (
    clip_check.load_clip,
    clip_check.wave_probs,
    clip_check.result_models,
)
membership_scores, original_losses = clip_check.membership_scores, clip_check.original_losses
verdict = clip_check.verdict

SUBSETS = ("forget", "retain", "test")
MODEL_ORDER = ("original", "unlearned", "retrain")


# ---- streaming a run ---------------------------------------------------------------------


def stream(
    fn: Callable[[Callable], object],
    stop: threading.Event | None = None,
    poll_s: float = 0.2,
    idle: threading.Event | None = None,
) -> Iterator[tuple]:
    """Run fn(on_step) in a worker thread and yield its step log as it happens.

    Yields ("step", which, StepLog), ("tick",) every poll_s without news (so a caller
    can stay responsive), then ("done", fn's result) or ("error", exception). Closing
    the generator early sets `stop` (on_step then asks the loop to stop) and waits
    briefly for the worker. `idle` is cleared while the worker runs and set when it
    has ended (whether or not anyone still reads the events)."""
    stop = stop or threading.Event()
    events: queue.Queue = queue.Queue()

    def on_step(which, log):
        events.put(("step", which, log))
        return stop.is_set()

    def work():
        try:
            events.put(("done", fn(on_step)))
        except BaseException as err:  # handed to the caller, who shows it (never a silent hang)
            events.put(("error", err))
        finally:
            if idle is not None:
                idle.set()

    worker = threading.Thread(target=work, name="speechforget-run", daemon=True)
    if idle is not None:
        idle.clear()
    worker.start()
    finished = False
    try:
        while True:
            try:
                event = events.get(timeout=poll_s)
            except queue.Empty:
                if not worker.is_alive() and events.empty():  # died without a word
                    event = ("error", RuntimeError("the run's worker thread ended unexpectedly"))
                else:
                    yield ("tick",)
                    continue
            finished = event[0] in ("done", "error")
            yield event
            if finished:
                return
    finally:
        if not finished:
            stop.set()
            worker.join(timeout=30)


def phase_events(
    phase: str,
    cfg: ExperimentConfig,
    ctx: Context,
    res: Result | None = None,
    stop: threading.Event | None = None,
    idle: threading.Event | None = None,
) -> Iterator[tuple]:
    """One step of the experiment as events (see `stream`): phase "unlearn" makes the
    split and runs the method (ValueError for a forget choice that leaves nothing to
    forget or retain); phase "gold" retrains the gold model for `res`."""
    if phase == "unlearn":
        res = start_experiment(cfg, ctx)  # validates the forget choice before any thread
        return stream(lambda on_step: unlearn_step(res, on_step), stop, idle=idle)
    if phase == "gold":
        if res is None:
            raise ValueError("the gold retrain needs the result of the unlearning run")
        return stream(lambda on_step: gold_step(res, on_step), stop, idle=idle)
    raise ValueError(f"unknown phase '{phase}'; choose unlearn or gold")


def warm_up(ctx: Context) -> None:
    """Compute what every run of this context reuses (the original's outputs)."""
    from speechforget.pipeline import original_outputs

    original_outputs(ctx, device="cpu")


# ---- moving results across a process boundary (ZeroGPU) --------------------------------


def detach(res: Result) -> dict:
    """A picklable, CPU-only copy of a Result without its Context (ZeroGPU workers hand
    results back by pickling; the Context is large and the parent already has it)."""
    models = {
        k: {"spec": m.spec(), "state": {n: t.detach().cpu() for n, t in m.state_dict().items()}}
        for k, m in res.models.items()
    }
    return {
        "config": res.config,
        "split": res.split,
        "evals": res.evals,
        "models": models,
        "runs": res.runs,
        "times": res.times,
        "stopped": res.stopped,
    }


def attach(state: dict, ctx: Context) -> Result:
    """The Result `detach` described, rebuilt on CPU beside `ctx`."""
    res = Result(state["config"], ctx, state["split"], dict(state["evals"]))
    for k, m in state["models"].items():
        model = build_model(m["spec"])
        model.load_state_dict(m["state"])
        res.models[k] = model.eval()
    res.runs, res.times, res.stopped = dict(state["runs"]), dict(state["times"]), state["stopped"]
    return res


# ---- views of a finished run -------------------------------------------------------------


def models_of(res: Result) -> list[str]:
    """The evaluated models of a run, in display order."""
    return [k for k in MODEL_ORDER if k in res.evals]


def positions(res: Result) -> dict[str, np.ndarray]:
    """{"forget"|"retain"|"test": positions into the task's clips}."""
    return {"forget": res.split.forget, "retain": res.split.retain, "test": res.split.test}


def confusion(res: Result, model: str, subset: str = "test") -> np.ndarray:
    """(C, C) counts of `model` on one subset (rows true class, columns predicted)."""
    pos = positions(res)[subset]
    y = res.ctx.task.y
    return confusion_matrix(res.evals[model].logits[pos], y[pos], res.ctx.task.num_classes)


def subset_losses(res: Result, model: str) -> dict[str, np.ndarray]:
    """{"forget"|"retain"|"test": (N,) per-sample CE in nats} for one model."""
    loss = res.evals[model].losses
    return {k: loss[p] for k, p in positions(res).items()}


def embedding_sample(res: Result, max_points: int = 1200, after: str = "unlearned") -> dict:
    """Embeddings of the same clips before (original) and after (`after` model), a
    sample of at most max_points clips from forget, retain and test.

    Returns {"before": (N, D), "after": (N, D), "labels": (N,), "forget": (N,) bool,
    "hover": N strings, "positions": (N,)}."""
    from speechforget.viz.embedding import subsample_positions  # numpy-only helper

    p = positions(res)
    others = np.concatenate([p["retain"], p["test"]])
    pos = subsample_positions(p["forget"], others, max_points, seed=res.config.seed)
    task = res.ctx.task
    return {
        "before": res.evals["original"].embeddings[pos],
        "after": res.evals[after].embeddings[pos],
        "labels": task.y[pos],
        "forget": np.isin(pos, p["forget"]),
        "hover": [task.describe(int(i)) for i in pos],
        "positions": pos,
    }


def clip_choices(res: Result, subset: str, limit: int = 60) -> list[tuple[str, int]]:
    """(label, position) of up to `limit` clips of a subset, spread over its classes;
    in the test set the clips of forgotten classes or speakers come first."""
    pos = positions(res)[subset]
    if subset == "test" and res.split.test_forgotten is not None:
        pos = np.concatenate([pos[res.split.test_forgotten], pos[~res.split.test_forgotten]])
    task = res.ctx.task
    order = np.argsort(task.y[pos], kind="stable")  # round-robin over classes below
    by_class: dict[int, list[int]] = {}
    for i in pos[order]:
        by_class.setdefault(int(task.y[i]), []).append(int(i))
    picked, k = [], 0
    while len(picked) < min(limit, len(pos)):
        for items in by_class.values():
            if k < len(items) and len(picked) < limit:
                picked.append(items[k])
        k += 1
    if subset == "test" and res.split.test_forgotten is not None:
        forgotten = set(pos[: int(res.split.test_forgotten.sum())].tolist())
        picked.sort(key=lambda i: i not in forgotten)
    return [(f"#{i} {task.describe(i)}", i) for i in picked]


def clip_audio(ctx: Context, pos: int) -> tuple[int, np.ndarray]:
    """(sample rate, (L,) int16 PCM) of one task clip, ready for an audio player."""
    from speechforget.data.audio import to_int16

    return SAMPLE_RATE, to_int16(ctx.task.data.waves[ctx.task.index[pos]])


def clip_probs(res: Result, pos: int) -> dict[str, np.ndarray]:
    """{model: (C,) class probabilities} of one task clip, from the stored logits."""
    return {m: softmax(res.evals[m].logits[pos : pos + 1])[0] for m in models_of(res)}
