"""Poisson input (``Network.add_poisson_input``, issue 19): the compiled sampler against
a plain NumPy reference of the same algorithm (same uniform numbers, same counts) and
against the Poisson law (moments, chi-square at small and large means, with controls
that must fail); the membrane effect against a plain-Python loop (same counts, same
v); the timing of a projection with no delay; seeds, threads, cut runs, rate changes,
store/restore and the validation of every parameter."""
import math

import numpy as np
import pytest
from scipy import stats

from plasticity import network as network_module
from plasticity._ext import engine
from plasticity._ext import neurons as ext
from plasticity.network import Network
from plasticity.neurons import IF, LIF
from plasticity.rules._interpreter import _rand
from plasticity.synapses import SynapseMatrix

from _thread_utils import assert_identical, differences, snapshot

DT = 0.1


# ---------------------------------------------------------------- NumPy reference
def ref_counts(seed, t0, n_steps, lam):
    """The sampler in plain Python/NumPy: inversion of the uniform of draw 0 below a
    mean of 10, Hoermann's PTRS with the uniforms of draws 1, 2, 3, ... above; the
    uniforms are the rule language's rand() (its own NumPy implementation)."""
    lam = np.atleast_1d(np.asarray(lam, dtype=np.float64))
    out = np.zeros((n_steps, lam.size), dtype=np.int64)
    for j, L in enumerate(lam):
        if L <= 0:
            continue
        for s in range(n_steps):
            t = t0 + s
            if L < 10.0:
                u = float(_rand(seed, t, j, 0))
                q = F = math.exp(-L)
                k = 0
                while u >= F:
                    k += 1
                    q = q * (L / k)
                    if F + q == F:
                        break
                    F = F + q
                out[s, j] = k
                continue
            slam, loglam = math.sqrt(L), math.log(L)
            b = 0.931 + 2.53 * slam
            a = -0.059 + 0.02483 * b
            invalpha = 1.1239 + 1.1328 / (b - 3.4)
            vr = 0.9277 - 3.6224 / (b - 2.0)
            site = 1
            while True:
                U = float(_rand(seed, t, j, site)) - 0.5
                V = float(_rand(seed, t, j, site + 1))
                site += 2
                us = 0.5 - abs(U)
                if (us < 0.013 and V > us) or us <= 0.0:
                    continue
                kd = math.floor((2.0 * a / us + b) * U + L + 0.43)
                if kd < 0:
                    continue
                if us >= 0.07 and V <= vr:
                    break
                if math.log(V) + math.log(invalpha) - math.log(a / (us * us) + b) <= \
                        -L + kd * loglam - math.lgamma(kd + 1.0):
                    break
            out[s, j] = kd
    return out


def test_hash_uniform_is_the_rule_languages_rand():
    rng = np.random.default_rng(0)
    for _ in range(200):
        seed = int(rng.integers(0, 2**63))
        t, j, site = (int(x) for x in rng.integers(0, 2**31, 3))
        assert engine.hash_uniform(seed, t, j, site) == float(_rand(seed, t, j, site))


@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.2, 3.7, 9.999, 10.0, 37.5, 1000.0, 2e5])
def test_counts_equal_the_numpy_reference(lam):
    seed = 987654321987
    lams = np.array([lam, lam * 0.5, lam])
    got = engine.poisson_counts(seed, 1234, 300, lams)
    np.testing.assert_array_equal(got, ref_counts(seed, 1234, 300, lams))


@pytest.mark.parametrize("simd", [True, False])
@pytest.mark.parametrize("lam", [0.0, 1e-17, 1e-9, 1e-3, 0.2, 1.5, 3.0, 6.0, 9.999])
def test_block_path_of_one_mean_equals_the_generic_draw(lam, simd):
    """A Poisson input of one rate below a mean of 10 runs a block path (hashes
    vectorized, counts by integer thresholds, the rare count >= 4 by inversion; the
    sum of probabilities stopping early at tiny means): the same counts, with and
    without AVX-512, for ranges that are not multiples of the block."""
    prev = engine.simd()
    try:
        engine.simd(simd)
        for n in (1, 63, 64, 65, 200):
            got = engine.poisson_counts_uniform(555, 40, 700, n, lam)
            np.testing.assert_array_equal(
                got, engine.poisson_counts(555, 40, 700, np.full(n, lam)))
    finally:
        engine.simd(prev)
    if lam >= 1.5:     # the fallback past the thresholds ran
        assert got.max() >= 4


def chi2_pvalue(counts, lam):
    """Chi-square goodness of fit of integer ``counts`` to Poisson(lam): bins of
    single values where the expected count is >= 20, both tails merged."""
    n = counts.size
    lo, hi = int(stats.poisson.ppf(1e-4, lam)), int(stats.poisson.isf(1e-4, lam))
    ks = np.arange(lo, hi + 1)
    p = stats.poisson.pmf(ks, lam)
    keep = ks[p * n >= 20]
    lo, hi = int(keep.min()), int(keep.max())
    edges = np.arange(lo, hi + 1)
    obs = np.array([np.sum(counts < lo)] + [np.sum(counts == k) for k in edges]
                   + [np.sum(counts > hi)], dtype=float)
    exp = np.concatenate([[stats.poisson.cdf(lo - 1, lam)], stats.poisson.pmf(edges, lam),
                          [stats.poisson.sf(hi, lam)]]) * n
    use = exp > 0
    chi2 = float(np.sum((obs[use] - exp[use]) ** 2 / exp[use]))
    return float(stats.chi2.sf(chi2, use.sum() - 1))


def moments_z(counts, lam):
    """z-scores of the sample mean and variance against Poisson(lam)."""
    n = counts.size
    m, v = counts.mean(), counts.var(ddof=1)
    z_mean = (m - lam) / math.sqrt(lam / n)
    # Var of the sample variance of a Poisson law: (mu4 - lam^2 (n-3)/(n-1)) / n
    mu4 = lam * (1 + 3 * lam)
    z_var = (v - lam) / math.sqrt((mu4 - lam * lam * (n - 3) / (n - 1)) / n)
    return z_mean, z_var


@pytest.mark.parametrize("lam", [0.2, 2.5, 9.5, 10.0, 40.0, 1000.0])
def test_counts_follow_the_poisson_law(lam):
    counts = engine.poisson_counts(2024, 0, 4000, np.full(100, lam)).ravel()
    assert chi2_pvalue(counts, lam) > 1e-4
    z_mean, z_var = moments_z(counts, lam)
    assert abs(z_mean) < 4.5 and abs(z_var) < 4.5


@pytest.mark.parametrize("lam", [0.2, 2.5, 40.0, 1000.0])
def test_poisson_law_tests_reject_wrong_samplers(lam):
    """The checks above fail a Bernoulli sampler (at most one spike per step) and a
    sampler whose mean is 2% off, on as many draws."""
    n = 400_000
    u = np.random.default_rng(1).random(n)
    if lam < 1:
        bern = (u < 1.0 - math.exp(-lam)).astype(np.int64)
        assert chi2_pvalue(bern, lam) < 1e-6
    else:   # the right mean, the wrong law: a binomial with twice the mean's trials
        binom = np.random.default_rng(1).binomial(int(2 * lam), 0.5, n)
        assert chi2_pvalue(binom, lam) < 1e-6 or abs(moments_z(binom, lam)[1]) > 10
    shifted = engine.poisson_counts(7, 0, 4000, np.full(100, lam * 1.02)).ravel()
    p = chi2_pvalue(shifted, lam)
    z_mean, _ = moments_z(shifted, lam)
    assert p < 1e-6 or abs(z_mean) > 6


def test_counts_depend_only_on_seed_step_neuron():
    lam = np.array([0.3, 0.3, 12.0, 0.3])
    a = engine.poisson_counts(11, 500, 50, lam)
    b = engine.poisson_counts(11, 520, 30, lam)          # another window of steps
    np.testing.assert_array_equal(a[20:], b)
    c = engine.poisson_counts(11, 500, 50, lam[:3])      # fewer neurons
    np.testing.assert_array_equal(a[:, :3], c)
    d = engine.poisson_counts(12, 500, 50, lam)          # another seed
    assert not np.array_equal(a, d)


# ---------------------------------------------------------------- the membrane
def python_reference(model, n, steps, counts, weight, receptor, init_v):
    """Plain-Python loop in the engine's order: update, add k * weight (not onto a
    held v), reset; returns the v at the start of every step and the spikes."""
    p = model.packed_params(DT)
    s = model.initial_state(n)
    s[model.var_index("v")] = init_v
    row = model.receptor_index(receptor)
    held = receptor == "v" and "refractory" in model.variables
    ref_row = model.var_index("refractory") if held else None
    vs, spikes = np.empty((steps, n)), []
    for t in range(steps):
        vs[t] = s[model.var_index("v")]
        sp = ext.update(model.model_id, s, p)
        for j in range(n):
            if counts[t, j] and not (held and s[ref_row, j] > 0):
                s[row, j] += counts[t, j] * weight
        ext.reset(model.model_id, s, p, sp)
        spikes.extend((t, int(i)) for i in sp)
    return vs, spikes


@pytest.mark.parametrize("uniform", [False, True])
@pytest.mark.parametrize("model,receptor,N,rate,weight", [
    (LIF(tau_syn_ex=2.0), "I_syn_ex", 40, 2000.0, 30.0),
    (IF(C_m=100.0, V_th=5.0, V_reset=0.0, t_ref=1.5), "v", 3, 1000.0, 0.7),
    (IF(C_m=100.0, V_th=5.0, V_reset=0.0, t_ref=1.5), "v", 200, 2000.0, 0.1),
])
def test_membrane_equals_python_reference(model, receptor, N, rate, weight, uniform):
    n, steps = 23, 800
    # per-neuron rates (some means >= 10), or one rate (the block path below 10)
    rates = np.full(n, rate) if uniform else np.linspace(0.5, 1.5, n) * rate
    init_v = np.linspace(-65, -55, n) if isinstance(model, LIF) else np.zeros(n)
    net = Network(dt=DT, seed=3)
    P = net.add_population("P", n, model, init={"v": init_v})
    inp = net.add_poisson_input(P, receptor, N, rates, weight)
    mon = net.monitor_state(P, "v")
    sm = net.monitor_spikes(P)
    net.run(steps * DT)
    counts = ref_counts(inp.seed, 0, steps, N * rates * (DT / 1000.0))
    vs, spikes = python_reference(model, n, steps, counts, weight, receptor, init_v)
    assert len(spikes) > 20
    np.testing.assert_array_equal(mon.values["v"], vs)
    got = sorted(zip(np.round(sm.times / DT).astype(int).tolist(), sm.ids.tolist()))
    assert got == sorted(spikes)
    # a control: the counts one step late give another membrane
    late = np.vstack([np.zeros((1, n), np.int64), counts[:-1]])
    assert not np.array_equal(python_reference(model, n, steps, late, weight, receptor,
                                               init_v)[0], vs)


def _generator_twin(counts):
    """Spike-generator sources reproducing ``counts``: source (j, m) spikes at step t
    when m < counts[t, j]; returns (n_sources, times, ids, synapse matrix rows)."""
    steps, n = counts.shape
    K = int(counts.max())
    times, ids = [], []
    for t, j in zip(*np.nonzero(counts)):
        for m in range(counts[t, j]):
            times.append(t * DT)
            ids.append(j * K + m)
    return n * K, K, np.array(times), np.array(ids)


@pytest.mark.parametrize("model,receptor", [(LIF(tau_syn_ex=1.0), "I_syn_ex"),
                                            (IF(C_m=50.0, V_th=3.0, t_ref=0.5), "v")])
def test_same_timing_as_a_projection_without_delay(model, receptor):
    """The input equals spikes from sources through a delay-0 projection connected
    before the others (the same receptor values up to the order of additions), and
    not a projection with a delay of one step."""
    n, steps, w = 12, 600, 0.5
    N, rate = 4, 1500.0
    other = SynapseMatrix.fixed_probability(n, n, 0.3, weight=0.25,
                                            rng=np.random.default_rng(0))

    def base(seed):
        net = Network(dt=DT, seed=seed)
        P = net.add_population("P", n, model)
        return net, P

    net, P = base(9)
    inp = net.add_poisson_input(P, receptor, N, rate, w)
    net.connect(P, P, other, target=receptor)
    recorded = list(dict.fromkeys([receptor, "v"]))   # IF's receptor is v itself
    mon = net.monitor_state(P, recorded)
    net.run(steps * DT)
    counts = engine.poisson_counts(inp.seed, 0, steps, np.full(n, N * rate * DT / 1000))
    n_src, K, times, ids = _generator_twin(counts)
    results = []
    for delay in (0, 1):
        net2, P2 = base(9)
        G = net2.add_spike_generator("G", n_src, times, ids)
        syn = SynapseMatrix(np.arange(n_src + 1), np.arange(n_src) // K,
                            np.full(n_src, w), shape=(n_src, n), delay=delay)
        net2.connect(G, P2, syn, target=receptor)
        net2.connect(P2, P2, other, target=receptor)
        mon2 = net2.monitor_state(P2, recorded)
        net2.run(steps * DT)
        results.append(mon2.values)
    for var in recorded:
        np.testing.assert_allclose(mon.values[var], results[0][var], rtol=1e-12,
                                   atol=1e-12)
        assert not np.allclose(mon.values[var], results[1][var], rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- determinism
def _net(seed, threads=1, rates=None):
    net = Network(dt=DT, seed=seed, threads=threads)
    E = net.add_population("E", 37, LIF(), init={"v": np.linspace(-70, -51, 37)})
    I = net.add_population("I", 11, IF(C_m=80.0, V_th=4.0, t_ref=1.0))
    inE = net.add_poisson_input(E, "I_syn_ex", 3, 800.0 if rates is None else rates,
                                120.0)
    net.add_poisson_input(E, "I_syn_in", 500, 100.0, -2.0)         # mean 5
    net.add_poisson_input(I, "v", 200, np.linspace(100, 800, 11), 0.15)  # means 2..16
    net.connect(E, I, SynapseMatrix.fixed_probability(37, 11, 0.5, weight=0.2,
                                                      rng=np.random.default_rng(1)),
                target="v")
    net.connect(E, E, SynapseMatrix.fixed_probability(37, 37, 0.2, weight=40.0,
                                                      rng=np.random.default_rng(2),
                                                      delay=3), target="I_syn_ex")
    mons = [net.monitor_spikes(E), net.monitor_spikes(I)]
    return net, mons, inE


@pytest.mark.parametrize("threads", [2, 3, 7])
def test_threads_identical(monkeypatch, threads):
    if not engine.openmp_available():
        pytest.skip("engine built without OpenMP")
    monkeypatch.setattr(network_module, "_WORK_PER_THREAD", 0)
    net, mons, _ = _net(4, 1)
    net.run(200.0)
    ref = snapshot(net, mons)
    assert len(mons[0].times) > 50 and len(mons[1].times) > 50
    net, mons, _ = _net(4, threads)
    net.run(200.0)
    assert_identical(ref, snapshot(net, mons), f"{threads} threads")


def test_cut_runs_and_seeds():
    net, mons, _ = _net(4)
    net.run(200.0)
    ref = snapshot(net, mons)
    net, mons, _ = _net(4)
    for d in (0.1, 57.3, 0.1, 100.0, 42.5):
        net.run(d)
    assert_identical(ref, snapshot(net, mons), "a run cut in five")
    net, mons, _ = _net(4)
    net.run(200.0)
    assert_identical(ref, snapshot(net, mons), "the same seed again")
    net, mons, _ = _net(5)
    net.run(200.0)
    assert differences(ref, snapshot(net, mons))


def test_rate_change_between_runs_and_store_restore():
    net, mons, inE = _net(4)
    net.run(100.0)
    inE.rate = 0.0
    net.run(50.0)
    inE.rate = np.linspace(0, 3000, 37)
    inE.weight = 60.0
    state = net.store()
    net.run(50.0)
    ref = snapshot(net, mons)
    # the piecewise counts: none while the rate is 0
    twin, tmons, tin = _net(4)
    twin.run(100.0)
    tin.rate = np.zeros(37)
    twin.run(50.0)
    tin.rate = np.linspace(0, 3000, 37)
    tin.weight = 60.0
    twin.run(50.0)
    assert_identical(ref, snapshot(twin, tmons), "the twin with the same rate changes")
    # restore: the rate and weight come back with the state
    inE.rate, inE.weight = 5.0, 1.0
    net.restore(state)
    np.testing.assert_array_equal(inE.rate, np.linspace(0, 3000, 37))
    assert inE.weight == 60.0
    n0 = [len(m.times) for m in mons]
    net.run(50.0)
    after = snapshot(net, mons)
    for name in net.populations:
        assert after[f"state/{name}"].tobytes() == ref[f"state/{name}"].tobytes()
    for k, m in enumerate(mons):      # the spikes of the last 50 ms again
        t_ref, i_ref = ref[f"spikes/{k}/t"], ref[f"spikes/{k}/i"]
        last = t_ref >= 150.0 - DT / 2
        assert last.sum() > 0
        np.testing.assert_array_equal(m.times[n0[k]:], t_ref[last])
        np.testing.assert_array_equal(m.ids[n0[k]:], i_ref[last])


def test_zero_rate_adds_nothing():
    net = Network(dt=DT, seed=1)
    P = net.add_population("P", 5, LIF())
    net.add_poisson_input(P, "I_syn_ex", 10, 0.0, 100.0)
    net.run(10.0)
    assert np.all(P["I_syn_ex"] == 0.0)


# ---------------------------------------------------------------- validation
def test_validation_errors_name_parameter_value_and_allowed():
    net = Network(dt=DT, seed=1)
    P = net.add_population("P", 4, LIF())
    S = net.add_poisson("S", 3, 10.0)
    with pytest.raises(ValueError, match="target must be a neuron population"):
        net.add_poisson_input(S, "I_syn_ex", 1, 10.0, 1.0)
    with pytest.raises(ValueError, match="target must be a population of this network"):
        net.add_poisson_input("nope", "I_syn_ex", 1, 10.0, 1.0)
    with pytest.raises(ValueError, match=r"target must be one of \['I_syn_ex', "
                                         r"'I_syn_in'\] for LIF, got 'v'"):
        net.add_poisson_input(P, "v", 1, 10.0, 1.0)
    with pytest.raises(TypeError, match="target_var must be a receptor name"):
        net.add_poisson_input(P, 3, 1, 10.0, 1.0)
    for N in (0, -2):
        with pytest.raises(ValueError, match="N must be"):
            net.add_poisson_input(P, "I_syn_ex", N, 10.0, 1.0)
    for N in (1.5, True, "3"):
        with pytest.raises(TypeError, match="N must be an integer"):
            net.add_poisson_input(P, "I_syn_ex", N, 10.0, 1.0)
    with pytest.raises(ValueError, match=r"rate of Poisson input 'P_poisson_I_syn_ex' "
                                         r"must be finite and >= 0 Hz, got -1.0"):
        net.add_poisson_input(P, "I_syn_ex", 1, [1.0, -1.0, 2.0, 3.0], 1.0)
    with pytest.raises(ValueError, match="got nan"):
        net.add_poisson_input(P, "I_syn_ex", 1, float("nan"), 1.0)
    with pytest.raises(ValueError, match=r"length target.n = 4 \(Hz\), got shape \(3,\)"):
        net.add_poisson_input(P, "I_syn_ex", 1, [1.0, 2.0, 3.0], 1.0)
    with pytest.raises(TypeError, match="must be real numbers"):
        net.add_poisson_input(P, "I_syn_ex", 1, "fast", 1.0)
    with pytest.raises(ValueError, match=r"N \* rate \* dt must be <= 1e\+06, got 2e\+06"):
        net.add_poisson_input(P, "I_syn_ex", 1000, 2e7, 1.0)
    with pytest.raises(ValueError, match="weight of Poisson input .* must be finite"):
        net.add_poisson_input(P, "I_syn_ex", 1, 10.0, float("inf"))
    with pytest.raises(TypeError, match="weight of Poisson input .* must be a real"):
        net.add_poisson_input(P, "I_syn_ex", 1, 10.0, "heavy")
    inp = net.add_poisson_input(P, "I_syn_ex", 1, 10.0, 1.0)
    with pytest.raises(ValueError, match="name 'P_poisson_I_syn_ex' is already used"):
        net.add_poisson_input(P, "I_syn_ex", 1, 10.0, 1.0)
    with pytest.raises(ValueError, match="name 'P' is already used"):
        net.add_poisson_input(P, "I_syn_in", 1, 10.0, 1.0, name="P")
    with pytest.raises(ValueError, match="must be finite and >= 0 Hz"):
        inp.rate = -3.0
    assert np.all(inp.rate == 10.0)      # a refused change leaves the rate
    with pytest.raises(ValueError, match="must be finite"):
        inp.weight = float("nan")
    assert inp.weight == 1.0
    other = Network(dt=DT, seed=1)
    other.add_population("P", 4, LIF())
    other.add_poisson("S", 3, 10.0)
    with pytest.raises(ValueError, match="Poisson inputs"):
        other.restore(net.store())


def test_engine_poisson_counts_validates():
    with pytest.raises(ValueError, match="lam must be finite and >= 0, got -1.0"):
        engine.poisson_counts(1, 0, 3, [0.5, -1.0])
    with pytest.raises(ValueError, match="n_steps must be >= 0"):
        engine.poisson_counts(1, 0, -3, [0.5])
