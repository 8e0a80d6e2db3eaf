"""The Python examples of README.md and docs/*.md run as a user pastes them: each
file's blocks in order in one fresh namespace, in an empty working directory, with
DeprecationWarnings as errors (an example must not teach a moved import). Two rsnn.md
examples used names they never defined (NameError when pasted), and its first imported
``frozen_poisson`` from where it had moved. docs/writing-rules.md has its own test
(test_rule_language.py); the examples below are left out with the reason."""
import os
import re
import warnings

import numpy as np
import pytest

from _data import find_dataset

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NOT_RUN = {
    "writing-rules.md": "run by test_rule_language.test_the_docs_rules_build_and_run",
    "conv.md": "trains on MNIST for ~100 s (experiments/kheradpisheh_mnist.py is tested)",
    "sweeps.md": "a SLURM cluster, and sweeps with worker processes (test_sweep.py)",
    "internals.md": "no Python examples",
    "classic-results.md": "no Python examples",
}


def blocks(name):
    path = os.path.join(ROOT, name if name == "README.md" else os.path.join("docs", name))
    with open(path) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


def run_blocks(name, codes, tmp_path, monkeypatch, scope=None):
    monkeypatch.chdir(tmp_path)
    scope = {"__name__": "__main__"} if scope is None else scope
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for k, code in enumerate(codes):
            exec(compile(code, f"{name} example {k + 1}", "exec"), scope)
    return scope


def test_every_doc_with_examples_is_run_or_listed():
    docs = sorted(f for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md"))
    tested = {"README.md", "rsnn.md", "pynn.md", "omniglot.md", "run-file.md"}
    for name in ["README.md"] + docs:
        if blocks(name):
            assert name in tested or name in NOT_RUN, name


def test_readme(tmp_path, monkeypatch):
    s = run_blocks("README.md", blocks("README.md"), tmp_path, monkeypatch)
    assert s["spikes"].times.size > 0


def test_rsnn(tmp_path, monkeypatch):
    codes = blocks("rsnn.md")
    assert len(codes) == 3
    s = run_blocks("rsnn.md", codes, tmp_path, monkeypatch)
    assert np.isfinite(s["E"]) and np.isfinite(s["out"]["loss"]).all()
    assert s["rule"].grad is not None


def test_pynn(tmp_path, monkeypatch):
    pytest.importorskip("pyNN")
    import plasticity.pynn as sim
    try:
        run_blocks("pynn.md", blocks("pynn.md"), tmp_path, monkeypatch)
    finally:
        sim.end()


def test_run_file(tmp_path, monkeypatch):
    """run-file.md's reading examples on a run file of the main job (a short run);
    the last lines read a sweep: one is written first (one worker, no Dask)."""
    from plasticity import runner, sweep
    monkeypatch.chdir(tmp_path)
    runner.run_experiment("song_abbott_2000", out=str(tmp_path), filename="run.h5",
                          sets=["duration=2000"], quiet=True)
    sweep.run_sweep("song_abbott_2000", {"rate": [10.0]}, seeds=1,
                    sets=["duration=1000"], out="sweeps/song", workers=1, quiet=True)
    s = run_blocks("run-file.md", blocks("run-file.md"), tmp_path, monkeypatch)
    assert s["W"].shape == (1000, 1) and len(s["sweep"]) == 1


def test_omniglot(tmp_path, monkeypatch):
    from plasticity.tasks import omniglot
    d = find_dataset("omniglot", tuple(z + ".zip" for z in omniglot.BACKGROUND_ZIPS))
    if d is None:
        pytest.skip("the Omniglot files are not here (PLASTICITY_DATA)")
    monkeypatch.setenv("PLASTICITY_DATA", os.path.dirname(d)
                       if os.path.basename(d) == "omniglot" else d)
    s = run_blocks("omniglot.md", blocks("omniglot.md"), tmp_path, monkeypatch)
    assert s["enc"].x_support.shape == (300, 32, 784)
    assert s["features"] is not None
