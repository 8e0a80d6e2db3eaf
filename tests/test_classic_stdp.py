"""Classic STDP results: Bi & Poo 1998 window, Pfister & Gerstner 2006 frequency
dependence, Song, Miller & Abbott 2000 competition."""
import os

import numpy as np
import pytest
from _runfile_utils import experiment_module

HERE = os.path.dirname(os.path.abspath(__file__))


# ------------------------------------------------------------------ Bi & Poo 1998
def test_pairing_protocol_measures_each_rules_window():
    bp = experiment_module("bi_poo_1998")
    cfg = bp.Config(**bp.SMALL)
    m = bp.run(cfg)
    assert m["post_spike_time_error_ms"] == 0.0
    for name in bp.TIMINGS:
        assert m[f"max_error/{name}"] < 1e-6, name
    # the pair rules give the Bi & Poo fit: its time constants and amplitudes
    assert m["fitted_tau_plus_ms"] == pytest.approx(16.8, rel=1e-6)
    assert m["fitted_tau_minus_ms"] == pytest.approx(33.7, rel=1e-6)
    measured = m["curves"]["pair-all-to-all"][0]
    fit = m["bi_poo_fit"]
    nz = m["dts"] != 0
    np.testing.assert_allclose(measured[nz], fit[nz], rtol=1e-6)
    # LTP for pre-before-post, LTD for post-before-pre, for every rule
    for name, (dw, _) in m["curves"].items():
        assert np.all(dw[m["dts"] > 0] > 0) and np.all(dw[m["dts"] < 0] < 0), name


def test_window_is_not_the_isolated_pair_window_at_high_pairing_rate():
    """Control: at 20 Hz the pairs interact, the measurement departs from the
    isolated-pair window and tells the interactions apart (the test above can fail)."""
    bp = experiment_module("bi_poo_1998")
    m = bp.run(bp.Config(**dict(bp.SMALL, pair_rate=20.0, dt_min=-20.0, dt_max=20.0)))
    assert m["max_error/pair-all-to-all"] > 0.05
    a = m["curves"]["pair-all-to-all"][0]
    b = m["curves"]["pair-nearest-symmetric"][0]
    assert np.abs(a - b).max() > 0.01


# ------------------------------------------------------------------ Pfister & Gerstner 2006
@pytest.fixture(scope="module")
def pg():
    mod = experiment_module("pfister_gerstner_2006")
    return mod.run(mod.Config())


TRIPLETS = ["triplet-all-to-all-full", "triplet-all-to-all-minimal",
            "triplet-nearest-full", "triplet-nearest-minimal"]


def test_triplet_engine_equals_the_equations(pg):
    assert pg["post_spike_time_error_ms"] == 0.0
    assert pg["max_error_vs_reference"] < 1e-9


@pytest.mark.parametrize("rule", TRIPLETS)
def test_triplet_rule_reproduces_sjostrom_frequency_dependence(pg, rule):
    """Within one SEM at 8 or more of the 10 points, and the -10 ms protocol turns
    from depression (<= 20 Hz) to potentiation (>= 40 Hz)."""
    assert pg[f"within_1sem/{rule}"] >= 8
    assert pg[f"sign_flip/{rule}"]


@pytest.mark.parametrize("rule", ["pair-fit-0.1Hz", "pair-fit-all"])
def test_pair_rule_cannot(pg, rule):
    """Control: the pair rule fitted to the 0.1 Hz points, and even the best pair rule
    for all ten points, fail the same criterion."""
    assert not (pg[f"within_1sem/{rule}"] >= 8 and pg[f"sign_flip/{rule}"])
    assert pg[f"chi2/{rule}"] > 5 * max(pg[f"chi2/{t}"] for t in TRIPLETS)


# ------------------------------------------------------------------ Song et al. 2000 competition
def test_correlated_group_wins():
    comp = experiment_module("song_abbott_2000_competition")
    m = comp.run(comp.Config(**comp.SMALL), seed=3)
    c, u = m["mean_weight_correlated_over_gmax"], m["mean_weight_uncorrelated_over_gmax"]
    assert c > 0.85 and c - u > 0.4, m
    assert m["fraction_near_gmax_correlated"] > 0.7
    assert m["fraction_near_gmax_uncorrelated"] < 0.1


def test_without_correlation_no_group_wins():
    """Control: c = 0, same everything else: the two groups end alike."""
    comp = experiment_module("song_abbott_2000_competition")
    m = comp.run(comp.Config(**dict(comp.SMALL, correlation=0.0)), seed=3)
    c, u = m["mean_weight_correlated_over_gmax"], m["mean_weight_uncorrelated_over_gmax"]
    assert abs(c - u) < 0.15, m


def test_correlated_trains_have_the_requested_rate_and_correlation():
    comp = experiment_module("song_abbott_2000_competition")
    rng = np.random.default_rng(0)
    t, i = comp.correlated_trains(40, 20, 15.0, 0.2, 200_000.0, 0.1, rng)
    rates = np.bincount(i, minlength=40) / 200.0
    assert np.all(np.abs(rates - 15.0) < 2.0)
    counts = np.stack([np.histogram(t[i == k], bins=np.arange(0, 200_001, 50.0))[0]
                       for k in range(40)])
    cc = np.corrcoef(counts)
    inside = cc[:20, :20][np.triu_indices(20, 1)].mean()
    outside = cc[20:, 20:][np.triu_indices(20, 1)].mean()
    assert inside == pytest.approx(0.2, abs=0.05)
    assert abs(outside) < 0.03
