"""Threads of the convolutional STDP network (issue 19): the kernels and the estimator
give the same numbers, bit for bit, on 1, 2, 3 and 7 threads (images in parallel where
the weights do not change, each image's output rows in training),
and the thread count is taken as a Network takes it."""
import warnings

import numpy as np
import pytest

from plasticity._ext import conv as _k
from plasticity.conv import SpikingConvNet, ops

THREADS = (1, 2, 3, 7)


@pytest.fixture(autouse=True)
def _any_team(monkeypatch):
    """Teams larger than this machine (7 threads on 2 cores): the cap at the cores
    (ops.n_threads) lifted, so that every team size is held to the others."""
    monkeypatch.setattr(ops, "available_cores", lambda: 64)


def _batch(seed, B=6, T=10):
    rng = np.random.default_rng(seed)
    C, H, W, F = (int(rng.integers(1, 4)), int(rng.integers(9, 17)),
                  int(rng.integers(9, 17)), int(rng.integers(2, 9)))
    k, pad = int(rng.integers(1, 6)), int(rng.integers(0, 3))
    k = min(k, H + 2 * pad, W + 2 * pad)
    times = rng.integers(0, T + 1, (B, C, H, W)).astype(np.int16)
    # weights not on a grid: float32 sums depend on the order of the additions, so a
    # thread that added in another order would show
    w = rng.uniform(0.05, 0.95, (F, C, k, k)).astype(np.float32)
    thr = float(rng.uniform(0.1, 0.4)) * C * k * k
    return times, w, thr, pad, T


def test_openmp_in_this_build():
    # setup.py compiles the conv kernels with OpenMP where the engine gets it
    from plasticity._ext import engine
    assert _k.openmp_available() == engine.openmp_available()


@pytest.mark.parametrize("seed", range(6))
def test_forward_pool_max_identical_for_any_threads(seed):
    times, w, thr, pad, T = _batch(seed)
    ref = None
    for nt in THREADS:
        out = []
        for th, inhibit in ((thr, True), (thr, False), (np.inf, False)):
            t, v = ops.conv_forward(times, w, th, T, pad, inhibit, threads=nt)
            out += [t, v, ops.pool_first(t, 2, 2, 0, threads=nt),
                    ops.global_max(v, threads=nt), ops.grid_max(v, 2, threads=nt)]
        if ref is None:
            ref = out
            # and each image on its own (one image, one thread) gives the same
            for b in range(times.shape[0]):
                t1, v1 = ops.conv_forward(times[b], w, thr, T, pad, True, threads=1)
                assert np.array_equal(t1[0], out[0][b]) and np.array_equal(v1[0], out[1][b])
        else:
            for a, b in zip(ref, out):
                assert a.dtype == b.dtype and np.array_equal(a, b), nt


def _train_step_by_step(times, w, thr, T, pad, k, r, ap, am):
    """train_layer's sequence with the one-image kernels: forward with inhibition,
    winners, STDP; returns the kernels and each image's winners."""
    w = w.copy()
    wins = []
    for img in times:
        t, v = ops.conv_forward(img, w, thr, T, pad, True, threads=1)
        win = ops.winners(t[0], v[0], T, k, r)
        wins.append(win)
        w = ops.stdp_update(img, w, win, pad, T, ap, am)
    return w, wins


@pytest.mark.parametrize("seed", range(8))
def test_train_identical_for_any_threads(seed):
    """The same kernels and the same number of winners on 1, 2, 3 and 7 threads, equal
    bit for bit to the one-image kernels called image after image (the same winners,
    in the same order: the STDP updates would differ otherwise)."""
    times, w, thr, pad, T = _batch(seed, B=12)
    rng = np.random.default_rng(100 + seed)
    k, r = int(rng.integers(1, 6)), int(rng.integers(0, 3))
    w_ref, wins = _train_step_by_step(times, w, thr, T, pad, k, r, 0.05, -0.04)
    n_ref = np.array([len(x) for x in wins])
    assert n_ref.sum() > 0 and not np.array_equal(w_ref, w)
    for nt in THREADS:
        wt = ops.kernels_internal(w)
        nw = ops.train_layer(times, wt, thr, T, pad, k, r, 0.05, -0.04, threads=nt)
        assert np.array_equal(nw, n_ref), nt
        assert np.array_equal(ops.kernels_external(wt), w_ref), nt


@pytest.mark.parametrize("seed", range(6))
def test_train_chunks_identical(seed):
    """train sorts the input spikes of ``chunk`` images up front (each thread its
    share), then trains image after image, its winners taken from per-thread lists
    bucketed by spike time: the same kernels and winners as the one-image kernels for
    any chunk (across chunk boundaries too) and thread count; with few time steps
    (many spikes at the same step: ties in the buckets), an image without spikes and
    one whose inputs all fire at step 0."""
    T = 3 if seed % 2 else 10
    times, w, thr, pad, _ = _batch(seed, B=11, T=T)
    times[2] = T                   # no input spike
    times[5] = 0                   # every input at step 0
    rng = np.random.default_rng(200 + seed)
    k, r = int(rng.integers(1, 6)), int(rng.integers(0, 3))
    w_ref, wins = _train_step_by_step(times, w, thr, T, pad, k, r, 0.05, -0.04)
    n_ref = np.array([len(x) for x in wins])
    assert n_ref.sum() > 0 and not np.array_equal(w_ref, w)
    for nt in THREADS:
        for chunk in (1, 2, 4, 11, 64):
            wt = ops.kernels_internal(w)
            nw = np.zeros(len(times), np.int32)
            _k.train(times, wt, thr, T, pad, k, r, ops.stdp_params(0.05, -0.04), nw, nt,
                     chunk)
            assert np.array_equal(nw, n_ref), (nt, chunk)
            assert np.array_equal(ops.kernels_external(wt), w_ref), (nt, chunk)


def test_train_refuses_bad_chunk():
    t = np.zeros((1, 1, 4, 4), np.int16)
    wt = np.ones((1, 2, 2, 1), np.float32)
    for bad in (0, -3):
        with pytest.raises(ValueError, match=f"chunk must be >= 1, got {bad}"):
            _k.train(t, wt, 1.0, 4, 0, 1, 0, ops.stdp_params(0.1, -0.1),
                     np.zeros(1, np.int32), 1, bad)


def test_winners_ties_with_row_split():
    """Two candidates in different threads' rows, equal in time and potential: the
    lowest flat index (map, y, x) wins whatever the split, and its STDP update (which
    differs from the other's) is the one applied."""
    T = 4
    times = np.full((1, 1, 9, 9), T, np.int16)
    times[0, 0, 3:6, 1] = 0        # a vertical bar: output (3, 0) and (3, 1) reach 1.5
    times[0, 0, 7, 5:8] = 0        # a horizontal bar: output (5, 5) and (6, 5) reach 1.5
    w = np.full((1, 1, 3, 3), 0.5, np.float32)
    w_ref, wins = _train_step_by_step(times, w, 1.4, T, 0, 1, 0, 0.1, -0.1)
    assert wins[0].tolist() == [[0, 3, 0, 0]]
    assert w_ref[0, 0, 0, 1] > 0.5 and w_ref[0, 0, 2, 2] < 0.5      # the vertical bar
    for nt in THREADS:
        wt = ops.kernels_internal(w)
        nw = ops.train_layer(times, wt, 1.4, T, 0, 1, 0, 0.1, -0.1, threads=nt)
        assert nw.tolist() == [1]
        assert np.array_equal(ops.kernels_external(wt), w_ref), nt


def _digits16():
    from sklearn.datasets import load_digits
    X = (load_digits().images[:160] * (255 / 16)).astype(np.uint8)
    return np.kron(X, np.ones((1, 2, 2), np.uint8))           # 16 x 16 digits


LAYERS = (
    {"type": "conv", "maps": 8, "size": 5, "threshold": 8.0, "k": 3, "radius": 2,
     "pad": 2, "n_images": 120},
    {"type": "pool", "size": 2, "stride": 2},
    {"type": "conv", "maps": 12, "size": 3, "threshold": 6.0, "k": 3, "radius": 1,
     "pad": 1, "n_images": 100},
)


def test_estimator_identical_for_any_threads():
    """fit and transform on 1, 2, 3 and 7 threads: the same kernels, convergence curves,
    spike times and features, bit for bit."""
    X = _digits16()
    kw = dict(layers=LAYERS, T=12, dog_size=5, dog_threshold=0.1, random_state=2,
              lr_double_every=40, convergence=1e-9, batch_size=50, feature_grid=2)
    ref = None
    for nt in THREADS:
        net = SpikingConvNet(threads=nt, **kw).fit(X)
        got = (net.weights_, net.convergence_, [net.transform(X)],
               [net.spike_times(X[:30], upto=2)], [net.encode(X)])
        assert net.n_train_images_ == [120, 100]
        if ref is None:
            ref = got
            assert got[2][0].max() > 0 and (got[3][0] < 12).any()
        else:
            for la, lb in zip(ref, got):
                for a, b in zip(la, lb):
                    assert np.array_equal(a, b), nt


def test_threads_taken_as_a_network_takes_them(monkeypatch):
    from plasticity.network import default_threads
    monkeypatch.setenv("PLASTICITY_THREADS", "3")
    assert ops.n_threads() == 3 == default_threads()
    assert SpikingConvNet()._n_threads() == 3
    assert SpikingConvNet(threads=2)._n_threads() == 2
    monkeypatch.delenv("PLASTICITY_THREADS")
    assert ops.n_threads() == default_threads() >= 1
    for bad in (0, -1):
        with pytest.raises(ValueError, match=rf"threads must be an integer in \[1, inf\], "
                                             rf"got {bad}"):
            SpikingConvNet(threads=bad, layers=LAYERS).fit(np.zeros((2, 16, 16)))
    with pytest.raises(TypeError, match="threads must be an integer, got 1.5"):
        ops.conv_forward(np.zeros((1, 1, 4, 4), np.int16), np.ones((1, 1, 2, 2)), 1.0, 4,
                         threads=1.5)
    monkeypatch.setenv("PLASTICITY_THREADS", "zero")
    with pytest.raises(ValueError, match="PLASTICITY_THREADS must be an integer >= 1"):
        ops.n_threads()


def test_threads_are_an_upper_bound(monkeypatch):
    """Release check (qa5): threads=2**31 (or PLASTICITY_THREADS=2**31) was an
    OverflowError in the kernels; 10**9 a team of one thread per image. At most one
    thread per core the process may use (3 here, whatever this machine has), the
    numbers of one thread."""
    monkeypatch.setattr(ops, "available_cores", lambda: 3)
    assert ops.n_threads(10 ** 9) == ops.n_threads(2 ** 31) == 3
    assert ops.n_threads(2) == 2
    monkeypatch.setenv("PLASTICITY_THREADS", str(2 ** 40))
    assert ops.n_threads() == 3
    times, w, thr, pad, T = _batch(1)
    ref = ops.conv_forward(times, w, thr, T, pad, threads=1)
    got = ops.conv_forward(times, w, thr, T, pad, threads=2 ** 31)
    for a, b in zip(ref, got):
        np.testing.assert_array_equal(a, b)


def test_n_jobs_is_a_deprecated_alias():
    with pytest.warns(FutureWarning, match="use threads="):
        assert SpikingConvNet(n_jobs=2)._n_threads() == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert SpikingConvNet(threads=1, n_jobs=2)._n_threads() == 1


def test_kernels_refuse_bad_thread_counts():
    t = np.zeros((1, 1, 4, 4), np.int16)
    wt = np.ones((1, 2, 2, 1), np.float32)
    out_t = np.empty((1, 1, 3, 3), np.int16)
    out_v = np.empty((1, 1, 3, 3), np.float32)
    with pytest.raises(ValueError, match="threads must be >= 1, got 0"):
        _k.forward(t, wt, 1.0, 4, 0, True, out_t, out_v, 0)
    with pytest.raises(ValueError, match="threads must be >= 1, got -2"):
        _k.train(t, wt, 1.0, 4, 0, 1, 0, ops.stdp_params(0.1, -0.1),
                 np.zeros(1, np.int32), -2)


def test_conv_speed_benchmark_runs_our_side(monkeypatch, capsys):
    """benchmarks/conv_speed.py without a peer: our side on 1 and 3 threads, identical
    results (no timing assertion)."""
    import os
    import sys

    from _data import find_dataset
    d = find_dataset("mnist", ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                               "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"])
    if d is None:
        pytest.skip("MNIST files not found (set PLASTICITY_DATA)")
    monkeypatch.setenv("PLASTICITY_DATA", os.path.dirname(d))
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks import conv_speed
    r = conv_speed.bench(24, [1, 3], 1)
    assert r["peer"] is None
    assert r["checks"] == {"ours identical for every thread count": True}
    assert all(r["ours"][th]["wall"][k][0] > 0 for th in (1, 3) for k in conv_speed.STAGES)
    assert "plasticity, 3 thread(s), wall" in conv_speed.report(r)
    alt = conv_speed.alternate(16, [1, 2], 1)      # asserts identical kernels itself
    assert set(alt) == set(conv_speed.STAGES) and all(len(v[2]) == 1 for v in alt.values())
