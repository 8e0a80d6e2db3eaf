"""Configs: dataclass defaults -> overrides -> TOML -> --set (plasticity/config.py)."""
import dataclasses
import typing

import pytest
from hypothesis import given, strategies as st

from plasticity import config, runner
from plasticity.config import ConfigError, field, resolve

from _runfile_utils import TOY


@dataclasses.dataclass
class Stdp:
    tau_plus: float = field(16.8, gt=0.0, units="ms", help="potentiation time constant")
    a_plus: float = field(0.005, min=0.0, max=1.0)


@dataclasses.dataclass
class Cfg:
    duration: float = field(1000.0, gt=0.0, units="ms")
    n_inputs: int = field(1000, min=1, max=100_000)
    rule: str = field("additive", choices=("additive", "multiplicative"))
    plastic: bool = True
    rates: list = field([10.0, 20.0])
    pair: typing.Tuple[int, int] = (1, 2)
    label: typing.Optional[str] = None
    mode: typing.Literal["a", "b"] = "a"
    stdp: Stdp = field(default_factory=Stdp)

    def __post_init__(self):
        if self.n_inputs > 50_000 and self.plastic:
            raise ValueError("plastic networks are limited to 50000 inputs")


def test_defaults_and_precedence(tmp_path):
    assert resolve(Cfg) == Cfg()
    toml = tmp_path / "c.toml"
    toml.write_text('n_inputs = 10\nrule = "multiplicative"\n[stdp]\ntau_plus = 20\n')
    c = resolve(Cfg, overrides=[{"n_inputs": 5, "duration": 7.0}], toml=toml,
                sets=["stdp.tau_plus=33.5", "label=run1"])
    assert c.duration == 7.0            # from overrides (SMALL)
    assert c.n_inputs == 10             # TOML beats overrides
    assert c.rule == "multiplicative"
    assert c.stdp.tau_plus == 33.5      # --set beats TOML
    assert isinstance(c.stdp.tau_plus, float)
    assert c.label == "run1"
    assert c.stdp.a_plus == 0.005       # untouched default
    c2 = resolve(Cfg, toml=toml)
    assert c2.stdp.tau_plus == 20.0 and isinstance(c2.stdp.tau_plus, float)  # int -> float


@pytest.mark.parametrize("sets, match", [
    (["n_input=3"], r"unknown config key 'n_input'.*did you mean 'n_inputs'"),
    (["stdp.tau_plu=3"], r"unknown config key 'stdp.tau_plu'.*did you mean 'stdp.tau_plus'"),
    (["tau_plus=3"], r"unknown config key 'tau_plus'.*did you mean 'stdp.tau_plus'"),
    (["n_inputs=abc"], r"'n_inputs' must be an integer, got 'abc' \(str\)"),
    (["n_inputs=2.5"], r"'n_inputs' must be an integer, got 2.5"),
    (["n_inputs=0"], r"'n_inputs' must be >= 1, got 0"),
    (["stdp.tau_plus=-5"], r"'stdp.tau_plus' must be > 0.0 ms, got -5.0"),
    (["stdp.a_plus=2"], r"'stdp.a_plus' must be <= 1.0, got 2.0"),
    (["duration=nan"], r"'duration' must be finite"),
    (["rule=hebbian"], r"'rule' must be one of 'additive', 'multiplicative', got 'hebbian'"),
    (["plastic=1"], r"'plastic' must be a boolean"),
    (["mode=c"], r"'mode' must be one of 'a', 'b'"),
    (["pair=[1, 2, 3]"], r"'pair' must be"),
    (["stdp=3"], r"'stdp' is a table"),
    (["n_inputs=60000"], r"limited to 50000 inputs"),
    (["noequals"], r"--set expects key=value"),
    (["n_inputs="], r"needs a value"),
])
def test_set_errors_name_key_value_and_allowed(sets, match):
    with pytest.raises(ConfigError, match=match) as e:
        resolve(Cfg, sets=sets)
    assert isinstance(e.value, ValueError)
    if "did you mean" in match:
        assert "(from --set)" in str(e.value)


def test_toml_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("n_inputs = [\n")
    with pytest.raises(ConfigError, match=r"bad.toml' is not valid TOML"):
        resolve(Cfg, toml=bad)
    typo = tmp_path / "typo.toml"
    typo.write_text("[stdp]\ntau_pluss = 3.0\n")
    with pytest.raises(ConfigError, match=r"'stdp.tau_pluss' \(from .*typo.toml\); did you mean"):
        resolve(Cfg, toml=typo)
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(Cfg, toml=tmp_path / "missing.toml")


def test_parse_assignment_types():
    p = config.parse_assignment
    assert p("a=3") == ("a", 3)
    assert p("a = 2.5") == ("a", 2.5)
    assert p("a=true") == ("a", True)
    assert p("a=[1, 2]") == ("a", [1, 2])
    assert p('a="x y"') == ("a", "x y")
    assert p("a=additive") == ("a", "additive")
    assert p("a=b=c") == ("a", "b=c")


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_set_float_roundtrips_exactly(x):
    assert config.parse_assignment(f"v={x!r}")[1] == x


@given(st.integers(min_value=1, max_value=50_000))
def test_set_int_in_range_is_accepted(n):
    assert resolve(Cfg, sets=[f"n_inputs={n}"]).n_inputs == n


def test_toml_output_roundtrips(tmp_path):
    c = resolve(Cfg, sets=["rule=multiplicative", "stdp.tau_plus=21.25", "rates=[1.5]"])
    text = config.to_toml(c)
    assert "potentiation time constant [ms] > 0.0" in text
    f = tmp_path / "out.toml"
    f.write_text(text)
    assert resolve(Cfg, toml=f) == c


def test_flat_json_hash():
    c = Cfg()
    flat = config.to_flat(c)
    assert flat["stdp.tau_plus"] == 16.8 and flat["pair"] == [1, 2]
    assert config.config_hash(c) == config.config_hash(config.to_dict(c))
    assert config.config_hash(c) != config.config_hash(resolve(Cfg, sets=["n_inputs=2"]))
    assert set(config.keys(Cfg)) == set(flat)
    assert resolve(Cfg, base=config.to_dict(c)) == c


def test_defaults_are_validated_too():
    @dataclasses.dataclass
    class Bad:
        x: int = field(-1, min=0)
    with pytest.raises(ConfigError, match="'x' must be >= 0, got -1"):
        resolve(Bad)


def test_rerun_from_run_file_config_and_seed(tmp_path):
    o = runner.run_experiment(TOY, out=str(tmp_path), filename="a.h5", small=True,
                              sets=["eta=0.07"], seed=3)
    spec = runner.prepare(TOY, config=o.path, out=str(tmp_path))
    assert spec.seed == 3 and spec.config.eta == 0.07 and spec.config.n_steps == 40
    spec2 = runner.prepare(TOY, config=o.path, seed=4, sets=["eta=0.08"])
    assert spec2.seed == 4 and spec2.config.eta == 0.08
    other = tmp_path / "other_exp.py"
    other.write_text(open(TOY).read())
    with pytest.raises(ConfigError, match="is a run of experiment 'toy_random_walk', not "
                                          "'other_exp'"):
        runner.prepare(str(other), config=o.path)
