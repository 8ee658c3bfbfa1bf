"""A small ctypes driver for espeak-ng, the formant speech synthesiser.

The shared library and its voice data ship inside the `espeakng-loader` wheel,
so nothing is needed from the system. espeak-ng keeps global state (voice,
parameters and an internal random generator that is seeded from the clock unless
`espeak_ng_SetRandSeed` is called, and then advances from call to call: voices
with breath noise (f2, f3, f5, ...) depend on it. So: one `Espeak` per process,
seeded at start, and for identical samples the same sequence of calls in a fresh
process (see `synthetic.build_synthetic`).

    tts = Espeak()
    wave = tts.say("stop", voice="en-us+f3", rate=160, pitch=60)  # (S,) float32 at 22,050 Hz
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

AUDIO_OUTPUT_SYNCHRONOUS = 2
POS_CHARACTER = 1
CHARS_UTF8 = 1
ENDPAUSE = 0x1000
# espeak_PARAMETER values (speak_lib.h)
PARAM_RATE, PARAM_VOLUME, PARAM_PITCH, PARAM_RANGE, PARAM_WORDGAP = 1, 2, 3, 4, 7

_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)
_INSTANCE: list[Espeak] = []  # the process-wide instance (library state is global)


def data_path() -> Path:
    """The espeak-ng-data folder shipped by espeakng-loader."""
    import espeakng_loader

    return Path(espeakng_loader.get_data_path())


def available_languages() -> list[str]:
    """English language/accent names in the shipped data, e.g. ['en', 'en-029', 'en-us', ...]."""
    names = [p.name.lower() for p in (data_path() / "lang" / "gmw").iterdir()]
    return sorted(n for n in names if n.startswith("en") and n != "en-shaw")


def available_variants() -> list[str]:
    """Voice variant names usable as '<language>+<variant>' (f1..f5, m1..m8, ...)."""
    return sorted(p.name for p in (data_path() / "voices" / "!v").iterdir() if p.is_file())


class Espeak:
    """The espeak-ng library, initialised for synchronous synthesis into memory.

    sample_rate: native output rate in Hz (22,050 for the shipped voices).
    """

    def __init__(self, seed: int = 0) -> None:
        if _INSTANCE:
            raise RuntimeError("espeak-ng state is global: use Espeak.get() for the one instance")
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_path()).encode(), 0)
        if rate <= 0:
            raise RuntimeError(f"espeak_Initialize failed (returned {rate}); data at {data_path()}")
        self.lib, self.sample_rate = lib, int(rate)
        self._chunks: list[np.ndarray] = []
        self._callback = _CALLBACK(self._collect)  # keep a reference: ctypes would free it
        lib.espeak_SetSynthCallback(self._callback)
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed(seed)  # else the breath-noise generator is seeded by the clock
        self._voice: str | None = None
        _INSTANCE.append(self)

    @classmethod
    def get(cls, seed: int = 0) -> Espeak:
        """The process-wide instance, created (and its noise generator seeded) on first use."""
        return _INSTANCE[0] if _INSTANCE else cls(seed)

    def _collect(self, wav: ctypes.POINTER(ctypes.c_short), n: int, events: int) -> int:
        if wav and n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0  # 0 = continue synthesis

    def set_voice(self, voice: str) -> None:
        """Select a voice such as 'en-us', 'en-gb-scotland+m3' (language[+variant])."""
        if voice != self._voice:
            err = self.lib.espeak_SetVoiceByName(voice.encode())
            if err != 0:
                raise ValueError(
                    f"unknown espeak voice '{voice}'; languages: {', '.join(available_languages())}"
                    f"; variants: {', '.join(available_variants()[:20])}, ..."
                )
            self._voice = voice

    def say(
        self,
        text: str,
        voice: str = "en-us",
        rate: int = 175,
        pitch: int = 50,
        pitch_range: int = 50,
        volume: int = 100,
        word_gap: int = 0,
    ) -> np.ndarray:
        """Synthesise `text`; returns (S,) float32 in [-1, 1] at `self.sample_rate`.

        rate: words per minute (80..450); pitch and pitch_range: 0..100 (espeak units);
        volume: 0..200; word_gap: extra pause between words in units of 10 ms.
        """
        self.set_voice(voice)
        for param, value in (
            (PARAM_RATE, rate),
            (PARAM_PITCH, pitch),
            (PARAM_RANGE, pitch_range),
            (PARAM_VOLUME, volume),
            (PARAM_WORDGAP, word_gap),
        ):
            self.lib.espeak_SetParameter(param, int(value), 0)
        data = text.encode("utf-8") + b"\0"
        self._chunks = []
        err = self.lib.espeak_Synth(
            data, len(data), 0, POS_CHARACTER, 0, CHARS_UTF8 | ENDPAUSE, None, None
        )
        if err != 0:
            raise RuntimeError(f"espeak_Synth failed with error {err} for {text!r}")
        self.lib.espeak_Synchronize()
        out = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        self._chunks = []
        return out.astype(np.float32) / 32768.0
