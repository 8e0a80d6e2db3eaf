"""plasticity.pynn against pyNN.nest on the same PyNN scripts (issue 18 item 3).

Skipped without NEST (``pip install nest-simulator``, an optional peer) and, for
PyNN's example scripts, without PyNN's source distribution (``PYNN_SOURCE``, default
/tmp/pynn_src/pynn-0.13.0; nothing is fetched). The comparisons and the conventions
they account for (NEST's spike times one step later, its delays dendritic for STDP
where ours follow dendritic_delay_fraction, its deferred potentiation, its
three-state Tsodyks-Markram synapse) are those of benchmarks/pynn_vs_nest.py, which
writes the side-by-side table.
"""
import os
import sys

import numpy as np
import pytest

pytest.importorskip("pyNN")
pytest.importorskip("nest")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import pynn_vs_nest as P  # noqa: E402

SRC = os.environ.get("PYNN_SOURCE", "/tmp/pynn_src/pynn-0.13.0")
needs_src = pytest.mark.skipif(not os.path.isdir(os.path.join(SRC, "examples")),
                               reason=f"PyNN source distribution not at {SRC}")


@needs_src
@pytest.mark.parametrize("fraction,n_compared", [(1.0, 60), (0.0, 54)])
def test_simple_stdp_example_same_as_nest(fraction, n_compared):
    """PyNN's simple_STDP.py (60 synapses, lags 1 ms apart, d = 3 ms, dt 0.01 ms):
    with the script's default dendritic_delay_fraction 1 (NEST's semantics) the same
    weights as pyNN.nest; with 0 (axonal) the same weights at lag L + 2d."""
    ours = P.simple_stdp(SRC, "plasticity.pynn", fraction)
    nest = P.simple_stdp(SRC, "pyNN.nest")
    # the same postsynaptic spikes, NEST's one step later
    assert ours["post"].size == nest["post"].size == 10
    np.testing.assert_allclose(ours["post"] + ours["dt"], nest["post"], atol=1e-9)
    res, (a, b) = P.compare_simple_stdp(ours, nest)
    # the same weight changes at lag L + 2 (1 - f) d, once NEST's deferred
    # potentiation is added: to rounding
    assert a.size == n_compared
    assert res["dw: max |ours(L + 2(1-f)d) - NEST(L) incl. deferred| / max |dw|"] < 1e-9
    # and both conventions matter
    assert res["dw: same, NEST's weights as read (deferred potentiation missing)"] > 0.05
    assert res["dw: same, at the other fraction's lag shift"] > 0.5


@pytest.mark.parametrize("delay", [1.0, 3.0])
def test_pair_protocol_weights_same_as_nest(delay):
    """12 inputs at Delta t from -15.5 to 15.5 ms, 5 pairings each with a driven
    neuron and a last presynaptic spike (P.pair_protocol), additive STDP: at PyNN's
    default dendritic_delay_fraction 1 our final weights are NEST's to rounding
    (NEST's deferred potentiation is applied by the last presynaptic spike); at
    fraction 0 (axonal) they are not, and both match the pair rule in closed form
    at their own fraction."""
    ours_post, trains, ours = P.pair_protocol("plasticity.pynn", delay, 1.0)
    nest_post, _, nest = P.pair_protocol("pyNN.nest", delay)
    np.testing.assert_allclose(ours_post + 0.1, nest_post, atol=1e-9)
    scale = np.max(np.abs(nest - P.PAIR_W_MAX / 2))
    assert scale > 1e-4 * P.PAIR_W_MAX
    assert np.max(np.abs(ours - nest)) < 1e-9 * scale
    ref = P.pair_reference(trains, ours_post, delay, 1.0)
    assert np.max(np.abs(ref - nest)) < 1e-9 * scale
    _, _, axonal = P.pair_protocol("plasticity.pynn", delay, 0.0)
    assert np.max(np.abs(axonal - nest)) > 0.5 * scale


@needs_src
def test_tsodyks_markram_example_same_as_nest():
    ours = P.tsodyks_markram(SRC, "plasticity.pynn")
    nest = P.tsodyks_markram(SRC, "pyNN.nest")
    res = P.compare_tsodyks_markram(ours, nest)
    assert res["spike source lag, NEST - ours (ms)"] == pytest.approx(0.4)
    lag = int(round(0.4 / nest["dt"]))
    # static synapses: the same conductance to rounding; v within the integration
    # difference (exponential Euler vs RKF45)
    assert res["static: gsyn_inh max |diff| / peak (NEST shifted by the lag)"] < 1e-6
    for label in ("static", "depressing", "facilitating"):
        assert res[f"{label}: v max |diff| (mV, NEST shifted by the lag)"] < 0.05
        (to, go), (tn, gn) = ours[(label, "gsyn_inh")], nest[(label, "gsyn_inh")]
        pk_o, pk_n = P.psc_peaks(to, go), P.psc_peaks(tn, gn, 0.4)
        rel = np.abs(pk_o - pk_n) / pk_n
        # two-state (ours) vs three-state with tau_psc = tau_syn (NEST): the gap grows
        # with tau_syn (neurons: 1.2, 6.7, 4.3 ms); within 1.5 % at 1.2 ms, 7 % overall
        assert rel[:, 0].max() < 0.015, label
        assert rel.max() < 0.07, label
        if label != "static":
            assert rel[:, 0].max() < rel[:, 2].max() < rel[:, 1].max(), label
    assert lag == 4


def test_song_model_same_statistics_as_nest():
    """B1's Song model written in PyNN, the same input spike trains: output rate and
    weight distribution after 2 s agree within the integration difference."""
    ours = P.song("plasticity.pynn", 2000.0)
    nest = P.song("pyNN.nest", 2000.0)
    g = ours["gmax"]
    assert 0.7 < ours["post"].size / nest["post"].size < 1.6
    assert abs(ours["w"].mean() - nest["w"].mean()) < 0.05 * g
    for lo, hi in ((0.0, 0.1), (0.9, 1.01)):
        fo = np.mean((ours["w"] >= lo * g) & (ours["w"] < hi * g))
        fn = np.mean((nest["w"] >= lo * g) & (nest["w"] < hi * g))
        assert abs(fo - fn) < 0.05
    assert np.corrcoef(ours["w"] - ours["w0"], nest["w"] - nest["w0"])[0, 1] > 0.3


def test_song_static_spikes_same_as_nest(monkeypatch):
    """The Song network with static synapses, 0.5 s: IF_cond_exp holds each
    conductance at its exact mean over the step (LIFCond's conductance_step="mean"),
    so at dt 0.1 and 0.01 the output spikes are NEST's (RKF45) within a step or two.
    Control: the start value (Brian2's exponential Euler) fires more at dt 0.1
    (286 vs NEST's 258 spikes in 5 s) and drifts away from NEST's spike times."""
    nest = {}
    for dt in (0.1, 0.01):
        o, nest[dt] = (P.song(b, 500.0, dt, static=True)
                       for b in ("plasticity.pynn", "pyNN.nest"))
        n = nest[dt]
        assert abs(o["post"].size - n["post"].size) <= 1 and n["post"].size > 10
        k = min(o["post"].size, n["post"].size, 6)
        assert np.max(np.abs(o["post"][:k] + dt - n["post"][:k])) <= 2 * dt + 1e-9
    import plasticity.pynn.standardmodels as S
    monkeypatch.setattr(S, "CONDUCTANCE_STEP", "start")
    o = P.song("plasticity.pynn", 500.0, 0.1, static=True)
    n = nest[0.1]   # the control against NEST at the same dt
    k = min(o["post"].size, n["post"].size, 6)
    assert (o["post"].size > n["post"].size + 1
            or np.max(np.abs(o["post"][:k] + 0.1 - n["post"][:k])) > 0.5), o["post"][:k]


@pytest.mark.parametrize("dt", [0.1, 0.01])
def test_hh_cond_exp_one_cell_same_as_nest(dt):
    """One HH_cond_exp cell, the same DC current and input spikes: the same spikes
    (ours + dt vs NEST's) within one step, the PSPs before the current within a few
    uV (exponential Euler in 0.025 ms substeps vs NEST's adaptive RKF45)."""
    ours, nest = P.hh_cell("plasticity.pynn", dt), P.hh_cell("pyNN.nest", dt)
    res = P.compare_hh(ours, nest)
    assert ours["spikes"].size == nest["spikes"].size >= 6
    assert res["max |ours + dt - NEST| spike time (ms)"] <= dt + 1e-9
    assert res["v max |diff| before the current (PSPs, mV)"] < 0.01
    assert res["gsyn_exc max |diff| / peak"] < 1e-4
    # the input spikes did move v (the comparison is not of a flat line)
    t, v = nest["v"]
    assert np.ptp(v[t < 120.0]) > 1.0


# the tolerances of the alpha and conductance-based AdEx cells (measured: see
# benchmarks/pynn_vs_nest.py and docs/pynn.md): PSP = v before the DC current (mV),
# spike = max |ours + dt - NEST| (ms)
CELL_TOLERANCES = {
    # exact on both sides: the PSPs to rounding, the same spikes (ours + dt = NEST's;
    # they were a step apart per spike while v was held one step less than NEST's)
    ("IF_curr_alpha", 0.1): dict(psp=1e-9, spike=1e-6),
    ("IF_curr_alpha", 0.01): dict(psp=1e-9, spike=1e-6),
    # exponential Euler with the step mean of the conductance (2nd order) vs RKF45:
    # the same steps (0 measured; within half a step)
    ("IF_cond_alpha", 0.1): dict(psp=1e-3, spike=0.05),
    ("IF_cond_alpha", 0.01): dict(psp=1e-5, spike=0.005),
    # forward Euler (1st order) vs RKF45: each interval about a step longer than
    # NEST's, 5 spikes after 0.6-0.7 ms at dt 0.1, 0.07-0.09 ms at dt 0.01 (v held as
    # NEST holds it; a hold one step shorter had hidden most of it: 0.1-0.2 ms)
    ("EIF_cond_exp_isfa_ista", 0.1): dict(psp=0.2, spike=0.7),
    ("EIF_cond_exp_isfa_ista", 0.01): dict(psp=0.02, spike=0.1),
    ("EIF_cond_alpha_isfa_ista", 0.1): dict(psp=0.15, spike=0.8),
    ("EIF_cond_alpha_isfa_ista", 0.01): dict(psp=0.015, spike=0.1),
}


@pytest.mark.parametrize("name,dt", sorted(CELL_TOLERANCES))
def test_alpha_and_adex_cells_same_as_nest(name, dt):
    """One cell of each type (PyNN's defaults), the same input spikes through both
    receptors and a DC current: the same number of spikes, each within the stated
    time of NEST's (ours + dt), the PSPs before the current within the stated mV,
    the recorded conductance equal (NEST's RKF45 error: < 1e-5 of the peak)."""
    tol = CELL_TOLERANCES[(name, dt)]
    kw = P.CELLS[name]
    ours, nest = P.one_cell("plasticity.pynn", name, dt, **kw), \
        P.one_cell("pyNN.nest", name, dt, **kw)
    res = P.compare_hh(ours, nest)
    assert ours["spikes"].size == nest["spikes"].size >= 3
    assert res["max |ours + dt - NEST| spike time (ms)"] <= tol["spike"] + 1e-9
    assert res["v max |diff| before the current (PSPs, mV)"] < tol["psp"]
    if "gsyn_exc" in ours:
        assert res["gsyn_exc max |diff| / peak"] < 1e-5
    t, v = nest["v"]
    assert np.ptp(v[t < 120.0]) > 5.0        # the inputs moved v by mV
    assert np.all(nest["spikes"] > 120.0)    # and the spikes come from the current


NEST_MODELS = {"IF_curr_exp": "iaf_psc_exp", "IF_cond_exp": "iaf_cond_exp",
               "IF_curr_alpha": "iaf_psc_alpha", "IF_cond_alpha": "iaf_cond_alpha",
               "EIF_cond_exp_isfa_ista": "aeif_cond_exp",
               "EIF_cond_alpha_isfa_ista": "aeif_cond_alpha"}


@pytest.mark.parametrize("name", sorted(NEST_MODELS))
def test_refractory_period_as_nests(name):
    """A cell driven to fire in the first step it integrates: the same inter-spike
    interval (steps) as NEST's model of it on the grid, for tau_refrac on and off
    the grid (NEST rounds up; it held v one step longer than ours before)."""
    import nest
    from test_pynn_cells import _fastest_intervals
    nest.set_verbosity("M_ERROR")
    for dt in (0.1, 0.01):
        for tau in (0.05, 0.1, 0.15, 1.1, 2.0):
            nest.ResetKernel()
            nest.resolution = dt
            n = nest.Create(NEST_MODELS[name], params={"t_ref": tau, "I_e": 1e9})
            sr = nest.Create("spike_recorder")
            nest.Connect(n, sr)
            nest.Simulate(20.0)
            t = np.asarray(sr.get("events")["times"])
            theirs = np.unique(np.round(np.diff(t) / dt).astype(int))
            assert theirs.size == 1 and list(_fastest_intervals(name, tau, dt)) == \
                list(theirs), (dt, tau)
