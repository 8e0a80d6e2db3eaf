"""The compiled loop: sources, delays, currents, monitors, determinism, store/restore,
the per-step Python path, non-finite detection and bad input."""
import math

import numpy as np
import pytest

from plasticity import (STDP, Additive, Network, Pair, SimulationError, SynapseMatrix,
                        Triplet)
from plasticity.neurons import LIF
from plasticity.rules import Rule


def poisson_net(seed, rate=15.0, n=200, rule=True, dt=0.1, net_seed=None):
    net = Network(dt=dt, seed=seed if net_seed is None else net_seed)
    inp = net.add_poisson("inp", n, rate)
    out = net.add_population("out", 5, LIF(tau_m=10.0, C_m=250.0, t_ref=2.0))
    syn = SynapseMatrix.fixed_probability(n, 5, 0.5, weight=120.0, rng=seed)
    r = STDP(Pair(20.0, 20.0, 1.0, 1.05), Additive(0.0, 240.0)) if rule else None
    proj = net.connect(inp, out, syn, "I_syn_ex", rule=r)
    return net, proj, net.monitor_spikes(inp), net.monitor_spikes(out)


# ------------------------------------------------------------- Poisson sources
def test_poisson_counts_and_intervals_match_the_process():
    net = Network(dt=0.1, seed=3)
    rates = np.repeat([0.0, 5.0, 40.0, 200.0], 250)
    inp = net.add_poisson("inp", 1000, rates)
    mon = net.monitor_spikes(inp)
    T = 20000.0
    net.run(T)
    counts = mon.count
    assert counts[:250].sum() == 0
    for k, r in enumerate([5.0, 40.0, 200.0]):
        c = counts[250 * (k + 1): 250 * (k + 2)]
        p = r * 0.1 / 1000
        mean = 250 * T / 0.1 * p
        sd = math.sqrt(250 * T / 0.1 * p * (1 - p))
        assert abs(c.sum() - mean) < 5 * sd
    # intervals of one neuron: geometric in steps, mean 1/p, CV close to 1
    steps = np.round(mon.times[mon.ids == 999] / 0.1)
    isi = np.diff(steps)
    assert isi.min() >= 1
    p = 200 * 0.1 / 1000
    assert abs(isi.mean() - 1 / p) < 5 * math.sqrt((1 - p) / p ** 2 / isi.size)
    assert abs(isi.std() / isi.mean() - math.sqrt(1 - p)) < 0.1


def test_poisson_rate_of_one_per_step_fires_every_step_and_rates_can_change():
    net = Network(dt=0.5, seed=1)
    inp = net.add_poisson("inp", 3, [2000.0, 0.0, 0.0])
    mon = net.monitor_spikes(inp)
    net.run(10.0)
    assert np.array_equal(mon.ids, np.zeros(20))
    inp.rates = [0.0, 0.0, 2000.0]
    net.run(5.0)
    assert np.array_equal(mon.ids[20:], np.full(10, 2))
    with pytest.raises(ValueError, match="rates of 'inp' must be finite and >= 0 Hz"):
        inp.rates = [1.0, -2.0, 1.0]
    # above one spike per step it would saturate silently (issue 16): refused
    with pytest.raises(ValueError, match=r"rates of 'inp' must be <= 1000 / dt = 2000 Hz"):
        inp.rates = [0.0, 0.0, 5000.0]


# ------------------------------------------------------------- determinism
def test_same_seed_identical_different_seed_different():
    results = []
    for seed in (11, 11, 12):
        net, proj, mi, mo = poisson_net(seed)
        net.run(2000.0)
        results.append((mi.times, mi.ids, mo.times, proj.weights.copy()))
    a, b, c = results
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert a[0].size != c[0].size or not np.array_equal(a[0], c[0])


def test_split_runs_equal_one_run():
    net1, p1, i1, o1 = poisson_net(5)
    net1.run(3000.0)
    net2, p2, i2, o2 = poisson_net(5)
    for _ in range(3):
        net2.run(1000.0)
    np.testing.assert_array_equal(i1.times, i2.times)
    np.testing.assert_array_equal(o1.times, o2.times)
    np.testing.assert_array_equal(p1.weights, p2.weights)


def test_store_restore_continues_exactly():
    net, proj, mi, mo = poisson_net(8)
    net.run(1000.0)
    state = net.store()
    net.run(1000.0)
    w_ref, t_ref = proj.weights.copy(), mo.times[mo.times >= 1000.0].copy()
    net.restore(state)
    n_before = mo.times.size
    net.run(1000.0)
    np.testing.assert_array_equal(proj.weights, w_ref)
    np.testing.assert_array_equal(mo.times[n_before:], t_ref)
    # a fresh network of the same structure continues from the stored state
    fresh, fproj, _, fmo = poisson_net(8, net_seed=999)
    fresh.restore(state)
    fresh.run(1000.0)
    np.testing.assert_array_equal(fproj.weights, w_ref)
    np.testing.assert_array_equal(fmo.times, t_ref)
    # a network with other connectivity refuses the state
    other, _, _, _ = poisson_net(9)
    with pytest.raises(ValueError, match="connectivity of projection 'inp_out' differs"):
        other.restore(state)


def test_store_restore_with_delays_in_flight():
    def make():
        net = Network(dt=0.1, seed=2)
        inp = net.add_poisson("inp", 50, 30.0)
        out = net.add_population("out", 3, LIF(t_ref=1.0))
        d = np.random.default_rng(0).integers(0, 80, 150).astype(np.int32)
        syn = SynapseMatrix.all_to_all(50, 3, weight=150.0, delay=d)
        rule = STDP(Triplet(), Additive(0.0, 300.0))
        proj = net.connect(inp, out, syn, "I_syn_ex", rule=rule)
        return net, proj, net.monitor_spikes(out)
    net, proj, mon = make()
    net.run(503.7)
    state = net.store()
    net.run(500.0)
    w_ref, n_ref = proj.weights.copy(), mon.times.size
    other, oproj, omon = make()
    other.restore(state)
    other.run(500.0)
    np.testing.assert_array_equal(oproj.weights, w_ref)
    assert omon.times.size == n_ref - np.sum(mon.times < 503.7)


# ------------------------------------------------------------- delays and timing
@pytest.mark.parametrize("delay", [0, 1, 25])
def test_spike_arrives_after_its_delay(delay):
    net = Network(dt=0.1, seed=0)
    gen = net.add_spike_generator("gen", 2, [1.0, 2.0], [0, 1])
    out = net.add_population("out", 1, LIF(tau_syn_ex=5.0))
    d = np.array([delay, delay + 3], dtype=np.int32)
    net.connect(gen, out, SynapseMatrix.all_to_all(2, 1, weight=100.0, delay=d), "I_syn_ex")
    mon = net.monitor_state(out, "I_syn_ex")
    net.run(10.0)
    I = mon["I_syn_ex"][:, 0]
    # recorded at the start of a step: the jump shows one step after arrival
    first = np.flatnonzero(I > 0)[0]
    assert first == 10 + delay + 1
    jump2 = 20 + delay + 3 + 1
    assert I[jump2] - I[jump2 - 1] * math.exp(-0.1 / 5.0) == pytest.approx(100.0, rel=1e-6)


def test_lif_membrane_and_first_spike_follow_closed_form():
    net = Network(dt=0.1, seed=0)
    m = LIF(tau_m=20.0, C_m=200.0, E_L=-65.0, V_th=-50.0, V_reset=-65.0, t_ref=2.0)
    out = net.add_population("out", 1, m)
    net.add_current(out, [0.0], [300.0])
    st = net.monitor_state(out, "v")
    sp = net.monitor_spikes(out)
    net.run(30.0)
    R = 20.0 / 200.0
    t = st.times
    v_exact = -65.0 + R * 300.0 * (1 - np.exp(-t / 20.0))
    first = sp.times[0]
    pre = t <= first
    np.testing.assert_allclose(st["v"][pre, 0], v_exact[pre], rtol=0, atol=1e-10)
    t_cross = -20.0 * math.log(1 - 15.0 / (R * 300.0))
    # v crosses during the update from k*dt to (k+1)*dt; the spike is stamped k*dt
    assert first == pytest.approx((math.ceil(t_cross / 0.1) - 1) * 0.1, abs=1e-9)


def test_ramp_current_interpolates_linearly():
    net = Network(dt=0.1, seed=0)
    out = net.add_population("out", 2, LIF(V_th=1e6, V_reset=-70.0))
    net.add_current(out, [1.0, 3.0], [0.0, 100.0], neurons=[1], interpolation="linear")
    st = net.monitor_state(out, "I_ext")
    net.run(5.0)
    # I_ext is set before the update of a step and recorded at the start of the next
    I = st["I_ext"]
    t = st.times
    expect = np.clip((t - 0.1 - 1.0) / 2.0, 0, 1) * 100.0
    expect[t - 0.1 < 1.0] = 0.0
    np.testing.assert_allclose(I[1:, 1], expect[1:], atol=1e-9)
    assert np.all(I[:, 0] == 0.0)


# ------------------------------------------------------------- the Python path
class NoOp(Rule):
    def __init__(self):
        self.calls = {"pre": 0, "post": 0, "step": 0}

    def on_pre(self, step, syn):
        self.calls["pre"] += 1

    def on_post(self, step, post):
        self.calls["post"] += 1

    def on_step(self, step):
        self.calls["step"] += 1


def test_per_step_path_gives_identical_results():
    net1, p1, i1, o1 = poisson_net(21)
    net1.run(500.0)
    net2, p2, i2, o2 = poisson_net(21)
    seen = []
    net2.add_callback(lambda net, step: seen.append(step))
    net2.run(500.0)
    assert seen == list(range(5000))
    np.testing.assert_array_equal(o1.times, o2.times)
    np.testing.assert_array_equal(p1.weights, p2.weights)


def test_python_rule_hooks_are_called_with_the_events():
    net, proj, mi, mo = poisson_net(4, rule=False)
    rule = NoOp()
    net.connect(net.populations["inp"], net.populations["out"],
                SynapseMatrix.all_to_all(200, 5, weight=0.0), "I_syn_in", rule=rule,
                name="py")
    net.run(200.0)
    assert rule.calls["step"] == 2000
    assert rule.calls["pre"] == np.unique(np.round(mi.times / 0.1)).size
    assert rule.calls["post"] == np.unique(np.round(mo.times / 0.1)).size


# ------------------------------------------------------------- errors
def test_nonfinite_state_names_population_variable_and_step():
    net = Network(dt=0.1, seed=0)
    out = net.add_population("exc", 3, LIF(V_th=1e300))
    gen = net.add_spike_generator("gen", 1, [1.0, 1.1], [0, 0])
    net.connect(gen, out, SynapseMatrix.from_dense(np.array([[0.0, 0.0, 1e308]])),
                "I_syn_ex")
    with pytest.raises(SimulationError,
                       match=r"non-finite I_syn_ex in population 'exc' \(neuron 2\) at step 12 "):
        net.run(5.0)


@pytest.mark.parametrize("call, match", [
    (lambda: Network(dt=0.0), "dt must be > 0 ms"),
    (lambda: Network(dt=-0.1), "dt must be > 0 ms"),
    (lambda: Network(dt=float("nan")), "dt must be finite"),
    (lambda: Network(seed=-1), "seed must be an integer in"),
    (lambda: Network().run(-1.0), "duration must be finite and >= 0 ms"),
    (lambda: Network(dt=0.1).run(0.05), "duration must be a multiple of dt"),
    (lambda: Network().add_poisson("x", 0, 1.0), "n must be an integer in"),
    (lambda: Network().add_poisson("x y", 3, 1.0), "name must be a Python identifier"),
    (lambda: Network().add_population("p", 3, "LIF"), "model must be a plasticity.neurons model"),
    (lambda: Network().add_spike_generator("g", 2, [1.0], [2]), r"spike ids of 'g' must be integers in \[0, 2\)"),
    (lambda: Network().add_spike_generator("g", 2, [-1.0], [0]), "must be finite and >= 0 ms"),
    (lambda: Network().add_spike_generator("g", 2, [1.0, 2.0], [0]), "same length"),
])
def test_bad_input_is_rejected_with_a_message(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_connect_rejects_mismatches():
    net = Network()
    a = net.add_poisson("a", 3, 1.0)
    b = net.add_population("b", 2, LIF())
    with pytest.raises(ValueError, match=r"synapses has shape \(2, 2\), expected \(3, 2\)"):
        net.connect(a, b, SynapseMatrix.all_to_all(2, 2, weight=1.0), "I_syn_ex")
    with pytest.raises(ValueError, match="target must be one of"):
        net.connect(a, b, SynapseMatrix.all_to_all(3, 2, weight=1.0), "g_e")
    with pytest.raises(ValueError, match="is a source"):
        net.connect(b, a, SynapseMatrix.all_to_all(2, 3, weight=1.0), "I_syn_ex")
    with pytest.raises(TypeError, match="rule must be a plasticity.rules.Rule"):
        net.connect(a, b, SynapseMatrix.all_to_all(3, 2, weight=1.0), "I_syn_ex", rule="stdp")
    net.connect(a, b, SynapseMatrix.all_to_all(3, 2, weight=1.0), "I_syn_ex", name="ab")
    with pytest.raises(ValueError, match="name 'ab' is already used"):
        net.connect(a, b, SynapseMatrix.all_to_all(3, 2, weight=1.0), "I_syn_ex", name="ab")
    with pytest.raises(ValueError, match="two spikes in the same time step"):
        net.add_spike_generator("g", 1, [1.0, 1.04], [0, 0])
        net.run(1.0)


def test_current_breakpoints_on_the_step_grid_take_effect_at_that_step():
    """Breakpoints at k*dt apply from step k even when k*dt/dt rounds above k."""
    dt = 0.2
    net = Network(dt=dt, seed=0)
    out = net.add_population("out", 1, LIF(V_th=1e6))
    t = np.arange(200) * dt
    amp = np.where(t > 20.0, 50.0, 0.0)
    net.add_current(out, t, amp)
    st = net.monitor_state(out, "I_ext")
    net.run(40.0)
    I = st["I_ext"][:, 0]
    first = np.flatnonzero(I > 0)[0]
    # set before the update of step 101 (t = 20.2 ms), seen at the start of step 102
    assert first == 102


def test_post_ordered_weights_give_identical_results():
    """Long runs keep STDP weights in post-synaptic order while they run; short runs
    do not: the numbers, snapshots included, are the same bit for bit."""
    from plasticity import network as network_module
    assert 1000 < network_module._POST_ORDER_MIN_STEPS <= 10000

    def make():
        net, proj, mi, mo = poisson_net(31, n=300)
        wm = net.monitor_weights(proj, 100.0)
        return net, proj, mo, wm
    long_net, long_proj, long_mo, long_wm = make()
    long_net.run(1000.0)                  # 10,000 steps: post-ordered
    short_net, short_proj, short_mo, short_wm = make()
    for _ in range(10):
        short_net.run(100.0)              # 1,000 steps each: CSR order
    np.testing.assert_array_equal(long_mo.times, short_mo.times)
    np.testing.assert_array_equal(long_proj.weights, short_proj.weights)
    np.testing.assert_array_equal(long_wm.snapshots, short_wm.snapshots)
    assert long_wm.snapshots.shape[0] == 11


def test_post_order_gather_scatter_in_chunks_match_numpy(monkeypatch):
    """The post-order permutation, gather and scatter run in chunks (no temporary
    the size of post_syn as intp): the same arrays as the whole-array NumPy
    expressions, for chunk sizes that do and do not divide nnz."""
    from plasticity import Network, SynapseMatrix
    from plasticity import network as network_module
    from plasticity.neurons import LIF
    for chunk in (1, 7, 64, 1 << 22):
        monkeypatch.setattr(network_module, "_CHUNK", chunk)
        assert list(network_module._chunks(10, 4)) == [(0, 4), (4, 8), (8, 10)]
        for dtype in (np.float32, np.float64):
            net = Network(dt=0.1, threads=1)
            a = net.add_population("a", 37, LIF())
            b = net.add_population("b", 23, LIF())
            syn = SynapseMatrix.fixed_probability(
                37, 23, 0.3, rng=chunk, dtype=dtype,
                weight=lambda r, n: r.uniform(0, 1, n))
            proj = net.connect(a, b, syn, target="I_syn_ex")
            pos = np.empty(syn.nnz, dtype=np.int32)
            pos[syn.post_syn] = np.arange(syn.nnz, dtype=np.int32)
            got = proj._post_position()
            assert got.dtype == np.int32
            np.testing.assert_array_equal(got, pos)
            wp = proj._gather_post_order()
            assert wp.dtype == dtype and wp is not syn.weights
            np.testing.assert_array_equal(wp, syn.weights[syn.post_syn])
            new = np.random.default_rng(1).uniform(0, 1, syn.nnz).astype(dtype)
            ref = syn.weights.copy()
            ref[syn.post_syn] = new
            proj._scatter_post_order(new)
            np.testing.assert_array_equal(syn.weights, ref)


def test_rule_bounds_checked_in_chunks_name_the_first_synapse_and_count(monkeypatch):
    """The initial-weight bounds check runs in chunks: with chunks of 4 it still names
    the first offending synapse (by id, in a later chunk) and counts them all."""
    from plasticity import network as network_module
    monkeypatch.setattr(network_module, "_CHUNK", 4)
    w = np.full(30, 0.005)
    w[[9, 17, 29]] = [0.02, -0.01, 0.5]
    for ok in (True, False):
        net = Network(dt=0.1)
        a = net.add_population("a", 6, LIF())
        b = net.add_population("b", 5, LIF())
        syn = SynapseMatrix.all_to_all(6, 5, weight=np.where(ok, 0.005, w))
        rule = STDP(Pair(), Additive(0.0, 0.01))
        if ok:
            net.connect(a, b, syn, "I_syn_ex", rule=rule)
            continue
        expect = syn.weights[9]
        with pytest.raises(ValueError, match=rf"got {expect} \(synapse 9; 3 of 30 "
                                             rf"outside\)"):
            net.connect(a, b, syn, "I_syn_ex", rule=rule)


def test_post_ordered_weights_in_small_chunks_give_identical_results(monkeypatch):
    """A long (post-ordered) run with chunks of 5 synapses equals short runs."""
    from plasticity import network as network_module
    monkeypatch.setattr(network_module, "_CHUNK", 5)
    long_net, long_proj, _, long_mo = poisson_net(32, n=300)
    long_net.run(1000.0)
    short_net, short_proj, _, short_mo = poisson_net(32, n=300)
    for _ in range(10):
        short_net.run(100.0)
    np.testing.assert_array_equal(long_mo.times, short_mo.times)
    np.testing.assert_array_equal(long_proj.weights, short_proj.weights)


def test_a_duration_a_fraction_of_a_step_off_is_not_a_multiple_of_dt():
    """5e6 ms at dt 0.3 ms is 16666666.67 steps: 0.1 ms off, within 1e-6 of the
    duration but not a whole number of steps (refused; so is the config key)."""
    from plasticity import Network
    from plasticity.config import ConfigError
    net = Network(dt=0.3)
    with pytest.raises(ValueError, match="must be a multiple of dt = 0.3 ms"):
        net.run(5e6)
    assert Network(dt=0.1)._steps("duration", 5e6) == 50_000_000
    from plasticity import runner
    with pytest.raises(ConfigError, match="'duration' must be a multiple of 'dt'"):
        runner.prepare("song_abbott_2000", sets=["dt=0.3", "duration=5000000"])


@pytest.mark.parametrize("key", ["w_min", "w_max"])
def test_rule_bounds_beyond_the_weights_dtype_are_refused_at_connect(key):
    """A rule's bound beyond float32's range is inf in float32 weights: a weight
    clipped to it became inf (and the bounds check cast it with NumPy's overflow
    RuntimeWarning). Refused at connect, naming the bounds, the projection, the dtype
    and the limit; float64 weights take it, and an infinite bound (no bound) is left
    alone. The same for a rule-language rule's clip bounds."""
    import warnings
    from plasticity import EquationRule
    bounds = {"w_min": (-1e39, 1.0), "w_max": (0.0, 1e39)}[key]
    bad = rf"{'-' if key == 'w_min' else ''}1e\+39"
    rules = (lambda: STDP(Pair(), Additive(*bounds)),
             lambda: EquationRule(on_pre="w = clip(w + 0.1, lo, hi)",
                                  params=dict(lo=bounds[0], hi=bounds[1])))
    for make, how in zip(rules, (r"\[w_min, w_max\]", r".*")):
        for dtype in (np.float32, np.float64):
            net = Network(dt=0.1)
            a = net.add_population("a", 3, LIF())
            b = net.add_population("b", 2, LIF())
            syn = SynapseMatrix.all_to_all(3, 2, weight=0.5, dtype=dtype)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                if dtype is np.float64:
                    net.connect(a, b, syn, "I_syn_ex", rule=make())
                    continue
                with pytest.raises(ValueError, match=rf"^the rule's bounds {how} = .* of "
                                                     rf"projection 'a_b' must be finite in "
                                                     rf"its float32 weights \(each within "
                                                     rf"\+-3.4028235e\+38 or infinite\), "
                                                     rf"got {bad}: a weight clipped to it "
                                                     rf"would be inf$"):
                    net.connect(a, b, syn, "I_syn_ex", rule=make())
    net = Network(dt=0.1)
    a, b = net.add_population("a", 3, LIF()), net.add_population("b", 2, LIF())
    net.connect(a, b, SynapseMatrix.all_to_all(3, 2, weight=0.5), "I_syn_ex",
                rule=EquationRule(on_pre="w = clip(w + 0.1, -inf, inf)"))
