"""The paper's protocol as a preset: `bench --protocol paper --task kws --backbones B1,B2`.

    sample mode, forget ratios 1..10 %, and class mode (one class per run), each on the
    protocol's reported seeds (10-14: protocol.REPORTED_SEEDS, the held-out rule), every
    registered method and its SuperLoss variant (the paper's methods plus loss matching),
    K golds per forget set; one section (results folder) per mode, backbones pooled in its
    tables (averaged over backbones), one CSV row per backbone.

`dry_run` counts the tasks and estimates device-hours from a measured step time on this
machine's device: a few forward+backward steps of each backbone on random input (a
transformer built from its architecture's config, randomly initialised: nothing is
downloaded), scaled to the recipe's batch size and the task's training clips. The
estimate counts each gold retrain at its recipe's steps and each method at gold 0's time
(the paper's time budget, an upper bound); evaluation and the checks are not counted.
"""

from __future__ import annotations

import dataclasses
import math
import time

from speechforget.bench import BenchConfig, all_methods
from speechforget.protocol import REPORTED_SEEDS

RATIOS = tuple(float(r) for r in range(1, 11))
MODES = ("sample", "class")
MEASURE_BATCH = 8


def paper_methods() -> tuple[str, ...]:
    base = all_methods()
    return (*base, *(m + "+sl" for m in base))


def paper_configs(base: BenchConfig, backbones: list[str]) -> list[tuple[str, list[BenchConfig]]]:
    """(section name, one config per backbone) per mode."""
    out = []
    for mode in MODES:
        cfgs = [
            dataclasses.replace(
                base,
                mode=mode,
                ratios=RATIOS,
                classes=1,
                seeds=REPORTED_SEEDS,
                methods=paper_methods(),
                backbone=b,
            )
            for b in backbones
        ]
        out.append((mode, cfgs))
    return out


def n_forget_sets(cfg: BenchConfig) -> int:
    return len(cfg.seeds) * (len(cfg.ratios) if cfg.mode == "sample" else 1)


def measure_step(backbone: str, device: str, steps: int = 3) -> dict:
    """Seconds per training step (forward + backward + AdamW) of `backbone` on a batch of
    MEASURE_BATCH one-second clips, after one warm-up step; peak GPU memory on cuda."""
    import torch

    from speechforget.models.registry import builtin

    dev = torch.device(device)
    b = builtin(backbone)
    if b is not None:
        from speechforget.models import build_model
        from speechforget.training import featurize

        model = build_model(b.spec_for(12)).to(dev)
        import numpy as np

        waves = np.random.default_rng(0).standard_normal((MEASURE_BATCH, 16000), dtype=np.float32)
        x = featurize(model, waves).to(dev)
        note = "built-in, as trained"

        def loss_of():
            out = model(x)
            return (out[0] if isinstance(out, tuple) else out).float().logsumexp(-1).mean()
    else:
        from transformers import AutoModel

        from speechforget.models.hf_configs import real_config

        family, config = real_config(backbone)
        net = AutoModel.from_config(config)
        model = (net.get_encoder() if family == "whisper" else net).to(dev)
        if family == "whisper":
            x = torch.randn(MEASURE_BATCH, config.num_mel_bins, 3000, device=dev)
        else:
            x = torch.randn(MEASURE_BATCH, 16000, device=dev)
        note = "its architecture from config, randomly initialised (offline), fully fine-tuned"

        def loss_of():
            return model(x).last_hidden_state.mean()

    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    times = []
    for i in range(steps + 1):
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        t0 = time.perf_counter()
        opt.zero_grad()
        loss_of().backward()
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        if i:  # the first step warms up
            times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == "cuda" else None
    return {"step_s": sum(times) / len(times), "peak_gib": peak, "note": note}


def dry_run(groups: list[tuple[str, list[BenchConfig]]], n_train: int | None) -> str:
    """The grid's size and a device-hours estimate (see the module docstring)."""
    import torch

    from speechforget.config import TrainConfig
    from speechforget.models.registry import builtin

    first = groups[0][1][0]
    device = (
        first.device if first.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    )
    lines = [f"Grid of the paper's protocol, task {first.task}, device {device}:"]
    total_tasks = 0
    hours = 0.0
    measured: dict[str, dict] = {}
    for name, cfgs in groups:
        for cfg in cfgs:
            sets = n_forget_sets(cfg)
            n_methods = len(cfg.methods or all_methods())
            tasks = sets * (1 + n_methods)
            total_tasks += tasks
            if cfg.backbone not in measured:
                try:
                    measured[cfg.backbone] = measure_step(cfg.backbone, device)
                except Exception as exc:  # noqa: BLE001 - said, not hidden
                    measured[cfg.backbone] = {"error": f"{type(exc).__name__}: {exc}"}
            m = measured[cfg.backbone]
            b = builtin(cfg.backbone)
            recipe = b.recipe_for(cfg.task) if b is not None else TrainConfig()
            line = (
                f"  {name:7s} {cfg.backbone:16s} {sets} forget sets x (1 gold task + "
                f"{n_methods} methods) = {tasks} tasks"
            )
            if "step_s" in m and n_train:
                step = m["step_s"] * recipe.batch_size / MEASURE_BATCH
                gold_s = recipe.epochs * math.ceil(n_train / recipe.batch_size) * step
                h = sets * (cfg.golds + n_methods) * gold_s / 3600
                hours += h
                line += f", gold ~{gold_s / 60:.1f} min, ~{h:.2f} device-hours"
            lines.append(line)
    lines.append(f"Total: {total_tasks} tasks, ~{hours:.1f} device-hours on {device}.")
    for bb, m in measured.items():
        if "step_s" in m:
            peak = f", peak {m['peak_gib']:.2f} GiB" if m["peak_gib"] is not None else ""
            lines.append(
                f"  step time {bb}: {m['step_s'] * 1000:.0f} ms per batch of {MEASURE_BATCH}{peak} ({m['note']})"
            )
        else:
            lines.append(f"  step time {bb}: not measured ({m['error']})")
    lines.append(
        f"Assumes {n_train} training clips, each backbone's recipe (TrainConfig defaults for a "
        "transformer), step time linear in the batch, each method at gold 0's time (the "
        "budget: an upper bound); evaluation and the checks are not counted."
    )
    return "\n".join(lines)
