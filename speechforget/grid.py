"""The benchmark grid as a list of tasks, and the store of finished cells.

    plan = plan_grid([cfg], contexts)     # per forget set: a gold task, then one task per method
    store = CellStore(out / "cells")      # one JSON file per finished task, written atomically
    record = run_task(task, ctx, gold)    # what an executor runs (speechforget.executor)

A forget set's gold task trains its K golds once (kept in the context's store, the cache
folder), evaluates them and the original, and returns their rows plus what the method
tasks need (gold 0's metrics, the over-unlearning floor). A method task depends on it:
it loads gold 0 from the cache (never the model object across a process boundary), runs
the method and returns its row. bench_steps.run_cell is the same two steps in one process, so
the rows are the same whichever executor runs them.

A task's key names what its numbers depend on: task, backbone, mode, setting, seed,
forget spec, method, and a digest of the rest (golds, device, data, superloss and the
overrides that reach this method). A rerun skips the keys already stored as finished; a
failed task is stored with its error and traceback, and run again on the next rerun.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from speechforget.bench import BenchConfig, all_methods, forget_specs, method_overrides
from speechforget.bench_steps import gold_step, method_step
from speechforget.store import digest

GOLD_TASK = "gold"


@dataclass(frozen=True)
class Task:
    """One unit of work: the gold task of a forget set (method None) or one method on it."""

    cfg: BenchConfig
    setting: str
    seed: int
    spec: str
    method: str | None = None  # None: the gold task

    @property
    def is_gold(self) -> bool:
        return self.method is None

    def identity(self) -> dict:
        c = self.cfg
        ident = {
            "task": c.task,
            "backbone": c.backbone,
            "mode": c.mode,
            "setting": self.setting,
            "seed": self.seed,
            "forget": self.spec,
            "method": self.method or GOLD_TASK,
            "golds": c.golds,
            "device": c.device,
            "data": dataclasses.asdict(c.data),
        }
        if self.method is not None:
            ident["superloss"] = c.superloss
            ident["overrides"] = method_overrides(self.method, c.overrides)
        return ident

    @property
    def key(self) -> str:
        """The file stem in the cell store: readable, then a digest of the identity."""
        c = self.cfg
        head = (
            f"{c.task}_{c.backbone}_{c.mode}_{self.setting}_s{self.seed}_{self.method or GOLD_TASK}"
        )
        return re.sub(r"[^A-Za-z0-9_.+=-]+", "-", head) + "_" + digest(self.identity(), 10)

    @property
    def gold_key(self) -> str:
        return dataclasses.replace(self, method=None).key

    def describe(self) -> str:
        c = self.cfg
        return f"{c.task} {c.backbone} {c.mode} {self.setting} seed {self.seed} {self.method or 'gold'}"


def plan_grid(cfgs: Iterable[BenchConfig], task_of: Callable[[BenchConfig], object]) -> list[Task]:
    """Every task of the grid in row order: per forget set its gold task, then its methods.
    task_of(cfg) gives the TaskData a class- or speaker-mode draw needs."""
    tasks: list[Task] = []
    for cfg in cfgs:
        if cfg.golds < 1:
            raise ValueError(f"--golds must be at least 1, got {cfg.golds}")
        methods = cfg.methods or all_methods()
        for setting, seed, spec in forget_specs(cfg, task_of(cfg)):
            tasks.append(Task(cfg, setting, seed, spec))
            tasks += [Task(cfg, setting, seed, spec, m) for m in methods]
    return tasks


def run_task(task: Task, ctx, gold: dict | None = None) -> dict:
    """A task's numbers: {"rows": [...]} (and gold 0's metrics and floor for a gold task)."""
    if task.is_gold:
        return gold_step(task.cfg, ctx, task.setting, task.seed, task.spec)
    if gold is None or gold.get("status") != "ok":
        raise RuntimeError(f"the gold task of {task.describe()} did not finish")
    return method_step(task.cfg, ctx, task.setting, task.seed, task.spec, task.method, gold)


def attempt(task: Task, ctx_of: Callable[[], object], gold: dict | None, retries: int) -> dict:
    """run_task, tried 1 + retries times; never raises. Returns the record to store:
    status "ok" with the numbers, or "failed" with the last error and its traceback."""
    t0 = time.perf_counter()
    errors = []
    if not task.is_gold and (gold is None or gold.get("status") != "ok"):
        why = (gold or {}).get("error", "not run")
        return task_record(task, "failed", t0, 0, error=f"its gold task failed: {why}", errors=[])
    for n in range(1, retries + 2):
        try:
            out = run_task(task, ctx_of(), gold)
            return task_record(task, "ok", t0, n, **out)
        except Exception as exc:  # a failed cell never stops the grid
            errors.append(
                {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()}
            )
    return task_record(task, "failed", t0, len(errors), **errors[-1], errors=errors[:-1])


def task_record(task: Task, status: str, t0: float, attempts: int, **body) -> dict:
    """The record stored for a task: its status, attempts and wall time since t0
    (time.perf_counter() when it was started, or submitted), and `body`."""
    return {
        "key": task.key,
        "identity": task.identity(),
        "status": status,
        "attempts": attempts,
        "wall_s": time.perf_counter() - t0,
        "host": os.uname().nodename,
        **body,
    }


class CellStore:
    """<out>/cells/<key>.json, one per finished task (status ok or failed)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def get(self, key: str) -> dict | None:
        try:
            return json.loads(self.path(key).read_text())
        except (OSError, ValueError):  # absent, or damaged: run it again
            return None

    def done(self, key: str) -> dict | None:
        rec = self.get(key)
        return rec if rec and rec.get("status") == "ok" else None

    def put(self, record: dict) -> Path:
        """Written to a temporary name and renamed into place: never half a file."""
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.path(record["key"])
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record, indent=1, default=str))
        os.replace(tmp, path)
        return path


MANIFEST = "grid.json"


def write_manifest(out: Path, sections: list[dict]) -> None:
    """sections: [{"name": sub-folder ('' for out itself), "info": ..., "keys": [...]}]."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{MANIFEST}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps({"sections": sections}, indent=1, default=str))
    os.replace(tmp, out / MANIFEST)


def collect(out: Path) -> list[tuple[dict, list[dict], list[dict]]]:
    """Per manifest section: (section, rows of its finished tasks in grid order, records of
    its failed or missing tasks)."""
    manifest = json.loads((out / MANIFEST).read_text())
    store = CellStore(out / "cells")
    result = []
    for sec in manifest["sections"]:
        rows: list[dict] = []
        missing: list[dict] = []
        multi = len(set(sec.get("backbones", []))) > 1
        for key in sec["keys"]:
            rec = store.get(key)
            if rec is None or rec.get("status") != "ok":
                missing.append(rec or {"key": key, "status": "not run"})
                continue
            for r in rec["rows"]:
                rows.append({"backbone": rec["identity"]["backbone"], **r} if multi else r)
        result.append((sec, rows, missing))
    return result
