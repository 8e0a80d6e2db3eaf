"""One source of defaults: every experiment's ``experiments/NAME.toml`` says exactly
what its ``Config`` dataclass defaults are (the Config is the source of truth).

The TOML holds every key whose default is not None (TOML has no null), with the
default's value and type (an int where the default is an int, a float where it is a
float); it sets no key the Config lacks and none whose default is None (the experiment
fills those in). Regenerate a TOML with ``plasticity config NAME >
experiments/NAME.toml`` (then keep any hand-written comments you want).
"""
import os
import sys

import pytest

from plasticity import config, experiments

EXPERIMENTS_DIR = os.path.dirname(os.path.abspath(experiments.__file__))
NAMES = [n for n in experiments.available()
         if experiments.load(n).source.startswith("plasticity.experiments.")]


def _same(a, b):
    """Equal values of the same kinds (bool, int, float, str; lists item by item)."""
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))
                and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b)))
    return type(a) is type(b) and a == b


def _differences(name):
    exp = experiments.load(name)
    path = os.path.join(EXPERIMENTS_DIR, f"{name}.toml")
    toml = config.to_flat(config.load_toml(path))
    defaults = config.to_flat(exp.Config())
    out = []
    for key in sorted(set(toml) | set(defaults)):
        if key not in defaults:
            out.append(f"{key}: in the TOML ({toml[key]!r}) but not a Config key")
        elif defaults[key] is None:
            if key in toml:
                out.append(f"{key}: the TOML sets {toml[key]!r}, the default is None")
        elif key not in toml:
            out.append(f"{key}: missing from the TOML (default {defaults[key]!r})")
        elif not _same(toml[key], defaults[key]):
            out.append(f"{key}: the TOML says {toml[key]!r}, the default is "
                       f"{defaults[key]!r}")
    return out


def test_every_experiment_has_its_toml():
    assert NAMES, "no experiments found"
    missing = [n for n in NAMES
               if not os.path.isfile(os.path.join(EXPERIMENTS_DIR, f"{n}.toml"))]
    assert not missing, f"experiments without experiments/NAME.toml: {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_toml_equals_config_defaults(name):
    diff = _differences(name)
    assert not diff, (f"experiments/{name}.toml differs from {name}.Config's defaults "
                      f"(regenerate: plasticity config {name} > experiments/{name}.toml):"
                      "\n  " + "\n  ".join(diff))
    # and reading it changes nothing
    assert config.resolve(experiments.load(name).Config,
                          toml=os.path.join(EXPERIMENTS_DIR, f"{name}.toml")) == \
        experiments.load(name).Config()


def test_the_check_sees_a_difference(tmp_path, monkeypatch):
    """The comparison is strict: a changed value, an int for a float, a missing or an
    extra key each count."""
    name = "bi_poo_1998"
    text = open(os.path.join(EXPERIMENTS_DIR, f"{name}.toml"), encoding="utf-8").read()
    monkeypatch.setattr(sys.modules[__name__], "EXPERIMENTS_DIR", str(tmp_path))
    out = tmp_path / f"{name}.toml"
    out.write_text(text, encoding="utf-8")
    assert _differences(name) == []
    flat = config.to_flat(experiments.load(name).Config())
    key, value = next((k, v) for k, v in flat.items()
                      if isinstance(v, float) and v == int(v))
    lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key} =")]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _differences(name) == [f"{key}: missing from the TOML (default {value!r})"]
    for bad in (value + 1.0, int(value)):
        out.write_text("\n".join(lines + [f"{key} = {bad!r}"]) + "\n", encoding="utf-8")
        assert _differences(name) == [f"{key}: the TOML says {bad!r}, the default is "
                                      f"{value!r}"]
    out.write_text(text + "no_such_key = 1\n", encoding="utf-8")
    assert _differences(name) == ["no_such_key: in the TOML (1) but not a Config key"]
