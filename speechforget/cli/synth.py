"""python -m speechforget synth --out DIR: the built-in data set as wav files + metadata.csv"""

from __future__ import annotations

import argparse
import time


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="folder to write <split>/<keyword>/*.wav into")
    p.add_argument("--seed", type=int, default=0, help="data seed")


def main(args: argparse.Namespace) -> int:
    from speechforget.data.synthetic import SynthConfig, build_synthetic, write_wavs

    t0 = time.perf_counter()
    data = build_synthetic(SynthConfig(seed=args.seed))
    t1 = time.perf_counter()
    out = write_wavs(data, args.out)
    print(
        f"{len(data)} clips ({data.checksum()[:12]}), built/loaded in {t1 - t0:.1f} s, "
        f"written to {out} in {time.perf_counter() - t1:.1f} s"
    )
    return 0
