"""Determinism: every experiment of `plasticity list`, at its small config, run twice
with the same seed (in two separate processes, the first on one thread, the second on
THREADS: the results do not depend on the number of threads) gives identical run
files, object by object: the same groups, datasets (dtype, shape, every value) and
attributes.

Excepted: the root attributes that record when and where it ran (_runfile_utils.
VOLATILE) and the metrics that measure the machine (VOLATILE_METRICS).
"""
import os
import subprocess

import numpy as np
import pytest

from plasticity import experiments

from _runfile_utils import dump, env, plasticity_cmd

#: metrics that measure the machine, not the model
VOLATILE_METRICS = {"cpu_seconds", "wall_seconds", "wall_time_s", "seconds_per_image"}
#: extra --set overrides keeping a run short (speed is measured in benchmarks/, not here)
SHORTEN = {
    "song_abbott_2000": ["duration=5000"],
    "eprop_pattern_generation": ["n_iter=10"],
    "eprop_evidence_accumulation": ["n_iter=2", "batch=8", "validate_every=1"],
    "diehl_cook_2015": ["n_e=10", "n_train=20", "n_assign=20", "n_assign_online=20",
                        "n_test=20"],
    "kheradpisheh_mnist": ["images1=200", "images2=200", "n_svm_train=500", "n_test=200"],
    "kheradpisheh_caltech": ["images1=100", "images2=100", "images3=100",
                             "n_train_per_class=20"],
    "kheradpisheh_eth80": ["images1=100", "images2=100", "images3=100", "maps2=20",
                           "maps3=20"],
}
#: the shared datasets beside the checkout (tests and CI may use them; data/README.md)
SHARED_DATA = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                           "shared", "data"))
SEED = 7
#: the second run's threads (PLASTICITY_THREADS; the first runs on one); 3 on any
#: machine, so that the partition is uneven (the load watch may run fewer: the same
#: numbers either way)
THREADS = 3


def _timing(metric):
    """Metrics that time the machine (wall or CPU seconds), not the model."""
    import re
    return re.search(r"(^|_)(wall|cpu)(_|$)|seconds|per_sec|images_per_s", metric) is not None


def _compare(a, b):
    da, db = dump(a), dump(b)
    skip = {k for k in set(da) | set(db)
            if k.startswith("metrics/") and (k.split("/")[-1] in VOLATILE_METRICS or
                                             _timing(k.split("/")[-1]))}
    ka, kb = set(da) - skip, set(db) - skip
    assert ka == kb, f"objects differ: {sorted(ka ^ kb)}"
    n = 0
    for k in sorted(ka):
        kind_a, dt_a, va, aa = da[k]
        kind_b, dt_b, vb, ab = db[k]
        assert (kind_a, dt_a) == (kind_b, dt_b), k
        assert aa == ab, (k, aa, ab)
        if kind_a == "dataset":
            if isinstance(va, np.ndarray):
                assert va.shape == vb.shape, k
                assert np.array_equal(va, vb, equal_nan=va.dtype.kind == "f"), k
            else:
                assert va == vb or (va != va and vb != vb), k
            n += 1
    return n


@pytest.mark.parametrize("name", experiments.available())
def test_same_seed_same_datasets(name, tmp_path):
    runs = []
    for i in (1, 2):
        out = tmp_path / f"run{i}"
        cmd = plasticity_cmd("run", name, "--small", "--seed", str(SEED), "--out", str(out),
                             "--name", "run.h5", "--quiet",
                             *[a for s in SHORTEN.get(name, []) for a in ("--set", s)])
        extra = ({"PLASTICITY_DATA": SHARED_DATA} if os.path.isdir(SHARED_DATA)
                 and "PLASTICITY_DATA" not in os.environ else {})
        extra["PLASTICITY_THREADS"] = 1 if i == 1 else THREADS
        runs.append((out, subprocess.Popen(cmd, env=env(**extra), stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE, text=True,
                                           cwd=str(tmp_path))))
    results = []
    for out, p in runs:
        stdout, stderr = p.communicate()
        results.append((out, p.returncode, stderr))
    for out, rc, stderr in results:
        if rc != 0 and ("DatasetError" in stderr or "not found" in stderr):
            pytest.skip(f"{name} needs a dataset that is not installed: "
                        f"{stderr.strip().splitlines()[0][:200]}")
        assert rc == 0, stderr
    n = _compare(str(results[0][0] / "run.h5"), str(results[1][0] / "run.h5"))
    print(f"\n{name}: {n} datasets identical")
    assert n > 0
