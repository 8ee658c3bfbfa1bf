"""Command line: python -m speechforget {synth,train,unlearn,predict,bench,gpu-check} ...

Each sub-command lives in speechforget/cli/ with `add_arguments(parser)` and
`main(args) -> int`; this file only wires them.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "synth": ("speechforget.cli.synth", "write the built-in synthetic data set as wav files"),
    "train": ("speechforget.cli.train", "train an original model (the shipped assets)"),
    "unlearn": ("speechforget.cli.unlearn", "run one unlearning experiment and report it"),
    "predict": ("speechforget.cli.predict", "predict the class of audio clips (JSON lines)"),
    "bench": ("speechforget.cli.bench", "run a grid of methods, ratios and seeds"),
    "gpu-check": ("speechforget.cli.gpu_check", "time a transformer backbone on a GPU"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m speechforget", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue  # a sub-command that is not built yet
        p = sub.add_parser(name, help=help_text, description=help_text)
        mod.add_arguments(p)
        p.set_defaults(_main=mod.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args._main(args) or 0)
    except ValueError as e:  # bad input: a clear message, no traceback
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
