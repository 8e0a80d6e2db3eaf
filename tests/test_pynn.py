"""plasticity.pynn, the PyNN 0.13 backend (skipped when PyNN is not installed)."""
import math

import numpy as np
import pytest

pytest.importorskip("pyNN")
pytest.importorskip("neo")

import plasticity.pynn as sim  # noqa: E402
from plasticity.pynn.standardmodels import native_model, native_rule  # noqa: E402
from plasticity import Network, SynapseMatrix  # noqa: E402
from plasticity.neurons import LIF  # noqa: E402
from plasticity.rules import STDP, Additive, Pair  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh():
    sim.setup(timestep=0.1)
    yield
    sim.end()


# ------------------------------------------------------- parameter translation
IF_CURR = dict(v_rest=-61.0, cm=0.3, tau_m=12.0, tau_refrac=2.5, tau_syn_E=3.0,
               tau_syn_I=7.0, i_offset=0.0, v_reset=-66.0, v_thresh=-48.0)
IF_COND = dict(IF_CURR, e_rev_E=5.0, e_rev_I=-75.0)


@pytest.mark.parametrize("pynn_name, ours, factor", [
    ("v_rest", "E_L", 1.0), ("cm", "C_m", 1000.0), ("tau_m", "tau_m", 1.0),
    ("tau_syn_E", "tau_syn_ex", 1.0),
    ("tau_syn_I", "tau_syn_in", 1.0), ("v_reset", "V_reset", 1.0),
    ("v_thresh", "V_th", 1.0)])
def test_if_curr_exp_parameter(pynn_name, ours, factor):
    info = native_model("IF_curr_exp", IF_CURR, 0.1)
    assert info.model.parameters()[ours] == pytest.approx(IF_CURR[pynn_name] * factor)


@pytest.mark.parametrize("pynn_name, ours", [
    ("v_rest", "E_L"), ("tau_m", "tau_m"),
    ("tau_syn_E", "tau_e"), ("tau_syn_I", "tau_i"), ("v_reset", "V_reset"),
    ("v_thresh", "V_th"), ("e_rev_E", "E_e"), ("e_rev_I", "E_i")])
def test_if_cond_exp_parameter(pynn_name, ours):
    info = native_model("IF_cond_exp", IF_COND, 0.1)
    assert info.model.parameters()[ours] == pytest.approx(IF_COND[pynn_name])


HH = dict(gbar_Na=21.0, gbar_K=5.5, g_leak=0.012, cm=0.25, v_offset=-62.0,
          e_rev_Na=51.0, e_rev_K=-91.0, e_rev_leak=-64.0, e_rev_E=1.0, e_rev_I=-79.0,
          tau_syn_E=0.3, tau_syn_I=2.5, i_offset=0.0)


@pytest.mark.parametrize("pynn_name, ours, factor", [
    ("gbar_Na", "g_Na", 1000.0), ("gbar_K", "g_K", 1000.0), ("g_leak", "g_L", 1000.0),
    ("cm", "C_m", 1000.0), ("v_offset", "V_T", 1.0), ("e_rev_Na", "E_Na", 1.0),
    ("e_rev_K", "E_K", 1.0), ("e_rev_leak", "E_L", 1.0), ("e_rev_E", "E_ex", 1.0),
    ("e_rev_I", "E_in", 1.0), ("tau_syn_E", "tau_syn_ex", 1.0),
    ("tau_syn_I", "tau_syn_in", 1.0)])
def test_hh_cond_exp_parameter(pynn_name, ours, factor):
    info = native_model("HH_cond_exp", HH, 0.1)
    assert info.model.parameters()[ours] == pytest.approx(HH[pynn_name] * factor)
    # each parameter on its own: changing it changes only its counterpart
    other = native_model("HH_cond_exp", dict(HH, **{pynn_name: HH[pynn_name] * 0.9}), 0.1)
    diff = {k for k, v in other.model.parameters().items()
            if v != info.model.parameters()[k]}
    assert diff == {ours}


def test_hh_cond_exp_units_state_and_nest_refractory_period():
    info = native_model("HH_cond_exp", HH, 0.1)
    assert info.model.parameters()["t_ref"] == 2.0          # NEST's default
    assert info.current_scale == 1000.0                      # nA -> pA
    assert info.receptors == {"excitatory": ("g_ex", 1000.0),
                              "inhibitory": ("g_in", 1000.0)}   # uS -> nS
    assert info.state["gsyn_inh"] == ("g_in", 1000.0)
    assert {k: info.state[k] for k in "mhn"} == {k: (k, 1.0) for k in "mhn"}
    assert set(info.recordable) == {"v", "gsyn_exc", "gsyn_inh"}


def test_hh_cond_exp_runs_with_pynn_initial_values_and_units():
    cells = sim.Population(2, sim.HH_cond_exp(i_offset=[0.0, 1.0]))
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    sim.Projection(src, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.02, delay=1.0), receptor_type="excitatory")
    cells.initialize(v=-64.0)
    cells.record(["v", "gsyn_exc", "spikes"])
    sim.run(50.0)
    seg = cells.get_data().segments[0]
    g = {s.name: s for s in seg.analogsignals}
    v = g["v"].magnitude
    assert v[0, 0] == -64.0 and v[0, 1] == -64.0
    ge = g["gsyn_exc"].magnitude[:, 0]
    k = int(np.argmax(ge > 0))
    assert g["gsyn_exc"].times.magnitude[k] == pytest.approx(6.0)
    assert ge[k] == pytest.approx(0.02)                      # uS, as given
    assert ge[k + 3] == pytest.approx(0.02 * math.exp(-0.3 / 0.2))
    counts = cells.get_spike_counts()
    # 1 nA depolarises the second cell into regular firing; the first stays quiet
    # after the single input
    assert counts[cells[1]] > 5 and counts[cells[0]] <= 1


def test_units_of_currents_weights_and_conductances():
    # IF_curr_exp: nA -> pA for i_offset, injected currents and weights
    info = native_model("IF_curr_exp", IF_CURR, 0.1)
    assert info.current_scale == 1000.0
    assert info.receptors == {"excitatory": ("I_syn_ex", 1000.0),
                              "inhibitory": ("I_syn_in", 1000.0)}
    # IF_cond_exp: uS relative to g_L = cm / tau_m; nA -> R I in mV
    info = native_model("IF_cond_exp", IF_COND, 0.1)
    R = IF_COND["tau_m"] / IF_COND["cm"]
    assert info.current_scale == pytest.approx(R)
    assert info.receptors["excitatory"] == ("g_e", pytest.approx(R))
    assert info.receptors["inhibitory"] == ("g_i", pytest.approx(R))
    assert info.state["gsyn_exc"] == ("g_e", pytest.approx(R))
    # Izhikevich: NEST's units: i_offset (nA -> pA) enters dv/dt as is; weights are
    # jumps of v (nA -> pA -> mV)
    p = dict(a=0.03, b=0.25, c=-60.0, d=4.0, i_offset=0.0)
    info = native_model("Izhikevich", p, 0.1)
    for k in "abcd":
        assert info.model.parameters()[k] == p[k]
    assert info.current_scale == 1000.0 and info.receptors["excitatory"] == ("v", 1000.0)


def test_i_offset_is_injected_in_model_units():
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=[0.0, 0.1], tau_refrac=0.1,
                                              v_thresh=0.0))
    cells.record("v")
    sim.run(200.0)
    v = cells.get_data().segments[0].analogsignals[0].magnitude
    # v_inf = v_rest + i_offset tau_m / cm (nA ms / nF = mV)
    assert v[-1, 0] == pytest.approx(-65.0)
    assert v[-1, 1] == pytest.approx(-65.0 + 0.1 * 20.0 / 1.0, abs=1e-3)


def test_dc_source_matches_the_exact_solution():
    cells = sim.Population(1, sim.IF_curr_exp(v_thresh=100.0))
    dc = sim.DCSource(amplitude=0.5, start=10.0, stop=60.0)
    cells.inject(dc)
    cells.record("v")
    sim.run(100.0)
    sig = cells.get_data().segments[0].analogsignals[0]
    t = sig.times.magnitude
    v = sig.magnitude[:, 0]
    assert v.size == 1001  # 0 .. t_stop inclusive, as PyNN's other backends
    on = (t > 10.0) & (t <= 60.0)
    expect = -65.0 + 0.5 * 20.0 * (1 - np.exp(-(t[on] - 10.0) / 20.0))
    np.testing.assert_allclose(v[on], expect, rtol=1e-9, atol=1e-9)
    assert np.all(v[t <= 10.0] == -65.0)


def test_step_ac_and_noisy_sources_run():
    cells = sim.Population(3, sim.IF_curr_exp(v_thresh=100.0))
    cells[0:1].inject(sim.StepCurrentSource(times=[5.0, 15.0], amplitudes=[0.4, 0.0]))
    cells[1:2].inject(sim.ACSource(amplitude=0.3, frequency=50.0, start=5.0, stop=40.0))
    cells[2:3].inject(sim.NoisyCurrentSource(mean=0.2, stdev=0.1, dt=1.0, start=5.0))
    cells.record("v")
    sim.run(50.0)
    v = cells.get_data().segments[0].analogsignals[0].magnitude
    assert np.all(v[:51] == -65.0)  # nothing before 5 ms
    assert v[150, 0] > -65.0 and v[-1, 0] < v[150, 0]  # step on, then off
    assert np.ptp(v[60:400, 1]) > 0.1
    assert v[-1, 2] > -65.0


# ------------------------------------------------------------- populations
def test_heterogeneous_parameters_get_set_and_run():
    rng = sim.NumpyRNG(seed=3)
    p = sim.Population(6, sim.IF_cond_exp(tau_m=sim.RandomDistribution(
        "uniform", low=10.0, high=20.0, rng=rng), i_offset=1.0))
    tm = p.get("tau_m")
    assert len(np.unique(tm)) == 6
    p[0:2].set(v_thresh=-55.0)
    assert list(p.get("v_thresh")[:3]) == [-55.0, -55.0, -50.0]
    p.record("spikes")
    sim.run(100.0)
    counts = p.get_spike_counts()
    assert sum(counts.values()) > 0
    # six engine groups, one per parameter set
    assert len(p._groups) == 6


def test_gsyn_recording_and_write_data(tmp_path):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    cell = sim.Population(1, sim.IF_cond_exp(tau_syn_E=5.0))
    sim.Projection(src, cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.01, delay=1.0), receptor_type="excitatory")
    cell.record(["v", "gsyn_exc", "gsyn_inh"])
    sim.run(30.0)
    seg = cell.get_data().segments[0]
    g = {s.name: s for s in seg.analogsignals}
    t = g["gsyn_exc"].times.magnitude
    ge = g["gsyn_exc"].magnitude[:, 0]
    # the spike at 5 ms arrives after the 1 ms delay: g jumps by the weight (uS)
    k = int(np.argmax(ge > 0))
    assert t[k] == pytest.approx(6.0) and ge[k] == pytest.approx(0.01)
    assert ge[k + 10] == pytest.approx(0.01 * math.exp(-1.0 / 5.0))
    assert str(g["gsyn_exc"].units.dimensionality) == "uS"
    assert np.all(g["gsyn_inh"].magnitude == 0)
    path = tmp_path / "cell.pkl"
    cell.write_data(str(path))
    assert path.stat().st_size > 0


# ------------------------------------------------------------ projections
def test_weights_and_delays_get_set_list_array():
    a = sim.Population(3, sim.SpikeSourcePoisson(rate=10.0))
    b = sim.Population(2, sim.IF_curr_exp())
    prj = sim.Projection(a, b, sim.AllToAllConnector(),
                         sim.StaticSynapse(weight=0.2, delay=1.5))
    assert prj.get("weight", format="array").shape == (3, 2)
    prj.set(weight=np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]))
    w = prj.get("weight", format="array")
    np.testing.assert_allclose(w, [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    prj.set(delay=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    lst = prj.get(["weight", "delay"], format="list")
    assert len(lst) == 6 and all(len(x) == 4 for x in lst)
    sim.run(10.0)
    np.testing.assert_allclose(prj.get("weight", format="array"), w)


def _pair_network(pynn, w0=0.4, A_plus=0.01, A_minus=0.012, w_max=1.0, fraction=0.0):
    """A spike source array driving 3 IF_curr_exp neurons through additive STDP with
    heterogeneous delays, ``fraction`` of each dendritic; (spikes per neuron, final
    weights). Our API: fraction 0 is one projection with per-synapse delays; else
    one projection per delay value (ascending, as plasticity.pynn splits them), the
    rule seeing the post spikes 2 fraction delay late."""
    rng = np.random.default_rng(7)
    times = [np.sort(rng.choice(np.arange(1, 3000), 60, replace=False) * 0.1)
             for _ in range(20)]
    delays = 0.1 * rng.integers(1, 30, size=(20, 3))
    if pynn:
        src = sim.Population(20, sim.SpikeSourceArray(spike_times=times))
        out = sim.Population(3, sim.IF_curr_exp(tau_refrac=2.0, v_thresh=-60.0))
        stdp = sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                                A_plus=A_plus, A_minus=A_minus),
            weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=w_max),
            weight=w0, delay=1.0, dendritic_delay_fraction=fraction)
        prj = sim.Projection(src, out, sim.AllToAllConnector(), stdp,
                             receptor_type="excitatory")
        prj.set(delay=delays)
        out.record("spikes")
        sim.run(400.0)
        trains = out.get_data().segments[0].spiketrains
        spikes = [np.asarray(st.magnitude) for st in trains]
        return spikes, prj.get("weight", format="array")
    net = Network(dt=0.1)
    t = np.concatenate(times)
    i = np.concatenate([np.full(len(x), k) for k, x in enumerate(times)])
    src = net.add_spike_generator("src", 20, t, i)
    # PyNN's tau_refrac = 2 ms holds v 20 steps after the spike's, as NEST: our t_ref
    # counts as Brian2, 21 steps (plasticity.pynn.standardmodels.native_t_ref)
    out = net.add_population("out", 3, LIF(tau_m=20.0, C_m=1000.0, E_L=-65.0,
                                           V_th=-60.0, V_reset=-65.0, t_ref=2.1,
                                           tau_syn_ex=5.0, tau_syn_in=5.0))
    out["v"] = -65.0
    steps = np.round(delays / 0.1).astype(np.int64) - 1  # PyNN's delay d: d/dt - 1 steps

    def rule(post_delay):
        return STDP(Pair(tau_plus=20.0, tau_minus=20.0, a_plus=A_plus * w_max * 1000.0,
                         a_minus=A_minus * w_max * 1000.0),
                    Additive(w_min=0.0, w_max=w_max * 1000.0), post_delay=post_delay)

    parts = [steps >= 0] if fraction == 0 else [steps == n for n in np.unique(steps)]
    projs = []
    for part in parts:
        syn = SynapseMatrix.from_dense(np.full((20, 3), w0 * 1000.0), mask=part,
                                       delay=steps[part], dtype=np.float64)
        pd = 2 * fraction * (steps[part][0] + 1) * 0.1 if fraction else 0.0
        projs.append((part, net.connect(src, out, syn, "I_syn_ex", rule=rule(pd),
                                        name=f"p{len(projs)}")))
    mon = net.monitor_spikes(out)
    net.run(400.0)
    spikes = [mon.times[mon.ids == k] for k in range(3)]
    w = np.zeros((20, 3))
    for part, proj in projs:
        w[part] = proj.synapses.to_dense()[part] / 1000.0
    return spikes, w


@pytest.mark.parametrize("fraction", [0.0, 1.0, 0.5])
def test_same_network_in_pynn_and_our_api_gives_identical_spikes(fraction):
    ours, w_ours = _pair_network(pynn=False, fraction=fraction)
    sim.setup(timestep=0.1)
    theirs, w_theirs = _pair_network(pynn=True, fraction=fraction)
    assert sum(len(s) for s in ours) > 5
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(w_theirs, w_ours, rtol=1e-12)
    assert not np.allclose(w_theirs, 0.4)  # the weights did change


def test_poisson_network_identical_to_our_api():
    def ours():
        net = Network(dt=0.1, seed=11)
        src = net.add_poisson("p0", 50, rates=20.0)
        out = net.add_population("p1", 2, native_model("IF_cond_exp", dict(
            sim.IF_cond_exp.default_parameters), 0.1).model)
        net.connect(src, out, SynapseMatrix.all_to_all(50, 2, weight=0.02 * 20.0 / 1.0,
                                                       dtype=np.float64), "g_e")
        m = net.monitor_spikes(out)
        net.run(500.0)
        return m.times, m.ids
    t0, i0 = ours()
    sim.setup(timestep=0.1, seed=11)
    src = sim.Population(50, sim.SpikeSourcePoisson(rate=20.0))
    out = sim.Population(2, sim.IF_cond_exp())
    sim.Projection(src, out, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.02, delay=0.1))
    out.record("spikes")
    sim.run(500.0)
    st = out.get_data().segments[0].spiketrains
    assert len(t0) > 0
    for k in range(2):
        np.testing.assert_array_equal(np.asarray(st[k].magnitude), t0[i0 == k])


@pytest.mark.parametrize("wd, check", [
    ("additive", lambda r: (r.timing.a_plus, r.timing.a_minus) == pytest.approx((0.02, 0.04))),
    ("multiplicative", lambda r: (r.timing.a_plus, r.timing.a_minus) ==
     pytest.approx((0.01 * 1.5, 0.02 * 1.5))),
    ("gutig", lambda r: r.weight.mu_plus == 0.3 and r.weight.mu_minus == 0.7),
])
def test_weight_dependences_map_to_our_stdp(wd, check):
    td = sim.SpikePairRule(A_plus=0.01, A_minus=0.02)
    w = {"additive": sim.AdditiveWeightDependence(w_min=0.0, w_max=2.0),
         "multiplicative": sim.MultiplicativeWeightDependence(w_min=0.5, w_max=2.0),
         "gutig": sim.GutigWeightDependence(w_min=0.0, w_max=2.0, mu_plus=0.3,
                                            mu_minus=0.7)}[wd]
    stdp = sim.STDPMechanism(timing_dependence=td, weight_dependence=w)
    params = {}
    for ps in (td.parameter_space, w.parameter_space):
        ps.shape = (1,)
        ps.evaluate()
        params.update(ps.as_dict())
    rule = native_rule(stdp, {k: float(np.ravel(v)[0]) for k, v in params.items()}, 1.0,
                       "I_syn_ex")
    assert check(rule)


def _single_pair(wd, w0, t_pre, t_post, fraction=1.0):
    """One pre spike and one forced post spike; the final weight."""
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[t_pre]))
    kick = sim.Population(1, sim.SpikeSourceArray(spike_times=[t_post - 0.1]))
    post = sim.Population(1, sim.IF_curr_exp(v_thresh=-64.5, tau_refrac=5.0,
                                             tau_syn_E=0.1, v_reset=-70.0))
    sim.Projection(kick, post, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=30.0, delay=0.1))
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                            A_plus=0.1, A_minus=0.1),
        weight_dependence=wd, weight=w0, delay=0.1, dendritic_delay_fraction=fraction)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp)
    post.record("spikes")
    sim.run(60.0)
    spikes = post.get_data().segments[0].spiketrains[0].magnitude
    np.testing.assert_allclose(spikes, [t_post])
    return float(prj.get("weight", format="array")[0, 0])


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_additive_potentiation_multiplicative_depression_via_the_rule_language(fraction):
    wd = sim.AdditivePotentiationMultiplicativeDepression(w_min=0.0, w_max=1.0)
    # post before pre: depression. The synapse pairs t_post + dt (NEST's stamp of
    # our spike) with the arrival t_pre + d (fraction 0), or, with the dendritic
    # fraction f, t_post + dt + f d with t_pre + (1 - f) d: 2 f d closer here
    w = _single_pair(wd, 0.5, t_pre=30.0, t_post=20.0, fraction=fraction)
    lag = 10.0 - 2 * fraction * 0.1
    assert w == pytest.approx(0.5 - 0.1 * 0.5 * math.exp(-lag / 20.0), rel=1e-9)


def test_tsodyks_markram_depresses_and_vogels_runs():
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0, 20.0, 30.0, 40.0]))
    cell = sim.Population(1, sim.IF_curr_exp(v_thresh=100.0, tau_syn_E=2.0))
    sim.Projection(src, cell, sim.AllToAllConnector(),
                   sim.TsodyksMarkramSynapse(U=0.5, tau_rec=800.0, tau_facil=0.0,
                                             weight=1.0, delay=0.1))
    cell.record("v")
    sim.run(50.0)
    v = cell.get_data().segments[0].analogsignals[0].magnitude[:, 0]
    peaks = [v[int(t * 10) + 5] - v[int(t * 10)] for t in (10, 20, 30, 40)]
    assert peaks[0] > peaks[1] > peaks[2] > peaks[3] > 0
    sim.setup()
    exc = sim.Population(20, sim.SpikeSourcePoisson(rate=20.0))
    inh = sim.Population(5, sim.SpikeSourcePoisson(rate=10.0))
    cell = sim.Population(1, sim.IF_cond_exp())
    sim.Projection(exc, cell, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01))
    vog = sim.STDPMechanism(timing_dependence=sim.Vogels2011Rule(eta=1e-3, rho=10.0),
                            weight_dependence=sim.AdditiveWeightDependence(w_max=0.1),
                            weight=0.005, delay=0.1)
    prj = sim.Projection(inh, cell, sim.AllToAllConnector(), vog,
                         receptor_type="inhibitory")
    sim.run(500.0)
    w = prj.get("weight", format="array")
    assert not np.allclose(w, 0.005)


def test_reset_repeats_the_run():
    src = sim.Population(5, sim.SpikeSourceArray(spike_times=[[2.0, 9.0]] * 5))
    cell = sim.Population(1, sim.IF_curr_exp(v_thresh=-64.0))
    sim.Projection(src, cell, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5))
    cell.record(["spikes", "v"])
    sim.run(20.0)
    sim.reset()
    sim.run(20.0)
    segs = cell.get_data().segments
    assert len(segs) == 2
    a, b = (np.asarray(s.spiketrains[0].magnitude) for s in segs)
    assert a.size > 0
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(segs[0].analogsignals[0].magnitude,
                                  segs[1].analogsignals[0].magnitude)


def test_procedural_api(tmp_path):
    cells = sim.create(sim.IF_curr_exp, {"i_offset": 1.0}, n=2)
    src = sim.create(sim.SpikeSourceArray, {"spike_times": [1.0]}, n=1)
    prj = sim.connect(src, cells, weight=0.5, delay=1.0, p=1.0)
    sim.record("spikes", cells, str(tmp_path / "spikes.pkl"))
    sim.initialize(cells, v=-70.0)
    assert cells.get("i_offset") == 1.0
    sim.run_until(50.0)
    assert sim.get_current_time() == pytest.approx(50.0)
    assert len(prj) == 2 and sim.num_processes() == 1 and sim.rank() == 0


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_additive_potentiation_of_the_mixed_rule(fraction):
    wd = sim.AdditivePotentiationMultiplicativeDepression(w_min=0.0, w_max=1.0)
    w = _single_pair(wd, 0.5, t_pre=10.0, t_post=20.0, fraction=fraction)  # pre, post
    lag = 10.0 + 2 * fraction * 0.1      # the dendritic part: 2 f d apart
    assert w == pytest.approx(0.5 + 0.1 * 1.0 * math.exp(-lag / 20.0), rel=1e-9)


def test_scenario_script_reads_a_path_or_skips(capsys):
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "pynn_scenarios.py")
    spec = importlib.util.spec_from_file_location("pynn_scenarios", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["/nonexistent/pynn-source"]) == 0
    assert "nothing to run" in capsys.readouterr().out
