"""The one training loop of the project.

`fit` trains a model on (x, y) (originals and gold retrains); `unlearn` runs an
unlearning method (see speechforget.methods). Only this package calls
`backward()`, steps optimisers, moves tensors to the device, enforces the time
budget and emits the per-step log that the UI turns into live curves.

    device.py   resolve_device, autocast (bf16 on CUDA), predict
    loop.py     StepLog, RunResult, make_optimizer, Loop (clipping, budget, step log)
    train.py    fit, unlearn, train_steps, accumulate_gradients
    work.py     Work, WorkMeter: a run's sample passes (a cost that does not depend on load)
    conditions.py   the conditions a wall time was measured under; was it contended?
"""

from speechforget.engine.device import autocast, predict, resolve_device
from speechforget.engine.loop import (
    Loop,
    RunResult,
    StepCallback,
    StepLog,
    defer_reads,
    make_optimizer,
    warm_up,
)
from speechforget.engine.train import (
    accumulate_gradients,
    batches,
    cycled_batches,
    fit,
    seeded,
    train_frozen_norm,
    train_steps,
    unlearn,
)
from speechforget.engine.work import Work, WorkMeter, split_shares

__all__ = [
    "Loop",
    "RunResult",
    "StepCallback",
    "StepLog",
    "Work",
    "WorkMeter",
    "accumulate_gradients",
    "autocast",
    "batches",
    "cycled_batches",
    "defer_reads",
    "fit",
    "make_optimizer",
    "predict",
    "resolve_device",
    "seeded",
    "split_shares",
    "train_frozen_norm",
    "train_steps",
    "unlearn",
    "warm_up",
]
