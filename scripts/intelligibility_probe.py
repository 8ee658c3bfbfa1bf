"""How well a recogniser trained on real speech understands the built-in keyword clips (and,
for comparison, another speech engine's voices): a probe for issue 11, not part of the app.

    pip install pocketsphinx            # its en-us acoustic model ships inside the wheel
    python scripts/intelligibility_probe.py [--splits test unheard] [--flite]

Decodes each clip of the ten keywords with pocketsphinx restricted to a grammar of the ten
words, and prints the share it heard as the clip's own word: per split, per speaker (worst
first) and, with --flite (`apt-get install flite`; validation only, never training data),
for flite's voices. Measured 2026-12-03: flite 38/40, built-in test 203/373, unheard
204/400; per speaker 0-90%. Whoever uses it to choose training voices uses `--splits train`:
the test and unheard clips stay for reporting.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
FLITE_VOICES = ("kal16", "awb", "rms", "slt")
PAD = np.zeros(3200)  # 0.2 s of silence on either side


class Recogniser:
    """pocketsphinx with a grammar of WORDS: one of them, or '' for no hypothesis."""

    def __init__(self, folder: Path) -> None:
        from pocketsphinx import Decoder

        gram = folder / "keywords.gram"
        gram.write_text(f"#JSGF V1.0;\ngrammar kw;\npublic <w> = {' | '.join(WORDS)} ;\n")
        self.dec = Decoder(jsgf=str(gram), loglevel="FATAL")

    def __call__(self, wave: np.ndarray, sr: int = 16000) -> str:
        if sr != 16000:
            from scipy.signal import resample_poly

            wave = resample_poly(wave, 16000, sr)
        pcm = np.clip(np.concatenate([PAD, wave, PAD]), -1, 1)
        self.dec.start_utt()
        self.dec.process_raw((pcm * 32767).astype(np.int16).tobytes(), full_utt=True)
        self.dec.end_utt()
        hyp = self.dec.hyp()
        return hyp.hypstr if hyp else ""


def builtin(recognise: Recogniser, splits: list[str]) -> None:
    from speechforget.config import DataConfig
    from speechforget.data import load_source

    t = load_source(DataConfig()).task("kws")
    names = t.data.speaker_names
    per_speaker = collections.defaultdict(lambda: [0, 0])
    for split in splits:
        ok = n = 0
        for i in t.where(split):
            word = t.class_names[t.y[i]]
            if word not in WORDS:
                continue
            hit = recognise(t.waves[i].astype(np.float64)) == word
            ok, n = ok + hit, n + 1
            counts = per_speaker[names[t.speaker[i]]]
            counts[0], counts[1] = counts[0] + hit, counts[1] + 1
        print(f"built-in {split}: {ok}/{n} ({100 * ok / max(n, 1):.1f}%)")
    ranked = sorted(per_speaker.items(), key=lambda kv: kv[1][0] / kv[1][1])
    print("per speaker, worst first:", ", ".join(f"{s} {a}/{b}" for s, (a, b) in ranked))


def flite(recognise: Recogniser, folder: Path) -> None:
    ok = n = 0
    for voice in FLITE_VOICES:
        for word in WORDS:
            wav = folder / f"{voice}_{word}.wav"
            subprocess.run(["flite", "-voice", voice, "-t", word, "-o", str(wav)], check=True)
            wave, sr = sf.read(wav)
            ok, n = ok + (recognise(wave, sr) == word), n + 1
    print(f"flite ({', '.join(FLITE_VOICES)}): {ok}/{n} ({100 * ok / n:.1f}%)")


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--splits", nargs="+", default=["test", "unheard"])
    ap.add_argument("--flite", action="store_true", help="also flite's voices (apt: flite)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        recognise = Recogniser(Path(tmp))
        if args.flite:
            flite(recognise, Path(tmp))
        builtin(recognise, args.splits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
