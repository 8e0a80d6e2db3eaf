"""plasticity.pynn: SpikeSourceGamma, SpikeSourcePoissonRefractory,
SimpleStochasticSynapse and the recording of injected currents."""
import numpy as np
import pytest

pytest.importorskip("pyNN")
sim = pytest.importorskip("plasticity.pynn")
from pyNN.errors import InvalidParameterValueError  # noqa: E402


def source_spikes(celltype, T, seed=3, runs=None, poke=False):
    sim.setup(timestep=0.1, seed=seed)
    pop = sim.Population(3, celltype)
    other = sim.Population(1, sim.IF_curr_exp())
    pop.record("spikes")
    for k, t in enumerate(runs or [T]):
        if poke and k:
            other.set(tau_m=15.0 + k)     # a rebuild of the engine network
        sim.run(t)
    trains = [np.asarray(st.magnitude) for st in pop.get_data().segments[0].spiketrains]
    sim.end()
    return trains


CELLS = {
    "gamma": lambda **kw: sim.SpikeSourceGamma(alpha=[2, 3, 5], beta=[100.0, 60.0, 500.0],
                                               **kw),
    "refractory": lambda **kw: sim.SpikeSourcePoissonRefractory(
        rate=[50.0, 20.0, 120.0], tau_refrac=[0.0, 3.0, 7.5], **kw),
}


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_same_seed_same_spikes_and_rebuilds_continue(kind):
    a = source_spikes(CELLS[kind](), 1000.0)
    b = source_spikes(CELLS[kind](), 1000.0, runs=[300.0, 700.0], poke=True)
    c = source_spikes(CELLS[kind](), 1000.0, seed=4)
    assert sum(t.size for t in a) > 30
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_start_and_duration(kind):
    trains = source_spikes(CELLS[kind](start=200.0, duration=300.0), 1000.0)
    allt = np.concatenate(trains)
    assert allt.size > 10
    assert allt.min() >= 200.0 - 1e-9 and allt.max() < 500.0


def test_refractory_statistics_through_pynn():
    sim.setup(timestep=0.1, seed=1)
    pop = sim.Population(2, sim.SpikeSourcePoissonRefractory(rate=[80.0, 40.0],
                                                             tau_refrac=[4.0, 10.0]))
    pop.record("spikes")
    sim.run(50000.0)
    trains = pop.get_data().segments[0].spiketrains
    sim.end()
    for st, rate, dead in zip(trains, [80.0, 40.0], [4.0, 10.0]):
        isi = np.diff(st.magnitude)
        assert isi.min() >= dead - 1e-9
        n = st.size
        assert abs(n - rate * 50.0) < 4 * np.sqrt(rate * 50.0)


@pytest.mark.parametrize("make,match", [
    (lambda: sim.SpikeSourceGamma(alpha=0.0, beta=10.0), r"alpha .* must be > 0"),
    (lambda: sim.SpikeSourceGamma(alpha=1.0, beta=-5.0), r"beta .* must be >= 0 Hz"),
    (lambda: sim.SpikeSourcePoissonRefractory(rate=300.0, tau_refrac=5.0),
     r"rate.* must be <= 1000 / \(D dt\) = 200 Hz.*got rate 300\.0 Hz with dead_time 5\.0"),
    (lambda: sim.SpikeSourcePoissonRefractory(rate=10.0, tau_refrac=-1.0),
     r"dead_time .* must be >= 0 ms, got -1\.0"),
])
def test_bad_parameters_at_creation(make, match):
    sim.setup(timestep=0.1)
    with pytest.raises(InvalidParameterValueError, match=match):
        sim.Population(2, make())
    pop = sim.Population(2, sim.SpikeSourceGamma(alpha=2.0, beta=10.0))
    with pytest.raises(InvalidParameterValueError, match=r"alpha .* must be > 0"):
        pop.set(alpha=-1.0)
    assert np.all(pop.get("alpha") == 2.0)
    sim.end()


# ------------------------------------------------------- stochastic synapse
def stochastic(p, seed=1, T=1000.0, cell=None):
    sim.setup(timestep=0.1, min_delay=0.5, seed=seed)
    times = np.arange(2.5, T, 5.0)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
    post = sim.Population(len(p), cell or sim.IF_cond_exp(tau_syn_E=1.0))
    sim.Projection(src, post, sim.AllToAllConnector(),
                   synapse_type=sim.SimpleStochasticSynapse(weight=0.5,
                                                            p=np.array([p])))
    post.record("gsyn_exc")
    sim.run(T)
    g = np.asarray(post.get_data().segments[0].analogsignals[0].magnitude)
    sim.end()
    hits = (np.diff(g, axis=0) > 0.4)
    return times.size, hits


def test_stochastic_synapse_transmits_with_probability_p():
    p = [0.0, 0.25, 0.5, 1.0, 0.5]
    n, hits = stochastic(p, T=4000.0)
    counts = hits.sum(axis=0)
    assert counts[0] == 0 and counts[3] == n
    for k in (1, 2, 4):
        assert abs(counts[k] - p[k] * n) < 4 * np.sqrt(n * p[k] * (1 - p[k])), k
    # independent draws per connection
    assert not np.array_equal(hits[:, 2], hits[:, 4])


def test_stochastic_synapse_same_seed_same_transmissions():
    a = stochastic([0.5, 0.3], seed=11)[1]
    b = stochastic([0.5, 0.3], seed=11)[1]
    c = stochastic([0.5, 0.3], seed=12)[1]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_stochastic_synapse_bad_p():
    sim.setup(timestep=0.1)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    post = sim.Population(2, sim.IF_cond_exp())
    with pytest.raises(InvalidParameterValueError,
                       match=r"p of SimpleStochasticSynapse must be a probability in "
                             r"\[0, 1\], got 1\.5 \(connection 1\)"):
        sim.Projection(src, post, sim.AllToAllConnector(),
                       synapse_type=sim.SimpleStochasticSynapse(weight=0.5,
                                                                p=np.array([[0.2, 1.5]])))
    prj = sim.Projection(src, post, sim.AllToAllConnector(),
                         synapse_type=sim.SimpleStochasticSynapse(weight=0.5, p=0.3))
    with pytest.raises(InvalidParameterValueError, match="got -0.1"):
        prj.set(p=-0.1)
    assert np.allclose(prj.get("p", format="array"), 0.3)
    sim.end()


# ------------------------------------------------------ recorded currents
def test_recorded_current_is_the_injected_one():
    """The recorded current, put through the membrane equation step by step (exact
    exponential update with the sample at t held over [t, t + dt)), gives the
    recorded membrane potential: the recording is what the cell received. Two runs,
    a parameter change between them."""
    dt, tau_m, cm, v_rest = 0.1, 20.0, 0.5, -65.0
    sim.setup(timestep=dt)
    cells = sim.Population(3, sim.IF_curr_exp(tau_m=tau_m, cm=cm, v_rest=v_rest,
                                              v_thresh=100.0, tau_refrac=0.1))
    cells.initialize(v=v_rest)
    sources = [sim.ACSource(start=10.0, stop=80.0, amplitude=0.3, offset=0.1,
                            frequency=40.0, phase=30.0),
               sim.StepCurrentSource(times=[5.0, 33.3, 61.0], amplitudes=[0.2, -0.4, 0.1]),
               sim.NoisyCurrentSource(mean=0.2, stdev=0.3, start=20.0, stop=70.0, dt=1.0)]
    for k, s in enumerate(sources):
        cells[k:k + 1].inject(s)
        s.record()
    cells.record("v")
    sim.run(50.0)
    sources[0].amplitude = 0.6
    sim.run(50.0)
    v = np.asarray(cells.get_data().segments[0].filter(name="v")[0].magnitude)
    sim.end()
    decay = np.exp(-dt / tau_m)
    for k, s in enumerate(sources):
        sig = s.get_data()
        i = np.asarray(sig.magnitude).ravel()
        assert i.size == 1001 == v.shape[0]
        assert float(sig.t_start) == 0.0 and np.isclose(float(sig.times[-1]), 100.0)
        assert np.any(i != 0)
        v_inf = v_rest + tau_m / cm * i[:-1]
        v_ref = v_inf + (v[:-1, k] - v_inf) * decay
        assert np.max(np.abs(v_ref - v[1:, k])) < 1e-9, k
    i_ac = np.asarray(sources[0].get_data().magnitude).ravel()
    t = np.arange(1001) * dt
    ac = lambda a: 0.1 + a * np.sin(2 * np.pi * 40.0 * (t - 10.0) / 1000.0 + np.pi / 6)  # noqa: E731
    on = (t >= 10.0 - 1e-9) & (t < 80.0 - 1e-9)
    want = np.where(on, np.where(t < 50.0 - 1e-9, ac(0.3), ac(0.6)), 0.0)
    assert np.allclose(i_ac, want, atol=1e-12)


def test_current_recording_starts_at_record_and_clears_at_reset():
    sim.setup(timestep=0.1)
    cell = sim.Population(1, sim.IF_curr_exp())
    dc = sim.DCSource(amplitude=0.5, start=2.0, stop=8.0)
    cell.inject(dc)
    with pytest.raises(ValueError, match="not recorded; call record"):
        dc.get_data()
    sim.run(3.0)
    dc.record()
    sim.run(7.0)
    sig = dc.get_data()
    assert np.isclose(float(sig.t_start), 3.0) and len(sig) == 71
    i = np.asarray(sig.magnitude).ravel()
    assert np.all(i[:50] == 0.5) and np.all(i[50:] == 0.0)
    sim.reset()
    sim.run(1.0)
    assert len(dc.get_data()) == 11
    sim.end()


def test_point_neuron_says_it_is_not_supported():
    with pytest.raises(NotImplementedError, match="PointNeuron .* two fixed receptors"):
        sim.PointNeuron(None, AMPA=None)
