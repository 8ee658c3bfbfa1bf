"""How well a keyword model hears voices of an engine it never trained on: flite.

flite (CMU's small diphone/cluster-unit synthesiser) is used here for validation ONLY: no
built-in data, augmentation or tuning step uses it. The script speaks the 10 keywords (and,
with --unknown, a few words the models never heard, label _unknown_) with each flite voice
at a few speaking rates, clean (no noise, no room), and prints per-voice and total accuracy.

    python scripts/eval_other_engine.py                        # the app's kws original
    python scripts/eval_other_engine.py --model PATH --voices kal,slt --stretch 1.0

flite is not a Python package: install it with `apt-get install flite` (Debian/Ubuntu) or
`brew install flite` (macOS); `flite -lv` lists its voices.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

VOICES = ("kal", "kal16", "awb", "rms", "slt")
# words no built-in data set speaks (not in OTHER_WORDS either): their label is _unknown_
NEW_WORDS = ("apple", "window", "pencil", "purple", "maybe", "button")


def flite_voices() -> list[str]:
    """The voices this flite offers (`flite -lv`); [] when flite is missing."""
    if shutil.which("flite") is None:
        return []
    out = subprocess.run(["flite", "-lv"], capture_output=True, text=True).stdout
    return out.split(":", 1)[-1].split()


def speak(
    word: str, voice: str, stretch: float, folder: Path, as_uploaded: bool = False
) -> np.ndarray:
    """`word` by flite `voice` at duration stretch `stretch`: (16000,) float32 at 16 kHz,
    prepared like the built-in data's takes, or (as_uploaded) read from flite's file the
    way the app reads an upload (clip_check.load_clip)."""
    from speechforget.clip_check import load_clip
    from speechforget.data.audio import cut_silence, fit_clip, load_audio

    path = folder / f"{voice}_{word}_{stretch}.wav"
    cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch}"]
    subprocess.run([*cmd, "-t", word, "-o", str(path)], check=True, capture_output=True)
    if as_uploaded:
        return load_clip(path)
    x = load_audio(path)
    x = cut_silence(x)  # like the built-in data's takes
    return fit_clip(0.5 * x / np.abs(x).max())


def clips(voices: list[str], stretches: list[float], unknown: bool, as_uploaded: bool = False):
    """(waves (N, 16000), labels (N,) as KWS_LABELS indices, voice (N,), word (N,))."""
    from speechforget.data.dataset import KEYWORDS, KWS_LABELS

    words = [*KEYWORDS, *(NEW_WORDS if unknown else ())]
    label = {
        w: KWS_LABELS.index(w) if w in KEYWORDS else KWS_LABELS.index("_unknown_") for w in words
    }
    waves, y, who, said = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for v in voices:
            for s in stretches:
                for w in words:
                    waves.append(speak(w, v, s, Path(tmp), as_uploaded))
                    y.append(label[w])
                    who.append(v)
                    said.append(w)
    return np.stack(waves), np.array(y), np.array(who), np.array(said)


def evaluate(
    model_path: str | Path,
    voices: list[str],
    stretches: list[float],
    unknown: bool,
    as_uploaded: bool = False,
) -> dict:
    """Accuracy of the checkpoint at model_path on flite clips: {voice: acc, ..., "total": acc}."""
    from speechforget.engine import predict
    from speechforget.models import load_checkpoint
    from speechforget.training.recipe import featurize

    model, meta = load_checkpoint(model_path)
    if meta.get("task") != "kws":
        raise SystemExit(f"{model_path} is a {meta.get('task')} model; give a keyword (kws) model")
    waves, y, who, said = clips(voices, stretches, unknown, as_uploaded)
    logits, _ = predict(model, featurize(model, waves.astype(np.float32)), "cpu")
    pred = logits.argmax(1).numpy()
    names = meta["class_names"]
    out = {v: float((pred[who == v] == y[who == v]).mean()) for v in voices}
    out["total"] = float((pred == y).mean())
    out["n"] = len(y)
    out["errors"] = [f"{v} '{w}' -> {names[p]}" for v, w, p, t in zip(who, said, pred, y) if p != t]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    from speechforget.config import default_backbone

    shipped = ROOT / "assets" / f"{default_backbone('kws')}_kws"
    ap.add_argument("--model", default=str(shipped), help="kws checkpoint (default: the app's)")
    ap.add_argument("--voices", default=",".join(VOICES), help="comma-separated flite voices")
    ap.add_argument("--stretch", default="0.85,1.0,1.2", help="flite duration stretches")
    ap.add_argument("--unknown", action="store_true", help=f"also say {', '.join(NEW_WORDS)}")
    ap.add_argument(
        "--as-uploaded",
        action="store_true",
        help="read flite's files as the app reads an upload (default: prepared like the data)",
    )
    ap.add_argument("--json", default=None, help="also write the result to this file")
    args = ap.parse_args(argv)
    have = flite_voices()
    if not have:
        print(
            "flite is not installed: `apt-get install flite` (Debian/Ubuntu) or "
            "`brew install flite` (macOS), then run this again",
            file=sys.stderr,
        )
        return 2
    voices = [v for v in args.voices.split(",") if v]
    missing = [v for v in voices if v not in have]
    if missing:
        print(f"flite has no voice {', '.join(missing)}; it has {', '.join(have)}", file=sys.stderr)
        return 2
    stretches = [float(s) for s in args.stretch.split(",")]
    res = evaluate(args.model, voices, stretches, args.unknown, args.as_uploaded)
    per = res["n"] // len(voices)
    for v in voices:
        print(f"{v:>6}: {res[v]:6.1%}  ({per} clips)")
    print(f" total: {res['total']:6.1%}  ({res['n']} clips, model {args.model})")
    if res["errors"]:
        print("errors: " + "; ".join(res["errors"]))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
