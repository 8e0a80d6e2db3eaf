"""Compiled simulate (2-D and per-episode 3-D weights) and compiled BPTT
(_ext/rsnn_kernels.pyx, ``method="compiled"``) against the NumPy versions: spikes
identical, floats within 1e-12 relative, for every option."""
import importlib

import numpy as np
import pytest

from plasticity.errors import SimulationError
from plasticity.rsnn import RSNN, OneShotLearning, RSNNParams, bptt, mse_loss
from plasticity.rsnn.network import (default_method, filter_backward, filter_forward,
                                     resolve_method, set_default_method, simulate)

TOL = 1e-12
bptt_module = importlib.import_module("plasticity.rsnn.bptt")   # (the package exports
                                                                 # the function as bptt)


def rel(a, b):
    scale = max(np.max(np.abs(b)), 1e-300)
    return np.max(np.abs(a - b)) / scale


def make(n_lif, n_alif, n_ref, B, seed=0, T=120, n_in=7, n_out=3):
    p = RSNNParams(n_in=n_in, n_lif=n_lif, n_alif=n_alif, n_out=n_out, tau_m=20.0,
                   tau_a=60.0, beta=0.4, v_th=0.1, n_ref=n_ref, tau_out=15.0)
    net = RSNN(p, seed=seed, scale_in=1.0, scale_rec=0.6)
    rng = np.random.default_rng(seed + 100)
    x = rng.random((T, B, n_in)) * (rng.random((T, B, n_in)) < 0.3)   # sparse currents
    return net, x, rng


def episode_weights(net, B, rng, which=("w_in", "w_rec", "w_out")):
    """Per-episode (3-D) versions of some of the weights, the rest shared."""
    w = {}
    for k in which:
        base = net.weights[k]
        w[k] = base[None] + 0.1 * np.std(base) * rng.standard_normal((B,) + base.shape)
    return w


CASES = [(10, 0), (5, 5), (0, 9)]


@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("n_ref", [0, 1, 5])
@pytest.mark.parametrize("n_lif,n_alif", CASES)
@pytest.mark.parametrize("wdim", [2, 3])
def test_simulate_equals_numpy(n_lif, n_alif, n_ref, B, wdim):
    net, x, rng = make(n_lif, n_alif, n_ref, B, seed=n_ref + 7 * n_lif + B)
    w = None if wdim == 2 else episode_weights(net, B, rng)
    ref = net.forward(x, record_state=True, weights=w, method="numpy")
    got = net.forward(x, record_state=True, weights=w, method="compiled")
    assert ref.z.sum() > 20 * B
    np.testing.assert_array_equal(got.z, ref.z)
    for k in ("psi", "y", "v", "a"):
        assert rel(getattr(got, k), getattr(ref, k)) < TOL, k
    plain = net.forward(x, weights=w, method="compiled")
    assert plain.v is None and plain.a is None
    np.testing.assert_array_equal(plain.z, ref.z)
    # the default (auto) is the compiled path for heaviside spikes
    auto = net.forward(x, weights=w)
    np.testing.assert_array_equal(auto.z, ref.z)
    assert rel(auto.y, got.y) == 0.0


def test_simulate_mixed_shared_and_episode_weights():
    net, x, rng = make(5, 5, 2, 3, seed=3)
    p = net.params
    for keys in (("w_in",), ("w_rec",), ("w_out",), ("w_in", "w_rec")):
        w = dict(net.weights)
        w.update(episode_weights(net, 3, rng, keys))
        ref = simulate(p, w["w_in"], w["w_rec"], w["w_out"], x, method="numpy")
        got = simulate(p, w["w_in"], w["w_rec"], w["w_out"], x, method="compiled")
        np.testing.assert_array_equal(got.z, ref.z)
        assert rel(got.y, ref.y) < TOL and rel(got.psi, ref.psi) < TOL


def test_simulate_3d_w_rec_is_masked():
    net, x, rng = make(6, 0, 0, 2, seed=4)
    w = episode_weights(net, 2, rng, ("w_rec",))
    w["w_rec"][:, np.arange(6), np.arange(6)] = 5.0     # diagonal ignored (no autapses)
    ref = net.forward(x, weights=w, method="numpy")
    got = net.forward(x, weights=w, method="compiled")
    np.testing.assert_array_equal(got.z, ref.z)
    assert rel(got.y, ref.y) < TOL


def test_smooth_spikes_fall_back_to_numpy():
    net, x, _ = make(5, 5, 0, 2, seed=5)
    assert resolve_method(None, "smooth") == "numpy"
    assert resolve_method("auto", "smooth") == "numpy"
    a = net.forward(x, spike_fn="smooth")
    b = net.forward(x, spike_fn="smooth", method="numpy")
    np.testing.assert_array_equal(a.z, b.z)
    with pytest.raises(ValueError, match="heaviside"):
        net.forward(x, spike_fn="smooth", method="compiled")
    with default_method("compiled"):        # a compiled default still falls back
        c = net.forward(x, spike_fn="smooth")
        np.testing.assert_array_equal(c.z, b.z)
        d = bptt(net, c, np.ones_like(c.y))
        e = bptt(net, c, np.ones_like(c.y), method="numpy")
        for k in ("w_in", "w_rec", "w_out"):
            np.testing.assert_array_equal(d[k], e[k])


def test_default_method_switch():
    assert set_default_method("numpy") == "auto"
    try:
        assert resolve_method(None) == "numpy"
        with default_method("compiled"):
            assert resolve_method(None) == "compiled"
        assert resolve_method(None) == "numpy"
    finally:
        set_default_method("auto")
    with pytest.raises(ValueError):
        set_default_method("fast")
    net, x, _ = make(4, 0, 0, 1)
    with pytest.raises(ValueError):
        net.forward(x, method="fast")


@pytest.mark.parametrize("B", [1, 3])
@pytest.mark.parametrize("n_ref", [0, 1, 5])
@pytest.mark.parametrize("n_lif,n_alif", CASES)
@pytest.mark.parametrize("wdim", [2, 3])
@pytest.mark.parametrize("detach", ["none", "reset", "z"])
@pytest.mark.parametrize("route", ["blas", "window"])
def test_bptt_equals_numpy(n_lif, n_alif, n_ref, B, wdim, detach, route, monkeypatch):
    # the input-side products by BLAS, or summed over the neurons in the psi window
    monkeypatch.setattr(bptt_module, "PG_DENSITY_MAX", -1.0 if route == "blas" else 1.0)
    net, x, rng = make(n_lif, n_alif, n_ref, B, seed=2 * n_ref + n_lif + B)
    w = None if wdim == 2 else episode_weights(net, B, rng)
    tr = net.forward(x, record_state=True, weights=w)
    assert np.any(tr.psi > 0)
    dE_dy = rng.standard_normal(tr.y.shape)
    dE_dz = rng.standard_normal(tr.z.shape)
    dE_dpsi = rng.standard_normal(tr.z.shape)
    for per_episode in (False, True):
        for extra in ({}, {"dE_dpsi": dE_dpsi}):
            kw = dict(detach=detach, weights=w, per_episode=per_episode,
                      return_signals=True, return_input_grad=True, **extra)
            for dz in (None, dE_dz):
                ref = bptt(net, tr, dE_dy, dz, method="numpy", **kw)
                got = bptt(net, tr, dE_dy, dz, method="compiled", **kw)
                assert set(got) == set(ref)
                for k in ref:
                    assert got[k].shape == ref[k].shape, k
                    assert np.any(ref[k] != 0), k
                    assert rel(got[k], ref[k]) < TOL, (k, per_episode, extra.keys(), dz)
            # minimal options: the default method gives the compiled numbers
            auto = bptt(net, tr, dE_dy, weights=w, detach=detach, per_episode=per_episode)
            comp = bptt(net, tr, dE_dy, weights=w, detach=detach, per_episode=per_episode,
                        method="compiled")
            for k in ("w_in", "w_rec", "w_out"):
                np.testing.assert_array_equal(auto[k], comp[k])


def test_bptt_rec_gradient_masked_and_silent_network():
    net, x, rng = make(5, 5, 2, 3, seed=9)
    tr = net.forward(x)
    g = bptt(net, tr, rng.standard_normal(tr.y.shape), method="compiled")
    np.testing.assert_array_equal(np.diag(g["w_rec"]), 0.0)
    # no input: no spikes, psi 0 everywhere: zero input/recurrent gradients
    tr0 = net.forward(np.zeros_like(x))
    g0 = bptt(net, tr0, rng.standard_normal(tr0.y.shape), method="compiled")
    g1 = bptt(net, tr0, rng.standard_normal(tr0.y.shape), method="numpy")
    for k in ("w_in", "w_rec", "w_out"):
        np.testing.assert_array_equal(g0[k], 0.0)
        np.testing.assert_array_equal(g1[k], 0.0)


def test_filters_bit_identical():
    rng = np.random.default_rng(0)
    u = rng.standard_normal((50, 3, 4))
    for f in (filter_forward, filter_backward):
        with default_method("numpy"):
            ref = f(u, 0.9)
        np.testing.assert_array_equal(f(u, 0.9), ref)
        # a non-contiguous view takes the NumPy loop, its copy the compiled filter
        np.testing.assert_array_equal(f(u[:, 0], 0.7), f(u[:, 0].copy(), 0.7))
    # non-contiguous and float32 inputs take the NumPy loop
    assert filter_forward(u[:, :, ::2], 0.5).shape == (50, 3, 2)
    assert filter_forward(u.astype(np.float32), 0.5).dtype == np.float32


def test_bad_shapes_raise_before_compiled_code():
    net, x, rng = make(5, 5, 2, 3, seed=1)
    p = net.params
    with pytest.raises(ValueError, match="x must have shape"):
        simulate(p, net.w_in, net.w_rec, net.w_out, x[:, :, :3], method="compiled")
    with pytest.raises(ValueError, match="w_in"):
        simulate(p, net.w_in[:-1], net.w_rec, net.w_out, x, method="compiled")
    with pytest.raises(ValueError, match="w_rec"):
        simulate(p, net.w_in, np.zeros((2,) + net.w_rec.shape), net.w_out, x,
                 method="compiled")
    with pytest.raises(ValueError, match="w_out"):
        simulate(p, net.w_in, net.w_rec, net.w_out.T, x, method="compiled")
    with pytest.raises(ValueError):
        net.forward(x, weights={"w_in": np.zeros((4,) + net.w_in.shape)}, method="compiled")
    tr = net.forward(x, record_state=True)
    dy = np.zeros(tr.y.shape)
    with pytest.raises(ValueError, match="dE_dy"):
        bptt(net, tr, dy[:, :, :1], method="compiled")
    with pytest.raises(ValueError, match="dE_dz"):
        bptt(net, tr, dy, np.zeros((3, 3)), method="compiled")
    with pytest.raises(ValueError, match="dE_dpsi"):
        bptt(net, tr, dy, dE_dpsi=np.zeros((2, 2)), method="compiled")
    with pytest.raises(ValueError, match="record_state"):
        bptt(net, net.forward(x), dy, dE_dpsi=np.zeros(tr.z.shape), method="compiled")
    with pytest.raises(ValueError, match="trace.psi"):
        bptt(net, tr._replace(psi=tr.psi[:-1]), dy, method="compiled")
    with pytest.raises(ValueError, match="trace.x"):
        bptt(net, tr._replace(x=tr.x[:, :, :2]), dy, method="compiled")
    with pytest.raises(ValueError):
        bptt(net, tr, dy, weights={"w_rec": np.zeros((5, 10, 10))}, method="compiled")
    with pytest.raises(ValueError):
        bptt(net, tr, dy, method="fast")


def test_non_finite_raises_simulation_error():
    net, x, _ = make(5, 5, 0, 2, seed=2)
    w_in = net.w_in.copy()
    w_in[0, 0] = np.nan
    for m in ("numpy", "compiled"):
        with pytest.raises(SimulationError):
            simulate(net.params, w_in, net.w_rec, net.w_out, np.ones_like(x), method=m)
        with pytest.raises(SimulationError):
            simulate(net.params, np.full((2,) + w_in.shape, np.nan), net.w_rec, net.w_out,
                     x, method=m)


def test_oneshot_episode_compiled_equals_numpy():
    """The whole outer gradient (training trial, LSG, test trial with per-episode
    weights) on the default (compiled) kernels equals the NumPy one."""
    rng = np.random.default_rng(3)
    pl = RSNNParams(n_in=6, n_lif=12, n_out=2, v_th=0.3, n_ref=2)
    pg = RSNNParams(n_in=6 + 2 + 12, n_lif=10, n_alif=5, n_out=12, v_th=0.3, n_ref=2,
                    tau_a=100.0)
    osl = OneShotLearning(RSNN(pl, seed=1, scale_in=3.0), RSNN(pg, seed=2, scale_in=2.0,
                                                                scale_out=0.5),
                          eta=0.05, reg_coeff=0.1)
    T, B = 80, 3
    x1 = (rng.random((T, B, 6)) < 0.2) * 1.0
    x2 = (rng.random((T, B, 6)) < 0.2) * 1.0
    s1 = rng.standard_normal((T, B, 2))
    target = rng.standard_normal((T, B, 2))
    outs = {}
    for m in ("numpy", "compiled"):
        with default_method(m):
            outs[m] = osl.episode(x1, s1, x2, lambda y: mse_loss(y, target), order="full")
    a, b = outs["numpy"], outs["compiled"]
    for t in ("trace1", "trace2", "lsg_trace"):
        assert a[t].z.sum() > 0
        np.testing.assert_array_equal(a[t].z, b[t].z)
    assert abs(a["loss"] - b["loss"]) <= TOL * abs(a["loss"])
    for k in a["grads"]:
        assert np.any(a["grads"][k] != 0), k
        assert rel(b["grads"][k], a["grads"][k]) < 1e-11, k


@pytest.mark.parametrize("m", ["numpy", "compiled"])
def test_non_finite_names_the_step_episode_and_neuron(m):
    """The first non-finite membrane potential is named by step (and ms), episode and
    neuron, LIF or ALIF (it said only 'non-finite membrane potential')."""
    net, x, _ = make(3, 2, 0, 4, seed=2)
    x = np.zeros_like(x)
    x[37, 2, 5] = 10.0            # input channel 5 at step 37, episode 2 ...
    w_in = np.zeros_like(net.w_in)
    w_in[5, 4] = 1e308            # ... into neuron 4 (the second ALIF): 1e309 = inf
    with pytest.raises(SimulationError, match=r"^RSNN: non-finite membrane potential at "
                                              r"step 37 \(t = 37 ms, of 120 steps\), "
                                              r"episode 2 of the batch, neuron 4 \(ALIF "
                                              r"1\): weights too large\?$"):
        simulate(net.params, w_in, net.w_rec, net.w_out, x, method=m)


def test_pseudo_derivative_is_nan_for_an_infinite_v_without_a_warning():
    """psi of an infinite v - A is NaN (it was 0: the forward pass's check of psi
    missed an infinite v), with no NumPy warning (the NaN is intended); finite values
    unchanged, -0 included."""
    import warnings
    from plasticity.rsnn.network import pseudo_derivative
    d = np.array([np.inf, -np.inf, np.nan, 0.1, -0.7, 0.0, -0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        psi = pseudo_derivative(d, 0.6, 0.3)
    assert np.all(np.isnan(psi[:3]))
    want = (0.3 / 0.6) * np.maximum(0.0, 1.0 - np.abs(d[3:]) / 0.6)
    assert np.array_equal(psi[3:], want) and not np.any(np.signbit(psi[3:]))
