"""The gold's own noise measured by the bench, for the app: a run in the app retrains one
gold, so the gap between golds for its setting comes from the bench tables
(docs/results/*.json, several seeded golds per forget set), kept in
assets/noise_floor.json by scripts/make_noise_floor.py (bench_report.noise_floor) and labelled as such.

    floor = bench_floor("kws", "class")   # {"utility", "forgetting", "avg", "k", "sets", "source"}
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

PATH = Path(__file__).resolve().parents[1] / "assets" / "noise_floor.json"
KEYS = ("utility", "forgetting", "avg")


@lru_cache(maxsize=1)
def _table() -> dict:
    try:
        return json.loads(PATH.read_text())
    except (OSError, ValueError):
        return {}


def bench_floor(task: str, mode: str) -> dict | None:
    """The bench's gold-vs-gold gaps (fractions) for task x mode, None when not measured."""
    return _table().get(task, {}).get(mode)


def within(gaps: dict, floor: dict | None) -> bool | None:
    """Both aggregates of a run's gaps within the floor (None when either is unknown)."""
    if not floor or not gaps:
        return None
    pairs = [(gaps.get(k), floor.get(k)) for k in ("utility", "forgetting")]
    if any(a is None or b is None for a, b in pairs):
        return None
    return all(a <= b for a, b in pairs)
