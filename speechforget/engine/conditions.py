"""Under what conditions a run's wall time was measured, and whether other work competed.

A wall time is only comparable with another measured under the same conditions: the
device, torch's intra-op thread count, and a machine free of other work. `Probe` measures,
over one run:

    cpu_share     this process's CPU time / (wall time x the cores it may use, at most
                  `threads`): about 0.5-0.9 on a quiet CPU (Python between operations),
                  lower when it had to wait for the cores
    other_cores   the CPU time other processes (and, in a virtual machine, the host: steal
                  time) spent on this process's cores during the run, per second of wall
                  time, from /proc/stat (Linux; None elsewhere): 0.0 on a quiet machine,
                  1.0 when one core's worth of other work ran beside it
    concurrent_runs   other timed runs (engine loops) of this process that overlapped it

and `contended` decides from them (`is_contended`): other work competed when other
processes used more than the cores this run left free (cores - threads) plus a quarter of
a core, or when another run of this process overlapped it. Runs under MIN_WALL_S are too
short for /proc/stat's 10 ms ticks: their `other_cores` is None.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

CONTENDED_CORES = 0.25  # other work beyond the spare cores that counts as competing
MIN_WALL_S = 0.2
PROC_STAT = Path("/proc/stat")


@dataclass
class Conditions:
    """The conditions of one timed run (see the module docstring)."""

    device: str  # "cpu" | "cuda" | ...
    threads: int  # torch.get_num_threads()
    cores: int  # CPUs this process may run on
    cpu_share: float | None = None
    other_cores: float | None = None
    concurrent_runs: int = 0
    contended: bool | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def timing_key(device: torch.device | str) -> dict:
    """What a comparable wall time must share: device type and intra-op thread count."""
    kind = device.type if isinstance(device, torch.device) else str(device)
    return {"device": kind, "threads": torch.get_num_threads()}


def is_contended(
    other_cores: float | None, cores: int, threads: int, concurrent_runs: int = 0
) -> bool | None:
    """True when other work competed with a run for its cores (see the module docstring);
    None when it cannot be told (no /proc/stat, or a run too short to measure)."""
    if concurrent_runs > 0:
        return True
    if other_cores is None:
        return None
    spare = max(0, cores - min(threads, cores))
    return other_cores > spare + CONTENDED_CORES


def usable_cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


def busy_cpu_s(cpus: list[int]) -> float | None:
    """Seconds of CPU time spent on `cpus` since boot, all processes (steal time included:
    the host's other guests), from /proc/stat; None where it cannot be read."""
    try:
        lines = PROC_STAT.read_text().splitlines()
    except OSError:
        return None
    wanted, ticks = {f"cpu{i}" for i in cpus}, 0
    for line in lines:
        name, *values = line.split()
        if name in wanted:
            v = [int(x) for x in values]
            # user nice system idle iowait irq softirq steal ... (guest is inside user)
            ticks += v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


class _Runs:
    """This process's timed runs in flight (a process-wide record by nature: runs in other
    threads, e.g. two sessions of the app, compete for the same cores). A run that raised
    before it stopped drops out at the end of its `scope` (weak references besides)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active: weakref.WeakSet = weakref.WeakSet()
        self.started = 0

    def enter(self, probe: object) -> tuple[int, int]:
        """(runs in flight now, this run's start number)."""
        with self.lock:
            others = len(self.active)
            self.active.add(probe)
            self.started += 1
            return others, self.started

    def leave(self, probe: object) -> int:
        """The start number of the latest run so far."""
        with self.lock:
            self.active.discard(probe)
            return self.started

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """Around an engine entry point: a run of this thread that raised before it stopped
        its probe leaves the record here, not when (or if) it is garbage-collected."""
        thread = threading.get_ident()
        with self.lock:
            first = self.started + 1
        try:
            yield
        finally:
            with self.lock:
                for probe in list(self.active):
                    if probe.thread == thread and probe.started >= first:
                        self.active.discard(probe)


RUNS = _Runs()


class Probe:
    """Measures a run's conditions from construction to `stop()`."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cpus = usable_cores()
        self.thread = threading.get_ident()
        self.others_at_start, self.started = RUNS.enter(self)
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        self.busy0 = busy_cpu_s(self.cpus)
        self.done: Conditions | None = None

    def stop(self) -> Conditions:
        if self.done is not None:
            return self.done
        wall = time.perf_counter() - self.wall0
        ours = time.process_time() - self.cpu0
        busy = busy_cpu_s(self.cpus)
        started_since = RUNS.leave(self) - self.started  # runs that began while this one ran
        threads = torch.get_num_threads()
        used = max(1, min(threads, len(self.cpus)))
        other = None
        if busy is not None and self.busy0 is not None and wall >= MIN_WALL_S:
            other = round(max(0.0, busy - self.busy0 - ours) / wall, 3)
        concurrent = self.others_at_start + started_since
        self.done = Conditions(
            device=self.device.type,
            threads=threads,
            cores=len(self.cpus),
            cpu_share=round(ours / (wall * used), 3) if wall > 0 else None,
            other_cores=other,
            concurrent_runs=concurrent,
            contended=is_contended(other, len(self.cpus), threads, concurrent),
        )
        return self.done
