"""The `plasticity` command (plasticity/cli.py): exit codes, messages, outputs."""
import os
import shutil
import subprocess
import h5py
import pytest

from plasticity import results
from plasticity.cli import PLOT_KINDS, main

from _runfile_utils import REPO, TOY, assert_same_run, env, plasticity_cmd

tomllib = pytest.importorskip("tomllib")


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    assert main(["run", TOY, "--small", "--out", str(d), "--name", "toy.h5", "--quiet"]) == 0
    return str(d / "toy.h5")


def _run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_list_one_line_per_experiment(tmp_path, capsys, monkeypatch):
    shutil.copy(TOY, tmp_path / "toy_random_walk.py")
    (tmp_path / "broken.py").write_text("import not_a_module_xyz\n")
    monkeypatch.setenv("PLASTICITY_EXPERIMENT_PATH", str(tmp_path))
    rc, out, _ = _run(capsys, "list")
    assert rc == 0
    lines = out.strip().splitlines()
    assert any(l.startswith("toy_random_walk") and "Toy random walk of weights" in l
               for l in lines)
    assert any(l.startswith("broken") and "cannot be imported" in l for l in lines)
    assert len(lines) >= 2
    rc, out, _ = _run(capsys, "run", "toy_random_walk", "--small", "--out", str(tmp_path),
                      "--quiet")
    assert rc == 0 and "toy_random_walk_seed0_" in out


def test_run_prints_path_and_metrics(tmp_path, capsys):
    rc, out, err = _run(capsys, "run", TOY, "--small", "--out", str(tmp_path), "--seed", "5",
                        "--quiet")
    assert rc == 0, err
    lines = out.splitlines()
    path = lines[0]
    assert path.endswith(".h5") and "seed5" in path and os.path.exists(path)
    assert any(l.strip().startswith("mean_weight = ") for l in lines[1:])
    assert any(l.strip().startswith("test_accuracy = ") for l in lines[1:])
    with results.load(path) as run:
        assert run.seed == 5 and run.config["n_steps"] == 40
    # the same run again: refused (exit 2) unless --resume (kept) or --force
    rc, out, err = _run(capsys, "run", TOY, "--small", "--out", str(tmp_path), "--seed", "5")
    assert rc == 2 and "already exists" in err
    rc, out, err = _run(capsys, "run", TOY, "--small", "--out", str(tmp_path), "--seed", "5",
                        "--resume")
    assert rc == 0 and "already complete" in err and out.splitlines()[0] == path
    rc, out, err = _run(capsys, "run", TOY, "--small", "--out", str(tmp_path), "--seed", "5",
                        "--force", "--quiet")
    assert rc == 0


@pytest.mark.parametrize("argv, match", [
    (["run", "no_such_experiment"], "unknown experiment 'no_such_experiment'"),
    (["run", TOY, "--set", "n_step=3"], "did you mean 'n_steps'"),
    (["run", TOY, "--set", "rate_hz=-1"], "'rate_hz' must be >= 0.0 Hz, got -1.0"),
    (["run", TOY, "--config", "/nonexistent.toml"], "does not exist"),
    (["run", TOY, "--seed", "-1"], "seed must be an integer >= 0"),
    (["inspect", "/nonexistent.h5"], "no such run file"),
    (["plot", "/nonexistent.h5", "raster"], "no such run file"),
])
def test_usage_and_config_errors_exit_2_with_one_message(argv, match, capsys, tmp_path):
    rc, out, err = _run(capsys, *argv, *(["--out", str(tmp_path)] if argv[0] == "run" else []))
    assert rc == 2
    assert match in err
    assert "Traceback" not in err
    assert err.count("plasticity: error:") == 1


def test_argparse_errors_exit_2(capsys):
    assert main(["plot", "x.h5", "not-a-kind"]) == 2
    assert main([]) == 2
    assert main(["--help"]) == 0
    capsys.readouterr()


def test_failure_during_run_exits_1_and_names_partial(tmp_path, capsys):
    rc, out, err = _run(capsys, "run", TOY, "--small", "--out", str(tmp_path), "--name",
                        "f.h5", "--set", "fail_at_step=10", "--checkpoint-every", "0")
    assert rc == 1
    partial = str(tmp_path / "f.h5.partial")
    assert "toy failure at step 10" in err and partial in err
    assert "checkpoint" in err and "--resume" in err
    assert not os.path.exists(tmp_path / "f.h5")
    with h5py.File(partial) as f:
        assert f.attrs["status"] == "failed"
        assert "RuntimeError" in f.attrs["error_traceback"]


def test_inspect_summarises(toy_run, capsys):
    rc, out, err = _run(capsys, "inspect", toy_run)
    assert rc == 0, err
    with results.load(toy_run) as run:
        t, _ = run.spikes("inputs")
        n = run.populations["inputs"]["n"]
        t0, t1 = run.time_range("inputs")
        rate = t.size / (n * (t1 - t0) / 1000.0)
        w = run.weights("in_to_out", snapshot=None).data
    assert "experiment  toy_random_walk (seed 0)" in out
    assert "status      complete" in out
    assert "n_steps = 40" in out and "noise.sigma = 0.02" in out
    assert f"spikes={t.size}" in out and f"mean rate={rate:.3g} Hz" in out
    assert f"mean={w.mean():.4g}" in out and "snapshots=4" in out
    assert "* mean_weight = " in out and "accuracy/train" in out
    assert "out_monitor  drive, v  (8 samples)" in out


def test_inspect_partial_and_non_run_files(tmp_path, capsys):
    _run(capsys, "run", TOY, "--small", "--out", str(tmp_path), "--name", "f.h5", "--set",
         "fail_at_step=3")
    rc, out, err = _run(capsys, "inspect", str(tmp_path / "f.h5.partial"))
    assert rc == 0 and "status      failed" in out and "toy failure" in out
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    rc, out, err = _run(capsys, "inspect", str(junk))
    assert rc == 2 and "not an HDF5 file" in err


@pytest.mark.parametrize("kind", [k for k in PLOT_KINDS if k not in ("stdp-window", "curves")])
def test_plot_kinds_write_images(kind, toy_run, tmp_path, capsys):
    out_file = str(tmp_path / f"{kind}.png")
    rc, out, err = _run(capsys, "plot", toy_run, kind, "--out", out_file)
    assert rc == 0, err
    assert out.strip() == out_file
    with open(out_file, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_default_name_and_missing_data(toy_run, capsys):
    rc, out, err = _run(capsys, "plot", toy_run, "weights")
    assert rc == 0 and out.strip() == toy_run[:-3] + "_weights.png"
    assert os.path.exists(out.strip())
    rc, out, err = _run(capsys, "plot", toy_run, "stdp-window")
    assert rc == 2 and "no measured STDP window" in err and "Traceback" not in err
    rc, out, err = _run(capsys, "plot", toy_run, "raster", "--select", "nope")
    assert rc == 2 and "no population 'nope'" in err


def test_config_command_prints_valid_toml(capsys, tmp_path):
    rc, out, err = _run(capsys, "config", TOY, "--set", "eta=0.5")
    assert rc == 0
    d = tomllib.loads(out)
    assert d["eta"] == 0.5 and d["noise"]["sigma"] == 0.02
    f = tmp_path / "c.toml"
    f.write_text(out)
    rc, out2, _ = _run(capsys, "config", TOY, "--config", str(f))
    assert out2 == out


@pytest.mark.parametrize("name", ["diehl_cook_2015", "kheradpisheh_mnist",
                                  "kheradpisheh_caltech", "kheradpisheh_eth80",
                                  "scherr_oneshot_omniglot"])
def test_config_command_needs_no_dataset(name, capsys, tmp_path, monkeypatch):
    """`plasticity config` prints (and `--config` reads back) the config of an
    experiment whose dataset is missing: the dataset is a note on stderr naming it and
    how to point at it (it was an error, exit 2, without PLASTICITY_DATA); `run` still
    refuses before any work."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    monkeypatch.setenv("PLASTICITY_DATA", str(empty))
    monkeypatch.chdir(tmp_path)
    for small in ((), ("--small",)):
        rc, out, err = _run(capsys, "config", name, *small)
        assert rc == 0, err
        assert out.startswith(f"# {name}: ")
        assert "data_dir" in tomllib.loads(out)
        assert err.startswith("plasticity: note: `plasticity run` will need the data: ")
        assert "not found" in err and "PLASTICITY_DATA" in err
        assert "--set data_dir=DIR" in err
    f = tmp_path / "c.toml"
    f.write_text(out)
    rc, out2, _ = _run(capsys, "config", name, "--config", str(f))
    assert rc == 0 and out2.splitlines()[1:] == out.splitlines()[1:]
    monkeypatch.delenv("PLASTICITY_DATA")
    rc, _, err = _run(capsys, "config", name)
    assert rc == 0 and "data/" in err
    rc, out, err = _run(capsys, "run", name, "--small", "--out", str(tmp_path / "o"))
    assert rc == 2 and err.startswith(f"plasticity: error: {name}: ") and "not found" in err
    assert "--set data_dir=DIR" in err
    assert not (tmp_path / "o").exists()


def test_rerun_from_stored_config_gives_same_data(toy_run, tmp_path, capsys):
    rc, out, err = _run(capsys, "run", TOY, "--config", toy_run, "--out", str(tmp_path),
                        "--name", "toy.h5", "--quiet")
    assert rc == 0, err
    assert_same_run(str(tmp_path / "toy.h5"), toy_run)


def test_python_dash_m_subprocess(tmp_path):
    e = env()
    p = subprocess.run(plasticity_cmd("--help"), env=e, capture_output=True, text=True,
                       cwd=REPO)
    assert p.returncode == 0 and "inspect" in p.stdout
    p = subprocess.run(plasticity_cmd("run", TOY, "--set", "n_steps=x", "--out", str(tmp_path)),
                       env=e, capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert p.stderr.strip().startswith("plasticity: error: config key 'n_steps'")
    p = subprocess.run(plasticity_cmd("run", TOY, "--small", "--set", "fail_at_step=2",
                                      "--out", str(tmp_path)), env=e, capture_output=True,
                       text=True)
    assert p.returncode == 1 and ".h5.partial" in p.stderr and "Traceback" not in p.stderr
