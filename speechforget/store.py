"""Everything speechforget keeps on disk, in one folder: the built data sets, decoded audio,
featurized clips, the original model's outputs, trained originals and gold retrains.

    store = Store.default()                  # $SPEECHFORGET_CACHE, else ~/.cache/speechforget
    store = Store("/tmp/fresh")              # a run or a test pointed at another folder
    path = store.path("gold", key, ".json")  # <root>/gold/<key>.json
    (x,) = store.rows("features", {"spec": ..., "data": ...}, n, compute)
    arrays = store.arrays("hub", {"repo": ...}, build)

This module is the only reader of $SPEECHFORGET_CACHE and imports nothing of the package.
Every write goes to a temporary name first and is renamed into place, so a reader (another
process sharing the folder) never sees half a file; a read-only disk degrades to no cache.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENV = "SPEECHFORGET_CACHE"
Rows = tuple[np.ndarray, ...]


def digest(key: object, length: int = 24) -> str:
    """A stable hex digest of a JSON-able key (dict order does not matter)."""
    text = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Store:
    """A cache folder; `kind` names a sub-folder (gold, originals, features, ...)."""

    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root).expanduser())

    @classmethod
    def default(cls) -> Store:
        """$SPEECHFORGET_CACHE, else ~/.cache/speechforget (read on every call)."""
        return cls(os.environ.get(ENV) or Path.home() / ".cache" / "speechforget")

    @classmethod
    def of(cls, store: Store | str | Path | None) -> Store:
        """`store` itself, a Store for a folder, or the default for None."""
        if isinstance(store, Store):
            return store
        return cls.default() if store is None else cls(store)

    def dir(self, kind: str) -> Path:
        return self.root / kind

    def path(self, kind: str, name: str, suffix: str = "") -> Path:
        return self.root / kind / f"{name}{suffix}"

    # ---- arrays that never change for the same inputs ----------------------------------------

    def rows(
        self,
        kind: str,
        key: dict,
        n: int,
        compute: Callable[[slice], Rows],
        probe: int = 4,
        rtol: float = 1e-4,
        atol: float = 1e-4,
    ) -> Rows:
        """compute(slice(0, n)) -> arrays of n rows each, from the store when an entry for `key`
        exists and its first `probe` rows match compute(slice(0, probe)): a change in the
        featurizer or the model that the key missed can never serve stale data."""
        path = self.path(kind, digest(key), ".npz")
        head = compute(slice(0, min(probe, n)))
        cached = _read_npz(path, len(head))
        if cached is not None and all(
            a.shape[0] == n and np.allclose(a[: len(h)], h, rtol=rtol, atol=atol)
            for a, h in zip(cached, head)
        ):
            return cached
        arrays = compute(slice(0, n))
        self._write_npz(path, {f"a{i}": a for i, a in enumerate(arrays)})
        return arrays

    def arrays(self, kind: str, key: dict, build: Callable[[], dict[str, np.ndarray]]) -> dict:
        """build() once per key, kept as an npz file (read back without pickle)."""
        path = self.path(kind, digest(key), ".npz")
        if not path.exists():
            built = build()
            self._write_npz(path, built)
            if not path.exists():
                return built
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}

    def _write_npz(self, path: Path, arrays: dict[str, np.ndarray]) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, **arrays)
            tmp.replace(path)
        except OSError:  # a read-only disk: work without the cache
            pass


def _read_npz(path: Path, count: int) -> Rows | None:
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            return tuple(f[f"a{i}"] for i in range(count))
    except (OSError, ValueError, KeyError):  # damaged or foreign entry: recompute
        return None
