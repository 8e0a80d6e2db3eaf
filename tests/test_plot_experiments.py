"""Every plot kind on every experiment's run file (issue 20, item 2).

Each experiment (whatever ``plasticity.experiments.available()`` lists, so new ones are
picked up) runs its ``--small`` configuration once, in a subprocess, as
``plasticity run NAME --small`` does; a few slow ones get extra ``--set`` reductions
(:data:`EXTRA_SETS`) that keep the same recordings. Then every kind that
:func:`plasticity.plots.applicable` says applies must draw (a PNG that decodes, with a
unit on every labelled axis), and every other kind must be refused by
``plasticity plot`` with exit status 2 and one line, without a traceback.

Experiments whose datasets are absent (neither ``$PLASTICITY_DATA``, ``./data`` nor
``../shared/data``) are skipped. An experiment added after this test was written whose
``--small`` run fails (one still being developed) is an expected failure that says
why; an established one that fails is a failure.

Set ``PLASTICITY_TEST_RUNS=DIR`` to keep the run files between test sessions (a
complete run file is not run again).
"""
import os
import subprocess
import sys
import warnings

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402

from plasticity import experiments, plots, results  # noqa: E402
from plasticity.cli import PLOT_KINDS, main  # noqa: E402

from _runfile_utils import REPO, env  # noqa: E402

#: the experiments that existed when this test was written: their --small run must work
ESTABLISHED = {
    "bi_poo_1998", "diehl_cook_2015", "eprop_evidence_accumulation",
    "eprop_pattern_generation", "izhikevich_2003", "kheradpisheh_caltech",
    "kheradpisheh_eth80", "kheradpisheh_mnist", "pfister_gerstner_2006",
    "scherr_oneshot_arm", "scherr_oneshot_omniglot", "song_abbott_2000",
    "song_abbott_2000_competition",
}

#: datasets an experiment reads (a folder of $PLASTICITY_DATA, ./data or ../shared/data)
DATASETS = {
    "diehl_cook_2015": "mnist", "kheradpisheh_mnist": "mnist",
    "kheradpisheh_caltech": "caltech101", "kheradpisheh_eth80": "eth80",
    "scherr_oneshot_omniglot": "omniglot",
}

#: reductions on top of --small for the slow ones (the same datasets are written, for
#: fewer images): the figures need the recordings, not the --small result
EXTRA_SETS = {
    "diehl_cook_2015": ["n_train=300", "n_assign=300", "n_assign_online=300",
                        "n_test=200"],
    "kheradpisheh_caltech": ["images1=100", "images2=100", "images3=100"],
    "kheradpisheh_eth80": ["images1=100", "images2=100", "images3=100"],
    "kheradpisheh_mnist": ["images1=500", "images2=500", "n_svm_train=1000"],
}

#: seconds one --small run may take before it counts as failed
TIMEOUT_S = 900

#: axis labels without a unit that are fine: counts and dimensionless numbers
UNITLESS = {"iteration", "outer iteration", "epoch", "eta", "step", "trial",
            "training images"}


def _data_root(name):
    """The directory holding dataset ``name``, or None."""
    for c in (os.environ.get("PLASTICITY_DATA"), os.path.join(REPO, "data"),
              os.path.join(REPO, "..", "shared", "data")):
        if c and os.path.isdir(os.path.join(c, name)) and os.listdir(os.path.join(c, name)):
            return os.path.abspath(c)
    return None


def _any_data_root():
    for c in (os.environ.get("PLASTICITY_DATA"), os.path.join(REPO, "data"),
              os.path.join(REPO, "..", "shared", "data")):
        if c and os.path.isdir(c):
            return os.path.abspath(c)
    return None


@pytest.fixture(scope="module")
def run_files(tmp_path_factory):
    """name -> ("ok", path) | ("skip", why) | ("xfail", why), filled on first use."""
    cache = {}
    keep = os.environ.get("PLASTICITY_TEST_RUNS")
    out = keep or str(tmp_path_factory.mktemp("experiment_runs"))

    def get(name):
        if name not in cache:
            cache[name] = _run(name, out)
        return cache[name]
    return get


def _run(name, out):
    ds = DATASETS.get(name)
    root = _data_root(ds) if ds else _any_data_root()
    if ds and root is None:
        return "skip", f"{name} needs the {ds} dataset (set PLASTICITY_DATA; data/README.md)"
    # --resume: a complete run file kept from an earlier session is used as it is
    cmd = [sys.executable, "-m", "plasticity", "run", name, "--small", "--out", out,
           "--quiet", "--resume"]
    for s in EXTRA_SETS.get(name, ()):
        cmd += ["--set", s]
    e = env(**({"PLASTICITY_DATA": root} if root else {}))
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=TIMEOUT_S,
                           cwd=out)
    except subprocess.TimeoutExpired:
        why = f"{name} --small did not finish in {TIMEOUT_S} s"
        return ("fail" if name in ESTABLISHED else "xfail"), why
    if p.returncode != 0:
        lines = p.stderr.strip().splitlines() or ["(no message)"]
        # the CLI's one-line error, or the last line of a traceback
        last = lines[-1] if lines[0].startswith("Traceback") else lines[0]
        # a missing dataset: refused before the run (the experiment's find_data) or
        # a DatasetError inside it
        if "DatasetError" in p.stderr or " not found" in lines[0]:
            return "skip", f"{name}: dataset missing: {last}"
        why = f"{name} --small failed (exit {p.returncode}): {last}"
        return ("fail" if name in ESTABLISHED else "xfail"), why
    path = p.stdout.strip().splitlines()[0]
    return "ok", path if os.path.isabs(path) else os.path.join(out, path)


def _labels_with_units(fig):
    """The axis labels of ``fig`` that lack a unit: '(...)' or a count word."""
    bad = []
    for ax in fig.axes:
        if not ax.axison:
            continue
        for which, label, ticks in (("x", ax.get_xlabel(), ax.get_xticks()),
                                    ("y", ax.get_ylabel(), ax.get_yticks())):
            if len(ticks) == 0:  # an image panel without axes
                continue
            text = " ".join(label.split())
            if not text:
                # a shared x axis is labelled on the bottom panel only
                if which == "x" and any(o is not ax and o.get_xlabel()
                                        for o in ax.get_shared_x_axes().get_siblings(ax)):
                    continue
                bad.append(f"{which} axis of {ax.get_title()!r} has no label")
            elif "(" not in text and text not in UNITLESS:
                bad.append(f"{which} label {text!r} has no unit")
    return bad


@pytest.mark.parametrize("name", experiments.available())
def test_every_plot_kind_on_the_small_run(name, run_files, tmp_path, capsys):
    status, what = run_files(name)
    if status == "skip":
        pytest.skip(what)
    if status == "xfail":
        pytest.xfail(what)
    assert status == "ok", what
    with results.load(what) as run:
        which = plots.applicable(run)
        assert set(which) == set(PLOT_KINDS), "plots.KINDS and the CLI's kinds differ"
        applies = [k for k, why in which.items() if why is None]
        assert applies, f"{name}: no plot kind applies: {which}"
        for kind in applies:
            fig = plots.plot(run, kind)
            assert not _labels_with_units(fig), (name, kind, _labels_with_units(fig))
            png = str(tmp_path / f"{kind}.png")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fig.savefig(png, dpi=40)
            crowded = [str(w.message) for w in caught if "collapsed" in str(w.message)]
            assert not crowded, (name, kind, crowded)  # axes crowded out by labels
            img = matplotlib.image.imread(png)
            assert img.ndim == 3 and img.shape[0] > 50 and img.shape[1] > 50
            # something was drawn: not a blank canvas
            assert img[..., :3].std() > 0.01, (name, kind, "blank figure")
    # the CLI: an applicable kind writes its file; the others say why in one line
    rc = main(["plot", what, applies[0], "--out", str(tmp_path / "cli.png"), "--dpi", "40"])
    out, err = capsys.readouterr()
    assert rc == 0 and out.strip() == str(tmp_path / "cli.png"), err
    for kind, why in which.items():
        if why is None:
            continue
        rc = main(["plot", what, kind, "--out", str(tmp_path / "no.png")])
        out, err = capsys.readouterr()
        assert rc == 2, (name, kind, rc, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("plasticity: error: "), (kind, err)
        assert "Traceback" not in err and not os.path.exists(tmp_path / "no.png")


EXPECTED = {  # kinds that must apply (the failures reported in issue 20)
    "song_abbott_2000": {"raster", "rates", "weights"},
    "diehl_cook_2015": {"raster", "rates", "weights", "receptive-fields", "accuracy",
                        "confusion"},
    "izhikevich_2003": {"raster", "rates", "state"},
    "eprop_pattern_generation": {"curves"},
    "eprop_evidence_accumulation": {"curves"},
    "kheradpisheh_mnist": {"weights", "receptive-fields", "convergence", "accuracy",
                           "confusion"},
    "bi_poo_1998": {"stdp-window"},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_kinds_issue_20_found_broken_apply(name, run_files):
    status, what = run_files(name)
    if status != "ok":
        pytest.skip(what)
    with results.load(what) as run:
        which = plots.applicable(run)
        missing = {k: which[k] for k in EXPECTED[name] if which[k] is not None}
        assert not missing, missing
        if name in ("song_abbott_2000", "diehl_cook_2015"):
            # the inputs' spikes are not recorded: no empty panel for them
            fig = plots.raster(run)
            drawn = [ax.get_ylabel().split("\n")[0] for ax in fig.axes if ax.get_ylabel()]
            assert drawn
            for pop in drawn:
                t0, t1 = run.time_range(pop)
                assert t1 > t0 or run.spikes(pop).times.size, f"empty panel of {pop!r}"
