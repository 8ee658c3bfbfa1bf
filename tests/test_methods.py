"""Every registered unlearning method on the tiny data set, plus the pitfalls the spec
names for each (SalUn masks, SCRUB's schedule, Bad-Teaching's subset, random labels,
the temperature KL, SuperLoss)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import builtin_backbones

from speechforget.config import ExperimentConfig
from speechforget.data import make_split
from speechforget.engine import predict, unlearn
from speechforget.methods import METHODS, describe_methods, method_schema, run_method, unlearn_data
from speechforget.methods.bad_teaching import BadTeaching
from speechforget.methods.base import Terms
from speechforget.methods.finetune import Finetune
from speechforget.methods.losses import kl_t, kl_t_per_sample, wrong_labels
from speechforget.methods.random_label import RandomLabel
from speechforget.methods.salun import SalUn, saliency_mask
from speechforget.methods.superloss import sigma, superloss
from speechforget.models import state_hash

FORGET = "class:up"
# short, strong settings so that a handful of steps visibly forgets on the tiny set
STRONG = {
    "retrain": {"use_cache": False},
    "finetune": {"lr": 1e-2, "epochs": 3, "batch_size": 16},
    "grad_ascent": {"lr": 1e-3, "epochs": 2, "batch_size": 8},
    "neggrad_plus": {"lr": 3e-3, "epochs": 2, "batch_size": 8},
    "random_label": {"lr": 3e-3, "epochs": 2, "batch_size": 8},
    "salun": {"lr": 3e-3, "epochs": 2, "batch_size": 8},
    "scrub": {"lr": 3e-3, "epochs": 2, "msteps": 2, "batch_size": 8},
    "bad_teaching": {"lr": 3e-3, "epochs": 2, "batch_size": 8},
    "loss_match": {"lr": 3e-3, "epochs": 3, "batch_size": 8},
}


def forget_acc(model, ctx, split) -> float:
    logits, _ = predict(model, ctx.x[split.forget], "cpu")
    return float((logits.argmax(1).numpy() == ctx.task.y[split.forget]).mean())


def run(ctx, method: str, overrides: dict, forget: str = FORGET, superloss: bool = False):
    cfg = ExperimentConfig(
        method=method,
        forget=forget,
        device="cpu",
        seed=0,
        method_overrides=overrides,
        superloss=superloss,
    )
    split = make_split(ctx.task, forget, 0)
    model, result = run_method(cfg, ctx, split, None, None)
    return split, model, result


def test_strong_settings_cover_every_method():
    assert set(STRONG) == set(METHODS)


@pytest.mark.parametrize("backbone", builtin_backbones())  # ge2e-ft's 11 runs: -m slow
@pytest.mark.parametrize("name", [*METHODS, "scrub+sl", "random_label+sl"])
def test_method_forgets_and_leaves_original_alone(builtin_ctx, backbone, name):
    ctx = builtin_ctx(backbone)  # every built-in backbone of the registry
    before = state_hash(ctx.original.model)
    strong = STRONG[name.removesuffix("+sl")]
    if backbone == "ge2e" and "lr" in strong:  # a head alone on fixed embeddings: 10x the lr
        strong = {**strong, "lr": 10 * strong["lr"]}
    split, model, result = run(ctx, name, strong)
    assert state_hash(ctx.original.model) == before, "the original model was modified"
    assert state_hash(model) != before, "the weights did not change"
    losses = [v for h in result.history for v in (h.forget_loss, h.retain_loss) if v is not None]
    assert losses and all(math.isfinite(v) for v in losses)
    assert forget_acc(model, ctx, split) < forget_acc(ctx.original.model, ctx, split)
    assert result.steps > 0 and not result.budget_hit and not result.diverged


def test_unknown_names_and_keys_list_the_valid_ones():
    with pytest.raises(ValueError, match="scrub.*bad_teaching"):
        METHODS.get_method("scrb")
    with pytest.raises(ValueError, match="msteps"):
        METHODS.resolve_config("scrub", "sample", {"mstep": "2"})
    with pytest.raises(ValueError, match="sample, class, speaker"):
        METHODS.resolve_config("scrub", "speakers")


def test_mode_defaults_then_overrides():
    for name, cls in METHODS.items():
        for mode in ("sample", "class"):
            cfg = METHODS.resolve_config(name, mode)
            for key, value in cls.defaults.get(mode, {}).items():
                assert getattr(cfg, key) == value
    cfg = METHODS.resolve_config("scrub", "class", {"lr": "2e-4", "msteps": "3", "sl_lambda": "2"})
    assert cfg.lr == 2e-4 and cfg.msteps == 3
    wrapped = METHODS.build("scrub+sl", "class", {"sl_lambda": "2"})
    assert wrapped.name == "scrub+sl" and wrapped.sl.sl_lambda == 2.0


def test_schema_and_describe_cover_every_field():
    text = describe_methods()
    for name, cls in METHODS.items():
        assert name in text
        rows = method_schema(name, "class")
        assert [r["name"] for r in rows] == [f.name for f in dataclasses.fields(cls.Config)]
        assert all(r["help"] and r["type"] in ("int", "float", "bool", "str") for r in rows)
        resolved = METHODS.resolve_config(name, "class")
        assert all(r["default"] == getattr(resolved, r["name"]) for r in rows)


def test_kl_helper_equals_hand_computation():
    s = torch.tensor([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]])
    t = torch.tensor([[0.5, 0.0, 2.0], [1.0, 1.0, 1.0]])
    T = 4.0
    hand = 0.0
    for i in range(2):
        p = torch.exp(t[i] / T) / torch.exp(t[i] / T).sum()
        q = torch.exp(s[i] / T) / torch.exp(s[i] / T).sum()
        hand += float((p * (p / q).log()).sum())
    hand = hand / 2 * T * T
    assert kl_t(s, t, T).item() == pytest.approx(hand, rel=1e-5)
    assert kl_t_per_sample(s, t, T).mean().item() == pytest.approx(hand, rel=1e-5)
    assert kl_t(s, s, T).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("num_classes", [2, 3, 12])
def test_random_labels_are_never_the_true_label(num_classes):
    y = torch.arange(3000) % num_classes
    wrong = wrong_labels(y, num_classes, torch.Generator().manual_seed(0))
    assert (wrong != y).all() and wrong.min() >= 0 and wrong.max() < num_classes
    if num_classes > 2:  # every other class is drawn
        assert len(torch.unique(wrong[y == 0])) == num_classes - 1


def test_random_label_targets_on_forget_clips(tiny_ctx):
    split = make_split(tiny_ctx.task, "sample:30", 1)
    data = unlearn_data(tiny_ctx, split)
    method = RandomLabel(METHODS.resolve_config("random_label", "sample"))
    method.setup(None, data, torch.Generator().manual_seed(0))
    assert (method.targets[data.forget] != data.y[data.forget]).all()
    assert (method.targets[data.retain] == data.y[data.retain]).all()


def test_salun_masked_weights_stay_bit_identical(tiny_ctx):
    from speechforget.methods import trainable_copy

    split = make_split(tiny_ctx.task, FORGET, 0)
    cfg = METHODS.resolve_config(
        "salun", "class", {"weight_decay": "0.5", "lr": "1e-2", "batch_size": "8"}
    )
    method, model = SalUn(cfg), trainable_copy(tiny_ctx.original.model)
    start = {n: p.detach().clone() for n, p in model.named_parameters()}
    unlearn(model, method, unlearn_data(tiny_ctx, split), method.train_config(0, "cpu"))
    frozen = moved = total = 0
    for n, p in model.named_parameters():
        m = method.mask[n]
        assert torch.equal(p.detach()[~m], start[n][~m]), f"masked weights of {n} moved"
        frozen, total = frozen + int((~m).sum()), total + m.numel()
        moved += int((p.detach()[m] != start[n][m]).sum())
    assert frozen == total - round(0.5 * total) and moved > 0


def test_salun_saliency_sums_every_forget_batch(tiny_ctx):
    """Batched accumulation equals the full-forget-set gradient (no batch dropped)."""
    from speechforget.engine import accumulate_gradients
    from speechforget.methods import trainable_copy
    from speechforget.methods.losses import ce

    split = make_split(tiny_ctx.task, FORGET, 0)
    model, data = trainable_copy(tiny_ctx.original.model), unlearn_data(tiny_ctx, split)

    def neg_ce(idx):
        return -ce(model(data.x[idx])[0], data.y[idx]).sum()

    batched = accumulate_gradients(model, neg_ce, data.forget.split(5), torch.device("cpu"))
    full = accumulate_gradients(model, neg_ce, [data.forget], torch.device("cpu"))
    for n in full:
        torch.testing.assert_close(batched[n], full[n], rtol=1e-4, atol=1e-6)
    mask = saliency_mask({"a": torch.tensor([3.0, -5.0, 1.0, 0.5])}, 0.5)
    assert mask["a"].tolist() == [True, True, False, False]


def test_scrub_alternates_max_and_min_epochs(tiny_ctx):
    _, _, result = run(tiny_ctx, "scrub", {"epochs": "3", "msteps": "2", "lr": "1e-4"})
    blocks = [(h.epoch, h.phase) for h in result.history]
    blocks = [b for i, b in enumerate(blocks) if i == 0 or blocks[i - 1] != b]  # one per epoch
    assert blocks == [(0, "max"), (0, "min"), (1, "max"), (1, "min"), (2, "min")]


def test_bad_teaching_retain_subset_is_from_retain_only(tiny_ctx):
    split = make_split(tiny_ctx.task, "sample:40", 3)
    data = unlearn_data(tiny_ctx, split)
    subsets = []
    for _ in range(2):
        cfg = METHODS.resolve_config("bad_teaching", "sample", {"retain_fraction": "0.3"})
        method = BadTeaching(cfg)
        method.setup(tiny_ctx.original.model, data, torch.Generator().manual_seed(7))
        sub = method.subset.numpy()
        assert not np.isin(sub, split.forget).any() and np.isin(sub, split.retain).all()
        assert len(sub) == math.ceil(0.3 * len(split.retain)) and len(np.unique(sub)) == len(sub)
        subsets.append(sub)
    assert np.array_equal(*subsets), "the subset must follow the run's seed"


def test_superloss_matches_the_lambert_w_closed_form():
    # W(x e^x) = x, so sigma = exp(-x) at beta = 2 x e^x (beta = (l - tau) / lambda)
    lam, tau = 2.0, 1.0
    for x in (-1.0, -0.5, 0.0, 1.0, 2.0):
        beta = 2 * x * math.exp(x)
        s = sigma(torch.tensor([tau + lam * beta]), tau, lam)
        assert s.item() == pytest.approx(math.exp(-x), rel=1e-5)
    # below -2/e the clamp holds sigma at e (the branch point, W = -1)
    assert sigma(torch.tensor([tau - 10.0 * lam]), tau, lam).item() == pytest.approx(
        math.e, rel=1e-5
    )


def test_superloss_is_per_sample_and_damps_forgotten_clips_when_ascending():
    loss = torch.tensor([0.1, 1.0, 5.0], requires_grad=True)  # remembered ... already forgotten
    tau, lam = 1.0, 1.0
    values = superloss(loss, tau, lam)
    assert values.shape == (3,)
    s = sigma(loss, tau, lam)
    expected = (loss - tau) * s + lam * torch.log(s) ** 2
    torch.testing.assert_close(values, expected)
    # a maximised forget term: d objective / d l_i = -sigma_i / B, largest for the
    # clip still remembered (low loss), smallest for the one already forgotten
    Terms(forget=loss, forget_weight=-1.0, forget_objective=values).objective().backward()
    torch.testing.assert_close(loss.grad, -s / 3)
    assert -loss.grad[0] > -loss.grad[1] > -loss.grad[2] > 0


def test_superloss_wrapper_reweights_each_term(tiny_ctx):
    method = METHODS.build("neggrad_plus", "sample", superloss=True)
    split = make_split(tiny_ctx.task, "sample:30", 0)
    data = unlearn_data(tiny_ctx, split)
    gen = torch.Generator().manual_seed(0)
    method.setup(tiny_ctx.original.model, data, gen)
    batch = next(iter(method.steps(data, gen)))
    with torch.no_grad():
        terms = method.loss(tiny_ctx.original.model, data, batch)
    assert terms.forget_objective.shape == terms.forget.shape == batch.forget.shape
    assert terms.retain_objective.shape == terms.retain.shape
    tau = method.tau["forget"].value
    torch.testing.assert_close(terms.forget_objective, superloss(terms.forget, tau, 1.0))


def test_engine_stops_on_request_and_on_budget(tiny_ctx):
    from speechforget.methods import trainable_copy

    split = make_split(tiny_ctx.task, FORGET, 0)
    data = unlearn_data(tiny_ctx, split)
    method = METHODS.build("neggrad_plus", "class", {"epochs": "5", "batch_size": "4"})
    logs = []
    result = unlearn(
        trainable_copy(tiny_ctx.original.model),
        method,
        data,
        method.train_config(0, "cpu"),
        lambda log: logs.append(log) or len(logs) == 2,
    )
    assert result.stopped and result.steps == 2 and len(logs) == 2
    assert logs[0].forget_loss is not None and logs[0].retain_loss is not None
    assert logs[0].total_steps == method.total_steps(data)
    result = unlearn(
        trainable_copy(tiny_ctx.original.model),
        method,
        data,
        method.train_config(0, "cpu", time_budget_s=0.0),
    )
    assert result.budget_hit and result.steps == 1


class _NaNFromStep3(Finetune):
    """Fine-tuning whose objective turns NaN from its third step on."""

    calls = 0

    def loss(self, model, data, batch):
        self.calls += 1
        terms = super().loss(model, data, batch)
        if self.calls >= 3:
            terms = dataclasses.replace(terms, retain=terms.retain * float("nan"))
        return terms


@pytest.mark.parametrize("deferred", [False, True], ids=["read-every-step", "read-in-bursts"])
def test_a_non_finite_loss_stops_the_run(tiny_ctx, monkeypatch, deferred):
    """CPU reads every step and stops before stepping on a NaN; the CUDA way (losses and
    finiteness read back SYNC_EVERY steps at a time, no per-step sync) stops at the read."""
    from speechforget import engine
    from speechforget.engine import loop
    from speechforget.methods import trainable_copy

    monkeypatch.setattr(loop, "defer_reads", lambda device: deferred)
    data = unlearn_data(tiny_ctx, make_split(tiny_ctx.task, "sample:30", 0))
    method = _NaNFromStep3(
        METHODS.resolve_config("finetune", "class", {"epochs": 4, "batch_size": 4})
    )
    total = method.total_steps(data)
    assert total > engine.Loop.SYNC_EVERY
    logs = []
    model = trainable_copy(tiny_ctx.original.model)
    result = unlearn(model, method, data, method.train_config(0, "cpu"), logs.append)
    assert result.diverged and not result.stopped
    assert [h.step for h in logs] == list(range(1, result.steps + 1))
    assert math.isnan(logs[-1].retain_loss) and math.isfinite(logs[1].retain_loss)
    finite = all(torch.isfinite(p).all() for p in model.parameters())
    if deferred:
        assert result.steps == engine.Loop.SYNC_EVERY and not finite
    else:
        assert result.steps == 3 and finite  # the NaN step was never taken


def test_retrain_with_superloss_is_refused():
    with pytest.raises(ValueError, match="retrain"):
        METHODS.build("retrain", "class", superloss=True)


def test_bad_teaching_kl_direction():
    """The per-sample KL is KL(teacher || student), the published code's direction."""
    s, t = torch.randn(4, 5), torch.randn(4, 5)
    direct = (F.softmax(t, 1) * (F.log_softmax(t, 1) - F.log_softmax(s, 1))).sum(1)
    torch.testing.assert_close(kl_t_per_sample(s, t, 1.0), direct)


@pytest.mark.parametrize("freeze", [True, False])
def test_freeze_norm_keeps_batch_norm_statistics(tiny_ctx, freeze):
    from speechforget.methods import trainable_copy

    split = make_split(tiny_ctx.task, FORGET, 0)
    method = METHODS.build("grad_ascent", "class", {"freeze_norm": str(freeze), "lr": "1e-4"})
    model = trainable_copy(tiny_ctx.original.model)
    unlearn(model, method, unlearn_data(tiny_ctx, split), method.train_config(0, "cpu"))
    stats = [k for k in model.state_dict() if k.endswith("running_mean")]
    same = [
        torch.equal(model.state_dict()[k], tiny_ctx.original.model.state_dict()[k]) for k in stats
    ]
    assert stats and all(same) == freeze and (any(same) == freeze)


def test_optimizer_and_schedule_settings():
    from speechforget.engine import make_optimizer

    p = [torch.nn.Parameter(torch.zeros(3))]
    assert isinstance(make_optimizer(p, 0.1, 0.0, "sgd"), torch.optim.SGD)
    with pytest.raises(ValueError, match="adamw, sgd"):
        make_optimizer(p, 0.1, 0.0, "adam")
    with pytest.raises(ValueError, match="constant, cosine"):
        METHODS.build("finetune", "sample", {"schedule": "linear"})
    method = METHODS.build("finetune", "sample", {"schedule": "cosine", "lr": "0.1"})
    opt = make_optimizer(p, 0.1, 0.0)
    sched = method.scheduler(opt, 10)
    for _ in range(10):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-9)


def test_saliency_pass_keeps_each_module_mode(tiny_ctx):
    from speechforget.engine import accumulate_gradients
    from speechforget.methods import trainable_copy

    model = trainable_copy(tiny_ctx.original.model)
    METHODS.build("salun", "class").train_mode(model)  # train, batch norm frozen
    before = [m.training for m in model.modules()]
    x, y = tiny_ctx.x, tiny_ctx.y

    def loss(idx):
        return F.cross_entropy(model(x[idx])[0], y[idx])

    accumulate_gradients(model, loss, [torch.arange(4)], torch.device("cpu"))
    assert [m.training for m in model.modules()] == before and not all(before)


def test_bad_teaching_teacher_logits_match_a_direct_forward(tiny_ctx):
    from speechforget.methods.bad_teaching import teacher_logits
    from speechforget.models.base import frozen_copy

    teacher = frozen_copy(tiny_ctx.original.model)
    idx = torch.tensor([5, 0, 3, 9, 2])
    out = teacher_logits(teacher, tiny_ctx.x, idx, batch_size=2)
    with torch.no_grad():
        direct = teacher(tiny_ctx.x[idx])[0]
    torch.testing.assert_close(out[idx], direct, rtol=1e-4, atol=1e-5)
    assert out[1].abs().sum() == 0  # rows outside idx stay empty
