"""Graupner-Brunel 2012 and van Rossum 2000 (the library rules' own text) against
Brian2 2.9 on shared input spike trains: spikes identical, weights to 1e-9 relative.

The approach and the helpers are ``tests/test_rule_language_brian2.py``'s: each rule in
a network beside a built-in pair-STDP projection that makes the conductance LIF
neurons fire; ``<target>_post += w`` first in Brian2's ``on_pre`` (our engine delivers
``w`` before the rule's ``on_pre``). What else the Brian2 side changes, and why:

- Graupner-Brunel: the calcium ``c`` becomes ``(clock-driven)`` (a Brian2
  event-driven variable cannot be read between events; the linear decay, integrated
  exactly, is the same function of time). ``rho`` is nonlinear, integrated by
  forward Euler from the values at t after the step's events (ours); Brian2's
  state updater would apply one method to both equations, so ``rho`` is a plain
  variable advanced by a ``run_regularly`` with the rule's own right-hand side
  (``rho = rho + dt * (rhs)``) at ``when='resets', order=-2``, after the rule's
  ``on_step`` (order -3) and before the state updater that decays ``c`` (order -1).
  The delay D is the Synapses' ``delay`` (ours: the SynapseMatrix's, in steps).
- van Rossum: ``a`` becomes ``(clock-driven)`` (as ``c`` above), ``z``'s flag
  ``post`` is dropped (Brian2 keeps a per-synapse copy; the same values);
  ``on_step`` as a ``run_regularly`` before the state updater (as Clopath's).
"""
import re

import numpy as np
import pytest

b2 = pytest.importorskip("brian2")

from test_rule_language_brian2 import (DT, NEURON, _b2_prefs, b2_lifcond,  # noqa: E402
                                       b2_pair, b2_rule, b2_run, compare, ours_pair,
                                       ours_run, poisson_trains, pre_ids)

from plasticity import Network, SynapseMatrix  # noqa: E402
from plasticity.neurons import LIFCond  # noqa: E402
from plasticity.rules.library import graupner_brunel_2012, van_rossum_2000  # noqa: E402

pytestmark = pytest.mark.peer


def test_graupner_brunel_matches_brian2():
    _b2_prefs()
    T, n_in, n_e, n_out = 1500.0, 40, 300, 3
    rng = np.random.default_rng(41)
    tg, ig = poisson_trains(rng, n_in, 20.0, T)
    te, ie = poisson_trains(rng, n_e, 15.0, T)
    d_steps = int(round(graupner_brunel_2012("cortical_slices").delay / DT))
    gb_syn = SynapseMatrix.fixed_probability(n_in, n_out, 0.7, weight=0.01, rng=42,
                                             dtype=np.float64, delay=d_steps)
    rho0 = np.random.default_rng(43).uniform(0.0, 1.0, gb_syn.nnz)
    exc = SynapseMatrix.fixed_probability(
        n_e, n_out, 0.5, weight=lambda g, n: g.uniform(0.02, 0.06, n), rng=44,
        dtype=np.float64)

    def rule():
        # the cortical set with a fast tau (500 ms) so that rho moves in 1.5 s
        return graupner_brunel_2012("cortical_slices", rho0=rho0, w_down=0.01,
                                    w_up=0.05, tau=500.0)
    r = rule()
    gb_syn.weights[:] = 0.01 + rho0 * 0.04

    net = Network(dt=DT, seed=0)
    gg = net.add_spike_generator("gb_in", n_in, tg, ig)
    ge = net.add_spike_generator("exc_in", n_e, te, ie)
    out = net.add_population("out", n_out, LIFCond(**NEURON))
    q = net.connect(gg, out, gb_syn.copy(), "g_e", rule=r, name="gb")
    p = net.connect(ge, out, exc.copy(), "g_e", rule=ours_pair(), name="exc")
    ours = ours_run(net, out, [q, p], T)
    rho_ours = r["rho"].copy()

    G = b2_lifcond(n_out)
    Gg = b2.SpikeGeneratorGroup(n_in, ig, tg * b2.ms)
    Ge = b2.SpikeGeneratorGroup(n_e, ie, te * b2.ms)
    r2 = rule()
    model = r2.text["model"]
    line = [s for s in model.splitlines() if s.strip().startswith("drho/dt")][0]
    rhs = re.match(r"\s*drho/dt\s*=\s*(.*)\s*:\s*1\s*\(clock-driven\)\s*$", line).group(1)
    model = model.replace(line, "rho : 1").replace(
        "dc/dt = -c / tau_Ca : 1 (event-driven)", "dc/dt = -c / tau_Ca : 1 (clock-driven)")
    units = {k: b2.ms for k in ("tau_Ca", "tau")}
    ns = {k: v * units.get(k, 1.0) for k, v in r2.params.items()}
    S = b2.Synapses(Gg, G, "w : 1\n" + model,
                    on_pre="g_e_post += w\n" + r2.text["on_pre"],
                    on_post=r2.text["on_post"], namespace=ns, method="exact", name="gb",
                    delay=d_steps * DT * b2.ms)
    S.connect(i=pre_ids(gb_syn), j=gb_syn.indices.astype(int))
    S.w = gb_syn.weights
    S.rho = rho0
    S.run_regularly(r2.text["on_step"], when="resets", order=-3, name="gb_step")
    S.run_regularly(f"rho = rho + dt * ({rhs})", when="resets", order=-2, name="gb_rho")
    S.state_updater.when = "resets"
    S.state_updater.order = -1
    Se = b2_pair(Ge, G, exc, "g_e", "exc")
    theirs = b2_run([G, Gg, Ge, S, Se], T, G, [S, Se])
    compare(ours, theirs)
    np.testing.assert_allclose(rho_ours, np.asarray(S.rho[:]), rtol=1e-9, atol=1e-12)
    # the rule did something: rho moved both ways
    assert np.any(rho_ours > rho0 + 1e-3) and np.any(rho_ours < rho0 - 1e-3)


def test_van_rossum_matches_brian2():
    _b2_prefs()
    T, n_in, n_e, n_out = 1500.0, 100, 100, 3
    rng = np.random.default_rng(51)
    tv, iv = poisson_trains(rng, n_in, 15.0, T)
    te, ie = poisson_trains(rng, n_e, 10.0, T)
    vr = SynapseMatrix.fixed_probability(
        n_in, n_out, 0.8, weight=lambda g, n: g.uniform(0.0, 0.04, n), rng=52,
        dtype=np.float64)
    exc = SynapseMatrix.fixed_probability(
        n_e, n_out, 0.5, weight=lambda g, n: g.uniform(0.01, 0.04, n), rng=53,
        dtype=np.float64)

    def rule():
        # fast scaling and STDP so that all terms act within 1.5 s
        return van_rossum_2000(c_p=2e-3, c_d=0.05, tau_a=300.0, a_goal=5.0, beta=0.5,
                               gamma=1e-2)

    net = Network(dt=DT, seed=0)
    gv = net.add_spike_generator("vr_in", n_in, tv, iv)
    ge = net.add_spike_generator("exc_in", n_e, te, ie)
    out = net.add_population("out", n_out, LIFCond(**NEURON))
    r = rule()
    q = net.connect(gv, out, vr.copy(), "g_e", rule=r, name="vr")
    p = net.connect(ge, out, exc.copy(), "g_e", rule=ours_pair(), name="exc")
    ours = ours_run(net, out, [q, p], T)

    G = b2_lifcond(n_out)
    Gv = b2.SpikeGeneratorGroup(n_in, iv, tv * b2.ms)
    Ge = b2.SpikeGeneratorGroup(n_e, ie, te * b2.ms)
    Sv, _ = b2_rule(Gv, G, vr, rule(), dict(tau_stdp=b2.ms, tau_a=b2.ms),
                    deliver="g_e_post += w",
                    model_edit=[("da/dt = -a / tau_a : Hz (event-driven)",
                                 "da/dt = -a / tau_a : Hz (clock-driven)"),
                                ("(clock-driven, post)", "(clock-driven)")],
                    method="exponential_euler", name="vr")
    Se = b2_pair(Ge, G, exc, "g_e", "exc")
    theirs = b2_run([G, Gv, Ge, Sv, Se], T, G, [Sv, Se])
    compare(ours, theirs)
    # the scaling acted: the sensor is non-zero and z moved
    assert np.all(r["a"] > 0) and np.any(np.abs(r["z"]) > 0)
