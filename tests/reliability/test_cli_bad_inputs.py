"""Bad inputs through the `plasticity` command (issue 16): exit 2 for usage and config
errors and 1 for a failed run, one line on stderr naming the key or file, the value and
what is allowed, no traceback, and nothing written for a usage error (no ``.partial``,
no ``.h5``); refused before any work, so --force cannot turn one into a failure after
the whole simulation.

Each case is ``(id, argv, status, pattern)``; in ``argv``, ``{tmp}`` is a fresh
directory, ``{toy}`` the toy experiment, ``{bin}`` a binary file named ``.toml``,
``{nan}`` an experiment returning a NaN headline metric, ``{nanrun}`` a run file with
non-finite weights.
"""
import os
import re

import h5py
import numpy as np
import pytest

from plasticity.cli import main

from _runfile_utils import TOY

NAN_EXPERIMENT = '''"""An experiment whose headline metric is not finite (a test fixture)."""
import dataclasses
from plasticity.config import field


@dataclasses.dataclass
class Config:
    value: str = field("nan", choices=("nan", "inf", "-inf", "1.0"))


def run(config, recorder):
    return {"accuracy": float(config.value), "fine": 1.0}
'''

RUN = ["run", "{toy}", "--small", "--quiet", "--out", "{tmp}/out"]
CASES = [
    ("seed-above-int64", RUN + ["--seed", str(2 ** 64)], 2,
     r"seed must be an integer >= 0 and < 2\*\*63, got 18446744073709551616"),
    ("checkpoint-every-nan", RUN + ["--checkpoint-every", "nan"], 2,
     r"--checkpoint-every must be >= 0 s, got nan"),
    ("name-300-chars", RUN + ["--name", "a" * 300], 2,
     r"--name must be at most 244 characters .* got 300"),
    ("name-empty", RUN + ["--name", ""], 2, r"--name must not be empty, got ''"),
    ("name-only-suffix", RUN + ["--name", ".h5"], 2, r"--name must not be empty"),
    ("name-hidden", RUN + ["--name", ".run"], 2, r"--name must not start with '.'"),
    # release check (qa6): '../x' was called a hidden file; --out naming a file said
    # 'cannot be created: File exists'
    ("name-parent-dir", RUN + ["--name", "../x"], 2,
     r"--name must be a file name without directories, got '../x'"),
    ("out-is-a-file", ["run", "{toy}", "--small", "--quiet", "--out", "{tmp}/file"], 2,
     r"--out '.*file' exists and is not a directory$"),
    ("config-binary-toml", RUN + ["--config", "{bin}"], 2,
     r"bin.toml' is not valid TOML: not UTF-8"),
    ("out-under-a-file", ["run", "{toy}", "--small", "--quiet", "--out", "{tmp}/file/x"], 2,
     r"--out '.*file/x' cannot be created: Not a directory"),
    ("out-a-file-name", ["run", "{toy}", "--small", "--quiet", "--out", "{tmp}/run.h5"],
     2, r"--out is the directory of the run file; '.*run.h5' does not exist and looks "
        r"like a file name: use --out DIR --name run.h5"),
    ("dir-at-partial", RUN + ["--name", "d", "--force"], 2,
     r"out/d.h5.partial is a directory where the run writes a file"),
    ("dir-at-h5", RUN + ["--name", "e", "--force"], 2,
     r"out/e.h5 is a directory where the run writes a file"),
    ("dir-at-ckpt", RUN + ["--name", "c", "--force"], 2,
     r"out/c.h5.ckpt is a directory where the run writes a file"),
    ("dt-not-dividing", ["run", "song_abbott_2000", "--set", "dt=0.3", "--set",
                         "duration=1000", "--quiet", "--out",
                         "{tmp}/out"], 2, r"'duration' must be a multiple of 'dt' = 0.3 ms"),
    ("dt-denormal", ["run", "song_abbott_2000", "--set", "dt=1e-310", "--quiet", "--out",
                     "{tmp}/out"], 2, r"'duration' = [\d.e+]+ ms is inf steps of 'dt'"),
    ("too-big-for-memory", ["run", "song_abbott_2000", "--set", "n_inputs=3000000000",
                            "--quiet", "--out", "{tmp}/out"], 2,
     r"'n_inputs' = 3000000000 needs about .* of memory"),
    ("scheduler-not-an-address", ["sweep", "{toy}", "--grid", "eta=0.1", "--scheduler",
                                  "not an address", "--out", "{tmp}/out"], 2,
     r"--scheduler must be a Dask scheduler address .* got 'not an address'"),
    ("sweep-seeds-huge", ["sweep", "{toy}", "--grid", "eta=0.1", "--seeds", "100000000",
                          "--out", "{tmp}/out"], 2, r"--seeds must be <= 100000"),
    ("sweep-plan-huge", ["sweep", "{toy}", "--grid", "eta=0.1,0.2", "--grid",
                         "w_max=1,2,3", "--seeds", "20000", "--out", "{tmp}/out"], 2,
     r"the sweep has 120000 runs \(2 x 3 grid values x 20000 seeds\)"),
    ("sweep-out-under-a-file", ["sweep", "{toy}", "--grid", "eta=0.1", "--workers", "1",
                                "--small", "--out", "{tmp}/file/s"], 2,
     r"--out '.*file/s/runs' cannot be created"),
    ("plot-nonfinite-weights", ["plot", "{nanrun}", "weights", "--out", "{tmp}/w.png"], 2,
     r"projection 'in_to_out': 2 of \d+ final weights are not finite"),
    ("plot-nonfinite-fields", ["plot", "{nanrun}", "receptive-fields", "--out",
                               "{tmp}/f.png"], 2,
     r"projection 'in_to_out': 2 of \d+ weights are not finite"),
    ("metric-nan", ["run", "{nan}", "--quiet", "--out", "{tmp}/out"], 1,
     r"headline metric 'accuracy' is nan \(not finite\)"),
    ("metric-inf", ["run", "{nan}", "--quiet", "--out", "{tmp}/out", "--set",
                    'value="-inf"'], 1, r"headline metric 'accuracy' is -inf"),
]


@pytest.fixture(scope="module")
def nanrun(tmp_path_factory):
    d = tmp_path_factory.mktemp("nanrun")
    assert main(["run", TOY, "--small", "--quiet", "--out", str(d), "--name", "r"]) == 0
    p = str(d / "r.h5")
    with h5py.File(p, "r+") as f:
        ds = f["synapses/in_to_out/data"]
        a = ds[...]
        a[:2] = [np.nan, np.inf]
        ds[...] = a
    return p


@pytest.mark.parametrize("argv, status, pattern", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_cli_bad_input(argv, status, pattern, tmp_path, capsys, nanrun):
    (tmp_path / "file").write_text("a file, not a directory\n")
    (tmp_path / "bin.toml").write_bytes(bytes(range(128, 256)) * 4)
    (tmp_path / "nanexp.py").write_text(NAN_EXPERIMENT)
    out = tmp_path / "out"
    for d in ("d.h5.partial", "e.h5", "c.h5.ckpt"):
        (out / d).mkdir(parents=True)
    before = sorted(os.listdir(out))
    subs = {"tmp": str(tmp_path), "toy": TOY, "bin": str(tmp_path / "bin.toml"),
            "nan": str(tmp_path / "nanexp.py"), "nanrun": nanrun}
    rc = main([a.format(**subs) for a in argv])
    stdout, stderr = capsys.readouterr()
    assert rc == status, (rc, stdout, stderr)
    assert "Traceback" not in stderr
    first = stderr.strip().splitlines()[0]
    assert first.startswith("plasticity: error: "), stderr
    assert re.search(pattern, first), (pattern, first)
    written = sorted(os.listdir(out))
    if status == 2:  # a usage error: refused before any work, nothing written
        assert written == before, written
        assert len(stderr.strip().splitlines()) == 1, stderr
    else:  # a failed run: kept as .partial, never as a complete .h5
        assert not [w for w in written if w.endswith(".h5") and w not in before], written
        assert [w for w in written if w.endswith(".h5.partial") and w not in before]


def test_nonfinite_headline_metric_is_not_marked_complete(tmp_path):
    from plasticity import runner
    (tmp_path / "nanexp.py").write_text(NAN_EXPERIMENT)
    with pytest.raises(runner.RunFailed, match=r"headline metric 'accuracy' is nan") as e:
        runner.run_experiment(str(tmp_path / "nanexp.py"), out=str(tmp_path))
    with h5py.File(e.value.partial, "r") as f:
        assert f.attrs["status"] == "failed"
    ok = runner.run_experiment(str(tmp_path / "nanexp.py"), out=str(tmp_path),
                               sets=['value="1.0"'])
    with h5py.File(ok.path, "r") as f:
        assert f.attrs["status"] == "complete"
