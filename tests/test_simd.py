"""The AVX-512 forms of the STDP loops (``engine.simd``): the post-spike and arrival
loops of a built-in rule with additive weight dependence over post-ordered weights.
They must give the numbers of the scalar loops bit for bit (spikes, weights, traces,
state) for float32 and float64 weights, every timing, with and without delays, on 1
and 2 threads, through the r1 table and without it, and for lags beyond the decay
table (exp); and agree with the Python twin of the rule. Skipped on a CPU without
AVX-512 (the scalar loops are then the only ones).
"""
import numpy as np
import pytest

from plasticity import (STDP, Additive, Multiplicative, Network, Pair, SynapseMatrix,
                        Triplet)
from plasticity import network as network_module
from plasticity._ext import engine
from plasticity.neurons import LIFCond

from _thread_utils import assert_identical, snapshot
from test_rules import W_MAX, W_MIN, build, random_params, timing_obj, wdep_obj
from twins import STDPTwin

pytestmark = pytest.mark.skipif(not engine.simd(),
                                reason="no AVX-512 on this CPU: scalar loops only")


@pytest.fixture(autouse=True)
def _setup(monkeypatch):
    """Post-ordered weights from 1000 steps on, any number of threads, the SIMD loops
    for projections of any size; the SIMD settings restored after each test."""
    monkeypatch.setattr(network_module, "_POST_ORDER_MIN_STEPS", 1000)
    monkeypatch.setattr(network_module, "_WORK_PER_THREAD", 0)
    before = engine.simd()
    engine.simd(min_synapses=0)      # the SIMD loops for these small projections too
    yield
    engine.simd(before, min_synapses=65536)


RULES = {
    "pair": lambda g: STDP(Pair(20.0, 20.0, 0.01 * g, 0.0105 * g), Additive(0.0, g)),
    "pair-nearest": lambda g: STDP(Pair(16.8, 33.7, 0.01 * g, 0.012 * g,
                                        "nearest-symmetric"), Additive(0.0, g)),
    "triplet": lambda g: STDP(Triplet(16.8, 33.7, 101.0, 125.0, 0.005 * g, 0.006 * g,
                                      0.007 * g, 0.0023 * g), Additive(0.0, g)),
    # not additive: the scalar loops in both runs (the dispatch must keep it there)
    "multiplicative": lambda g: STDP(Pair(20.0, 20.0, 0.01 * g, 0.0105 * g),
                                     Multiplicative(0.0, g)),
}

SHAPES = {
    # (n_pre, n_post, p, rate Hz): dense enough that the post-spike loops read r1
    # from the table, and sparse (few synapses per post spike) where they do not
    "dense": (400, 30, 0.3, 15.0),
    "sparse": (3000, 30, 0.01, 10.0),
}


def _network(rule, shape, dtype, delay, seed=5):
    n_pre, n_post, p, rate = SHAPES[shape]
    gmax = 0.08 if shape == "dense" else 0.6
    net = Network(dt=0.1, seed=seed)
    inp = net.add_poisson("inp", n_pre, rate)
    out = net.add_population("out", n_post, LIFCond(
        tau_m=10.0, E_L=-74.0, V_th=-54.0, V_reset=-60.0, E_e=0.0, tau_e=5.0,
        t_ref=0.0))
    syn = SynapseMatrix.fixed_probability(
        n_pre, n_post, p, weight=lambda g, n: g.uniform(0.0, gmax, n), rng=seed,
        dtype=dtype, delay=delay)
    proj = net.connect(inp, out, syn, target="g_e", rule=RULES[rule](gmax), name="in")
    mon = net.monitor_spikes(out)
    return net, proj, mon


def _run(rule, shape, dtype, delay, threads, simd, duration=300.0):
    assert engine.simd(simd) == simd
    net, proj, mon = _network(rule, shape, dtype, delay)
    net.threads = threads
    w0 = proj.synapses.weights.copy()
    net.run(duration)       # 3000 steps: post-ordered weights
    return snapshot(net, [mon]), w0


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_simd_loops_equal_scalar_loops(rule, shape, dtype):
    ref, w0 = _run(rule, shape, dtype, 0, 1, False)
    got, _ = _run(rule, shape, dtype, 0, 1, True)
    assert ref["spikes/0/t"].size > 100              # the outputs fire
    assert np.sum(ref["w/in"] != w0) > 0.5 * w0.size  # the rule changed most weights
    assert_identical(ref, got, "SIMD vs scalar loops")


@pytest.mark.parametrize("rule", ["pair", "triplet"])
@pytest.mark.parametrize("threads", [2, 3])
def test_simd_loops_equal_scalar_loops_with_delay_and_threads(rule, threads):
    ref, _ = _run(rule, "dense", np.float32, 15, 1, False)
    got, _ = _run(rule, "dense", np.float32, 15, threads, True)
    assert ref["spikes/0/t"].size > 100
    assert_identical(ref, got, f"SIMD vs scalar loops, {threads} threads")


def test_simd_loops_beyond_the_decay_table():
    """tau 100 ms at dt 0.1 ms: the decay table stops at 2**15 steps (3.3 s) while
    exp is still far from 0; inputs at 0.2 Hz are often silent longer, so lanes
    beyond the table (exp, scalar fallback inside the SIMD loops) are exercised."""
    def run(simd):
        engine.simd(simd)
        net = Network(dt=0.1, seed=3)
        slow = net.add_poisson("slow", 200, 0.2)
        drive = net.add_poisson("drive", 50, 40.0)
        out = net.add_population("out", 20, LIFCond(
            tau_m=10.0, E_L=-74.0, V_th=-54.0, V_reset=-60.0, E_e=0.0, tau_e=5.0,
            t_ref=0.0))
        net.connect(drive, out, SynapseMatrix.all_to_all(50, 20, weight=0.05), "g_e")
        rule = STDP(Pair(100.0, 100.0, 1e-4, 1.05e-4), Additive(0.0, 0.01))
        syn = SynapseMatrix.all_to_all(200, 20, weight=0.005, dtype=np.float32)
        proj = net.connect(slow, out, syn, "g_e", rule=rule, name="slow_in")
        mon = net.monitor_spikes(out)
        net.run(8000.0)
        return snapshot(net, [mon]), rule
    ref, rule = run(False)
    k = network_module._decay_table(rule.kernel_parameters(0.1).c_plus).shape[0]
    assert k == 1 << 15 and np.exp(-k * 0.1 / 100.0) > 1e-15
    got, _ = run(True)
    assert ref["spikes/0/t"].size > 1000
    assert_identical(ref, got, "SIMD vs scalar loops beyond the decay table")


@pytest.mark.parametrize("timing", ["pair-all", "pair-nearest-sym", "triplet-all",
                                    "triplet-nearest"])
def test_simd_loops_match_python_twin(timing):
    """Long runs (post-ordered weights, SIMD loops) against the rule's Python twin
    (tests/twins.py), as test_rules does for the scalar loops."""
    seed = 300 + ["pair-all", "pair-nearest-sym", "triplet-all",
                  "triplet-nearest"].index(timing)
    p = random_params(np.random.default_rng(seed), timing)
    engine.simd(True)
    compiled = STDP(timing_obj(timing, p), wdep_obj("additive", p))
    twin = STDPTwin(timing, "additive", p["tau_plus"], p["tau_minus"], p["a_plus"],
                    p["a_minus"], W_MIN, W_MAX, tau_x=p["tau_x"], tau_y=p["tau_y"],
                    a3_plus=p["a3_plus"], a3_minus=p["a3_minus"])
    net_a, proj_a, _, post_a, T = build(compiled, seed, n_pre=40, n_post=8,
                                        duration=400.0)
    net_b, proj_b, _, post_b, _ = build(twin, seed, n_pre=40, n_post=8, duration=400.0)
    w0 = proj_a.weights.copy()
    net_a.run(T)
    net_b.run(T)
    assert post_a.times.size > 10
    np.testing.assert_array_equal(post_a.times, post_b.times)
    assert not np.allclose(proj_a.weights, w0)
    # the twin sums its traces in another order (the scalar loops differ from it
    # by the same ~4e-12 at some seeds; they equal the SIMD loops bit for bit)
    np.testing.assert_allclose(proj_a.weights, proj_b.weights, rtol=1e-10, atol=1e-14)


def test_simd_switch():
    """simd(False) turns the loops off, simd(True) back on (this CPU has them), for
    the LIFCond update too; a bad min_synapses is refused."""
    from plasticity._ext import neurons
    assert engine.simd(False) is False
    assert engine.simd() is False and neurons.simd() is False
    assert engine.simd(True) is True and neurons.simd() is True
    with pytest.raises(ValueError, match="min_synapses must be >= 0, got -1"):
        engine.simd(min_synapses=-1)


def _lifcond_net(n, threads, conductance_step="start"):
    """Conductance LIF neurons with everything the update has: refractoriness,
    adaptive threshold, excitatory and inhibitory input, an injected current on some
    neurons, neurons without any input (the no-exp path); n not a multiple of 8."""
    from plasticity.neurons import LIFCond as Cond
    net = Network(dt=0.1, seed=11)
    net.threads = threads
    exc = net.add_poisson("exc", 60, 30.0)
    inh = net.add_poisson("inh", 20, 30.0)
    out = net.add_population("out", n, Cond(
        tau_m=12.0, E_L=-70.0, V_th=-52.0, V_reset=-62.0, E_e=7.0, E_i=-80.0,
        tau_e=3.0, tau_i=8.0, t_ref=2.0, theta_plus=0.5, tau_theta=200.0,
        conductance_step=conductance_step))
    # neurons n-5 .. n-1 get no synaptic input (exact leak without exp)
    k = n - 5
    net.connect(exc, out, SynapseMatrix.from_dense(
        np.where(np.arange(n)[None, :] < k,
                 np.random.default_rng(1).uniform(0, 0.4, (60, n)) *
                 (np.random.default_rng(2).random((60, n)) < 0.3), 0.0)), "g_e")
    net.connect(inh, out, SynapseMatrix.from_dense(
        np.where(np.arange(n)[None, :] < k,
                 np.random.default_rng(3).uniform(0, 0.3, (20, n)) *
                 (np.random.default_rng(4).random((20, n)) < 0.3), 0.0)), "g_i")
    net.add_current(out, [0.0, 50.0, 120.0], [0.0, 6.0, 3.0], neurons=np.arange(0, n, 4))
    mon = net.monitor_spikes(out)
    return net, out, mon


@pytest.mark.parametrize("threads", [1, 3])
@pytest.mark.parametrize("conductance_step", ["start", "mean"])
def test_simd_lifcond_update_equals_scalar(threads, conductance_step):
    runs = []
    for simd in (False, True):
        engine.simd(simd)
        net, out, mon = _lifcond_net(37, threads, conductance_step)
        refr = net.monitor_state(out, "refractory")
        net.run(200.0)
        runs.append((snapshot(net, [mon]), refr["refractory"].copy()))
    (s0, r0), (s1, r1) = runs
    state = s0["state/out"]
    assert s0["spikes/0/t"].size > 100                      # spikes
    assert np.any(state[3] > 0) and np.any(state[4] != 0)   # theta grew; a current is on
    # the refractory counters (t_ref 2 ms = 20 steps): each spike sets its neuron's
    # to 20, which then counts down by one per step to 0 and stays there
    R = 20
    spikes = np.bincount(s0["spikes/0/i"], minlength=37)
    np.testing.assert_array_equal((r0 == R).sum(axis=0), spikes)
    d = np.diff(r0, axis=0)
    assert np.all((d == -1) | ((r0[:-1] == 0) & (d == 0)) | (r0[1:] == R))
    assert_identical(s0, s1, f"SIMD vs scalar LIFCond update, {threads} threads")
    assert r0.tobytes() == r1.tobytes()


def test_simd_lifcond_update_reports_a_non_finite_value_as_the_scalar_loop():
    """Two arrivals of 1e308 overflow g_e of neuron 19 (in the third block of 8) to
    inf: the same error, at the same step, with the same state left behind."""
    from plasticity.errors import SimulationError
    msgs = []
    for simd in (False, True):
        engine.simd(simd)
        net, out, mon = _lifcond_net(37, 1)
        kick = net.add_spike_generator("kick", 2, [20.0, 20.0], [0, 1])
        w = np.zeros((2, 37))
        w[:, 19] = 1e308
        net.connect(kick, out, SynapseMatrix.from_dense(w), "g_e")
        with pytest.raises(SimulationError) as err:
            net.run(40.0)
        msgs.append((str(err.value), out.state.copy(), mon.times.copy()))
    assert "non-finite" in msgs[0][0] and "(neuron 19)" in msgs[0][0]
    assert msgs[0][0] == msgs[1][0]
    assert msgs[0][1].tobytes() == msgs[1][1].tobytes()
    assert msgs[0][2].tobytes() == msgs[1][2].tobytes()


@pytest.mark.parametrize("rule", ["pair-nearest", "pair", "triplet"])
def test_simd_loops_equal_scalar_loops_with_per_synapse_delays(rule, monkeypatch):
    """Per-synapse delays (B3's input path, _pre_delayed_stdp: per-synapse pre
    traces, the post traces of the step read once per post neuron, 8 at a time with
    SIMD; runs short of post-ordered weights, as B3's): SIMD on 1, 2 and 3 threads
    equals the scalar loops on one."""
    monkeypatch.setattr(network_module, "_POST_ORDER_MIN_STEPS", 10 ** 9)

    def run(threads, simd):
        assert engine.simd(simd) == simd
        net, proj, mon = _network(rule, "dense", np.float64, 0)
        d = np.random.default_rng(9).integers(0, 25, proj.synapses.nnz).astype(np.int32)
        proj.synapses = SynapseMatrix(proj.synapses.indptr, proj.synapses.indices,
                                      proj.synapses.weights.copy(),
                                      shape=proj.synapses.shape, delay=d)
        net.threads = threads
        w0 = proj.synapses.weights.copy()
        net.run(300.0)
        return snapshot(net, [mon]), w0
    ref, w0 = run(1, False)
    assert ref["spikes/0/t"].size > 100
    assert np.sum(ref["w/in"] != w0) > 0.5 * w0.size
    for threads in (1, 2, 3):
        got, _ = run(threads, True)
        assert_identical(ref, got, f"SIMD vs scalar loops, {threads} threads")
