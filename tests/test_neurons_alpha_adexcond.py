"""Alpha-shaped synapses (LIFAlpha, LIFCondAlpha, AdExCondAlpha) and the
conductance-based AdEx (AdExCond, AdExCondAlpha): each compiled update against a plain
NumPy reference of the same equations on random inputs and parameters (the alpha
propagators from scipy's matrix exponential, not from our formulas), the alpha
kernel's peak, the clamp of the spike step at V_peak, non-finite state, validation,
and identical results for any number of threads."""
import math

import numpy as np
import pytest
from scipy.linalg import expm

from plasticity import Network
from plasticity import network as network_module
from plasticity import neurons as N
from plasticity._ext import engine
from plasticity._ext import neurons as ext
from plasticity.errors import SimulationError

from test_neurons import simulate

DT = 0.1


def alpha_matrix(tau):
    """d(g, y)/dt = A (g, y) for the alpha pair with time constant tau."""
    return np.array([[-1.0 / tau, math.e / tau], [0.0, -1.0 / tau]])


def pair_propagator(tau, dt=DT):
    return expm(alpha_matrix(tau) * dt)


def random_inputs(rng, steps, n, receptors, p_spike, w_lo, w_hi):
    """dict step -> [(receptor, ids, weights)] of random weighted spikes."""
    inputs = {}
    for t in range(steps):
        for r in receptors:
            ids = np.flatnonzero(rng.random(n) < p_spike)
            if ids.size:
                inputs.setdefault(t, []).append((r, ids, rng.uniform(w_lo, w_hi, ids.size)))
    return inputs


def received(inputs, steps, n, receptor):
    """(steps, n) array of the weights arriving on ``receptor`` at each step."""
    out = np.zeros((steps, n))
    for t, items in inputs.items():
        for r, ids, w in items:
            if r == receptor:
                out[t, ids] += w
    return out


# ---------------------------------------------------------------------------
# LIFAlpha: exact propagation
# ---------------------------------------------------------------------------
def lif_alpha_matrix(q):
    """The linear system (v - E_L, I_ex, y_ex, I_in, y_in, I_ext) of LIFAlpha."""
    A = np.zeros((6, 6))
    A[0, 0] = -1.0 / q["tau_m"]
    A[0, [1, 3, 5]] = 1.0 / q["C_m"]
    A[1:3, 1:3] = alpha_matrix(q["tau_syn_ex"])
    A[3:5, 3:5] = alpha_matrix(q["tau_syn_in"])
    return A


@pytest.mark.parametrize("tau_ex,tau_in", [(0.5, 2.0), (10.0, 10.0), (10.0 + 1e-9, 7.3),
                                           (9.99, 40.0), (0.05, 10.0 - 1e-6)])
def test_lif_alpha_one_step_equals_expm(tau_ex, tau_in):
    m = N.LIFAlpha(tau_m=10.0, C_m=250.0, tau_syn_ex=tau_ex, tau_syn_in=tau_in,
                   V_th=1e6, V_reset=-70.0)
    q = m.parameters()
    rng = np.random.default_rng(1)
    n = 7
    s = m.initial_state(n)
    rows = [m.var_index(k) for k in ("I_syn_ex", "y_ex", "I_syn_in", "y_in", "I_ext")]
    s[0] = rng.uniform(-80, -50, n)
    for r in rows:
        s[r] = rng.uniform(-300, 300, n)
    x = np.vstack([s[0] - q["E_L"]] + [s[r] for r in rows])
    want = expm(lif_alpha_matrix(q) * DT) @ x
    ext.update(m.model_id, s, m.packed_params(DT))
    np.testing.assert_allclose(s[0] - q["E_L"], want[0], rtol=1e-11, atol=1e-11)
    for k, r in enumerate(rows[:4]):
        np.testing.assert_allclose(s[r], want[k + 1], rtol=1e-12, atol=1e-11)


def lif_alpha_reference(m, dt, n, I, inputs, steps):
    """NumPy: the exact propagator from expm, Brian2's refractoriness, threshold >=."""
    q = m.parameters()
    P = expm(lif_alpha_matrix(q) * dt)
    R = int(math.floor(q["t_ref"] / dt + 1e-3))
    x = np.zeros((6, n))
    x[0] = 0.0
    ref = np.zeros(n)
    w_ex = received(inputs, steps, n, "y_ex")
    w_in = received(inputs, steps, n, "y_in")
    spikes, v_trace, i_trace = [], [], []
    for t in range(steps):
        x[5] = I[t]
        ref = np.where(ref > 0, ref - 1, ref)
        held = ref > 0
        new = P @ x
        new[0] = np.where(held, x[0], new[0])
        new[5] = x[5]
        x = new
        fired = np.flatnonzero((x[0] + q["E_L"] >= q["V_th"]) & ~held)
        x[2] += w_ex[t]
        x[4] += w_in[t]
        x[0, fired] = q["V_reset"] - q["E_L"]
        ref[fired] = R
        spikes.extend((t, int(i)) for i in fired)
        v_trace.append(x[0] + q["E_L"])
        i_trace.append(x[1].copy())
    return spikes, np.array(v_trace), np.array(i_trace)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lif_alpha_equals_numpy_reference_on_random_inputs(seed):
    rng = np.random.default_rng(seed)
    m = N.LIFAlpha(tau_m=rng.uniform(5, 30), C_m=rng.uniform(100, 400),
                   E_L=-65.0, V_th=rng.uniform(-58, -50), V_reset=-68.0,
                   t_ref=[0.0, 0.26, 2.0][seed], tau_syn_ex=rng.uniform(0.3, 8),
                   tau_syn_in=rng.uniform(0.3, 8))
    n, steps = 6, 3000
    I = rng.uniform(0, 400, (steps, n))
    inputs = random_inputs(rng, steps, n, ("y_ex", "y_in"), 0.03, -150.0, 300.0)
    spikes, rec = simulate(m, steps, n=n, I=I, inputs=inputs)
    ref_spikes, v, iex = lif_alpha_reference(m, DT, n, I, inputs, steps)
    assert len(spikes) > 30
    assert spikes == ref_spikes
    np.testing.assert_allclose(rec["v"], v, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(rec["I_syn_ex"], iex, rtol=1e-10, atol=1e-9)


@pytest.mark.parametrize("cls,receptor,g", [(N.LIFAlpha, "y_ex", "I_syn_ex"),
                                            (N.LIFCondAlpha, "y_e", "g_e"),
                                            (N.AdExCondAlpha, "y_e", "g_e")])
def test_alpha_weight_is_the_peak(cls, receptor, g):
    """A weight w gives w (e t/tau) exp(-t/tau): w at t = tau, its maximum."""
    tau = 2.0
    kw = dict(tau_syn_ex=tau) if cls is N.LIFAlpha else dict(tau_e=tau)
    m = cls(**kw)
    w = 0.37
    steps = 80
    _, rec = simulate(m, steps, inputs={0: [(receptor, [0], w)]}, record=[g])
    t = (np.arange(steps) + 1) * DT - DT   # the input arrives after step 0's update
    want = w * math.e * t / tau * np.exp(-t / tau)
    np.testing.assert_allclose(rec[g][:, 0], want, rtol=1e-12, atol=1e-15)
    k = int(np.argmax(rec[g][:, 0]))
    assert rec[g][k, 0] == pytest.approx(w, rel=1e-12) and t[k] == pytest.approx(tau)


# ---------------------------------------------------------------------------
# LIFCondAlpha: exponential Euler for v, the alpha pairs exact
# ---------------------------------------------------------------------------
def pair_mean(tau, dt=DT):
    """Row 0 of (1/dt) int_0^dt expm(A t) dt (the mean of g over a step from (g, y)),
    from the augmented matrix exponential [[A, I], [0, 0]]."""
    M = np.zeros((4, 4))
    M[:2, :2] = alpha_matrix(tau)
    M[:2, 2:] = np.eye(2)
    return expm(M * dt)[0, 2:] / dt


def lifcond_alpha_reference(m, dt, n, I, inputs, steps):
    q = m.parameters()
    Pe, Pi = pair_propagator(q["tau_e"], dt), pair_propagator(q["tau_i"], dt)
    Me, Mi = pair_mean(q["tau_e"], dt), pair_mean(q["tau_i"], dt)
    R = int(math.floor(q["t_ref"] / dt + 1e-3))
    v = np.full(n, q["E_L"])
    ge, ye, gi, yi = (np.zeros(n) for _ in range(4))
    theta = np.full(n, q["theta_init"])
    ref = np.zeros(n)
    w_e, w_i = received(inputs, steps, n, "y_e"), received(inputs, steps, n, "y_i")
    spikes, vs, gs = [], [], []
    for t in range(steps):
        ref = np.where(ref > 0, ref - 1, ref)
        held = ref > 0
        ce, ci = Me[0] * ge + Me[1] * ye, Mi[0] * gi + Mi[1] * yi   # step means
        g = 1.0 + ce + ci
        vinf = (q["E_L"] + ce * q["E_e"] + ci * q["E_i"] + I[t]) / g
        vn = vinf + (v - vinf) * np.exp(-dt / q["tau_m"] * g)
        v = np.where(held, v, vn)
        ge, ye = Pe[0, 0] * ge + Pe[0, 1] * ye, Pe[1, 1] * ye
        gi, yi = Pi[0, 0] * gi + Pi[0, 1] * yi, Pi[1, 1] * yi
        theta = theta * math.exp(-dt / q["tau_theta"])
        fired = np.flatnonzero((v > q["V_th"] + theta) & ~held)
        ye = ye + w_e[t]
        yi = yi + w_i[t]
        v[fired] = q["V_reset"]
        theta[fired] += q["theta_plus"]
        ref[fired] = R
        spikes.extend((t, int(i)) for i in fired)
        vs.append(v.copy())
        gs.append(np.vstack([ge, gi, theta]))
    return spikes, np.array(vs), np.array(gs)


@pytest.mark.parametrize("seed", [0, 1])
def test_lifcond_alpha_equals_numpy_reference_on_random_inputs(seed):
    rng = np.random.default_rng(10 + seed)
    m = N.LIFCondAlpha(tau_m=rng.uniform(8, 25), E_L=-70.0, V_th=-54.0, V_reset=-65.0,
                       E_e=0.0, E_i=-80.0, tau_e=rng.uniform(0.2, 5),
                       tau_i=rng.uniform(0.5, 8), t_ref=[0.0, 1.0][seed],
                       theta_plus=[0.0, 0.7][seed], tau_theta=50.0)
    n, steps = 6, 3000
    I = rng.uniform(15, 45, (steps, n))
    inputs = random_inputs(rng, steps, n, ("y_e", "y_i"), 0.04, 0.0, 0.4)
    spikes, rec = simulate(m, steps, n=n, I=I, inputs=inputs)
    ref_spikes, v, g = lifcond_alpha_reference(m, DT, n, I, inputs, steps)
    assert len(spikes) > 30
    assert spikes == ref_spikes
    np.testing.assert_allclose(rec["v"], v, rtol=1e-11, atol=1e-10)
    np.testing.assert_allclose(rec["g_e"], g[:, 0], rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(rec["g_i"], g[:, 1], rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(rec["theta"], g[:, 2], rtol=1e-12, atol=1e-14)


def test_lifcond_alpha_without_input_is_lifcond():
    """Without alpha input the two models compute the same numbers."""
    kw = dict(tau_m=12.0, theta_plus=0.3, tau_theta=40.0, t_ref=0.5)
    a, b = N.LIFCondAlpha(**kw), N.LIFCond(**kw)
    I = np.random.default_rng(3).uniform(15, 45, (1500, 4))
    sa, ra = simulate(a, 1500, n=4, I=I, record=["v", "theta"])
    sb, rb = simulate(b, 1500, n=4, I=I, record=["v", "theta"])
    assert sa == sb and len(sa) > 10
    assert ra["v"].tobytes() == rb["v"].tobytes()


# ---------------------------------------------------------------------------
# AdExCond, AdExCondAlpha: forward Euler
# ---------------------------------------------------------------------------
def adex_cond_reference(m, dt, n, I, inputs, steps, alpha):
    q = m.parameters()
    C, gL, EL, VT, DT_, tw, a, b = (q[k] for k in ("C_m", "g_L", "E_L", "V_T", "Delta_T",
                                                 "tau_w", "a", "b"))
    Vr, Vp = q["V_reset"], q["V_peak"]
    R = int(math.floor(q["t_ref"] / dt + 1e-3))
    Pe, Pi = pair_propagator(q["tau_e"], dt), pair_propagator(q["tau_i"], dt)
    v = np.full(n, EL)
    w, ge, gi, ye, yi, ref = (np.zeros(n) for _ in range(6))
    re, ri = ("y_e", "y_i") if alpha else ("g_e", "g_i")
    w_e, w_i = received(inputs, steps, n, re), received(inputs, steps, n, ri)
    spikes, trace, pre_reset = [], [], []
    for t in range(steps):
        ref = np.where(ref > 0, ref - 1, ref)
        held = ref > 0
        ve = np.minimum(v, Vp)
        vn = v + dt * ((-gL * (v - EL) + gL * DT_ * np.exp((ve - VT) / DT_) - w
                        - ge * (v - q["E_e"]) - gi * (v - q["E_i"]) + I[t]) / C)
        vn = np.where(held, v, vn)
        w = w + dt * ((a * (v - EL) - w) / tw)
        if alpha:
            ge, ye = Pe[0, 0] * ge + Pe[0, 1] * ye, Pe[1, 1] * ye
            gi, yi = Pi[0, 0] * gi + Pi[0, 1] * yi, Pi[1, 1] * yi
        else:
            ge, gi = ge * Pe[0, 0], gi * Pi[0, 0]
        v = vn
        fired = np.flatnonzero((v >= Vp) & ~held)
        v[fired] = Vp
        pre_reset.append(v.copy())
        if alpha:
            ye, yi = ye + w_e[t], yi + w_i[t]
        else:
            ge, gi = ge + w_e[t], gi + w_i[t]
        v[fired] = Vr
        w[fired] += b
        ref[fired] = R
        spikes.extend((t, int(i)) for i in fired)
        trace.append(np.vstack([v, w, ge, gi]))
    return spikes, np.array(trace), np.array(pre_reset)


@pytest.mark.parametrize("alpha", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adex_cond_equals_numpy_forward_euler_on_random_inputs(alpha, seed):
    rng = np.random.default_rng(20 + seed)
    cls = N.AdExCondAlpha if alpha else N.AdExCond
    m = cls(C_m=rng.uniform(150, 350), g_L=rng.uniform(10, 40), E_L=-70.6,
            V_T=rng.uniform(-52, -48), Delta_T=rng.uniform(0.5, 3),
            tau_w=rng.uniform(30, 200), a=rng.uniform(-2, 8), b=rng.uniform(0, 100),
            V_reset=-65.0, V_peak=[-40.0, 0.0, 20.0][seed], t_ref=[0.0, 0.1, 2.0][seed],
            E_e=0.0, E_i=-80.0, tau_e=rng.uniform(0.3, 6), tau_i=rng.uniform(0.5, 8))
    n, steps = 6, 3000
    I = rng.uniform(0.5, 1.5, (steps, n)) * 40.0 * m.parameters()["g_L"]  # ~40 mV
    rec_e, rec_i = ("y_e", "y_i") if alpha else ("g_e", "g_i")
    inputs = random_inputs(rng, steps, n, (rec_e, rec_i), 0.04, 0.0, 6.0)
    spikes, rec = simulate(m, steps, n=n, I=I, inputs=inputs)
    ref_spikes, ref, _ = adex_cond_reference(m, DT, n, I, inputs, steps, alpha)
    assert len(spikes) > 20
    assert spikes == ref_spikes
    # the alpha propagators (ours vs expm) differ by rounding, which the exponential
    # amplifies in the upstroke: up to ~1e-9 mV
    for k, name in enumerate(("v", "w", "g_e", "g_i")):
        np.testing.assert_allclose(rec[name], ref[:, k], rtol=1e-10, atol=1e-8)


@pytest.mark.parametrize("cls", [N.AdExCond, N.AdExCondAlpha])
def test_adex_cond_spike_step_is_clamped_at_v_peak(cls):
    """With V_peak = 0 mV forward Euler's spike step would end ~1e9 mV above it; the
    update that detects the spike leaves v = V_peak (what a rule reads before the
    reset), and the reset then sets V_reset."""
    m = cls(V_peak=0.0)
    q = m.parameters()
    p = m.packed_params(DT)
    s = m.initial_state(2)
    s[0] = [-40.0, -60.0]          # neuron 0 past V_T: the exponential runs away
    for _ in range(200):
        sp = ext.update(m.model_id, s, p)
        if sp.size:
            break
    assert list(sp) == [0]
    # what forward Euler's step would have given from the state before
    assert s[0, 0] == q["V_peak"] and s[0, 1] < -50
    ext.reset(m.model_id, s, p, sp)
    assert s[0, 0] == q["V_reset"] and s[1, 0] == pytest.approx(q["b"], rel=0.2)


@pytest.mark.parametrize("alpha", [False, True])
def test_adex_cond_delta_t_zero_is_lif_with_adaptation(alpha):
    """Delta_T = 0 (NEST's convention): no exponential term, threshold V_T; against
    the NumPy reference with the term dropped and V_peak = V_T."""
    cls = N.AdExCondAlpha if alpha else N.AdExCond
    m = cls(Delta_T=0.0, V_T=-52.0, V_peak=-40.0, a=2.0, b=30.0, t_ref=0.2)
    rng = np.random.default_rng(8)
    n, steps = 5, 3000
    I = rng.uniform(300, 1000, (steps, n))
    rec_e = "y_e" if alpha else "g_e"
    inputs = random_inputs(rng, steps, n, (rec_e,), 0.03, 0.0, 5.0)
    spikes, rec = simulate(m, steps, n=n, I=I, inputs=inputs)

    class Ref:   # the reference's parameters: no exponential (Delta_T tiny), V_T
        def parameters(self):
            return dict(m.parameters(), Delta_T=1e-300, V_peak=-52.0)
    ref_spikes, ref, pre = adex_cond_reference(Ref(), DT, n, I, inputs, steps, alpha)
    assert len(spikes) > 20
    assert spikes == ref_spikes
    np.testing.assert_allclose(rec["v"], ref[:, 0], rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(rec["w"], ref[:, 1], rtol=1e-12, atol=1e-10)


def test_adex_cond_without_conductances_is_adex():
    """No conductance input: AdExCond's v and w are AdEx's, bit for bit, below the
    spike (the clamp of the spike step is AdExCond's only difference)."""
    kw = dict(C_m=200.0, g_L=20.0, a=2.0, b=40.0, t_ref=0.5, V_peak=-40.0)
    a, b = N.AdExCond(**kw), N.AdEx(**kw)
    I = np.random.default_rng(5).uniform(300, 1100, (2000, 4))
    sa, ra = simulate(a, 2000, n=4, I=I, record=["v", "w"])
    sb, rb = simulate(b, 2000, n=4, I=I, record=["v", "w"])
    assert sa == sb and len(sa) > 10
    assert ra["v"].tobytes() == rb["v"].tobytes()
    assert ra["w"].tobytes() == rb["w"].tobytes()


# ---------------------------------------------------------------------------
# Non-finite state, validation
# ---------------------------------------------------------------------------
NEW = [N.LIFAlpha, N.LIFCondAlpha, N.AdExCond, N.AdExCondAlpha]


@pytest.mark.parametrize("cls", NEW)
def test_nonfinite_in_any_row_reports_its_flat_index(cls):
    m = cls()
    n = 4
    for name in m.variables:
        if name == "refractory":
            continue
        row = m.var_index(name)
        s = m.initial_state(n)
        s[row, 2] = np.nan
        s[row, 3] = np.inf
        code = ext.update_raw(m.model_id, s, m.packed_params(DT))
        # the first bad value: neuron 2, in this row or a row it propagates into
        k, i = divmod(-1 - code, n)
        assert i == 2 and k <= row, (name, k, i)
    assert ext.update_raw(m.model_id, m.initial_state(n), m.packed_params(DT)) == 0


@pytest.mark.parametrize("cls", NEW)
def test_engine_nonfinite_names_population_and_step(cls):
    """Two inputs of 1e308 onto neuron 3 at step 5 overflow its receptor: the next
    update reports the population, the variable, the neuron and the step."""
    from plasticity import SynapseMatrix
    m = cls()
    net = Network(dt=DT, seed=1)
    src = net.add_spike_generator("src", 2, [0.5, 0.5], [0, 1])
    pop = net.add_population("cells", 5, m)
    W = np.zeros((2, 5))
    W[:, 3] = 1e308
    net.connect(src, pop, SynapseMatrix.from_dense(W, dtype=np.float64),
                target=m.receptors[0])
    with pytest.raises(SimulationError, match=(
            r"non-finite (\w+) in population 'cells' \(neuron 3\) at step 6 ")) as err:
        net.run(2.0, progress=False)
    # the lowest row the overflow reached: v where the update's v reads the receptor
    # (LIFAlpha: exact in y; LIFCondAlpha: the step mean reads y; AdExCond: g_e),
    # else the alpha conductance (AdExCondAlpha's v reads the old g_e, still finite)
    var = err.value.args[0].split()[1]
    assert var == ("g_e" if cls is N.AdExCondAlpha else "v")


BAD = [
    (N.LIFAlpha, dict(tau_syn_ex=0.0), r"tau_syn_ex must be > 0 ms, got 0.0"),
    (N.LIFAlpha, dict(V_reset=-50.0), r"V_reset must be < V_th \(-55.0 mV\), got -50.0"),
    (N.LIFCondAlpha, dict(tau_i=-1.0), r"tau_i must be > 0 ms, got -1.0"),
    (N.LIFCondAlpha, dict(E_e=float("nan")), r"E_e must be finite, got nan"),
    (N.AdExCond, dict(tau_e=0.0), r"tau_e must be > 0 ms, got 0.0"),
    (N.AdExCond, dict(E_i="x"), r"E_i must be a real number, got 'x'"),
    (N.AdExCond, dict(Delta_T=-1.0), r"Delta_T must be >= 0 mV, got -1.0"),
    (N.AdExCond, dict(Delta_T=0.0, V_reset=-50.0),
     r"V_reset must be < V_T \(Delta_T = 0\) \(-50.4 mV\), got -50.0"),
    (N.AdExCond, dict(V_peak=-60.0), r"V_T must be < V_peak \(-60.0 mV\), got -50.4"),
    (N.AdExCondAlpha, dict(tau_i=float("inf")), r"tau_i must be"),
    (N.AdExCondAlpha, dict(t_ref=-0.1), r"t_ref must be >= 0 ms, got -0.1"),
]


@pytest.mark.parametrize("cls,kwargs,match", BAD)
def test_constructors_reject_bad_parameters(cls, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        cls(**kwargs)


def test_parameters_are_named_as_the_constructor_takes_them():
    for cls in NEW:
        m = cls()
        assert type(m)(**m.parameters()).packed_params(DT).tobytes() == \
            m.packed_params(DT).tobytes()


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------
needs_openmp = pytest.mark.skipif(not engine.openmp_available(),
                                  reason="engine built without OpenMP")


@needs_openmp
@pytest.mark.parametrize("cls", NEW)
def test_identical_for_any_thread_count(cls, monkeypatch):
    from test_threads import THREADS, _across_threads
    from plasticity import STDP, Additive, Pair, SynapseMatrix
    monkeypatch.setattr(network_module, "_WORK_PER_THREAD", 0)
    monkeypatch.setattr(network_module, "_POST_ORDER_MIN_STEPS", 1000)
    m = cls()
    scale = {N.LIFAlpha: 120.0, N.LIFCondAlpha: 0.06, N.AdExCond: 2.0,
             N.AdExCondAlpha: 2.0}[cls]

    def make():
        net = Network(dt=DT, seed=7)
        inp = net.add_poisson("in", 300, 15.0)
        out = net.add_population("out", 13, m)
        syn = SynapseMatrix.fixed_probability(300, 13, 0.3, weight=scale,
                                              rng=np.random.default_rng(2))
        net.connect(inp, out, syn, target=m.receptors[0],
                    rule=STDP(Pair(a_plus=0.01 * scale, a_minus=0.012 * scale),
                              Additive(w_min=0.0, w_max=2 * scale)), name="ff")
        inh = SynapseMatrix.fixed_probability(13, 13, 0.5, weight=scale,
                                              rng=np.random.default_rng(3))
        net.connect(out, out, inh, target=m.receptors[1], name="rec")
        return net, [net.monitor_spikes(out)]

    spikes = _across_threads(make, lambda net: net.run(1500.0, progress=False),
                             cls.__name__)
    assert spikes > 30


def test_lifcond_alpha_v_error_is_second_order():
    """The step mean of the conductance makes v's error second order in dt: against
    a tight ODE solution of one alpha PSP (tau_e 0.3 ms, peak = the leak), halving dt
    divides the error by ~4 (by ~2 with the start value, LIFCond's rule)."""
    from scipy.integrate import solve_ivp
    tau_e, w, tau_m, E_L, E_e = 0.3, 1.0, 20.0, -65.0, 0.0

    def rhs(t, x):
        v, g, y = x
        return [((E_L - v) + g * (E_e - v)) / tau_m, (math.e * y - g) / tau_e,
                -y / tau_e]
    T = 5.0
    exact = solve_ivp(rhs, (0, T), [E_L, 0.0, w], rtol=1e-12, atol=1e-12,
                      dense_output=True, method="DOP853")
    errs = []
    for dt in (0.1, 0.05, 0.025):
        m = N.LIFCondAlpha(tau_m=tau_m, E_L=E_L, E_e=E_e, tau_e=tau_e, V_th=100.0,
                           V_reset=-70.0)
        s = m.initial_state(1)
        s[m.var_index("y_e")] = w
        steps = int(round(T / dt))
        vs = []
        p = m.packed_params(dt)
        for _ in range(steps):
            ext.update(m.model_id, s, p)
            vs.append(s[0, 0])
        t = (np.arange(steps) + 1) * dt
        errs.append(np.max(np.abs(np.array(vs) - exact.sol(t)[0])))
    assert errs[0] < 0.05
    assert 3.3 < errs[0] / errs[1] < 4.7 and 3.3 < errs[1] / errs[2] < 4.7, errs
