"""Time the app's "Your voice" loop on the built-in data, through the app's own handlers
(in this process, like the server): enrol takes of a voice the built-in data never uses,
then the whole loop from "Train it in" to the verdict (train-in, unlearning, gold,
verdict). Prints the phase times and the visitor's report keys per model.

    python scripts/measure_voice.py --task kws --method loss_match
    python scripts/measure_voice.py --task sid --takes 2
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the package, and visitor_support


def consume(gen) -> tuple:
    """The last value a handler yields."""
    (last,) = collections.deque(gen, maxlen=1)
    return last


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=("kws", "sid"), default="kws")
    p.add_argument("--method", default="loss_match")
    p.add_argument("--takes", type=int, default=3, help="takes per keyword")
    p.add_argument("--words", default="yes,no,up,down,left")
    p.add_argument("--voice", default=None, help="espeak voice of the visitor")
    args = p.parse_args()

    from visitor_support import VOICE, visitor_clip

    from speechforget import report
    from speechforget.data.audio import save_wav
    from speechforget.ui.app import App

    app = App.create()
    t = time.perf_counter()
    app.ctx.context(args.task)  # the app loads this before a visitor comes
    print(f"context loaded in {time.perf_counter() - t:.1f} s (not part of the loop)")
    folder = Path(tempfile.mkdtemp(prefix="measure_voice_"))
    sid = None
    t = time.perf_counter()
    for k in range(args.takes):
        for w in args.words.split(","):
            f = save_wav(folder / f"{w}_{k}.wav", visitor_clip(w, k, voice=args.voice or VOICE))
            sid, _, msg, *_ = app.enrol.add_take(sid, str(f), args.task)
            if not msg.startswith("✅"):
                print("take refused:", msg)
    n = len(app.enrol.takes(sid))
    print(f"{n} takes checked and kept in {time.perf_counter() - t:.1f} s")
    t0 = time.perf_counter()
    status = consume(app.enrol.train_in(sid, args.task))[0]
    t1 = time.perf_counter()
    print(f"train it in: {t1 - t0:.1f} s  | {status[:90]}")
    out = consume(app.enrol.forget(sid, args.task, args.method))
    t2 = time.perf_counter()
    print(f"forget me + gold + verdict: {t2 - t1:.1f} s  | {out[0][:140]}")
    print(f"WHOLE LOOP (train it in -> verdict): {t2 - t0:.1f} s on {os.cpu_count()} cores")
    print("verdict:", out[3])
    res = app.store.peek(sid).voice.result
    rep = report.build(res)
    for m in ("original", "unlearned", "retrain"):
        r = rep["models"][m]
        print(
            f"  {m:10s} added_test_acc {r['added_test_acc']:.3f}  "
            f"added_forget_member {r['added_forget_member']:.3f}  test_acc {r['test_acc']:.3f}"
        )
    print("added:", rep["added"], "| unlearned time", rep["models"]["unlearned"]["time_s"])
    app.enrol.delete_all(sid)


if __name__ == "__main__":
    main()
