"""The one cache folder: rows checked on read, arrays kept without pickle, and a store
pointed at a folder without touching the environment."""

from __future__ import annotations

import numpy as np

from speechforget.store import ENV, Store


def test_rows_trust_only_matching_entries(tmp_path):
    cached_rows = Store(tmp_path).rows
    calls = []

    def compute(scale):
        def rows(sl):
            calls.append(sl)
            return (scale * np.arange(10.0)[sl], np.ones((10, 2))[sl])

        return rows

    a, b = cached_rows("t", {"k": 1}, 10, compute(1.0))
    assert a.shape == (10,) and b.shape == (10, 2) and len(calls) == 2  # probe + all
    again, _ = cached_rows("t", {"k": 1}, 10, compute(1.0))
    assert np.array_equal(again, a) and len(calls) == 3  # probe only: served from disk
    changed, _ = cached_rows("t", {"k": 1}, 10, compute(2.0))  # same key, different values
    assert changed[5] == 10.0 and len(calls) == 5  # the probe caught it: recomputed


def test_arrays_are_built_once_per_key(tmp_path):
    store, calls = Store(tmp_path), []

    def build():
        calls.append(1)
        return {"w": np.arange(4, dtype=np.int16), "s": np.array(["a", "bb"])}

    first = store.arrays("k", {"a": 1}, build)
    again = store.arrays("k", {"a": 1}, build)
    assert len(calls) == 1 and np.array_equal(first["w"], again["w"])
    assert again["s"].tolist() == ["a", "bb"]
    store.arrays("k", {"a": 2}, build)
    assert len(calls) == 2 and len(list((tmp_path / "k").glob("*.npz"))) == 2


def test_default_reads_the_environment_and_a_folder_overrides_it(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, str(tmp_path / "env"))
    assert Store.default().root == tmp_path / "env"
    assert Store.of(None).root == tmp_path / "env"
    assert Store.of(tmp_path / "other").root == tmp_path / "other"
    mine = Store(tmp_path / "mine")
    assert (
        Store.of(mine) is mine and mine.path("gold", "k", ".json") == tmp_path / "mine/gold/k.json"
    )


def test_only_the_store_reads_the_cache_variable():
    from pathlib import Path

    package = Path(__file__).resolve().parents[1] / "speechforget"
    readers = sorted(
        str(p.relative_to(package)) for p in package.rglob("*.py") if f'"{ENV}"' in p.read_text()
    )
    assert readers == ["store.py"], readers
