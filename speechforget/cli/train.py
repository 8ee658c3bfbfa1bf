"""python -m speechforget train --task kws|sid: retrain a shipped original (assets/)."""

from __future__ import annotations

import argparse
import json
import time

from speechforget.config import TASKS, DataConfig, default_backbone


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=TASKS, default="kws")
    p.add_argument(
        "--backbone",
        default=None,
        help="a built-in backbone (see models/registry.py; default: the task's)",
    )
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--out", default=None, help="checkpoint path (default assets/<backbone>_<task>)")
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
    from speechforget.models import BUILTIN, save_checkpoint
    from speechforget.training.builtin import asset_path, builtin_inputs, train_builtin

    args.backbone = args.backbone or default_backbone(args.task)
    if args.backbone not in BUILTIN:
        raise ValueError(f"--backbone {args.backbone}: choose a built-in one, {', '.join(BUILTIN)}")
    t0 = time.perf_counter()
    task = load_source(DataConfig(seed=args.data_seed)).task(args.task)
    x = builtin_inputs(args.backbone, task)
    print(
        f"data: {len(task)} clips, {task.num_classes} classes, ready in {time.perf_counter() - t0:.1f} s"
    )
    recipe = apply_overrides(
        BUILTIN[args.backbone].recipe_for(args.task), parse_overrides(args.overrides)
    )
    trained = train_builtin(args.backbone, task, x, recipe=recipe)
    out = args.out or asset_path(args.backbone, args.task)
    path = save_checkpoint(trained.model, out, trained.meta)
    print(json.dumps(trained.meta["metrics"], indent=2))
    print(f"trained in {trained.meta['train_time_s']} s; saved {path}")
    return 0
