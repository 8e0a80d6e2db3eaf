"""Tsodyks-Markram short-term plasticity (experiments/tsodyks_markram_1997.py): the
engine's responses equal the model's recursion; the paper's qualitative figures;
STP and STDP in one rule against the NumPy interpreter and Brian2 2.9."""
import math
import os

import numpy as np
import pytest
from _runfile_utils import experiment_module

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def tm():
    return experiment_module("tsodyks_markram_1997")


@pytest.fixture(scope="module")
def small(tm):
    return tm.run(tm.Config(**tm.SMALL), seed=2)


def amplitudes(times, U, tau_d, tau_f=None):
    """The recursion, written here independently of the experiment: with
    u_n^- = u_{n-1} exp(-D/tau_f), u_n = u_n^- + U (1 - u_n^-) (u_n = U without
    facilitation), x_n = 1 - (1 - x_{n-1} + u_{n-1} x_{n-1}) exp(-D/tau_d), x_1 = 1:
    A_n = u_n x_n."""
    out = []
    for n, t in enumerate(times):
        if n == 0:
            u = U
            x = 1.0
        else:
            D = t - times[n - 1]
            x = 1.0 - (1.0 - x_prev + u_prev * x_prev) * math.exp(-D / tau_d)
            u = U if tau_f is None else (
                u_prev * math.exp(-D / tau_f) + U * (1.0 - u_prev * math.exp(-D / tau_f)))
        out.append(u * x)
        u_prev, x_prev = u, x
    return np.array(out)


def test_responses_equal_the_recursion(tm, small):
    """Regular trains (1-100 Hz) and Poisson trains (5, 20, 50 Hz), depressing and
    facilitating synapses: every amplitude within 1e-12 relative."""
    c = tm.Config(**tm.SMALL)
    kinds = tm.SYNAPSES
    n_poisson = 0
    for j, (label, how, rate, steps) in enumerate(small["trains"]):
        n_poisson += how == "poisson"
        for kind in kinds:
            p = tm.synapse_params(c, kind)
            ref = amplitudes(steps * c.dt, p["U"], p["tau_d"], p["tau_f"])
            got = small["amplitudes"][kind][j]
            assert got.size == steps.size == c.n_spikes
            np.testing.assert_allclose(got, ref, rtol=1e-12, atol=0, err_msg=f"{kind} {label}")
    assert n_poisson == len(c.irregular_rates)
    assert small["max_error_vs_recursion"] < 1e-12


def test_depression_steady_state_falls_as_one_over_rate(tm, small):
    """TM 1997: above the limiting frequency 1/(U tau_d) = 2.5 Hz the steady-state
    amplitude is ~ 1/rate (A_ss * rate within 20 % of w/tau_d at >= 10 Hz), below it
    the amplitude stays near w U. Control: the facilitating synapse's steady state
    is not ~ w/(tau_d rate) (the criterion can fail)."""
    c = tm.Config(**tm.SMALL)
    assert small["dep_ss_times_rate_max_dev_high"] < 0.2
    assert small["dep_ss_over_U_max_dev_low"] < 0.25
    r = small["rates"]
    fac = small["a_ss"]["facilitation"] * r / (1000.0 / c.tau_d_fac)
    assert np.max(np.abs(fac[r >= 10] - 1)) > 0.3
    dep = small["a_ss"]["depression"]
    assert np.all(np.diff(dep) < 0)      # monotone in the rate


def test_facilitation_grows_then_depresses(tm, small):
    """TPM 1998: a facilitating synapse's responses to a 70 Hz train grow, peak and
    decline; control: the depressing synapse's largest response is the first."""
    n = tm.Config(**tm.SMALL).n_spikes
    assert 1 <= small["facilitation_peak_index"] <= n - 3
    assert small["facilitation_peak_over_first"] > 2.0
    assert small["facilitation_last_over_peak"] < 0.95
    assert small["depression_peak_index"] == 0
    assert small["depression_last_over_peak"] < 0.2


@pytest.mark.parametrize("kind", ["depression", "facilitation"])
def test_stp_stdp_rule_compiled_equals_interpreter(tm, kind):
    """STP and STDP on one synapse: compiled rule vs the same text in the NumPy
    interpreter, on the experiment's network: identical output spikes, weights and
    STP state within 1e-12."""
    c = tm.Config(**dict(tm.SMALL, stdp_inputs=80, stdp_rate=25.0))
    out = {}
    for backend in ("compiled", "numpy"):
        net, proj, mon = tm.stp_stdp_network(c, seed=4, backend=backend, kind=kind)
        w0 = proj.weights.copy()
        net.run(1000.0, progress=False)
        out[backend] = (mon.times.copy(), proj.weights.copy(), np.asarray(proj.rule["x"]))
    (ta, wa, xa), (tb, wb, xb) = out["compiled"], out["numpy"]
    assert ta.size >= 5
    np.testing.assert_array_equal(ta, tb)
    np.testing.assert_allclose(wa, wb, rtol=1e-12, atol=0)
    np.testing.assert_allclose(xa, xb, rtol=1e-12, atol=1e-300)
    assert np.any(wa != w0) and np.all(xa < 1.0)


@pytest.mark.peer
@pytest.mark.parametrize("kind", ["depression", "facilitation"])
def test_stp_stdp_rule_matches_brian2(tm, kind):
    """The STP+STDP rule's text in Brian2 2.9 Synapses (the rule owns the delivery;
    tests/test_rule_language_brian2.py's helpers), beside a built-in pair-STDP
    projection, onto conductance LIF neurons that fire: identical spikes, weights and
    the delivered conductance within 1e-9 relative."""
    b2 = pytest.importorskip("brian2")
    from test_rule_language_brian2 import (DT, NEURON, _b2_prefs, b2_lifcond, b2_pair,
                                           b2_rule, b2_run, compare, ours_pair, ours_run,
                                           poisson_trains)
    from plasticity import Network, SynapseMatrix
    from plasticity.neurons import LIFCond
    _b2_prefs()
    T, n_tm, n_e, n_out = 1200.0, 60, 200, 3
    rng = np.random.default_rng(41)
    tt, it = poisson_trains(rng, n_tm, 30.0, T)
    te, ie = poisson_trains(rng, n_e, 10.0, T)
    p = dict(U=0.5, tau_d=800.0) if kind == "depression" else dict(U=0.03, tau_d=130.0,
                                                                    tau_f=530.0)

    def rule():
        return tm.stp_stdp_rule(**p, a_plus=0.02, a_minus=0.021, w_max=0.6)
    tmw = SynapseMatrix.fixed_probability(
        n_tm, n_out, 0.7, weight=lambda g, n: g.uniform(0.2, 0.5, n), rng=42,
        dtype=np.float64)
    exc = SynapseMatrix.fixed_probability(
        n_e, n_out, 0.5, weight=lambda g, n: g.uniform(0.01, 0.04, n), rng=43,
        dtype=np.float64)
    net = Network(dt=DT, seed=0)
    gt = net.add_spike_generator("tm_in", n_tm, tt, it)
    ge = net.add_spike_generator("exc_in", n_e, te, ie)
    out = net.add_population("out", n_out, LIFCond(**NEURON))
    q = net.connect(gt, out, tmw.copy(), "g_e", rule=rule(), name="tm")
    pp = net.connect(ge, out, exc.copy(), "g_e", rule=ours_pair(), name="exc")
    ours = ours_run(net, out, [q, pp], T, state_vars=("g_e", "v"))

    G = b2_lifcond(n_out)
    Gt = b2.SpikeGeneratorGroup(n_tm, it, tt * b2.ms)
    Ge = b2.SpikeGeneratorGroup(n_e, ie, te * b2.ms)
    St, _ = b2_rule(Gt, G, tmw, rule(), dict(tau_d=b2.ms, tau_f=b2.ms, tau_plus=b2.ms,
                                             tau_minus=b2.ms), name="tm")
    Se = b2_pair(Ge, G, exc, "g_e", "exc")
    theirs = b2_run([G, Gt, Ge, St, Se], T, G, [St, Se], state_vars=("g_e", "v"))
    theirs["state"]["v"] = theirs["state"]["v"] * 1e3   # volt -> mV
    compare(ours, theirs, state_scale=dict(g_e=1.0, v=100.0))
    w = ours["w"][0]
    assert np.any(w > tmw.weights) and np.any(w < tmw.weights)
