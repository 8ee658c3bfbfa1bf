"""python -m speechforget gpu-check: time a transformer backbone on this machine.

    python -m speechforget gpu-check                         # wav2vec2-base, 2,000 clips, cuda
    python -m speechforget gpu-check --device cpu --tiny     # a smoke test of the same path

Fine-tunes an original (feature encoder frozen), then runs the pipeline for the gold
retrain and a few unlearning methods on an N-clip subset, and prints the step time,
the peak GPU memory and the time of each full unlearning run. Without --data the clips
are built-in tones (12 classes), which is enough for timings. When the checkpoint
cannot be loaded (no Hub access), the model is the real architecture, randomly
initialised from the built-in config, and the output says so.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time

import numpy as np
import torch

from speechforget.config import DataConfig, ExperimentConfig, TrainConfig
from speechforget.data.dataset import KWS_LABELS, SAMPLE_RATE, SpeechData


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backbone", default="wav2vec2-base", help="a transformer backbone name")
    p.add_argument("--checkpoint", default=None, help="local save_pretrained folder or Hub id")
    p.add_argument("--data", default=None, help="a data source (default: built-in tones)")
    p.add_argument(
        "--n", type=int, default=None, help="clips in all (default 2000, 240 with --tiny)"
    )
    p.add_argument("--device", default="auto", help="cpu | cuda | auto")
    p.add_argument("--tiny", action="store_true", help="a tiny random model (CPU smoke test)")
    p.add_argument("--methods", default="finetune,scrub", help="comma-separated methods")
    p.add_argument("--forget", default="class:yes", help="forget spec of the unlearning runs")
    p.add_argument("--epochs", type=int, default=2, help="epochs of the original and gold")
    p.add_argument("--lr", type=float, default=3e-5, help="lr of the original, gold and methods")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--steps", type=int, default=20, help="timed training steps")
    p.add_argument("--list", action="store_true", help="list the backbones and exit")


def tone_data(n: int, seed: int = 0) -> SpeechData:
    """n 1 s clips of the 12 keyword labels as tones (pitch = class, timbre = one of 10
    speakers), 80/10/10 train/val/test."""
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    k, spk = i % len(KWS_LABELS), (i // len(KWS_LABELS)) % 10
    t = np.arange(SAMPLE_RATE, dtype=np.float32) / SAMPLE_RATE
    f0 = (180.0 * 2 ** (k / 4.0) * (1 + 0.02 * rng.standard_normal(n)))[:, None]
    waves = np.sin(2 * np.pi * f0 * t) + (0.2 + 0.05 * spk[:, None]) * np.sin(4 * np.pi * f0 * t)
    waves = 0.3 * waves + 0.05 * rng.standard_normal((n, SAMPLE_RATE))
    split = np.array(["train"] * 8 + ["val", "test"])[i % 10]
    return SpeechData(
        waves.astype(np.float32),
        k.astype(np.int64),
        spk.astype(np.int64),
        (i // 120).astype(np.int64),
        split,
        np.array([KWS_LABELS[j] for j in k]),
        list(KWS_LABELS),
        [f"spk{s:02d}" for s in range(10)],
        name="tones",
    )


def model_spec(args: argparse.Namespace, num_classes: int) -> tuple[dict, str]:
    """(spec, how it was made): the checkpoint's pretrained encoder when it loads, else the
    real architecture from the built-in config, randomly initialised."""
    from transformers import AutoConfig

    from speechforget.models.catalog import resolve_backbone
    from speechforget.models.hf_configs import real_config, tiny_config
    from speechforget.models.hub import load_from
    from speechforget.training.transformers import fresh_spec

    info = resolve_backbone(args.backbone)
    if args.tiny:
        return _random_spec(info.family, tiny_config(info.family), num_classes), "tiny random model"
    source = args.checkpoint or info.init_id
    try:
        return fresh_spec(
            source, load_from(AutoConfig.from_pretrained, source), num_classes
        ), source
    except ValueError as err:
        print(f"note: {err}")
    family, config = real_config(
        info.name.removeprefix("superb-").rsplit("-", 1)[0] if info.task else info.name
    )
    return _random_spec(family, config, num_classes), "RANDOM INIT, real size (no checkpoint)"


def _random_spec(family: str, config, num_classes: int) -> dict:
    from speechforget.models.hf import config_dict

    return {
        "family": family,
        "num_classes": num_classes,
        "init": None,
        "config": config_dict(config),
    }


def _peak_gib(device: torch.device) -> str:
    if device.type != "cuda":
        return "-"
    return f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f}"


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def time_steps(spec: dict, x: torch.Tensor, y: torch.Tensor, recipe: TrainConfig, steps: int):
    """Seconds per training step (after 3 warm-up steps) and the peak memory (GiB)."""
    from speechforget.engine import fit, resolve_device
    from speechforget.models import build_model

    device = resolve_device(recipe.device)
    model = build_model(spec, seed=0)
    bs = recipe.batch_size
    fit(model, x[: 3 * bs], y[: 3 * bs], dataclasses.replace(recipe, epochs=1))
    _reset_peak(device)
    n = min(len(x), steps * bs)
    run = fit(model, x[:n], y[:n], dataclasses.replace(recipe, epochs=1))
    return run.time_s / max(run.steps, 1), _peak_gib(device), run.steps


def main(args: argparse.Namespace) -> int:
    """Runs in a fresh cache folder, so no cached original or gold retrain is reused."""
    from speechforget.store import Store

    with tempfile.TemporaryDirectory(prefix="speechforget_gpu_check_") as tmp:
        return _check(args, Store(tmp))


def _check(args: argparse.Namespace, store) -> int:
    if args.list:
        from speechforget.models import describe_backbones

        print(describe_backbones())
        return 0
    from speechforget.data import load_source
    from speechforget.engine import resolve_device
    from speechforget.models import build_model
    from speechforget.pipeline import Context, run_experiment
    from speechforget.training import Trained, featurize, original_metrics, train_model
    from speechforget.training.transformers import original_meta

    device = resolve_device(args.device)
    n = args.n or (240 if args.tiny else 2000)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(
        f"gpu-check on {device} ({name}), torch {torch.__version__}"
        + (", bf16 autocast" if device.type == "cuda" else "")
    )
    if args.data:
        subset = max(1, n // len(KWS_LABELS))
        data = load_source(DataConfig(source=args.data, subset=subset), store)
    else:
        data = tone_data(n)
    task = data.task("kws" if data.keyword_names else "sid")
    train = task.where("train")
    print(f"data: {data.name}, {len(task)} clips, {task.num_classes} classes, {len(train)} train")

    spec, how = model_spec(args, task.num_classes)
    template = build_model(spec, seed=0)
    params = sum(p.numel() for p in template.parameters())
    print(f"model: {args.backbone} [{how}], {params:,} parameters, family {spec['family']}")
    if spec["family"] == "whisper":
        print("note: Whisper pads every clip to 30 s (1,500 encoder positions per clip)")
    t0 = time.perf_counter()
    x = featurize(template, task.waves, str(device), batch=64)
    print(f"featurize: {time.perf_counter() - t0:.2f} s, inputs {tuple(x.shape)}")
    del template

    recipe = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        weight_decay=0.01,
        batch_size=args.batch_size,
        grad_clip=1.0,
        device=str(device),
    )
    y = torch.from_numpy(task.y)
    step_s, peak, steps = time_steps(spec, x[train], y[train], recipe, args.steps)
    print(
        f"train step: {step_s * 1000:.1f} ms (batch {args.batch_size}, mean of {steps} steps), "
        f"peak memory {peak} GiB"
    )

    t0 = time.perf_counter()
    model, run = train_model(spec, recipe, x[train], y[train], store=store)
    meta = original_meta(
        task, args.backbone, recipe, spec=model.spec(), train_time_s=round(run.time_s, 2)
    )
    meta["metrics"] = original_metrics(model, task, x, str(device))
    print(
        f"original fine-tune: {args.epochs} epochs, {run.steps} steps, {run.time_s:.1f} s "
        f"(with evaluation {time.perf_counter() - t0:.1f} s), test acc "
        f"{meta['metrics'].get('test_acc', float('nan')):.3f}"
    )
    ctx = Context(task, x, Trained(model, meta, run), store)
    return _unlearning_runs(args, ctx, device, run_experiment)


def _unlearning_runs(args, ctx, device, run_experiment) -> int:
    forget = (
        args.forget
        if args.forget.split(":")[-1] in ctx.task.class_names
        or not args.forget.startswith("class:")
        else f"class:{ctx.task.class_names[0]}"
    )
    print(
        f"unlearning runs ({forget}); each = method + gold retrain (cached after the first) "
        "+ evaluation of 3 models"
    )
    print(f"{'method':<14}{'run s':>8}{'total s':>9}{'Df acc':>8}{'Dt acc':>8}{'peak GiB':>10}")
    for method in ["retrain", *[m for m in args.methods.split(",") if m and m != "retrain"]]:
        overrides = (
            {} if method == "retrain" else {"lr": str(args.lr), "batch_size": str(args.batch_size)}
        )
        cfg = ExperimentConfig(
            task=ctx.task.task,
            backbone=args.backbone,
            forget=forget,
            method=method,
            method_overrides=overrides,
            device=str(device),
            data=DataConfig(source="tones"),
        )
        _reset_peak(device)
        t0 = time.perf_counter()
        try:
            res = run_experiment(cfg, ctx=ctx)
        except (ValueError, ModuleNotFoundError) as err:
            print(f"{method:<14}skipped: {err}")
            continue
        total = time.perf_counter() - t0
        m = res.evals["unlearned"].metrics
        print(
            f"{method:<14}{res.times['unlearned']:>8.1f}{total:>9.1f}{m['forget_acc']:>8.3f}"
            f"{m['test_acc']:>8.3f}{_peak_gib(device):>10}"
        )
    return 0
