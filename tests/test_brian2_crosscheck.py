"""Brian2 2.9 (numpy target, float64) as an independent peer.

The same small networks with the same input spike trains in Brian2 and in plasticity:
spike times identical, final weights equal to 1e-9. Skipped when Brian2 is absent.
Brian2's default schedule (groups, thresholds, synapses, resets) is the one our step
follows (docs/internals.md); its event-driven per-synapse traces are mathematically
the per-neuron traces we keep.
"""
import numpy as np
import pytest

b2 = pytest.importorskip("brian2")

from plasticity import STDP, Additive, Network, Pair, SynapseMatrix, Triplet  # noqa: E402
from plasticity.neurons import LIFCond  # noqa: E402

pytestmark = pytest.mark.peer

DT = 0.1  # ms

NEURON = dict(tau_m=10.0, E_L=-74.0, V_th=-54.0, V_reset=-60.0, E_e=0.0, E_i=-80.0,
              tau_e=5.0, tau_i=10.0)


def poisson_trains(rng, n, rate_hz, duration_ms):
    """Spike trains as (times_ms, ids), one spike per neuron per step at most."""
    p = rate_hz * DT / 1000.0
    steps = int(round(duration_ms / DT))
    s, i = np.nonzero(rng.random((steps, n)) < p)
    return s * DT, i


def brian2_run(n_in, n_out, in_times, in_ids, syn, stdp, duration, t_ref=0.0,
               recurrent=None, rec_stdp=None, delays=None):
    """Build and run the network in Brian2; returns (out spike times ms, ids, weights
    in our synapse order, recurrent weights or None)."""
    from brian2 import (Network as BNetwork, NeuronGroup, SpikeGeneratorGroup,
                        SpikeMonitor, Synapses, defaultclock, ms, mV, prefs)
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT * ms
    p = NEURON
    eqs = f"""
    dv/dt = ((({p['E_L']}*mV) - v) + g_e*(({p['E_e']}*mV) - v)
             + g_i*(({p['E_i']}*mV) - v)) / ({p['tau_m']}*ms) : volt (unless refractory)
    dg_e/dt = -g_e / ({p['tau_e']}*ms) : 1
    dg_i/dt = -g_i / ({p['tau_i']}*ms) : 1
    """
    out = NeuronGroup(n_out, eqs, threshold=f"v > {p['V_th']}*mV",
                      reset=f"v = {p['V_reset']}*mV", refractory=t_ref * ms,
                      method="exponential_euler")
    out.v = p["E_L"] * mV
    gen = SpikeGeneratorGroup(n_in, np.asarray(in_ids), np.asarray(in_times) * ms)
    objs = [out, gen]

    def plastic(src, dst, rule, sm, target, name):
        kind, pr = rule
        if kind in ("pair-all", "pair-nearest"):
            model = """w : 1
            dx1/dt = -x1 / taup : 1 (event-driven)
            dy1/dt = -y1 / taum : 1 (event-driven)"""
            bump_pre = "x1 += 1" if kind == "pair-all" else "x1 = 1"
            bump_post = "y1 += 1" if kind == "pair-all" else "y1 = 1"
            on_pre = f"""{target}_post += w
            w = clip(w - am * y1, wmin, wmax)
            {bump_pre}"""
            on_post = f"""w = clip(w + ap * x1, wmin, wmax)
            {bump_post}"""
            ns = dict(taup=pr["tau_plus"] * ms, taum=pr["tau_minus"] * ms, ap=pr["a_plus"],
                      am=pr["a_minus"], wmin=pr["w_min"], wmax=pr["w_max"])
        else:
            model = """w : 1
            dx1/dt = -x1 / taup : 1 (event-driven)
            dx2/dt = -x2 / taux : 1 (event-driven)
            dy1/dt = -y1 / taum : 1 (event-driven)
            dy2/dt = -y2 / tauy : 1 (event-driven)"""
            on_pre = f"""{target}_post += w
            w = clip(w - y1 * (a2m + a3m * x2), wmin, wmax)
            x1 += 1
            x2 += 1"""
            on_post = """w = clip(w + x1 * (a2p + a3p * y2), wmin, wmax)
            y1 += 1
            y2 += 1"""
            ns = dict(taup=pr["tau_plus"] * ms, taum=pr["tau_minus"] * ms,
                      taux=pr["tau_x"] * ms, tauy=pr["tau_y"] * ms, a2p=pr["a2_plus"],
                      a3p=pr["a3_plus"], a2m=pr["a2_minus"], a3m=pr["a3_minus"],
                      wmin=pr["w_min"], wmax=pr["w_max"])
        S = Synapses(src, dst, model, on_pre=on_pre, on_post=on_post, namespace=ns,
                     name=name)
        pre_ids = np.repeat(np.arange(sm.n_pre), np.diff(sm.indptr))
        S.connect(i=pre_ids, j=sm.indices.astype(int))
        S.w = sm.weights
        return S

    syn = syn.copy()  # the caller's matrix stays as it was
    S = plastic(gen, out, stdp, syn, "g_e", "ff")
    if delays is not None:
        S.delay = delays * DT * ms
    objs.append(S)
    R = None
    if recurrent is not None:
        R = plastic(out, out, rec_stdp, recurrent.copy(), "g_i", "rec")
        objs.append(R)
    mon = SpikeMonitor(out)
    objs.append(mon)
    net = BNetwork(*objs)
    net.run(duration * ms)
    times = np.asarray(mon.t / ms)
    ids = np.asarray(mon.i)
    # Brian2 creates synapses in the order given, which is our synapse order
    w = np.asarray(S.w[:])
    wr = np.asarray(R.w[:]) if R is not None else None
    return times, ids, w, wr


def rule_of(kind, pr):
    add = Additive(pr["w_min"], pr["w_max"])
    if kind == "pair-all":
        return STDP(Pair(pr["tau_plus"], pr["tau_minus"], pr["a_plus"], pr["a_minus"]), add)
    if kind == "pair-nearest":
        return STDP(Pair(pr["tau_plus"], pr["tau_minus"], pr["a_plus"], pr["a_minus"],
                         "nearest-symmetric"), add)
    return STDP(Triplet(pr["tau_plus"], pr["tau_minus"], pr["tau_x"], pr["tau_y"],
                        pr["a2_plus"], pr["a3_plus"], pr["a2_minus"], pr["a3_minus"]), add)


def ours_run(n_in, n_out, in_times, in_ids, syn, stdp, duration, t_ref=0.0,
             recurrent=None, rec_stdp=None):
    syn = syn.copy()  # the caller's matrix stays as it was
    recurrent = recurrent.copy() if recurrent is not None else None
    net = Network(dt=DT, seed=0)
    gen = net.add_spike_generator("gen", n_in, in_times, in_ids)
    out = net.add_population("out", n_out, LIFCond(t_ref=t_ref, **NEURON))
    ff = net.connect(gen, out, syn, "g_e", rule=rule_of(*stdp), name="ff")
    rec = None
    if recurrent is not None:
        rec = net.connect(out, out, recurrent, "g_i", rule=rule_of(*rec_stdp), name="rec")
    mon = net.monitor_spikes(out)
    net.run(duration)
    return mon.times, mon.ids, ff.weights.copy(), (rec.weights.copy() if rec else None)


PAIR = dict(tau_plus=20.0, tau_minus=20.0, a_plus=1e-4, a_minus=1.05e-4, w_min=0.0,
            w_max=0.01)


def scaled(gmax):
    """Song 2000's pair rule (A+ = 0.01 gmax, A- = 1.05 A+) for another gmax."""
    return dict(PAIR, a_plus=0.01 * gmax, a_minus=0.0105 * gmax, w_max=gmax)


def compare(a, b, n_out):
    ta, ia, wa, ra = a
    tb, ib, wb, rb = b
    assert ta.size > 5, "the output must spike for the comparison to mean anything"
    # same spikes: compare per neuron (Brian2 orders spikes within a step by id too)
    order_a = np.lexsort((ia, np.round(ta / DT)))
    order_b = np.lexsort((ib, np.round(tb / DT)))
    np.testing.assert_array_equal(np.round(ta[order_a] / DT), np.round(tb[order_b] / DT))
    np.testing.assert_array_equal(ia[order_a], ib[order_b])
    np.testing.assert_allclose(wa, wb, rtol=0, atol=1e-9)
    if ra is not None:
        np.testing.assert_allclose(ra, rb, rtol=0, atol=1e-9)


def test_feedforward_pair_stdp_matches_brian2():
    rng = np.random.default_rng(1)
    t, i = poisson_trains(rng, 200, 20.0, 1000.0)
    syn = SynapseMatrix.fixed_probability(
        200, 4, 0.5, weight=lambda g, n: g.uniform(0.03, 0.06, n), rng=1, dtype=np.float64)
    args = (200, 4, t, i, syn.copy(), ("pair-all", scaled(0.07)), 1000.0)
    compare(ours_run(*args), brian2_run(*args), 4)


def test_recurrent_nearest_spike_stdp_with_refractoriness_matches_brian2():
    rng = np.random.default_rng(2)
    t, i = poisson_trains(rng, 150, 20.0, 800.0)
    syn = SynapseMatrix.fixed_probability(
        150, 10, 0.5, weight=lambda g, n: g.uniform(0.05, 0.09, n), rng=2,
        dtype=np.float64)
    rec = SynapseMatrix.fixed_probability(
        10, 10, 0.3, weight=lambda g, n: g.uniform(0.0, 0.3, n), rng=3, allow_self=False,
        dtype=np.float64)
    rec_rule = ("pair-nearest", dict(tau_plus=15.0, tau_minus=30.0, a_plus=0.01,
                                     a_minus=0.012, w_min=0.0, w_max=0.5))
    ff_rule = ("pair-nearest", scaled(0.1))
    args = (150, 10, t, i, syn.copy(), ff_rule, 800.0)
    kw = dict(t_ref=2.0, recurrent=rec.copy(), rec_stdp=rec_rule)
    ours = ours_run(*args, **kw)
    kw["recurrent"] = rec.copy()
    compare(ours, brian2_run(*args, **kw), 10)


def test_triplet_stdp_matches_brian2():
    rng = np.random.default_rng(3)
    t, i = poisson_trains(rng, 200, 25.0, 800.0)
    syn = SynapseMatrix.fixed_probability(
        200, 3, 0.6, weight=lambda g, n: g.uniform(0.025, 0.05, n), rng=4, dtype=np.float64)
    # Pfister & Gerstner's visual-cortex all-to-all set, amplitudes scaled to gmax
    tri = ("triplet", dict(tau_plus=16.8, tau_minus=33.7, tau_x=101.0, tau_y=125.0,
                           a2_plus=5e-10 * 0.06, a3_plus=6.2e-3 * 0.06,
                           a2_minus=7e-3 * 0.06, a3_minus=2.3e-4 * 0.06, w_min=0.0,
                           w_max=0.06))
    args = (200, 3, t, i, syn.copy(), tri, 800.0)
    compare(ours_run(*args), brian2_run(*args), 3)


def test_per_synapse_delays_match_brian2():
    rng = np.random.default_rng(4)
    t, i = poisson_trains(rng, 150, 20.0, 800.0)
    syn0 = SynapseMatrix.fixed_probability(150, 3, 0.6, weight=0.008, rng=5,
                                           dtype=np.float64)
    d = rng.integers(0, 60, syn0.nnz).astype(np.int32)
    w = rng.uniform(0.04, 0.07, syn0.nnz)
    syn = SynapseMatrix(syn0.indptr, syn0.indices, w, syn0.shape, delay=d)
    args = (150, 3, t, i, syn, ("pair-all", scaled(0.08)), 800.0)
    ours = ours_run(*args)
    syn_b = SynapseMatrix(syn0.indptr, syn0.indices, w.copy(), syn0.shape, delay=d)
    theirs = brian2_run(150, 3, t, i, syn_b, ("pair-all", scaled(0.08)), 800.0,
                        delays=d)
    compare(ours, theirs, 3)


def test_song_2000_conductance_model_two_seconds_matches_brian2():
    rng = np.random.default_rng(5)
    t, i = poisson_trains(rng, 1000, 15.0, 2000.0)
    syn = SynapseMatrix.all_to_all(1000, 1, weight=lambda g, n: g.uniform(0, 0.01, n),
                                   rng=6, dtype=np.float64)
    args = (1000, 1, t, i, syn.copy(), ("pair-all", PAIR), 2000.0)
    compare(ours_run(*args), brian2_run(*args), 1)


def test_state_monitor_lines_up_with_brian2_default_state_monitor():
    """Our sample stamped k*dt is the state at the start of step k (after step k-1,
    its resets and its synaptic input), as Brian2's default StateMonitor
    (``when='start'``): same times, same values, every step and every 7th."""
    from brian2 import (Network as BNetwork, NeuronGroup, SpikeGeneratorGroup,
                        StateMonitor, Synapses, TimedArray, defaultclock, ms, mV, pA,
                        pF, prefs)
    from plasticity.neurons import LIF
    prefs.codegen.target = "numpy"
    defaultclock.dt = DT * ms
    steps = 1000
    rng = np.random.default_rng(5)
    in_steps = np.flatnonzero(rng.random(steps) < 0.05)
    levels = np.repeat(rng.uniform(0.0, 500.0, steps // 100), 100)
    w = 400.0

    net = Network(dt=DT, seed=0)
    gen = net.add_spike_generator("gen", 1, in_steps * DT,
                                np.zeros(in_steps.size, dtype=int))
    pop = net.add_population("n", 1, LIF(t_ref=2.0, tau_syn_ex=2.0))
    net.connect(gen, pop, SynapseMatrix.all_to_all(1, 1, weight=w), target="I_syn_ex")
    net.add_current(pop, np.arange(0, steps, 100) * DT, levels[::100])
    every = net.monitor_state(pop, ["v", "I_syn_ex"])
    sparse = net.monitor_state(pop, ["v"], interval=0.7)
    net.run(steps * DT)

    eqs = """
    dv/dt = -(v - E_L)/tau_m + (I_ex + I_ext)/C_m : volt (unless refractory)
    dI_ex/dt = -I_ex/tau_ex : amp
    I_ext : amp
    """
    I_t = TimedArray(levels * pA, dt=DT * ms)
    G = NeuronGroup(1, eqs, threshold="v >= -55*mV", reset="v = -70*mV",
                    refractory=2.0 * ms, method="exact",
                    namespace=dict(E_L=-70.0 * mV, tau_m=10.0 * ms, C_m=250.0 * pF,
                                   tau_ex=2.0 * ms, I_t=I_t))
    G.v = -70.0 * mV
    G.run_regularly("I_ext = I_t(t)", when="start", order=-1)
    g = SpikeGeneratorGroup(1, np.zeros(in_steps.size, dtype=int), in_steps * DT * ms)
    S = Synapses(g, G, on_pre="I_ex_post += w", namespace=dict(w=w * pA))
    S.connect()
    M = StateMonitor(G, ["v", "I_ex"], record=True)          # when='start', default
    M7 = StateMonitor(G, "v", record=True, dt=0.7 * ms)
    bnet = BNetwork(G, g, S, M, M7)
    bnet.run(steps * DT * ms)

    np.testing.assert_allclose(every.times, np.asarray(M.t / ms), rtol=0, atol=1e-9)
    assert np.any(every["v"][:, 0] > -60.0), "the drive should move v"
    np.testing.assert_allclose(every["v"][:, 0], np.asarray(M.v[0] / mV), atol=1e-9)
    np.testing.assert_allclose(every["I_syn_ex"][:, 0], np.asarray(M.I_ex[0] / pA),
                               atol=1e-9)
    np.testing.assert_allclose(sparse.times, np.asarray(M7.t / ms), rtol=0, atol=1e-9)
    np.testing.assert_allclose(sparse["v"][:, 0], np.asarray(M7.v[0] / mV), atol=1e-9)
