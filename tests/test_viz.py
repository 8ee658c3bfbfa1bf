"""Figures are pure functions of arrays: shapes, traces and fallbacks."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from speechforget import viz
from speechforget.viz.curves import MAX_POINTS
from speechforget.viz.style import empty_figure


def hist(n, forget=True):
    return [
        {"step": i + 1, "forget_loss": 2.0 + i / n if forget else None, "retain_loss": 0.1}
        for i in range(n)
    ]


def test_loss_curves_panels_and_downsampling():
    fig = viz.loss_curves(hist(5), hist(3, forget=False), 10, 20)
    assert isinstance(fig, go.Figure)
    assert [t.name for t in fig.data] == ["forget loss", "retain loss", "retain loss"]
    assert list(fig.data[0].x) == [1, 2, 3, 4, 5] and fig.layout.xaxis.range == (0, 10.2)
    big = viz.loss_curves(hist(5000))
    assert len(big.data[0].x) <= MAX_POINTS + 1 and big.data[0].x[-1] == 5000  # keeps the live edge
    assert len(viz.loss_curves().data) == 3  # empty before a run, no error


def test_confusion_figure_rows_normalised():
    cm = np.array([[8, 2], [0, 10]])
    fig = viz.confusion_figure(
        {"original": cm, "unlearned": cm[::-1]}, ["yes", "no"], highlight=[0]
    )
    assert len(fig.data) == 2 and fig.data[0].type == "heatmap"
    assert np.allclose(np.array(fig.data[0].z).sum(1), 1.0)
    assert fig.data[0].y[0] == "<b>yes</b>"


def test_mia_histograms_share_bins():
    rng = np.random.default_rng(0)
    losses = {
        m: {
            "forget": rng.exponential(size=20),
            "retain": np.zeros(30),
            "test": rng.exponential(2, 30),
        }
        for m in ("original", "unlearned")
    }
    fig = viz.mia_histograms(losses)
    assert len(fig.data) == 6 and fig.layout.barmode == "overlay"
    assert len({(t.xbins.start, t.xbins.size) for t in fig.data}) == 1


def test_topk_bars_highest_on_top():
    p = np.array([0.1, 0.6, 0.3])
    fig = viz.topk_bars({"original": p, "unlearned": p[::-1]}, ["a", "b", "c"], k=2, true_class=1)
    assert list(fig.data[0].y) == ["c", "<b>b</b>"] and len(fig.data) == 2


def test_projection_pca_and_umap_share_axes():
    rng = np.random.default_rng(0)
    before = np.r_[rng.normal(0, 1, (40, 8)), rng.normal(6, 1, (40, 8))]
    after = before + 0.01
    b, a, used = viz.project_2d(before, after, method="pca")
    assert used == "PCA" and b.shape == a.shape == (80, 2)
    assert np.abs(b - a).max() < 0.1  # a clip that did not move stays put
    b, a, used = viz.project_2d(before, after, method="umap")
    assert used in ("UMAP",) or used.startswith("PCA (UMAP failed")
    assert b.shape == (80, 2) and np.isfinite(b).all()


def test_pca_of_wide_embeddings_equals_the_full_svd():
    """The fast path (D > 64: randomised subspace iteration) against numpy's full SVD."""
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(12, 300)) * 3
    x = (centres[rng.integers(0, 12, 500)] + rng.normal(size=(500, 300))).astype(np.float32)
    xc = x.astype(np.float64) - x.mean(0)
    ref = xc @ np.linalg.svd(xc, full_matrices=False)[2][:2].T
    b, a, used = viz.project_2d(x[:250], x[250:], method="pca")
    mine = np.r_[b, a]
    for j in range(2):  # a principal direction's sign is arbitrary
        sign = np.sign(mine[:, j] @ ref[:, j])
        np.testing.assert_allclose(mine[:, j], sign * ref[:, j], atol=1e-3 * np.abs(ref).max())


def test_subsample_keeps_forget_clips():
    pos = viz.subsample_positions(np.arange(10), np.arange(10, 5000), max_points=100, seed=0)
    assert len(pos) == 100 and set(range(10)) <= set(pos.tolist())


def test_embedding_figure_highlights_forget_clips():
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(30, 2))
    labels = np.repeat([0, 1, 2], 10)
    forget = labels == 0
    fig = viz.embedding_figure(
        xy, xy, labels, ["a", "b", "c"], forget, hover=[str(i) for i in range(30)]
    )
    names = [t.name for t in fig.data]
    assert names.count("forget clips") == 2 and "a" not in names  # class a is all forgotten
    assert fig.data[-1].marker.symbol == "diamond"


def test_empty_figure_says_why():
    assert "run" in empty_figure("run an experiment").layout.annotations[0].text


def test_a_slow_umap_fit_gives_pca_now_and_the_same_fit_later(monkeypatch):
    """With fit_wait_s, a fit still running gives PCA (UMAP_COMPUTING) at once; a later call
    with the same embeddings and seed picks up that fit's result, never a second fit."""
    from concurrent.futures import Future

    from speechforget.viz import embedding

    class Pool:
        def __init__(self):
            self.fits: list[Future] = []

        def submit(self, fn, *args):
            self.fits.append(Future())
            return self.fits[-1]

    worker = embedding._UmapWorker()
    worker.pool, worker.state, worker.warm = Pool(), "ready", Future()
    worker.warm.set_result(None)
    monkeypatch.setattr(embedding, "_WORKER", worker)
    rng = np.random.default_rng(0)
    before = rng.normal(size=(30, 8))
    after = before + 0.5
    b, a, used = viz.project_2d(before, after, seed=3, fit_wait_s=0.01)
    assert used == viz.UMAP_COMPUTING and b.shape == (30, 2)
    assert len(worker.pool.fits) == 1
    umap_xy = rng.normal(size=(60, 2))
    worker.pool.fits[0].set_result(umap_xy)
    b, a, used = viz.project_2d(before, after, seed=3, fit_wait_s=0.01)
    assert used == "UMAP" and len(worker.pool.fits) == 1  # the same fit, not a new one
    assert np.array_equal(np.r_[b, a], umap_xy)
    viz.project_2d(before, after, seed=4, fit_wait_s=0.01)  # another seed: another fit
    assert len(worker.pool.fits) == 2
