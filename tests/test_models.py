"""The built-in CNN: shapes, embeddings, checkpoints, and the engine's fit."""

import torch

from speechforget.config import TrainConfig
from speechforget.engine import fit, predict, resolve_device
from speechforget.models import build_model, load_checkpoint, save_checkpoint, state_hash
from speechforget.models.cnn import CNN_SPEC


def test_cnn_shapes():
    model = build_model({**CNN_SPEC, "num_classes": 12}, seed=0)
    x = model.featurize(torch.randn(3, 16_000))
    assert x.shape == (3, 1, CNN_SPEC["n_mels"], 1 + 16_000 // CNN_SPEC["hop"])  # centred frames
    logits, emb = model(x)
    assert logits.shape == (3, 12) and emb.shape == (3, CNN_SPEC["embed_dim"])


def test_seeded_init_is_reproducible():
    a = build_model({**CNN_SPEC, "num_classes": 5}, seed=1)
    b = build_model({**CNN_SPEC, "num_classes": 5}, seed=1)
    c = build_model({**CNN_SPEC, "num_classes": 5}, seed=2)
    assert state_hash(a) == state_hash(b) != state_hash(c)


def test_checkpoint_roundtrip(tmp_path):
    model = build_model({**CNN_SPEC, "num_classes": 4}, seed=0).eval()
    save_checkpoint(model, tmp_path / "m", {"note": "x"})
    loaded, meta = load_checkpoint(tmp_path / "m")
    assert meta["note"] == "x" and state_hash(loaded) == state_hash(model)
    x = torch.randn(2, 1, 40, 101)
    assert torch.allclose(loaded(x)[0], model(x)[0])


def test_fit_learns_and_stops_on_request(tiny_data):
    task = tiny_data.task("kws")
    model = build_model({**CNN_SPEC, "num_classes": task.num_classes}, seed=0)
    x, y = model.featurize(torch.from_numpy(task.waves)), torch.from_numpy(task.y)
    train = torch.from_numpy(task.where("train"))
    run = fit(model, x[train], y[train], TrainConfig(epochs=12, batch_size=16, device="cpu"))
    losses = [h.retain_loss for h in run.history]
    assert losses[-1] < losses[0] and not run.stopped
    logits, emb = predict(model, x, "cpu")
    test = task.where("test")
    assert (logits.argmax(1).numpy()[test] == task.y[test]).mean() > 0.7
    stopper = build_model({**CNN_SPEC, "num_classes": task.num_classes}, seed=0)
    run = fit(
        stopper,
        x[train],
        y[train],
        TrainConfig(epochs=12, batch_size=16, device="cpu"),
        on_step=lambda log: log.step >= 3,
    )
    assert run.stopped and run.steps == 3


def test_time_budget(tiny_data):
    task = tiny_data.task("kws")
    model = build_model({**CNN_SPEC, "num_classes": task.num_classes}, seed=0)
    x, y = model.featurize(torch.from_numpy(task.waves)), torch.from_numpy(task.y)
    run = fit(model, x, y, TrainConfig(epochs=100, batch_size=8, device="cpu", time_budget_s=0.0))
    assert run.budget_hit and run.steps == 1


def test_device_resolution():
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert resolve_device("auto").type == "cpu"
        try:
            resolve_device("cuda")
            raise AssertionError("expected a ValueError")
        except ValueError as e:
            assert "no CUDA device" in str(e)


def test_cpu_prediction_runs_a_channels_last_copy_and_leaves_the_model_as_it_was():
    """predict on CPU spectrograms: the same outputs as the model in NCHW (to float noise),
    in batches of any size, and the caller's model keeps its mode and memory format."""
    torch.manual_seed(0)
    model = build_model({**CNN_SPEC, "num_classes": 4}).train()
    x = torch.randn(70, 1, 40, 101)
    logits, emb = predict(model, x, "cpu", batch_size=256)
    assert model.training  # its mode back
    w = model.features[1][0].weight  # (2w, w, 3, 3): the two layouts differ
    assert w.is_contiguous() and not w.is_contiguous(memory_format=torch.channels_last)
    model.eval()
    with torch.no_grad():
        ref_logits, ref_emb = model(x)
    assert logits.shape == (70, 4) and emb.shape == ref_emb.shape
    assert torch.allclose(logits, ref_logits, atol=1e-4)
    assert torch.allclose(emb, ref_emb, atol=1e-4)
    small, _ = predict(model, x, "cpu", batch_size=16)
    assert torch.allclose(small, logits, atol=1e-4)
