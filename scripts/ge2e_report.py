"""The GE2E backbones next to the built-in CNN, on both tasks, rerunnable on any built-in data:

    python scripts/ge2e_report.py [--backbones cnn ge2e ge2e-ft] [--tasks kws sid] [--no-unlearn]

For each task and backbone: the original's test accuracy and train time; its accuracy on
keywords of another synthesis engine (flite, when installed: 4 voices x the 10 keywords,
keyword task only - flite's voices are not the data set's speakers); then one sample-mode
(sample:5) and one class-mode (class:up / the first speaker) run of loss_match with its
gaps to the gold retrain (utility, forgetting, avg) and the gold's retrain time. With
--enrol (speaker task): how well each original's embeddings identify voices it never
trained on from a few enrolled clips (nearest centroid, cosine; k = 3 and 5 clips per voice,
5 random draws): the 10 unheard espeak speakers of the built-in data, and flite's 4 voices.
Originals and golds are kept in the store ($SPEECHFORGET_CACHE), so a rerun is quick.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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


def flite_clips() -> list[tuple[str, np.ndarray]]:
    """(voice, 1 s clip) of the 10 keywords in each flite voice ([] without flite)."""
    if shutil.which("flite") is None:
        return []
    from speechforget.clip_check import load_clip

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for voice in FLITE_VOICES:
            for word in KEYWORDS:
                path = Path(tmp) / f"{voice}_{word}.wav"
                subprocess.run(["flite", "-voice", voice, "-t", word, "-o", str(path)], check=True)
                out.append((voice, load_clip(path)))
    return out


def centroid_accuracy(emb: np.ndarray, who: np.ndarray, k: int, draws: int = 5) -> float:
    """Nearest-centroid (cosine) accuracy: k random clips of each voice enrol it, the rest
    are identified among the enrolled voices; the mean over `draws` seeded draws."""
    rng, emb = np.random.default_rng(0), emb / np.linalg.norm(emb, axis=1, keepdims=True)
    voices, accs = np.unique(who), []
    for _ in range(draws):
        cents, test, truth = [], [], []
        for i, v in enumerate(voices):
            idx = rng.permutation(np.flatnonzero(who == v))
            cents.append(emb[idx[:k]].mean(0))
            test += list(idx[k:])
            truth += [i] * len(idx[k:])
        pred = np.argmax(emb[test] @ np.stack(cents).T, axis=1)
        accs.append(float(np.mean(pred == np.array(truth))))
    return float(np.mean(accs))


def enrolled_voices(ctx, flite: list) -> str:
    """The --enrol line of one original: centroid accuracy on unheard espeak and flite."""
    import torch

    from speechforget.engine import predict

    def embed(waves: np.ndarray) -> np.ndarray:
        m = ctx.original.model
        x = torch.cat(
            [m.featurize(torch.from_numpy(waves[i : i + 256])) for i in range(0, len(waves), 256)]
        )
        return predict(m, x, "cpu")[1].numpy()

    data = ctx.task.data
    unheard = np.flatnonzero(data.split == "unheard")
    emb = embed(data.waves[unheard])
    parts = [
        f"unheard espeak k={k}: {pct(centroid_accuracy(emb, data.speaker[unheard], k))}"
        for k in (3, 5)
    ]
    if flite:
        femb = embed(np.stack([w for _, w in flite]))
        who = np.array([v for v, _ in flite])
        parts += [f"flite k={k}: {pct(centroid_accuracy(femb, who, k))}" for k in (3, 5)]
    return "enrolled voices (nearest centroid) | " + " | ".join(parts)


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
    p.add_argument("--enrol", action="store_true", help="speaker task: enrolled unseen voices")
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
            if args.enrol and task == "sid":
                print(f"{'':23} | {enrolled_voices(ctx, flite_clips())}", flush=True)
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
