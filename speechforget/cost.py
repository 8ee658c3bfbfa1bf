"""A run's cost against the gold retrain's, as the report, the command line and the app show it.

    section(res.runs)   # {"compute_ratio", "work", "timing"}: keys of the report
    speed_verdict(rep)  # the sentence on whether the method was cheaper than retraining

Work counts sample passes (engine/work.py: sample-forward equivalents, a backward pass 2,
a pass through part of the model its share of the FLOPs), so `compute_ratio` = method work /
gold work does not depend on the device's load. A wall-clock ratio does: it is comparable
only when both times were measured under the same conditions (device, thread count) with no
other work competing (engine/conditions.py). The verdict about speed therefore uses the
compute ratio, and says why when the wall times are not comparable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from speechforget.engine import RunResult, Work

UNIT = "sample-forward equivalents"
MODELS = ("unlearned", "retrain")


def work_ratio(work: Work | None, gold: Work | None) -> float | None:
    """work / gold work in units; None when either is unknown or the gold did none."""
    if work is None or gold is None or gold.units <= 0:
        return None
    return round(work.units / gold.units, 4)


def section(runs: Mapping[str, RunResult]) -> dict:
    """The report's cost keys from the RunResults of "unlearned" and "retrain" (the gold's
    is training.gold_run's: its conditions carry "source")."""
    u, g = (runs.get(k) for k in MODELS)
    work = {
        k: None if r is None or r.work is None else r.work.to_dict() for k, r in zip(MODELS, (u, g))
    }
    timing = {k: None if r is None else r.conditions for k, r in zip(MODELS, (u, g))}
    timing["comparable"] = comparable(timing["unlearned"], timing["retrain"])
    return {
        "compute_ratio": work_ratio(u and u.work, g and g.work),
        "work": {**work, "unit": UNIT},
        "timing": timing,
    }


def comparable(u: Mapping | None, g: Mapping | None) -> bool:
    """Were both wall times measured here, under the same conditions, with no other work
    competing? (The gold retrained now or kept from a run under the same key.)"""
    if not u or not g or g.get("source") not in ("retrained now", "kept"):
        return False
    same = all(u.get(k) == g.get(k) for k in ("device", "threads"))
    return same and u.get("contended") is False and g.get("contended") is False


def time_note(conditions: Mapping | None) -> str:
    """Why a wall time is not comparable, in a few words ("" when nothing is known against
    it): other work competed, made elsewhere, the original's time, or load unknown."""
    if not conditions:
        return ""
    source = conditions.get("source")
    if source == "shipped":
        return "measured when it was shipped, not here"
    if source == "reused original":
        return "the original's training time, measured when it was trained"
    if conditions.get("contended"):
        return "measured while other work competed"
    if conditions.get("contended") is None:
        return "load when measured unknown"
    return ""


def speed_verdict(report: Mapping) -> str:
    """One sentence: did the method cost less than retraining? By the compute ratio, with the
    wall-clock ratio beside it and why it is not used when it is not comparable."""
    c, t = report.get("compute_ratio"), report.get("time_ratio")
    timing = report.get("timing") or {}
    if c is None:
        if t is None:
            return ""
        return f"Speed: wall-clock ratio {t:.2f} (unlearned / gold); the gold's work is unknown."
    won = "cheaper than retraining" if c < 1 else "not cheaper than retraining: retraining wins"
    text = f"Speed: compute ratio {c:.2f} (the method's work / the gold retrain's): {won}."
    if t is None:
        return text
    if timing.get("comparable"):
        return text + f" Wall-clock ratio {t:.2f}, both times measured here under the same load."
    gold, own = time_note(timing.get("retrain")), time_note(timing.get("unlearned"))
    if gold and gold == own:
        why = f"both times were {gold}"
    elif gold or own:
        why = " and ".join(
            [f"the gold's time was {gold}"] * bool(gold) + [f"the method's was {own}"] * bool(own)
        )
    else:
        why = "the two were measured under different conditions"
    return text + (
        f" Wall-clock ratio {t:.2f}, but {why}, "
        "so the verdict uses the compute ratio (work does not depend on load)."
    )
