"""plasticity.pynn writes our HDF5 run file: ``sim.end(run_file=PATH)`` or
``sim.setup(..., run_file=PATH)`` (issue 18 item 1)."""
import numpy as np
import pytest

pytest.importorskip("pyNN")
pytest.importorskip("h5py")

import plasticity.pynn as sim  # noqa: E402
from plasticity.results import load  # noqa: E402


def _script(tmp_path, **setup_kw):
    sim.setup(timestep=0.1, seed=3, **setup_kw)
    src = sim.Population(20, sim.SpikeSourcePoisson(rate=50.0), label="inputs")
    out = sim.Population(3, sim.IF_cond_exp(), label="out cells")
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                             weight_dependence=sim.AdditiveWeightDependence(w_max=0.05),
                             weight=0.02, delay=1.0, dendritic_delay_fraction=0)
    prj = sim.Projection(src, out, sim.FixedProbabilityConnector(0.5), stdp,
                         label="in->out")
    src.record("spikes")
    out.record(["spikes", "v"])
    sim.run(200.0)
    return src, out, prj


@pytest.mark.parametrize("where", ["end", "setup"])
def test_run_file_holds_spikes_signals_weights(tmp_path, where):
    path = str(tmp_path / "run.h5")
    src, out, prj = _script(tmp_path, **({"run_file": path} if where == "setup" else {}))
    st = src.get_data().segments[0].spiketrains
    v = out.get_data().segments[0].filter(name="v")[0]
    w = prj.get("weight", format="array")
    sim.end(**({"run_file": path} if where == "end" else {}))
    run = load(path)
    t, ids = run.spikes("inputs")
    assert t.size == sum(len(s) for s in st) > 0
    for k, s in enumerate(st):
        np.testing.assert_allclose(np.sort(t[ids == k]), np.asarray(s.magnitude))
    W = run.weights("in-_out").toarray()
    np.testing.assert_allclose(W[~np.isnan(w)], w[~np.isnan(w)])
    assert np.all(W[np.isnan(w)] == 0)
    import h5py
    with h5py.File(path) as f:
        vv = f["state/out_cells/v"][()]
        assert vv.shape == v.shape
        np.testing.assert_allclose(vv, np.asarray(v.magnitude))
        assert f["synapses/in-_out"].attrs["rule"] == "STDPMechanism"
        assert f["populations/out_cells"].attrs["model"] == "IF_cond_exp"


def _stdp_net():
    sim.setup(timestep=0.1, seed=5)
    src = sim.Population(30, sim.SpikeSourcePoisson(rate=40.0), label="inputs")
    out = sim.Population(2, sim.IF_curr_exp(tau_refrac=2.0), label="out")
    drive = sim.Population(2, sim.SpikeSourcePoisson(rate=30.0), label="drive")
    sim.Projection(drive, out, sim.OneToOneConnector(), sim.StaticSynapse(weight=5.0))
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(A_plus=0.05, A_minus=0.05),
                             weight_dependence=sim.AdditiveWeightDependence(w_max=1.0),
                             weight=0.5, delay=1.0, dendritic_delay_fraction=0)
    return sim.Projection(src, out, sim.AllToAllConnector(), stdp, label="plastic")


def test_record_weights_equals_weights_read_between_runs(tmp_path):
    prj = _stdp_net()
    seen = []
    for _ in range(5):
        sim.run(20.0)
        seen.append(np.asarray(prj.get("weight", format="list", with_address=False)))
    sim.end()
    prj = _stdp_net()
    prj.record_weights(20.0)
    sim.run(100.0)
    sim.run(0.1)          # the snapshot at 100 ms is taken at the start of that step
    t, w = prj.get_weight_history()
    np.testing.assert_allclose(t, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0])
    assert not np.allclose(w[0], w[-1])       # the weights changed
    np.testing.assert_allclose(w[0], 0.5)
    np.testing.assert_allclose(w[1:], np.array(seen), rtol=1e-12)
    path = str(tmp_path / "w.h5")
    sim.end(run_file=path)
    import h5py
    with h5py.File(path) as f:
        snaps = f["synapses/plastic/snapshots/weights"][()]
        assert snaps.shape == (6, 60)
        np.testing.assert_allclose(np.sort(snaps[-1]), np.sort(w[-1]), rtol=1e-6)


def test_record_weights_rejects_off_grid_interval():
    prj = _stdp_net()
    with pytest.raises(ValueError, match="sampling_interval"):
        prj.record_weights(0.25)
    sim.end()


def test_run_file_holds_the_neuron_and_synapse_parameters(tmp_path):
    """The populations' and projections' parameters are in the run file (they were
    always empty): one number where every neuron / connection has the same value,
    the names of those that differ listed; an STDP mechanism's timing and weight
    dependence by name."""
    path = str(tmp_path / "run.h5")
    sim.setup(timestep=0.1, seed=3)
    src = sim.Population(4, sim.SpikeSourceArray(spike_times=[[1.0, 5.0]] * 4),
                         label="src")
    cells = sim.Population(2, sim.IF_cond_exp(tau_m=15.0, v_thresh=-52.0),
                           label="cells")
    cells[0:1].set(tau_m=12.0)
    tm = sim.TsodyksMarkramSynapse(weight=0.01, delay=1.0, U=0.3, tau_rec=80.0,
                                   tau_facil=40.0)
    sim.Projection(src, cells, sim.AllToAllConnector(), tm, label="tm")
    stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(tau_plus=15.0),
                             weight_dependence=sim.MultiplicativeWeightDependence(
                                 w_max=0.5),
                             weight=0.01, delay=sim.RandomDistribution("uniform",
                                                                       (1.0, 3.0)),
                             dendritic_delay_fraction=0)
    sim.Projection(src, cells, sim.AllToAllConnector(), stdp, label="stdp")
    sim.run(10.0)
    sim.end(run_file=path)
    run = load(path)
    p = run.populations["cells"]["parameters"]
    assert p["v_thresh"] == -52.0 and p["per_neuron"] == ["tau_m"] and "tau_m" not in p
    assert run.projections["tm"]["rule_parameters"] == {
        "U": 0.3, "delay": 1.0, "tau_facil": 40.0, "tau_rec": 80.0}
    r = run.projections["stdp"]["rule_parameters"]
    assert r["tau_plus"] == 15.0 and r["w_max"] == 0.5 and r["per_connection"] == ["delay"]
    assert r["timing_dependence"] == "SpikePairRule"
    assert r["weight_dependence"] == "MultiplicativeWeightDependence"
