"""python -m speechforget unlearn --task kws --forget class:stop --method retrain --out report.json"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile

from speechforget.cli.common import add_experiment_arguments, experiment_config
from speechforget.engine import StepLog


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_experiment_arguments(p)
    p.add_argument(
        "--forget",
        default="class:stop",
        help="class:<names> | speaker:<id> | sample:<percent>; requests one after another "
        "separated by ';' (e.g. 'speaker:spk01;speaker:spk02': each earlier one re-measured)",
    )
    p.add_argument("--out", default=None, help="write the JSON report here")
    p.add_argument(
        "--save-model", default=None, help="write the unlearned model (safetensors) here"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--add-speaker",
        default=None,
        metavar="NAME=DIR",
        help="train the original with a visitor's clips in DIR as a new speaker NAME (a new "
        "class in sid; kws: DIR/<keyword>/*.wav or <keyword>_<anything>.wav), holding some "
        "back as their test clips; then e.g. --forget speaker:NAME",
    )


class Progress:
    """A tqdm bar per run ("unlearned", "retrain") fed by the engine's step log."""

    def __init__(self, enabled: bool) -> None:
        self.enabled, self.bars = enabled, {}

    def __call__(self, which: str, log: StepLog) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(which)
        if bar is None:
            bar = self.bars[which] = tqdm(
                total=log.total_steps, desc=which, file=sys.stderr, leave=False
            )
        bar.n = log.step
        loss = log.forget_loss if log.forget_loss is not None else log.retain_loss
        bar.set_postfix(loss=f"{loss:.3f}" if loss is not None else "-", refresh=False)
        bar.refresh()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def main(args: argparse.Namespace) -> int:
    from speechforget import report as reports
    from speechforget import report_text
    from speechforget.pipeline import run_experiment

    if "list" in (args.method, args.backbone, args.data):
        return _list(args)
    cfg = experiment_config(args)
    from speechforget.methods import check_experiment

    check_experiment(cfg)  # unknown method or --set key: fail before loading anything
    from speechforget.sequence import is_sequence

    if is_sequence(cfg.forget):
        return _sequence(args, cfg)
    progress = Progress(not args.quiet)
    try:
        with _enrolled(args, cfg, progress) as ctx:
            result = run_experiment(cfg, on_step=progress, ctx=ctx)
    finally:
        progress.close()
    report = reports.build(result)
    _show(report_text.summary(report), report, args.out)
    if args.save_model:
        reports.write_model(result, args.save_model, report)
        print(f"unlearned model written to {args.save_model}")
    return 0


def _sequence(args: argparse.Namespace, cfg) -> int:
    """--forget 'a;b;...': the requests one after another (speechforget.sequence)."""
    from speechforget import sequence

    if args.add_speaker or args.save_model:
        raise ValueError("a sequence of requests (';') runs without --add-speaker/--save-model")
    sequence.parse_requests(cfg.forget)  # a bad request fails before anything is loaded
    progress = Progress(not args.quiet)
    try:
        seq = sequence.run_sequence(cfg, on_step=progress)
    finally:
        progress.close()
    rep = sequence.report(seq)
    _show(sequence.summary(rep), rep, args.out)
    return 0


def _show(text: str, report: dict, out: str | None) -> None:
    """Print a report's summary and write it as JSON when asked."""
    from speechforget import report as reports

    print(text)
    if out:
        reports.write(report, out)
        print(f"report written to {out}")


@contextlib.contextmanager
def _enrolled(args: argparse.Namespace, cfg, progress: Progress):
    """The context with --add-speaker's clips trained in (None without it). What is
    trained with them lives in a temporary folder, deleted at the end."""
    if not args.add_speaker:
        yield None
        return
    from speechforget.data.visitor import read_visitor
    from speechforget.enrol import enrol
    from speechforget.pipeline import prepare
    from speechforget.store import Store

    name, sep, folder = args.add_speaker.partition("=")
    if not sep or not name.strip() or not folder.strip():
        raise ValueError(f"--add-speaker expects NAME=DIR, got '{args.add_speaker}'")
    visitor = read_visitor(name.strip(), folder.strip(), cfg.task, seed=cfg.seed)
    base = prepare(cfg.task, cfg.backbone, cfg.data, cfg.checkpoint, cfg.recipe, cfg.device)
    print(
        f"adding speaker '{visitor.name}': {visitor.n_trained} clips to train on, "
        f"{visitor.n_held} held back as their test clips; training the original with them",
        file=sys.stderr,
    )
    with tempfile.TemporaryDirectory(prefix="speechforget_visitor_") as tmp:
        yield enrol(base, visitor, Store(tmp), lambda log: progress("original", log))


def _list(args: argparse.Namespace) -> int:
    """--method list, --backbone list, --data list: what can be picked."""
    if args.method == "list":
        from speechforget.methods import describe_methods

        print(describe_methods())
    if args.backbone == "list":
        from speechforget.models import describe_backbones

        print(describe_backbones())
    if args.data == "list":
        from speechforget.data import describe_sources

        print(describe_sources())
    return 0
