"""A rule written by a user in Cython (docs/examples/cython_pair_rule.pyx) is compiled
against plasticity's .pxd files and runs inside the engine's loop."""
import importlib
import os
import sys

import numpy as np
import pytest

from plasticity import STDP, Additive, Network, Pair, SynapseMatrix
from plasticity.neurons import LIF

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs",
                        "examples")


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    build_dir = str(tmp_path_factory.mktemp("cython_rule"))
    sys.path.insert(0, EXAMPLES)
    try:
        builder = importlib.import_module("build_cython_rule")
        name = builder.build(os.path.join(EXAMPLES, "cython_pair_rule.pyx"), build_dir)
    finally:
        sys.path.remove(EXAMPLES)
    sys.path.insert(0, build_dir)
    try:
        yield importlib.import_module(name)
    finally:
        sys.path.remove(build_dir)


def network(rule, seed=4):
    net = Network(dt=0.1, seed=seed)
    inp = net.add_poisson("inp", 300, 20.0)
    out = net.add_population("out", 4, LIF(t_ref=2.0))
    syn = SynapseMatrix.fixed_probability(300, 4, 0.5, weight=lambda g, n: g.uniform(40, 90, n),
                                          rng=seed, dtype=np.float64)
    proj = net.connect(inp, out, syn, "I_syn_ex", rule=rule)
    return net, proj, net.monitor_spikes(out)


def test_cython_rule_equals_the_builtin_rule(example):
    params = dict(tau_plus=16.8, tau_minus=33.7, a_plus=1.0, a_minus=0.6)
    net_a, proj_a, mon_a = network(example.CythonPairSTDP(**params, w_min=0.0, w_max=120.0))
    net_b, proj_b, mon_b = network(STDP(Pair(**params), Additive(0.0, 120.0)))
    w0 = proj_a.weights.copy()
    net_a.run(2000.0)
    net_b.run(2000.0)
    assert mon_a.times.size > 50
    np.testing.assert_array_equal(mon_a.times, mon_b.times)
    assert not np.allclose(proj_a.weights, w0)
    np.testing.assert_allclose(proj_a.weights, proj_b.weights, rtol=1e-12)


def test_cython_rule_state_is_stored_and_restored(example):
    rule = example.CythonPairSTDP(w_max=120.0, a_plus=1.0, a_minus=0.6)
    net, proj, mon = network(rule)
    net.run(500.0)
    state = net.store()
    net.run(500.0)
    ref = proj.weights.copy()
    net.restore(state)
    net.run(500.0)
    np.testing.assert_array_equal(proj.weights, ref)


def test_cython_rule_rejects_per_synapse_delays(example):
    net = Network(dt=0.1, seed=0)
    inp = net.add_poisson("inp", 3, 20.0)
    out = net.add_population("out", 1, LIF())
    syn = SynapseMatrix.all_to_all(3, 1, weight=1.0, delay=np.array([0, 1, 2], np.int32))
    net.connect(inp, out, syn, "I_syn_ex", rule=example.CythonPairSTDP())
    with pytest.raises(ValueError, match="do not support per-synapse delays"):
        net.run(1.0)


def test_python_rule_example_from_the_docs_equals_the_builtin_rule():
    sys.path.insert(0, EXAMPLES)
    try:
        mod = importlib.import_module("python_pair_rule")
    finally:
        sys.path.remove(EXAMPLES)
    params = dict(tau_plus=16.8, tau_minus=33.7, a_plus=1.0, a_minus=0.6)
    net_a, proj_a, mon_a = network(mod.PythonPairSTDP(**params, w_min=0.0, w_max=120.0))
    net_b, proj_b, mon_b = network(STDP(Pair(**params), Additive(0.0, 120.0)))
    net_a.run(500.0)
    net_b.run(500.0)
    assert mon_a.times.size > 10
    np.testing.assert_array_equal(mon_a.times, mon_b.times)
    np.testing.assert_allclose(proj_a.weights, proj_b.weights, rtol=1e-12)
