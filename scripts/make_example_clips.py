"""Write the app's example clips (assets/clips/*.wav) from the built-in data.

    python scripts/make_example_clips.py

A few 1 s, 16 kHz, 16-bit clips (about 32 kB each): the app's default forget choice
('stop') from a training speaker, one from a speaker no model heard, and retained
keywords, so a visitor can test forgetting without a microphone.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from speechforget.config import DataConfig  # noqa: E402
from speechforget.data import load_source  # noqa: E402
from speechforget.data.audio import save_wav  # noqa: E402

# (keyword, split) of each example, and a note for its file name
WANTED = [
    ("stop", "train", "trained"),
    ("stop", "unheard", "new_speaker"),
    ("yes", "train", "trained"),
    ("go", "test", "test"),
    ("left", "unheard", "new_speaker"),
]


def main(out: Path = ROOT / "assets" / "clips") -> None:
    data = load_source(DataConfig())
    out.mkdir(parents=True, exist_ok=True)
    for word, split, note in WANTED:
        rows = [i for i in range(len(data)) if data.word[i] == word and data.split[i] == split]
        i = rows[len(rows) // 3]
        spk = data.speaker_names[data.speaker[i]]
        path = save_wav(out / f"{word}_{spk}_{note}.wav", data.waves[i])
        print(path.relative_to(ROOT), f"'{word}' by {spk} ({split})")


if __name__ == "__main__":
    main()
