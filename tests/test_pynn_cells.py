"""plasticity.pynn: the alpha-synapse and conductance-based AdEx cell types
(IF_curr_alpha, IF_cond_alpha, EIF_cond_exp_isfa_ista, EIF_cond_alpha_isfa_ista):
parameter translation per parameter, units of currents, weights and conductances,
recording (v, w, gsyn_exc, gsyn_inh) against the closed forms of the synapses."""
import math

import numpy as np
import pytest

pytest.importorskip("pyNN")
pytest.importorskip("neo")

import plasticity.pynn as sim  # noqa: E402
from plasticity import neurons as N  # noqa: E402
from plasticity.pynn.standardmodels import native_model  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh():
    sim.setup(timestep=0.1)
    yield
    sim.end()


IF_CURR = dict(v_rest=-61.0, cm=0.3, tau_m=12.0, tau_refrac=2.5, tau_syn_E=3.0,
               tau_syn_I=7.0, i_offset=0.0, v_reset=-66.0, v_thresh=-48.0)
IF_COND = dict(IF_CURR, e_rev_E=5.0, e_rev_I=-75.0)
EIF = dict(cm=0.25, tau_refrac=0.3, v_spike=-35.0, v_reset=-68.0, v_rest=-71.0,
           tau_m=12.5, i_offset=0.0, a=3.0, b=0.06, delta_T=1.5, tau_w=120.0,
           v_thresh=-51.0, e_rev_E=2.0, tau_syn_E=4.0, e_rev_I=-82.0, tau_syn_I=6.0)


@pytest.mark.parametrize("pynn_name, ours, factor", [
    ("v_rest", "E_L", 1.0), ("cm", "C_m", 1000.0), ("tau_m", "tau_m", 1.0),
    ("tau_syn_E", "tau_syn_ex", 1.0),
    ("tau_syn_I", "tau_syn_in", 1.0), ("v_reset", "V_reset", 1.0),
    ("v_thresh", "V_th", 1.0)])
def test_if_curr_alpha_parameter(pynn_name, ours, factor):
    info = native_model("IF_curr_alpha", IF_CURR, 0.1)
    assert isinstance(info.model, N.LIFAlpha)
    assert info.model.parameters()[ours] == pytest.approx(IF_CURR[pynn_name] * factor)


@pytest.mark.parametrize("pynn_name, ours", [
    ("v_rest", "E_L"), ("tau_m", "tau_m"),
    ("tau_syn_E", "tau_e"), ("tau_syn_I", "tau_i"), ("v_reset", "V_reset"),
    ("v_thresh", "V_th"), ("e_rev_E", "E_e"), ("e_rev_I", "E_i")])
def test_if_cond_alpha_parameter(pynn_name, ours):
    info = native_model("IF_cond_alpha", IF_COND, 0.1)
    assert isinstance(info.model, N.LIFCondAlpha)
    assert info.model.parameters()[ours] == pytest.approx(IF_COND[pynn_name])


EIF_PARAMS = [("cm", "C_m", 1000.0),
              ("v_spike", "V_peak", 1.0), ("v_reset", "V_reset", 1.0),
              ("v_rest", "E_L", 1.0), ("a", "a", 1.0), ("b", "b", 1000.0),
              ("delta_T", "Delta_T", 1.0), ("tau_w", "tau_w", 1.0),
              ("v_thresh", "V_T", 1.0), ("e_rev_E", "E_e", 1.0),
              ("tau_syn_E", "tau_e", 1.0), ("e_rev_I", "E_i", 1.0),
              ("tau_syn_I", "tau_i", 1.0)]


@pytest.mark.parametrize("name,cls", [("EIF_cond_exp_isfa_ista", N.AdExCond),
                                      ("EIF_cond_alpha_isfa_ista", N.AdExCondAlpha)])
@pytest.mark.parametrize("pynn_name, ours, factor", EIF_PARAMS)
def test_eif_parameter(name, cls, pynn_name, ours, factor):
    info = native_model(name, EIF, 0.1)
    assert type(info.model) is cls
    assert info.model.parameters()[ours] == pytest.approx(EIF[pynn_name] * factor)


@pytest.mark.parametrize("name", ["EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista"])
def test_eif_leak_is_cm_over_tau_m(name):
    info = native_model(name, EIF, 0.1)
    # nF / ms = uS; times 1000: nS
    assert info.model.parameters()["g_L"] == pytest.approx(0.25 / 12.5 * 1000.0)
    # every PyNN parameter but i_offset (injected), tau_m (in g_L) and tau_refrac
    # (in steps: test_refractory_steps_are_nests) is checked above
    assert {p for p, _, _ in EIF_PARAMS} | {"tau_m", "i_offset", "tau_refrac"} == set(
        sim.EIF_cond_exp_isfa_ista.default_parameters)


def test_units_of_currents_weights_and_conductances():
    info = native_model("IF_curr_alpha", IF_CURR, 0.1)
    assert info.current_scale == 1000.0
    assert info.receptors == {"excitatory": ("y_ex", 1000.0),
                              "inhibitory": ("y_in", 1000.0)}
    info = native_model("IF_cond_alpha", IF_COND, 0.1)
    R = IF_COND["tau_m"] / IF_COND["cm"]
    assert info.current_scale == pytest.approx(R)
    assert info.receptors["excitatory"] == ("y_e", pytest.approx(R))
    assert info.receptors["inhibitory"] == ("y_i", pytest.approx(R))
    assert info.state["gsyn_inh"] == ("g_i", pytest.approx(R))
    for name, ex in (("EIF_cond_exp_isfa_ista", "g_e"), ("EIF_cond_alpha_isfa_ista", "y_e")):
        info = native_model(name, EIF, 0.1)
        assert info.current_scale == 1000.0                  # nA -> pA
        assert info.receptors["excitatory"] == (ex, 1000.0)  # uS -> nS
        assert info.state["w"] == ("w", 1000.0)              # nA -> pA
        assert info.state["gsyn_exc"] == ("g_e", 1000.0)


def _one_spike(celltype, receptor, weight, record, t_stop=40.0):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    cell = sim.Population(1, celltype)
    sim.Projection(src, cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=weight, delay=1.0), receptor_type=receptor)
    cell.record(record)
    sim.run(t_stop)
    return {s.name: s for s in cell.get_data().segments[0].analogsignals}


@pytest.mark.parametrize("celltype,receptor,var", [
    (lambda: sim.IF_cond_alpha(tau_syn_E=2.0), "excitatory", "gsyn_exc"),
    (lambda: sim.IF_cond_alpha(tau_syn_I=3.0), "inhibitory", "gsyn_inh"),
    (lambda: sim.EIF_cond_alpha_isfa_ista(tau_syn_E=2.0), "excitatory", "gsyn_exc"),
    (lambda: sim.EIF_cond_alpha_isfa_ista(tau_syn_I=3.0), "inhibitory", "gsyn_inh"),
])
def test_alpha_conductance_recorded_in_uS_peaks_at_the_weight(celltype, receptor, var):
    ct = celltype()
    tau = ct.parameter_space["tau_syn_E" if var == "gsyn_exc" else "tau_syn_I"]
    tau = float(np.asarray(tau.base_value if hasattr(tau, "base_value") else tau))
    sig = _one_spike(ct, receptor, 0.004, ["v", "gsyn_exc", "gsyn_inh"])
    t = sig[var].times.magnitude
    g = sig[var].magnitude[:, 0]
    assert str(sig[var].units.dimensionality) == "uS"
    s = t - 6.0   # the spike at 5 ms, after the 1 ms delay
    want = np.where(s > 0, 0.004 * math.e * s / tau * np.exp(-s / tau), 0.0)
    np.testing.assert_allclose(g, want, rtol=1e-9, atol=1e-15)
    assert g.max() == pytest.approx(0.004, rel=1e-9)
    other = "gsyn_inh" if var == "gsyn_exc" else "gsyn_exc"
    assert np.all(sig[other].magnitude == 0)
    v = sig["v"].magnitude[:, 0]
    if var == "gsyn_exc":
        assert v.max() > v[0] + 0.1
    else:
        assert v.min() < v[0] - 0.1


def test_eif_cond_exp_gsyn_jumps_by_the_weight_and_w_in_nA():
    sig = _one_spike(sim.EIF_cond_exp_isfa_ista(tau_syn_E=5.0, i_offset=1.0),
                     "excitatory", 0.01, ["v", "w", "gsyn_exc"], t_stop=200.0)
    t = sig["gsyn_exc"].times.magnitude
    g = sig["gsyn_exc"].magnitude[:, 0]
    k = int(np.argmax(g > 0))
    assert t[k] == pytest.approx(6.0) and g[k] == pytest.approx(0.01)
    assert g[k + 10] == pytest.approx(0.01 * math.exp(-1.0 / 5.0))
    assert str(sig["w"].units.dimensionality) == "nA"
    # 1 nA drives the default cell to fire: w grows by b = 0.0805 nA at each spike
    w = sig["w"].magnitude[:, 0]
    assert 0.0805 < w.max() < 2.0


def test_if_curr_alpha_v_is_the_exact_response():
    """One inhibitory spike (-0.3 nA peak, tau_syn 2 ms) onto IF_curr_alpha: v is the
    exact solution of the linear system (v - v_rest, I, y), from scipy's expm."""
    from scipy.linalg import expm
    tau, cm, tau_m = 2.0, 1.0, 20.0
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    cell = sim.Population(1, sim.IF_curr_alpha(tau_syn_I=tau, v_thresh=0.0))
    sim.Projection(src, cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=-0.3, delay=1.0), receptor_type="inhibitory")
    cell.record("v")
    sim.run(40.0)
    sig = cell.get_data().segments[0].analogsignals[0]
    t, v = sig.times.magnitude, sig.magnitude[:, 0]
    A = np.array([[-1 / tau_m, 1 / cm, 0.0], [0.0, -1 / tau, math.e / tau],
                  [0.0, 0.0, -1 / tau]])     # mV, nA, nA; nA / nF = mV / ms
    want = np.array([(expm(A * (tk - 6.0)) @ [0.0, 0.0, -0.3])[0] if tk > 6.0 else 0.0
                     for tk in t]) - 65.0
    np.testing.assert_allclose(v, want, rtol=0, atol=1e-9)
    assert v.min() < -65.0 - 0.1


def test_initialize_w_and_gsyn_in_pynn_units():
    cell = sim.Population(1, sim.EIF_cond_alpha_isfa_ista())
    cell.initialize(v=-60.0, w=0.1, gsyn_exc=0.002)
    cell.record(["v", "w", "gsyn_exc"])
    sim.run(0.2)
    sig = {s.name: s for s in cell.get_data().segments[0].analogsignals}
    assert sig["w"].magnitude[0, 0] == pytest.approx(0.1)
    assert sig["gsyn_exc"].magnitude[0, 0] == pytest.approx(0.002)
    assert sig["v"].magnitude[0, 0] == pytest.approx(-60.0)


# ------------------------------------------------------------ refractoriness
REFRACTORY_CELLS = ["IF_curr_exp", "IF_cond_exp", "IF_curr_alpha", "IF_cond_alpha",
                    "EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista"]
#: tau_refrac (ms) at dt 0.1 ms -> the steps NEST 3 holds V_m after a spike (measured:
#: iaf_psc_exp/alpha, iaf_cond_exp/alpha, aeif_cond_exp/alpha driven by I_e = 1e9 pA
#: fire every R + 1 steps): t_ref rounded up to whole steps, in NEST's tics
NEST_HELD = {0.0: 0, 0.05: 1, 0.1: 1, 0.14: 2, 0.15: 2, 0.25: 3, 0.3: 3, 1.1: 11,
             1.55: 16, 2.0: 20, 2.5: 25}


def _fastest_intervals(name, tau_refrac, dt=0.1):
    """Inter-spike intervals (steps) of a cell driven hard enough to fire in the
    first step it integrates after its refractory period (PyNN units: nA)."""
    sim.setup(timestep=dt)
    kw = dict(a=0.0, b=0.0) if name.startswith("EIF") else {}
    cell = sim.Population(1, getattr(sim, name)(tau_refrac=tau_refrac, i_offset=1e6, **kw))
    cell.record("spikes")
    sim.run(20.0)
    st = np.asarray(cell.get_data().segments[0].spiketrains[0].magnitude)
    sim.end()
    return np.unique(np.round(np.diff(st) / dt).astype(int))


def test_refractory_steps_are_nests():
    """tau_refrac is held for NEST's whole steps (t_ref rounded up on its tic grid:
    1.1 ms at 0.1 ms is 11 steps, not the 12 of ceil(1.1 / 0.1) in floats), and our
    models get one step more (they count as Brian2, plasticity.neurons._ref_steps)."""
    from plasticity.neurons import _ref_steps
    from plasticity.pynn.standardmodels import native_t_ref, nest_refractory_steps
    for tau, held in NEST_HELD.items():
        assert nest_refractory_steps(tau, 0.1) == held, tau
        assert _ref_steps(native_t_ref(tau, 0.1), 0.1) == held + 1, tau
    assert nest_refractory_steps(2.0, 0.01) == 200
    info = native_model("IF_curr_exp", IF_CURR, 0.1)
    assert info.model.parameters()["t_ref"] == pytest.approx(2.6)     # 25 + 1 steps
    info = native_model("EIF_cond_exp_isfa_ista", EIF, 0.1)
    assert info.model.parameters()["t_ref"] == pytest.approx(0.4)     # 3 + 1 steps


@pytest.mark.parametrize("name", REFRACTORY_CELLS)
def test_refractory_period_holds_v_as_nest_does(name):
    """A cell that fires as soon as it integrates fires every R + 1 steps with R
    NEST's held steps (NEST_HELD, measured): tau_refrac = 2 ms at dt 0.1 ms every 21
    steps, as NEST's iaf_*/aeif_* (it was 20: v held one step less, the Brian2 count
    of the core models)."""
    for tau in (0.0, 0.05, 0.15, 2.0):
        assert list(_fastest_intervals(name, tau)) == [NEST_HELD[tau] + 1], tau
