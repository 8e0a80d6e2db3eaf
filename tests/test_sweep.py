"""Parameter sweeps (plasticity/sweep.py, `plasticity sweep`), issue 7.

The Dask tests use a real LocalCluster of 2 single-threaded worker processes; they are
skipped when dask.distributed is not installed. The serial path needs no Dask.
"""
import glob
import json
import os
import signal
import threading
import time

import h5py
import numpy as np
import pytest

from plasticity import sweep
from plasticity.cli import main
from plasticity.config import ConfigError

from _runfile_utils import TOY, assert_same_run

GRID = ["eta=0.05,0.1,0.2"]
SEEDS = 2
#: columns that legitimately differ between a parallel and a serial sweep
VOLATILE_COLUMNS = {"skipped"} | set(sweep.VOLATILE_METRICS)


def _dask():
    return pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    res = sweep.run_sweep(TOY, GRID, seeds=SEEDS, out=str(out), small=True, workers=1)
    assert res.n_complete == 6 and res.n_failed == 0
    return res


@pytest.fixture(scope="module")
def client():
    dd = _dask()
    cluster = dd.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=":0")
    c = dd.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _comparable(path):
    t = sweep.load_table(path)
    return {c["name"]: t.data[c["name"]].tolist() for c in t.columns
            if c["name"] not in VOLATILE_COLUMNS}


def _assert_same_sweep(a, b):
    ta, tb = _comparable(a.path), _comparable(b.path)
    assert ta == tb
    for pa, pb in zip(a.points, b.points):
        assert pa.run == pb.run
        assert_same_run(pa.path, pb.path)


def test_table_layout_and_links(serial):
    t = sweep.load_table(serial.path)
    assert len(t) == 6
    assert t.param_columns == ["eta"]
    assert set(t.metric_columns) == {"mean_weight", "test_accuracy"}
    assert sorted(set(t.data["eta"].tolist())) == [0.05, 0.1, 0.2]
    assert t.data["seed"].tolist() == [0, 1] * 3
    assert set(t.data["status"]) == {"complete"}
    with h5py.File(serial.path, "r") as f:
        assert f.attrs["format"] == "plasticity-sweep"
        assert json.loads(f.attrs["grid"]) == {"eta": [0.05, 0.1, 0.2]}
        for i, run in enumerate(t.data["run"]):
            link = f["runs"].get(run, getlink=True)
            assert isinstance(link, h5py.ExternalLink)
            assert link.filename == f"runs/{run}.h5"
            # the link resolves to the run file, whose metric is the table's
            assert f["runs"][run].attrs["seed"] == t.data["seed"][i]
            assert f["runs"][run]["metrics/mean_weight"][()] == t.data["mean_weight"][i]
    assert not glob.glob(os.path.join(os.path.dirname(serial.path), "sweep.h5.tmp*"))
    # the run file is named by the hash of experiment + config + seed
    names = {os.path.basename(p.path) for p in serial.points}
    assert len(names) == 6 and all(len(n) == len("0123456789abcdef.h5") for n in names)


def test_parallel_sweep_equals_serial(client, serial, tmp_path):
    res = sweep.run_sweep(TOY, GRID, seeds=SEEDS, out=str(tmp_path), small=True,
                          client=client)
    assert res.n_complete == 6
    _assert_same_sweep(res, serial)


def test_rerun_skips_complete_runs(serial, tmp_path):
    import shutil
    out = tmp_path / "copy"
    shutil.copytree(os.path.dirname(serial.path), out)
    victim = sorted(glob.glob(str(out / "runs" / "*.h5")))[0]
    os.remove(victim)  # one run is missing: only that one runs again
    mtimes = {p: os.stat(p).st_mtime_ns for p in glob.glob(str(out / "runs" / "*.h5"))}
    res = sweep.run_sweep(TOY, GRID, seeds=SEEDS, out=str(out), small=True, workers=1)
    assert res.n_complete == 6 and res.n_skipped == 5
    assert all(os.stat(p).st_mtime_ns == m for p, m in mtimes.items())
    assert os.path.exists(victim)
    _assert_same_sweep(res, serial)
    t = sweep.load_table(res.path)
    assert t.data["skipped"].sum() == 5


def test_failed_runs_are_recorded_and_others_finish(client, tmp_path):
    res = sweep.run_sweep(TOY, ["fail_at_step=-1,3", "eta=0.05,0.1"], seeds=1,
                          out=str(tmp_path), small=True, client=client)
    t = sweep.load_table(res.path)
    status = t.data["status"].tolist()
    fail = t.data["fail_at_step"].tolist()
    assert status == ["complete" if f == -1 else "failed" for f in fail]
    for err, f in zip(t.data["error"], fail):
        assert ("RuntimeError: toy failure at step 3" in err) == (f == 3)
    assert np.isnan(t.data["mean_weight"][np.array(fail) == 3]).all()
    with h5py.File(res.path, "r") as fh:
        assert sorted(fh["runs"]) == sorted(t.data["run"][np.array(fail) == -1].tolist())
        assert fh.attrs["n_failed"] == 2 and fh.attrs["n_complete"] == 2
    # the failed run's partial file says why
    p = [p for p in res.points if p.status == "failed"][0]
    with h5py.File(p.path + ".partial", "r") as fh:
        assert fh.attrs["status"] == "failed"


def test_killing_workers_mid_sweep_gives_identical_results(serial, tmp_path, monkeypatch):
    """kill -9 a worker process while it is running a run (3 times); the nanny restarts
    it, Dask reschedules the run, which resumes from its checkpoint or restarts; the
    sweep completes with the same files and table as the serial sweep."""
    dd = _dask()
    monkeypatch.setenv("TOY_STEP_SLEEP", "0.012")  # ~0.5 s per run; results unchanged
    cluster = dd.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=":0")
    c = dd.Client(cluster)
    kills = []
    done = threading.Event()
    out = tmp_path / "killed"

    def killer():
        deadline = time.monotonic() + 30
        while len(kills) < 3 and not done.is_set() and time.monotonic() < deadline:
            partial = glob.glob(str(out / "runs" / "*.h5.partial"))
            if not partial:
                time.sleep(0.02)
                continue
            time.sleep(0.15)  # a few steps and a checkpoint into the run
            try:
                pids = c.run(os.getpid, wait=True)
            except Exception:
                time.sleep(0.1)
                continue
            if not pids:  # all workers are being restarted right now
                time.sleep(0.1)
                continue
            pid = sorted(pids.values())[len(kills) % len(pids)]
            try:
                os.kill(pid, signal.SIGKILL)
                kills.append(pid)
            except ProcessLookupError:
                continue
            time.sleep(0.6)  # let the nanny restart it

    th = threading.Thread(target=killer)
    th.start()
    try:
        res = sweep.run_sweep(TOY, GRID, seeds=SEEDS, out=str(out), small=True,
                              client=c, checkpoint_every=0.05)
    finally:
        done.set()
        th.join()
        c.close()
        cluster.close()
    assert len(kills) >= 2, kills
    assert res.n_complete == 6, [(p.status, p.error) for p in res.points]
    _assert_same_sweep(res, serial)
    resumed = 0
    for p in res.points:
        with h5py.File(p.path, "r") as f:
            resumed += int(f.attrs.get("resumed", 0))
    print(f"\nsweep kill test: {len(kills)} worker kills, {resumed} runs resumed from a "
          f"checkpoint, 6/6 runs identical to the serial sweep")
    assert not glob.glob(str(out / "runs" / "*.partial"))
    assert not glob.glob(str(out / "runs" / "*.ckpt"))


def test_without_dask_serial_works_and_parallel_says_how_to_install(tmp_path, monkeypatch,
                                                                    capsys):
    monkeypatch.setattr(sweep, "_have_dask", lambda: False)
    with pytest.raises(sweep.DaskMissing, match=r'pip install "plasticity\[dask\]"'):
        sweep.run_sweep(TOY, GRID, seeds=1, out=str(tmp_path / "a"), small=True, workers=2)
    with pytest.raises(sweep.DaskMissing, match="--scheduler"):
        sweep.run_sweep(TOY, GRID, seeds=1, out=str(tmp_path / "a"), small=True,
                        scheduler="tcp://127.0.0.1:1")
    rc = main(["sweep", TOY, "--grid", "eta=0.05,0.1", "--small", "--out",
               str(tmp_path / "b"), "--workers", "3"])
    err = capsys.readouterr().err
    assert rc == 2 and 'pip install "plasticity[dask]"' in err
    res = sweep.run_sweep(TOY, GRID, seeds=1, out=str(tmp_path / "c"), small=True,
                          workers=1)
    assert res.n_complete == 3


def test_cli_sweep_inspect_and_effect_plot(tmp_path, capsys):
    out = str(tmp_path / "sw")
    rc = main(["sweep", TOY, "--grid", "eta=0.05,0.1", "--grid", "rule=additive,"
               "multiplicative", "--seeds", "2", "--workers", "1", "--small", "--out", out,
               "--quiet"])
    o = capsys.readouterr().out
    assert rc == 0, o
    assert "8 runs: 8 complete (0 already done before), 0 failed" in o
    rc = main(["inspect", os.path.join(out, "sweep.h5")])
    o = capsys.readouterr().out
    assert rc == 0
    assert "plasticity-sweep v1" in o and "8 complete" in o
    header = [ln for ln in o.splitlines() if ln.strip().startswith("run ")][0].split()
    assert header == ["run", "seed", "status", "error", "eta", "rule", "mean_weight",
                      "test_accuracy"]
    png = str(tmp_path / "effect.png")
    rc = main(["plot", os.path.join(out, "sweep.h5"), "effect", "--x", "eta", "--y",
               "mean_weight", "--out", png])
    assert rc == 0 and open(png, "rb").read(4) == b"\x89PNG"
    # one line per value of the other parameter; means over the 2 seeds
    from plasticity import plots
    t = sweep.load_table(os.path.join(out, "sweep.h5"))
    fig = plots.effect(t, "eta", "mean_weight")
    lines = [ln for ln in fig.axes[0].lines if ln.get_linestyle() == "-"]
    assert len(lines) == 2
    sel = (t.data["rule"] == "additive") & (t.data["eta"] == 0.05)
    assert np.isclose(lines[0].get_ydata()[0], t.data["mean_weight"][sel].mean())
    # categorical x
    fig = plots.effect(t, "rule", "mean_weight")
    assert [x.get_text() for x in fig.axes[0].get_xticklabels()] == ["additive",
                                                                     "multiplicative"]
    # rerun from the CLI: everything is skipped
    rc = main(["sweep", TOY, "--grid", "eta=0.05,0.1", "--grid", "rule=additive,"
               "multiplicative", "--seeds", "2", "--workers", "1", "--small", "--out", out,
               "--quiet"])
    assert "8 complete (8 already done before)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--grid", "nope=1,2"], "unknown config key 'nope'"),
    (["--grid", "eta=0.1,"], "empty value"),
    (["--grid", "eta"], "key=v1,v2"),
    (["--grid", "eta=-1"], "'eta' must be > 0"),
    (["--grid", "eta=abc"], "'eta' must be a number"),
    (["--grid", "eta=1", "--grid", "eta=2"], "given twice"),
    (["--grid", "eta=1,1.0"], "same config"),
    (["--grid", "eta=1", "--seeds", "0"], "--seeds must be >= 1"),
    (["--grid", "eta=1", "--workers", "0"], "--workers must be >= 1"),
    ([], "at least one --grid"),
    (["--grid", "eta=1", "--set", "n_steps=0"], "'n_steps' must be >= 1"),
])
def test_bad_sweeps_are_usage_errors_before_any_work(argv, message, tmp_path, capsys):
    out = tmp_path / "sw"
    rc = main(["sweep", TOY, "--small", "--workers", "1", "--out", str(out)] + argv
              if "--workers" not in argv else
              ["sweep", TOY, "--small", "--out", str(out)] + argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert message in err
    assert not os.path.exists(out / "runs") or not os.listdir(out / "runs")


def test_plot_effect_errors_and_non_sweep_files(serial, tmp_path, capsys):
    rc = main(["plot", serial.path, "effect", "--x", "seed", "--y", "mean_weight"])
    assert rc == 2 and "not a grid parameter" in capsys.readouterr().err
    rc = main(["plot", serial.path, "raster"])
    assert rc == 2 and "is a sweep file" in capsys.readouterr().err
    run = serial.points[0].path
    rc = main(["plot", run, "effect", "--x", "eta", "--y", "mean_weight"])
    assert rc == 2 and "needs a sweep file" in capsys.readouterr().err
    with pytest.raises(sweep.SweepError, match="not a plasticity sweep file"):
        sweep.load_table(run)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(ConfigError, match="not an HDF5 file"):
        sweep.load_table(str(junk))
    # a sweep into a directory holding another experiment's sweep is refused
    with pytest.raises(sweep.SweepError, match="is a sweep of experiment"):
        sweep.run_sweep("song_abbott_2000", ["rate=10"], out=os.path.dirname(serial.path),
                        workers=1, sets=["duration=10"])


def test_local_workers_share_the_cores(monkeypatch):
    """Each local worker runs its networks on its share of the cores (every worker
    taking all of them made workers wait on each other's threads at every step); a
    PLASTICITY_THREADS set by the user is passed on."""
    from plasticity.network import default_threads
    monkeypatch.delenv("PLASTICITY_THREADS", raising=False)
    cores = default_threads()
    assert sweep._worker_env(1) == {"PLASTICITY_THREADS": str(cores)}
    assert sweep._worker_env(2) == {"PLASTICITY_THREADS": str(max(1, cores // 2))}
    assert sweep._worker_env(10 * cores) == {"PLASTICITY_THREADS": "1"}
    monkeypatch.setenv("PLASTICITY_THREADS", "3")
    assert sweep._worker_env(2) == {"PLASTICITY_THREADS": "3"}
    monkeypatch.delenv("PLASTICITY_THREADS")
    _dask()
    client, cluster = sweep._client(2, None)
    try:
        seen = client.run(lambda: os.environ.get("PLASTICITY_THREADS"))
        assert sorted(seen.values()) == [str(max(1, cores // 2))] * 2
    finally:
        client.close()
        cluster.close()
