"""Time the app's "Your voice" loop on the built-in data, in the served app (launched here
on 127.0.0.1, driven through its API with gradio_client as the page drives it): enrol
takes of a voice the built-in data never uses, then the whole loop from "Train it in" to
the verdict (train-in, unlearning, gold, verdict). Prints the phase times and the
visitor's held-back accuracy and membership score under the three models.

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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=("kws", "sid"), default="kws")
    p.add_argument("--method", default="loss_match")
    p.add_argument("--takes", type=int, default=3, help="takes per keyword")
    p.add_argument("--words", default="yes,no,up,down,left")
    p.add_argument("--voice", default=None, help="espeak voice of the visitor")
    p.add_argument("--settle", type=float, default=30.0, help="seconds after start (warm-up)")
    args = p.parse_args()

    from gradio_client import Client, handle_file
    from visitor_support import VOICE, visitor_clip

    from speechforget.data.audio import save_wav
    from speechforget.ui import build_demo, launch

    demo = build_demo(default_task=args.task)
    _, url, _ = launch(demo, server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    print(f"app served at {url}; waiting {args.settle:.0f} s for its start-up warm-up")
    time.sleep(args.settle)
    client = Client(url, verbose=False)
    folder = Path(tempfile.mkdtemp(prefix="measure_voice_"))
    t = time.perf_counter()
    for k in range(args.takes):
        for w in args.words.split(","):
            f = save_wav(folder / f"{w}_{k}.wav", visitor_clip(w, k, voice=args.voice or VOICE))
            msg = client.predict(handle_file(str(f)), args.task, api_name="/add_take")[0]
            if "kept" not in msg:
                print("take refused:", msg)
    print(f"takes uploaded, checked and kept in {time.perf_counter() - t:.1f} s")
    t0 = time.perf_counter()
    status = last(client.submit(args.task, api_name="/train_in"))[0]
    t1 = time.perf_counter()
    print(f"train it in: {t1 - t0:.1f} s  | {status[:90]}")
    out = last(client.submit(args.task, args.method, api_name="/forget_me"))
    t2 = time.perf_counter()
    print(f"forget me + gold + verdict: {t2 - t1:.1f} s  | {out[0][:150]}")
    print(
        f"WHOLE LOOP in the app (train it in -> verdict): {t2 - t0:.1f} s on {os.cpu_count()} cores"
    )
    print("verdict:", out[3])
    rows = {r[0]: r[1:4] for r in out[4]["data"]}
    for key in ("your held-back clips: accuracy", "your training clips: membership"):
        print(f"  {key}: original / unlearned / gold = {' / '.join(rows.get(key, ['-'] * 3))}")
    client.predict(api_name="/delete_my_recordings")
    demo.close()


def last(job) -> tuple:
    """The last output a streaming endpoint yields."""
    collections.deque(job, maxlen=0)
    return job.outputs()[-1]


if __name__ == "__main__":
    main()
