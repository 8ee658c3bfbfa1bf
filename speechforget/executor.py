"""Who runs the grid's tasks (speechforget.grid): this process, or a Ray cluster.

    outcome = run_grid(cfgs, out, executor="local")                     # one by one, here
    outcome = run_grid(cfgs, out, executor="ray")                       # a local Ray instance
    outcome = run_grid(cfgs, out, executor="ray", address="HOST:6379")  # join a cluster

Both executors run the same function per task (grid.attempt: the task tried 1 + retries
times, its error and traceback kept when it still fails) and the driver writes each
finished task to <out>/cells/ as it comes back, with a progress line. Tasks already
stored as finished are skipped, so a rerun after a kill picks up where it stopped.

On Ray, a forget set's gold task is a remote task, and its method tasks take the gold
task's ObjectRef (a small record: gold 0's metrics and floor); the gold models themselves
travel through the cache folder (SPEECHFORGET_CACHE, passed to the workers in the
runtime_env: on a cluster it must be a folder every node sees, or each node retrains the
golds it needs). Each worker builds its context itself with `ContextFactory` (pipeline.
prepare on the same data and cache), once per process. A task asks Ray for `threads` CPUs
and sets torch to that many threads (the gold's cache key holds the thread count), and
for one GPU when the device is cuda. Ray is imported here only, when asked for.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from speechforget.bench import BenchConfig
from speechforget.grid import CellStore, Task, attempt, plan_grid, write_manifest

EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class ContextFactory:
    """A worker's context for a config: pipeline.prepare on the config's task, backbone,
    data and device, with the cache folder `cache` (None: SPEECHFORGET_CACHE)."""

    cache: str | None = None

    def __call__(self, cfg: BenchConfig):
        from speechforget import pipeline

        kwargs = (
            {"device": cfg.device}
            if self.cache is None
            else {"device": cfg.device, "cache": self.cache}
        )
        return pipeline.prepare(cfg.task, cfg.backbone, cfg.data, **kwargs)


@dataclass(frozen=True)
class FixedContext:
    """A context shipped as it is (pickled to each worker): for tests and notebooks whose
    context pipeline.prepare cannot rebuild."""

    ctx: object = field(compare=False)

    def __call__(self, cfg: BenchConfig):
        return self.ctx


@dataclass
class Outcome:
    total: int
    ran: int = 0
    skipped: int = 0
    failed: list[dict] = field(default_factory=list)
    wall_s: float = 0.0


class Progress:
    """A line per finished task: done/total, elapsed, estimated time left (from this
    run's mean time per task)."""

    def __init__(self, total: int, done: int, write: Callable[[str], None] | None):
        self.total, self.done, self.start_done = total, done, done
        self.t0 = time.perf_counter()
        self.write = write

    def __call__(self, task: Task, record: dict) -> None:
        self.done += 1
        if self.write is None:
            return
        el = time.perf_counter() - self.t0
        ran = self.done - self.start_done
        left = el / ran * (self.total - self.done) if ran else 0.0
        status = record["status"] + (
            f" after {record['attempts']} tries" if record["attempts"] > 1 else ""
        )
        self.write(
            f"[{self.done}/{self.total}] {task.describe()}: {status} · elapsed {_hms(el)} · "
            f"left ~{_hms(left)}"
        )


def _hms(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_grid(
    cfgs: list[BenchConfig],
    out: str | Path,
    executor: str = "local",
    address: str | None = None,
    retries: int = 1,
    factory: Callable[[BenchConfig], object] | None = None,
    threads: int | None = None,
    num_cpus: int | None = None,
    sections: list[dict] | None = None,
    progress: Callable[[str], None] | None = _stderr,
    on_task: Callable[[Task, dict], None] | None = None,
) -> Outcome:
    """Plan the grid of `cfgs`, skip what <out>/cells holds as finished, run the rest with
    `executor`, storing each task as it finishes. `sections` (see bench.bench_sections)
    go to <out>/grid.json for `bench --report`; on_task(task, record) is called after each
    stored task (a test's hook to interrupt a grid)."""
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor '{executor}'; choose one of {', '.join(EXECUTORS)}")
    if retries < 0:
        raise ValueError(f"--retries must be 0 or more, got {retries}")
    out = Path(out)
    factory = factory or ContextFactory()
    tasks = plan_grid(cfgs, lambda c: factory(c).task)
    if sections is not None:
        write_manifest(out, sections)
    store = CellStore(out / "cells")
    todo = [t for t in tasks if store.done(t.key) is None]
    outcome = Outcome(total=len(tasks), skipped=len(tasks) - len(todo))
    prog = Progress(len(tasks), outcome.skipped, progress)
    if progress and outcome.skipped:
        progress(f"{outcome.skipped} of {len(tasks)} tasks already in {store.root}: skipped")
    t0 = time.perf_counter()

    def finished(task: Task, record: dict) -> None:
        store.put(record)
        outcome.ran += 1
        if record["status"] != "ok":
            outcome.failed.append(record)
        prog(task, record)
        if on_task:
            on_task(task, record)

    run = _run_local if executor == "local" else _run_ray
    kwargs = (
        {}
        if executor == "local"
        else {"address": address, "threads": threads, "num_cpus": num_cpus}
    )
    run(todo, store, factory, retries, finished, **kwargs)
    outcome.wall_s = time.perf_counter() - t0
    return outcome


def _run_local(todo, store, factory, retries, finished) -> None:
    golds: dict[str, dict] = {}
    for task in todo:
        gold = None
        if not task.is_gold:
            gold = golds.get(task.gold_key) or store.get(task.gold_key)
        record = attempt(task, lambda t=task: factory(t.cfg), gold, retries)
        if task.is_gold:
            golds[task.key] = record
        finished(task, record)


_WORKER_CONTEXTS: dict = {}


def _remote_attempt(task: Task, factory, gold: dict | None, retries: int, threads: int | None):
    """What a Ray worker runs: its own context (built once per process), then the task."""
    if threads:
        import torch

        torch.set_num_threads(threads)

    def ctx_of():
        key = (factory, task.cfg.task, task.cfg.backbone, repr(task.cfg.data), task.cfg.device)
        if key not in _WORKER_CONTEXTS:
            _WORKER_CONTEXTS[key] = factory(task.cfg)
        return _WORKER_CONTEXTS[key]

    return attempt(task, ctx_of, gold, retries)


def _run_ray(todo, store, factory, retries, finished, address=None, threads=None, num_cpus=None):
    import ray
    import torch

    from speechforget.store import ENV, Store

    threads = threads or torch.get_num_threads()
    env = {ENV: str(Store.default().root), "OMP_NUM_THREADS": str(threads)}
    repo = str(Path(__file__).resolve().parent.parent)  # workers import speechforget from here
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, os.environ.get("PYTHONPATH")) if p)
    started = not ray.is_initialized()
    if started:
        if address:
            ray.init(address=address, runtime_env={"env_vars": env})
        else:
            ray.init(num_cpus=num_cpus, runtime_env={"env_vars": env}, include_dashboard=False)
    try:
        gpu = any(t.cfg.device == "cuda" for t in todo) or (
            any(t.cfg.device == "auto" for t in todo) and torch.cuda.is_available()
        )
        remote = ray.remote(_remote_attempt).options(
            num_cpus=threads, num_gpus=1 if gpu else 0, max_retries=retries
        )
        fref = ray.put(factory)
        gold_refs: dict[str, object] = {}
        pending: dict = {}
        submitted: dict = {}  # ref -> time.perf_counter() when it was submitted
        for task in todo:
            gold = None
            if not task.is_gold:
                gold = gold_refs.get(task.gold_key) or store.get(task.gold_key)
            ref = remote.remote(task, fref, gold, retries, threads)
            if task.is_gold:
                gold_refs[task.key] = ref
            pending[ref], submitted[ref] = task, time.perf_counter()
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                task = pending.pop(ref)
                try:
                    record = ray.get(ref)
                except Exception as exc:  # the worker itself died (retried max_retries times)
                    from speechforget.grid import task_record

                    # its wall time counts from submission (a queue wait included): the
                    # worker's own start died with it
                    record = task_record(
                        task, "failed", submitted[ref], retries + 1, error=repr(exc)
                    )
                finished(task, record)
    finally:
        if started:
            ray.shutdown()
