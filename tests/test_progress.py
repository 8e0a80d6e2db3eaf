"""Progress (plasticity/progress.py): log lines off a terminal, a bar on one, nothing
with --quiet; the same in network runs, experiments and sweeps; Ctrl-C says how to
resume; the experiment scripts behave like `plasticity run`.

Time is a fake clock everywhere: no test waits for an interval or measures itself."""
import io
import os
import re
import subprocess
import sys

import h5py
import pytest

from plasticity import progress
from plasticity.cli import main, script_main
from plasticity.progress import Progress

from _runfile_utils import REPO, TOY, env

LINE = re.compile(r"^plasticity: (?P<label>.+?): (?:(?P<event>started|done): )?"
                  r"(?P<pct>[\d.]+)% \((?P<n>[\d.]+)/(?P<total>[\d.]+) (?P<unit>\w+)\), "
                  r"elapsed (?P<elapsed>[\d:]+)(?:, ETA (?P<eta>[\d:?]+))?$")


class FakeClock:
    """Advances by ``step`` seconds at every reading."""

    def __init__(self, step=0.0):
        self.t, self.step = 0.0, step

    def __call__(self):
        self.t += self.step
        return self.t


class Tty(io.StringIO):
    def isatty(self):
        return True


def lines(text):
    return [l for l in text.splitlines() if l.startswith("plasticity: ")]


def test_log_lines_every_interval_and_at_phase_changes(monkeypatch):
    monkeypatch.delenv("PLASTICITY_PROGRESS", raising=False)
    clock, out = FakeClock(), io.StringIO()          # StringIO: not a terminal
    with progress.settings(clock=clock, stream=out, interval=30.0, prefix="exp"):
        p = Progress(100, desc="train", unit="image")
        assert p.mode == "log"
        for _ in range(100):
            clock.t += 1.0                            # one image per second
            p.update()
        p.set_phase("test", total=150)
        for _ in range(50):
            clock.t += 2.0
            p.update()
        p.close()
    got = [LINE.match(l) for l in lines(out.getvalue())]
    assert all(got), out.getvalue()
    assert got[0]["event"] == "started" and got[0]["label"] == "exp / train"
    periodic = [m for m in got if m["event"] is None]
    # 100 s of training and 100 s of testing, a line 30 s after the previous one
    assert [m["elapsed"] for m in periodic] == ["0:30", "1:00", "1:30", "2:10", "2:40",
                                                "3:10"]
    assert periodic[0]["pct"] == "30.0" and periodic[0]["eta"] == "1:10"
    phase = [m for m in got if m["label"] == "exp / test" and m["event"] == "started"]
    assert len(phase) == 1 and phase[0]["n"] == "100" and phase[0]["total"] == "150"
    # the test phase's ETA comes from its own rate (2 s per image), not training's
    assert periodic[3]["label"] == "exp / test" and periodic[3]["n"] == "115"
    assert periodic[3]["eta"] == "1:10"
    assert got[-1]["event"] == "done" and got[-1]["elapsed"] == "3:20"
    assert got[-1]["eta"] is None


def test_quiet_prints_nothing_and_a_terminal_gets_a_bar(monkeypatch):
    monkeypatch.delenv("PLASTICITY_PROGRESS", raising=False)
    out = io.StringIO()
    with progress.settings(quiet=True, stream=out, clock=FakeClock(40.0)):
        with progress.settings(quiet=False):           # stays quiet inside
            with Progress(10, desc="x") as p:
                p.update(10)
    assert p.mode == "off" and out.getvalue() == ""
    tty = Tty()
    with Progress(10, desc="on a terminal", stream=tty) as p:
        assert p.mode == "bar"
        p.update(10)
    assert "on a terminal" in tty.getvalue() and "10/10" in tty.getvalue()
    assert not lines(tty.getvalue())


def test_nested_automatic_progress_stays_silent():
    out = io.StringIO()
    with progress.settings(stream=out, mode="log", clock=FakeClock(1.0)):
        with Progress(2, desc="outer"):
            inner = Progress(5, desc="inner")             # automatic: inside outer
            forced = Progress(5, desc="forced", enabled=True)
            inner.close()
            forced.close()
        after = Progress(5, desc="after")
        after.close()
    assert inner.mode == "off" and forced.mode == "log" and after.mode == "log"
    labels = {LINE.match(l)["label"] for l in lines(out.getvalue())}
    assert labels == {"outer", "forced", "after"}


def test_bad_settings_name_the_value(monkeypatch):
    with pytest.raises(ValueError, match="interval must be > 0 s, got -1"):
        with progress.settings(interval=-1):
            pass
    with pytest.raises(ValueError, match="mode must be one of bar, log, off.*'tty'"):
        Progress(3, mode="tty")
    monkeypatch.setenv("PLASTICITY_PROGRESS", "loud")
    with pytest.raises(ValueError, match="PLASTICITY_PROGRESS must be one of .*'loud'"):
        Progress(3)


def test_network_run_logs_off_a_terminal_and_imports_no_tqdm(monkeypatch):
    monkeypatch.delenv("PLASTICITY_PROGRESS", raising=False)
    from plasticity import Network
    from plasticity.neurons import LIF
    net = Network(dt=0.1, seed=1)
    net.add_poisson("inp", 10, 5.0)
    net.add_population("out", 2, LIF())
    out = io.StringIO()
    with progress.settings(stream=out, clock=FakeClock(20.0), interval=30.0):
        net.run(10_000.0)                       # 5 segments of 2 s simulated
    got = [LINE.match(l) for l in lines(out.getvalue())]
    assert got and all(got), out.getvalue()
    assert {m["label"] for m in got} == {"simulate"} and got[0]["unit"] == "ms"
    assert got[-1]["event"] == "done" and got[-1]["n"] == "10000"
    with progress.settings(stream=out, clock=FakeClock(20.0), quiet=True):
        before = out.getvalue()
        net.run(10_000.0)
        assert out.getvalue() == before
    # a bar costs the tqdm import; a run that shows none must not pay it
    code = ("import sys; from plasticity import Network; from plasticity.neurons import LIF; "
            "net = Network(dt=0.1); net.add_population('a', 1, LIF()); net.run(100.0); "
            "assert 'tqdm' not in sys.modules, 'tqdm imported'")
    r = subprocess.run([sys.executable, "-c", code], env=env(), capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_cli_run_logs_off_a_terminal_and_quiet_prints_nothing(tmp_path, capsys,
                                                               monkeypatch):
    monkeypatch.delenv("PLASTICITY_PROGRESS", raising=False)
    rc = main(["run", TOY, "--small", "--out", str(tmp_path), "--name", "a.h5"])
    out, err = capsys.readouterr()
    assert rc == 0
    got = [LINE.match(l) for l in lines(err)]
    assert got and all(got), err
    assert got[0]["label"] == "toy_random_walk" and got[0]["event"] == "started"
    assert got[-1]["event"] == "done" and got[-1]["pct"] == "100.0"
    rc = main(["run", TOY, "--small", "--out", str(tmp_path), "--name", "b.h5", "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 0 and err == "" and out.startswith(str(tmp_path))


def test_ctrl_c_says_how_to_resume(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TOY_INTERRUPT_AT", "20")
    argv = ["run", TOY, "--small", "--out", str(tmp_path), "--name", "t.h5", "--quiet",
            "--checkpoint-every", "0"]
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "--resume" in err
    assert f"plasticity run {TOY} --small" in err and str(tmp_path / "t.h5.partial") in err
    assert "continues from its last checkpoint" in err
    monkeypatch.delenv("TOY_INTERRUPT_AT")
    assert main(argv + ["--resume"]) == 0
    with h5py.File(tmp_path / "t.h5", "r") as f:
        assert f.attrs["status"] == "complete" and int(f.attrs["resumed"]) == 1


def test_sweep_progress_and_ctrl_c(tmp_path, capsys, monkeypatch):
    from plasticity import sweep
    monkeypatch.delenv("PLASTICITY_PROGRESS", raising=False)
    with progress.settings(clock=FakeClock(40.0), interval=30.0):
        rc = main(["sweep", TOY, "--small", "--grid", "eta=0.05,0.1", "--seeds", "2",
                   "--workers", "1", "--out", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert rc == 0
    got = [LINE.match(l) for l in lines(err)]
    assert got and all(got), err
    assert {m["label"] for m in got} == {"sweep toy_random_walk"}
    assert got[0]["event"] == "started" and got[0]["total"] == "4"
    assert got[0]["unit"] == "run" and any(m["eta"] not in (None, "?") for m in got)
    assert got[-1]["event"] == "done" and got[-1]["n"] == "4"

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(sweep, "run_sweep", interrupted)
    argv = ["sweep", TOY, "--grid", "eta=0.05", "--workers", "1"]
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert "run the same command again" in err and "--grid eta=0.05" in err


# ---------------------------------------------------------------- experiment scripts

def test_scripts_print_help_and_start_nothing(tmp_path):
    for name in ("kheradpisheh_caltech", "song_abbott_2000", "izhikevich_2003"):
        r = subprocess.run([sys.executable, os.path.join(REPO, "experiments", f"{name}.py"),
                            "--help"], cwd=tmp_path, env=env(), capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert f"usage: python experiments/{name}.py" in r.stdout
        for option in ("--seed", "--small", "--set", "--out", "--force", "--quiet"):
            assert option in r.stdout
        assert os.listdir(tmp_path) == []                      # no run started


def test_script_runs_like_the_cli(tmp_path, capsys):
    """Same default seed and file name as `plasticity run`; never overwrites a run file
    without --force; both print the weight histogram the README promises."""
    args = ["--set", "duration=500", "--out", str(tmp_path), "--quiet"]
    assert main(["run", "song_abbott_2000", *args]) == 0
    cli_out = capsys.readouterr().out
    path = cli_out.splitlines()[0]
    assert os.path.basename(path).startswith("song_abbott_2000_seed0_")
    assert "final weight histogram:" in cli_out
    with h5py.File(path, "r") as f:
        run_id = f.attrs["run_id"]
    assert script_main("song_abbott_2000", args) == 2        # refuses to overwrite
    assert "already exists" in capsys.readouterr().err
    with h5py.File(path, "r") as f:
        assert f.attrs["run_id"] == run_id
    assert script_main("song_abbott_2000", args + ["--force"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == path and "final weight histogram:" in out
    with h5py.File(path, "r") as f:
        assert f.attrs["run_id"] != run_id
    assert os.listdir(tmp_path) == [os.path.basename(path)]
