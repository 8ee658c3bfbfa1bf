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
    p.add_argument(
        "--out", help="folder for results.csv/.json/.md/.html and the finished cells (cells/)"
    )
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: one task after another here; ray: Ray tasks (README, Scaling out)",
    )
    p.add_argument(
        "--address", help="ray: join this cluster (HOST:PORT or auto); default: a local one"
    )
    p.add_argument("--num-cpus", type=int, help="ray, local instance: CPUs it may use")
    p.add_argument(
        "--threads",
        type=int,
        help="ray: torch threads (and Ray CPUs) per task; default: this process's torch threads",
    )
    p.add_argument(
        "--retries", type=int, default=1, help="tries after a cell's first failure (default 1)"
    )
    p.add_argument(
        "--report",
        metavar="DIR",
        help="rebuild DIR/results.* from DIR/cells without running anything",
    )
    p.add_argument(
        "--protocol",
        choices=("paper",),
        help="paper: ratios 1..10 and class mode, seeds 10-14, every method and its +sl variant",
    )
    p.add_argument("--backbones", help="--protocol paper: comma-separated backbones")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the grid's size and a device-hours estimate from a measured step time",
    )
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
    parts = ["python", "-m", "speechforget", "bench", "--task", args.task]
    if getattr(args, "protocol", None) == "paper":
        parts += ["--protocol", "paper", "--backbones", args.backbones or args.backbone]
        parts += ["--golds", str(args.golds), "--out", args.out]
        return shlex.join(parts)
    parts += ["--mode", args.mode]
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


def _config(args: argparse.Namespace):
    from speechforget.bench import BenchConfig, parse_methods
    from speechforget.cli.common import parse_overrides

    return BenchConfig(
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


def _groups(args: argparse.Namespace) -> list[tuple[str, list]]:
    """(results sub-folder, configs pooled in its tables): one plain bench, or the preset's
    sections."""
    cfg = _config(args)
    if args.protocol != "paper":
        return [("", [cfg])]
    from speechforget.paper import paper_configs

    backbones = [b.strip() for b in (args.backbones or args.backbone).split(",") if b.strip()]
    return paper_configs(cfg, backbones)


def _sections(groups, factory, command: str) -> list[dict]:
    """The manifest's sections: each one's info (as bench_steps.run_bench's) and its tasks' keys."""
    import dataclasses

    from speechforget.bench import all_methods
    from speechforget.grid import plan_grid

    out = []
    for name, cfgs in groups:
        cfg = cfgs[0]
        ctx = factory(cfg)
        backbones = [c.backbone for c in cfgs]
        conf = {**dataclasses.asdict(cfg), "methods": list(cfg.methods or all_methods())}
        if len(backbones) > 1:
            conf["backbone"] = ", ".join(backbones) + " (pooled)"
        info = {
            "config": conf,
            "original": ctx.original.meta.get("metrics"),
            "n_clips": len(ctx.task),
            "command": command,
        }
        keys = [t.key for t in plan_grid(cfgs, lambda c: factory(c).task)]
        out.append({"name": name, "info": info, "keys": keys, "backbones": backbones})
    return out


def report(out, quiet: bool = False, figure: bool = True) -> int:
    """Rebuild the results files of every section of `out` from its cell store; 1 when a
    cell failed or has not run."""
    from pathlib import Path

    from speechforget.bench_report import markdown, write_outputs
    from speechforget.grid import collect

    out = Path(out)
    bad = 0
    for sec, rows, missing in collect(out):
        where = out / sec["name"]
        if rows:
            paths = write_outputs(rows, sec["info"], where, figure=figure)
            if not quiet:
                print(markdown(rows, sec["info"]))
            print("written: " + ", ".join(str(p) for p in paths.values()))
        for rec in missing:
            bad += 1
            print(f"not finished: {rec['key']}: {rec.get('status')}: {rec.get('error', '')}")
    if bad:
        print(f"{bad} cell(s) failed or not run; rerun the same command to run them again")
    return 1 if bad else 0


def main(args: argparse.Namespace) -> int:
    from speechforget.executor import ContextFactory, run_grid

    if args.report:
        return report(args.report, quiet=args.quiet, figure=not args.no_figure)
    groups = _groups(args)
    if args.dry_run:
        from speechforget.data import load_source
        from speechforget.paper import dry_run
        from speechforget.store import Store

        cfg = groups[0][1][0]
        task = load_source(cfg.data, Store.default()).task(cfg.task)
        print(dry_run(groups, len(task.where("train"))))
        return 0
    if not args.out:
        raise ValueError("bench needs --out DIR (or --report DIR, or --dry-run)")
    factory = ContextFactory()
    sections = _sections(groups, factory, command_line(args))
    outcome = run_grid(
        [c for _, cfgs in groups for c in cfgs],
        args.out,
        executor=args.executor,
        address=args.address,
        retries=args.retries,
        factory=factory,
        threads=args.threads,
        num_cpus=args.num_cpus,
        sections=sections,
        progress=None if args.quiet else _stderr,
    )
    print(
        f"{outcome.ran} task(s) run, {outcome.skipped} already finished, "
        f"{len(outcome.failed)} failed, in {outcome.wall_s:.1f} s ({args.executor})"
    )
    for rec in outcome.failed:
        print(f"FAILED {rec['key']} after {rec['attempts']} tries: {rec['error']}")
    return report(args.out, quiet=args.quiet, figure=not args.no_figure)


def _stderr(line: str) -> None:
    import sys

    print(line, file=sys.stderr, flush=True)
