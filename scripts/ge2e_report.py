"""The GE2E backbones next to the built-in CNN, on both tasks, rerunnable on any built-in data:

    python scripts/ge2e_report.py [--backbones cnn ge2e ge2e-ft] [--tasks kws sid] [--no-unlearn]

For each task and backbone: the original's test accuracy and train time; its accuracy on
keywords of another synthesis engine (flite, when installed: 4 voices x the 10 keywords,
keyword task only - flite's voices are not the data set's speakers); then one sample-mode
(sample:5) and one class-mode (class:up / the first speaker) run of loss_match with its
gaps to the gold retrain (utility, forgetting, avg) and the gold's retrain time.
Originals and golds are kept in the store ($SPEECHFORGET_CACHE), so a rerun is quick.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
FLITE_VOICES = ("kal", "slt", "rms", "awb")


def flite_accuracy(ctx) -> float | None:
    """Keyword accuracy of the original on flite's voices (None without flite or for sid)."""
    if ctx.task.task != "kws" or shutil.which("flite") is None:
        return None
    from speechforget.clip_check import load_clip, model_probs

    names, hits = list(ctx.task.class_names), []
    with tempfile.TemporaryDirectory() as tmp:
        for voice in FLITE_VOICES:
            for word in KEYWORDS:
                path = Path(tmp) / f"{voice}_{word}.wav"
                subprocess.run(["flite", "-voice", voice, "-t", word, "-o", str(path)], check=True)
                probs = model_probs(ctx.original.model, load_clip(path))
                hits.append(names[int(probs.argmax())] == word)
    return float(np.mean(hits))


def unlearn_row(ctx, forget: str) -> dict:
    """loss_match on `forget`: its gaps to the gold and both runs' times."""
    from speechforget.config import ExperimentConfig
    from speechforget.pipeline import run_experiment

    cfg = ExperimentConfig(forget=forget, method="loss_match", device="cpu", seed=0)
    res = run_experiment(cfg, ctx=ctx)
    rep = res.report()
    gap = rep["gap_to_retrain"]
    return {
        "forget": forget,
        "unlearned_test": rep["models"]["unlearned"]["test_acc"],
        "gold_test": rep["models"]["retrain"]["test_acc"],
        "unlearned_forget": rep["models"]["unlearned"]["forget_acc"],
        "gold_forget": rep["models"]["retrain"]["forget_acc"],
        "avg_gap": gap.get("avg"),
        "time_s": res.times.get("unlearned"),
        "gold_time_s": res.times.get("retrain"),
    }


def pct(v) -> str:
    return "-" if v is None else f"{100 * v:5.1f}"


def secs(v) -> str:
    return "-" if v is None else f"{v:6.1f}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backbones", nargs="+", default=["cnn", "ge2e", "ge2e-ft"])
    p.add_argument("--tasks", nargs="+", default=["kws", "sid"])
    p.add_argument("--no-unlearn", action="store_true", help="originals only")
    args = p.parse_args(argv)
    from speechforget.pipeline import prepare

    print(
        "task backbone  test%  flite%  train_s | forget      unl_test gold_test unl_Df gold_Df "
        "avg_gap  time_s gold_s"
    )
    for task in args.tasks:
        for backbone in args.backbones:
            t0 = time.perf_counter()
            ctx = prepare(task, backbone, device="cpu")
            meta = ctx.original.meta
            head = (
                f"{task:4} {backbone:8} {pct(meta['metrics']['test_acc'])}  "
                f"{pct(flite_accuracy(ctx)):>6} {secs(meta.get('train_time_s'))}"
            )
            print(f"{head} | (prepared in {time.perf_counter() - t0:.0f} s)", flush=True)
            if args.no_unlearn:
                continue
            first = ctx.task.class_names[0] if task == "sid" else "up"
            for forget in ("sample:5", f"class:{first}"):
                r = unlearn_row(ctx, forget)
                print(
                    f"{'':23} | {r['forget']:11} {pct(r['unlearned_test']):>8} "
                    f"{pct(r['gold_test']):>9} {pct(r['unlearned_forget']):>6} "
                    f"{pct(r['gold_forget']):>7} {pct(r['avg_gap']):>7} {secs(r['time_s'])} "
                    f"{secs(r['gold_time_s'])}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
