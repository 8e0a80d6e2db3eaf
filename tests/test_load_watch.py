"""The network's load watch: a run on several threads whose threads did not hold
their cores (another process ran on them) makes the next runs use fewer threads,
until a later probe with all of them finds the cores free. Only the number of
threads changes, so the results stay those of any thread count."""
import numpy as np
import pytest

from plasticity import network as N
from plasticity.network import Network, _cores_held
from plasticity.neurons import LIF
from plasticity.synapses import SynapseMatrix


@pytest.fixture
def watch(monkeypatch):
    monkeypatch.setattr(N, "_WATCH_LOAD", True)
    clock = [1000.0]
    monkeypatch.setattr(N.time, "monotonic", lambda: clock[0])
    return clock


class FakeEngine:
    """What _watch_load reads of an engine after a run segment."""
    def __init__(self, cpu, wall):
        self.thread_cpu = None if cpu is None else np.asarray(cpu, float)
        self.thread_wall = None if wall is None else np.asarray(wall, float)
        self.threads = 1 if cpu is None else len(cpu)


def test_cores_held():
    assert _cores_held([0.01, 0.0099], [0.01, 0.01]) is None        # held
    assert _cores_held([0.001, 0.0009], [0.001, 0.001]) is None     # too short to tell
    assert _cores_held([0.01, 0.002], [0.01, 0.01]) == 1            # one core between them
    assert _cores_held([0.002, 0.002], [0.01, 0.01]) == 1           # at least one
    assert _cores_held([0.01] * 6 + [0.001, 0.001], [0.01] * 8) == 6
    assert _cores_held([0.01], [0.01]) is None                      # one thread
    # just below the threshold on one thread of two: it had 1 core, not 2
    assert _cores_held([0.0074, 0.01], [0.01, 0.01]) == 1
    assert _cores_held([0.0076, 0.01], [0.01, 0.01]) is None


def _net(threads):
    net = Network(dt=0.1, seed=3, threads=threads)
    a = net.add_poisson("a", 200, 20.0)
    b = net.add_population("b", 100, LIF(tau_m=10.0, V_th=-50.0))
    net.connect(a, b, SynapseMatrix.fixed_probability(200, 100, 0.5, weight=300.0, rng=1),
                target="I_syn_ex")
    mon = net.monitor_spikes(b)
    return net, mon


def test_busy_cores_mean_fewer_threads_then_a_probe(watch, monkeypatch):
    monkeypatch.setattr(N, "_WORK_PER_THREAD", 0)
    net, _ = _net(threads=4)
    assert net._run_threads() == 4
    # a segment whose four threads had about two cores between them
    nxt = net._watch_load(FakeEngine([0.01, 0.01, 0.001, 0.001], [0.01] * 4))
    assert nxt == 2 and net._run_threads() == 2
    watch[0] += N._PROBE_FIRST / 2
    assert net._run_threads() == 2                   # not yet time to probe
    watch[0] += N._PROBE_FIRST
    assert net._run_threads() == 4                   # the probe runs on all four
    # the probe finds the cores still busy: capped again, the next wait twice as long
    net._watch_load(FakeEngine([0.01, 0.002, 0.002, 0.002], [0.01] * 4))
    assert net._run_threads() == 1
    watch[0] += 1.5 * N._PROBE_FIRST
    assert net._run_threads() == 1
    watch[0] += N._PROBE_FIRST
    assert net._run_threads() == 4
    # a probe that holds its cores ends the cap; the next busy spell waits the
    # first interval again
    net._watch_load(FakeEngine([0.01] * 4, [0.01] * 4))
    assert net._load_cap is None and net._run_threads() == 4
    net._watch_load(FakeEngine([0.01, 0.001, 0.001, 0.001], [0.01] * 4))
    watch[0] += 1.01 * N._PROBE_FIRST
    assert net._run_threads() == 4
    # never more than the network's own threads, and the wait has a ceiling
    net._load_cap = None
    net._probe_wait = N._PROBE_FIRST
    for _ in range(20):
        net._watch_load(FakeEngine([0.01, 0.001, 0.001, 0.001], [0.01] * 4))
    assert net._probe_wait == N._PROBE_MAX


def test_off_and_single_thread(monkeypatch):
    monkeypatch.setattr(N, "_WATCH_LOAD", False)
    net, _ = _net(threads=2)
    eng = FakeEngine([0.01, 0.001], [0.01, 0.01])
    assert net._watch_load(eng) == 2 and net._load_cap is None
    monkeypatch.setattr(N, "_WATCH_LOAD", True)
    eng = FakeEngine(None, None)      # a segment on one thread: nothing to tell
    assert net._watch_load(eng) == 1 and net._load_cap is None


def test_engine_reports_thread_times_and_results_do_not_change(watch, monkeypatch):
    """The engine reports each thread's CPU and wall seconds after a run on several
    threads (none after one on one thread); a network whose runs are capped by the
    watch gives the spikes of one that is not."""
    monkeypatch.setattr(N, "_WORK_PER_THREAD", 0)
    ref, ref_mon = _net(threads=1)
    ref.run(50.0, progress=False)
    assert ref._eng.thread_cpu is None
    net, mon = _net(threads=2)
    net.run(20.0, progress=False)
    if N._OPENMP:       # a run on 2 threads (the watch may lower later runs only)
        cpu, wall = net._eng.thread_cpu, net._eng.thread_wall
        assert cpu.shape == wall.shape == (2,)
        assert np.all(cpu > 0) and np.all(wall > 0) and np.all(cpu <= wall * 1.05 + 1e-4)
    else:
        assert net._eng.thread_cpu is None
    # the cores were busy: the rest runs on one thread
    net._watch_load(FakeEngine([0.01, 0.001], [0.01, 0.01]))
    assert net._run_threads() == 1
    net.run(30.0, progress=False)
    assert net._eng.threads == 1
    np.testing.assert_array_equal(mon.times, ref_mon.times)
    np.testing.assert_array_equal(mon.ids, ref_mon.ids)
