"""The step loop flushes denormals to zero (engine.flush_denormals, _threads.h's
pl_ftz_enter) on every thread that runs it.

Why: an exponentially decaying conductance or trace that is not refreshed reaches the
smallest denormal (4.9e-324) and stays there forever, since x * decay rounds back to
it; arithmetic on denormals is several times slower, so a population with such values
slowed every step (B3's inhibitory neurons: the g_e of each neuron whose excitatory
partner spiked once). With the flush such a value becomes exactly 0. Nothing a neuron
does depends on a value below 2.2e-308: v, spikes and weights are the same bit for bit.
"""
import numpy as np
import pytest

from plasticity import Network
from plasticity._ext import engine
from plasticity.neurons import LIFCond

import plasticity.network as network_module
from _thread_utils import assert_identical, snapshot

TINY = np.finfo(np.float64).tiny   # the smallest normal float64


@pytest.fixture
def restore_flush():
    before = engine.flush_denormals()
    yield
    engine.flush_denormals(before)


def decaying_network(n, threads):
    """``n`` conductance LIF neurons at rest whose g_e starts just above the denormal
    range (different per neuron) and decays by exp(-dt / tau_e) = 0.61 per step."""
    net = Network(dt=0.5, seed=3, threads=threads)
    pop = net.add_population("p", n, LIFCond(tau_e=1.0, tau_i=2.0))
    k = pop.model.variables.index("g_e")
    pop.state[k] = TINY * np.linspace(2.0, 50.0, n)
    return net, pop, k


def test_a_decaying_conductance_becomes_zero_not_a_stuck_denormal(restore_flush):
    engine.flush_denormals(False)
    net, pop, k = decaying_network(16, threads=1)
    net.run(100.0)
    stuck = pop.state[k].copy()
    # without the flush: the value the issue describes, stuck at the smallest denormal
    assert np.all(stuck == np.nextafter(0.0, 1.0)), stuck
    v_ieee = pop.state[pop.model.variables.index("v")].copy()

    engine.flush_denormals(True)
    net, pop, k = decaying_network(16, threads=1)
    net.run(100.0)
    assert np.all(pop.state[k] == 0.0), pop.state[k]
    # the membrane never saw the difference
    assert np.array_equal(pop.state[pop.model.variables.index("v")], v_ieee)


def test_every_thread_flushes(monkeypatch, restore_flush):
    """Each thread of the team sets the mode for its own neurons: on 1, 2, 3 and 7
    threads every g_e ends at exactly 0 and the runs are identical."""
    if not network_module._OPENMP:
        pytest.skip("built without OpenMP")
    monkeypatch.setattr(network_module, "_WORK_PER_THREAD", 0)
    engine.flush_denormals(True)
    ref = None
    for threads in (1, 2, 3, 7):
        net, pop, k = decaying_network(64, threads)
        net.run(100.0)
        assert np.all(pop.state[k] == 0.0), (threads, pop.state[k])
        snap = snapshot(net, [])
        if ref is None:
            ref = snap
        else:
            assert_identical(ref, snap, f"{threads} threads vs 1")


def test_python_keeps_ieee_denormals_after_a_run(restore_flush):
    """The mode is the loop's only: NumPy in the calling thread still has denormals
    after a run (the previous mode is restored)."""
    engine.flush_denormals(True)
    net, pop, k = decaying_network(4, threads=1)
    net.run(5.0)
    x = np.array([TINY]) / np.array([4.0])
    assert x[0] != 0.0 and x[0] < TINY


def test_flush_denormals_setting():
    before = engine.flush_denormals()
    try:
        assert engine.flush_denormals(False) is False
        assert engine.flush_denormals() is False
        assert engine.flush_denormals(True) is True
    finally:
        engine.flush_denormals(before)
