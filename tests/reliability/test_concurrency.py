"""Two runs with the same output (issue 16): the second is refused with a clear message
(the first holds an exclusive lock on NAME.h5.lock) instead of replacing the first
one's live .partial; a reader opening a file still being written is told so; a run
killed with -9 leaves no lock behind."""
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from plasticity import results
from plasticity.cli import main

from _runfile_utils import TOY, env

HOLD = """
import sys, time
from plasticity import results
rec = results.Recorder(sys.argv[1], experiment="toy_random_walk", config={}, seed=0)
rec.add_population("inputs", "poisson", 4)
rec.flush()
print("LOCKED", flush=True)
time.sleep(3600)
"""


def _first_recorder(path):
    rec = results.Recorder(path, experiment="toy_random_walk", config={}, seed=0)
    rec.add_population("inputs", "poisson", 4)
    rec.append_spikes("inputs", np.array([1.0, 2.0]), np.array([0, 3]))
    rec.flush()
    return rec


def test_second_run_with_the_same_output_is_refused(tmp_path, capsys):
    path = str(tmp_path / "run.h5")
    first = _first_recorder(path)
    size = os.path.getsize(first.partial_path)
    rc = main(["run", TOY, "--small", "--quiet", "--out", str(tmp_path), "--name", "run",
               "--force"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"{path} is being written by another run (pid {os.getpid()})" in err
    assert "wait for it to finish or choose another --out/--name" in err
    # the first run's live file was not replaced: it finishes with its own data
    assert os.path.getsize(first.partial_path) >= size
    first.close()
    with results.load(path) as run:
        assert run.spikes("inputs").node_ids.tolist() == [0, 3]
    assert not os.path.exists(results.lock_path(path))
    # once the first is done, the same command runs (--force replaces the complete run)
    assert main(["run", TOY, "--small", "--quiet", "--out", str(tmp_path), "--name", "run",
                 "--force"]) == 0


def test_api_gets_the_same_refusal(tmp_path):
    path = str(tmp_path / "run.h5")
    first = _first_recorder(path)
    with pytest.raises(results.RunLocked, match=r"is being written by another run"):
        results.Recorder(path, experiment="toy_random_walk", config={}, seed=0,
                         overwrite=True)
    first.close()
    results.Recorder(path, experiment="toy_random_walk", config={}, seed=0,
                     overwrite=True).close()


def test_reader_of_a_file_being_written_is_told_so(tmp_path, capsys):
    path = str(tmp_path / "run.h5")
    first = _first_recorder(path)
    with pytest.raises(results.RunLocked, match=r"run.h5.partial is still being written "
                                                r"by a running run .*; read it once the "
                                                r"run has finished"):
        results.load(first.partial_path, allow_partial=True)
    assert main(["inspect", first.partial_path]) == 2
    err = capsys.readouterr().err
    assert "still being written" in err and "damaged" not in err
    first.close()
    with results.load(path) as run:
        assert run.status == "complete"


def test_a_killed_writer_leaves_no_lock(tmp_path, capsys):
    path = str(tmp_path / "run.h5")
    p = subprocess.Popen([sys.executable, "-c", HOLD, path], env=env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()  # blocks until the writer holds the lock
        assert line.strip() == "LOCKED", p.stderr.read()
        assert results.is_being_written(results.partial_path(path))
        rc = main(["run", TOY, "--small", "--quiet", "--out", str(tmp_path), "--name",
                   "run"])
        assert rc == 2
        assert f"(pid {p.pid})" in capsys.readouterr().err
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
    assert not results.is_being_written(results.partial_path(path))
    assert main(["run", TOY, "--small", "--quiet", "--out", str(tmp_path), "--name",
                 "run"]) == 0
    with results.load(path) as run:
        assert run.status == "complete"
