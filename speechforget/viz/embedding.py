"""2-D maps of the embeddings before and after unlearning (UMAP, PCA as a fallback).

Both maps come from one joint fit on the stacked embeddings, so they share axes
and a clip that did not move stays in place. UMAP runs in a worker process of its
own: its first fit spends ~10 s compiling numba code while holding the GIL, which
would freeze a web server in the same process. `warm_up_umap()` starts that worker
and its compilation in the background at app start; until it is done
`project_2d(method="auto")` draws PCA instead of making the user wait; with `fit_wait_s`
it also draws PCA when the fit itself takes longer (`UMAP_COMPUTING`): the fit goes on,
and the same call again later (same embeddings and seed) picks up its result. Below
PRECOMPUTED_MAX points the neighbour graph comes from an exact distance matrix
(faster than nearest-neighbour descent and its JIT).
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_for

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from speechforget.viz.style import class_colors, finish

PRECOMPUTED_MAX = 4000
UMAP_ARGS = dict(n_neighbors=15, min_dist=0.1, n_epochs=200)
FIT_TIMEOUT_S = 120.0
FITS_KEPT = 16  # fits kept by their inputs: a later call with the same ones reuses it
UMAP_COMPUTING = "PCA (UMAP still computing)"


class _UmapWorker:
    """One worker process per app process (numba compiles once per process). States:
    idle, warming, ready, failed (then PCA is used and `error` says why)."""

    def __init__(self) -> None:
        self.state, self.error = "idle", ""
        self.lock = threading.Lock()
        self.pool: ProcessPoolExecutor | None = None
        self.warm: Future | None = None
        self.fits: OrderedDict[tuple, Future] = OrderedDict()

    def start(self) -> Future:
        with self.lock:
            if self.pool is None:
                self.state = "warming"
                ctx = multiprocessing.get_context(
                    "spawn"
                )  # no fork: torch/OpenMP threads live here
                self.pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
                self.warm = self.pool.submit(_warm_up, os.getpid())
                self.warm.add_done_callback(self._warmed)
            return self.warm

    def _warmed(self, fut: Future) -> None:
        err = fut.exception()
        self.state, self.error = (
            ("failed", f"{type(err).__name__}: {err}") if err else ("ready", "")
        )

    def fit_async(self, x: np.ndarray, seed: int) -> Future:
        """The fit of (x, seed): one in progress or done for the same inputs, else a new one."""
        self.start()
        key = (hashlib.sha1(x.tobytes()).hexdigest(), x.shape, seed)
        with self.lock:
            fut = self.fits.get(key)
            if fut is None or (fut.done() and fut.exception() is not None):
                fut = self.fits[key] = self.pool.submit(_umap_fit, x, seed)
                while len(self.fits) > FITS_KEPT:
                    self.fits.popitem(last=False)
            self.fits.move_to_end(key)
            return fut

    def fit(self, x: np.ndarray, seed: int) -> np.ndarray:
        return self.fit_async(x, seed).result(timeout=FIT_TIMEOUT_S)


_WORKER = _UmapWorker()


def warm_up_umap(block: bool = False, timeout_s: float | None = None) -> str:
    """Start the UMAP worker and its compilation in the background (idempotent); the state.
    block: wait for the compilation (at most timeout_s)."""
    fut = _WORKER.start()
    if block:
        try:
            fut.result(timeout=timeout_s)
        except Exception:  # noted in the state (or still warming after timeout_s)
            pass
    return _WORKER.state


def projection_status() -> str:
    """'idle' | 'warming' | 'ready' | 'failed: <reason>'."""
    return _WORKER.state + (f": {_WORKER.error}" if _WORKER.error else "")


def _warm_up(parent: int) -> None:
    """In the worker: import umap and compile its numba code on a small fit, at nice 5 (as
    the app's start-up, beside which it compiles), then nice 19 for the fits: visitors'
    runs and golds go first. The worker ends with its parent (a killed app leaves no
    orphan behind)."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, 0, 5)
    # one core at most: numba's and BLAS's thread pools would take every core from the
    # server's torch work (a 2-thread torch step stalls when one of its cores is taken)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    x = np.random.default_rng(0).normal(size=(120, 16)).astype(np.float32)
    _umap_fit(x, seed=0)
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, 0, 19)  # the lowest (raising nice needs no rights)


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _umap_fit(x: np.ndarray, seed: int) -> np.ndarray:
    """(N, D) -> (N, 2) UMAP coordinates (runs in the worker process)."""
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), "numba_cache"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import umap

        if len(x) <= PRECOMPUTED_MAX:
            d = np.sqrt(np.maximum(_sqdist(x), 0)).astype(np.float32)
            reducer = umap.UMAP(metric="precomputed", random_state=seed, **UMAP_ARGS)
            return reducer.fit_transform(d)
        return umap.UMAP(random_state=seed, **UMAP_ARGS).fit_transform(x)


def _sqdist(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    sq = (x**2).sum(1)
    return sq[:, None] + sq[None, :] - 2 * x @ x.T


def _pca(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, D) -> (N, 2): the first two principal components. A full SVD of the keyword
    default's 2,400 x 2,048 map took 2.7 s on 2 cores, most of a run's figures; the first
    two directions alone, by randomised subspace iteration (Halko, Martinsson & Tropp 2011),
    take milliseconds and match it to float precision."""
    x = (x - x.mean(0)).astype(np.float64)
    if min(x.shape) <= 64:
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        v = vt[:2].T
    else:
        v = _top_directions(x, 2, seed)
    v = v * np.where(v[np.abs(v).argmax(0), range(v.shape[1])] < 0, -1.0, 1.0)  # fixed signs
    out = (x @ v).astype(np.float32)
    return np.pad(out, ((0, 0), (0, 2 - out.shape[1]))) if out.shape[1] < 2 else out


def _top_directions(x: np.ndarray, k: int, seed: int, extra: int = 10, iters: int = 8):
    """(D, k) leading right singular vectors of (N, D) x, seeded."""
    q = np.random.default_rng(seed).standard_normal((x.shape[1], k + extra))
    q, _ = np.linalg.qr(x @ q)
    for _ in range(iters):  # power iterations, re-orthonormalised each time
        q, _ = np.linalg.qr(x @ np.linalg.qr(x.T @ q)[0])
    _, _, vt = np.linalg.svd(q.T @ x, full_matrices=False)
    return vt[:k].T


def project_2d(
    before: np.ndarray,
    after: np.ndarray,
    seed: int = 0,
    method: str = "auto",
    wait_s: float = 0.0,
    fit_wait_s: float | None = None,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Joint 2-D map of (N, D) `before` and (N, D) `after` embeddings of the same clips.

    method: "umap", "pca" or "auto" (UMAP once warmed up, waiting at most wait_s for
    the warm-up, else PCA). fit_wait_s (auto only): wait at most this long for the fit,
    else PCA now while the fit goes on. Returns (N, 2) before, (N, 2) after and the
    method used ("UMAP", "PCA", "PCA (UMAP still warming up)", UMAP_COMPUTING or
    "PCA (UMAP failed: ...)")."""
    x = np.nan_to_num(np.concatenate([before, after]).astype(np.float32))
    used = "PCA"
    if method != "auto":
        fit_wait_s = None
    if method == "auto":
        try:
            _WORKER.start().result(timeout=wait_s)
        except Exception:  # still warming (timeout) or failed: PCA now
            pass
        method = "umap" if _WORKER.state == "ready" else "pca"
        if _WORKER.state == "warming":
            used = "PCA (UMAP still warming up)"
    coords = None
    if method == "umap" and len(x) > 4:
        try:
            fut = _WORKER.fit_async(x, seed)
            if fit_wait_s is not None and not wait_for([fut], timeout=fit_wait_s).done:
                used = UMAP_COMPUTING  # it goes on; the same call later picks it up
            else:
                coords, used = fut.result(timeout=FIT_TIMEOUT_S), "UMAP"
        except Exception as err:
            used = f"PCA (UMAP failed: {type(err).__name__})"
    if coords is None:
        coords = _pca(x)
    n = len(before)
    return coords[:n], coords[n:], used


def subsample_positions(
    forget: np.ndarray, others: np.ndarray, max_points: int = 1200, seed: int = 0
) -> np.ndarray:
    """At most max_points positions: every forget clip (up to half the budget), then a
    seeded random sample of the others. Sorted."""
    rng = np.random.default_rng(seed)
    forget = np.asarray(forget)
    others = np.setdiff1d(np.asarray(others), forget)
    f = forget if len(forget) <= max_points // 2 else rng.choice(forget, max_points // 2, False)
    k = min(len(others), max_points - len(f))
    o = rng.choice(others, k, replace=False) if k < len(others) else others
    return np.sort(np.concatenate([f, o]).astype(np.int64))


def embedding_figure(
    before: np.ndarray,
    after: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    forget_mask: np.ndarray,
    titles: Sequence[str] = ("before: original", "after: unlearned"),
    method: str = "UMAP",
    hover: Sequence[str] | None = None,
) -> go.Figure:
    """Two scatter panels of (N, 2) coordinates coloured by class label (N,), with the
    forget clips (bool mask (N,)) drawn as large outlined markers on top."""
    fig = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.05, subplot_titles=[f"{t} ({method})" for t in titles]
    )
    colors = class_colors(len(class_names))
    forget_mask = np.asarray(forget_mask, bool)
    hover = np.asarray(hover if hover is not None else [""] * len(labels), dtype=object)
    for col, xy in ((1, before), (2, after)):
        for c, name in enumerate(class_names):
            m = (labels == c) & ~forget_mask
            if m.any():
                fig.add_trace(
                    go.Scattergl(
                        x=xy[m, 0],
                        y=xy[m, 1],
                        mode="markers",
                        name=name,
                        legendgroup=name,
                        showlegend=col == 1,
                        marker=dict(size=5, color=colors[c], opacity=0.6),
                        text=hover[m],
                        hovertemplate="%{text}<extra>" + name + "</extra>",
                    ),
                    row=1,
                    col=col,
                )
        if forget_mask.any():
            fc = [colors[c] for c in labels[forget_mask]]
            fig.add_trace(
                go.Scattergl(
                    x=xy[forget_mask, 0],
                    y=xy[forget_mask, 1],
                    mode="markers",
                    name="forget clips",
                    legendgroup="forget",
                    showlegend=col == 1,
                    marker=dict(
                        size=9, color=fc, symbol="diamond", line=dict(width=1.5, color="black")
                    ),
                    text=hover[forget_mask],
                    hovertemplate="%{text}<extra>forget clip</extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(showticklabels=False, matches="x")
    fig.update_yaxes(showticklabels=False, matches="y")
    fig = finish(fig, 480, "embedding")
    # many classes: a vertical legend on the right instead of a row over the titles
    return fig.update_layout(
        legend=dict(orientation="v", x=1.01, xanchor="left", y=1, yanchor="top"), margin=dict(r=120)
    )
