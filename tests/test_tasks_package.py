"""plasticity.tasks: the task and data code moved out of plasticity.rsnn; the old
import paths still work (the same objects), with a DeprecationWarning."""
import importlib
import subprocess
import sys
import warnings

import pytest

from _runfile_utils import env

MOVED = {"plasticity.rsnn.arm": "plasticity.tasks.arm",
         "plasticity.rsnn.tasks": "plasticity.tasks.eprop",
         "plasticity.rsnn.omniglot": "plasticity.tasks.omniglot"}


def _forget(name):
    sys.modules.pop(name, None)
    parent, _, child = name.rpartition(".")
    if parent in sys.modules and child in vars(sys.modules[parent]):
        delattr(sys.modules[parent], child)


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_old_module_paths_warn_and_are_the_new_modules(old, new):
    _forget(old)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        mod = importlib.import_module(old)
    assert mod is importlib.import_module(new)


@pytest.mark.parametrize("name, where", [("Arm", "arm"), ("clock_input", "arm"),
                                         ("random_movements", "arm"),
                                         ("frozen_poisson", "eprop"),
                                         ("sum_of_sines_target", "eprop"),
                                         ("evidence_accumulation_batch", "eprop")])
def test_old_names_in_rsnn_warn_and_are_the_new_objects(name, where):
    import plasticity.rsnn as rsnn
    new = importlib.import_module(f"plasticity.tasks.{where}")
    with pytest.warns(DeprecationWarning, match=f"plasticity.tasks.{where}"):
        obj = getattr(rsnn, name)
    assert obj is getattr(new, name)
    assert name not in rsnn.__all__


def test_new_paths_import_without_warnings_and_rsnn_does_not_need_them():
    code = ("import sys, warnings; warnings.simplefilter('error');"
            "import plasticity.rsnn, plasticity.experiments;"
            "assert not any(m.startswith('plasticity.tasks') for m in sys.modules), "
            "sorted(m for m in sys.modules if m.startswith('plasticity.tasks'));"
            "import plasticity.tasks;"
            "from plasticity.tasks.omniglot import OmniglotTasks;"
            "from plasticity.tasks import Arm, frozen_poisson")
    subprocess.run([sys.executable, "-c", code], check=True, env=env())


def test_unknown_rsnn_attribute_is_still_an_attribute_error():
    import plasticity.rsnn as rsnn
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="no_such_name"):
            rsnn.no_such_name


def test_old_omniglot_command_still_runs():
    out = subprocess.run([sys.executable, "-m", "plasticity.rsnn.omniglot", "--help"],
                         capture_output=True, text=True, env=env(), check=True)
    assert "--baselines" in out.stdout
    assert "plasticity.tasks.omniglot" in out.stdout


def test_omniglot_runs_as_a_module_without_warning():
    """`python -m plasticity.tasks.omniglot` (the baselines, docs/omniglot.md): the
    package does not import the module first, which made runpy warn."""
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m",
                        "plasticity.tasks.omniglot", "--help"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "--baselines" in r.stdout and "Warning" not in r.stderr
