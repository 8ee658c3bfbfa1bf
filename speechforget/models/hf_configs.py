"""Built-in transformers configs: tiny ones for tests and real-size ones for gpu-check.

Nothing here downloads. `tiny_config(family)` gives a model of a few hundred
thousand parameters with the real architecture (same conv stack, so 1 s of
16 kHz audio still gives 49 frames for wav2vec 2.0 / HuBERT); `real_config(name)`
gives the architecture of a published checkpoint, randomly initialised, for
timing on a machine that cannot download it.
"""

from __future__ import annotations

from transformers import HubertConfig, PretrainedConfig, Wav2Vec2Config, WhisperConfig

CONFIG_CLASSES: dict[str, type[PretrainedConfig]] = {
    "wav2vec2": Wav2Vec2Config,
    "hubert": HubertConfig,
    "whisper": WhisperConfig,
}

_TINY = {
    "wav2vec2": dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        classifier_proj_size=16,
        vocab_size=8,
    ),
    "hubert": dict(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        classifier_proj_size=16,
        vocab_size=8,
    ),
    # max_source_positions=100 -> the encoder wants 200 mel frames (2 s) instead of 3,000 (30 s)
    "whisper": dict(
        d_model=32,
        encoder_layers=2,
        encoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_layers=1,
        decoder_attention_heads=2,
        decoder_ffn_dim=64,
        max_source_positions=100,
        max_target_positions=32,
        num_mel_bins=80,
        classifier_proj_size=16,
        vocab_size=64,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
    ),
}

_LARGE = dict(
    hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096
)
_LAYER_NORM = dict(feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True)

# short backbone name -> (family, overrides of the config class defaults). The class
# defaults of Wav2Vec2Config / HubertConfig are the base size.
_REAL: dict[str, tuple[str, dict]] = {
    "wav2vec2-base": ("wav2vec2", {}),
    "wav2vec2-large": ("wav2vec2", dict(_LARGE)),
    "hubert-base": ("hubert", {}),
    "hubert-large": ("hubert", {**_LARGE, **_LAYER_NORM}),
    "hubert-xlarge": (
        "hubert",
        dict(
            hidden_size=1280,
            num_hidden_layers=48,
            num_attention_heads=16,
            intermediate_size=5120,
            **_LAYER_NORM,
        ),
    ),
    "whisper-tiny": (
        "whisper",
        dict(
            d_model=384,
            encoder_layers=4,
            encoder_attention_heads=6,
            encoder_ffn_dim=1536,
            decoder_layers=4,
            decoder_attention_heads=6,
            decoder_ffn_dim=1536,
        ),
    ),
    "whisper-base": (
        "whisper",
        dict(
            d_model=512,
            encoder_layers=6,
            encoder_attention_heads=8,
            encoder_ffn_dim=2048,
            decoder_layers=6,
            decoder_attention_heads=8,
            decoder_ffn_dim=2048,
        ),
    ),
}


def _check_family(family: str) -> None:
    if family not in CONFIG_CLASSES:
        raise ValueError(
            f"unknown transformer family '{family}'; choose one of {', '.join(CONFIG_CLASSES)}"
        )


def tiny_config(family: str, **overrides) -> PretrainedConfig:
    """A tiny random-init config of `family` (tests and `gpu-check --tiny`)."""
    _check_family(family)
    return CONFIG_CLASSES[family](**{**_TINY[family], **overrides})


def real_config(name: str) -> tuple[str, PretrainedConfig]:
    """(family, config) with the architecture of backbone `name` (e.g. wav2vec2-base)."""
    if name not in _REAL:
        raise ValueError(f"no built-in config for '{name}'; choose one of {', '.join(_REAL)}")
    family, overrides = _REAL[name]
    return family, CONFIG_CLASSES[family](**overrides)


def config_from_dict(family: str, values: dict) -> PretrainedConfig:
    """Rebuild a config from the dict a spec stored (see HFBackbone.spec)."""
    _check_family(family)
    return CONFIG_CLASSES[family](**values)
