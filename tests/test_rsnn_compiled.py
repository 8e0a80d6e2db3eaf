"""The compiled RSNN forward pass and online e-prop (_ext/eprop.pyx) against the NumPy
versions of plasticity.rsnn: spikes identical, floats to 1e-12 relative."""
import numpy as np
import pytest

from plasticity.errors import SimulationError
from plasticity.rsnn import RSNN, EProp, RSNNParams, eprop_gradients
from plasticity.rsnn._compiled import eprop_online_compiled, forward_compiled
from plasticity.rsnn.eprop import _online, _signals


def rel(a, b):
    scale = max(np.max(np.abs(b)), 1e-300)
    return np.max(np.abs(a - b)) / scale


def make(n_lif, n_alif, n_ref, seed=0, T=150, B=3, n_in=7, n_out=2, autapses=False):
    p = RSNNParams(n_in=n_in, n_lif=n_lif, n_alif=n_alif, n_out=n_out, tau_m=20.0,
                   tau_a=60.0, beta=0.4, v_th=0.1, n_ref=n_ref, tau_out=15.0,
                   autapses=autapses)
    net = RSNN(p, seed=seed, scale_in=1.0, scale_rec=0.6)
    rng = np.random.default_rng(seed + 100)
    x = (rng.random((T, B, n_in)) < 0.15).astype(np.float64)
    return net, x, rng


CASES = [(12, 0), (6, 6), (0, 10)]


@pytest.mark.parametrize("n_ref", [0, 1, 3])
@pytest.mark.parametrize("n_lif,n_alif", CASES)
def test_forward_equals_numpy(n_lif, n_alif, n_ref):
    net, x, _ = make(n_lif, n_alif, n_ref, seed=n_ref + 3 * n_lif)
    ref = net.forward(x, record_state=True)
    got = forward_compiled(net, x, record_state=True)
    assert ref.z.sum() > 50
    np.testing.assert_array_equal(got.z, ref.z)
    for k in ("psi", "y", "v", "a"):
        assert rel(getattr(got, k), getattr(ref, k)) < 1e-12, k
    assert got.x is not None and got.x.shape == x.shape
    # without recorded state
    plain = forward_compiled(net, x)
    assert plain.v is None and plain.a is None
    np.testing.assert_array_equal(plain.z, ref.z)


def test_forward_with_autapses_and_2d_input():
    net, x, _ = make(5, 5, 2, seed=7, autapses=True)
    np.fill_diagonal(net.w_rec, 0.3)
    ref = net.forward(x[:, 0])
    got = forward_compiled(net, x[:, 0])
    np.testing.assert_array_equal(got.z, ref.z)
    assert rel(got.y, ref.y) < 1e-12


@pytest.mark.parametrize("n_ref", [0, 3])
@pytest.mark.parametrize("n_lif,n_alif", CASES)
@pytest.mark.parametrize("signals", ["task", "raw", "both"])
def test_online_eprop_equals_numpy(n_lif, n_alif, n_ref, signals):
    net, x, rng = make(n_lif, n_alif, n_ref, seed=11 + n_ref)
    trace = net.forward(x)
    T, B, n = trace.z.shape
    dE_dy = rng.standard_normal(trace.y.shape)
    dE_dz = rng.standard_normal(trace.z.shape) if signals != "task" else None
    B_fb = rng.standard_normal((n, net.params.n_out))
    L_task, L_raw = _signals(net, trace, dE_dy, dE_dz, B_fb, None)
    if signals == "raw":
        L_task = None
    ref = _online(net, trace, L_task, L_raw)
    got = eprop_online_compiled(net, trace, L_task, L_raw)
    for g, r in zip(got, ref):
        assert np.any(r != 0)
        assert rel(g, r) < 1e-12
    np.testing.assert_array_equal(np.diag(got[1]), 0.0)


@pytest.mark.parametrize("feedback", ["symmetric", "random"])
def test_eprop_method_compiled(feedback):
    net, x, rng = make(6, 6, 2, seed=5)
    trace = forward_compiled(net, x)
    dE_dy = rng.standard_normal(trace.y.shape)
    dE_dz = rng.standard_normal(trace.z.shape)
    grads = {}
    for method in ("online", "adjoint", "compiled"):
        rule = EProp(net, feedback, seed=3, method=method)
        grads[method] = rule.gradients(trace, dE_dy, dE_dz)
    for k in ("w_in", "w_rec", "w_out"):
        assert rel(grads["compiled"][k], grads["online"][k]) < 1e-12
        assert rel(grads["compiled"][k], grads["adjoint"][k]) < 1e-12
    # a given learning signal
    L = rng.standard_normal(trace.z.shape)
    a = eprop_gradients(net, trace, dE_dy, learning_signal=L, method="compiled")
    b = eprop_gradients(net, trace, dE_dy, learning_signal=L, method="online")
    assert rel(a["w_rec"], b["w_rec"]) < 1e-12


def test_bad_inputs():
    net, x, _ = make(4, 2, 0)
    with pytest.raises(ValueError, match="x must have shape"):
        forward_compiled(net, x[:, :, :3])
    with pytest.raises(ValueError, match="at least one time step"):
        forward_compiled(net, x[:0])
    with pytest.raises(TypeError, match="net must be an RSNN"):
        forward_compiled("net", x)
    with pytest.raises(ValueError, match="method must be one of"):
        EProp(net, method="fast")
    trace = forward_compiled(net, x)
    with pytest.raises(ValueError, match="L_raw must have shape"):
        eprop_online_compiled(net, trace, None, np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="trace.psi must have shape"):
        eprop_online_compiled(net, trace._replace(psi=trace.psi[:-1]), None, None)
    with pytest.raises(ValueError, match="dE_dy must have shape"):
        eprop_gradients(net, trace, np.zeros((1, 1, 1)), method="compiled")
    big = net.copy()
    big.w_in[:, 0] = np.nan
    with pytest.raises(SimulationError, match="non-finite"):
        forward_compiled(big, np.ones_like(x))
    # (the compiled forward kernel's own shape checks: tests/test_rsnn_compiled_bptt.py)


def test_speed_benchmark_quick_run():
    import os
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, root)
    try:
        from benchmarks import eprop_speed
    finally:
        sys.path.remove(root)
    rows = eprop_speed.main(["--quick", "--repeats", "1"])
    grads = [r for r in rows if r["what"] == "e-prop gradients"]
    assert len(grads) == 3 and all(r["rel_err"] < 1e-12 for r in grads)
    assert {r["what"] for r in rows if r["config"].startswith("engine")} == {
        "no rule", "EPropRule", "EPropRule + kappa filter"}
