"""Sequential deletion requests: `--forget "speaker:a;speaker:b"` forgets a, then b from the
model that forgot a, and after each step measures every earlier request again.

    step k: Df = the clips of request k (not already deleted), Dr = the training clips
            minus every request so far; the model to unlearn is step k-1's unlearned
            model (the original for k = 1); gold k = the recipe retrained on Dr
    after step k, for each earlier request j: its clips' accuracy and loss MIA under step
            k's unlearned model and gold k, next to what they were right after step j

Does a come back after b is forgotten? `came_back` is True when request j's clips are
further from gold (in Df accuracy or MIA) after step k than they were after step j, by
more than the noise floor of a rate on that many clips (evaluation.audit.noise_floor).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from speechforget.config import ExperimentConfig
from speechforget.data import Split, make_split
from speechforget.data.splits import ForgetSpec
from speechforget.evaluation import audit, model_metrics
from speechforget.pipeline import Context, Result, gold_step, prepare, unlearn_step
from speechforget.training import Trained

SEPARATOR = ";"
RECHECKED = ("forget_acc", "mia", "mia_efficacy")


def is_sequence(forget: str) -> bool:
    return SEPARATOR in forget


def parse_requests(forget: str) -> list[ForgetSpec]:
    """'speaker:a;speaker:b' -> [speaker:a, speaker:b] (ValueError for a bad or empty one)."""
    parts = [p.strip() for p in forget.split(SEPARATOR)]
    if len(parts) < 2 or not all(parts):
        raise ValueError(
            f"cannot read '{forget}' as a sequence of requests; write e.g. "
            "speaker:spk01;speaker:spk02 (one request after another, separated by ';')"
        )
    return [ForgetSpec.parse(p) for p in parts]


def sequential_splits(ctx: Context, specs: list[ForgetSpec], seed: int) -> list[Split]:
    """One split per request: its clips not yet deleted as Df, the training clips minus
    every request so far as Dr."""
    train = ctx.task.where("train")
    deleted = np.zeros(0, dtype=np.int64)
    out = []
    for spec in specs:
        own = make_split(ctx.task, spec, seed)
        forget = np.setdiff1d(own.forget, deleted)
        if len(forget) == 0:
            raise ValueError(f"request '{spec}' names only clips an earlier request deleted")
        deleted = np.union1d(deleted, forget)
        retain = np.setdiff1d(train, deleted)
        if len(retain) == 0:
            raise ValueError("these requests delete every training clip: nothing is retained")
        out.append(dataclasses.replace(own, forget=forget, retain=retain))
    return out


def _recheck(res: Result, split: Split, seed: int) -> dict:
    """Request `split`'s clips under res's unlearned model and gold (res's Dr and Dt)."""
    y = res.ctx.task.y
    out = {}
    for name in ("unlearned", "retrain"):
        if name in res.evals:
            m = model_metrics(
                res.evals[name].logits,
                y,
                split.forget,
                res.split.retain,
                res.split.test,
                split.test_forgotten,
                seed=seed,
            )
            out[name] = {k: m.get(k) for k in RECHECKED}
    return out


def _distance(row: dict, key: str) -> float | None:
    u, g = row.get("unlearned", {}).get(key), row.get("retrain", {}).get(key)
    return None if u is None or g is None else abs(u - g)


def run_sequence(cfg: ExperimentConfig, on_step=None, ctx: Context | None = None) -> dict:
    """Every request in turn (see the module docstring). Returns {"requests": [...],
    "steps": [{"request", "result" (pipeline.Result), "earlier": [...]}]}."""
    specs = parse_requests(cfg.forget)
    ctx = ctx or prepare(
        cfg.task, cfg.backbone, cfg.data, cfg.checkpoint, cfg.recipe, cfg.device, cfg.cache
    )
    splits = sequential_splits(ctx, specs, cfg.seed)
    steps: list[dict] = []
    model_ctx = ctx
    for k, (spec, split) in enumerate(zip(specs, splits)):
        step_cfg = dataclasses.replace(cfg, forget=str(spec))
        res = unlearn_step(Result(step_cfg, model_ctx, split), on_step)
        if res.stopped:
            break
        if cfg.run_gold:
            gold_step(res, on_step)
        own = _recheck(res, split, cfg.seed)
        earlier = []
        for j in range(k):
            now = _recheck(res, splits[j], cfg.seed)
            then = steps[j]["own"]
            floor = audit.noise_floor(now.get("retrain", {}), len(splits[j].forget))
            moved = [
                (dn - dt)
                for key in ("forget_acc", "mia")
                if (dn := _distance(now, key)) is not None
                and (dt := _distance(then, key)) is not None
            ]
            earlier.append(
                {
                    "request": str(specs[j]),
                    "now": now,
                    "after_its_step": then,
                    "noise_floor": floor,
                    "came_back": bool(moved) and max(moved) > floor,
                }
            )
        steps.append({"request": str(spec), "result": res, "own": own, "earlier": earlier})
        # the next request starts from this step's unlearned model
        model = res.models["unlearned"]
        model_ctx = dataclasses.replace(
            ctx, original=Trained(model, ctx.original.meta), original_outputs=None
        )
    return {"requests": [str(s) for s in specs], "steps": steps}


def report(seq: dict) -> dict:
    """The JSON report of a sequence: the last step's full report (so every single-run key
    is where a script expects it) and `sequence`: per step its request, its report and
    the re-measured earlier requests."""
    from speechforget import report as reports

    steps = [
        {
            "request": s["request"],
            "report": reports.build(s["result"]),
            "earlier": s["earlier"],
        }
        for s in seq["steps"]
    ]
    last = steps[-1]["report"] if steps else {}
    return {**last, "sequence": steps}


def summary(rep: dict) -> str:
    """A text summary: each step's table, then every earlier request re-measured."""
    from speechforget import report_text

    lines = []
    for k, step in enumerate(rep.get("sequence", []), 1):
        lines += [f"== step {k}: forget {step['request']} ==", report_text.summary(step["report"])]
        for e in step["earlier"]:
            now, then = e["now"], e["after_its_step"]

            def pct(d: dict, m: str, key: str) -> str:
                return report_text.fmt(d.get(m, {}).get(key), "%")

            lines.append(
                f"  earlier request {e['request']}: Df acc unlearned {pct(now, 'unlearned', 'forget_acc')}"
                f" (after its step {pct(then, 'unlearned', 'forget_acc')}), gold "
                f"{pct(now, 'retrain', 'forget_acc')}; MIA {pct(now, 'unlearned', 'mia')} "
                f"(after its step {pct(then, 'unlearned', 'mia')}), gold {pct(now, 'retrain', 'mia')}"
                + ("  -> CAME BACK" if e["came_back"] else "  -> still forgotten as before")
            )
    return "\n".join(lines)
