"""Song, Miller & Abbott 2000 gives a bimodal weight distribution (the paper's model),
with controls that can fail, the convergence measure, the Brian2-example variant that
benchmark B1 uses, and the rule written in the rule language."""
import os
import sys

import numpy as np
import pytest
from _runfile_utils import experiment_module

HERE = os.path.dirname(os.path.abspath(__file__))


song = experiment_module("song_abbott_2000")


def inner(hist):
    """Fraction of the weights in 0.2-0.8 gmax (10-bin histogram)."""
    return hist[2:8].sum() / hist.sum()


def test_paper_model_weights_become_bimodal():
    """The paper's model (1000 excitatory inputs at 10 Hz, 200 inhibitory, additive
    STDP): after 2500 s most weights sit at 0 or gmax, few in between."""
    m = song.run(song.Config(duration=2_500_000.0), seed=3)
    assert m["bimodal"], m
    assert m["fraction_middle"] < 0.3
    assert inner(m["histogram"]) < 0.1
    assert m["fraction_near_zero"] > 0.25 and m["fraction_near_gmax"] > 0.3
    assert 5.0 < m["output_rate_hz"] < 30.0


def test_multiplicative_stdp_gives_a_unimodal_distribution():
    """Control: the same model with soft bounds (multiplicative weight dependence)
    puts nearly every weight in the middle, in one mode."""
    m = song.run(song.Config(duration=500_000.0, weight_dependence="multiplicative"),
                 seed=3)
    assert not m["bimodal"]
    assert m["fraction_middle"] > 0.9
    h = m["histogram"]
    peak = int(np.argmax(h))
    assert 0 < peak < 9 and h[0] == 0 and h[-1] == 0


def test_without_depression_dominance_the_weights_do_not_split():
    """Control (Brian2-example model, which moves faster): with A- < A+ potentiation
    wins everywhere."""
    m = song.run(song.Config(model="brian2-example", duration=50_000.0,
                             depression_ratio=0.8), seed=3)
    assert not m["bimodal"]
    assert m["fraction_near_gmax"] > 0.9


def test_convergence_measure():
    """Stationary noisy summaries converge, a drifting series does not; the settle
    time is where the series enters the band around its final level for good."""
    rng = np.random.default_rng(0)
    T = 5_000_000.0
    t = np.arange(1, 501) * 10_000.0
    level = np.where(t < 2_000_000.0, 0.8 - 0.6 * t / 2_000_000.0, 0.2)
    middle = level + rng.normal(0, 0.01, t.size)
    hist = np.tile(np.full(10, 0.1), (t.size, 1))
    c = song.convergence(t, middle, hist, T)
    assert c["converged"]
    assert abs(c["fraction_middle_last_quarter"] - 0.2) < 0.01
    assert 1_800_000.0 < c["settle_time_ms"] < 2_000_001.0
    drifting = song.convergence(t, 0.8 - 0.5 * t / T, hist, T)
    assert not drifting["converged"] and drifting["middle_trend"] < -0.05
    moving_hist = hist.copy()
    moving_hist[:, 0] += t / T * 0.5
    assert not song.convergence(t, middle, moving_hist, T)["converged"]
    short = song.convergence(t[:2], middle[:2], hist[:2], T)
    assert not short["converged"] and np.isnan(short["middle_trend"])
    # the early, slow phase of a short run is not mistaken for convergence
    early = song.run(song.Config(duration=200_000.0), seed=3)
    assert not early["converged"]
    m = song.run(song.Config(duration=2000.0), seed=0)   # no snapshot to measure with
    assert not m["converged"] and "middle_trend" not in m


def test_small_run_is_bimodal_but_not_converged():
    """``--small`` (1000 s): already bimodal, still moving, and the measure says so."""
    m = song.run(song.Config(**song.SMALL), seed=0)
    assert m["bimodal"] and not m["converged"]


def test_brian2_example_is_the_model_of_benchmark_b1():
    """``--set model=brian2-example`` builds B1's network: same spikes, same weights."""
    sys.path.insert(0, os.path.join(HERE, ".."))
    b1 = pytest.importorskip("benchmarks.b1_song")
    cfg = dict(b1.CONFIG, seed=3, duration=3000.0)
    net, proj, _, mon = b1.ours_build(cfg)
    net.run(cfg["duration"], progress=False)
    ours, p2, neuron = song.build(song.Config(model="brian2-example"), seed=3)
    mon2 = ours.monitor_spikes(neuron)
    ours.run(cfg["duration"], progress=False)
    assert mon.times.size > 20
    np.testing.assert_array_equal(mon.times, mon2.times)
    np.testing.assert_array_equal(proj.weights, p2.weights)


def test_brian2_example_leaves_many_weights_in_the_middle_after_100s():
    """Issue 17 item 7: Brian2's parameter set is bimodal by the edge-bin criterion
    after 100 s but still has about half its weights in the middle, drifting."""
    m = song.run(song.Config(model="brian2-example"), seed=0)
    assert m["bimodal"]
    assert m["fraction_middle"] > 0.4 and not m["converged"]


def test_model_values_and_overrides():
    c = song.effective(song.Config())
    assert (c.rate, c.gmax, c.tau_m, c.E_L, c.a_plus, c.n_inhibitory) == \
        (10.0, 0.015, 20.0, -70.0, 0.005, 200)
    b = song.effective(song.Config(model="brian2-example", rate=20.0))
    assert (b.rate, b.gmax, b.tau_m, b.E_L, b.a_plus, b.n_inhibitory) == \
        (20.0, 0.01, 10.0, -74.0, 0.01, 0)
    assert song.effective_dict({"model": "paper", "rate": None})["rate"] == 10.0


@pytest.fixture(scope="module")
def both_forms():
    """The small config run with the rule as the built-in kernel and as equations."""
    out = {}
    for form in ("kernel", "language"):
        net, proj, neuron = song.build(song.Config(**song.SMALL, rule_form=form), seed=0)
        mon = net.monitor_spikes(neuron)
        net.run(song.SMALL["duration"], progress=False)
        out[form] = (mon.times.copy(), proj.weights.copy())
    return out


def test_rule_language_form_gives_the_same_run(both_forms):
    """Issue 17 item 6: the same STDP written in the rule language gives the same
    output spikes and weights, bit for bit (float64 weights: the language decays
    -x/tau by exp(-dt/tau), as the kernel)."""
    (ta, wa), (tb, wb) = both_forms["kernel"], both_forms["language"]
    assert ta.size > 1000
    np.testing.assert_array_equal(ta, tb)
    np.testing.assert_array_equal(wb, wa)


def test_same_seed_same_weights():
    a = song.build(song.Config(), seed=5)
    b = song.build(song.Config(), seed=5)
    for net, _, _ in (a, b):
        net.run(2000.0, progress=False)
    np.testing.assert_array_equal(a[1].weights, b[1].weights)
