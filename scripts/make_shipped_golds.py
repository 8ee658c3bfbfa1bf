"""Make the gold retrains shipped in assets/golds/: for the built-in data, the speaker
task's visitor-free gold (the recipe on the built-in training set with one more output,
for the visitor of the "Your voice" loop). It holds nothing of any visitor, and with it
shipped the first visitor after a fresh start does not wait ~50 s for it.

    python scripts/make_shipped_golds.py        # writes assets/golds/<key>.{safetensors,json}
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    import torch

    from speechforget.pipeline import prepare
    from speechforget.store import Store
    from speechforget.training import Trained
    from speechforget.training.gold import SHIPPED, gold_key, gold_without_visitor

    base = prepare("sid")
    with tempfile.TemporaryDirectory() as tmp:
        n = base.task.num_classes + 1
        gold = gold_without_visitor(base.original, base.task, base.x, n, store=Store(tmp))
        (kept,) = Path(tmp, "gold").glob("*.json")
        meta = json.loads(kept.read_text())
        meta["made"] = (
            f"{platform.machine()}, {torch.get_num_threads()} threads; time_s measured then"
        )
        meta["rebuild"] = "python scripts/make_shipped_golds.py"
        # named by the key without the timing conditions: found on every machine (its time
        # is reported as measured when it was made; its work holds everywhere)
        train = base.task.where("train")
        name = gold_key(Trained(gold.model, base.original.meta), train, device=None)
        SHIPPED.mkdir(parents=True, exist_ok=True)
        shutil.copy(kept.with_suffix(".safetensors"), SHIPPED / f"{name}.safetensors")
        (SHIPPED / f"{name}.json").write_text(json.dumps(meta, indent=1))
        print(f"wrote {SHIPPED / name}: sid gold with {n} outputs, {gold.meta['time_s']} s")


if __name__ == "__main__":
    main()
