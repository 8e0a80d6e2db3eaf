"""Dendritic delays: the rule sees the postsynaptic spikes late (``post_delay``).

Our engine's delays are axonal: an STDP synapse sees a presynaptic spike when it
arrives (t_pre + d) and a postsynaptic spike at once. With the part f d of the delay
dendritic (PyNN's ``dendritic_delay_fraction``; NEST: f = 1) the synapse sees them
at t_pre + (1 - f) d and t_post + f d: f d later on both sides, that is t_pre + d
and t_post + 2 f d, so ``STDP(post_delay=2 f d)`` (and ``EquationRule(post_delay=)``)
run it. Checked here against a plain NumPy reference of the pair rule (event by
event, with the engine's order within a step), across threads, split runs and the
post-ordered weights, against the rule-language form of the same rule, and through
plasticity.pynn (fractions 0, 0.5 and 1 against the reference in closed form).
NEST itself: tests/test_pynn_nest.py.
"""
import math
import os
import sys

import numpy as np
import pytest

from plasticity import Network, SynapseMatrix
from plasticity import network as network_module
from plasticity.neurons import LIF
from plasticity.rules import STDP, Additive, EquationRule, Multiplicative, Pair, Triplet
from plasticity._ext import engine

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DT = 0.1
N_PRE, N_POST = 6, 3


def _trains(rng, n, n_spikes, n_steps):
    return [np.sort(rng.choice(np.arange(1, n_steps), n_spikes, replace=False))
            for _ in range(n)]


def _net(rule, delay, seed=3, duration=300.0, threads=1):
    """N_PRE generator inputs onto N_POST LIF neurons through ``rule`` (all to all,
    engine delay ``delay``: an int or one per synapse), the neurons also driven by a
    static Poisson input so that they fire irregularly."""
    rng = np.random.default_rng(seed)
    n_steps = int(round(duration / DT))
    pre = _trains(rng, N_PRE, 40, n_steps)
    net = Network(dt=DT, seed=seed, threads=threads)
    t = np.concatenate(pre) * DT
    i = np.concatenate([np.full(x.size, k) for k, x in enumerate(pre)])
    src = net.add_spike_generator("src", N_PRE, t, i)
    drive = net.add_poisson("drive", 20, rates=80.0)
    out = net.add_population("out", N_POST, LIF(tau_m=20.0, C_m=1000.0, E_L=-65.0,
                                                V_th=-60.0, V_reset=-65.0, t_ref=2.0,
                                                tau_syn_ex=5.0, tau_syn_in=5.0))
    out["v"] = -65.0
    net.connect(drive, out, SynapseMatrix.all_to_all(20, N_POST, weight=900.0,
                                                      dtype=np.float64), "I_syn_ex",
                name="drive_out")
    syn = SynapseMatrix.all_to_all(N_PRE, N_POST, weight=500.0, dtype=np.float64,
                                   delay=delay)
    proj = net.connect(src, out, syn, "I_syn_ex", rule=rule, name="plastic")
    mon = net.monitor_spikes(out)
    return net, proj, mon, pre


def _reference(pre, post, delays, post_delay, w0, timing, weight, n_steps):
    """Final weights of the all-to-all pair rule, synapse by synapse, event by event:
    the arrivals of a step first (depression by the post trace of the post events
    before that step), then the post events of the step (potentiation by the pre
    trace of the arrivals up to and including it); post events ``post_delay`` steps
    after the spikes; events at or after ``n_steps`` not yet seen."""
    c_plus, c_minus = DT / timing.tau_plus, DT / timing.tau_minus
    lo, hi = weight.w_min, weight.w_max

    def f(w):
        return weight.f(np.float64(w))

    out = np.empty((N_PRE, N_POST))
    for i in range(N_PRE):
        for j in range(N_POST):
            arr = pre[i] + delays[i, j]
            arr = arr[arr < n_steps]
            pst = post[j] + post_delay
            pst = pst[pst < n_steps]
            events = sorted([(a, 0) for a in arr] + [(b, 1) for b in pst])
            w = w0
            for t, kind in events:
                if kind == 0:
                    o1 = np.sum(np.exp(-(t - pst[pst < t]) * c_minus))
                    w = min(max(w - f(w)[1] * timing.a_minus * o1, lo), hi)
                else:
                    r1 = np.sum(np.exp(-(t - arr[arr <= t]) * c_plus))
                    w = min(max(w + f(w)[0] * timing.a_plus * r1, lo), hi)
            out[i, j] = w
    return out


def _pair():
    return Pair(tau_plus=20.0, tau_minus=20.0, a_plus=20.0, a_minus=24.0)


@pytest.mark.parametrize("weight", [Additive(0.0, 1000.0), Multiplicative(0.0, 1000.0)])
@pytest.mark.parametrize("delay,post_delay", [(0, 0), (0, 2), (4, 0), (4, 10), (9, 20),
                                              ("hetero", 6)])
def test_pair_rule_with_post_delay_matches_numpy_reference(weight, delay, post_delay):
    rng = np.random.default_rng(5)
    delays = (rng.integers(0, 12, size=(N_PRE, N_POST)) if delay == "hetero"
              else np.full((N_PRE, N_POST), delay))
    rule = STDP(_pair(), weight, post_delay=post_delay * DT)
    net, proj, mon, pre = _net(rule, delays.ravel() if delay == "hetero" else delay)
    net.run(300.0)
    post = [np.round(mon.times[mon.ids == j] / DT).astype(np.int64)
            for j in range(N_POST)]
    assert all(p.size > 5 for p in post)
    ref = _reference(pre, post, delays, post_delay, 500.0, _pair(), weight, 3000)
    w = proj.synapses.to_dense()
    np.testing.assert_allclose(w, ref, rtol=1e-10, atol=1e-9)
    assert np.ptp(w) > 10.0                        # the weights did move
    if post_delay:
        # and the post delay matters: the reference without it is another result
        ref0 = _reference(pre, post, delays, 0, 500.0, _pair(), weight, 3000)
        assert np.max(np.abs(ref0 - ref)) > 1.0


def test_post_delay_zero_is_the_rule_without_it():
    a = _net(STDP(_pair(), Additive(0.0, 1000.0)), 3)
    b = _net(STDP(_pair(), Additive(0.0, 1000.0), post_delay=0.0), 3)
    for net, *_ in (a, b):
        net.run(200.0)
    np.testing.assert_array_equal(a[1].synapses.weights, b[1].synapses.weights)
    np.testing.assert_array_equal(a[2].times, b[2].times)
    assert "post_delay" not in a[1].rule.parameters()
    assert b[1].rule.parameters() == a[1].rule.parameters()


def _snapshot(net, proj, mon):
    return (proj.synapses.weights.copy(), mon.times.copy(), mon.ids.copy(),
            {k: v.copy() for k, v in proj.rule.get_state().items()})


def _same(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])
    for k in a[3]:
        np.testing.assert_array_equal(a[3][k], b[3][k], err_msg=k)


@pytest.mark.parametrize("timing", ["pair", "triplet"])
def test_post_delay_identical_across_threads_split_runs_and_post_order(timing,
                                                                       monkeypatch):
    """Threads (the step loop and the team loop), a run in two parts, and the
    post-ordered weights of long runs: the same numbers bit for bit."""
    monkeypatch.setattr(network_module, "_WORK_PER_THREAD", 0)

    def rule():
        t = _pair() if timing == "pair" else Triplet(a2_plus=5.0, a3_plus=6.0,
                                                     a2_minus=7.0, a3_minus=0.3)
        return STDP(t, Additive(0.0, 1000.0), post_delay=1.2)

    net, proj, mon, _ = _net(rule(), 5)
    net.run(300.0)
    ref = _snapshot(net, proj, mon)
    assert ref[1].size > 20
    runs = [(2, True), (3, True), (2, False)] if engine.openmp_available() else []
    for n, team in runs:
        engine.team_loop(team)
        try:
            net, proj, mon, _ = _net(rule(), 5, threads=n)
            net.run(300.0)
        finally:
            engine.team_loop(True)
        _same(ref, _snapshot(net, proj, mon))
    net, proj, mon, _ = _net(rule(), 5)
    net.run(123.4)
    net.run(176.6)
    _same(ref, _snapshot(net, proj, mon))
    monkeypatch.setattr(network_module, "_POST_ORDER_MIN_STEPS", 100)
    net, proj, mon, _ = _net(rule(), 5)
    net.run(300.0)
    _same(ref, _snapshot(net, proj, mon))


@pytest.mark.parametrize("timing", ["pair", "triplet"])
def test_post_delay_same_in_the_rule_language(timing):
    """The built-in kernel and its rule-language form (to_equation_rule, which
    carries the post delay) give the same weights bit for bit."""
    t = _pair() if timing == "pair" else Triplet(a2_plus=5.0, a3_plus=6.0,
                                                 a2_minus=7.0, a3_minus=0.3)
    a = STDP(t, Additive(0.0, 1000.0), post_delay=0.8)
    b = a.to_equation_rule()
    assert b.post_delay == 0.8 and b.parameters()["post_delay"] == 0.8
    ra, rb = _net(a, 4), _net(b, 4)
    for net, *_ in (ra, rb):
        net.run(300.0)
    np.testing.assert_array_equal(ra[1].synapses.weights, rb[1].synapses.weights)
    np.testing.assert_array_equal(ra[2].times, rb[2].times)
    c = STDP(t, Additive(0.0, 1000.0))         # control: without the delay
    rc = _net(c, 4)
    rc[0].run(300.0)
    assert not np.array_equal(rc[1].synapses.weights, ra[1].synapses.weights)


def test_post_delay_errors():
    for bad in (-0.1, math.nan, math.inf):
        with pytest.raises(ValueError, match="post_delay"):
            STDP(_pair(), Additive(), post_delay=bad)
        with pytest.raises(ValueError, match="post_delay"):
            EquationRule(model="x : 1", on_post="w += x", post_delay=bad)
    with pytest.raises(TypeError, match="post_delay"):
        STDP(_pair(), Additive(), post_delay="1")
    # not a whole number of steps: at connect, before anything runs
    with pytest.raises(ValueError, match=r"post_delay must be a multiple of dt = 0.1 ms, "
                                         r"got 0.15"):
        _net(STDP(_pair(), Additive(0.0, 1000.0), post_delay=0.15), 2)
    with pytest.raises(ValueError, match="backend='compiled'"):
        EquationRule(model="x : 1", on_post="w += x", post_delay=1.0, backend="numpy")
    # a rule that reads a neuron variable would read it at another time
    rule = EquationRule(model="x : 1", on_post="w += x * v_post", post_delay=1.0)
    with pytest.raises(ValueError, match=r"'v_post' in on_post"):
        _net(rule, 2)
    rule = EquationRule(model="x : 1", on_pre="w += t", post_delay=1.0)
    with pytest.raises(ValueError, match=r"'t' in on_pre"):
        _net(rule, 2)
    # the engine refuses a post delay its history cannot hold
    net, proj, mon, _ = _net(STDP(_pair(), Additive(0.0, 1000.0)), 2)
    net.run(1.0)
    with pytest.raises(ValueError, match="spike history"):
        net._eng.set_post_delay(1, 50)


# ------------------------------------------------------------------ plasticity.pynn
@pytest.mark.parametrize("delay", [1.0, 3.0])
@pytest.mark.parametrize("fraction", [0.0, 0.5, 1.0])
def test_pynn_fraction_matches_the_pair_rule_in_closed_form(delay, fraction):
    """PyNN's pair protocol (12 inputs at Delta t from -15.5 to 15.5 ms, 5 pairings
    each and a last presynaptic spike): the final weights are those of the pair
    rule with every pair at (t_post + dt) + f d - (t_pre + (1 - f) d)."""
    pytest.importorskip("pyNN")
    from benchmarks import pynn_vs_nest as P
    post, trains, w = P.pair_protocol("plasticity.pynn", delay, fraction)
    np.testing.assert_allclose(post, 51.8 + 100.0 * np.arange(5), atol=1e-9)
    ref = P.pair_reference(trains, post, delay, fraction)
    scale = np.max(np.abs(ref - P.PAIR_W_MAX / 2))
    assert np.max(np.abs(w - ref)) < 1e-9 * scale
    other = P.pair_reference(trains, post, delay, 1.0 - fraction)
    if fraction != 0.5:
        assert np.max(np.abs(other - ref)) > 0.5 * scale   # the fraction matters


def test_pynn_fraction_does_not_move_the_psc():
    """With no weight change (A+ = A- = 0) the membrane potential is the same for
    every fraction: the PSC arrives d after the spike whatever part is dendritic."""
    pytest.importorskip("pyNN")
    import plasticity.pynn as sim
    vs = []
    for f in (0.0, 0.5, 1.0):
        sim.setup(timestep=0.1)
        src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[5.0, 17.0],
                                                                  [9.0, 30.0]]))
        cell = sim.Population(1, sim.IF_curr_exp(v_thresh=-50.0))
        stdp = sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(A_plus=0.0, A_minus=0.0),
            weight_dependence=sim.AdditiveWeightDependence(w_max=5.0),
            weight=1.5, delay=2.0, dendritic_delay_fraction=f)
        sim.Projection(src, cell, sim.AllToAllConnector(), stdp)
        cell.record("v")
        sim.run(50.0)
        vs.append(np.asarray(cell.get_data().segments[0].analogsignals[0].magnitude))
        sim.end()
    assert np.ptp(vs[0]) > 1.0
    for v in vs[1:]:
        np.testing.assert_array_equal(v, vs[0])


def test_pynn_fraction_errors():
    pytest.importorskip("pyNN")
    import plasticity.pynn as sim
    from pyNN.errors import InvalidParameterValueError
    sim.setup(timestep=0.1)
    for bad in (1.5, -0.1, math.nan, math.inf, "half", True):
        with pytest.raises(InvalidParameterValueError,
                           match=r"dendritic_delay_fraction must be .*\[0, 1\]"):
            sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                              weight_dependence=sim.AdditiveWeightDependence(),
                              dendritic_delay_fraction=bad)
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[5.0], [9.0]]))
    cell = sim.Population(1, sim.IF_curr_exp())

    def stdp(f):
        return sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                                 weight_dependence=sim.AdditiveWeightDependence(),
                                 weight=0.1, delay=1.0, dendritic_delay_fraction=f)

    prj = sim.Projection(src, cell, sim.AllToAllConnector(), stdp(1.0))
    with pytest.raises(InvalidParameterValueError, match="got 2.0"):
        prj.set(dendritic_delay_fraction=2.0)
    assert prj.get("dendritic_delay_fraction", format="list")[0][2] == 1.0
    # 2 f d is not a whole number of steps: refused at the run, before it starts
    prj.set(dendritic_delay_fraction=0.33)
    with pytest.raises(InvalidParameterValueError,
                       match=r"dendritic_delay_fraction = 0.33 with delay 1 ms.*0.66 ms"):
        sim.run(10.0)
    assert sim.get_current_time() == 0.0
    prj.set(dendritic_delay_fraction=0.3)            # 0.6 ms: 6 steps
    sim.run(10.0)
    sim.end()
