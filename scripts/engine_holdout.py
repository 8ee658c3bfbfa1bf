"""The held-out proxy for "does the keyword model hear voices it never trained on?", without
touching the validation engine (flite): leave one engine out. Train a built-in backbone's
recipe on the training clips of one built-in engine only and report its accuracy on that
engine's val split (in-engine, for choosing) and on every clip of the other engine
(cross-engine: the development stand-in for an unseen engine), plus its own test and
unheard speakers. Choices made on these numbers never see flite.

    python scripts/engine_holdout.py                 # both directions, kws, the CNN recipe
    python scripts/engine_holdout.py --train espeak --set epochs=12
    python scripts/engine_holdout.py --backbone speechemb-tuned --train espeak --spec tuned_convs=5
"""

from __future__ import annotations

import argparse
import ast
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
    ap.add_argument("--backbone", default="cnn", help="a built-in backbone (models.BUILTIN)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument(
        "--spec", action="append", default=[], metavar="KEY=VALUE", help="model spec changes"
    )
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--save", help="write each run's logits on every clip to SAVE_<engine>.npz")
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    from speechforget.cli.common import parse_overrides
    from speechforget.config import apply_overrides
    from speechforget.data.synthetic import SynthConfig, build_synthetic, make_speakers
    from speechforget.engine import predict
    from speechforget.evaluation.metrics import per_sample_ce
    from speechforget.models import BUILTIN, build_model
    from speechforget.training.recipe import featurize, train_model

    cfg = SynthConfig()
    task = build_synthetic(cfg).task("kws")
    engine = np.array([s.engine for s in make_speakers(cfg)])[task.speaker]
    entry = BUILTIN[args.backbone]
    spec = entry.spec_for(task.num_classes)
    for key, value in parse_overrides(args.spec, "--spec").items():
        try:
            spec[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            spec[key] = value
    t0 = time.perf_counter()
    x = featurize(build_model(spec), task.waves)
    print(f"{args.backbone} {json.dumps(spec)}: inputs in {time.perf_counter() - t0:.0f} s")
    y = task.y
    unknown = task.class_names.index("_unknown_")
    recipe = apply_overrides(entry.recipe_for("kws"), parse_overrides(args.overrides))
    for eng in args.train.split(","):
        other = "piper" if eng == "espeak" else "espeak"
        train = np.flatnonzero((task.split == "train") & (engine == eng))
        t0 = time.perf_counter()
        model, _ = train_model(spec, recipe, x[train], torch.from_numpy(y[train]))
        logits = predict(model, x, "cpu")[0].numpy()
        pred = logits.argmax(1)

        def acc(m: np.ndarray, pred: np.ndarray = pred) -> float:
            return round(float((pred[m] == y[m]).mean()), 4)

        loss = per_sample_ce(logits, y)
        if args.save:
            np.savez(f"{args.save}_{eng}.npz", logits=logits, y=y, engine=engine, split=task.split)
        res = {
            "n_train": len(train),
            f"{eng}_val": acc((task.split == "val") & (engine == eng)),
            f"{other}_all": acc(engine == other),
            f"{eng}_test": acc((task.split == "test") & (engine == eng)),
            f"{eng}_unheard": acc((task.split == "unheard") & (engine == eng)),
            f"{other}_misses_unknown": round(
                float(np.mean(pred[(engine == other) & (pred != y)] == unknown)), 3
            ),
            "median_train_loss": round(float(np.median(loss[train])), 4),
            "train_s": round(time.perf_counter() - t0, 1),
        }
        print(f"train on {eng}: {json.dumps(res)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
