"""Transformer backbones from tiny random configs: nothing is downloaded.

Each family is saved with `save_pretrained` in the layout of its real checkpoint (a
bare HubertModel / Wav2Vec2Model like facebook/*, a WhisperForConditionalGeneration
like openai/*) and loaded back through load_original_checkpoint, the code path of a
real checkpoint; then trained, unlearned with every registered method and evaluated.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from transformers import (
    AutoModelForAudioClassification,
    HubertForSequenceClassification,
    HubertModel,
    Wav2Vec2Model,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
)

from speechforget.config import ExperimentConfig, TrainConfig
from speechforget.data import KWS_LABELS, make_split
from speechforget.models import build_model, list_backbones, state_hash
from speechforget.models.catalog import BACKBONES, resolve_backbone
from speechforget.models.hf import HFBackbone
from speechforget.models.hf_configs import tiny_config
from speechforget.pipeline import Context, run_experiment
from speechforget.training import featurize
from speechforget.training.transformers import load_original_checkpoint

FAMILIES = {  # family -> (backbone name, class of the published base checkpoint)
    "wav2vec2": ("wav2vec2-base", Wav2Vec2Model),
    "hubert": ("hubert-base", HubertModel),
    "whisper": ("whisper-tiny", WhisperForConditionalGeneration),
}
RECIPE = TrainConfig(epochs=4, lr=3e-3, weight_decay=0.0, batch_size=16, device="cpu")
FAST = {"epochs": "1", "lr": "1e-3", "batch_size": "32"}  # every method, where it has the field


@pytest.fixture(scope="module")
def small_data():
    """80 clips (4 tone 'keywords' x 5 speakers x 4 takes; 32 of them train): every
    family runs every method on it, on two shared CPU cores."""
    from conftest import make_tiny_data

    return make_tiny_data(n_speakers=4, takes=4)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("hf_ckpt")
    out = {}
    for family, (_, cls) in FAMILIES.items():
        torch.manual_seed(0)
        cls(tiny_config(family)).save_pretrained(root / family)
        out[family] = str(root / family)
    return out


def test_catalog_lists_the_papers_backbones():
    ids = {b.hub_id for b in BACKBONES.values()}
    for hub_id in (
        "openai/whisper-tiny",
        "openai/whisper-base",
        "facebook/wav2vec2-base",
        "facebook/wav2vec2-large",
        "facebook/hubert-base-ls960",
        "facebook/hubert-large-ll60k",
        "facebook/hubert-xlarge-ll60k",
        "superb/hubert-base-superb-ks",
        "superb/wav2vec2-large-superb-sid",
    ):
        assert hub_id in ids
    rows = list_backbones()
    assert rows[0]["name"] == "cnn" and {"name", "hub_id", "description"} <= set(rows[1])
    assert resolve_backbone("superb-hubert-base-ks").init_id == "facebook/hubert-base-ls960"
    with pytest.raises(
        ValueError,
        match="choose one of cnn, ge2e, ge2e-ft, speechemb, speechemb-ft, speechemb-tuned, ",
    ):
        resolve_backbone("hubret-base")


def test_offline_hub_id_says_what_to_do(small_data, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="cannot be reached.*--checkpoint"):
        load_original_checkpoint("hubert-base", small_data.task("kws"))


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("weighted", [False, True])
def test_forward_equals_transformers(family, weighted):
    torch.manual_seed(0)
    net = AutoModelForAudioClassification.from_config(
        tiny_config(family, num_labels=3, use_weighted_layer_sum=weighted)
    ).eval()
    model = HFBackbone(net, family).eval()
    wave = 0.1 * torch.randn(2, 16000)
    x = model.featurize(wave)
    logits, emb = model(x)
    if family == "whisper":  # the real extractor pads to 30 s; the tiny config wants 2 s
        fe = WhisperFeatureExtractor(feature_size=80, chunk_length=2)
        x = fe(list(wave.numpy()), sampling_rate=16000, return_tensors="pt").input_features
    assert emb.shape == (2, net.config.classifier_proj_size)
    torch.testing.assert_close(logits, net(x).logits)


def test_whisper_features_equal_the_30s_extractor():
    from speechforget.models.whisper import log_mel, mel_filters, pad_frames

    wave = 0.2 * torch.randn(1, 16000)
    ref = WhisperFeatureExtractor(feature_size=80)(
        wave[0].numpy(), sampling_rate=16000, return_tensors="pt"
    ).input_features
    mine = pad_frames(log_mel(wave, torch.from_numpy(mel_filters(80))), 3000)
    torch.testing.assert_close(mine, ref, atol=1e-5, rtol=1e-5)


def _method_names() -> list[str]:
    try:
        from speechforget.methods import METHODS
    except ModuleNotFoundError:  # the methods package is optional for this file
        return []
    return list(METHODS)


@pytest.mark.parametrize("family", FAMILIES)
def test_train_unlearn_evaluate(family, checkpoints, small_data):
    from speechforget.methods import get_method, run_method

    name = FAMILIES[family][0]
    task = small_data.task("kws")
    trained = load_original_checkpoint(name, task, checkpoints[family], recipe=RECIPE, device="cpu")
    losses = [h.retain_loss for h in trained.run.history]
    assert all(math.isfinite(v) for v in losses) and np.mean(losses[-3:]) < np.mean(losses[:3])
    assert trained.meta["ready"] is False and trained.meta["recipe"]["lr"] == RECIPE.lr
    again = load_original_checkpoint(name, task, checkpoints[family], recipe=RECIPE, device="cpu")
    assert again.run is None and state_hash(again.model) == state_hash(trained.model)

    ctx = Context(task, featurize(trained.model, task.waves), trained)
    before = state_hash(trained.model)
    split = make_split(task, "class:up", 0)
    for method in _method_names():
        fields = {f.name for f in dataclasses.fields(get_method(method).Config)}
        cfg = ExperimentConfig(
            method=method,
            forget="class:up",
            device="cpu",
            method_overrides={k: v for k, v in FAST.items() if k in fields},
        )
        model, run = run_method(cfg, ctx, split, None, None)
        assert all(
            math.isfinite(v)
            for h in run.history
            for v in (h.forget_loss, h.retain_loss)
            if v is not None
        ), method
        if method != "retrain":
            assert state_hash(model) != before, method
        assert state_hash(trained.model) == before, f"{method} modified the original"

    res = run_experiment(
        ExperimentConfig(method="finetune", forget="class:up", device="cpu", method_overrides=FAST),
        ctx=ctx,
    )
    report = res.report()
    assert set(report["models"]) == {"original", "unlearned", "retrain"}
    assert 0.0 <= report["models"]["retrain"]["test_acc"] <= 1.0
    # a rebuild (gold retrain, Bad-Teaching's teacher) reloads the pretrained encoder
    saved = FAMILIES[family][1].from_pretrained(checkpoints[family])
    saved = saved.model.encoder if family == "whisper" else saved
    rebuilt = build_model(trained.model.spec(), seed=1).encoder
    for model, same in ((rebuilt, True), (trained.model.encoder, False)):
        a = model.state_dict()
        b = {k: v for k, v in saved.state_dict().items() if k in a}
        assert b and all(torch.equal(a[k], b[k]) for k in b) == same


def _finetuned_folder(root, base: str) -> str:
    """A SUPERB-style checkpoint: a head for the 12 labels in a shuffled order."""
    order = list(np.random.default_rng(0).permutation(KWS_LABELS))
    torch.manual_seed(1)
    cfg = tiny_config("hubert", num_labels=12, id2label=dict(enumerate(order)))
    HubertForSequenceClassification(cfg).save_pretrained(root)
    (root / "speechforget.json").write_text(json.dumps({"init": base}))
    return str(root)


def test_ready_original_maps_labels(tmp_path, checkpoints, small_data):
    task = small_data.task("kws")  # yes, no, up, down: a subset of the 12
    folder = _finetuned_folder(tmp_path / "ft", checkpoints["hubert"])
    trained = load_original_checkpoint("superb-hubert-base-ks", task, folder, device="cpu")
    assert trained.meta["ready"] and trained.model.init == checkpoints["hubert"]
    net = HubertForSequenceClassification.from_pretrained(folder).eval()
    rows = [list(net.config.id2label.values()).index(c) for c in task.class_names]
    wave = torch.from_numpy(task.waves[:3])
    logits, _ = trained.model.eval()(trained.model.featurize(wave))
    torch.testing.assert_close(logits, net(trained.model.featurize(wave)).logits[:, rows])
    with pytest.raises(ValueError, match="fine-tuned for kws"):
        load_original_checkpoint("superb-hubert-base-ks", small_data.task("sid"), folder)


def test_frozen_encoder_features_are_cached(checkpoints, small_data, tmp_path, monkeypatch):
    monkeypatch.setenv("SPEECHFORGET_CACHE", str(tmp_path))
    task = small_data.task("kws")
    recipe = dataclasses.replace(RECIPE, epochs=2, lr=1e-2)
    trained = load_original_checkpoint(
        "whisper-tiny:frozen", task, checkpoints["whisper"], recipe=recipe, device="cpu"
    )
    model = trained.model.eval()
    assert not any(p.requires_grad for p in model.encoder.parameters())
    wave = torch.from_numpy(task.waves[:4])
    x = model.featurize(wave)  # (B, layers, D), now on disk
    assert x.dim() == 3 and len(list((tmp_path / "features").iterdir())) > 0
    full = HFBackbone(model.net, "whisper", frozen_encoder=False).eval()
    torch.testing.assert_close(model(x)[0], full(full.featurize(wave))[0], atol=1e-5, rtol=1e-4)


def test_cli_unlearn_on_local_checkpoint_and_folder(checkpoints, small_data, tmp_path):
    from speechforget.__main__ import main
    from speechforget.data.audio import save_wav

    for i in range(len(small_data)):
        label = small_data.keyword_names[small_data.keyword[i]]
        spk = small_data.speaker_names[small_data.speaker[i]]
        save_wav(
            tmp_path / "wavs" / label / f"{spk}_nohash_{small_data.take[i]}.wav",
            small_data.waves[i],
        )
    out = tmp_path / "report.json"
    rc = main(
        [
            "unlearn",
            "--backbone",
            "hubert-base",
            "--checkpoint",
            checkpoints["hubert"],
            "--data",
            f"folder:{tmp_path / 'wavs'}",
            "--method",
            "retrain",
            "--forget",
            "class:up",
            "--device",
            "cpu",
            "--quiet",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    report = json.loads(out.read_text())
    assert report["config"]["backbone"] == "hubert-base" and "retrain" in report["models"]


def test_cli_recipe_sets_the_original_and_gold_recipe(checkpoints, small_data, tmp_path):
    from speechforget.__main__ import main
    from speechforget.data.audio import save_wav

    for i in range(len(small_data)):
        label = small_data.keyword_names[small_data.keyword[i]]
        save_wav(
            tmp_path / "wavs" / label / f"s{small_data.speaker[i]}_{i}.wav", small_data.waves[i]
        )
    out = tmp_path / "report.json"
    rc = main(
        [
            "unlearn",
            "--backbone",
            "wav2vec2-base",
            "--checkpoint",
            checkpoints["wav2vec2"],
            "--data",
            f"folder:{tmp_path / 'wavs'}",
            "--method",
            "finetune",
            "--forget",
            "class:up",
            "--device",
            "cpu",
            "--quiet",
            "--recipe",
            "epochs=2",
            "--recipe",
            "lr=2e-3",
            "--set",
            "epochs=1",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    report = json.loads(out.read_text())
    assert report["config"]["recipe"] == {"epochs": "2", "lr": "2e-3"}
    assert report["config"]["train"]["epochs"] == 2 and report["config"]["train"]["lr"] == 2e-3
    assert "retrain" in report["models"]  # the gold retrain reads the recipe from this meta


def test_cli_lists_backbones_and_data_sets(capsys):
    from speechforget.__main__ import main

    assert main(["unlearn", "--backbone", "list", "--data", "list"]) == 0
    out = capsys.readouterr().out
    for name in (*BACKBONES, "cnn", "synthetic", "hub:<dir>", "voxceleb:<dir>", "folder:<dir>"):
        assert name in out
    for hub_id in (
        "openai/whisper-tiny",
        "facebook/hubert-xlarge-ll60k",
        "superb/wav2vec2-base-superb-sid",
    ):
        assert hub_id in out


def test_recipe_errors_name_the_fix():
    from speechforget.pipeline import prepare

    with pytest.raises(ValueError, match="unknown setting 'epoch'.*epochs"):
        prepare("kws", "hubert-base", recipe={"epoch": "2"})
    with pytest.raises(ValueError, match="speechforget train --set"):
        prepare("kws", "cnn", recipe={"epochs": "2"})


def test_gpu_check_runs_tiny_on_cpu(capsys):
    from speechforget.__main__ import main

    rc = main(
        [
            "gpu-check",
            "--device",
            "cpu",
            "--tiny",
            "--n",
            "48",
            "--methods",
            "finetune",
            "--steps",
            "2",
            "--epochs",
            "1",
            "--backbone",
            "hubert-base",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0
    for line in ("tiny random model", "train step:", "original fine-tune:", "finetune"):
        assert line in out


@pytest.mark.gpu
def test_gpu_check_wav2vec2_base_on_cuda(capsys):
    from speechforget.__main__ import main

    assert main(["gpu-check", "--device", "cuda", "--n", "480", "--steps", "10"]) == 0
    assert "peak memory" in capsys.readouterr().out


@pytest.mark.network
def test_superb_checkpoint_from_the_hub(small_data):
    trained = load_original_checkpoint("superb-hubert-base-ks", small_data.task("kws"))
    assert trained.meta["ready"] and trained.model.num_classes == 4
