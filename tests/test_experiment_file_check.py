"""``plasticity run FILE.py`` decides from the file's source whether it is an experiment
before running any of it.

It imported (executed) the file first and only then found that it lacked ``Config``
or ``run``: a script that is not an experiment (a figure script, a sweep driver, a
training script) ran in full, with its side effects, before the error. Now the source
is parsed (``ast``) and a file that does not parse, or binds no top-level ``Config``
and ``run``, is refused with nothing of it run.
"""
import subprocess
import textwrap

import pytest

from plasticity import experiments
from plasticity.experiments import ExperimentError, _bound_names

from _runfile_utils import env, plasticity_cmd

SIDE_EFFECT = """
import pathlib
pathlib.Path({marker!r}).write_text("I ran")
"""


def _file(tmp_path, body, name="script.py"):
    marker = tmp_path / "ran.txt"
    p = tmp_path / name
    p.write_text(SIDE_EFFECT.format(marker=str(marker)) + textwrap.dedent(body))
    return p, marker


@pytest.mark.parametrize("body, missing", [
    ("def main():\n    pass\n", "Config and no run"),
    ("import dataclasses\n@dataclasses.dataclass\nclass Config:\n    x: int = 1\n", "run"),
    ("def run(config, recorder):\n    return {}\n", "Config"),
    # defined only inside a function: not at the top level
    ("def make():\n    class Config: pass\n    def run(c, r): pass\n", "Config and no run"),
])
def test_a_file_that_is_not_an_experiment_is_not_run(tmp_path, body, missing):
    p, marker = _file(tmp_path, body)
    with pytest.raises(ExperimentError, match=rf"is not an experiment: it defines no "
                                              rf"{missing} at its top level .*nothing "
                                              rf"of it was run"):
        experiments.load(str(p))
    assert not marker.exists()


def test_the_cli_refuses_it_before_running_it(tmp_path):
    p, marker = _file(tmp_path, "print('a figure script')\n")
    r = subprocess.run(plasticity_cmd("run", str(p), "--out", str(tmp_path / "runs")),
                       capture_output=True, text=True, env=env(), timeout=120)
    assert r.returncode == 2
    assert "is not an experiment: it defines no Config and no run" in r.stderr
    assert "Traceback" not in r.stderr and "a figure script" not in r.stdout
    assert not marker.exists()
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_a_file_that_does_not_parse(tmp_path):
    p, marker = _file(tmp_path, "def run(config, recorder:\n    pass\n")
    with pytest.raises(ExperimentError, match=r"is not valid Python \(line \d+: .*\); "
                                              r"nothing of it was run"):
        experiments.load(str(p))
    assert not marker.exists()


def test_experiments_bound_in_any_top_level_way_are_loaded(tmp_path):
    """Definitions, assignments, imports, and bodies of top-level if/try/with."""
    p, marker = _file(tmp_path, """
        import dataclasses
        try:
            from dataclasses import dataclass as _dc
        except ImportError:
            _dc = None
        if True:
            @dataclasses.dataclass
            class _C:
                x: int = 1
        Config = _C
        def _run(config, recorder):
            return {"x": config.x}
        run = _run
        """)
    exp = experiments.load(str(p))
    assert exp.Config is exp.module._C and marker.exists()   # it ran: it is one


def test_bound_names():
    import ast

    def names(src):
        return _bound_names(ast.parse(textwrap.dedent(src)).body)
    assert names("from a import run as run, b\nimport c.d\nConfig: type = 1") == \
        {"run", "b", "c", "Config"}
    assert names("for run in []: pass\nwith f() as (Config, x): pass") == \
        {"run", "Config", "x"}
    assert names("def f():\n    run = 1\nclass K:\n    Config = 2") == {"f", "K"}
    assert names("if x:\n    from m import *") is None       # unknowable: imported
