"""Vogels, Sprekeler et al. 2011 (experiments/vogels_sprekeler_2011.py): inhibitory
STDP brings a tuned neuron's rate to the target and co-tunes inhibition with
excitation; without it, neither. And the experiment's network against Brian2 2.9."""
import os

import numpy as np
import pytest
from _runfile_utils import experiment_module

HERE = os.path.dirname(os.path.abspath(__file__))


def test_istdp_balances_rate_and_co_tunes_inhibition():
    """Small config (30 s, last 10.5 s measured): from ~115 Hz the rate comes down to
    rho0 = 6.25 Hz, and the inhibitory tuning curve follows the excitatory one.
    Tolerance on the rate: 30 %, not the issue's 10 %: at 30 s the learning has not
    settled (seed 1: 6.57 Hz), the converged rate lies 15 % below rho0 (the rule's
    pre-post correlation term, test_rate_settles_at_the_rules_correlated_fixed_point),
    and 10.5 s hold ~70 output spikes (+-12 % Poisson)."""
    vs = experiment_module("vogels_sprekeler_2011")
    m = vs.run(vs.Config(**vs.SMALL), seed=1)
    assert m["initial_rate_hz"] > 10 * m["target_rate_hz"]
    assert abs(m["output_rate_hz"] - m["target_rate_hz"]) < 0.3 * m["target_rate_hz"], m
    assert m["co_tuning"] >= 0.9, m
    assert m["weight_correlation"] >= 0.9, m
    w = m["w_inh_by_channel"][-1]
    assert np.argmax(w) == vs.Config().preferred - 1


@pytest.mark.slow
def test_rate_settles_at_the_rules_correlated_fixed_point():
    """The default 150 s run (last 60 s measured): the rate settles below rho0 because
    each inhibitory input shares its channel's signal with the excitation, so pre-
    and postsynaptic spikes coincide more often than independent trains would
    (pre_post_excess > 0: extra potentiation). The rule's fixed point is then
    rho0 / (1 + pre_post_excess), and the measured rate sits there: potentiation and
    depression balance within 10 % (seed 0: P / D = 0.958, excess 0.13; at 600 s,
    seeds 0-2: 5.33-5.37 Hz against a fixed point of 5.32-5.37 Hz). The rate itself
    is within 25 % of rho0 (seed 0: 5.28 Hz, -15 %; the issue asks 10 %)."""
    vs = experiment_module("vogels_sprekeler_2011")
    m = vs.run(vs.Config(), seed=0)
    assert m["pre_post_excess"] > 0.05, m
    assert m["output_rate_hz"] < m["target_rate_hz"], m
    assert abs(m["output_rate_hz"] - m["target_rate_hz"]) < 0.25 * m["target_rate_hz"], m
    assert abs(m["stdp_potentiation_over_depression"] - 1.0) < 0.1, m
    assert abs(m["output_rate_hz"] / m["rate_fixed_point_hz"] - 1.0) < 0.1, m
    assert m["co_tuning"] >= 0.99, m


def test_independent_inhibitory_signals_reverse_the_correlation():
    """Control for the fixed-point shift: inhibitory inputs driven by signals of their
    own (--set inh_signals=independent) carry no shared drive, only their own
    suppression of the output, so the correlation term turns negative and the rate
    goes above rho0 (600 s, seed 0: excess -0.35, 9.55 Hz; 30 s, seed 1: -0.25, 21.6 Hz)."""
    vs = experiment_module("vogels_sprekeler_2011")
    m = vs.run(vs.Config(**dict(vs.SMALL, inh_signals="independent")), seed=1)
    assert m["pre_post_excess"] < -0.1, m
    assert m["output_rate_hz"] > m["target_rate_hz"], m


def test_without_inhibitory_plasticity_no_balance():
    """Control: eta = 0 (the flat initial inhibition stays): the rate stays an order
    of magnitude above rho0 and the tuning curves are not co-tuned."""
    vs = experiment_module("vogels_sprekeler_2011")
    m = vs.run(vs.Config(**dict(vs.SMALL, eta=0.0, duration=6000.0,
                                analysis_window=4500.0)), seed=1)
    assert m["output_rate_hz"] > 5 * m["target_rate_hz"], m
    assert m["co_tuning"] < 0.6, m
    assert np.isnan(m["weight_correlation"])     # flat inhibitory weights


def test_input_channels_rates_and_dead_time():
    vs = experiment_module("vogels_sprekeler_2011")
    c = vs.Config()
    gen = vs.InputGenerator(c, np.random.default_rng(0))
    (se, ie), (si, ii), rate = gen.chunk(0, 15000)
    assert rate.shape == (15000, c.n_channels) and rate.min() >= c.background_rate
    for st, ids in ((se, ie), (si, ii)):
        for i in np.unique(ids)[:50]:
            assert np.diff(np.sort(st[ids == i])).min() >= 50   # 5 ms dead time
    # shared signals: a channel's excitatory and inhibitory counts rise together
    ch_e, ch_i = vs.channel_of_inputs(c)
    bins = np.arange(0, 15001, 500)
    ce = np.histogram(se[ch_e[ie] == 0], bins)[0]
    ci = np.histogram(si[ch_i[ii] == 0], bins)[0]
    assert np.corrcoef(ce, ci)[0, 1] > 0.5


def test_stdp_balance_of_a_window_far_beyond_the_analysis_is_undefined():
    """tau_stdp = 1e30 ms: P / P_ind rounds to 0, the fixed point rho0 / (1 + excess)
    divided by zero after the whole run (ZeroDivisionError); it is Undefined, with
    why, and the run completes. A usual window still gives a number."""
    from plasticity.results import Undefined
    vs = experiment_module("vogels_sprekeler_2011")
    rng = np.random.default_rng(0)
    pre, post = np.sort(rng.uniform(0, 1000, 200)), np.sort(rng.uniform(0, 1000, 10))
    far = vs.stdp_balance(vs.Config(tau_stdp=1e30), pre, post, 1000.0)
    assert isinstance(far["rate_fixed_point_hz"], Undefined)
    assert "tau_stdp = 1e+30 ms is beyond the analysis window (1000 ms)" in \
        far["rate_fixed_point_hz"].reason
    near = vs.stdp_balance(vs.Config(), pre, post, 1000.0)
    assert np.isfinite(near["rate_fixed_point_hz"])


@pytest.mark.peer
def test_experiment_network_matches_brian2():
    """The experiment's own network and inputs (one 1.5 s run, 1000 inputs, the
    paper's parameters, eta x 20 so that weights move visibly) in Brian2 2.9 with the
    rule's own text (tests/test_rule_language_brian2.py's b2_rule): identical output
    spikes, inhibitory weights within 1e-9 relative."""
    b2 = pytest.importorskip("brian2")
    from test_rule_language_brian2 import _b2_prefs, b2_rule, compare
    vs = experiment_module("vogels_sprekeler_2011")
    c = vs.Config(**dict(vs.SMALL, eta=2e-2))
    net, ge, gi, neuron, exc, inh, inputs = vs.build(c, seed=3)
    steps = int(round(c.chunk / c.dt))
    (se, ie), (si, ii), _ = inputs.chunk(0, steps)
    ge.set_spikes(se * c.dt, ie)
    gi.set_spikes(si * c.dt, ii)
    w_e, w_i = exc.weights.copy(), inh.weights.copy()
    sm = net.monitor_spikes(neuron)
    net.run(c.chunk, progress=False)
    ours = dict(steps=np.round(sm.times / c.dt).astype(np.int64), ids=np.asarray(sm.ids),
                w=[inh.weights.copy()])

    _b2_prefs()
    ms = b2.ms
    G = b2.NeuronGroup(1, f"""
        dv/dt = (({c.E_L}*mV - v) + g_e*({c.E_e}*mV - v) + g_i*({c.E_i}*mV - v))
                / ({c.tau_m}*ms) : volt (unless refractory)
        dg_e/dt = -g_e / ({c.tau_e}*ms) : 1
        dg_i/dt = -g_i / ({c.tau_i}*ms) : 1""",
        threshold=f"v > {c.V_th}*mV", reset=f"v = {c.V_reset}*mV",
        refractory=c.t_ref * ms, method="exponential_euler")
    G.v = c.E_L * b2.mV
    Ge = b2.SpikeGeneratorGroup(ge.n, ie, se * c.dt * ms)
    Gi = b2.SpikeGeneratorGroup(gi.n, ii, si * c.dt * ms)
    Se = b2.Synapses(Ge, G, "w : 1", on_pre="g_e_post += w")
    Se.connect(i=np.arange(ge.n), j=0)
    Se.w = w_e
    Si, _ = b2_rule(Gi, G, inh.synapses, vs.istdp_rule(c), dict(tau_stdp=ms),
                    deliver="g_i_post += w", name="inh")
    Si.w = w_i
    mon = b2.SpikeMonitor(G)
    b2.Network(G, Ge, Gi, Se, Si, mon).run(c.chunk * ms)
    theirs = dict(steps=np.round(np.asarray(mon.t / ms) / c.dt).astype(np.int64),
                  ids=np.asarray(mon.i), w=[np.asarray(Si.w[:])])
    compare(ours, theirs, min_spikes=20)
    assert np.ptp(ours["w"][0]) > 0
