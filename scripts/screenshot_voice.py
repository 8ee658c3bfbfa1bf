"""The "Your voice" loop in Chromium on the real app: upload a visitor's takes (an
espeak-ng voice the built-in data never uses) into the recorder, Train it in, Forget me,
and save a screenshot of the tab; prints the loop's time as the page shows it.

    python scripts/screenshot_voice.py [--task kws] [--out assets/screenshots/your_voice.png]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the package, and visitor_support


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--task", choices=("kws", "sid"), default="kws")
    ap.add_argument("--takes", type=int, default=3)
    ap.add_argument("--words", default="yes,no,up,down,left")
    ap.add_argument("--settle", type=float, default=30.0, help="seconds after start (warm-up)")
    ap.add_argument("--out", default=str(ROOT / "assets" / "screenshots" / "your_voice.png"))
    args = ap.parse_args()

    from playwright.sync_api import expect, sync_playwright
    from visitor_support import visitor_clip

    from speechforget.data.audio import save_wav
    from speechforget.ui import build_demo, launch

    folder = Path(tempfile.mkdtemp(prefix="screenshot_voice_"))
    demo = build_demo(default_task=args.task)
    _, url, _ = launch(demo, server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
    time.sleep(args.settle)  # a visitor arrives after the start-up warm-up (UMAP, outputs)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.set_default_timeout(180_000)
        expect.set_options(timeout=180_000)
        page.goto(url)
        page.get_by_role("tab", name="Your voice").click()
        if args.task == "sid":
            page.locator("#enrol-task").get_by_text("Speaker identification").click()
        rec = page.locator("#enrol-rec")
        n = 0
        for k in range(args.takes):
            for w in args.words.split(","):
                n += 1
                f = save_wav(folder / f"{w}_{k}.wav", visitor_clip(w, k))
                rec.get_by_label("Upload file").click()
                rec.locator("input[type=file]").set_input_files(str(f))
                expect(page.locator("#enrol-msg")).to_contain_text(f"Take {n} kept")
        t0 = time.perf_counter()
        page.locator("#train-in").click()
        expect(page.locator("#enrol-status")).to_contain_text("Trained with you")
        t1 = time.perf_counter()
        page.locator("#forget-me").click()
        expect(page.locator("#enrol-verdict")).to_contain_text("membership score")
        t2 = time.perf_counter()
        print(
            f"{args.task}: {n} takes; train it in {t1 - t0:.1f} s, forget + gold + verdict "
            f"{t2 - t1:.1f} s, whole loop {t2 - t0:.1f} s (in Chromium)"
        )
        page.locator("#tab-enrol").screenshot(path=args.out)
        print("screenshot:", args.out)
        browser.close()
    demo.close()


if __name__ == "__main__":
    main()
