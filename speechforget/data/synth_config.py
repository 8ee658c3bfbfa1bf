"""What the built-in data is made of: its format version, the espeak-ng accents and voice
variants, the extra `_unknown_` words, the build's settings (SynthConfig: counts, jitters,
the piper speakers) and the speakers drawn from them (make_speakers). data/synthetic.py
renders and caches the clips."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import numpy as np

from speechforget.data.dataset import UNKNOWN_WORDS
from speechforget.data.piper import engine_version

FORMAT_VERSION = 2  # bump when the generator changes: it invalidates every cache entry
LANGUAGES = (
    "en-us",
    "en",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-029",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-us-nyc",
)
VARIANTS = (
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "m8",
    "Alex",
    "Alicia",
    "Andrea",
    "Andy",
    "Annie",
    "Denis",
    "Gene",
    "Jacky",
    "Lee",
    "Mario",
    "Michael",
    "Mike",
    "Storm",
    "adam",
    "anika",
    "aunty",
    "belinda",
    "benjamin",
    "boris",
    "david",
    "ed",
    "edward",
    "grandma",
    "grandpa",
    "gustave",
    "linda",
    "max",
    "michel",
    "paul",
    "quincy",
    "rob",
    "robert",
    "shelby",
    "steph",
    "travis",
    "victor",
)
# _unknown_ words beyond Speech Commands v0.01's: v2's other words and near misses of the
# keywords (none a homophone of one)
MORE_UNKNOWN = (
    "backward",
    "forward",
    "follow",
    "learn",
    "visual",
    "yet",
    "nose",
    "cup",
    "town",
    "lift",
    "night",
    "shop",
    "goal",
    "offer",
    "under",
)
OTHER_WORDS = (*UNKNOWN_WORDS, *MORE_UNKNOWN)


def _f(default: Any, help: str, **meta: Any) -> Any:
    return field(default=default, metadata={"help": help, **meta})


@dataclass
class SynthConfig:
    """How the synthetic speech commands are made (every field changes the cache key)."""

    seed: int = _f(0, "seed of voices, takes, augmentation and splits", min=0)
    n_speakers: int = _f(56, "speakers the models train on (spk00, spk01, ...)", min=2, max=400)
    n_unheard: int = _f(12, "extra speakers no model trains on (split 'unheard')", min=0, max=100)
    piper_speakers: int = _f(12, "how many of the trained speakers are piper voices", min=0)
    piper_unheard: int = _f(3, "how many of the unheard speakers are piper voices", min=0)
    takes: int = _f(4, "takes per speaker and keyword", min=1, max=50)
    unknown: int = _f(10, "clips of other words (_unknown_) per speaker", min=0, max=100)
    silence: int = _f(4, "background-only clips (_silence_) per speaker", min=0, max=100)
    train_frac: float = _f(0.7, "share of each trained speaker's clips in train", min=0.1, max=1)
    val_frac: float = _f(0.1, "share in val (model selection)", min=0.0, max=0.5)
    test_frac: float = _f(0.2, "share in test (at least one clip per speaker)", min=0.0, max=0.5)
    pitch_spread: float = _f(25.0, "speaker base pitch 50 +- this (espeak units)", min=0, max=50)
    rate_min: float = _f(135.0, "slowest speaker base rate (words per minute)", min=80, max=400)
    rate_max: float = _f(200.0, "fastest speaker base rate (words per minute)", min=80, max=400)
    formant_spread: float = _f(0.06, "speaker vocal-tract scale 1 +- this", min=0, max=0.2)
    pitch_jitter: float = _f(8.0, "per-take pitch and range jitter +- (espeak units)", min=0)
    rate_jitter: float = _f(0.12, "per-take speaking-rate jitter +- (fraction)", min=0, max=0.5)
    formant_jitter: float = _f(0.02, "per-take vocal-tract jitter +- (fraction)", min=0, max=0.1)
    speed_jitter: float = _f(0.08, "per-take speed (tempo and pitch) jitter +-", min=0, max=0.3)
    warp_spread: float = _f(0.05, "speaker VTLP warp 1 +- this (espeak)", min=0, max=0.3)
    piper_spread: float = _f(0.12, "piper speaker vocal-tract and VTLP 1 +- this", min=0, max=0.3)
    warp_jitter: float = _f(0.05, "per-take VTLP warp jitter +- (fraction)", min=0, max=0.2)
    snr_db_min: float = _f(5.0, "lowest speech-to-noise ratio (dB)", min=-10, max=60)
    snr_db_max: float = _f(30.0, "highest speech-to-noise ratio (dB)", min=-10, max=60)
    shift_s: float = _f(
        0.15, "max shift of the word centre from the clip centre (s)", min=0, max=0.5
    )
    gain_db_min: float = _f(-24.0, "quietest speech peak (dBFS)", min=-60, max=0)
    gain_db_max: float = _f(-1.0, "loudest speech peak (dBFS)", min=-60, max=0)
    eq_db: float = _f(6.0, "random EQ: max boost/cut of each band (dB)", min=0, max=24)
    reverb_prob: float = _f(0.4, "share of clips with synthetic room reverberation", min=0, max=1)
    clip_prob: float = _f(0.05, "share of overdriven (clipped) clips", min=0, max=1)
    phone_prob: float = _f(0.1, "share of clips through a phone (300-3,400 Hz, mu-law)", min=0)
    laptop_prob: float = _f(0.2, "share of clips through a laptop mic", min=0, max=1)
    codec_prob: float = _f(0.1, "share of clips through a low-bit-rate codec", min=0, max=1)
    unheard_strength: float = _f(
        1.0, "unheard speakers: jitter/shift/EQ multiplier, SNR -5 dB per unit above 1", min=1
    )

    @classmethod
    def small(cls, **overrides: Any) -> SynthConfig:
        """A quick preset for tests: 8 trained (2 piper) + 2 unheard (1 piper) speakers,
        2 takes (260 clips)."""
        n_unheard = overrides.get("n_unheard", 2)
        small = {"n_speakers": 8, "n_unheard": 2, "piper_speakers": 2}
        small["piper_unheard"] = min(1, n_unheard)
        return cls(**{**small, "takes": 2, "unknown": 4, "silence": 2, **overrides})

    def validate(self) -> None:
        total = self.train_frac + self.val_frac + self.test_frac
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train_frac + val_frac + test_frac must be 1, got {total:g}")
        for lo, hi in (
            ("snr_db_min", "snr_db_max"),
            ("gain_db_min", "gain_db_max"),
            ("rate_min", "rate_max"),
        ):
            if getattr(self, lo) > getattr(self, hi):
                raise ValueError(f"{lo} ({getattr(self, lo)}) is above {hi} ({getattr(self, hi)})")
        if self.phone_prob + self.laptop_prob + self.codec_prob > 1:
            raise ValueError("phone_prob + laptop_prob + codec_prob must be at most 1")
        for part, whole in (("piper_speakers", "n_speakers"), ("piper_unheard", "n_unheard")):
            if getattr(self, part) > getattr(self, whole):
                raise ValueError(f"{part} ({getattr(self, part)}) is above {whole}")

    def key(self) -> str:
        """Cache key: a hash of every field, the generator version and both engines' data."""
        blob = {
            "cfg": dataclasses.asdict(self),
            "format": FORMAT_VERSION,
            "espeak": version("espeakng-loader"),
            "piper": engine_version(),
        }
        return hashlib.sha256(json.dumps(blob, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Speaker:
    """One synthetic voice: its engine, voice and base prosody."""

    name: str
    voice: str  # espeak: e.g. "en-gb-scotland+f3"; piper: "en_US-joe-medium"
    pitch: float  # espeak 0..100 (piper: unused)
    pitch_range: float  # espeak 0..100 (piper: unused)
    rate: float  # espeak: words per minute; piper: VITS length scale (> 1 slower)
    formant: float  # vocal-tract scale (>1: shorter tract, higher formants)
    unheard: bool
    engine: str = "espeak"  # "espeak" | "piper"
    warp: float = 1.0  # VTLP factor of its takes (pitch and formants, tempo kept)
    noise: float = 0.667  # piper: VITS noise scale
    noise_w: float = 0.8  # piper: VITS duration noise scale


def make_speakers(cfg: SynthConfig) -> list[Speaker]:
    """n_speakers + n_unheard speakers: espeak ones with distinct (accent, variant) pairs while
    there are enough, then the piper ones of each group (see module docstring)."""
    from speechforget.data.espeak import available_languages

    rng = np.random.default_rng([cfg.seed, 0])
    langs = [lang for lang in LANGUAGES if lang in available_languages()]
    combos = [f"{lang}+{v}" for lang in langs for v in VARIANTS]
    n_espeak = cfg.n_speakers - cfg.piper_speakers + cfg.n_unheard - cfg.piper_unheard
    pick = iter(rng.choice(len(combos), n_espeak, replace=n_espeak > len(combos)))
    prng = np.random.default_rng([cfg.seed, 3])
    out = []
    for i in range(cfg.n_speakers + cfg.n_unheard):
        unheard = i >= cfg.n_speakers
        first_piper = (
            cfg.n_speakers + cfg.n_unheard - cfg.piper_unheard
            if unheard
            else (cfg.n_speakers - cfg.piper_speakers)
        )
        if i < first_piper:
            spk = Speaker(
                name=f"spk{i:02d}",
                voice=combos[next(pick)],
                pitch=50 + cfg.pitch_spread * rng.uniform(-1, 1),
                pitch_range=rng.uniform(25, 75),
                rate=rng.uniform(cfg.rate_min, cfg.rate_max),
                formant=1 + cfg.formant_spread * rng.uniform(-1, 1),
                unheard=unheard,
                warp=1 + cfg.warp_spread * prng.uniform(-1, 1),
            )
        else:
            spk = Speaker(
                name=f"spk{i:02d}",
                voice="en_US-joe-medium",
                pitch=50.0,
                pitch_range=50.0,
                rate=prng.uniform(0.8, 1.3),
                formant=1 + cfg.piper_spread * prng.uniform(-1, 1),
                unheard=unheard,
                engine="piper",
                warp=1 + cfg.piper_spread * prng.uniform(-1, 1),
                noise=prng.uniform(0.3, 0.9),
                noise_w=prng.uniform(0.4, 1.1),
            )
        out.append(spk)
    return out
