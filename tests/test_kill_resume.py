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
