"""Write assets/noise_floor.json (the app's gold-vs-gold noise floor per task x mode) from the
bench results in docs/results/*.json (see speechforget/noisefloor.py).

    python scripts/make_noise_floor.py docs/results/kws_class.json docs/results/kws_sample.json ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from speechforget.bench_report import noise_floor  # noqa: E402
from speechforget.noisefloor import PATH  # noqa: E402


def main(paths: list[str]) -> int:
    table: dict = {}
    for p in paths:
        data = json.loads(Path(p).read_text())
        floor = noise_floor(data["summary"], data)
        cfg = data["config"]
        if floor is None:
            print(f"{p}: no gold-vs-gold rows (run the bench with --golds 2 or more)")
            continue
        # the data the bench ran on: the shipped original's (the bench uses it)
        original = json.loads((Path(PATH).parent / f"cnn_{cfg['task']}.json").read_text())
        floor["data_checksum"] = original.get("data_checksum")
        table.setdefault(cfg["task"], {})[cfg["mode"]] = floor
        print(
            f"{cfg['task']} {cfg['mode']}: "
            + ", ".join(f"{k} {100 * floor[k]:.1f}" for k in ("utility", "forgetting", "avg"))
        )
    PATH.write_text(json.dumps(table, indent=1) + "\n")
    print(f"written: {PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
