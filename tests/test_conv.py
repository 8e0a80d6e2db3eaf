"""The compiled convolutional STDP kernels against the plain NumPy reference
(tests/conv_reference.py) on random inputs, and the estimator contract."""
import numpy as np
import pytest

from plasticity.conv import SpikingConvNet, ops

import conv_reference as R


def _case(seed, T=8):
    rng = np.random.default_rng(seed)
    C, H, W, F = (int(rng.integers(1, 4)), int(rng.integers(6, 12)),
                  int(rng.integers(6, 12)), int(rng.integers(1, 6)))
    k, pad = int(rng.integers(1, 5)), int(rng.integers(0, 3))
    times = rng.integers(0, T + 1, (C, H, W)).astype(np.int16)
    # weights on a 1/64 grid: float32 and float64 sums are exact, so the spike steps
    # must agree exactly
    w = (rng.integers(0, 64, (F, C, k, k)) / 64).astype(np.float32)
    thr = float(rng.uniform(0.5, 3.0)) + 1 / 128
    return times, w, thr, pad, T


SEEDS = range(12)


@pytest.mark.parametrize("seed", SEEDS)
def test_forward_matches_dense_reference(seed):
    times, w, thr, pad, T = _case(seed)
    V = R.conv_potentials(times, w.astype(np.float64), T, pad)
    t_ref, v_ref = R.fire(V, thr)
    t, v = ops.conv_forward(times, w, thr, T, pad, inhibit=False)
    assert np.array_equal(t[0], t_ref)
    assert np.allclose(v[0], v_ref, atol=1e-5)
    # infinite threshold: the final potentials, no spikes
    t_inf, v_inf = ops.conv_forward(times, w, np.inf, T, pad, inhibit=False)
    assert np.all(t_inf == T) and np.allclose(v_inf[0], V[-1], atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_one_spike_per_neuron_and_monotone_potentials(seed):
    times, w, thr, pad, T = _case(seed)
    V = R.conv_potentials(times, w.astype(np.float64), T, pad)
    assert np.all(np.diff(V, axis=0) >= -1e-12)        # non-leaky IF, excitatory
    t, _ = ops.conv_forward(times, w, thr, T, pad, inhibit=False)
    # at most one spike per neuron: the wave of the output is cumulative and a neuron
    # spikes at the first step its potential reaches the threshold, never again
    wave = (t[0][None] <= np.arange(T)[:, None, None, None])
    assert np.array_equal(wave, V >= thr) or np.all(wave <= (V >= thr))
    assert np.array_equal(t[0] < T, (V >= thr).any(axis=0))


@pytest.mark.parametrize("seed", SEEDS)
def test_lateral_inhibition_matches_reference(seed):
    times, w, thr, pad, T = _case(seed)
    V = R.conv_potentials(times, w.astype(np.float64), T, pad)
    t_ref, v_ref = R.fire(V, thr)
    ti_ref = R.pointwise_inhibition(t_ref, v_ref, T)
    t, v = ops.conv_forward(times, w, thr, T, pad, inhibit=True)
    assert np.array_equal(t[0], ti_ref)
    assert np.all((t[0] < T).sum(axis=0) <= 1)          # one spike per location


@pytest.mark.parametrize("seed", SEEDS)
def test_winners_match_reference(seed):
    times, w, thr, pad, T = _case(seed)
    t, v = ops.conv_forward(times, w, thr, T, pad, inhibit=True)
    rng = np.random.default_rng(seed)
    k, r = int(rng.integers(1, 6)), int(rng.integers(0, 3))
    win = ops.winners(t[0], v[0], T, k, r)
    assert np.array_equal(win, R.winners(t[0], v[0], T, k, r))
    assert len(set(win[:, 0])) == len(win)               # one winner per map
    for a in range(len(win)):
        for b in range(a):
            assert max(abs(win[a, 1] - win[b, 1]), abs(win[a, 2] - win[b, 2])) > r
    assert np.all(np.diff(win[:, 3]) >= 0)               # earliest first


def test_winner_tie_broken_by_potential():
    T = 5
    t = np.full((3, 4, 4), T, np.int16)
    v = np.zeros((3, 4, 4), np.float32)
    t[0, 1, 1], v[0, 1, 1] = 2, 3.0
    t[2, 3, 3], v[2, 3, 3] = 2, 4.0     # same step, higher potential: first
    t[1, 0, 0], v[1, 0, 0] = 3, 9.0
    win = ops.winners(t, v, T, 3, 0)
    assert win.tolist() == [[2, 3, 3, 2], [0, 1, 1, 2], [1, 0, 0, 3]]
    # radius 2 around (3, 3) also blocks (1, 1) in every map
    assert ops.winners(t, v, T, 3, 2).tolist() == [[2, 3, 3, 2], [1, 0, 0, 3]]


@pytest.mark.parametrize("seed", SEEDS)
def test_stdp_update_matches_reference(seed):
    times, w, thr, pad, T = _case(seed)
    w = np.random.default_rng(seed).uniform(0.05, 0.95, w.shape).astype(np.float32)
    t, v = ops.conv_forward(times, w, thr * 0.3, T, pad, inhibit=True)
    win = ops.winners(t[0], v[0], T, 3, 1)
    new = ops.stdp_update(times, w, win, pad, T, 0.05, -0.04)
    ref = R.stdp_update(times, w, win, pad, T, 0.05, -0.04)
    assert np.allclose(new, ref, atol=1e-6)
    # the sign of each change follows the timing; unchanged maps stay unchanged
    for f in set(range(w.shape[0])) - set(win[:, 0].tolist()):
        assert np.array_equal(new[f], w[f])


def test_stdp_uses_rule_library_weight_dependence():
    from plasticity._ext import rules
    packed = ops.stdp_params(0.1, -0.05)
    wv = np.linspace(0, 1, 11)
    fp, fm = rules.weight_dependence(packed, wv)
    assert np.allclose(fp, wv * (1 - wv)) and np.allclose(fm, wv * (1 - wv))
    # one input that fired before the winner, one that never fired
    times = np.array([[[0, 4]]], np.int16)               # C=1, H=1, W=2
    w = np.array([[[[0.5, 0.5]]]], np.float32)           # F=1, kh=1, kw=2
    new = ops.stdp_update(times, w, np.array([[0, 0, 0, 1]]), 0, 4, 0.1, -0.05)
    assert new[0, 0, 0, 0] == pytest.approx(0.5 + 0.1 * 0.25)
    assert new[0, 0, 0, 1] == pytest.approx(0.5 - 0.05 * 0.25)


@pytest.mark.parametrize("seed", range(4))
def test_pooling_matches_reference(seed):
    rng = np.random.default_rng(seed)
    T = 6
    times = rng.integers(0, T + 1, (3, 11, 9)).astype(np.int16)
    for size, stride, pad in [(2, 2, 0), (2, 2, 1), (3, 2, 1), (7, 6, 0)]:
        got = ops.pool_first(times, size, stride, pad)[0]
        assert np.array_equal(got, R.pool_first(times, size, stride, pad, T))


def test_train_equals_forward_winners_stdp_sequence():
    rng = np.random.default_rng(3)
    T, pad, thr, k, r = 6, 1, 2.0, 3, 1
    batch = rng.integers(0, T + 1, (4, 2, 9, 9)).astype(np.int16)
    w0 = rng.uniform(0.3, 0.9, (5, 2, 3, 3)).astype(np.float32)
    w = w0.copy()
    for img in batch:                                      # the reference, step by step
        V = R.conv_potentials(img, w.astype(np.float64), T, pad)
        t, v = R.fire(V, thr)
        t = R.pointwise_inhibition(t, v, T)
        win = R.winners(t, v, T, k, r)
        w = R.stdp_update(img, w, win, pad, T, 0.05, -0.04).astype(np.float32)
    wt = ops.kernels_internal(w0)
    nw = ops.train_layer(batch, wt, thr, T, pad, k, r, 0.05, -0.04)
    assert nw.sum() > 0
    assert np.allclose(ops.kernels_external(wt), w, atol=1e-5)


def test_convergence_measure():
    assert R.convergence([0.0, 1.0, 0.5]) == pytest.approx(0.25 / 3)


# ------------------------------------------------------------------ estimator

SMALL_LAYERS = (
    {"type": "conv", "maps": 6, "size": 3, "threshold": 4.0, "k": 2, "radius": 1, "pad": 1,
     "n_images": 200},
    {"type": "pool", "size": 2, "stride": 2},
    {"type": "conv", "maps": 10, "size": 3, "threshold": 5.0, "k": 2, "radius": 0, "pad": 1,
     "n_images": 200},
)


def _digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    return (d.images * (255 / 16)).astype(np.uint8), d.target


def test_estimator_contract_clone_params():
    from sklearn.base import clone
    net = SpikingConvNet(layers=SMALL_LAYERS, T=10, dog_size=3, random_state=0)
    p = net.get_params()
    assert p["T"] == 10 and p["layers"] is SMALL_LAYERS
    c = clone(net)
    assert c.get_params()["T"] == 10 and c is not net
    c.set_params(T=12, a_plus=0.01)
    assert c.T == 12 and net.T == 10
    assert not hasattr(c, "weights_")
    with pytest.raises(ValueError):
        SpikingConvNet(layers=SMALL_LAYERS, a_minus=0.1).fit(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError):
        SpikingConvNet(layers=({"type": "dense"},)).fit(np.zeros((2, 8, 8)))


def test_estimator_fit_transform_deterministic_and_validates():
    from sklearn.exceptions import NotFittedError
    X, _ = _digits()
    X = X[:300]
    kw = dict(layers=SMALL_LAYERS, T=10, dog_size=3, dog_sigmas=(0.5, 1.0),
              dog_threshold=0.05, random_state=1, lr_double_every=50)
    with pytest.raises(NotFittedError):
        SpikingConvNet(**kw).transform(X)
    a = SpikingConvNet(**kw).fit(X)
    b = SpikingConvNet(**kw).fit(X.reshape(300, 64))        # flat input, same images
    for wa, wb in zip(a.weights_, b.weights_):
        assert np.array_equal(wa, wb)
    assert [w.shape for w in a.weights_] == [(6, 2, 3, 3), (10, 6, 3, 3)]
    assert all(w.min() >= 0 and w.max() <= 1 for w in a.weights_)
    F = a.transform(X)
    assert F.shape == (300, 10) and np.array_equal(F, b.transform(X.reshape(300, 64)))
    assert np.array_equal(F, a.transform(X))
    assert a.n_features_in_ == 64 and a.convergence_[0][0, 0] == 0
    with pytest.raises(ValueError):
        a.transform(np.zeros((3, 9, 9)))
    with pytest.raises(ValueError):
        a.transform(np.full((2, 8, 8), np.nan))
    with pytest.raises(ValueError, match="expecting 64 features"):
        a.transform(np.zeros((2, 63)))


def test_fit_resumed_from_any_checkpoint_equals_an_uninterrupted_fit(tmp_path):
    """Issue 16: fit checkpoints after every batch (the state written to and read back
    from an HDF5 file as the run file's checkpoints are); a fit resumed from any of
    them, including the last batch of a layer, ends with the uninterrupted network
    bit for bit and the same features."""
    import h5py

    from plasticity.results import _read_state, _write_state
    X, _ = _digits()
    X = X[:120]
    kw = dict(layers=SMALL_LAYERS, T=10, dog_size=3, dog_sigmas=(0.5, 1.0),
              dog_threshold=0.05, random_state=4, lr_double_every=16, convergence=1e-9)
    kw["layers"] = [dict(SMALL_LAYERS[0], n_images=70), SMALL_LAYERS[1],
                    dict(SMALL_LAYERS[2], n_images=50)]
    ref = SpikingConvNet(**kw).fit(X)
    saved = []

    def checkpoint(step, state):
        path = str(tmp_path / f"{len(saved)}.h5")
        with h5py.File(path, "w") as f:
            _write_state(f.create_group("state"), state(), "state")
        saved.append((step, path))
    net = SpikingConvNet(**kw).fit(X, checkpoint=checkpoint)
    steps = [s for s, _ in saved]
    # 70 images in batches of <= 16 (the a+ schedule), then 50 (120 images repeat)
    assert steps == [16, 32, 48, 64, 70, 86, 102, 118, 120]
    assert all(np.array_equal(a, b) for a, b in zip(net.weights_, ref.weights_))
    F = ref.transform(X[:20])
    for step, path in saved:
        with h5py.File(path, "r") as f:
            state = _read_state(f["state"])
        r = SpikingConvNet(**kw).fit(X, resume=state)
        for a, b in zip(r.weights_, ref.weights_):
            assert np.array_equal(a, b), step
        for a, b in zip(r.convergence_, ref.convergence_):
            assert np.array_equal(a, b), step
        assert r.n_train_images_ == ref.n_train_images_ == [70, 50]
        assert np.array_equal(r.transform(X[:20]), F), step
    with pytest.raises(ValueError, match="another network"):
        SpikingConvNet(**dict(kw, layers=[dict(kw["layers"][0], maps=5)] + kw["layers"][1:])
                       ).fit(X, resume=state)
    with pytest.raises(ValueError, match="lacks"):
        SpikingConvNet(**kw).fit(X, resume={"layer": 0})


def test_pipeline_with_linear_svc_beats_chance():
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC
    X, y = _digits()
    X = np.kron(X, np.ones((1, 2, 2), np.uint8))             # 16 x 16 digits
    layers = (
        {"type": "conv", "maps": 8, "size": 5, "threshold": 8.0, "k": 3, "radius": 2,
         "pad": 2, "n_images": 600},
        {"type": "pool", "size": 2, "stride": 2},
        {"type": "conv", "maps": 30, "size": 3, "threshold": 10.0, "k": 3, "radius": 1,
         "pad": 1, "n_images": 600},
    )
    net = SpikingConvNet(layers=layers, T=15, dog_size=5, dog_threshold=0.1,
                         random_state=0, lr_double_every=100)
    clf = make_pipeline(net, LinearSVC(C=2.4, max_iter=5000))
    clf.fit(X[:1200], y[:1200])
    assert clf.score(X[1200:], y[1200:]) > 0.5               # chance is 0.1 (0.64 seen)


def test_preferred_stimuli_back_projection():
    X, _ = _digits()
    net = SpikingConvNet(layers=SMALL_LAYERS, T=10, dog_size=3, dog_threshold=0.05,
                         random_state=0, lr_double_every=50).fit(X[:100])
    first = net.preferred_stimuli(0)
    assert np.array_equal(first, net.weights_[0])          # layer 1: the kernels
    deep = net.preferred_stimuli(1, maps=[0, 3])
    # conv2 3x3 over pool 2/2 over conv1 3x3: (3 - 1) * 2 + 2 = 6, + 3 - 1 = 8 px
    assert deep.shape == (2, 2, 8, 8)
    # map 0's stimulus by hand: the kernel's value at (c, y, x) spread over the pool
    # window, then weighted by conv1's kernels
    W1, W2 = net.weights_
    up = np.zeros((6, 6, 6))
    for y in range(3):
        for x in range(3):
            blk = up[:, 2 * y:2 * y + 2, 2 * x:2 * x + 2]
            np.maximum(blk, W2[0][:, y, x][:, None, None], out=blk)
    ref = np.zeros((2, 8, 8))
    for y in range(6):
        for x in range(6):
            for f in range(6):
                ref[:, y:y + 3, x:x + 3] += up[f, y, x] * W1[f]
    assert np.allclose(deep[0], ref)


def test_sklearn_check_estimator():
    import warnings

    from sklearn.utils.estimator_checks import check_estimator
    layers = ({"type": "conv", "maps": 3, "size": 1, "threshold": 0.5, "k": 1, "radius": 0,
               "pad": 0, "n_images": 20},)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = check_estimator(SpikingConvNet(layers=layers, T=4, dog_size=1), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in res
              if r["status"] == "failed"]
    assert not failed, failed


def test_feature_layer_reads_the_chosen_conv_layer():
    """feature_layer=k: the g x g grid maxima of conv k's final potentials (the NumPy
    reference, infinite threshold), whatever layers follow; None is the last layer."""
    X, _ = _digits()
    X = X[:200]
    kw = dict(layers=SMALL_LAYERS, T=10, dog_size=3, dog_sigmas=(0.5, 1.0),
              dog_threshold=0.05, random_state=3, lr_double_every=50, feature_grid=2)
    last = SpikingConvNet(**kw).fit(X)
    first = SpikingConvNet(feature_layer=1, **kw).fit(X)
    for wa, wb in zip(last.weights_, first.weights_):        # same training
        assert np.array_equal(wa, wb)
    F1 = first.transform(X[:20])
    assert F1.shape == (20, 6 * 4) and first.n_features_out_ == 24
    w1 = first.weights_[0].astype(np.float64)
    pad = SMALL_LAYERS[0]["pad"]
    for i, t in enumerate(first.encode(first._images(X[:20], reset=False))):
        V = R.conv_potentials(t, w1, 10, pad)[-1]              # (F, H, W) final
        assert np.allclose(F1[i], R.grid_max(V, 2), atol=1e-4)
    F2 = SpikingConvNet(feature_layer=2, **kw).fit(X).transform(X[:20])
    assert np.array_equal(F2, last.transform(X[:20]))
    for bad in (0, 3, True, 1.5):
        with pytest.raises(ValueError, match=r"feature_layer must be .* got"):
            SpikingConvNet(feature_layer=bad, **kw).fit(X[:5])
    with pytest.raises(ValueError, match=r"feature_layer must be .* got 3"):
        first.set_params(feature_layer=3).transform(X[:2])     # checked at transform too


def test_feature_pyramid_concatenates_the_grids():
    """feature_pyramid=True with feature_grid=g: the 1 x 1, ..., g x g grid maxima of the
    feature layer's final potentials side by side, each equal to the NumPy reference
    (cells as np.array_split); a grid finer than the map is refused by name."""
    X, _ = _digits()
    X = X[:120]
    kw = dict(layers=SMALL_LAYERS, T=10, dog_size=3, dog_sigmas=(0.5, 1.0),
              dog_threshold=0.05, random_state=4, lr_double_every=50, feature_layer=1)
    net = SpikingConvNet(feature_grid=3, feature_pyramid=True, **kw).fit(X)
    F = net.transform(X[:10])
    assert F.shape == (10, 6 * (1 + 4 + 9)) and net.n_features_out_ == 6 * 14
    w1 = net.weights_[0].astype(np.float64)
    pad = SMALL_LAYERS[0]["pad"]
    for i, t in enumerate(net.encode(net._images(X[:10], reset=False))):
        V = R.conv_potentials(t, w1, 10, pad)[-1]              # (F, H, W) final
        ref = np.concatenate([R.grid_max(V, g) for g in (1, 2, 3)])
        assert np.allclose(F[i], ref, atol=1e-4)
    single = SpikingConvNet(feature_grid=3, **kw).fit(X)
    assert np.array_equal(single.transform(X[:10]), F[:, 6 * 5:])   # same training
    with pytest.raises(ValueError, match="feature_pyramid must be True or False, got 1"):
        SpikingConvNet(feature_pyramid=1, **kw).fit(X[:5])
    # conv1 keeps the 8 x 8 digits at 8 x 8 (size 3, pad 1)
    with pytest.raises(ValueError, match=r"feature_grid must be in \[1, 8\] .* 8 x 8, got 9"):
        SpikingConvNet(feature_grid=9, **kw).fit(X[:5])              # before training
    with pytest.raises(ValueError, match=r"feature_grid must be in \[1, 8\] .* got 99"):
        net.set_params(feature_grid=99).transform(X[:2])
    with pytest.raises(ValueError, match=r"g must be in \[1, 3\] for maps of 3 x 5, got 4"):
        ops.grid_max(np.zeros((1, 2, 3, 5), np.float32), 4)


@pytest.mark.parametrize("bad,kind,match", [
    (-1, ValueError, r"times must lie in \[0, 32767\].* got -1"),
    (40000, ValueError, r"got 40000"),
    (1.5, ValueError, r"whole spike steps, got 1.5"),
    (np.nan, ValueError, r"whole spike steps, got nan"),
    (True, TypeError, r"integer spike steps, got dtype bool"),
])
def test_conv_ops_refuse_bad_spike_times(bad, kind, match):
    """A negative step indexed before the kernels' time buckets (memory corruption);
    steps beyond int16 wrapped around: refused before any work, in every op."""
    from plasticity.conv import ops
    t = np.full((1, 1, 6, 6), 3, dtype=np.asarray(bad).dtype)
    t[0, 0, 2, 3] = bad
    w = np.full((2, 1, 3, 3), 0.5, np.float32)
    with pytest.raises(kind, match=match):
        ops.pool_first(t, 2)
    with pytest.raises(kind, match=match):
        ops.conv_forward(t, w, 1.0, 8)
    with pytest.raises(kind, match=match):
        ops.stdp_update(t[0], w, np.zeros((1, 4), np.int32), 0, 8, 0.004, 0.003)
    wt = ops.kernels_internal(w)
    with pytest.raises(kind, match=match):
        ops.train_layer(t, wt, 1.0, 8, 0, 1, 1, 0.004, 0.003)
    # whole float steps are accepted, as before
    assert ops.pool_first(np.full((1, 1, 4, 4), 3.0), 2).tolist() == [[[[3, 3], [3, 3]]]]


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_conv_forward_without_potentials_gives_the_same_times(threads):
    """Propagation through a layer skips filling the potentials: same spike times."""
    rng = np.random.default_rng(5)
    t = rng.integers(0, 12, size=(5, 2, 9, 9)).astype(np.int16)
    w = rng.uniform(0.2, 0.8, size=(4, 2, 3, 3)).astype(np.float32)
    t1, v1 = ops.conv_forward(t, w, 2.0, 10, pad=1, threads=threads)
    t2, v2 = ops.conv_forward(t, w, 2.0, 10, pad=1, threads=threads, potentials=False)
    assert v2 is None and v1.shape == t1.shape
    assert (t1 < 10).any() and (t1 == 10).any()   # some fire, some do not
    np.testing.assert_array_equal(t1, t2)
