"""Loss matching: quantile targets, the margin inverse, the frozen prefix, and that the
reference is the validation clips (the test clips are never read)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from speechforget.data import make_split
from speechforget.engine import unlearn
from speechforget.methods import METHODS, trainable_copy, unlearn_data
from speechforget.methods.loss_match import LossMatch, margin, margin_of_loss, matched_targets
from speechforget.methods.losses import ce


def test_targets_are_reference_quantiles_in_the_originals_order():
    orig = torch.tensor([0.3, 0.1, 0.2])
    ref = torch.tensor([5.0, 1.0, 4.0, 2.0, 3.0])
    # mid-rank quantiles 5/6, 1/6, 1/2 of the sorted reference 1..5 -> positions 3, 1, 2
    assert matched_targets(orig, ref).tolist() == [4.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="val clips"):
        matched_targets(orig, torch.zeros(0))


def test_target_order_follows_the_original_losses():
    orig = torch.rand(300)
    t = matched_targets(orig, torch.rand(100) * 4)
    order = torch.argsort(orig)
    assert torch.all(t[order][1:] >= t[order][:-1])  # higher original loss, higher target


def test_margin_and_its_inverse():
    z = torch.tensor([[2.0, 0.5, -1.0], [0.0, 3.0, 1.0]])
    y = torch.tensor([0, 2])
    hand = torch.stack(
        [
            2.0 - torch.logsumexp(torch.tensor([0.5, -1.0]), 0),
            1.0 - torch.logsumexp(torch.tensor([0.0, 3.0]), 0),
        ]
    )
    torch.testing.assert_close(margin(z, y), hand)
    torch.testing.assert_close(ce(z, y), torch.nn.functional.softplus(-margin(z, y)))
    t = torch.tensor([0.001, 0.05, 0.69, 3.0, 12.0])
    m = margin_of_loss(t)  # a two-class clip with this margin has exactly this CE
    logits = torch.stack([m, torch.zeros_like(m)], dim=1)
    torch.testing.assert_close(
        ce(logits, torch.zeros(5, dtype=torch.long)), t, rtol=1e-4, atol=1e-6
    )
    # a confident model's CE for a wrong label is over 88, where float32's expm1 is inf
    big = torch.tensor([90.0, 150.0, 400.0])
    assert torch.isfinite(margin_of_loss(big)).all()
    torch.testing.assert_close(margin_of_loss(big), -big)


def _run(ctx, spec: str, data_change=None, **overrides):
    split = make_split(ctx.task, spec, 0)
    data = unlearn_data(ctx, split)
    if data_change is not None:
        data = data_change(data, split)
    cfg = METHODS.resolve_config(
        "loss_match", split.mode, {"epochs": 3, "batch_size": 8, "lr": 3e-3, **overrides}
    )
    method, model = LossMatch(cfg), trainable_copy(ctx.original.model)
    run = unlearn(model, method, data, method.train_config(0, "cpu"))
    return model, run, method


def test_frozen_blocks_stay_bit_identical_and_the_rest_moves(tiny_ctx):
    model, run, _ = _run(tiny_ctx, "sample:30", frozen_blocks=2)
    orig = tiny_ctx.original.model.state_dict()
    after = model.state_dict()
    frozen = [k for k in orig if k.startswith(("features.0.", "features.1."))]
    moved = [k for k in orig if k.startswith(("features.3.", "head."))]
    assert frozen and all(torch.equal(orig[k], after[k]) for k in frozen)
    assert any(not torch.equal(orig[k], after[k]) for k in moved)
    assert run.steps > 0 and not run.diverged


def test_the_test_clips_are_never_read(tiny_ctx):
    """Dt inputs replaced by NaN: the same run, bit for bit (the reference is val)."""

    def poison(data, split):
        x = data.x.clone()
        x[torch.from_numpy(split.test).long()] = float("nan")
        return dataclasses.replace(data, x=x)

    for frozen in (0, 2):
        clean, _, _ = _run(tiny_ctx, "sample:30", frozen_blocks=frozen)
        dirty, run, _ = _run(tiny_ctx, "sample:30", poison, frozen_blocks=frozen)
        assert not run.diverged
        a, b = clean.state_dict(), dirty.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_retain_pool_is_a_seeded_share_of_dr_only(tiny_ctx):
    _, _, method = _run(tiny_ctx, "sample:40", retain_fraction=0.5)
    split = make_split(tiny_ctx.task, "sample:40", 0)
    pool = set(method.pool.tolist())
    assert pool <= set(split.retain.tolist()) and not pool & set(split.forget.tolist())
    assert len(pool) == -(-len(split.retain) // 2)


def test_no_validation_clips_is_a_clear_error(tiny_ctx):
    def no_val(data, split):
        return dataclasses.replace(data, val=torch.zeros(0, dtype=torch.long))

    with pytest.raises(ValueError, match="no val clips"):
        _run(tiny_ctx, "sample:30", no_val)


def test_tuning_never_scores_a_method_on_the_clips_it_reads(tiny_ctx):
    """scripts/tune_methods.py halves the validation clips: the method's reference half
    (split.val) and the half that stands in for Dt are disjoint and cover val."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "tune_methods.py"
    spec = importlib.util.spec_from_file_location("tune_methods", path)
    tune = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tune)
    split = make_split(tiny_ctx.task, "class:up", 0)
    assert len(split.val) >= 4
    v = tune.validation_split(split, tiny_ctx.task.y, seed=1)
    assert len(v.val) and len(v.test)
    assert not set(v.val) & set(v.test) and sorted([*v.val, *v.test]) == sorted(split.val)
    assert len(v.test_forgotten) == len(v.test)
    assert (v.forget == split.forget).all() and (v.retain == split.retain).all()
