"""The GE2E backbones (models/ge2e.py): Resemblyzer's pretrained encoder loaded without
unpickling code, its mel frontend in torch equal to librosa's, its embedding equal to
Resemblyzer's own, the frozen and fine-tuned forms, and safetensors checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from speechforget.models import BUILTIN, build_model, list_backbones, load_checkpoint
from speechforget.models import save_checkpoint as save
from speechforget.models.ge2e import mel_frames, pretrained_encoder, weights_path


@pytest.fixture(scope="module")
def wave() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    t = torch.arange(16000) / 16000
    voiced = torch.sin(2 * torch.pi * 140 * t) * torch.sin(torch.pi * t) ** 2
    return (0.05 * voiced + 0.01 * torch.randn(16000, generator=g))[None].float()  # (1, L)


def test_both_forms_are_in_the_registry_and_the_app_list():
    assert {"ge2e", "ge2e-ft"} <= set(BUILTIN)
    names = [r["name"] for r in list_backbones()]
    assert names[:3] == ["cnn", "ge2e", "ge2e-ft"]


def test_mel_frontend_equals_librosa(wave):
    librosa = pytest.importorskip("librosa")
    x = wave[0].numpy()
    gain = max(10 ** (-30 / 20) / np.sqrt(np.mean(x**2)), 1.0)  # normalize_volume, increase only
    ref = librosa.feature.melspectrogram(
        y=x * gain, sr=16000, n_fft=400, hop_length=160, n_mels=40
    ).T
    mine = mel_frames(wave)[0].numpy()
    assert mine.shape == ref.shape == (101, 40)
    np.testing.assert_allclose(mine, ref, rtol=1e-4, atol=1e-6 * ref.max())


def test_embedding_equals_resemblyzers_encoder(wave):
    pytest.importorskip("librosa")
    pytest.importorskip("webrtcvad")
    from resemblyzer import VoiceEncoder

    mels = mel_frames(wave)
    ref = VoiceEncoder("cpu", verbose=False)(mels)
    torch.testing.assert_close(pretrained_encoder()(mels), ref, atol=1e-6, rtol=1e-5)


def test_weights_load_without_unpickling_code():
    ckpt = torch.load(weights_path(), map_location="cpu", weights_only=True)
    assert "lstm.weight_ih_l0" in ckpt["model_state"]


def test_frozen_form_caches_embeddings_and_trains_the_head_only(wave, tmp_path):
    model = build_model({**BUILTIN["ge2e"].spec_for(5)})
    x = model.featurize(wave.repeat(3, 1))
    logits, emb = model(x)
    assert x.shape == emb.shape == (3, 256) and logits.shape == (3, 5)
    torch.testing.assert_close(emb.norm(dim=1), torch.ones(3))
    assert not [k for k in model.state_dict() if k.startswith("encoder.")]
    assert {n for n, _ in model.named_parameters()} == {"head.weight", "head.bias"}
    again, _ = load_checkpoint(save(model, tmp_path / "frozen"))
    torch.testing.assert_close(again(x)[0], model.eval()(x)[0])


def test_finetuned_form_trains_the_encoder(wave, tmp_path):
    model = build_model({**BUILTIN["ge2e-ft"].spec_for(5)}, seed=0)
    x = model.featurize(wave.repeat(2, 1))
    assert x.shape == (2, 101, 40)
    logits, emb = model(x)
    assert logits.shape == (2, 5) and emb.shape == (2, 256)
    logits.sum().backward()
    assert model.encoder.lstm.weight_ih_l0.grad is not None
    again, _ = load_checkpoint(save(model, tmp_path / "ft"))
    torch.testing.assert_close(again(x)[0], model.eval()(x)[0])
    fresh = build_model(model.spec())  # the bad teacher's encoder: the pretrained one
    torch.testing.assert_close(fresh.encoder.linear.weight, pretrained_encoder().linear.weight)
