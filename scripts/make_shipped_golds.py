"""Make the gold retrains shipped in assets/golds/, for the built-in data and shipped
originals, so that no visitor after a fresh start waits for them:

- the class-mode golds of keyword spotting the app offers (of the task's default backbone,
  config.default_backbone): one per keyword the "Forget
  these" list holds (the recipe on the training clips without that class; the same for
  every seed: a class's retain set does not depend on it);
- the speaker task's visitor-free gold (the recipe on the built-in training set with one
  more output, for the visitor of the "Your voice" loop). It holds nothing of any visitor.

    python scripts/make_shipped_golds.py                 # all of them (about a minute each on 2 cores)
    python scripts/make_shipped_golds.py --only class:stop,class:go

Each is named by its key without the timing conditions (found on every machine); its
metadata says where and how it was made ("made"), and its time is reported as measured
then. A gold depends on the data: rerun this after the built-in data or the shipped
originals change (the old files are removed first).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _ship(kept_dir: Path, original, retain, what: str, shipped: Path) -> Path:
    import torch

    from speechforget.training.gold import gold_key

    (kept,) = kept_dir.glob("*.json")
    meta = json.loads(kept.read_text())
    meta["made"] = f"{platform.machine()}, {torch.get_num_threads()} threads; time_s measured then"
    meta["rebuild"] = "python scripts/make_shipped_golds.py"
    meta["what"] = what
    name = gold_key(original, retain, device=None)
    shipped.mkdir(parents=True, exist_ok=True)
    shutil.copy(kept.with_suffix(".safetensors"), shipped / f"{name}.safetensors")
    (shipped / f"{name}.json").write_text(json.dumps(meta, indent=1))
    for f in kept_dir.iterdir():
        f.unlink()
    return shipped / name


def class_gold(name: str, shipped: Path) -> str:
    from speechforget.config import default_backbone
    from speechforget.data import make_split
    from speechforget.pipeline import prepare
    from speechforget.store import Store
    from speechforget.training.gold import retrain_gold

    ctx = prepare("kws", default_backbone("kws"))
    split = make_split(ctx.task, f"class:{name}")
    with tempfile.TemporaryDirectory() as tmp:
        gold = retrain_gold(ctx.original, ctx.task, ctx.x, split.retain, store=Store(tmp))
        path = _ship(Path(tmp, "gold"), ctx.original, split.retain, f"kws class:{name}", shipped)
    return f"{path.name}: kws gold without '{name}', {gold.meta['time_s']} s"


def visitor_gold(shipped: Path) -> str:
    from speechforget.config import default_backbone
    from speechforget.pipeline import prepare
    from speechforget.store import Store
    from speechforget.training import Trained
    from speechforget.training.gold import gold_without_visitor

    base = prepare("sid", default_backbone("sid"))
    n = base.task.num_classes + 1
    train = base.task.where("train")
    with tempfile.TemporaryDirectory() as tmp:
        gold = gold_without_visitor(base.original, base.task, base.x, n, store=Store(tmp))
        wider = Trained(gold.model, base.original.meta)
        path = _ship(Path(tmp, "gold"), wider, train, "sid without a visitor", shipped)
    return f"{path.name}: sid gold with {n} outputs, {gold.meta['time_s']} s"


def main(argv: list[str] | None = None) -> None:
    from speechforget.config import default_backbone
    from speechforget.pipeline import prepare
    from speechforget.training.gold import SHIPPED
    from speechforget.ui import controls

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="comma-separated: class:<keyword> and/or visitor (default: all)")
    args = ap.parse_args(argv)
    kws = prepare("kws", default_backbone("kws")).task
    todo = [f"class:{n}" for n in controls.forget_names(kws, controls.FORGET_KEYWORDS)]
    todo.append("visitor")
    if args.only:
        todo = [t.strip() for t in args.only.split(",") if t.strip()]
    else:  # everything again: the old ones may belong to other data
        for f in SHIPPED.glob("*"):
            f.unlink()
    t0 = time.perf_counter()
    for item in todo:
        line = visitor_gold(SHIPPED) if item == "visitor" else class_gold(item[6:], SHIPPED)
        print(f"wrote {line}", flush=True)
    total = sum(f.stat().st_size for f in SHIPPED.glob("*"))
    print(
        f"{len(todo)} golds in {time.perf_counter() - t0:.0f} s; assets/golds holds {total / 1e6:.1f} MB"
    )


if __name__ == "__main__":
    main()
