"""The transformer backbones speechforget knows by name (Hub access: models/hub.py).

BACKBONES["hubert-base"].hub_id          # 'facebook/hubert-base-ls960'
list_backbones()                         # for the app and the command line
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackboneInfo:
    name: str  # short name used by --backbone
    hub_id: str  # the checkpoint on the Hugging Face Hub
    family: str  # wav2vec2 | hubert | whisper
    size: str  # parameter count, for the list shown to users
    task: str | None = None  # kws | sid for a fine-tuned (SUPERB) checkpoint, None for a base one
    base: str | None = None  # the pretrained (not fine-tuned) encoder of a fine-tuned checkpoint

    @property
    def init_id(self) -> str:
        """Where a gold retrain (and Bad-Teaching's teacher) starts: the pretrained encoder."""
        return self.base or self.hub_id


_BASES = [
    BackboneInfo("whisper-tiny", "openai/whisper-tiny", "whisper", "8M encoder"),
    BackboneInfo("whisper-base", "openai/whisper-base", "whisper", "21M encoder"),
    BackboneInfo("wav2vec2-base", "facebook/wav2vec2-base", "wav2vec2", "95M"),
    BackboneInfo("wav2vec2-large", "facebook/wav2vec2-large", "wav2vec2", "317M"),
    BackboneInfo("hubert-base", "facebook/hubert-base-ls960", "hubert", "95M"),
    BackboneInfo("hubert-large", "facebook/hubert-large-ll60k", "hubert", "317M"),
    BackboneInfo("hubert-xlarge", "facebook/hubert-xlarge-ll60k", "hubert", "964M"),
]
# SUPERB's large wav2vec 2.0 is the LibriLight-60k one (wav2vec2-large-lv60), see its model card.
_SUPERB_BASE = {
    "wav2vec2-base": "facebook/wav2vec2-base",
    "wav2vec2-large": "facebook/wav2vec2-large-lv60",
    "hubert-base": "facebook/hubert-base-ls960",
    "hubert-large": "facebook/hubert-large-ll60k",
}
_SUPERB = [
    BackboneInfo(
        f"superb-{arch}-{t}",
        f"superb/{arch}-superb-{t}",
        arch.split("-")[0],
        "95M" if arch.endswith("base") else "317M",
        {"ks": "kws", "sid": "sid"}[t],
        base,
    )
    for t in ("ks", "sid")
    for arch, base in _SUPERB_BASE.items()
]
BACKBONES: dict[str, BackboneInfo] = {b.name: b for b in _BASES + _SUPERB}


def list_backbones() -> list[dict]:
    """Every transformer backbone a user can pick (speechforget.models.list_backbones puts
    the built-in ones first)."""
    rows = []
    for b in BACKBONES.values():
        what = f"fine-tuned for {b.task} (SUPERB)" if b.task else "pretrained, fine-tuned here"
        rows.append(
            {
                "name": b.name,
                "hub_id": b.hub_id,
                "family": b.family,
                "size": b.size,
                "task": b.task,
                "description": f"{b.hub_id}: {what}",
            }
        )
    return rows


def resolve_backbone(name: str) -> BackboneInfo:
    """The table entry of a short name or a Hub id; ValueError listing the choices."""
    if name in BACKBONES:
        return BACKBONES[name]
    for b in BACKBONES.values():
        if b.hub_id == name:
            return b
    raise ValueError(
        f"unknown backbone '{name}'; choose one of {', '.join(_every_name())} "
        "(or give --checkpoint a local folder written by save_pretrained)"
    )


def _every_name() -> list[str]:
    from speechforget.models.registry import BUILTIN

    return [*BUILTIN, *BACKBONES]
