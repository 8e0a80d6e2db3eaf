"""Property-based tests (hypothesis) of the compiled kernels' Python entry points
against plain Python twins, on random shapes and values.

- ``plasticity._ext.rules``: ``decayed`` (event-driven trace), ``weight_dependence``
  (f+ and f- of the four weight dependences), ``apply_depress``/``apply_potentiate``;
- ``plasticity._ext.neurons``: ``update`` (LIF one step = the matrix exponential of its
  linear ODE; Izhikevich = NumPy forward Euler) and ``reset``;
- ``SynapseMatrix`` builders and round trips: dense, scipy.sparse, HDF5 (run file),
  the post->synapse index, non-contiguous inputs.
"""
import math

import numpy as np
import pytest
import scipy.sparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.linalg import expm

from plasticity import (STDP, Additive, Kheradpisheh, Multiplicative, Pair, PowerLaw,
                        SynapseMatrix, Triplet)
from plasticity import neurons as N
from plasticity._ext import neurons as xn
from plasticity._ext import rules as xr

from twins import f_weight
from test_synapses import ref_post_index
from test_neurons import _lif_matrix, izh_reference

DT = 0.1
SET = settings(max_examples=80, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
pos = st.floats(0.05, 200.0, allow_nan=False)
amp = st.floats(0.0, 2.0, allow_nan=False)


@st.composite
def weight_rule(draw):
    kind = draw(st.sampled_from(["additive", "multiplicative", "power", "ww"]))
    w_min = draw(st.floats(-2.0, 1.0))
    w_max = w_min + draw(st.floats(0.01, 5.0))
    mu_p, mu_m = draw(st.floats(0.0, 3.0)), draw(st.floats(0.0, 3.0))
    obj = {"additive": lambda: Additive(w_min, w_max),
           "multiplicative": lambda: Multiplicative(w_min, w_max),
           "power": lambda: PowerLaw(w_min, w_max, mu_p, mu_m),
           "ww": lambda: Kheradpisheh(w_min, w_max)}[kind]()
    return kind, obj, w_min, w_max, mu_p, mu_m


@st.composite
def timing_rule(draw):
    if draw(st.booleans()):
        a_p, a_m = draw(amp), draw(amp)
        return Pair(draw(pos), draw(pos), a_p, a_m), (a_p, a_m, 0.0, 0.0)
    a2p, a3p, a2m, a3m = draw(amp), draw(amp), draw(amp), draw(amp)
    return (Triplet(draw(pos), draw(pos), draw(pos), draw(pos), a2_plus=a2p, a3_plus=a3p,
                    a2_minus=a2m, a3_minus=a3m), (a2p, a2m, a3p, a3m))


@SET
@given(value=st.floats(-1e6, 1e6), last=st.integers(-10**9, 10**9),
       gap=st.integers(0, 10**6), c=st.floats(0.0, 10.0))
def test_decayed_trace_is_exponential(value, last, gap, c):
    got = xr.decayed(value, last, last + gap, c)
    want = value * math.exp(-gap * c)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-300)


@SET
@given(rule=weight_rule(), n=st.integers(0, 60), seed=st.integers(0, 2**32 - 1))
def test_weight_dependence_matches_twin(rule, n, seed):
    kind, obj, w_min, w_max, mu_p, mu_m = rule
    rng = np.random.default_rng(seed)
    span = w_max - w_min
    w = rng.uniform(w_min - 0.2 * span, w_max + 0.2 * span, n)
    w[: n // 4] = rng.choice([w_min, w_max], n // 4)  # the bounds themselves
    fp, fm = xr.weight_dependence(STDP(Pair(), obj).kernel_parameters(DT), w)
    rp, rm = f_weight(kind, w, w_min, w_max, mu_p, mu_m)
    assert fp.shape == fm.shape == (n,)
    np.testing.assert_allclose(fp, rp, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(fm, rm, rtol=1e-12, atol=1e-300)


@SET
@given(rule=weight_rule(), timing=timing_rule(), u=st.floats(-0.2, 1.2),
       o=st.floats(0.0, 20.0), r=st.floats(0.0, 20.0))
def test_apply_depress_and_potentiate_match_twin(rule, timing, u, o, r):
    kind, obj, w_min, w_max, mu_p, mu_m = rule
    t, (a_p, a_m, a3_p, a3_m) = timing
    packed = STDP(t, obj).kernel_parameters(DT)
    w = w_min + u * (w_max - w_min)
    fp, fm = f_weight(kind, np.array([w]), w_min, w_max, mu_p, mu_m)
    want_dep = min(max(w - fm[0] * o * (a_m + a3_m * r), w_min), w_max)
    want_pot = min(max(w + fp[0] * r * (a_p + a3_p * o), w_min), w_max)
    tol = 1e-12 * max(1.0, abs(w), w_max - w_min)
    assert xr.apply_depress(packed, w, o, r) == pytest.approx(want_dep, rel=1e-12, abs=tol)
    assert xr.apply_potentiate(packed, w, r, o) == pytest.approx(want_pot, rel=1e-12, abs=tol)


@SET
@given(n=st.integers(0, 40), tau_m=st.floats(1.0, 100.0), C_m=st.floats(10.0, 1000.0),
       tau_ex=st.floats(0.2, 50.0), tau_in=st.floats(0.2, 50.0),
       seed=st.integers(0, 2**32 - 1))
def test_lif_update_is_the_matrix_exponential_and_threshold(n, tau_m, C_m, tau_ex, tau_in,
                                                            seed):
    if abs(tau_ex - tau_m) < 1e-3 or abs(tau_in - tau_m) < 1e-3:
        tau_ex *= 1.01  # the degenerate case has its own formula (tested elsewhere)
    m = N.LIF(tau_m=tau_m, C_m=C_m, E_L=-70.0, V_th=-55.0, V_reset=-65.0, t_ref=0.0,
              tau_syn_ex=tau_ex, tau_syn_in=tau_in)
    rng = np.random.default_rng(seed)
    s = m.initial_state(n)
    s[0] = rng.uniform(-80, -54, n)
    s[1] = rng.uniform(0, 500, n)
    s[2] = rng.uniform(-500, 0, n)
    s[3] = rng.uniform(-200, 200, n)
    x1 = expm(_lif_matrix(tau_m, C_m, tau_ex, tau_in) * DT) @ np.vstack(
        [s[0] + 70.0, s[1], s[2], s[3]])
    p = m.packed_params(DT)
    spikes = xn.update(m.model_id, s, p)
    v_new = x1[0] - 70.0
    clear = np.abs(v_new + 55.0) > 1e-8  # leave ties at the threshold to rounding
    want = np.flatnonzero(v_new >= -55.0)
    assert set(spikes[clear[spikes]].tolist()) == set(want[clear[want]].tolist())
    assert np.all(np.diff(spikes) > 0)
    quiet = np.setdiff1d(np.arange(n), spikes)
    np.testing.assert_allclose(s[0, quiet], v_new[quiet], rtol=1e-11, atol=1e-9)
    np.testing.assert_allclose(s[1:3], x1[1:3], rtol=1e-11, atol=1e-9)
    xn.reset(m.model_id, s, p, spikes.astype(np.int32))
    assert np.all(s[0, spikes] == -65.0)
    np.testing.assert_allclose(s[0, quiet], v_new[quiet], rtol=1e-11, atol=1e-9)


@SET
@given(n=st.integers(1, 30), a=st.floats(0.005, 0.1), b=st.floats(0.1, 0.3),
       c=st.floats(-70.0, -45.0), d=st.floats(0.0, 10.0), seed=st.integers(0, 2**32 - 1))
def test_izhikevich_update_and_reset_match_forward_euler(n, a, b, c, d, seed):
    m = N.Izhikevich(a=a, b=b, c=c, d=d)
    rng = np.random.default_rng(seed)
    s = m.initial_state(n)
    s[0] = rng.uniform(-80.0, 40.0, n)
    s[1] = rng.uniform(-20.0, 20.0, n)
    s[2] = rng.uniform(0.0, 10.0, n)
    I = rng.uniform(0.0, 20.0, (1, n))
    p = m.packed_params(DT)
    ref_spikes, ref = izh_reference(p, s.copy(), I, np.zeros((1, n)))
    s[3] = I[0]
    spikes = xn.update(m.model_id, s, p)
    xn.reset(m.model_id, s, p, spikes.astype(np.int32))
    assert sorted(spikes.tolist()) == sorted(i for _, i in ref_spikes)
    np.testing.assert_allclose(s[0], ref[0, 0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(s[1], ref[0, 1], rtol=1e-12, atol=1e-12)


@st.composite
def dense(draw):
    n_pre, n_post = draw(st.integers(0, 25)), draw(st.integers(0, 25))
    density = draw(st.floats(0.0, 1.0))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    W = np.where(rng.random((n_pre, n_post)) < density,
                 rng.normal(size=(n_pre, n_post)), 0.0).astype(dtype)
    return W


@SET
@given(W=dense())
def test_synapse_matrix_dense_and_scipy_round_trips(W):
    m = SynapseMatrix.from_dense(W)
    assert m.shape == W.shape and m.dtype == W.dtype
    assert np.array_equal(m.to_dense(), W)
    S = m.to_scipy()
    assert np.array_equal(S.toarray(), W)
    m2 = SynapseMatrix.from_scipy(scipy.sparse.csr_array(W))
    assert np.array_equal(m2.indptr, m.indptr) and np.array_equal(m2.indices, m.indices)
    assert np.array_equal(m2.weights, m.weights)
    m3 = SynapseMatrix(m.indptr, m.indices, m.weights, m.shape)
    ptr, syn, pre = ref_post_index(m3.indptr, m3.indices, m3.n_post)
    assert np.array_equal(m3.post_ptr, ptr) and np.array_equal(m3.post_syn, syn)
    assert np.array_equal(m3.post_pre, pre)
    c = m.copy()
    c.weights[...] = 0
    assert np.array_equal(m.to_dense(), W)  # copy() shares nothing


@SET
@given(W=dense(), step=st.integers(2, 3))
def test_non_contiguous_inputs_give_the_same_matrix(W, step):
    m = SynapseMatrix.from_dense(W)
    nnz = m.nnz

    def strided(x):
        big = np.zeros(x.shape[0] * step, dtype=x.dtype)
        big[::step] = x
        v = big[::step]
        assert v.shape == x.shape and (not v.flags.c_contiguous or x.shape[0] <= 1)
        return v

    m2 = SynapseMatrix(strided(m.indptr), strided(m.indices), strided(m.weights), m.shape)
    assert m2.nnz == nnz and np.array_equal(m2.to_dense(), W)
    for a in (m2.indptr, m2.indices, m2.weights, m2.post_syn):
        assert a.flags.c_contiguous
    Wf = np.asfortranarray(W)
    assert np.array_equal(SynapseMatrix.from_dense(Wf).to_dense(), W)
    if W.shape[1] > 1:
        assert np.array_equal(SynapseMatrix.from_dense(W[:, ::2]).to_dense(), W[:, ::2])


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(W=dense())
def test_synapse_matrix_hdf5_round_trip(W, tmp_path):
    from plasticity import results
    m = SynapseMatrix.from_dense(W)
    path = tmp_path / "s.h5"
    with results.Recorder(str(path), experiment="t", config={}, seed=0, overwrite=True,
                          quiet=True) as rec:
        rec.set_synapses("p", m.indptr, m.indices, m.weights, m.shape, "a", "b")
    with results.load(str(path)) as run:
        S = run.weights("p", snapshot=None)
        assert S.shape == W.shape and S.dtype == W.dtype
        assert np.array_equal(S.toarray(), W)
        back = SynapseMatrix.from_scipy(S)
    assert np.array_equal(back.indices, m.indices) and np.array_equal(back.weights, m.weights)
