"""The compiled neuron updates against Brian2 2.9 (numpy target, float64, dt 0.1 ms).

Each test drives the same neurons with the same injected-current time course (and the
same input spikes) in Brian2 and in a Python loop over ``neurons.update`` /
``neurons.reset`` in the engine's order (docs/internals.md: set I_ext for step t,
update, deliver step-t input spikes to the receptor, reset; Brian2's schedule
``start`` (run_regularly sets I_ext) -> ``groups`` -> ``thresholds`` -> ``synapses`` ->
``resets`` -> ``end`` (StateMonitor)). Spike steps must be identical and the v traces
equal to 1e-9 mV. Skipped when Brian2 is not installed.
"""
import numpy as np
import pytest

b2 = pytest.importorskip("brian2")

from plasticity import neurons as N  # noqa: E402
from plasticity._ext import neurons as ext  # noqa: E402

DT = 0.1
STEPS = 3000  # 300 ms
N_NEURONS = 3


@pytest.fixture(autouse=True)
def _brian2_prefs():
    b2.prefs.codegen.target = "numpy"
    b2.prefs.core.default_float_dtype = np.float64
    b2.defaultclock.dt = DT * b2.ms
    yield


def current_course(rng, low, high, steps=STEPS, n=N_NEURONS, block=50):
    """Piecewise-constant random current, a new level every ``block`` steps."""
    levels = rng.uniform(low, high, (steps // block + 1, n))
    return np.repeat(levels, block, axis=0)[:steps] * np.linspace(0.8, 1.2, n)


def input_spikes(rng, steps=STEPS, rate_per_step=0.01):
    return np.flatnonzero(rng.random(steps) < rate_per_step)


def ours(model, I, in_steps, receptor, w):
    """Our loop: returns spike (step, id) pairs and v after each step's reset."""
    p = model.packed_params(DT)
    s = model.initial_state(I.shape[1])
    ci = model.var_index(model.current_variable)
    ri = model.receptor_index(receptor)
    vi = model.var_index(model.variables[0])
    in_set = set(in_steps.tolist())
    v = np.empty_like(I)
    spikes = []
    for t in range(I.shape[0]):
        s[ci] = I[t]
        sp = ext.update(model.model_id, s, p)
        if t in in_set:
            s[ri] += w
        ext.reset(model.model_id, s, p, sp)
        spikes.extend((t, int(i)) for i in sp)
        v[t] = s[vi]
    return sorted(spikes), v


def brian(eqs, I, I_unit, in_steps, on_pre, w, threshold, reset, refractory, method,
          init, namespace, v_unit):
    G = b2.NeuronGroup(I.shape[1], eqs, threshold=threshold, reset=reset,
                       refractory=refractory, method=method, namespace=namespace)
    for name, value in init.items():
        setattr(G, name, value)
    I_t = b2.TimedArray(I * I_unit, dt=DT * b2.ms)
    G.run_regularly("I_ext = I_t(t, i)", when="start")
    gen = b2.SpikeGeneratorGroup(1, np.zeros(len(in_steps), dtype=int),
                                 in_steps * DT * b2.ms)
    S = b2.Synapses(gen, G, on_pre=on_pre, namespace=dict(w=w))
    S.connect()
    M = b2.StateMonitor(G, "v", record=True, when="end")
    sm = b2.SpikeMonitor(G)
    net = b2.Network(G, gen, S, M, sm)
    net.run(I.shape[0] * DT * b2.ms, namespace=dict(namespace, I_t=I_t))
    steps = np.round(np.asarray(sm.t / b2.ms) / DT).astype(int)
    spikes = sorted(zip(steps.tolist(), np.asarray(sm.i).tolist()))
    return spikes, np.asarray(M.v / v_unit).T


def check(ours_out, brian_out):
    (s1, v1), (s2, v2) = ours_out, brian_out
    assert len(s1) > 10, "the test drive should make the neurons fire"
    assert s1 == s2
    np.testing.assert_allclose(v1, v2, rtol=0, atol=1e-9)


def test_lif_matches_brian2_exact():
    ms, mV, pA, pF = b2.ms, b2.mV, b2.pA, b2.pF
    m = N.LIF(tau_m=10.0, C_m=250.0, E_L=-70.0, V_th=-55.0, V_reset=-70.0, t_ref=2.0,
              tau_syn_ex=2.0, tau_syn_in=5.0)
    rng = np.random.default_rng(10)
    I = current_course(rng, 0.0, 600.0)
    ins = input_spikes(rng)
    w = 300.0
    eqs = """
    dv/dt = -(v - E_L)/tau_m + (I_ex + I_in + I_ext)/C_m : volt (unless refractory)
    dI_ex/dt = -I_ex/tau_ex : amp
    dI_in/dt = -I_in/tau_in : amp
    I_ext : amp
    """
    ns = dict(E_L=-70.0 * mV, tau_m=10.0 * ms, C_m=250.0 * pF, tau_ex=2.0 * ms,
              tau_in=5.0 * ms, V_th=-55.0 * mV, V_reset=-70.0 * mV)
    check(ours(m, I, ins, "I_syn_ex", w),
          brian(eqs, I, pA, ins, "I_ex_post += w", w * pA, "v >= V_th", "v = V_reset",
                2.0 * ms, "exact", dict(v=-70.0 * mV), ns, mV))


@pytest.mark.parametrize("t_ref,theta_plus", [(0.0, 0.0), (5.0, 2.0)])
def test_lifcond_matches_brian2_exponential_euler(t_ref, theta_plus):
    ms, mV = b2.ms, b2.mV
    m = N.LIFCond(tau_m=10.0, E_L=-74.0, V_th=-54.0, V_reset=-60.0, E_e=0.0, E_i=-70.0,
                  tau_e=5.0, tau_i=5.0, t_ref=t_ref, theta_plus=theta_plus,
                  tau_theta=50.0)
    rng = np.random.default_rng(11)
    I = current_course(rng, 5.0, 35.0)
    ins = input_spikes(rng, rate_per_step=0.02)
    w = 0.3
    eqs = """
    dv/dt = ((E_L - v) + g_e*(E_e - v) + g_i*(E_i - v) + I_ext)/tau_m : volt (unless refractory)
    dg_e/dt = -g_e/tau_e : 1
    dg_i/dt = -g_i/tau_i : 1
    dtheta/dt = -theta/tau_theta : volt
    I_ext : volt
    """
    ns = dict(E_L=-74.0 * mV, E_e=0.0 * mV, E_i=-70.0 * mV, tau_m=10.0 * ms,
              tau_e=5.0 * ms, tau_i=5.0 * ms, tau_theta=50.0 * ms, V_th=-54.0 * mV,
              V_reset=-60.0 * mV, theta_plus=theta_plus * mV)
    check(ours(m, I, ins, "g_e", w),
          brian(eqs, I, mV, ins, "g_e_post += w", w, "v > V_th + theta",
                "v = V_reset; theta += theta_plus", t_ref * ms, "exponential_euler",
                dict(v=-74.0 * mV), ns, mV))


@pytest.mark.parametrize("pattern", ["RS", "class1"])
def test_izhikevich_matches_brian2_euler(pattern):
    if pattern == "RS":
        k = (0.04, 5.0, 140.0)
        pars = dict(a=0.02, b=0.2, c=-65.0, d=8.0)
        lo, hi = 0.0, 15.0
    else:  # figure1.m's Class 1 excitability
        k = (0.04, 4.1, 108.0)
        pars = dict(a=0.02, b=-0.1, c=-55.0, d=6.0)
        lo, hi = 20.0, 40.0
    m = N.Izhikevich(k1=k[0], k2=k[1], k3=k[2], v_init=-65.0, **pars)
    rng = np.random.default_rng(12)
    I = current_course(rng, lo, hi)
    ins = input_spikes(rng)
    w = 4.0
    eqs = """
    dv/dt = (k1*v**2 + k2*v + k3 - u + I_ext)/ms : 1
    du/dt = a*(b*v - u)/ms : 1
    I_ext : 1
    """
    ns = dict(k1=k[0], k2=k[1], k3=k[2], **pars)
    check(ours(m, I, ins, "v", w),
          brian(eqs, I, 1.0, ins, "v_post += w", w, "v >= 30", "v = c; u += d", False,
                "euler", dict(v=-65.0, u=pars["b"] * -65.0), ns, 1.0))


# --- refractoriness: Brian2's step count and its discarding of input onto v ---------

#: Brian2 2.9's refractory steps at dt 0.1 ms, measured (timestep(t_ref, dt))
BRIAN2_REFRACTORY_STEPS = {0.18: 1, 0.26: 2, 0.36: 3, 1.55: 15, 2.0: 20}


@pytest.mark.parametrize("t_ref", sorted(BRIAN2_REFRACTORY_STEPS))
def test_refractory_step_count_matches_brian2(t_ref):
    """A current so large that the neuron fires whenever it may: the inter-spike
    interval is the refractory period in whole steps, Brian2's count."""
    ms, mV, pA, pF = b2.ms, b2.mV, b2.pA, b2.pF
    steps = 400
    I = np.full((steps, 1), 1e6)
    m = N.IF(C_m=250.0, V_th=10.0, V_reset=0.0, t_ref=t_ref)
    eqs = """
    dv/dt = I_ext/C_m : volt (unless refractory)
    I_ext : amp
    """
    ns = dict(C_m=250.0 * pF, V_th=10.0 * mV, V_reset=0.0 * mV)
    ours_out = ours(m, I, np.array([], dtype=int), "v", 0.0)
    brian_out = brian(eqs, I, pA, np.array([], dtype=int), "v_post += w", 0.0 * mV,
                      "v >= V_th", "v = V_reset", t_ref * ms, "euler",
                      dict(v=0.0 * mV), ns, mV)
    brian_steps = np.diff([t for t, _ in brian_out[0]])
    assert set(brian_steps.tolist()) == {BRIAN2_REFRACTORY_STEPS[t_ref]}
    check(ours_out, brian_out)
    assert m.packed_params(DT)[2] == BRIAN2_REFRACTORY_STEPS[t_ref]


def _held_input_steps(model, I, in_steps, w):
    """(step, neuron) pairs where an input spike arrived while our neuron was held."""
    p = model.packed_params(DT)
    s = model.initial_state(I.shape[1])
    ci = model.var_index(model.current_variable)
    ri = model.var_index("refractory")
    held = np.zeros(I.shape, dtype=bool)
    in_set = set(in_steps.tolist())
    for t in range(I.shape[0]):
        s[ci] = I[t]
        sp = ext.update(model.model_id, s, p)
        held[t] = s[ri] > 0
        if t in in_set:
            s[0] += w
        ext.reset(model.model_id, s, p, sp)
    mask = np.zeros(I.shape, dtype=bool)
    mask[in_steps] = held[in_steps]
    return mask


def check_discarding(model, I, ins, w, ours_out, brian_out):
    """Same spikes; same v except at the ends of the steps whose input was discarded
    (ours shows the jump there until the next update restores V_reset)."""
    (s1, v1), (s2, v2) = ours_out, brian_out
    assert len(s1) > 10
    mask = _held_input_steps(model, I, ins, w)
    assert mask.sum() >= 5, "the drive should send input into refractory periods"
    assert s1 == s2
    np.testing.assert_allclose(v1[~mask], v2[~mask], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(v2[mask], model.parameters()["V_reset"])


@pytest.mark.parametrize("t_ref", [1.55, 2.0])
def test_if_discards_input_during_refractoriness_as_brian2(t_ref):
    ms, mV, pA, pF = b2.ms, b2.mV, b2.pA, b2.pF
    m = N.IF(C_m=250.0, V_th=10.0, V_reset=0.0, t_ref=t_ref)
    rng = np.random.default_rng(13)
    I = current_course(rng, 0.0, 1500.0)
    ins = input_spikes(rng, rate_per_step=0.2)
    w = 4.0
    eqs = """
    dv/dt = I_ext/C_m : volt (unless refractory)
    I_ext : amp
    """
    ns = dict(C_m=250.0 * pF, V_th=10.0 * mV, V_reset=0.0 * mV)
    check_discarding(m, I, ins, w, ours(m, I, ins, "v", w),
                     brian(eqs, I, pA, ins, "v_post += w", w * mV, "v >= V_th",
                           "v = V_reset", t_ref * ms, "euler", dict(v=0.0 * mV), ns,
                           mV))


@pytest.mark.parametrize("t_ref", [1.55, 2.0])
def test_alif_discards_input_during_refractoriness_as_brian2(t_ref):
    ms, mV, pA, pF = b2.ms, b2.mV, b2.pA, b2.pF
    m = N.ALIF(tau_m=20.0, C_m=250.0, E_L=-70.0, V_th=-60.0, V_reset=-70.0,
               t_ref=t_ref, tau_syn_ex=2.0, tau_syn_in=2.0, beta=1.8, tau_a=100.0)
    rng = np.random.default_rng(14)
    I = current_course(rng, 0.0, 900.0)
    ins = input_spikes(rng, rate_per_step=0.2)
    w = 3.0
    eqs = """
    dv/dt = -(v - E_L)/tau_m + (I_ex + I_in + I_ext)/C_m : volt (unless refractory)
    da/dt = -a/tau_a : 1
    dI_ex/dt = -I_ex/tau_ex : amp
    dI_in/dt = -I_in/tau_in : amp
    I_ext : amp
    """
    ns = dict(E_L=-70.0 * mV, tau_m=20.0 * ms, C_m=250.0 * pF, tau_ex=2.0 * ms,
              tau_in=2.0 * ms, tau_a=100.0 * ms, beta=1.8 * mV, V_th=-60.0 * mV,
              V_reset=-70.0 * mV)
    check_discarding(m, I, ins, w, ours(m, I, ins, "v", w),
                     brian(eqs, I, pA, ins, "v_post += w", w * mV,
                           "v >= V_th + beta*a", "v = V_reset; a += 1", t_ref * ms,
                           "exact", dict(v=-70.0 * mV), ns, mV))


# --- the engine: input onto a refractory v is not delivered (issue 16) --------------

def _engine_v(model, I, in_steps, w, *, rule=None, delay=None):
    """v of a Network run (IF/ALIF driven by I, input spikes of weight w onto v,
    ``delay`` in steps), sampled every step by a StateMonitor (stamped k*dt: the state at the start of
    step k)."""
    from plasticity import Network, SynapseMatrix
    steps, n = I.shape
    net = Network(dt=DT, seed=0)
    gen = net.add_spike_generator("gen", 1, in_steps * DT, np.zeros(in_steps.size, int))
    pop = net.add_population("n", n, model)
    syn = SynapseMatrix.all_to_all(1, n, weight=w, dtype=np.float64, delay=delay)
    net.connect(gen, pop, syn, target="v", rule=rule)
    block = 50
    net.add_current(pop, np.arange(0, steps, block) * DT, I[::block])
    mon = net.monitor_state(pop, ["v"])
    net.run(steps * DT)
    return mon.times, mon["v"]


def _brian_start_monitor(eqs, I, I_unit, in_steps, w, threshold, reset, refractory,
                         method, init, namespace, v_unit, delay=0):
    G = b2.NeuronGroup(I.shape[1], eqs, threshold=threshold, reset=reset,
                       refractory=refractory, method=method, namespace=namespace)
    for name, value in init.items():
        setattr(G, name, value)
    I_t = b2.TimedArray(I * I_unit, dt=DT * b2.ms)
    G.run_regularly("I_ext = I_t(t, i)", when="start", order=-1)
    gen = b2.SpikeGeneratorGroup(1, np.zeros(len(in_steps), dtype=int),
                                 in_steps * DT * b2.ms)
    S = b2.Synapses(gen, G, on_pre="v_post += w", namespace=dict(w=w),
                    delay=delay * DT * b2.ms)
    S.connect()
    M = b2.StateMonitor(G, "v", record=True)  # when='start', the default
    net = b2.Network(G, gen, S, M)
    net.run(I.shape[0] * DT * b2.ms, namespace=dict(namespace, I_t=I_t))
    return np.asarray(M.t / b2.ms), np.asarray(M.v / v_unit).T


IF_EQS = """
dv/dt = I_ext/C_m : volt (unless refractory)
I_ext : amp
"""
ALIF_EQS = """
dv/dt = -(v - E_L)/tau_m + (I_ex + I_in + I_ext)/C_m : volt (unless refractory)
da/dt = -a/tau_a : 1
dI_ex/dt = -I_ex/tau_ex : amp
dI_in/dt = -I_in/tau_in : amp
I_ext : amp
"""


def _case(kind, t_ref):
    ms, mV, pA, pF = b2.ms, b2.mV, b2.pA, b2.pF
    if kind == "IF":
        m = N.IF(C_m=250.0, V_th=10.0, V_reset=0.0, t_ref=t_ref)
        rng = np.random.default_rng(13)
        I = current_course(rng, 0.0, 1500.0)
        b = dict(eqs=IF_EQS, threshold="v >= V_th", reset="v = V_reset", method="euler",
                 init=dict(v=0.0 * mV),
                 namespace=dict(C_m=250.0 * pF, V_th=10.0 * mV, V_reset=0.0 * mV))
        return m, rng, I, 4.0, b
    m = N.ALIF(tau_m=20.0, C_m=250.0, E_L=-70.0, V_th=-60.0, V_reset=-70.0,
               t_ref=t_ref, tau_syn_ex=2.0, tau_syn_in=2.0, beta=1.8, tau_a=100.0)
    rng = np.random.default_rng(14)
    I = current_course(rng, 0.0, 900.0)
    b = dict(eqs=ALIF_EQS, threshold="v >= V_th + beta*a", reset="v = V_reset; a += 1",
             method="exact", init=dict(v=-70.0 * mV),
             namespace=dict(E_L=-70.0 * mV, tau_m=20.0 * ms, C_m=250.0 * pF,
                            tau_ex=2.0 * ms, tau_in=2.0 * ms, tau_a=100.0 * ms,
                            beta=1.8 * mV, V_th=-60.0 * mV, V_reset=-70.0 * mV))
    return m, rng, I, 3.0, b


@pytest.mark.parametrize("delay", [None, 3])
@pytest.mark.parametrize("kind", ["IF", "ALIF"])
@pytest.mark.parametrize("t_ref", [1.55, 2.0])
def test_engine_monitor_shows_v_reset_where_brian2_does(kind, t_ref, delay):
    """Through the engine (Network.run, StateMonitor every step): the monitored v
    equals Brian2's default StateMonitor at every sample, including those right after
    an input arrived during refractoriness (the delivery skips a refractory neuron;
    before, the sample showed the jump for one step)."""
    m, rng, I, w, b = _case(kind, t_ref)
    ins = input_spikes(rng, rate_per_step=0.2)
    t1, v1 = _engine_v(m, I, ins, w, delay=delay)
    t2, v2 = _brian_start_monitor(b["eqs"], I, b2.pA, ins, w * b2.mV, b["threshold"],
                                  b["reset"], t_ref * b2.ms, b["method"], b["init"],
                                  b["namespace"], b2.mV, delay=delay or 0)
    np.testing.assert_allclose(t1, t2, rtol=0, atol=1e-9)
    # input did arrive during refractory periods (the case under test)
    shifted = ins + (delay or 0) + 1
    shifted = shifted[shifted < v2.shape[0]]
    V_reset = m.parameters()["V_reset"]
    assert np.sum(v2[shifted] == V_reset) >= 5
    np.testing.assert_allclose(v1, v2, rtol=0, atol=1e-9)


def test_engine_skips_refractory_delivery_on_every_path():
    """The plastic delivery paths (pre-synaptic update per synapse, post-ordered
    weights in long runs, per-synapse delays) give the monitored v of the static one:
    an STDP rule that never changes a weight (zero amplitudes) against no rule."""
    from plasticity import STDP, Additive, Pair
    m, rng, _, w, _ = _case("IF", 2.0)
    steps = 6000   # >= _POST_ORDER_MIN_STEPS: weights in post order for the run
    I = current_course(rng, 0.0, 1500.0, steps=steps)
    ins = input_spikes(rng, steps=steps, rate_per_step=0.2)
    for delay in (None, 3, np.array([1, 3, 2])):   # steps
        _, ref = _engine_v(m, I, ins, w, delay=delay)
        rule = STDP(Pair(20.0, 20.0, 0.0, 0.0), Additive(0.0, 10.0))
        _, v = _engine_v(m, I, ins, w, rule=rule, delay=delay)
        np.testing.assert_array_equal(v, ref)
        held = 0
        for k in ins + 1:
            held += k < v.shape[0] and np.all(v[k] == 0.0)
        assert held >= 5


# --- AdExClopath (Clopath et al. 2010): adaptive threshold, afterdepolarisation, held
# spike -------------------------------------------------------------------------------

CLOPATH_EQS = """
dv/dt = int(not_refractory)*(-g_L*(v - E_L) + g_L*D_T*exp((clip(v, -1*volt, V_peak) - V_T)/D_T)
                             - w + z + I_ex + I_ext)/C_m : volt
dw/dt = unclamped*(a*(v - E_L) - w)/tau_w : amp
z : amp
V_T : volt
I_ex : amp
I_ext : amp
unclamped : 1
"""


@pytest.mark.parametrize("t_ref", [0.0, 0.5])
def test_adex_clopath_matches_brian2(t_ref):
    """The same equations in Brian2 (forward Euler for v and w; z, V_T and I_ex decay
    exactly in a run_regularly right after the state update). The held spike is
    Brian2's refractoriness over t_clamp + t_ref (v not integrated: dv/dt carries
    int(not_refractory), as ``(unless refractory)`` would also block the run_regularly
    write below, which runs before the state updater clears the flag), the reset sets
    v = V_clamp and freezes w; a run_regularly at the step t_clamp after the spike
    sets v = V_reset and unfreezes w. Spikes identical, v to 1e-9 mV."""
    ms, mV, pA, pF, nS = b2.ms, b2.mV, b2.pA, b2.pF, b2.nS
    m = N.AdExClopath(t_ref=t_ref, b=80.5)   # a visible b
    q = m.parameters()
    R_c = int(m.packed_params(DT)[19])
    R_r = int(m.packed_params(DT)[11])
    rng = np.random.default_rng(15)
    I = current_course(rng, 0.0, 1500.0)
    ins = input_spikes(rng, rate_per_step=0.02)
    w = 150.0
    ns = dict(g_L=q["g_L"] * nS, E_L=q["E_L"] * mV, D_T=q["Delta_T"] * mV,
              V_peak=q["V_peak"] * mV, C_m=q["C_m"] * pF, a=q["a"] * nS,
              tau_w=q["tau_w"] * ms, b=q["b"] * pA, I_sp=q["I_sp"] * pA,
              V_T_max=q["V_T_max"] * mV, V_T_rest=q["V_T_rest"] * mV,
              V_clamp=q["V_clamp"] * mV, V_reset=q["V_reset"] * mV, R_c=R_c,
              P_z=np.exp(-DT / q["tau_z"]), P_vt=np.exp(-DT / q["tau_V_T"]),
              P_ex=np.exp(-DT / q["tau_syn_ex"]))
    n = I.shape[1]
    G = b2.NeuronGroup(n, CLOPATH_EQS, threshold="v >= V_peak",
                       reset="v = V_clamp; w += b; z = I_sp; V_T = V_T_max; unclamped = 0",
                       refractory=(R_c + R_r) * DT * ms, method="euler", namespace=ns)
    G.v = q["E_L"] * mV
    G.V_T = q["V_T_rest"] * mV
    G.unclamped = 1
    I_t = b2.TimedArray(I * pA, dt=DT * ms)
    G.run_regularly("I_ext = I_t(t, i)", when="start", order=-1)
    G.run_regularly("""
        unclamp = int(timestep(t - lastspike, dt) == R_c)
        v = unclamp*V_reset + (1 - unclamp)*v
        unclamped = unclamp + (1 - unclamp)*unclamped
        """, when="start", order=0)
    G.run_regularly("""
        z = z*P_z
        V_T = V_T_rest + (V_T - V_T_rest)*P_vt
        I_ex = I_ex*P_ex
        """, when="groups", order=1)
    gen = b2.SpikeGeneratorGroup(1, np.zeros(len(ins), dtype=int), ins * DT * ms)
    S = b2.Synapses(gen, G, on_pre="I_ex_post += w_syn", namespace=dict(w_syn=w * pA))
    S.connect()
    M = b2.StateMonitor(G, ["v", "w", "z", "V_T"], record=True, when="end")
    sm = b2.SpikeMonitor(G)
    net = b2.Network(G, gen, S, M, sm)
    net.run(I.shape[0] * DT * ms, namespace=dict(ns, I_t=I_t))
    steps = np.round(np.asarray(sm.t / ms) / DT).astype(int)
    brian_spikes = sorted(zip(steps.tolist(), np.asarray(sm.i).tolist()))
    our_spikes, our_v = ours(m, I, ins, "I_syn_ex", w)
    assert len(our_spikes) > 10
    assert our_spikes == brian_spikes
    bv = np.asarray(M.v / mV).T
    np.testing.assert_allclose(our_v, bv, rtol=0, atol=1e-9)
    # the held spike is there: V_clamp for R_c samples from each spike
    t0, i0 = our_spikes[0]
    np.testing.assert_array_equal(bv[t0:t0 + R_c, i0], q["V_clamp"])
