"""The Diehl & Cook network of ``experiments/diehl_cook_2015.py`` against the Brian2
model of ``benchmarks/dc_brian2_replication.py`` (the peer replication), on the same
input spike trains: excitatory spike trains identical, weights and theta equal.

Both sides get the experiment's own wiring (``Model``: adaptive theta, lateral
inhibition, per-synapse delays, the nearest-spike triplet rule) and the normalisation
before each 500 ms try; Brian2 runs on its runtime numpy target. This is what makes
the replication's accuracy a statement about our engine: the two simulate the same
model, spike for spike, so they differ only in their Poisson streams.
"""
import os
import sys

import numpy as np
import pytest

b2 = pytest.importorskip("brian2")

from plasticity.experiments import diehl_cook_2015 as dc  # noqa: E402

pytestmark = pytest.mark.peer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks import b3_diehl_cook  # noqa: E402
from benchmarks import dc_brian2_replication as rep  # noqa: E402


def _inputs(c, rng, n_slots, intensity):
    """Poisson trains (times ms, ids): per slot a new image for t_present, then rest."""
    steps_on = int(round(c.t_present / c.dt))
    steps_slot = int(round((c.t_present + c.t_rest) / c.dt))
    times, ids = [], []
    for k in range(n_slots):
        p = b3_diehl_cook.stroke_images(1, rng)[0] / 8.0 * intensity * c.dt / 1000.0
        s, i = np.nonzero(rng.random((steps_on, dc.N_INPUT)) < p)
        times.append((k * steps_slot + s) * c.dt)
        ids.append(i)
    return np.concatenate(times), np.concatenate(ids)


def _ours(c, syn, spikes, n_slots):
    model = dc.Model(c, syn.copy(), seed=0, input_spikes=spikes)
    mon = model.net.monitor_spikes(model.exc)
    for _ in range(n_slots):
        model.proj.normalize(c.norm)
        model.net.run(c.t_present + c.t_rest, progress=False)
    return mon.times, mon.ids, model.proj.weights.copy(), model.exc["theta"].copy()


def _brian2(c, syn, spikes, n_slots, tmp_path):
    from brian2 import ms, mV, prefs, start_scope
    start_scope()
    prefs.codegen.target = "numpy"
    net, ctl, exc, S, mon, _ = rep.build(c, None, np.asarray(syn.weights, np.float64),
                                      np.asarray(syn.delays), True, "ours",
                                      str(tmp_path), input_spikes=spikes,
                                      normalize_in_sim=False)
    for _ in range(n_slots):
        W = np.asarray(S.w[:]).reshape(dc.N_INPUT, c.n_e)   # synapse k = i * n_e + j
        S.w[:] = (W * (c.norm / W.sum(axis=0))).ravel()
        net.run((c.t_present + c.t_rest) * ms)
    return (np.asarray(mon.t / ms), np.asarray(mon.i), np.asarray(S.w[:]),
            np.asarray(exc.theta / mV))


def test_diehl_cook_network_matches_brian2_spike_for_spike(tmp_path):
    c = dc.Config(n_e=12)
    rng = np.random.default_rng(3)
    n_slots = 3
    spikes = _inputs(c, rng, n_slots, intensity=3.0)
    syn = dc.initial_synapses(c, seed=5)
    t_a, i_a, w_a, th_a = _ours(c, syn, spikes, n_slots)
    t_b, i_b, w_b, th_b = _brian2(c, syn, spikes, n_slots, tmp_path)
    # enough excitatory spikes, in more than one try, for STDP, theta and
    # inhibition to have acted
    assert t_a.size >= 15, t_a.size
    assert len(np.unique(np.floor(t_a / (c.t_present + c.t_rest)))) >= 2
    oa = np.lexsort((i_a, np.round(t_a / c.dt)))
    ob = np.lexsort((i_b, np.round(t_b / c.dt)))
    np.testing.assert_array_equal(np.round(t_a[oa] / c.dt), np.round(t_b[ob] / c.dt))
    np.testing.assert_array_equal(i_a[oa], i_b[ob])
    np.testing.assert_allclose(w_a, w_b, rtol=0, atol=1e-9)
    np.testing.assert_allclose(th_a, th_b, rtol=0, atol=1e-9)
    assert np.abs(w_a - np.asarray(syn.weights)).max() > 1e-3  # STDP did act


def test_replay_follows_the_retry_rule():
    """The replication reads each image's accepted try off the recorded spikes with
    the experiment's retry rule (fewer than min_spikes: intensity + 1, same image)."""
    c = dc.Config(n_e=3, max_intensity=4.0)
    per = c.t_present + c.t_rest
    # slot 0: 2 spikes (retry), slot 1: 5 spikes, the last in the presentation's
    # last step (image 0 accepted), slot 2: 7 spikes
    # (image 1), slots 3-5: none (image 2 retried at 3, 4, then accepted at the cap),
    # slot 6: spikes during the rest only (image 3 retried), slot 7: 6 spikes (image 3)
    t = np.r_[[1.0, 2.0], per + np.arange(4), per + c.t_present - c.dt,
              2 * per + np.arange(7),
              6 * per + c.t_present + np.arange(6), 7 * per + np.arange(6)]
    ids = np.r_[[0, 1], [0, 1, 2, 0, 1], [2] * 7, [0] * 6, [1, 1, 2, 2, 0, 0]]
    counts, tries, done, slots, shown = rep.replay(c, t, ids, 4, n_slots=9)
    assert done == 4 and slots == 8
    np.testing.assert_array_equal(shown, [0, 0, 1, 2, 2, 2, 3, 3, -1])
    np.testing.assert_array_equal(tries, [2, 1, 3, 2])
    np.testing.assert_array_equal(counts, [[2, 2, 1], [0, 0, 7], [0, 0, 0], [2, 2, 2]])
