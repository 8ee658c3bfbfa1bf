"""Measure the app the way a visitor meets it, with Playwright in Debian's chromium.

    python scripts/measure_app.py [--runs 2] [--empty-cache | --fresh-gold] [--repeat N]
                                  [--browser-nice N] [--settle S] [--screenshot PNG]

Starts `python app.py` (the real built-in data and shipped models) on a free port and
prints, in seconds:
  served       process start -> the page is loaded (it may still say "Preparing: n%")
  preparing    process start -> the page shows the start-up's progress, if it does
  usable       process start -> the Run button is enabled (the start-up is done)
  first_loss   Run clicked -> the first point of the live loss curve is drawn
  figures      Run clicked -> metrics, confusion matrices, MIA histograms and the
               embedding map all hold data (the gold retrain may still be running; the
               map may be the PCA stand-in labelled "UMAP still computing")
  final_map    Run clicked -> the embedding map is UMAP's (the map event redrew it)
  gold         Run clicked -> the gold retrain's numbers are filled in
Defaults: keyword spotting, forget 'stop', the default method. --empty-cache starts
with an empty cache folder, as a fresh machine does: the data is built at start (the
shipped class golds are still found). --fresh-gold runs with an empty gold cache (a copy
of the data cache without gold retrains) and hides the shipped golds
(SPEECHFORGET_NO_SHIPPED_GOLDS=1), so the gold retrain really trains; then the same
retrain runs alone (the app stopped, no browser) and `gold_in_app_over_alone` is the ratio
of the two training times. The browser is started before the app, as a visitor's is.
--repeat N measures N times, each from a fresh start, and adds the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

# true once a gr.Plot's plotly figure has a trace with data points
# (plotly.py sends numpy arrays as {dtype, bdata} objects, plain lists as arrays)
HAS_DATA = """(id) => {
  const gd = document.querySelector('#' + id + ' .js-plotly-plot');
  const n = (a) => a ? (a.length || (a.bdata ? a.bdata.length : 0)) : 0;
  return !!(gd && gd.data && gd.data.some(t => n(t.x) || n(t.z)));
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(port: int, empty_cache: bool = False) -> dict[str, str]:
    """The environment of `python app.py` on 127.0.0.1:port (an empty cache folder when
    asked: a fresh machine)."""
    env = {
        **os.environ,
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    if empty_cache:
        env["SPEECHFORGET_CACHE"] = tempfile.mkdtemp(prefix="speechforget_empty_")
    return env


def fresh_cache() -> str:
    """A copy of the cache folder without its gold retrains."""
    src = Path(os.environ.get("SPEECHFORGET_CACHE", Path.home() / ".cache" / "speechforget"))
    dst = Path(tempfile.mkdtemp(prefix="speechforget_measure_"))
    for sub in src.iterdir() if src.is_dir() else []:
        if sub.is_dir() and sub.name != "gold":
            shutil.copytree(sub, dst / sub.name)
    return str(dst)


GOLD_IN_APP = re.compile(r"Gold retrain ([0-9.]+) s")
ALONE = """
import json, sys
from speechforget.data import make_split
from speechforget.pipeline import prepare
from speechforget.store import Store
from speechforget.training.gold import retrain_gold
ctx = prepare("kws")
split = make_split(ctx.task, sys.argv[1])
gold = retrain_gold(ctx.original, ctx.task, ctx.x, split.retain, store=Store(sys.argv[2]))
print(json.dumps({"time_s": gold.meta["time_s"]}))
"""


def compare_gold(out: dict, env: dict) -> None:
    """The same gold retrain as the first run's, alone in a process of its own (the app
    stopped, no browser), beside the one the app reported: their ratio is the app's
    overhead. The page's default forget set is class `stop`."""
    found = GOLD_IN_APP.search(out["runs"][0]["status"])
    if not found:
        return
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [sys.executable, "-c", ALONE, "class:stop", tmp],
            cwd=ROOT,
            env={**env, "SPEECHFORGET_NO_SHIPPED_GOLDS": "1"},
            capture_output=True,
            text=True,
            check=True,
        )
    alone = json.loads(done.stdout.strip().splitlines()[-1])["time_s"]
    in_app = float(found.group(1))
    out["gold_in_app_s"], out["gold_alone_s"] = in_app, round(alone, 1)
    out["gold_in_app_over_alone"] = round(in_app / alone, 2)


def wait_page(page, url: str, deadline: float) -> None:
    while True:
        try:
            page.goto(url, timeout=5_000)
            page.locator("#run").wait_for(state="visible", timeout=60_000)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


RUN_ENABLED = "() => { const b = document.querySelector('#run'); return !!b && !b.disabled; }"
PREPARING = "() => /Preparing/.test((document.querySelector('#status') || {}).innerText || '')"


def wait_usable(page, t_start: float, timeout_s: float, out: dict) -> None:
    """Until Run is enabled; notes when the page first showed the start-up's progress."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if "preparing" not in out and page.evaluate(PREPARING):
            out["preparing"] = round(time.monotonic() - t_start, 2)
            out["preparing_text"] = page.locator("#status").inner_text().strip()
        if page.evaluate(RUN_ENABLED):
            out["usable"] = round(time.monotonic() - t_start, 2)
            return
        time.sleep(0.1)
    raise TimeoutError("Run was not enabled in time")


STATUS_HAS = "(text) => document.querySelector('#status').innerText.includes(text)"
# a figure with data that is not the 'running…' placeholder of a run in progress
FIGURE_READY = (
    "(id) => { const gd = document.querySelector('#' + id + ' .js-plotly-plot');"
    " if (!gd || !gd.layout) return false;"
    " if ((gd.layout.annotations || []).some(a => /running|run an experiment/.test(a.text)))"
    " return false; return (" + HAS_DATA + ")(id); }"
)


GOLD_DONE = (
    "() => /Done\\. Gold retrain|failed|Stopped/.test(document.querySelector('#status').innerText)"
)
MAP_TITLES = (
    "() => (document.querySelector('#embedding-plot .js-plotly-plot').layout.annotations || [])"
    ".map(a => a.text).join(' | ')"
)


def browser_command(nice: int) -> str:
    """Chromium's path, or a wrapper that starts it at the given nice value."""
    if not nice:
        return CHROMIUM
    wrapper = Path(tempfile.mkdtemp(prefix="speechforget_browser_")) / "chromium"
    wrapper.write_text(f'#!/bin/sh\nexec nice -n {int(nice)} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def one_run(page, timeout_s: float) -> dict:
    ms = int(timeout_s * 1000)
    t0 = time.monotonic()
    page.locator("#run").click()
    # this run's first answer ('Starting' or a live step) clears the previous run's outputs
    page.wait_for_function(
        "() => /Starting|Unlearning:/.test(document.querySelector('#status').innerText)",
        timeout=ms,
        polling=20,
    )
    page.wait_for_function(HAS_DATA, arg="loss-plot", timeout=ms, polling=20)
    t_loss = time.monotonic() - t0
    page.wait_for_function(STATUS_HAS, arg="Unlearned in", timeout=ms, polling=50)
    for elem in ("confusion-plot", "mia-plot", "embedding-plot"):
        page.wait_for_function(FIGURE_READY, arg=elem, timeout=ms, polling=50)
    page.locator("#metrics", has_text="Dt accuracy").wait_for(timeout=ms)
    t_fig = time.monotonic() - t0
    projection = page.evaluate(MAP_TITLES)
    # the gold's numbers and the final (UMAP) map may come in either order: poll both
    deadline, t_gold, t_map = t0 + timeout_s * 10, None, None
    while time.monotonic() < deadline and (t_gold is None or t_map is None):
        now = time.monotonic() - t0
        if t_gold is None and page.evaluate(GOLD_DONE):  # or failed / stopped: see `status`
            t_gold = now
        if t_map is None and "still computing" not in page.evaluate(MAP_TITLES):
            t_map = now
        if t_gold is not None and t_map is None and now > t_gold + timeout_s:
            break  # the map never left its provisional projection
        time.sleep(0.05)
    if t_gold is None:
        raise TimeoutError("the gold's numbers did not come in time")
    status = page.locator("#status").inner_text()
    projection_then = page.evaluate(MAP_TITLES)
    return {
        "first_loss": round(t_loss, 2),
        "figures": round(t_fig, 2),
        "gold": round(t_gold, 2),
        "final_map": None if t_map is None else round(t_map, 2),  # UMAP, not the PCA stand-in
        "load_avg": round(os.getloadavg()[0], 2),
        "embedding_title": projection,  # when every figure was drawn
        "embedding_title_after_gold": projection_then,
        "status": status.strip(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--runs", type=int, default=2, help="Run clicks (the first pays warm-ups)")
    ap.add_argument("--fresh-gold", action="store_true", help="start with no cached gold retrains")
    ap.add_argument(
        "--empty-cache", action="store_true", help="start with an empty cache (a fresh machine)"
    )
    ap.add_argument("--screenshot", default=str(ROOT / "assets" / "screenshots" / "app.png"))
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per wait")
    ap.add_argument(
        "--browser-nice",
        type=int,
        default=0,
        help="run Chromium at this nice value (19: it takes only what the app leaves of "
        "these cores, nearer a deployment, where the visitor's browser is elsewhere)",
    )
    ap.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="seconds to wait after the page is usable before the first Run (0: click "
        "at once, while the start-up warm-ups still run)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measure this many times, each from a fresh start (with --fresh-gold, each "
        "in-app gold is followed by its alone retrain; the medians are printed too: one "
        "pair is noisy, the alone retrain alone varies by several percent)",
    )
    args = ap.parse_args()
    if not os.path.exists(CHROMIUM):
        sys.exit(f"chromium not found at {CHROMIUM}: apt-get install chromium")
    outs = [measure(args) for _ in range(max(1, args.repeat))]
    print(json.dumps(outs[0] if len(outs) == 1 else summary(outs), indent=2))
    return 0


def summary(outs: list[dict]) -> dict:
    """Several measurements, and the medians of the gold times and of their ratio."""
    done = [o for o in outs if "gold_in_app_over_alone" in o]
    med = lambda k: statistics.median(o[k] for o in done)  # noqa: E731
    gold = {}
    if done:
        gold = {
            "gold_in_app_over_alone_each": [o["gold_in_app_over_alone"] for o in done],
            "gold_in_app_over_alone_median": med("gold_in_app_over_alone"),
            "gold_in_app_median_s": med("gold_in_app_s"),
            "gold_alone_median_s": med("gold_alone_s"),
            "median_in_app_over_median_alone": round(med("gold_in_app_s") / med("gold_alone_s"), 2),
        }
    return {"repeats": outs, **gold}


def measure(args) -> dict:
    """One measurement: a fresh `python app.py` driven by a fresh Chromium."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = app_env(port, args.empty_cache)
    if args.fresh_gold:
        env["SPEECHFORGET_NO_SHIPPED_GOLDS"] = "1"
        if not args.empty_cache:
            env["SPEECHFORGET_CACHE"] = fresh_cache()
    log = open(Path(tempfile.gettempdir()) / "speechforget_measure_app.log", "w")
    out: dict = {"cpu_cores": os.cpu_count(), "load_avg_at_start": os.getloadavg()[0]}
    proc = None
    try:
        with sync_playwright() as p:
            # the visitor's browser is open before the app starts (as a visitor's is)
            browser = p.chromium.launch(
                executable_path=browser_command(args.browser_nice),
                headless=True,
                args=["--no-sandbox", "--disable-dev-shm-usage"],
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t_start = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=log
            )
            wait_page(page, f"http://127.0.0.1:{port}/", t_start + args.timeout)
            out["served"] = round(time.monotonic() - t_start, 2)
            wait_usable(page, t_start, args.timeout, out)
            time.sleep(args.settle)
            out["runs"] = []
            for _ in range(args.runs):
                clicked = round(time.monotonic() - t_start, 1)
                out["runs"].append({"clicked_at_s": clicked, **one_run(page, args.timeout)})
            Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.screenshot, full_page=True)
            out["screenshot"] = args.screenshot
            browser.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    if args.fresh_gold and out["runs"]:
        compare_gold(out, env)
    out["browser_nice"] = args.browser_nice
    return out


if __name__ == "__main__":
    sys.exit(main())
