"""Recording rule variables (issue 18 item 1): ``Projection.record`` of the weights
and of a rule's variables in plasticity.pynn, back as arrays, Neo blocks and in the
run file; ``Network.monitor_rule`` under it. Values are checked against independent
computations: Tsodyks-Markram's u and x against the recursion between spikes, STDP
traces against sums of exponentials over the spike times."""
import math

import numpy as np
import pytest

pytest.importorskip("pyNN")
pytest.importorskip("neo")
pytest.importorskip("h5py")

import plasticity.pynn as sim  # noqa: E402
from plasticity import Network, SynapseMatrix  # noqa: E402
from plasticity.neurons import LIFCond  # noqa: E402
from plasticity.results import load, verify  # noqa: E402
from plasticity.rules import STDP, Additive, Pair  # noqa: E402
from plasticity.rules.library import tsodyks_markram_1997  # noqa: E402

DT = 0.1
TRAINS = [[5.0, 9.0, 15.0, 16.0, 40.0], [10.0, 30.0, 30.5, 31.0], [2.0]]


@pytest.fixture(autouse=True)
def _fresh():
    sim.setup(timestep=DT)
    yield
    sim.end()


def tm_reference(spike_steps, n_samples, every, U, tau_rec, tau_facil):
    """u, x at the start of steps 0, every, 2 every, ... of one synapse whose spikes
    take effect (on_pre) at ``spike_steps``: between events u decays to 0 with
    tau_facil, x recovers to 1 with tau_rec; at an event u += U (1 - u), then
    x -= u x (Tsodyks, Pawelzik & Markram 1998)."""
    events = sorted(spike_steps)
    out_u, out_x = [], []
    for k in range(n_samples):
        step = k * every
        u, x, last = 0.0, 1.0, 0
        for a in events:
            if a >= step:
                break
            u *= math.exp(-(a - last) * DT / tau_facil)
            x = 1.0 + (x - 1.0) * math.exp(-(a - last) * DT / tau_rec)
            u += U * (1.0 - u)
            x -= u * x
            last = a
        out_u.append(u * math.exp(-(step - last) * DT / tau_facil))
        out_x.append(1.0 + (x - 1.0) * math.exp(-(step - last) * DT / tau_rec))
    return np.array(out_u), np.array(out_x)


def _tm_net(delay=1.0):
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=TRAINS), label="src")
    cell = sim.Population(2, sim.IF_cond_exp(), label="cells")
    syn = sim.TsodyksMarkramSynapse(weight=0.01, delay=delay, U=0.3, tau_rec=80.0,
                                    tau_facil=40.0)
    return sim.Projection(src, cell, sim.AllToAllConnector(), syn,
                          receptor_type="excitatory", label="tm")


@pytest.mark.parametrize("delay,interval", [(1.0, 0.1), (2.5, 0.5)])
def test_tsodyks_markram_u_x_equal_the_recursion(delay, interval):
    prj = _tm_net(delay)
    assert prj.recordable() == ["weight", "u", "x"]
    prj.record(["u", "x"], interval)
    sim.run(50.0)
    t, u = prj.get_history("u")
    _, x = prj.get_history("x")
    every = int(round(interval / DT))
    assert t.size == 50.0 / interval + 1
    np.testing.assert_allclose(t, np.arange(t.size) * interval)
    pre = np.array(prj.get("weight", format="list", with_address=True))[:, 0]
    assert u.shape == x.shape == (t.size, 6)
    D = int(round(delay / DT))
    for c, i in enumerate(pre.astype(int)):
        # a spike emitted at step e is delivered (its on_pre runs) at step e + D - 1
        events = [int(round(s / DT)) + D - 1 for s in TRAINS[i]]
        ru, rx = tm_reference(events, t.size, every, 0.3, 80.0, 40.0)
        np.testing.assert_allclose(u[:, c], ru, rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(x[:, c], rx, rtol=1e-10, atol=1e-13)
    assert u.max() > 0.3 and x.min() < 0.6         # both moved


def test_stdp_traces_equal_sums_of_exponentials():
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=TRAINS[:2]))
    post = sim.Population(1, sim.SpikeSourceArray(spike_times=[12.0, 20.0, 33.0]))
    cell = sim.Population(1, sim.IF_curr_exp(tau_refrac=1.0))
    sim.Projection(post, cell, sim.AllToAllConnector(), sim.StaticSynapse(weight=8.0,
                                                                          delay=0.1))
    cell.record("spikes")
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=15.0, tau_minus=25.0, A_plus=0.01,
                                            A_minus=0.01),
        weight_dependence=sim.AdditiveWeightDependence(w_max=1.0), weight=0.1, delay=1.0,
        dendritic_delay_fraction=0)
    prj = sim.Projection(src, cell, sim.AllToAllConnector(), stdp)
    assert prj.recordable() == ["weight", "o1", "r1"]
    prj.record("all", 0.2)
    sim.run(50.0)
    t, r1 = prj.get_history("r1")
    _, o1 = prj.get_history("o1")
    _, w = prj.get_history("weight")
    k = np.round(t / DT).astype(int)
    post_steps = np.round(cell.get_data().segments[0].spiketrains[0].magnitude / DT)
    assert 3 <= post_steps.size <= 6

    def trace(events, tau):
        lag = k[:, None] - np.asarray(events, dtype=float)[None, :]
        return np.where(lag > 0, np.exp(-lag * DT / tau), 0.0).sum(axis=1)

    for c in range(2):
        events = [int(round(s / DT)) + 10 - 1 for s in TRAINS[c]]
        np.testing.assert_allclose(r1[:, c], trace(events, 15.0), rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(o1[:, c], trace(post_steps, 25.0), rtol=1e-10,
                                   atol=1e-14)
    assert w[0, 0] == 0.1 and not np.allclose(w[-1], 0.1)
    np.testing.assert_allclose(w[-1], prj.get("weight", format="list",
                                              with_address=False))


def test_neo_block_and_run_file(tmp_path):
    prj = _tm_net()
    prj.record(["weight", "x"], 1.0)
    prj.record("u", 0.5)                  # adds u; the last interval holds for all
    sim.run(20.0)
    block = prj.get_data()
    sigs = {s.name: s for s in block.segments[0].analogsignals}
    assert set(sigs) == {"weight", "u", "x"}
    t, x = prj.get_history("x")
    assert sigs["x"].shape == (41, 6) and t.size == 41
    np.testing.assert_allclose(sigs["x"].magnitude, x)
    np.testing.assert_allclose(sigs["x"].times.rescale("ms").magnitude, t)
    assert str(sigs["weight"].units.dimensionality) == "uS"
    pre, post = prj._arrays()
    np.testing.assert_array_equal(sigs["u"].array_annotations["presynaptic_index"], pre)
    np.testing.assert_array_equal(sigs["u"].array_annotations["postsynaptic_index"], post)
    _, u = prj.get_history("u")
    path = str(tmp_path / "tm.h5")
    sim.end(run_file=path)
    assert verify(path) == []
    run = load(path)
    assert run.projections["tm"]["rule_variables"] == ["u", "x"]
    times, values, where = run.rule_state("tm")
    np.testing.assert_allclose(times, t)
    order = np.lexsort((post, pre))             # the CSR order of the stored weights
    np.testing.assert_allclose(values["u"], u[:, order])
    np.testing.assert_allclose(values["x"], x[:, order])
    assert where == {"u": "syn", "x": "syn"}
    assert run.weight_times("tm").size == 41


def test_reset_keeps_the_recordings_as_segments():
    """reset() starts a new segment of the projection's recordings, as it does for a
    population's: the runs before it stay in get_data (they were dropped), numbered
    as the population's segments; the same run twice gives the same values; clear
    forgets them all."""
    prj = _tm_net()
    cell = prj.post
    cell.record("v")
    prj.record(["weight", "u"], 1.0)
    sim.run(20.0)
    first_u = prj.get_history("u")[1].copy()
    sim.reset()
    sim.run(20.0)
    t, u = prj.get_history("u")                 # the current segment's only
    np.testing.assert_array_equal(u, first_u)
    assert t.size == 21 and t[0] == 0.0
    block = prj.get_data()
    names = [s.name for s in block.segments]
    assert names == [s.name for s in cell.get_data().segments] == ["segment000",
                                                                   "segment001"]
    a, b = ({g.name: g for g in seg.analogsignals} for seg in block.segments)
    assert set(a) == set(b) == {"weight", "u"}
    np.testing.assert_array_equal(a["u"].magnitude, b["u"].magnitude)
    np.testing.assert_array_equal(a["u"].magnitude, first_u)
    sim.reset()                                 # nothing recorded in between: no gap
    sim.run(5.0)
    assert len(prj.get_data().segments) == 3
    prj.get_data(clear=True)
    block = prj.get_data()
    assert all(not seg.analogsignals for seg in block.segments)
    with pytest.raises(ValueError, match=r"variables must be among .*got \['y'\]"):
        prj.get_data("y")


@pytest.mark.parametrize("connector", [sim.FromListConnector([]),
                                       sim.FixedProbabilityConnector(0.0)])
def test_a_projection_without_connections(connector):
    """No connection made: recordable(), get(), record() and get_data() work as for
    one with connections (recordable() raised KeyError: the rule was built from the
    connections' parameters, of which there were none)."""
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=TRAINS))
    cell = sim.Population(2, sim.IF_cond_exp())
    syn = sim.TsodyksMarkramSynapse(weight=0.01, delay=1.0, U=0.3, tau_rec=80.0,
                                    tau_facil=40.0)
    prj = sim.Projection(src, cell, connector, syn)
    assert len(prj) == 0 and prj.recordable() == ["weight", "u", "x"]
    assert prj.get("weight", format="list") == []
    assert np.isnan(prj.get("weight", format="array")).all()
    prj.record("all", 1.0)
    sim.run(5.0)
    t, u = prj.get_history("u")
    assert u.shape == (t.size, 0)
    sim.reset()
    sim.run(2.0)
    assert [s.name for s in prj.get_data().segments] == ["segment000", "segment001"]


def test_record_rejects_unknown_variables_and_bad_intervals():
    prj = _tm_net()
    with pytest.raises(ValueError, match=r"variables must be among \['weight', 'u', "
                       r"'x'\] for a projection with TsodyksMarkramSynapse, got \['y'\]"):
        prj.record("y")
    with pytest.raises(ValueError, match="sampling_interval must be a positive multiple"):
        prj.record("u", 0.25)
    static = sim.Projection(prj.pre, prj.post, sim.OneToOneConnector(),
                            sim.StaticSynapse(weight=0.01))
    assert static.recordable() == ["weight"]
    with pytest.raises(ValueError, match="got \\['u'\\]"):
        static.record("u")


def test_record_none_stops_and_record_weights_keeps_the_rest():
    prj = _tm_net()
    prj.record(["u", "weight"], 1.0)
    prj.record_weights(None)
    assert prj._rec_vars == ["u"] and prj._rec_interval == 1.0
    sim.run(5.0)
    assert prj.get_history("u")[0].size == 6
    assert prj.get_history("weight")[0].size == 0
    prj.record(None)
    sim.run(5.0)
    assert prj.get_history("u")[0].size == 6


# ------------------------------------------------------------- the core API
def test_network_monitor_rule_samples_decayed_values():
    net = Network(dt=DT, seed=1)
    inp = net.add_spike_generator("in", 2, [1.0, 3.0, 3.0], [0, 0, 1])
    out = net.add_population("out", 2, LIFCond())
    rule = tsodyks_markram_1997(U=0.4, tau_d=50.0, tau_f=20.0)
    proj = net.connect(inp, out, SynapseMatrix.from_dense(np.full((2, 2), 0.1)), "g_e",
                       rule=rule)
    stdp_proj = net.connect(inp, out, SynapseMatrix.from_dense(np.full((2, 2), 0.1)),
                            "g_i", rule=STDP(Pair(tau_plus=10.0), Additive(w_max=1.0)),
                            name="stdp")
    with pytest.raises(ValueError, match=r"must be among \['u', 'w', 'x'\]"):
        net.monitor_rule(proj, ["y"], 1.0)
    with pytest.raises(ValueError, match="interval must be a multiple of dt"):
        net.monitor_rule(proj, "u", 0.25)
    m = net.monitor_rule(proj, ["u", "x"], 0.5)
    ms = net.monitor_rule(stdp_proj, ["r1", "o1", "w"], 0.5)
    assert m.where == {"u": "pre", "x": "pre"}
    assert ms.where == {"r1": "pre", "o1": "post", "w": "syn"}
    net.run(10.0, progress=False)
    assert m.times.size == 21 and m.values["u"].shape == (21, 2)
    # the last sample is the value now, as rule[...] gives it
    np.testing.assert_array_equal(m.values["u"][-1], rule["u"])
    # r1 of input 0: spikes at steps 10 and 30 (delay 0: on_pre in their step)
    k = np.round(ms.times / DT)
    lag = k[:, None] - np.array([10.0, 30.0])[None, :]
    expect = np.where(lag > 0, np.exp(-lag * DT / 10.0), 0.0).sum(axis=1)
    np.testing.assert_allclose(ms.values["r1"][:, 0], expect, rtol=1e-12)
    np.testing.assert_array_equal(ms.values["w"][-1], stdp_proj.synapses.weights)


@pytest.mark.parametrize("threads", [1, 3])
def test_recording_does_not_change_the_run(threads):
    """Sampling cuts the run into segments: the same spikes and weights, bit for bit,
    with and without a RuleMonitor (and with a rule-language rule's state)."""
    def run(record):
        net = Network(dt=DT, seed=4, threads=threads)
        inp = net.add_poisson("in", 40, 30.0)
        out = net.add_population("out", 5, LIFCond())
        rng = np.random.default_rng(0)
        a = net.connect(inp, out, SynapseMatrix.from_dense(rng.uniform(0, 0.3, (40, 5))),
                        "g_e", rule=STDP(Pair(), Additive(w_max=0.3)), name="stdp")
        b = net.connect(inp, out, SynapseMatrix.from_dense(rng.uniform(0, 0.1, (40, 5))),
                        "g_e", rule=tsodyks_markram_1997(U=0.2, tau_d=100.0, tau_f=50.0,
                                                         receptor="g_e"), name="tm")
        mon = net.monitor_spikes(out)
        if record:
            net.monitor_rule(a, ["r1", "o1", "w"], 0.7)
            net.monitor_rule(b, ["u", "x"], 1.3)
        net.run(300.0, progress=False)
        return mon.times, mon.ids, a.synapses.weights.copy(), b.rule["x"]

    ref, got = run(False), run(True)
    assert ref[0].size > 20
    for x, y in zip(ref, got):
        assert np.asarray(x).tobytes() == np.asarray(y).tobytes()
