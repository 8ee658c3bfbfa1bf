"""Sweep method settings on the built-in data and print each one's gap to gold and
time ratio: how the per-mode defaults in speechforget/methods/*.py were chosen.

Model selection never looks at the test set, nor at a reported forget set: here the
metrics use the validation clips in place of Dt (and the validation clips of the
forgotten classes in class mode), and the seeds and forget sets are the protocol's
tuning ones (speechforget/protocol.py: seeds 0-9, the tuning pools of keywords and
speakers), disjoint from the seeds and forget sets the README tables report.

    python scripts/tune_methods.py --task kws --mode class --methods grad_ascent,scrub \
        --grid lr=3e-5,1e-4,3e-4 --grid epochs=1,2,4 --seeds 0 --out bench_out/tune_kws_class.csv

Each --grid KEY=v1,v2 is crossed with the others; a key a method's Config lacks is
ignored for that method. Rows print sorted by average gap; the best rows faster
than gold (time ratio < 1) and within 10% of gold's time are flagged.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import torch

# run from a checkout, not installed
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from speechforget import protocol
from speechforget.bench import parse_methods
from speechforget.config import ExperimentConfig
from speechforget.data import make_split
from speechforget.evaluation import gap_to_retrain
from speechforget.methods import METHODS
from speechforget.methods.superloss import SuperLossConfig
from speechforget.pipeline import evaluate, prepare, run_unlearning

METRICS = ("test_acc", "forget_acc", "retain_acc", "mia")


def validation_split(split, y: np.ndarray, seed: int = 0):
    """The split with validation clips standing in for the test clips. The validation
    clips are halved (seeded): one half stands in for Dt, the other stays as the split's
    val, the held-out reference a method may read (loss matching), so that no method
    is tuned on the clips it reads."""
    perm = np.random.default_rng(seed).permutation(len(split.val))
    ref, held = (
        np.sort(split.val[perm[: len(perm) // 2]]),
        np.sort(split.val[perm[len(perm) // 2 :]]),
    )
    mask = np.isin(y[held], split.forgotten_classes) if split.test_forgotten is not None else None
    return dataclasses.replace(split, val=ref, test=held, test_forgotten=mask)


def grid_points(
    name: str, grid: dict[str, list[str]], superloss: bool = False
) -> list[dict[str, str]]:
    own = {f.name for f in dataclasses.fields(METHODS.get_method(name).Config)}
    if superloss:
        own |= {f.name for f in dataclasses.fields(SuperLossConfig)}
    keys = [k for k in grid if k in own]
    return [dict(zip(keys, vals)) for vals in itertools.product(*(grid[k] for k in keys))]


def spec_for(mode: str, ratio: float, seed: int, task) -> str:
    """The tuning forget set of `seed` (protocol.draw; a reported seed is refused)."""
    if protocol.role_of(seed) != "tuning":
        raise SystemExit(f"seed {seed} is a reported seed; tune on {protocol.TUNING_SEEDS}")
    if mode == "sample":
        return f"sample:{ratio:g}"
    return f"{mode}:" + ",".join(protocol.draw(task, mode, 1, seed))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", default="kws")
    p.add_argument("--mode", choices=("sample", "class", "speaker"), default="sample")
    p.add_argument("--ratio", type=float, default=10.0, help="sample mode: forget percentage")
    p.add_argument("--methods", default="all")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2")
    p.add_argument("--seeds", default="0")
    p.add_argument("--device", default="cpu")
    p.add_argument("--superloss", action="store_true", help="wrap every method in SuperLoss")
    p.add_argument("--out", default=None, help="also write the rows to this CSV")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    grid = {k: v.split(",") for k, _, v in (g.partition("=") for g in args.grid)}
    ctx = prepare(args.task)
    seeds = [int(s) for s in args.seeds.split(",")]
    cells = []
    for seed in seeds:
        spec = spec_for(args.mode, args.ratio, seed, ctx.task)
        split = make_split(ctx.task, spec, seed)
        gold = ctx.retrain_gold(split.retain, device=args.device)
        vsplit = validation_split(split, ctx.task.y, seed)
        ev_gold = evaluate(gold.model, ctx, vsplit, seed).metrics
        cells.append((seed, spec, split, vsplit, gold, ev_gold))
        shown = "  ".join(f"{k} {100 * _num(ev_gold[k]):.1f}" for k in METRICS)
        print(f"gold {spec} seed {seed}: {shown}  time {gold.meta['time_s']:.1f}s", flush=True)
    rows = []
    for name in parse_methods(args.methods):
        for point in grid_points(name, grid, args.superloss) or [{}]:
            per_seed = []
            for seed, spec, _split, vsplit, gold, ev_gold in cells:
                exp = ExperimentConfig(
                    task=args.task,
                    forget=spec,
                    method=name,
                    seed=seed,
                    method_overrides=point,
                    device=args.device,
                    superloss=args.superloss,
                )
                t0 = time.perf_counter()
                model, run = run_unlearning(exp, ctx, vsplit, float(gold.meta["time_s"]))
                ev = evaluate(model, ctx, vsplit, seed).metrics
                per_seed.append(
                    {
                        **{k: _num(ev[k]) for k in METRICS},
                        "gap": gap_to_retrain(ev, ev_gold)["avg"],
                        "ratio": run.time_s / float(gold.meta["time_s"]),
                        "wall": time.perf_counter() - t0,
                    }
                )
            row = {
                "method": name,
                **point,
                **{k: float(np.nanmean([r[k] for r in per_seed])) for k in per_seed[0]},
            }
            rows.append(row)
            print(_fmt(row), flush=True)
    print("\nsorted by average gap to gold (validation clips as Dt):")
    for r in sorted(rows, key=lambda r: r["gap"]):
        flag = (
            " <- within 10% of gold's time"
            if r["ratio"] <= 0.1
            else (" (slower than gold)" if r["ratio"] >= 1 else "")
        )
        print(_fmt(r) + flag)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        with open(args.out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
            w.writeheader()
            w.writerows(rows)
    return 0


def _num(v: float | None) -> float:
    return float("nan") if v is None else float(v)


def _fmt(r: dict) -> str:
    settings = " ".join(
        f"{k}={v}"
        for k, v in r.items()
        if k
        not in ("method", "test_acc", "forget_acc", "retain_acc", "mia", "gap", "ratio", "wall")
    )
    return (
        f"{r['method']:14s} {settings:34s} Dv {100 * r['test_acc']:5.1f} Df {100 * r['forget_acc']:5.1f} "
        f"Dr {100 * r['retain_acc']:5.1f} MIA {100 * r['mia']:5.1f}  gap {100 * r['gap']:5.2f}  "
        f"time/gold {r['ratio']:.3f} ({r['wall']:.0f}s)"
    )


if __name__ == "__main__":
    sys.exit(main())
