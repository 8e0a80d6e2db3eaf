"""Graupner & Brunel 2012 (experiments/graupner_brunel_2012.py): the scientific claims
on reduced protocols, each with a control that makes the check fail."""
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "experiments"))
import graupner_brunel_2012 as gb  # noqa: E402


def curve(pset, freq, n_pairs, dts, **over):
    r0, r1, err, p = gb.pairing(pset, dts, freq, n_pairs, **over)
    assert err == 0.0
    return gb.strength_change(p, r0, r1), p


def main_crossing(x, y):
    """The LTD -> LTP crossing nearest delta_t = 0 (y rising through 1)."""
    xs = [c for c, k in zip(gb.crossings(x, y), range(99))]
    rising = [c for c in xs if np.interp(c + 0.5, x, y) > 1.0 > np.interp(c - 0.5, x, y)]
    return min(rising, key=abs) if rising else None


def test_hippocampal_cultures_window_and_crossing():
    """60 pairs at 1 Hz: an LTD window around delta_t = 0 (the presynaptic calcium
    arrives D = 10 ms late), an LTP window for pre-before-post; the LTD -> LTP crossing
    within 0.5 ms of the authors' formula; the simulation within 0.02 of the formula's
    mean of rho. Control: theta_p above any calcium level removes the LTP window."""
    dts = np.arange(-30.0, 40.1, 2.0)
    ours, p = curve("hippocampal_cultures", 1.0, 60, dts)
    noisy, mean = gb.paper_change(p, dts, 1.0, 60)
    assert np.abs(ours - mean).max() < 0.02
    assert ours.min() < 0.9 and -10.0 <= dts[np.argmin(ours)] <= 4.0
    assert ours.max() > 1.1 and 4.0 < dts[np.argmax(ours)] <= 20.0
    xo, xp = main_crossing(dts, ours), main_crossing(dts, noisy)
    assert xo is not None and xp is not None and abs(xo - xp) < 0.5
    ctrl, _ = curve("hippocampal_cultures", 1.0, 60, dts, theta_p=10.0)
    assert not ctrl.max() > 1.1          # the LTP check fails without potentiation
    assert main_crossing(dts, ctrl) is None


def test_cortical_slices_window_and_frequency_dependence():
    """75 pairs: at 1 Hz LTD for post-before-pre (-10 ms) and a narrow LTP window for
    pre-before-post (crossings within 0.5 ms of the formula); at -10 ms LTD at 10 and
    20 Hz turning into LTP at 40 and 50 Hz (Sjöström's sign flip); at +10 ms the change
    grows with frequency. Control: with tau_Ca = 2 ms the calcium does not summate
    across pairs, and the -10 ms flip is gone."""
    dts = np.arange(-20.0, 20.1, 1.0)
    ours, p = curve("cortical_slices", 1.0, 75, dts)
    noisy, _ = gb.paper_change(p, dts, 1.0, 75)
    assert ours[dts == -10.0][0] < 0.8 and ours[dts == 10.0][0] > 1.0
    xo = gb.crossings(dts, ours)
    xp = gb.crossings(dts, noisy)
    assert len(xo) == len(xp) == 2 and np.allclose(xo, xp, atol=0.5)

    def at10(**over):
        out = {}
        for f in (10.0, 20.0, 40.0, 50.0):
            y, _ = curve("cortical_slices", f, 75, [-10.0, 10.0], **over)
            out[f] = y
        return out
    y = at10()
    minus = np.array([y[f][0] for f in (10.0, 20.0, 40.0, 50.0)])
    plus = np.array([y[f][1] for f in (10.0, 20.0, 40.0, 50.0)])
    assert np.all(minus[:2] < 1.0) and np.all(minus[2:] > 1.0)
    assert np.all(np.diff(plus) > 0) and plus[-1] > 1.1
    c = at10(tau_Ca=2.0)
    cminus = np.array([c[f][0] for f in (10.0, 20.0, 40.0, 50.0)])
    assert not (np.all(cminus[:2] < 1.0) and np.all(cminus[2:] > 1.0))


def test_two_stable_states():
    """Without stimulation rho relaxes to 0 below rho_star and to 1 above it, as the
    ODE solved by SciPy (1e-3); control: rho_star = 1.5 leaves one stable state."""
    cfg = gb.Config(bistability_taus=20.0, bistability_dt=50.0)
    b = gb.bistability(cfg, "hippocampal_cultures")
    assert b["two_states"]
    assert b["max_error_vs_ode"] < 1e-3
    ctrl = gb.bistability(cfg, "hippocampal_cultures", rho_star=1.5)
    assert not ctrl["two_states"]
    assert np.all(ctrl["final"] < 0.01)


@pytest.mark.slow
def test_small_run_writes_a_run_file(tmp_path):
    from plasticity import results
    from plasticity.cli import main
    assert main(["run", "graupner_brunel_2012", "--small", "--out", str(tmp_path),
                 "--quiet"]) == 0
    (path,) = list(tmp_path.glob("*.h5"))
    run = results.load(str(path))
    assert bool(run.metrics["bistable/cortical_slices"])
    fig = gb.figure(run)
    assert len(fig.axes) == 3


def test_the_efficacys_forward_euler_step_bound():
    """rho integrates by forward Euler: below graupner_brunel_2012_max_dt it relaxes
    monotonically into [0, 1]; above it, it overshoots its stable states (and at 2.5x
    does not settle): the bound the config checks refuse (bistability_dt = 1e6 ms ran
    and reported a wrong relaxation)."""
    from plasticity.rules.library import GRAUPNER_BRUNEL_2012, graupner_brunel_2012_max_dt
    p = GRAUPNER_BRUNEL_2012["hippocampal_cultures"]
    limit = graupner_brunel_2012_max_dt(p, calcium=False)
    assert limit == pytest.approx(p["tau"] / 0.5)
    rho0 = np.array([0.05, 0.45, 0.55, 0.95])
    _, rows, _ = gb.relax("hippocampal_cultures", rho0, 40 * 0.99 * limit, 0.99 * limit)
    assert rows.min() >= 0.0 and rows.max() <= 1.0
    _, rows, _ = gb.relax("hippocampal_cultures", rho0, 40 * 1.5 * limit, 1.5 * limit)
    assert rows.min() < 0.0 and rows.max() > 1.0


@pytest.mark.parametrize("freq, n_pairs", [(30.0, 1), (30.0, 2), (33.3, 4), (7.0, 3)])
def test_a_protocol_of_any_period_runs_whole_steps(freq, n_pairs):
    """n_pairs periods of 1000 / freq ms need not be whole steps of dt: the run ends
    at the next step (bi_poo_1998.protocol_end). n_pairs_cortical = 1 at 30 Hz was
    'duration must be a multiple of dt = 0.1 ms, got 143.333' inside the run."""
    down, up, err, _ = gb.pairing("cortical_slices", [10.0, -10.0], freq, n_pairs)
    assert err == 0.0 and down.shape == up.shape == (2,)
    assert np.all(np.isfinite(down)) and np.all(np.isfinite(up))
