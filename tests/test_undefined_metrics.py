"""Metrics a valid config leaves undefined do not fail a run that simulated.

A non-finite headline metric fails the run (a NaN nobody explained is a bug), but
some valid extreme configs give numbers that are undefined by nature: bi_poo_1998's
fit of tau+ with ``fit_a_plus = 0`` (no potentiation to fit) or a tau far below
``dt_step``; tsodyks_markram_1997's figure numbers when no rate lies far enough from
the limiting frequency; vogels_sprekeler_2011's correlations of a flat profile.
These ran to the end and then failed in the analysis ("headline metric ... is nan"),
the run marked failed. Now such a metric is a :class:`plasticity.results.Undefined`
(NaN with its reason): the run is complete, the file stores NaN with the reason as
the attribute ``undefined``, the reader gives it back, the CLI prints it.

Also here: vogels_sprekeler_2011's neuron parameters (V_reset < V_th) are checked with
the config, not found by the neuron's constructor inside run() after the run file
existed.
"""
import math
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from plasticity import results, runner
from plasticity.results import Undefined

from _runfile_utils import env, plasticity_cmd

EXPERIMENT = '''
import dataclasses
from plasticity.results import Undefined

@dataclasses.dataclass
class Config:
    value: str = "undefined"

def run(config, recorder):
    recorder.metric("curve", [1.0, 2.0, 3.0])
    fit = {"undefined": Undefined("fewer than two points to fit"),
           "not_a_number": float("nan"), "number": 2.5}[config.value]
    return {"fit": fit, "n": 3}
'''


@pytest.fixture
def toy(tmp_path):
    p = tmp_path / "toy_fit.py"
    p.write_text(EXPERIMENT)
    return str(p)


def test_undefined_is_a_nan_with_a_reason():
    u = Undefined("no potentiation to fit")
    assert isinstance(u, float) and math.isnan(u) and np.isnan(u)
    assert u.reason == "no potentiation to fit"
    assert repr(u) == str(u) == "undefined (no potentiation to fit)"
    v = pickle.loads(pickle.dumps(u))
    assert isinstance(v, Undefined) and v.reason == u.reason


def test_an_undefined_headline_metric_completes_the_run(toy, tmp_path):
    out = runner.run_experiment(toy, out=tmp_path / "runs", quiet=True)
    assert isinstance(out.metrics["fit"], Undefined)
    with results.load(out.path) as run:
        fit = run.metrics["fit"]
        assert isinstance(fit, Undefined) and fit.reason == "fewer than two points to fit"
        assert run.metric_attrs("fit")["undefined"] == "fewer than two points to fit"
        assert list(run.metrics["curve"]) == [1.0, 2.0, 3.0]
        assert set(run.headline) == {"fit", "n"}
    import h5py
    with h5py.File(out.path, "r") as f:                 # h5py alone: a NaN
        assert np.isnan(f["metrics/fit"][()])
        assert f.attrs["status"] == "complete"


def test_an_unexplained_nan_still_fails_the_run(toy, tmp_path):
    with pytest.raises(runner.RunFailed, match=r"headline metric 'fit' is nan"):
        runner.run_experiment(toy, sets=["value='not_a_number'"], out=tmp_path / "runs", quiet=True)


def test_the_cli_prints_the_reason(toy, tmp_path):
    p = subprocess.run(plasticity_cmd("run", toy, "--out", str(tmp_path / "r"), "--quiet"),
                       capture_output=True, text=True, env=env(), timeout=120)
    assert p.returncode == 0, p.stderr
    assert "fit = undefined (fewer than two points to fit)" in p.stdout
    path = p.stdout.splitlines()[0]
    p = subprocess.run(plasticity_cmd("inspect", path), capture_output=True, text=True,
                       env=env(), timeout=120)
    assert "fit = undefined (fewer than two points to fit)" in p.stdout, p.stdout


# ----------------------------------------------------------------------------
# the experiments: extreme valid values that used to fail after the simulation
# ----------------------------------------------------------------------------
BI_POO_SMALL = ["dt_min=-60.0", "dt_max=60.0", "dt_step=10.0"]


@pytest.mark.parametrize("sets, metric, reason", [
    (["fit_a_plus=0.0"], "fitted_tau_plus_ms", r"potentiation at delta_t > 0 \(0\)"),
    (["tau_plus=0.0168"], "fitted_tau_plus_ms", r"potentiation at delta_t > 0 \(0\)"),
    (["fit_a_minus=0.0"], "fitted_tau_minus_ms", r"depression at delta_t < 0 \(0\)"),
    (["fit_a_plus=0.0", "fit_a_minus=0.0"], "max_error/pair-all-to-all",
     r"window is 0 at every delta_t"),
])
def test_bi_poo_fits_that_the_window_leaves_undefined(tmp_path, sets, metric, reason):
    out = runner.run_experiment("bi_poo_1998", sets=BI_POO_SMALL + sets, out=tmp_path,
                                quiet=True)
    with results.load(out.path) as run:
        m = run.metrics[metric]
        assert isinstance(m, Undefined), m
        assert __import__("re").search(reason, m.reason), m.reason
        # nothing lost: the measured windows are in the file
        assert np.all(np.isfinite(run.metrics["stdp_window/pair-all-to-all/dw"]))


def test_tsodyks_figure_numbers_without_a_low_rate(tmp_path):
    out = runner.run_experiment(
        "tsodyks_markram_1997", small=True, sets=["rates=[20.0, 70.0, 100.0]"],
        out=tmp_path, quiet=True)
    m = out.metrics["dep_ss_over_U_max_dev_low"]
    assert isinstance(m, Undefined)
    assert "no regular rate at or below half the limiting frequency (1.25 Hz)" in m.reason
    assert np.isfinite(out.metrics["dep_ss_times_rate_max_dev_high"])


def test_the_stdp_window_has_no_overflow_for_a_tiny_tau():
    """np.where computed both branches: exp(-delta_t / tau) of the other side
    overflowed (a RuntimeWarning) for tau far below |delta_t|; the values taken are
    unchanged."""
    from plasticity import Pair
    from plasticity.experiments import bi_poo_1998 as bp
    d = np.linspace(-100, 100, 41)
    p = Pair(0.0168, 0.0337, 0.5, 0.25)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w = p.window(d)
        bp.bi_poo_fit(bp.Config(tau_plus=0.0168, tau_minus=0.0337), d)
    old = np.where(d >= 0, 0.5 * np.exp(-np.maximum(d, 0) / 0.0168), np.nan)
    np.testing.assert_array_equal(w[d >= 0], old[d >= 0])
    q = Pair(16.8, 33.7, 0.5, 0.25)
    with np.errstate(over="ignore"):
        ref = np.where(d >= 0, 0.5 * np.exp(-d / 16.8), -0.25 * np.exp(d / 33.7))
    np.testing.assert_array_equal(q.window(d), ref)   # bit for bit where it was finite


def test_vogels_with_one_input_per_channel(tmp_path):
    """n_exc = 1: the neuron never fires, the inhibitory weights fall to 0 (a flat
    tuning curve): the correlations and the balance terms are undefined."""
    out = runner.run_experiment("vogels_sprekeler_2011", small=True, sets=["n_exc=1"],
                                out=tmp_path, quiet=True)
    m = out.metrics
    assert m["output_rate_hz"] == 0.0
    for k in ("co_tuning", "weight_correlation", "pre_post_excess",
              "rate_fixed_point_hz"):
        assert isinstance(m[k], Undefined), k
    assert "the same in every channel" in m["co_tuning"].reason
    assert "no output spike" in m["pre_post_excess"].reason
    with results.load(out.path) as run:
        assert run.metrics["inh_weight_by_channel"].shape[1] == 8   # nothing lost


def test_vogels_neuron_parameters_are_checked_before_any_work(tmp_path):
    """V_reset above V_th was refused by the neuron's constructor inside run(), after
    the run file existed (a failed .partial)."""
    from plasticity.config import ConfigError
    with pytest.raises(ConfigError, match=r"config keys of the neuron: V_reset must be "
                                          r"< V_th"):
        runner.prepare("vogels_sprekeler_2011", sets=["V_reset=-0.06"], out=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_van_rossum_weights_all_at_zero(tmp_path):
    """A rule that drives every weight to 0 (gamma = 1e30: the integral term of the
    scaling) leaves the weights' CV undefined (0 / 0); the run failed on a NaN."""
    out = runner.run_experiment("van_rossum_2000", small=True, sets=["gamma=1e30"],
                                out=tmp_path, quiet=True)
    with results.load(out.path) as run:
        assert run.metrics["weight_mean"] == 0.0
        m = run.metrics["weight_cv"]
        assert isinstance(m, Undefined) and "every weight is 0" in m.reason


def test_clopath_pairing_without_a_data_point(tmp_path):
    """delta_ts the data has no point at (-1 ms) leave the largest |z| against the
    data undefined; the run failed inside (max of an empty array)."""
    out = runner.run_experiment("clopath_2010", small=True,
                                sets=["delta_ts=[-1.0]", 'conditions=["rate"]'],
                                out=tmp_path, quiet=True)
    m = out.metrics["pairing/max_abs_z"]
    assert isinstance(m, Undefined) and "has a data point" in m.reason


def test_song_abbott_with_every_weight_at_a_bound(tmp_path):
    """depression_ratio = 0 (no depression): every weight ends near gmax, no weight in
    the middle bins; the edge ratios were inf and failed the run ('headline metric is
    inf')."""
    out = runner.run_experiment("song_abbott_2000", small=True,
                                sets=["depression_ratio=0.0"], out=tmp_path, quiet=True)
    m = out.metrics
    assert isinstance(m["edge_ratio_high"], Undefined)
    assert "no weight in the middle bins" in m["edge_ratio_high"].reason
    assert m["bimodal"] in (True, False) and np.isfinite(m["fraction_near_gmax"])


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_scherr_arm_one_test_movement_has_no_sem(tmp_path):
    """n_test = 1 (valid: a quick look) gave every test_loss_sem NaN with NumPy's
    'Degrees of freedom <= 0' RuntimeWarning; it is Undefined, saying why, and the
    run completes."""
    out = runner.run_experiment("scherr_oneshot_arm", small=True, out=tmp_path,
                                sets=["n_test=1", "n_iter=2", "eval_every=1",
                                      "eprop_etas=[1e-3]"], quiet=True)
    sem = {k: v for k, v in out.metrics.items() if k.startswith("test_loss_sem/")}
    assert sem and all(isinstance(v, Undefined) and "n_test = 1" in v.reason
                       for v in sem.values())
    with results.load(out.path) as run:
        assert run.status == "complete"
        assert isinstance(run.metrics["test_loss_sem/lsg"], Undefined)
