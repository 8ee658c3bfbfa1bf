"""A classroom at once: N visitors open the app at the same moment and each runs a class
unlearning of its own keyword, asks for the gold, then uploads a clip. Loopback only,
bounded in visitors and time.

    python scripts/load_probe.py [--visitors 8] [--method random_label] [--empty-cache]

Starts `python app.py` (the built-in data and shipped models) on a free port of
127.0.0.1, waits until it says Run is enabled, then starts the visitors together
(gradio_client, one session each, as a page is). Prints per visitor, in seconds from the
common start: when its unlearned results came (`run`), when its gold numbers came
(`gold`), its upload's answer time, the best place in the queue and estimate it was told
while waiting, and whether every answer was its own (the report names its forget set);
then errors, and the server's peak resident memory (VmHWM of app.py's process; the UMAP
worker process is given apart). Exit status 1 when a visitor saw an error or another
visitor's results.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from measure_app import app_env, free_port  # noqa: E402

sys.path.insert(0, str(ROOT))
from speechforget.config import TASK_BACKBONES  # noqa: E402

KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
CLIP = ROOT / "assets" / "clips" / "stop_spk51_new_speaker.wav"
MAX_VISITORS = 16


def _kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Memory(threading.Thread):
    """Samples the server's and its children's resident memory every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak_children_kib, self.halt = pid, 0, threading.Event()

    def run(self):
        while not self.halt.wait(0.2):
            kids = sum(_kib(c, "VmRSS") or 0 for c in _children(self.pid))
            self.peak_children_kib = max(self.peak_children_kib, kids)


def _report(value) -> dict | None:
    """The JSON report behind a File output (a path, or {"value"/"path": path})."""
    if isinstance(value, dict):
        value = value.get("value") or value.get("path")
    if isinstance(value, str) and value.endswith(".json") and os.path.exists(value):
        return json.loads(Path(value).read_text())
    return None


def _watch(job, rec: dict, what: str) -> list:
    """Wait for a job, noting the best place in the queue and estimate it was told."""
    from gradio_client.utils import Status

    while not job.done():
        st = job.status()
        if st.code == Status.IN_QUEUE and st.eta is not None:
            rec[f"{what}_eta_seen"] = True  # an estimate was given while it waited
        if st.code == Status.IN_QUEUE and st.rank is not None:
            best = rec.get(f"{what}_queue")
            if best is None or st.rank > best["rank"]:
                eta = None if st.eta is None else round(st.eta, 1)
                rec[f"{what}_queue"] = {"rank": st.rank, "of": st.queue_size, "eta_s": eta}
        time.sleep(0.1)
    return job.outputs()


def visitor(
    url: str,
    i: int,
    keyword: str,
    method: str,
    backbone: str,
    t0: float,
    go: threading.Event,
    rec: dict,
):
    from gradio_client import Client, handle_file

    rec.update(visitor=i, keyword=keyword, errors=[], own=True)
    try:
        client = Client(url, verbose=False)
        go.wait()
        args = (backbone, "synthetic", "kws", "keywords", [keyword], 10, method, False, 0)
        outs = _watch(client.submit(*args, api_name="/run"), rec, "run")
        rec["run"] = round(time.monotonic() - t0, 1)
        status = next((o[0] for o in reversed(outs) if isinstance(o[0], str)), "")
        if "Unlearned" not in status:
            rec["errors"].append(f"run: {status[:200]}")
        reports = [r for o in outs for r in map(_report, o) if r]
        for rep in reports:
            if rep.get("config", {}).get("forget") != f"class:{keyword}":
                rec["own"] = False
        if not reports:
            rec["errors"].append("run: no report")
        outs = _watch(client.submit(api_name="/gold"), rec, "gold")
        rec["gold"] = round(time.monotonic() - t0, 1)
        # the last word of each output: a later update may leave the status as it was
        status = next((o[0] for o in reversed(outs) if isinstance(o[0], str)), "")
        if "Done" not in status:
            rec["errors"].append(f"gold: {status[:200] or 'no answer'}")
        rep = next((r for o in reversed(outs) for r in map(_report, o) if r), None)
        if rep is None:
            rec["errors"].append("gold: no report")
        elif rep.get("config", {}).get("forget") != f"class:{keyword}":
            rec["own"] = False
        if rep is not None and (rep.get("gap_to_retrain") or {}).get("avg") is None:
            rec["errors"].append("gold: no gap to gold in the report")
        timing = ((rep or {}).get("timing") or {}).get("retrain") or {}
        rec["gold_source"] = timing.get("source")
        trained = (((rep or {}).get("models") or {}).get("retrain") or {}).get("time_s")
        if trained is not None:
            rec["gold_retrain_s"] = round(trained, 1)  # the retrain's training time
        t = time.monotonic()
        _, verdict = client.predict(
            handle_file(str(CLIP)), None, "kws", backbone, api_name="/predict"
        )
        rec["upload_s"] = round(time.monotonic() - t, 2)
        if "recognised" not in verdict and "speech" not in verdict:
            rec["errors"].append(f"upload: {verdict[:200]}")
    except Exception as err:  # reported, never hidden
        rec["errors"].append(f"{type(err).__name__}: {err}")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--visitors", type=int, default=8, help=f"at most {MAX_VISITORS}")
    ap.add_argument("--method", default="random_label")
    ap.add_argument(
        "--backbone",
        default=TASK_BACKBONES["kws"],
        help="the keyword backbone every visitor runs (default: the app's, whose class golds "
        "are shipped)",
    )
    ap.add_argument(
        "--keywords", default=",".join(KEYWORDS), help="comma-separated, one per visitor in turn"
    )
    ap.add_argument("--empty-cache", action="store_true", help="an empty cache folder")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds for the whole probe")
    ap.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="seconds to wait after Run is enabled before the visitors start (0: at once, "
        "while the start-up's other work still runs)",
    )
    args = ap.parse_args()
    if not 1 <= args.visitors <= MAX_VISITORS:
        sys.exit(f"--visitors must be 1..{MAX_VISITORS}")
    keywords = [k.strip() for k in args.keywords.split(",") if k.strip()]
    port = free_port()
    env = app_env(port, args.empty_cache)
    t_start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: dict = {
        "visitors": args.visitors,
        "method": args.method,
        "backbone": args.backbone,
        "cpu_cores": os.cpu_count(),
    }
    try:
        for line in proc.stderr:  # the start-up's lines (ui/startup.py)
            if "Run is enabled" in line or "could not prepare" in line:
                break
            if time.monotonic() - t_start > args.timeout:
                raise TimeoutError("the app did not get ready")
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
        out["ready_after_s"] = round(time.monotonic() - t_start, 1)
        mem = Memory(proc.pid)
        mem.start()
        url = f"http://127.0.0.1:{port}/"
        go, recs, threads = threading.Event(), [], []
        time.sleep(args.settle)
        t0 = time.monotonic() + 3.0  # every client connected by then
        for i in range(args.visitors):
            rec: dict = {}
            kw = keywords[i % len(keywords)]
            th = threading.Thread(
                target=visitor,
                args=(url, i, kw, args.method, args.backbone, t0, go, rec),
                daemon=True,
            )
            recs.append(rec)
            threads.append(th)
            th.start()
        time.sleep(max(0.0, t0 - time.monotonic()))
        go.set()
        for th in threads:
            th.join(timeout=max(1.0, args.timeout - (time.monotonic() - t_start)))
        mem.halt.set()
        out["peak_server_mib"] = round((_kib(proc.pid, "VmHWM") or 0) / 1024)
        out["peak_workers_mib"] = round(mem.peak_children_kib / 1024)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    out["per_visitor"] = recs
    bad = [r for r in recs if r.get("errors") or not r.get("own") or "gold" not in r]
    for r in recs:
        q = r.get("run_queue") or {}
        print(
            f"visitor {r.get('visitor')} ({r.get('keyword')}): unlearned at {r.get('run')} s, "
            f"gold at {r.get('gold')} s ({r.get('gold_source')}"
            + (f", trained in {r['gold_retrain_s']} s" if "gold_retrain_s" in r else "")
            + f"), upload {r.get('upload_s')} s; "
            f"queue place {q.get('rank')} of {q.get('of')} (estimate then {q.get('eta_s')} s, "
            f"an estimate while waiting: {bool(r.get('run_eta_seen') or r.get('gold_eta_seen'))}); "
            f"own results {r.get('own')}; errors {r.get('errors') or 'none'}"
        )
    runs = [r["run"] for r in recs if "run" in r]
    golds = [r["gold"] for r in recs if "gold" in r]
    print(
        f"ready after {out['ready_after_s']} s; unlearned: max {max(runs, default=None)} s, "
        f"gold: max {max(golds, default=None)} s; server peak {out['peak_server_mib']} MiB "
        f"(UMAP worker peak {out['peak_workers_mib']} MiB); visitors with errors: {len(bad)}"
    )
    print(json.dumps(out, indent=1, default=str))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
