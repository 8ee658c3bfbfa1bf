"""wav2vec 2.0, HuBERT and Whisper through transformers, behind the Backbone contract.

    model = build_model(spec, seed=0)    # spec: see HFBackbone.spec / pretrained.fresh_spec
    x = model.featurize(wave)            # (B, L) -> (B, L) normalised wave, or (B, 80, T) log-mel
    logits, emb = model(x)               # (B, C), (B, P) with P = classifier_proj_size

The network is `AutoModelForAudioClassification` (Wav2Vec2/HubertForSequenceClassification,
WhisperForAudioClassification: encoder, optional softmax-weighted sum of layers,
projector, mean over time, classifier). `forward` runs those same steps so that the
pooled projection is returned as the embedding.

`spec()` stores the config and `init`, the pretrained encoder (a local folder or a
Hub id): `build_model(spec, seed)` reloads that encoder and draws a fresh head
from the seed, which is what a gold retrain and Bad-Teaching's teacher need.
With `frozen_encoder` the whole encoder is frozen and `featurize` runs it once
(see frozen.py), so training touches the head only.
"""

from __future__ import annotations

import torch
from torch import nn

from speechforget.models.base import Backbone
from speechforget.models.hf_configs import config_from_dict
from speechforget.models.hub import load_from
from speechforget.models.whisper import log_mel, mel_filters, pad_frames

FAMILY_NAMES = ("wav2vec2", "hubert", "whisper")
_NOT_STORED = (
    "architectures",
    "transformers_version",
    "model_type",
    "id2label",
    "label2id",
    "_name_or_path",
    "torch_dtype",
    "dtype",
    "num_labels",
)


def config_dict(config) -> dict:
    """What a spec stores of a transformers config: the values that differ from the
    class defaults, without labels or provenance."""
    return {k: v for k, v in config.to_diff_dict().items() if k not in _NOT_STORED}


def _new_net(config, init: str | None) -> nn.Module:
    from transformers import AutoModelForAudioClassification as Auto

    if init is None:
        return Auto.from_config(config)
    return load_from(
        Auto.from_pretrained, init, config=config, ignore_mismatched_sizes=True, dtype=torch.float32
    )


class HFBackbone(Backbone):
    def __init__(
        self,
        net: nn.Module,
        family: str,
        init: str | None = None,
        do_normalize: bool = True,
        frozen_encoder: bool = False,
        freeze_feature_encoder: bool = True,
    ) -> None:
        super().__init__()
        if family not in FAMILY_NAMES:
            raise ValueError(f"unknown family '{family}'; choose one of {', '.join(FAMILY_NAMES)}")
        self.net, self.family, self.init = net, family, init
        cfg = net.config
        self.num_classes, self.embed_dim = int(cfg.num_labels), int(cfg.classifier_proj_size)
        self.do_normalize, self.frozen_encoder = bool(do_normalize), bool(frozen_encoder)
        self.freeze_feature_encoder = bool(freeze_feature_encoder)
        if family == "whisper":
            filters = torch.from_numpy(mel_filters(cfg.num_mel_bins))
            self.register_buffer("mel_filters", filters, persistent=False)
        self._freeze()

    # ---- construction -------------------------------------------------------------
    @classmethod
    def from_spec(cls, spec: dict) -> HFBackbone:
        """The model a spec describes: pretrained encoder from `init` (or random from
        `config`) and a head drawn from the global RNG (build_model seeds it)."""
        config = config_from_dict(spec["family"], spec["config"])
        config.num_labels = int(spec["num_classes"])
        net = _new_net(config, spec.get("init"))
        model = cls(
            net,
            spec["family"],
            spec.get("init"),
            spec.get("do_normalize", True),
            spec.get("frozen_encoder", False),
            spec.get("freeze_feature_encoder", True),
        )
        model.reset_head()
        return model

    def _freeze(self) -> None:
        """The feature encoder (conv stem) is frozen as in the transformers recipe; with
        frozen_encoder the whole encoder is."""
        enc = self.encoder
        if self.frozen_encoder:
            frozen = list(enc.parameters())
        elif not self.freeze_feature_encoder:
            frozen = []
        elif self.family == "whisper":
            frozen = [*enc.conv1.parameters(), *enc.conv2.parameters()]
        else:  # also stops transformers from back-propagating into the conv stack
            self.net.freeze_feature_encoder()
            frozen = []
        for p in frozen:
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> HFBackbone:
        """Also re-freezes what the spec freezes: a copy whose parameters were all set
        trainable (e.g. for unlearning) still trains with the original's recipe."""
        super().train(mode)
        if mode:
            self._freeze()
        return self

    @property
    def encoder(self) -> nn.Module:
        net = self.net
        return net.encoder if self.family == "whisper" else getattr(net, net.base_model_prefix)

    # ---- the contract -------------------------------------------------------------
    @torch.no_grad()
    def featurize(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, L) 16 kHz -> (B, L) wave (zero mean, unit variance when the checkpoint's
        feature extractor normalises), (B, n_mels, L // 160 + 2) log-mel for Whisper, or
        (B, layers, D) time-pooled encoder states with frozen_encoder."""
        x = wave.float()
        if self.family == "whisper":
            x = log_mel(x, self.mel_filters)
        elif self.do_normalize:
            x = (x - x.mean(1, keepdim=True)) / torch.sqrt(x.var(1, keepdim=True) + 1e-7)
        if self.frozen_encoder:
            from speechforget.models.frozen import encoder_features

            x = encoder_features(self, x)
        return x

    def layer_states(self, x: torch.Tensor) -> torch.Tensor:
        """(B, ...) inputs -> (B, layers, T, D) encoder states (every layer when the config
        sums them with learnt weights, else the last one only)."""
        weighted = bool(self.net.config.use_weighted_layer_sum)
        if self.family == "whisper":
            x = pad_frames(x, 2 * self.net.config.max_source_positions)
        out = self.encoder(x, output_hidden_states=weighted)
        if weighted:
            return torch.stack(out.hidden_states, dim=1)
        return out.last_hidden_state.unsqueeze(1)

    def _combine(self, h: torch.Tensor) -> torch.Tensor:
        """(B, layers, ...) -> (B, ...): the softmax-weighted sum of layers, as transformers."""
        if h.shape[1] == 1:
            return h[:, 0]
        w = torch.softmax(self.net.layer_weights, dim=-1)
        return (h * w.view(1, -1, *([1] * (h.dim() - 2)))).sum(dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.frozen_encoder:  # x: (B, layers, D) already pooled over time
            emb = self.net.projector(self._combine(x))  # projection commutes with the mean
        else:
            emb = self.net.projector(self._combine(self.layer_states(x))).mean(dim=1)
        return self.net.classifier(emb), emb  # (B, C), (B, P)

    @torch.no_grad()
    def reset_head(self, generator: torch.Generator | None = None) -> None:
        """Fresh projector and classifier (normal, std = initializer_range) and equal
        layer weights."""
        cfg = self.net.config
        std = float(getattr(cfg, "initializer_range", None) or getattr(cfg, "init_std", 0.02))
        for lin in (self.net.projector, self.net.classifier):
            nn.init.normal_(lin.weight, 0.0, std, generator=generator)
            nn.init.zeros_(lin.bias)
        if cfg.use_weighted_layer_sum:
            self.net.layer_weights.fill_(1.0 / self.net.layer_weights.numel())

    def spec(self) -> dict:
        return {
            "family": self.family,
            "num_classes": self.num_classes,
            "init": self.init,
            "config": config_dict(self.net.config),
            "do_normalize": self.do_normalize,
            "frozen_encoder": self.frozen_encoder,
            "freeze_feature_encoder": self.freeze_feature_encoder,
        }
