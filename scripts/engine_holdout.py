"""The held-out proxy for "does the keyword model hear voices it never trained on?", without
touching the validation engine (flite): leave one engine out. Train the CNN recipe on the
training clips of one built-in engine only, test on every clip of the other engine, and on
the unheard speakers of its own engine.

    python scripts/engine_holdout.py                 # both directions, kws, the CNN recipe
    python scripts/engine_holdout.py --train espeak --set epochs=12
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", default="espeak,piper", help="engines to train on, one run each")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)

    import torch

    from speechforget.cli.common import parse_overrides
    from speechforget.config import apply_overrides
    from speechforget.data.synthetic import SynthConfig, build_synthetic, make_speakers
    from speechforget.engine import predict
    from speechforget.models import BUILTIN
    from speechforget.training.builtin import builtin_inputs
    from speechforget.training.recipe import train_model

    cfg = SynthConfig()
    task = build_synthetic(cfg).task("kws")
    engine = np.array([s.engine for s in make_speakers(cfg)])[task.speaker]
    x, y = builtin_inputs("cnn", task), task.y
    entry = BUILTIN["cnn"]
    recipe = apply_overrides(entry.recipe, parse_overrides(args.overrides))
    results = {}
    for eng in args.train.split(","):
        other = "piper" if eng == "espeak" else "espeak"
        train = np.flatnonzero((task.split == "train") & (engine == eng))
        t0 = time.perf_counter()
        model, _ = train_model(
            entry.spec_for(task.num_classes), recipe, x[train], torch.from_numpy(y[train])
        )
        pred = predict(model, x, "cpu")[0].argmax(1).numpy()

        def acc(m: np.ndarray, pred: np.ndarray = pred) -> float:
            return float((pred[m] == y[m]).mean())

        res = {
            "n_train": len(train),
            f"{eng}_test": acc((task.split == "test") & (engine == eng)),
            f"{eng}_unheard": acc((task.split == "unheard") & (engine == eng)),
            f"{other}_all": acc(engine == other),
            "train_s": round(time.perf_counter() - t0, 1),
        }
        results[f"train_{eng}"] = res
        print(f"train on {eng}: {json.dumps(res)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
