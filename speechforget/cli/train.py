"""python -m speechforget train --task kws|sid: retrain a shipped original (assets/)."""

from __future__ import annotations

import argparse
import json
import time

from speechforget.config import TASKS, DataConfig


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=TASKS, default="kws")
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--out", default=None, help="checkpoint path (default assets/cnn_<task>)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe field (epochs, lr, batch_size, ...)",
    )


def main(args: argparse.Namespace) -> int:
    from speechforget.cli.common import parse_overrides
    from speechforget.config import apply_overrides
    from speechforget.data import load_source
    from speechforget.models import build_model, save_checkpoint
    from speechforget.originals import CNN_RECIPE, CNN_SPEC, asset_path, featurize, train_original

    t0 = time.perf_counter()
    task = load_source(DataConfig(seed=args.data_seed)).task(args.task)
    x = featurize(build_model({**CNN_SPEC, "num_classes": task.num_classes}), task.waves)
    print(
        f"data: {len(task)} clips, {task.num_classes} classes, ready in {time.perf_counter() - t0:.1f} s"
    )
    recipe = apply_overrides(CNN_RECIPE, parse_overrides(args.overrides))
    trained = train_original(task, x, recipe=recipe)
    path = save_checkpoint(trained.model, args.out or asset_path("cnn", args.task), trained.meta)
    print(json.dumps(trained.meta["metrics"], indent=2))
    print(f"trained in {trained.meta['train_time_s']} s; saved {path}")
    return 0
