"""Arguments shared by sub-commands, turned into the config dataclasses."""

from __future__ import annotations

import argparse

from speechforget.config import (
    TASK_BACKBONES,
    TASKS,
    DataConfig,
    ExperimentConfig,
    default_backbone,
)


def add_experiment_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=TASKS, default="kws", help="kws or sid")
    p.add_argument(
        "--backbone",
        default=None,
        help="a built-in or transformer backbone ('list' to list them; default: the task's, "
        f"{', '.join(f'{t} {b}' for t, b in TASK_BACKBONES.items())})",
    )
    p.add_argument("--checkpoint", default=None, help="local folder of an original checkpoint")
    p.add_argument(
        "--data",
        default="synthetic",
        help="synthetic | folder:<dir> | hub:<repo or dir> | voxceleb:<dir> ('list' to list them)",
    )
    p.add_argument("--data-seed", type=int, default=0, help="seed of the built-in data set")
    p.add_argument("--subset", type=int, default=None, help="at most N training clips per class")
    p.add_argument("--method", default="retrain", help="unlearning method ('list' to list them)")
    p.add_argument(
        "--superloss", action="store_true", help="re-weight per-sample losses with SuperLoss"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field of the method's Config (repeatable)",
    )
    p.add_argument(
        "--recipe",
        dest="recipe",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field of the original's training recipe for a transformer "
        "backbone fine-tuned here (epochs, lr, batch_size, ...; repeatable); "
        "the gold retrain uses the same recipe",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="cpu | cuda | auto")
    p.add_argument("--no-gold", action="store_true", help="skip the gold retrain")
    p.add_argument(
        "--golds",
        type=int,
        default=1,
        metavar="K",
        help="retrain K independently seeded golds (K >= 2 reports gold_noise: the gap "
        "between golds, the noise floor of every gap)",
    )


def parse_overrides(items: list[str], option: str = "--set") -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{option} expects KEY=VALUE, got '{item}'")
        out[key.strip()] = value.strip()
    return out


def experiment_config(args: argparse.Namespace, **changes) -> ExperimentConfig:
    cfg = ExperimentConfig(
        task=args.task,
        backbone=args.backbone or default_backbone(args.task),
        forget=getattr(args, "forget", "class:stop"),
        method=args.method,
        method_overrides=parse_overrides(args.overrides),
        superloss=args.superloss,
        seed=args.seed,
        device=args.device,
        data=DataConfig(source=args.data, seed=args.data_seed, subset=args.subset),
        checkpoint=args.checkpoint,
        run_gold=not args.no_gold,
        golds=getattr(args, "golds", 1),
        recipe=parse_overrides(getattr(args, "recipe", []), "--recipe"),
    )
    for k, v in changes.items():
        setattr(cfg, k, v)
    return cfg
