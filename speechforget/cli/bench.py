"""python -m speechforget bench --task kws --mode sample --ratios 1,5,10 --methods all --out DIR"""

from __future__ import annotations

import argparse
import shlex

from speechforget.config import DEFAULT_BACKBONE, TASKS, DataConfig
from speechforget.protocol import REPORTED_SEEDS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", choices=TASKS, default="kws", help="kws or sid")
    p.add_argument(
        "--mode",
        choices=("sample", "class", "speaker"),
        default="sample",
        help="sample: a random %% of the training clips; class: whole keywords (kws) or "
        "speakers (sid); speaker: every clip of a speaker (in sid the same as class)",
    )
    p.add_argument(
        "--ratios", default="1,5,10", help="sample mode: forget percentages, comma separated"
    )
    p.add_argument(
        "--classes",
        type=int,
        default=1,
        help="class and speaker modes: classes or speakers forgotten per run (drawn by "
        "seed from the protocol's pool: see speechforget/protocol.py)",
    )
    p.add_argument(
        "--golds",
        type=int,
        default=3,
        metavar="K",
        help="independently seeded gold retrains per forget set; the gap between them is "
        "the noise floor of every gap (1: no noise floor)",
    )
    p.add_argument(
        "--methods",
        default="all",
        help="all | all+sl | comma list, NAME+sl for the SuperLoss variant (e.g. scrub,scrub+sl)",
    )
    p.add_argument(
        "--seeds",
        default=",".join(map(str, REPORTED_SEEDS)),
        help="comma separated seeds; 0-9 are the tuning seeds the defaults were chosen on "
        "(their forget sets come from the tuning pools), 10 and up are reported seeds",
    )
    p.add_argument("--superloss", action="store_true", help="wrap every method in SuperLoss")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a method setting: key=value (every method that has it) or "
        "method.key=value (one method); repeatable",
    )
    p.add_argument("--out", required=True, help="folder for results.csv/.json/.md/.html")
    p.add_argument(
        "--backbone", default=DEFAULT_BACKBONE, help="cnn (built-in) or a transformer backbone"
    )
    p.add_argument("--data", default="synthetic", help="synthetic | folder:<dir> | ...")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the built-in data set")
    p.add_argument("--device", default="auto", help="cpu | cuda | auto")
    p.add_argument("--no-figure", action="store_true", help="skip the plotly HTML figure")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _numbers(text: str, cast, what: str) -> tuple:
    try:
        return tuple(cast(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise ValueError(f"--{what} expects comma-separated numbers, got '{text}'") from None


def command_line(args: argparse.Namespace) -> str:
    """The command that reproduces this run (for results.md)."""
    parts = ["python", "-m", "speechforget", "bench", "--task", args.task, "--mode", args.mode]
    parts += (
        ["--ratios", args.ratios] if args.mode == "sample" else ["--classes", str(args.classes)]
    )
    parts += ["--methods", args.methods, "--seeds", args.seeds, "--golds", str(args.golds)]
    parts += ["--superloss"] if args.superloss else []
    for item in args.overrides:
        parts += ["--set", item]
    if args.backbone != DEFAULT_BACKBONE:
        parts += ["--backbone", args.backbone]
    if args.data != "synthetic" or args.data_seed:
        parts += ["--data", args.data, "--data-seed", str(args.data_seed)]
    return shlex.join([*parts, "--out", args.out])


def main(args: argparse.Namespace) -> int:
    from speechforget.bench import BenchConfig, parse_methods, run_bench
    from speechforget.bench_report import markdown, write_outputs
    from speechforget.cli.common import parse_overrides

    cfg = BenchConfig(
        task=args.task,
        mode=args.mode,
        ratios=_numbers(args.ratios, float, "ratios"),
        classes=args.classes,
        methods=parse_methods(args.methods),
        seeds=_numbers(args.seeds, int, "seeds"),
        golds=args.golds,
        overrides=parse_overrides(args.overrides),
        superloss=args.superloss,
        device=args.device,
        backbone=args.backbone,
        data=DataConfig(source=args.data, seed=args.data_seed),
    )
    rows, info = run_bench(cfg, progress=not args.quiet)
    info["command"] = command_line(args)
    paths = write_outputs(rows, info, args.out, figure=not args.no_figure)
    print(markdown(rows, info))
    print("written: " + ", ".join(str(p) for p in paths.values()))
    return 0
