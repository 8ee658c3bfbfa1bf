"""The relearning attack (evaluation/relearn.py, engine.train_steps) and the linear probe on
the embeddings (evaluation/probe.py), on the tiny tone context and on synthetic embeddings."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest
import torch

from speechforget.config import TrainConfig
from speechforget.data import make_split
from speechforget.engine import predict, train_steps
from speechforget.evaluation.metrics import accuracy
from speechforget.evaluation.probe import (
    matched_sample,
    probe_accuracy,
    probe_cv,
    probe_for_split,
)
from speechforget.evaluation.relearn import relearn, relearn_curve, split_forget

STEPS = (0, 5, 10, 25, 50)


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def class_split(tiny_ctx):
    return make_split(tiny_ctx.task, "class:yes")


@pytest.fixture(scope="module")
def broken(tiny_ctx, class_split):
    """The original with the forgotten class's head row and bias negated: it never says
    'yes', but its body still knows the word (a head-only 'forgetting')."""
    model = copy.deepcopy(tiny_ctx.original.model)
    c = class_split.forgotten_classes[0]
    with torch.no_grad():
        model.head.weight[c].neg_()
        model.head.bias[c].neg_()
    return model


# ---- relearning attack --------------------------------------------------------------------


def test_relearn_curve_starts_at_plain_accuracy_and_leaves_the_model_alone(tiny_ctx, class_split):
    model = tiny_ctx.original.model
    before, mode = _state(model), model.training
    out = relearn_curve(model, tiny_ctx.x, tiny_ctx.y, class_split.forget, STEPS)
    assert out["steps"] == list(STEPS) and len(out["acc"]) == len(STEPS)
    assert out["n_train"] + out["n_eval"] == len(class_split.forget)
    assert out["n_train"] == round(0.2 * len(class_split.forget))
    _, held = split_forget(class_split.forget, 0.2, seed=0)
    logits, _ = predict(model, tiny_ctx.x[held], "cpu")
    assert out["acc"][0] == accuracy(logits.numpy(), tiny_ctx.task.y[held])
    assert all(0.0 <= a <= 1.0 for a in out["acc"])
    assert _same_state(before, _state(model)) and model.training == mode


def test_relearn_is_seeded(broken, tiny_ctx, class_split):
    args = (broken, tiny_ctx.x, tiny_ctx.y, class_split.forget, (0, 3, 6))
    assert relearn_curve(*args, seed=1) == relearn_curve(*args, seed=1)
    assert not np.array_equal(
        split_forget(class_split.forget, seed=0)[0], split_forget(class_split.forget, seed=1)[0]
    )


def test_a_class_hidden_by_the_head_comes_back(broken, tiny_ctx, class_split):
    acc = relearn_curve(broken, tiny_ctx.x, tiny_ctx.y, class_split.forget, STEPS)["acc"]
    assert acc[0] < 0.2  # the head hides it
    assert acc[-1] > acc[0] and acc[-1] > 0.8  # 20% of Df brings the other 80% back


def test_the_default_attack_does_not_damage_a_model_that_hides_nothing(tiny_ctx):
    """Two clips of one speaker teach a label prior: at lr 1e-3 the original's accuracy on
    the speaker's other clips falls from 1.0 to 0.4; the default lr must leave it be."""
    forget = make_split(tiny_ctx.task, "speaker:spk01").forget
    acc = relearn_curve(tiny_ctx.original.model, tiny_ctx.x, tiny_ctx.y, forget, STEPS)["acc"]
    assert acc[0] == 1.0 and min(acc) >= 0.9


def test_relearn_uses_one_split_for_every_model(broken, tiny_ctx, class_split):
    models = {"unlearned": broken, "retrain": tiny_ctx.original.model}
    out = relearn(models, tiny_ctx.x, tiny_ctx.y, class_split.forget, (0, 5))
    assert set(out) == {"steps", "unlearned", "retrain"} and out["steps"] == [0, 5]
    alone = relearn_curve(broken, tiny_ctx.x, tiny_ctx.y, class_split.forget, (0, 5))
    assert out["unlearned"] == alone["acc"]
    with pytest.raises(ValueError, match="'steps'"):
        relearn({"steps": broken}, tiny_ctx.x, tiny_ctx.y, class_split.forget)


def test_relearn_rejects_what_it_cannot_measure(tiny_ctx, class_split):
    model = tiny_ctx.original.model
    with pytest.raises(ValueError, match="too small to split"):
        relearn_curve(model, tiny_ctx.x, tiny_ctx.y, class_split.forget[:4])
    with pytest.raises(ValueError, match="fraction"):
        split_forget(class_split.forget, fraction=1.0)
    with pytest.raises(ValueError, match="steps"):
        relearn_curve(model, tiny_ctx.x, tiny_ctx.y, class_split.forget, (-1, 5))


def test_train_steps_checkpoints_in_order_with_norm_statistics_frozen(tiny_ctx, class_split):
    model = copy.deepcopy(tiny_ctx.original.model)
    before = _state(model)
    seen: list[int] = []
    cfg = TrainConfig(lr=1e-3, weight_decay=0.0, batch_size=4, device="cpu")
    idx = torch.from_numpy(class_split.forget)
    run = train_steps(model, tiny_ctx.x, tiny_ctx.y, idx, (7, 0, 3, 3), cfg, seen.append)
    assert seen == [0, 3, 7] and run.steps == 7 and len(run.history) == 7
    after = _state(model)
    stats = [k for k in before if "running_" in k]
    assert stats and all(torch.equal(before[k], after[k]) for k in stats)
    assert not torch.equal(before["head.weight"], after["head.weight"])
    with pytest.raises(ValueError, match="checkpoints"):
        train_steps(model, tiny_ctx.x, tiny_ctx.y, idx, (), cfg, seen.append)


# ---- linear probe -------------------------------------------------------------------------


def _blobs(shift: float, seed: int = 0, n: int = 400, dim: int = 16):
    """Random embeddings and labels; clips 0..299 'train', 300..399 'test'; positives are a
    random 25% of each, moved by `shift` along every dimension."""
    rng = np.random.default_rng(seed)
    emb, y = rng.normal(size=(n, dim)), rng.integers(0, 4, n)
    pos_train = np.sort(rng.choice(300, 75, replace=False))
    pos_test = 300 + np.sort(rng.choice(100, 25, replace=False))
    emb[np.r_[pos_train, pos_test]] += shift
    return emb, y, np.arange(300), np.arange(300, 400), pos_train, pos_test


def test_probe_is_at_chance_on_noise_and_perfect_on_a_shifted_class():
    emb, y, train, test, pos_train, pos_test = _blobs(shift=0.0)
    assert abs(probe_accuracy(emb, y, train, test, pos_train, pos_test) - 0.5) < 0.15
    assert abs(probe_cv(emb, y, pos_train, train) - 0.5) < 0.15
    emb, y, train, test, pos_train, pos_test = _blobs(shift=10.0)
    assert probe_accuracy(emb, y, train, test, pos_train, pos_test) > 0.95
    assert probe_cv(emb, y, pos_train, train) > 0.95


def test_cross_validated_probe_is_not_biased_below_chance():
    """Label-matched sides with single-clip stratified folds score ~0.41 here; pair folds ~0.49."""
    scores = []
    for seed in range(20):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 8, 300)  # embeddings that encode the label and nothing else
        emb = np.c_[3 * np.eye(8)[y] + 0.5 * rng.normal(size=(300, 8)), rng.normal(size=(300, 4))]
        pos = rng.choice(150, 40, replace=False)
        scores.append(probe_cv(emb, y, pos, np.arange(150, 300), seed=seed))
    assert abs(np.mean(scores) - 0.5) < 0.04


def test_negatives_follow_the_positives_labels():
    """Embeddings that only encode the label; positives from labels 0 and 1 only. Matched
    negatives leave nothing to decode; random ones let the label give the positives away."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 400)
    emb = 5 * np.eye(4)[y] + rng.normal(size=(400, 4))
    low = np.flatnonzero(y < 2)
    pos_train, pos_test = low[low < 300][::3], low[low >= 300][::3]
    args = (np.arange(300), np.arange(300, 400), pos_train, pos_test)
    assert abs(probe_accuracy(emb, y, *args) - 0.5) < 0.15
    assert probe_accuracy(emb, None, *args) > 0.8
    neg = matched_sample(np.setdiff1d(np.arange(300), pos_train), pos_train, y, rng)
    assert len(set(neg)) == len(pos_train) and not set(neg) & set(pos_train)
    assert np.array_equal(np.bincount(y[neg], minlength=4), np.bincount(y[pos_train], minlength=4))


def test_probe_gives_none_with_too_few_clips_and_rejects_bad_shapes():
    emb, y, train, test, pos_train, pos_test = _blobs(shift=10.0)
    assert probe_accuracy(emb, y, train, test, pos_train[:4], pos_test) is None
    assert probe_accuracy(emb, y, train, test, pos_train, pos_test[:4]) is None
    assert probe_cv(emb, y, pos_train[:4], train) is None
    with pytest.raises(ValueError, match="embeddings"):
        probe_cv(emb[:, 0], y, pos_train, train)
    with pytest.raises(ValueError, match="labels"):
        probe_cv(emb, y[:10], pos_train, train)


def test_probe_for_split_picks_the_protocol(tiny_ctx, broken):
    task, y = tiny_ctx.task, tiny_ctx.task.y
    emb = predict(tiny_ctx.original.model, tiny_ctx.x, "cpu")[1].numpy()  # (M, D)
    split = make_split(task, "class:yes")
    score = probe_for_split(emb, y, split)
    assert score is not None and score > 0.8  # the original's representation knows 'yes'
    assert probe_for_split(emb, y, split) == score  # seeded
    hidden = predict(broken, tiny_ctx.x, "cpu")[1].numpy()
    assert probe_for_split(hidden, y, split) == score  # same body, same clips: same score
    sample = make_split(task, "sample:20")
    assert sample.test_forgotten is None
    assert 0.0 <= probe_for_split(emb, y, sample) <= 1.0
    few = dataclasses.replace(split, test_forgotten=split.test_forgotten & (np.arange(24) < 8))
    assert few.test_forgotten.sum() < 5 and probe_for_split(emb, y, few) is None
