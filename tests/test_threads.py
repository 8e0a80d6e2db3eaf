"""Threads (issue 19): the engine partitions each step by postsynaptic neuron, so every
number of threads gives the same spikes, weights and state, bit for bit.

Each case runs one model at 1, 2, 3 and 7 threads (7 > neurons of some populations:
threads with empty ranges) and compares everything against the 1-thread run. Small
models, no timing assertions (the machine is shared).
"""
import os
import sys
import warnings

import numpy as np
import pytest

from plasticity import (STDP, Additive, Kheradpisheh, Multiplicative, Network, Pair,
                        PowerLaw, RewardModulated, SynapseMatrix, Triplet)
from plasticity import network as network_module
from plasticity._ext import engine
from plasticity.neurons import LIF, LIFCond, Izhikevich

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import b1_song, b2_scaled, b3_diehl_cook  # noqa: E402

from _thread_utils import assert_identical as _assert_identical  # noqa: E402
from _thread_utils import snapshot as _snapshot  # noqa: E402

THREADS = (1, 2, 3, 7)


@pytest.fixture(autouse=True)
def _every_thread(monkeypatch):
    """Small networks here: use the threads asked for (no work-per-thread limit),
    and post-ordered weights from 1000 steps on (short runs cover both paths)."""
    monkeypatch.setattr(network_module, "_WORK_PER_THREAD", 0)
    monkeypatch.setattr(network_module, "_POST_ORDER_MIN_STEPS", 1000)

needs_openmp = pytest.mark.skipif(not engine.openmp_available(),
                                  reason="engine built without OpenMP")


def _across_threads(make, run, what):
    """make() -> (net, monitors); run(net) advances it; every thread count must give
    the 1-thread result."""
    ref = None
    spikes = 0
    for n in THREADS:
        net, monitors = make()
        net.threads = n
        run(net)
        snap = _snapshot(net, monitors)
        if ref is None:
            ref = snap
            spikes = sum(v.size for k, v in snap.items() if k.endswith("/i"))
        else:
            _assert_identical(ref, snap, f"{what}, {n} threads")
    return spikes


# ------------------------------------------------------------------ B1-B3 models
@pytest.mark.parametrize("delay", ["none", "homogeneous", "per-synapse"])
@pytest.mark.parametrize("form", ["kernel", "language"])
def test_b1_b2_models_identical_for_any_thread_count(delay, form):
    c = dict(b2_scaled.CONFIG, n_in=2000, n_out=23, p=0.5, duration=250.0,
             rule_form=form)

    def make():
        net, proj, out, mon = b1_song.ours_build(c)
        if delay != "none":
            syn = proj.synapses
            rng = np.random.default_rng(3)
            d = 7 if delay == "homogeneous" else rng.integers(0, 15, syn.nnz)
            new = SynapseMatrix(syn.indptr, syn.indices, syn.weights.copy(),
                                         shape=syn.shape, delay=d)
            # a new network with the delayed matrix, same everything else
            net2 = Network(dt=c["dt"], seed=c["seed"])
            inp = net2.add_poisson("inputs", c["n_in"], c["rate"])
            out2 = net2.add_population("neurons", c["n_out"], out.model)
            net2.connect(inp, out2, new, target="g_e", rule=_fresh_rule(proj.rule),
                         name="input")
            return net2, [net2.monitor_spikes(out2)]
        return net, [mon]

    spikes = _across_threads(make, lambda net: net.run(c["duration"], progress=False),
                             f"B2-small {delay} {form}")
    assert spikes > 50


@pytest.mark.parametrize("drive", ["input", "sources"])
def test_b4_model_identical_for_any_thread_count(drive):
    """B4 at a small scale: E/I LIF, fixed in-degree, delays, STDP on E->E, and the
    external drive as Network.add_poisson_input or as Poisson source neurons."""
    from benchmarks import b4_cortical
    c = b4_cortical.model(0.05, duration=100.0, drive=drive)

    def make():
        net, mons, _ = b4_cortical.ours_build(c, threads=1)
        return net, list(mons)

    assert _across_threads(make, lambda net: net.run(c["duration"], progress=False),
                           f"B4-small {drive}") > 50


def _fresh_rule(rule):
    import copy
    return copy.deepcopy(rule)


def test_b1_model_one_post_neuron():
    """B1: one post neuron, so every thread but one has an empty range."""
    c = dict(b1_song.CONFIG, duration=400.0)

    def make():
        net, proj, out, mon = b1_song.ours_build(c)
        return net, [mon]

    assert _across_threads(make, lambda net: net.run(c["duration"], progress=False),
                           "B1-small") > 5


def _b3_small(form, t_present, seed):
    """B3 with 19 excitatory neurons: (make, run) over 3 stroke images."""
    c = dict(b3_diehl_cook.CONFIG, n_e=19, t_present=t_present, t_rest=20.0,
             rule_form=form)
    images = b3_diehl_cook.stroke_images(3, np.random.default_rng(seed))

    def make():
        net, inp, exc, proj, mon = b3_diehl_cook.ours_build(c)
        net._b3 = (inp, proj)
        return net, [mon, net.monitor_spikes(net.populations["inh"])]

    def run(net):
        inp, proj = net._b3
        for img in images:
            b3_diehl_cook.ours_sample(net, inp, proj, img, c)

    return make, run


@pytest.mark.parametrize("form", ["kernel", "language"])
def test_b3_model_identical_for_any_thread_count(form):
    make, run = _b3_small(form, 100.0, 0)
    assert _across_threads(make, run, f"B3-small {form}") > 5


# ------------------------------------------------------------------ every rule
TIMINGS = {
    "pair-all": lambda: Pair(20.0, 20.0, 0.004, 0.0042, "all-to-all"),
    "pair-nearest-sym": lambda: Pair(20.0, 20.0, 0.004, 0.0042, "nearest-symmetric"),
    "pair-nearest-pre": lambda: Pair(20.0, 20.0, 0.004, 0.0042, "nearest-pre-centred"),
    "triplet-all": lambda: Triplet(16.8, 33.7, 101.0, 125.0, 0.002, 0.003, 0.004, 0.001,
                                   "all-to-all"),
    "triplet-nearest": lambda: Triplet(16.8, 33.7, 101.0, 125.0, 0.002, 0.003, 0.004,
                                       0.001, "nearest"),
}
WDEPS = {
    "additive": lambda: Additive(0.0, 1.0),
    "multiplicative": lambda: Multiplicative(0.0, 1.0),
    "power-law": lambda: PowerLaw(0.0, 1.0, 0.4, 0.6),
    "kheradpisheh": lambda: Kheradpisheh(0.0, 1.0),
}


def _rule_net(rule_fn, delay, dtype=np.float32, duration=200.0, rec_rule=None):
    """Poisson -> 29 LIFCond (plastic) and 29 -> 29 recurrent (static or rec_rule)."""
    def make():
        net = Network(dt=0.1, seed=5)
        inp = net.add_poisson("inp", 150, 12.0)
        out = net.add_population("out", 29, LIFCond(tau_m=10.0, E_L=-74.0, V_th=-54.0,
                                                    V_reset=-60.0, E_e=0.0,
                                                    tau_e=5.0, t_ref=1.0))
        rng = np.random.default_rng(7)
        nnz_guess = None
        syn = SynapseMatrix.fixed_probability(150, 29, 0.4, weight=lambda r, n: r.uniform(
            0.05, 0.25, n), rng=11, dtype=dtype)
        nnz_guess = syn.nnz
        if delay == "homogeneous":
            syn = SynapseMatrix(syn.indptr, syn.indices, syn.weights.copy(),
                                         shape=syn.shape, delay=4)
        elif delay == "per-synapse":
            syn = SynapseMatrix(syn.indptr, syn.indices, syn.weights.copy(),
                                         shape=syn.shape,
                                         delay=rng.integers(0, 12, nnz_guess))
        net.connect(inp, out, syn, target="g_e", rule=rule_fn(), name="ff")
        rec = SynapseMatrix.fixed_probability(29, 29, 0.3, weight=0.05, rng=12,
                                              allow_self=False, dtype=dtype, delay=2)
        net.connect(out, out, rec, target="g_e",
                    rule=rec_rule() if rec_rule else None, name="rec")
        return net, [net.monitor_spikes(out)]
    return make, (lambda net: net.run(duration, progress=False))


@pytest.mark.parametrize("timing", list(TIMINGS))
@pytest.mark.parametrize("wdep", list(WDEPS))
def test_builtin_rules_identical_for_any_thread_count(timing, wdep):
    make, run = _rule_net(lambda: STDP(TIMINGS[timing](), WDEPS[wdep]()), "none")
    assert _across_threads(make, run, f"{timing} x {wdep}") > 50


@pytest.mark.parametrize("delay", ["homogeneous", "per-synapse"])
@pytest.mark.parametrize("timing", list(TIMINGS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_builtin_rules_with_delays_identical_for_any_thread_count(delay, timing, dtype):
    make, run = _rule_net(lambda: STDP(TIMINGS[timing](), Multiplicative(0.0, 1.0)),
                          delay, dtype=dtype,
                          rec_rule=lambda: STDP(TIMINGS[timing](), Additive(0.0, 1.0)))
    assert _across_threads(make, run, f"{timing}, {delay} delays") > 50


# ------------------------------------------------------------------ delay split tables
def _part(n, r, nt):
    """Thread r's first neuron of n on nt threads (the engine's _part): n * r // nt,
    rounded down to a multiple of 8 inside (each thread's float64 neurons on their
    own 64-byte lines)."""
    if r <= 0:
        return 0
    if r >= nt:
        return n
    q = n * r // nt
    return q - q % 8


def _ref_delay_splits(indptr, indices, dperm, dstart, n_post, max_delay, nt):
    """The split table from its definition: per (row, delay) run of dperm, the first
    position whose post neuron is >= each interior thread boundary, run-relative."""
    D2 = max_delay + 2
    out = np.zeros((indptr.size - 1, max_delay + 1, nt - 1), np.int32)
    for i in range(indptr.size - 1):
        for d in range(max_delay + 1):
            run = dperm[dstart[i * D2 + d]:dstart[i * D2 + d + 1]]
            post = indices[run]
            assert np.all(np.diff(post) > 0)
            for r in range(1, nt):
                out[i, d, r - 1] = np.searchsorted(post, _part(n_post, r, nt), "left")
    return out


@pytest.mark.parametrize("nt", [2, 3, 7])
def test_delay_split_table_matches_reference(nt):
    rng = np.random.default_rng(nt)
    syn = SynapseMatrix.fixed_probability(40, 23, 0.5, weight=0.1, rng=3)
    net = Network(dt=0.1, seed=0)
    a = net.add_poisson("a", 40, 10.0)
    b = net.add_population("b", 23, LIFCond())
    proj = net.connect(a, b, SynapseMatrix(syn.indptr, syn.indices, syn.weights,
                                           shape=syn.shape,
                                           delay=rng.integers(0, 6, syn.nnz)), "g_e")
    dperm, dstart = proj._delay_arrays()
    D = proj.synapses._max_delay()
    got = engine.delay_splits(proj.synapses.indptr, proj.synapses.indices, dperm,
                              dstart, 23, D, nt)
    ref = _ref_delay_splits(proj.synapses.indptr, proj.synapses.indices, dperm, dstart,
                            23, D, nt)
    np.testing.assert_array_equal(got, ref)
    assert got.max() > 0
    with pytest.raises(ValueError, match="nt must be >= 2, got 1"):
        engine.delay_splits(proj.synapses.indptr, proj.synapses.indices, dperm, dstart,
                            23, D, 1)


@needs_openmp
@pytest.mark.parametrize("rule", ["static", "pair-all", "triplet-all",
                                  "pair-nearest-pre", "modulated"])
def test_delay_split_tables_identical_for_any_thread_count(rule, monkeypatch):
    """Per-synapse delays with the split tables built for every team size (the
    default builds them only where they cost <= 1 byte per synapse, which these
    small networks do not reach): the 1-thread numbers at 2, 3 and 7 threads, and
    the tables are in use."""
    monkeypatch.setattr(network_module, "_DELAY_SPLIT_BYTES", 10**9)
    fn = {"static": lambda: None,
          "modulated": lambda: RewardModulated(
              Pair(20.0, 20.0, 0.004, 0.0042), Additive(0.0, 1.0), tau_c=200.0,
              tau_d=50.0, rewards=([30.0, 80.5], [1.0, -0.5]))}.get(
        rule, lambda: STDP(TIMINGS[rule](), Multiplicative(0.0, 1.0)))
    make, run = _rule_net(fn, "per-synapse", dtype=np.float64)
    used = {}

    def run_and_look(net):
        run(net)
        used[net.threads] = net._eng.delay_split_threads(0)
    assert _across_threads(make, run_and_look, f"split tables, {rule}") > 50
    assert used == {1: 0, 2: 2, 3: 3, 7: 7}


def test_delay_split_table_only_where_cheap():
    """By default a table is built where it costs at most a byte per synapse: B3's
    input projection (784 x 21 delays x 1 boundary vs 313,600 synapses) at 2
    threads, not at 7."""
    net = Network(dt=0.5, seed=0)
    a = net.add_poisson("a", 784, 1.0)
    b = net.add_population("b", 400, LIFCond())
    rng = np.random.default_rng(0)
    proj = net.connect(a, b, SynapseMatrix.all_to_all(
        784, 400, weight=0.1, delay=rng.integers(0, 21, 784 * 400)), "g_e")
    t2 = proj._delay_splits(2)
    assert t2.shape == (784, 21, 1)
    assert proj._delay_splits(2) is t2          # cached
    assert proj._delay_splits(7) is None


# ------------------------------------------------------------------ the team loop
@pytest.fixture
def _team_loop_restored():
    yield
    engine.team_loop(True)


def _loops(make, run, what, expect_team, expect_lean=None):
    """1 thread (the reference), then 2, 3 and 7 threads with the team loop on and
    2 with it off: all identical; the loop used is the one expected (and, where
    ``expect_lean`` is given, whether the team left out the barrier after the
    projections)."""
    results = []
    for n, team in [(1, True), (2, True), (3, True), (7, True), (2, False)]:
        engine.team_loop(team)
        net, monitors = make()
        net.threads = n
        run(net)
        results.append(_snapshot(net, monitors))
        assert (net._eng.team > 0) == (n > 1 and team and expect_team), (n, team)
        if expect_lean is not None and net._eng.team > 0:
            assert (net._eng.team_lean > 0) == expect_lean, (n, team)
    for (n, team), snap in zip([(2, True), (3, True), (7, True), (2, False)],
                               results[1:]):
        _assert_identical(results[0], snap, f"{what}, {n} threads, team loop {team}")
    return sum(v.size for k, v in results[0].items() if k.endswith("/i"))


@needs_openmp
@pytest.mark.parametrize("rule", ["triplet-all", "pair-nearest-pre", "modulated"])
@pytest.mark.parametrize("delay", ["none", "homogeneous", "per-synapse"])
def test_team_loop_identical_with_full_monitor_buffers(rule, delay,
                                                       _team_loop_restored):
    """The team loop (resets at the start of the next step, sources drawn beside
    the updates, monitors fed at the join, bumps and the r1 table shared out) gives
    the numbers of the step loop, also when a spike monitor's buffer fills every few
    steps (the run returns early and goes on: the resets of the last step before a
    stop, and the stop itself, decided at the join)."""
    fn = {"modulated": lambda: RewardModulated(
        Pair(20.0, 20.0, 0.004, 0.0042), Additive(0.0, 1.0), tau_c=200.0, tau_d=50.0,
        rewards=([30.0, 80.5], [1.0, -0.5]))}.get(
        rule, lambda: STDP(TIMINGS[rule](), Additive(0.0, 1.0)))
    make0, run = _rule_net(fn, delay, dtype=np.float64)

    def make():
        net, monitors = make0()
        m = monitors[0]
        m.buf_ids = np.zeros(m.pop.n + 7, np.int32)     # full after a few spikes
        m.buf_steps = np.zeros(m.pop.n + 7, np.int64)
        monitors.append(net.monitor_spikes(net.populations["inp"]))
        return net, monitors
    # lean (no barrier after the projections): the input read through the spike
    # history (per-synapse or homogeneous delays), no reward modulation
    lean = delay != "none" and rule != "modulated"
    assert _loops(make, run, f"team loop, {rule}, {delay}", True, lean) > 50


@needs_openmp
@pytest.mark.parametrize("form", ["kernel", "language"])
def test_team_loop_b3(form, _team_loop_restored):
    """B3 (small): the lean team loop (inputs through per-synapse delays, E->I and
    I->E without delay from neuron populations) for the built-in rule; the rule
    language's rule keeps the barrier (its thread-0 phases)."""
    make, run = _b3_small(form, 60.0, 1)
    assert _loops(make, run, f"B3 {form}", True, form == "kernel") > 5


@needs_openmp
def test_team_loop_b2_shape_r1_table(_team_loop_restored):
    """Many post spikes per step onto few inputs (the r1 table is filled, shared out
    by input) with post-ordered weights, on a large projection (the SIMD loops)."""
    c = dict(b2_scaled.CONFIG, n_in=500, n_out=200, p=1.0, rate=20.0,
             duration=150.0)

    def make():
        net, proj, out, mon = b1_song.ours_build(c)
        return net, [mon]
    orig = engine.simd()
    engine.simd(True, min_synapses=0)
    try:
        assert _loops(make, lambda net: net.run(c["duration"], progress=False),
                      "B2-shaped", True, False) > 50
    finally:
        engine.simd(orig, min_synapses=65536)


@needs_openmp
@pytest.mark.parametrize("extra", ["state monitor", "current"])
def test_step_loop_where_thread_0_works_before_the_updates(extra, _team_loop_restored):
    """A state monitor records, a current is set, before the updates: those runs
    keep the step loop (the same numbers)."""
    make0, run = _rule_net(lambda: STDP(TIMINGS["pair-all"](), Additive(0.0, 1.0)),
                           "none")

    def make():
        net, monitors = make0()
        out = net.populations["out"]
        if extra == "state monitor":
            net.monitor_state(out, ["v"], interval=0.3)
        else:
            net.add_current(out, [0.0, 50.0], np.full((2, out.n), 0.5))
        return net, monitors
    assert _loops(make, run, extra, False) > 50


@pytest.mark.parametrize("delay", ["none", "per-synapse"])
def test_short_runs_without_post_ordered_weights(delay):
    """Runs shorter than _POST_ORDER_MIN_STEPS use the weights in synapse order."""
    assert network_module._POST_ORDER_MIN_STEPS > 400
    make, _ = _rule_net(lambda: STDP(TIMINGS["pair-all"](), Additive(0.0, 1.0)), delay)

    def run(net):
        for _ in range(6):
            net.run(40.0, progress=False)
    assert _across_threads(make, run, f"short runs, {delay}") > 5


@pytest.mark.parametrize("delay", ["none", "per-synapse"])
def test_reward_modulated_identical_for_any_thread_count(delay):
    def rule():
        return RewardModulated(Pair(20.0, 20.0, 0.004, 0.0042), Additive(0.0, 1.0),
                               tau_c=200.0, tau_d=50.0,
                               rewards=([30.0, 80.5, 120.0, 190.0], [1.0, -0.5, 2.0, 1.0]))
    make, run = _rule_net(rule, delay)
    assert _across_threads(make, run, f"reward-modulated, {delay}") > 50


@pytest.mark.parametrize("delay", ["none", "homogeneous", "per-synapse"])
def test_rule_language_identical_for_any_thread_count(delay):
    """A rule of the rule language runs on thread 0 inside the threaded step."""
    make, run = _rule_net(
        lambda: STDP(TIMINGS["triplet-all"](), Additive(0.0, 1.0)).to_equation_rule(),
        delay, dtype=np.float64)
    assert _across_threads(make, run, f"rule language, {delay}") > 50


def test_python_rule_and_callbacks_identical_for_any_thread_count():
    """The per-step path (a Python rule) gives the same numbers at any thread count."""
    from plasticity.rules import Rule

    class Depress(Rule):
        """Every arriving spike scales its synapses' weights by 0.999."""

        def on_pre(self, step, syn_ids):
            w = self.synapses.weights
            w[syn_ids] *= np.float32(0.999)

    make, run = _rule_net(lambda: STDP(TIMINGS["pair-all"](), Additive(0.0, 1.0)),
                          "none", duration=100.0, rec_rule=Depress)
    assert _across_threads(make, run, "python rule") > 5


# ------------------------------------------------------------------ errors, settings
@needs_openmp
def test_nonfinite_error_is_the_lowest_neuron_for_any_thread_count():
    from plasticity.errors import SimulationError
    messages = set()
    for n in THREADS:
        net = Network(dt=0.1, seed=1, threads=n)
        pop = net.add_population("izh", 40, Izhikevich(v_peak=1e300))
        amp = np.zeros(40)
        amp[[9, 23, 37]] = 1e200      # v^2 overflows: three neurons, the same step
        net.add_current(pop, [0.0], amp[None, :])
        with pytest.raises(SimulationError) as err:
            net.run(10.0, progress=False)
        messages.add(str(err.value))
    assert len(messages) == 1
    assert "(neuron 9)" in messages.pop()


def test_threads_setting(monkeypatch):
    monkeypatch.setenv("PLASTICITY_THREADS", "3")
    assert Network().threads == 3
    assert Network(threads=2).threads == 2
    monkeypatch.delenv("PLASTICITY_THREADS")
    assert Network().threads == len(os.sched_getaffinity(0))
    with pytest.raises(ValueError, match="threads"):
        Network(threads=0)
    with pytest.raises(TypeError, match="threads"):
        Network(threads=1.5)
    monkeypatch.setenv("PLASTICITY_THREADS", "zero")
    with pytest.raises(ValueError, match="PLASTICITY_THREADS"):
        Network()


@needs_openmp
@pytest.mark.parametrize("how", ["argument", "environment"])
def test_threads_beyond_the_cores_run_on_the_cores(how, monkeypatch):
    """``threads`` is an upper bound: 10**9 threads (or PLASTICITY_THREADS=10**9) is
    accepted and a run uses at most one thread per core the process may use (a team
    of 10**9 threads was asked of OpenMP, with scratch per thread), with the results
    of one thread. The cores are made 3 here, whatever this machine has."""
    monkeypatch.setattr(network_module, "_WORK_PER_THREAD", 1)   # no work limit
    monkeypatch.setattr(network_module, "available_cores", lambda: 3)
    monkeypatch.setattr(network_module, "_WATCH_LOAD", False)  # 3 threads on 2 cores
    make, run = _rule_net(lambda: STDP(TIMINGS["pair-all"](), Additive(0.0, 1.0)),
                          "none", duration=50.0)
    net, mons = make()
    net.threads = 1
    run(net)
    ref = _snapshot(net, mons)
    if how == "environment":
        monkeypatch.setenv("PLASTICITY_THREADS", str(10 ** 9))
        net, mons = make()
        net.threads = None
    else:
        net, mons = make()
        net.threads = 10 ** 9
    assert net.threads == 10 ** 9        # the bound asked for, as given
    run(net)
    assert net._eng.threads == 3
    _assert_identical(ref, _snapshot(net, mons), "threads = 10**9")


def test_without_openmp_one_thread_and_a_warning(monkeypatch):
    """A build without OpenMP (simulated: the flag network.py reads from the engine)
    warns and runs on one thread with the same results."""
    make, run = _rule_net(lambda: STDP(TIMINGS["pair-all"](), Additive(0.0, 1.0)),
                          "none", duration=100.0)
    net, mons = make()
    net.threads = 1
    run(net)
    ref = _snapshot(net, mons)
    monkeypatch.setattr(network_module, "_OPENMP", False)
    net, mons = make()
    net.threads = 4
    with pytest.warns(RuntimeWarning, match="without OpenMP"):
        run(net)
    assert net._eng.threads == 1
    _assert_identical(ref, _snapshot(net, mons), "without OpenMP")
    net, mons = make()
    net.threads = 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(net)                      # one thread asked for: no warning


def test_plasticity_threads_1_runs_serially(monkeypatch):
    monkeypatch.setenv("PLASTICITY_THREADS", "1")
    make, run = _rule_net(lambda: STDP(TIMINGS["pair-all"](), Additive(0.0, 1.0)),
                          "none", duration=50.0)
    net, _ = make()
    run(net)
    assert net._eng.threads == 1


def _language_rules():
    from plasticity.rules import (EquationRule, clopath_2010, tsodyks_markram_1997,
                                  vogels_sprekeler_2011)
    noisy = dict(
        model="""dApre/dt = -Apre / 20 : 1 (event-driven)
                 dApost/dt = -Apost / 20 : 1 (event-driven)
                 dz/dt = (v_post + 60 - z) / 15 : 1 (clock-driven)
                 dd/dt = -d / 50 : 1 (clock-driven, shared)
                 c : 1 (shared)""",
        on_pre="Apre += 1\nw = clip(w + 1e-3 * (Apost - 0.3) + 1e-4 * rand() * d, 0, 1)",
        on_post="Apost += 1\nw = clip(w + 1e-3 * Apre + 1e-5 * z, 0, 1)",
        on_step="c = 0.99 * c + 0.01\nw = clip(w + 1e-6 * c * (v_post + 60), 0, 1)")
    shared_per_synapse = dict(       # a shared variable written per synapse: serial
        model="d : 1 (shared)", on_pre="d += 1e-3\nw = clip(w + 1e-4 * d, 0, 1)")
    return {
        "vogels_sprekeler": lambda: vogels_sprekeler_2011(eta=1e-3, w_max=1.0),
        "tsodyks_markram": lambda: tsodyks_markram_1997(U=0.9, tau_d=20.0, tau_f=10.0),
        "clopath": lambda: clopath_2010(A_LTP=8e-3, A_LTD=1e-3, w_max=1.0),
        "noisy, signals": lambda: _with_schedule(EquationRule(**noisy, seed=3)),
        "shared per synapse": lambda: EquationRule(**shared_per_synapse),
    }


def _with_schedule(rule):
    rule.schedule("d", [20.0, 70.0, 150.0], [1.0, 0.5, 2.0])
    return rule


@pytest.mark.parametrize("delay", ["none", "homogeneous", "per-synapse"])
@pytest.mark.parametrize("name", list(_language_rules()))
def test_language_rules_by_post_range_identical_for_any_thread_count(name, delay):
    """Rules of the rule language whose per-synapse statements write no shared
    variable run their per-synapse and postsynaptic phases on every thread (by
    postsynaptic range), the rest on thread 0: every phase of the language (shared
    inputs, presynaptic replays, on_post, shared and per-synapse on_step, the post
    gate, clock-driven updates at every place, rand(), a rule owning its delivery)
    gives the 1-thread numbers; a rule writing a shared variable per synapse runs on
    thread 0."""
    make_rule = _language_rules()[name]
    rule = make_rule()
    make, run = _rule_net(make_rule, delay, dtype=np.float64, duration=150.0,
                          rec_rule=make_rule)
    assert _across_threads(make, run, f"{name}, {delay}") > 50
    net, _ = make()
    assert net.projections["ff"].rule._parallel_safe() == (name != "shared per synapse")


def test_language_rules_leave_out_the_phases_without_code():
    """The engine runs only the phases that have code in the generated function (and
    only their barriers): ``Layout.phases`` lists exactly the ``PHASE(k)`` blocks of
    the code, and it differs between rules, so that the equality above covers sparse
    phase sets (Tsodyks-Markram 0-2) and the full one (the noisy rule, with on_step
    and clock-driven variables)."""
    import re
    from plasticity.rules import _codegen
    phases = {}
    for name, make_rule in _language_rules().items():
        rule = make_rule()
        make, run = _rule_net(lambda: rule, "none", dtype=np.float64, duration=5.0)
        net, _ = make()
        net.run(1.0)
        (code, layout), = rule._code.values()
        assert layout.phases == sorted({int(k) for k in re.findall(r"PHASE\((\d)\)",
                                                                   code)})
        assert layout.phases[0] == 0
        phases[name] = layout.phases
    assert phases["tsodyks_markram"] == [0, 1, 2]
    assert phases["noisy, signals"] == [0, 1, 2, 3, 4, 5, 6]
    assert len({tuple(p) for p in phases.values()}) >= 3


def test_hodgkin_huxley_traub_identical_for_any_thread_count():
    """Conductance-based HH (Traub & Miles, NEST's hh_cond_exp_traub) driven by
    Poisson input through both receptors, with a current: bit for bit."""
    from plasticity.neurons import HodgkinHuxleyTraub

    def make():
        net = Network(dt=0.1, seed=5)
        inp = net.add_poisson("inputs", 200, 20.0)
        hh = net.add_population("hh", 23, HodgkinHuxleyTraub(E_L=-65.0))
        rng = np.random.default_rng(2)
        for target, w in (("g_ex", 6.0), ("g_in", 20.0)):
            dense = (rng.random((200, 23)) < 0.2) * rng.uniform(0, w, (200, 23))
            net.connect(inp, hh, SynapseMatrix.from_dense(dense), target=target,
                        name=target)
        net.add_current(hh, [0.0, 50.0], np.array([[100.0], [300.0]]) *
                        np.ones((1, 23)))
        return net, [net.monitor_spikes(hh)]

    spikes = _across_threads(make, lambda net: net.run(200.0, progress=False), "HH Traub")
    assert spikes > 30


def test_hodgkin_huxley_traub_nonfinite_names_population_and_step():
    from plasticity.errors import SimulationError
    from plasticity.neurons import HodgkinHuxleyTraub
    for n in (1, 3):
        net = Network(dt=0.1, seed=1, threads=n)
        hh = net.add_population("cortex_hh", 5, HodgkinHuxleyTraub())
        net.run(1.2, progress=False)
        hh["g_in"][3] = -1e300     # finite, but the membrane factor overflows
        with pytest.raises(SimulationError, match=r"non-finite v in population "
                           r"'cortex_hh' \(neuron 3\) at step 12 \(t = 1.2 ms\)"):
            net.run(5.0, progress=False)


def test_state_blocks_start_a_cache_line():
    """Each thread's neurons own their 64-byte lines only if the state block starts
    one (with _part's boundaries at multiples of 8): every model's initial state."""
    from plasticity import neurons as neuron_models
    from plasticity._alloc import aligned_empty
    models = [cls() for cls in vars(neuron_models).values()
              if isinstance(cls, type) and issubclass(cls, neuron_models.NeuronModel)
              and cls is not neuron_models.NeuronModel and _constructible(cls)]
    assert len(models) >= 5
    for model in models:
        for n in (1, 8, 400, 1001):
            s = model.initial_state(n)
            assert s.ctypes.data % 64 == 0, (type(model).__name__, n)
            assert s.flags.c_contiguous and s.flags.writeable and s.dtype == np.float64
    a = aligned_empty((3, 5), np.int32)
    assert a.shape == (3, 5) and a.dtype == np.int32 and a.ctypes.data % 64 == 0


def _constructible(cls):
    try:
        cls()
    except TypeError:
        return False
    return True
