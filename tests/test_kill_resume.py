"""kill -9 a running experiment at random moments, then --resume (real processes).

Issue 3: after every kill, no ``.h5`` file is unreadable or incomplete, and the resumed
run ends with datasets identical to those of an uninterrupted run.
"""
import glob
import os
import random
import shutil
import subprocess

import pytest

from plasticity import results, runner

from _runfile_utils import TOY, assert_same_run, env, plasticity_cmd

N_KILLS = 20


def _check_no_bad_h5(directory, reference):
    for path in glob.glob(os.path.join(directory, "*.h5")):
        with results.load(path) as run:  # raises unless readable and complete
            assert run.status == "complete"
        assert_same_run(path, reference)


def test_kill9_at_random_moments_then_resume(tmp_path, monkeypatch):
    monkeypatch.delenv("TOY_STEP_SLEEP", raising=False)
    ref = runner.run_experiment(TOY, out=str(tmp_path / "ref"), filename="run.h5",
                                quiet=True).path
    out = str(tmp_path / "killed")
    cmd = plasticity_cmd("run", TOY, "--out", out, "--name", "run.h5", "--resume",
                         "--checkpoint-every", "0.02")
    e = env(TOY_STEP_SLEEP=0.004)
    rnd = random.Random(20240603)
    kills = resumed = restarted = finished_chains = 0
    moments = []
    while kills < N_KILLS:
        proc = subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        delay = rnd.uniform(0.05, 1.5)
        try:
            stdout, stderr = proc.communicate(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.kill()  # SIGKILL
            stdout, stderr = proc.communicate()
            kills += 1
            moments.append(round(delay, 3))
            _check_no_bad_h5(out, ref)
            # a .partial is never mistaken for a run
            for p in glob.glob(os.path.join(out, "*.partial")):
                with pytest.raises(results.RunFileError):
                    results.load(p)
        else:
            assert proc.returncode == 0, stderr
            _check_no_bad_h5(out, ref)
            assert os.path.exists(os.path.join(out, "run.h5"))
            assert not glob.glob(os.path.join(out, "*.ckpt")), "checkpoint left behind"
            finished_chains += 1
            shutil.rmtree(out)  # start a new chain of kills
        resumed += "resumed from checkpoint" in stderr
        restarted += "cannot resume" in stderr
    proc = subprocess.run(cmd, env=e, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    resumed += "resumed from checkpoint" in proc.stderr
    final = os.path.join(out, "run.h5")
    assert_same_run(final, ref)
    assert sorted(os.listdir(out)) == ["run.h5"]
    print(f"\nkill test: {kills} kills at {moments}; {resumed} resumes from a checkpoint, "
          f"{restarted} fresh restarts after an unusable checkpoint, "
          f"{finished_chains} chains finished between kills")
    # the resumes must really continue from checkpoints, not silently start over
    assert resumed >= N_KILLS // 3, (resumed, restarted)


# ----------------------------------------------------------- one experiment per engine
# Issue 16 ("resume must be exercised"): kill -9 each engine's experiment right after
# it has written a new checkpoint, resume it from that checkpoint (the resumed process
# must say so, from a step > 0), and compare every dataset of the finished file with
# an uninterrupted run's (metrics that time the machine excepted).

#: name, --set overrides: long enough for many checkpoints, short enough for a test
ENGINES = {
    # network engine: the README's main job, 200 blocks of 100 ms (one checkpoint each)
    "song_abbott_2000": ["duration=20000", "snapshot_interval=100"],
    # RSNN engine: e-prop, one checkpoint per iteration
    "eprop_pattern_generation": ["n_iter=60", "methods=['eprop_random', 'bptt']",
                                 "n_rec=50", "duration=500", "periods=[500, 250]"],
    # conv engine: Kheradpisheh on MNIST, one checkpoint per batch of 10 training
    # images (the a+ schedule), 2 x 400 images (no early stop), a small readout
    "kheradpisheh_mnist": ["n_unsup=2000", "images1=400", "images2=400",
                           "lr_double_every=10", "convergence=1e-9", "maps1=8",
                           "maps2=10", "n_svm_train=500", "n_test=200", "n_jobs=1"],
}
#: datasets the engines' experiments need: name -> (config key, files)
DATASETS = {"kheradpisheh_mnist": ("mnist", ["train-images-idx3-ubyte.gz",
                                             "train-labels-idx1-ubyte.gz",
                                             "t10k-images-idx3-ubyte.gz",
                                             "t10k-labels-idx1-ubyte.gz"])}
KILLS = 3


def _ckpt_step(path):
    import h5py
    try:
        with h5py.File(path, "r") as c:
            return int(c.attrs["step"]), str(c.attrs["created"])
    except Exception:  # noqa: BLE001 - absent, or replaced while we read it
        return None


def _same_but_timing(a, b):
    import re

    import numpy as np

    from _runfile_utils import dump
    da, db = dump(a), dump(b)

    def timing(k):
        return k.startswith("metrics/") and re.search(
            r"(^|_)(wall|cpu)(_|$)|seconds|per_s(ec)?(_|$)", k.split("/")[-1]) is not None
    ka = {k for k in da if not timing(k)}
    kb = {k for k in db if not timing(k)}
    assert ka == kb, sorted(ka ^ kb)
    for k in sorted(ka):
        kind_a, dt_a, va, aa = da[k]
        kind_b, dt_b, vb, ab = db[k]
        assert (kind_a, dt_a, aa) == (kind_b, dt_b, ab), k
        if kind_a == "dataset":
            if isinstance(va, np.ndarray):
                assert va.shape == vb.shape and np.array_equal(
                    va, vb, equal_nan=va.dtype.kind == "f"), k
            else:
                assert va == vb, k
    return len(ka)


@pytest.mark.parametrize("name", list(ENGINES))
def test_kill9_after_a_checkpoint_then_resume_each_engine(name, tmp_path):
    import re
    import time
    sets = list(ENGINES[name])
    if name in DATASETS:
        from _data import find_dataset
        d = find_dataset(*DATASETS[name])
        if d is None:
            pytest.skip(f"{DATASETS[name][0]} files not found (set PLASTICITY_DATA)")
        sets.append(f"data_dir={d}")
    sets = [a for s in sets for a in ("--set", s)]
    ref = tmp_path / "ref"
    p = subprocess.run(plasticity_cmd("run", name, *sets, "--out", str(ref), "--name",
                                      "run.h5", "--quiet"), env=env(), capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    out = tmp_path / "killed"
    cmd = plasticity_cmd("run", name, *sets, "--out", str(out), "--name", "run.h5",
                         "--resume", "--checkpoint-every", "0")
    ckpt = str(out / "run.h5.ckpt")
    resumed_steps = []
    for k in range(KILLS):
        before = _ckpt_step(ckpt)
        proc = subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        # wait (however long the machine takes) until this process has written a
        # checkpoint of its own, then kill -9 it in the middle of what follows
        while proc.poll() is None:
            now = _ckpt_step(ckpt)
            if now is not None and now != before:
                break
            time.sleep(0.002)
        proc.kill()
        _, stderr = proc.communicate()
        assert proc.returncode == -9, f"the run ended before it could be killed:\n{stderr}"
        assert not (out / "run.h5").exists()
        if k:
            m = re.search(r"resumed from checkpoint at step (\d+)", stderr)
            assert m, stderr
            resumed_steps.append(int(m.group(1)))
    p = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    m = re.search(r"resumed from checkpoint at step (\d+)", p.stderr)
    assert m, p.stderr
    resumed_steps.append(int(m.group(1)))
    assert all(s > 0 for s in resumed_steps) and resumed_steps == sorted(resumed_steps)
    assert sorted(os.listdir(out)) == ["run.h5"]
    with results.load(str(out / "run.h5")) as run:
        assert run.attrs["resumed"] == KILLS
    assert _same_but_timing(str(out / "run.h5"), str(ref / "run.h5")) > 10
