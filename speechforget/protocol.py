"""The held-out protocol: which seeds and forget sets tune the method defaults, and which
are reported. The two never overlap (tests/test_protocol.py checks it).

    role_of(seed)                       "tuning" for seeds 0-9, "reported" from 10 on
    pools(task, kind)                   (tuning, reported): the classes or speakers a
                                        class- or speaker-mode forget set is drawn from
    draw(task, kind, n, seed)           the n classes / speakers one seed forgets

- **Seeds.** TUNING_SEEDS (0-9) are the seeds the per-mode defaults in
  speechforget/methods/*.py were tuned on (scripts/tune_methods.py, which uses them only);
  the tables in the README and docs/results report REPORTED_SEEDS (10-14), five seeds as in
  the paper. A sample-mode forget set is a seeded draw, so distinct seeds give distinct sets.
- **Classes and speakers.** The candidates of a class- or speaker-mode draw (keywords or
  speakers; never the _silence_ / _unknown_ fillers, never an unheard speaker) are split
  once, by a fixed seed, into a tuning pool (TUNING_SHARE of them, plus the ones the
  defaults were tuned on before this protocol existed: HISTORICAL) and a reported pool.
  A tuning seed draws from the tuning pool, a reported seed from the reported pool.
- **Distinct forget sets per seed.** The pool is shuffled once (fixed seed) and cut into
  chunks of n; seed s forgets chunk s mod (number of chunks). Two seeds of one request
  that would forget the same set are refused (`check_distinct`), so "5 seeds" are 5
  forget sets and 5 gold models.
"""

from __future__ import annotations

import numpy as np

from speechforget.data.dataset import TaskData

TUNING_SEEDS = tuple(range(10))
REPORTED_SEEDS = (10, 11, 12, 13, 14)
TUNING_SHARE = 0.3
POOL_SEED = 20251  # fixes the tuning / reported cut of the candidates (never change it)
# what the defaults were tuned on before this protocol (scripts/tune_methods.py drew
# class:<rng(seed).choice> for seeds 0-1): they stay on the tuning side
HISTORICAL = {("kws", "class"): ("stop", "left"), ("sid", "class"): ("spk40", "spk22")}


def role_of(seed: int) -> str:
    """'tuning' for the seeds defaults are chosen on, else 'reported'."""
    return "tuning" if seed in TUNING_SEEDS else "reported"


def candidates(task: TaskData, kind: str) -> list[str]:
    """What a class- or speaker-mode forget set may name: the classes (not the fillers
    _silence_ / _unknown_) or the speakers with training clips, sorted."""
    if kind == "class":
        return [c for c in task.class_names if not c.startswith("_")]
    if kind == "speaker":
        train = task.where("train")
        names = task.data.speaker_names
        return sorted({names[s] for s in task.speaker[train] if s >= 0})
    raise ValueError(f"no pool for forget kind '{kind}'; pools exist for class and speaker")


def pools(task: TaskData, kind: str) -> tuple[list[str], list[str]]:
    """(tuning pool, reported pool): disjoint, together every candidate."""
    if task.task == "sid" and kind == "speaker":
        kind = "class"  # in speaker identification a speaker is a class: one pool
    cands = candidates(task, kind)
    key = "sid" if task.task == "sid" else "kws"
    forced = [c for c in HISTORICAL.get((key, kind), ()) if c in cands]
    rest = [c for c in cands if c not in forced]
    n_tune = max(0, int(round(TUNING_SHARE * len(cands))) - len(forced))
    if len(cands) >= 2:  # each side gets at least one candidate
        n_tune = max(n_tune, 1 - len(forced))
        n_tune = min(n_tune, len(rest) - 1)
    order = np.random.default_rng(POOL_SEED).permutation(len(rest))
    tuning = sorted(forced + [rest[i] for i in order[:n_tune]])
    return tuning, [c for c in cands if c not in tuning]


def draw(task: TaskData, kind: str, n: int, seed: int) -> tuple[str, ...]:
    """The n classes or speakers seed `seed` forgets, from its role's pool (sorted)."""
    tuning, reported = pools(task, kind)
    pool = tuning if role_of(seed) == "tuning" else reported
    if not 1 <= n <= len(pool):
        raise ValueError(
            f"cannot forget {n} {kind}(s) per run: the {role_of(seed)} pool of this task has "
            f"{len(pool)} ({', '.join(pool) or 'none'})"
        )
    order = np.random.default_rng(POOL_SEED + 1).permutation(pool)
    chunks = len(pool) // n
    i = seed % chunks
    return tuple(sorted(str(c) for c in order[i * n : (i + 1) * n]))


def check_distinct(task: TaskData, kind: str, n: int, seeds: tuple[int, ...]) -> None:
    """ValueError when two of `seeds` would forget the same set (too small a pool)."""
    seen: dict[tuple[str, ...], int] = {}
    for seed in seeds:
        picked = draw(task, kind, n, seed)
        if picked in seen:
            tuning, reported = pools(task, kind)
            size = len(tuning if role_of(seed) == "tuning" else reported)
            raise ValueError(
                f"seeds {seen[picked]} and {seed} would both forget {kind}:{','.join(picked)}: "
                f"the {role_of(seed)} pool holds {size // n} distinct sets of {n}; use fewer "
                "seeds or fewer classes per run"
            )
        seen[picked] = seed
