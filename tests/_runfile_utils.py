"""Helpers shared by the run-file tests: compare two run files dataset by dataset."""
import os
import sys

import h5py
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOY = os.path.join(REPO, "tests", "toy_random_walk.py")

#: root attributes that legitimately differ between two runs of the same config
VOLATILE = {"created", "finished", "wall_time_s", "run_id", "resumed", "git_commit"}


def experiment_module(name):
    """The module of the registered experiment ``name`` (experiments/NAME.py), loaded
    as `plasticity run` loads it (plasticity.experiments.load)."""
    from plasticity import experiments
    return experiments.load(name).module


def env(**extra):
    """Environment for a subprocess that imports plasticity from this checkout."""
    e = dict(os.environ)
    e["PYTHONPATH"] = REPO + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.pop("TOY_STEP_SLEEP", None)
    e.pop("TOY_INTERRUPT_AT", None)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def plasticity_cmd(*args):
    return [sys.executable, "-m", "plasticity", *args]


def _attrs(obj, skip=()):
    out = {}
    for k, v in obj.attrs.items():
        if k in skip:
            continue
        out[k] = v.tolist() if isinstance(v, np.ndarray) else v
    return out


def dump(path):
    """{object path: (kind, dtype, value, attrs)} of a whole HDF5 file."""
    out = {}
    with h5py.File(path, "r") as f:
        out["/"] = ("group", None, None, _attrs(f, VOLATILE))

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = ("dataset", str(obj.dtype), obj[()], _attrs(obj))
            else:
                out[name] = ("group", None, None, _attrs(obj))
        f.visititems(visit)
    return out


def assert_same_run(a, b):
    """Assert that run files ``a`` and ``b`` hold identical objects, data and attrs."""
    da, db = dump(a), dump(b)
    assert sorted(da) == sorted(db), (sorted(set(da) ^ set(db)))
    for k in da:
        ka, ta, va, aa = da[k]
        kb, tb, vb, ab = db[k]
        assert (ka, ta) == (kb, tb), k
        assert aa == ab, (k, aa, ab)
        if ka == "dataset":
            assert np.array_equal(va, vb), k
