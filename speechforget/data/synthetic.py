"""The built-in offline data set: synthetic speech commands.

The 12 SUPERB keyword-spotting labels spoken by synthetic speakers of two engines:
espeak-ng, a formant synthesiser (English accents x voice variants x pitch, range,
rate and vocal-tract offsets), and piper, a neural (VITS) one with its en_US-joe-medium
voice (one voice, so each piper speaker has its own tempo, noise scales, vocal-tract
length and pitch). Each take has its own jitter and speed, then goes through the
recording chain of augment.py (VTLP pitch/formant shift, rooms, noise, mic, phone,
laptop and codec artefacts, gain). Clips are 1 s at 16 kHz. `n_unheard` extra speakers,
in split "unheard", are never trained on. The last `piper_speakers` of the trained
speakers and the last `piper_unheard` of the unheard ones are piper voices.

    data = build_synthetic()               # cached under <cache>/synthetic/ (speechforget.store)
    data = build_synthetic(SynthConfig.small())

Synthesis always runs in a fresh subprocess, in a fixed order: espeak-ng and
onnxruntime keep internal random state from call to call, so only a fresh process
repeats their bytes. The piper words are rendered in a second process (data/piper.py)
while espeak renders its own, so the two cores are both used.

The speakers and the build's settings are in data/synth_config.py (re-exported here).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from speechforget import progress
from speechforget.data.audio import cut_silence, resample, save_wav, to_int16
from speechforget.data.augment import augment
from speechforget.data.dataset import (
    CLIP_SAMPLES,
    KEYWORDS,
    KWS_LABELS,
    SAMPLE_RATE,
    SpeechData,
)
from speechforget.data.piper import PIPER_RATE
from speechforget.data.synth_config import (  # noqa: F401 (re-exported)
    FORMAT_VERSION,
    LANGUAGES,
    OTHER_WORDS,
    VARIANTS,
    Speaker,
    SynthConfig,
    make_speakers,
)
from speechforget.store import Store

BUILD_STAGE = "building the built-in data"

SILENCE, UNKNOWN = KWS_LABELS.index("_silence_"), KWS_LABELS.index("_unknown_")
CHUNK = 128  # clips augmented together (part of the format: each batch has its generator)


def _clip_plan(cfg: SynthConfig, rng: np.random.Generator) -> list[tuple[int, str, int]]:
    """(keyword index, word, take) of one speaker's clips, in synthesis order."""
    plan = [(k, w, t) for k, w in enumerate(KEYWORDS) for t in range(cfg.takes)]
    words = rng.choice(OTHER_WORDS, cfg.unknown, replace=cfg.unknown > len(OTHER_WORDS))
    for i, w in enumerate(words):
        plan.append((UNKNOWN, str(w), int(np.sum(words[:i] == w))))
    plan += [(SILENCE, "", t) for t in range(cfg.silence)]
    return plan


def _assign_splits(keyword: np.ndarray, cfg: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """Splits of one trained speaker's clips: exact shares, >= 1 train clip per keyword, >= 1 test."""
    n = len(keyword)
    n_test = max(1, round(cfg.test_frac * n))
    n_val = round(cfg.val_frac * n)
    order = rng.permutation(n)
    first = order[np.unique(keyword[order], return_index=True)[1]]  # one random clip per label
    n_train = n - n_test - n_val - len(first)
    if n_train < 0:
        raise ValueError(
            f"{n} clips per speaker cannot give every label a train clip and "
            f"{n_test} test clips; raise takes or train_frac"
        )
    out = np.empty(n, dtype="U7")
    out[first] = "train"
    out[order[~np.isin(order, first)]] = ["train"] * n_train + ["val"] * n_val + ["test"] * n_test
    return out


def synthesize(cfg: SynthConfig) -> dict[str, np.ndarray]:
    """Make every clip. Call in a fresh process (engine state); see `build_synthetic`.

    Returns arrays: waves (N, 16000) int16 (value / 32768 = float wave), keyword,
    speaker, take (N,) int64, split, word (N,) str, speaker_names (S,) str.
    """
    from speechforget.data.espeak import Espeak

    cfg.validate()
    speakers = make_speakers(cfg)
    jobs, rows, split, strength = [], [], [], []  # jobs: (speaker, word, jitter) per clip
    for s, spk in enumerate(speakers):
        rng = np.random.default_rng([cfg.seed, 1, s])
        plan = _clip_plan(cfg, rng)
        k = cfg.unheard_strength if spk.unheard else 1.0
        for kw, word, take in plan:
            jobs.append((spk, word, rng.uniform(-1, 1, 6) * k if word else None))
            rows.append((kw, s, take, word))
        kws = np.array([p[0] for p in plan])
        split += ["unheard"] * len(plan) if spk.unheard else list(_assign_splits(kws, cfg, rng))
        strength += [k] * len(plan)
    piper = [
        (i, _piper_args(spk, cfg, jit))
        for i, (spk, word, jit) in enumerate(jobs)
        if word and spk.engine == "piper"
    ]
    child = _start_piper([(jobs[i][1], *a) for i, a in piper], cfg.seed) if piper else None
    speech: list[np.ndarray | None] = [None] * len(jobs)
    tts = Espeak.get(cfg.seed)  # seeds its breath-noise generator (fresh process)
    for i, (spk, word, jit) in enumerate(jobs):
        if word and spk.engine == "espeak":
            speech[i] = _finish(
                _espeak_say(tts, spk, word, cfg, jit), tts.sample_rate, jobs[i], cfg
            )
        if i % 200 == 0:
            _tick(0.4 * i / len(jobs))
    # each batch of CHUNK clips is augmented with its own generator: the batches without
    # piper words while the piper child still runs, the others after it
    k = np.array(strength)
    warp = np.array(
        [spk.warp * (1 + cfg.warp_jitter * jit[5]) if word else 1.0 for spk, word, jit in jobs]
    )
    waves = np.zeros((len(jobs), CLIP_SAMPLES), np.int16)
    late = {i // CHUNK for i, _ in piper}
    order = [c for c in range(-(-len(jobs) // CHUNK)) if c not in late] + sorted(late)
    for n, c in enumerate(order):
        _tick(0.4 + 0.55 * n / len(order))
        if c in late and child is not None:
            for (i, _), x in zip(piper, _finish_piper(*child)):
                speech[i] = _finish(x, PIPER_RATE, jobs[i], cfg)
            child = None
        s = slice(c * CHUNK, (c + 1) * CHUNK)
        rng = np.random.default_rng([cfg.seed, 2, c])
        waves[s] = to_int16(augment(speech[s], cfg, k[s], rng, warp=warp[s]))
    return {
        "waves": waves,
        "keyword": np.array([r[0] for r in rows], np.int64),
        "speaker": np.array([r[1] for r in rows], np.int64),
        "take": np.array([r[2] for r in rows], np.int64),
        "word": np.array([r[3] for r in rows], dtype="U16"),
        "split": np.array(split, dtype="U7"),
        "speaker_names": np.array([s.name for s in speakers]),
    }


_TO_PARENT = False  # set in the child process (main): progress lines go to its stderr


def _tick(fraction: float) -> None:
    if _TO_PARENT:
        sys.stderr.write(progress.child_line(BUILD_STAGE, fraction))
        sys.stderr.flush()


def _espeak_say(tts: Any, spk: Speaker, word: str, cfg: SynthConfig, jit: np.ndarray) -> np.ndarray:
    """One espeak take of `word` with jitter `jit` (6,): (S,) float32 at tts.sample_rate."""
    pitch = np.clip(spk.pitch + cfg.pitch_jitter * jit[0], 0, 100)
    prange = np.clip(spk.pitch_range + cfg.pitch_jitter * jit[1], 0, 100)
    rate = np.clip(spk.rate * (1 + cfg.rate_jitter * jit[2]), 80, 450)
    return tts.say(word, spk.voice, round(rate), round(pitch), round(prange))


def _piper_args(spk: Speaker, cfg: SynthConfig, jit: np.ndarray) -> tuple[float, float, float]:
    """(length scale, noise scale, noise-w scale) of one piper take with jitter `jit` (6,)."""
    length = spk.rate * (1 + cfg.rate_jitter * jit[2])
    return (
        round(float(length), 4),
        round(float(spk.noise * (1 + 0.25 * jit[0])), 4),
        round(float(spk.noise_w * (1 + 0.25 * jit[1])), 4),
    )


def _start_piper(items: list[tuple], seed: int) -> tuple[subprocess.Popen, Path]:
    """Start rendering the piper words [(word, length, noise, noise_w), ...] in a child."""
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="sf_piper_")) / "words.npz"
    cmd = [sys.executable, "-m", "speechforget.data.piper", "--seed", str(seed), "--out", str(out)]
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_child_env()
    )
    proc.stdin.write(json.dumps(items))
    proc.stdin.close()
    return proc, out


def _finish_piper(proc: subprocess.Popen, out: Path) -> list[np.ndarray]:
    err = proc.stderr.read()
    if proc.wait() != 0 or not out.exists():
        raise RuntimeError(f"piper synthesis failed (exit {proc.returncode}):\n{err[-3000:]}")
    with np.load(out) as z:
        words = np.split(z["audio"], z["ends"][:-1])
    out.unlink()
    out.parent.rmdir()
    return words


def _finish(x: np.ndarray, sr: int, job: tuple, cfg: SynthConfig) -> np.ndarray:
    """A rendered take, trimmed and resampled to 16 kHz with its vocal tract and speed:
    (L,) float32."""
    spk, word, jit = job
    if not x.size or not np.abs(x).max():
        raise RuntimeError(f"{spk.engine} produced no audio for {word!r} with voice {spk.voice}")
    x = cut_silence(x, margin=220)  # 10 ms margins at the engines' 22,050 Hz
    formant = spk.formant * (1 + cfg.formant_jitter * jit[3]) * (1 + cfg.speed_jitter * jit[4])
    # reading the samples as if recorded at sr * formant scales pitch, formants and tempo
    src = int(round(sr * formant / 50)) * 50
    return resample(x, src, SAMPLE_RATE)


def _child_env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])  # so the child finds this package
    paths = [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _load(path: Path, cfg: SynthConfig) -> SpeechData:
    # the piper speakers are one voice made different: not speaker-ID classes
    piper = tuple(s.name for s in make_speakers(cfg) if s.engine == "piper")
    with np.load(path, allow_pickle=False) as z:
        return SpeechData(
            waves=z["waves"].astype(np.float32) / np.float32(32768.0),
            keyword=z["keyword"],
            speaker=z["speaker"],
            take=z["take"],
            split=z["split"],
            word=z["word"],
            keyword_names=list(KWS_LABELS),
            speaker_names=z["speaker_names"].tolist(),
            name="synthetic",
            not_voices=piper,
        )


def build_synthetic(
    cfg: SynthConfig | None = None, cache_dir: Store | str | Path | None = None
) -> SpeechData:
    """The synthetic data set for `cfg` (default SynthConfig()), from the disk cache when there.

    A cache miss synthesises in a fresh `python -m speechforget.data.synthetic` process
    that writes `<cache>/synthetic/<key>.npz` atomically; the result is then loaded from
    that file, so a fresh build and a cache hit give identical arrays.
    """
    cfg = cfg or SynthConfig()
    cfg.validate()
    path = Store.of(cache_dir).path("synthetic", cfg.key(), ".npz")
    if path.exists():
        try:
            return _load(path, cfg)
        except (OSError, ValueError, KeyError):  # a damaged entry: build it again
            path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    env = _child_env()
    cmd = [
        sys.executable,
        "-m",
        "speechforget.data.synthetic",
        "--out",
        str(path),
        "--config",
        json.dumps(dataclasses.asdict(cfg)),
    ]
    progress.report(BUILD_STAGE, 0.0)
    with subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    ) as proc:
        # its progress lines are relayed to our listeners as they come; the rest is kept
        errors = [ln for ln in map(progress.relay, proc.stderr) if ln is not None]
        code = proc.wait()
    if code != 0 or not path.exists():
        raise RuntimeError(f"synthetic data build failed (exit {code}):\n{''.join(errors)[-3000:]}")
    progress.report(BUILD_STAGE, 1.0)
    return _load(path, cfg)


def write_wavs(data: SpeechData, out_dir: str | Path) -> Path:
    """Write `<out>/<split>/<keyword>/<speaker>_<word or silence>_<take>.wav` (16-bit PCM,
    16 kHz) and `<out>/metadata.csv` (path, keyword, word, speaker, take, split)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(len(data)):
        kw = data.keyword_names[data.keyword[i]] if data.keyword[i] >= 0 else "unlabelled"
        spk = data.speaker_names[data.speaker[i]] if data.speaker[i] >= 0 else "unknown"
        word, take, split = str(data.word[i]), int(data.take[i]), str(data.split[i])
        rel = Path(split) / kw / f"{spk}_{word or 'silence'}_{take}.wav"
        save_wav(out / rel, data.waves[i])
        rows.append((rel.as_posix(), kw, word, spk, take, split))
    with open(out / "metadata.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "keyword", "word", "speaker", "take", "split"])
        w.writerows(rows)
    return out


def main(argv: list[str] | None = None) -> None:
    """Child-process entry: synthesise one config into an .npz, written atomically."""
    ap = argparse.ArgumentParser(description="build the synthetic speech commands into an .npz")
    ap.add_argument("--out", required=True, help="output .npz path")
    ap.add_argument("--config", default="{}", help="SynthConfig fields as JSON")
    args = ap.parse_args(argv)
    cfg = SynthConfig(**json.loads(args.config))
    global _TO_PARENT
    _TO_PARENT = True
    arrays = synthesize(cfg)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
