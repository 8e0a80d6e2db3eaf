"""Checks between config keys (``Config.check()``) run once on the resolved config,
before any work and before a run file exists; list fields with bounds hold numbers.

Release check: ``n_inputs`` lowered in a TOML and ``n_correlated`` by ``--set`` was
refused (the TOML layer was checked alone); ``facilitation_rate`` not among
``rates``, a ``preferred`` channel beyond ``n_channels``, ``rates`` of the wrong
length, an unknown pattern letter, method or condition were found only inside the
run (after minutes of work for some), leaving a failed ``.partial``; a Bi & Poo
window on one side of 0 ran to the end and failed on a NaN fit; list fields took
strings, booleans, zero and negative rates.
"""
import dataclasses
import os

import pytest

from plasticity import runner
from plasticity.config import ConfigError, field, resolve


@dataclasses.dataclass
class _Inner:
    lo: float = field(0.0)
    hi: float = field(1.0)

    def check(self):
        if self.lo >= self.hi:
            raise ValueError(f"config key 'lo' must be < hi ({self.hi}), got {self.lo}")


@dataclasses.dataclass
class _Cfg:
    n: int = field(100, min=1)
    k: int = field(50, min=1)
    inner: _Inner = dataclasses.field(default_factory=_Inner)
    rates: list = field([1.0, 2.0], units="Hz", gt=0.0)

    def check(self):
        if self.k >= self.n:
            raise ValueError(f"config key 'k' must be < n ({self.n}), got {self.k}")


def test_relations_are_checked_on_the_resolved_config_not_per_layer(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text("n = 10\n")
    cfg = resolve(_Cfg, toml=toml, sets=["k=5"])     # valid once both layers apply
    assert (cfg.n, cfg.k) == (10, 5)
    with pytest.raises(ConfigError, match=r"invalid config: config key 'k' must be < n "
                                          r"\(10\), got 50"):
        resolve(_Cfg, toml=toml)
    with pytest.raises(ConfigError, match=r"table 'inner'.*'lo' must be < hi \(1.0\), "
                                          r"got 2.0"):
        resolve(_Cfg, sets=["inner.lo=2.0"])
    assert resolve(_Cfg, sets=["inner.lo=2.0", "inner.hi=3.0"]).inner.lo == 2.0


@pytest.mark.parametrize("value, match", [
    ('["a", 2.0]', r"'rates' must be a list of numbers, got 'a' \(str\)"),
    ("[true, 2.0]", r"'rates' must be a list of numbers, got True \(bool\)"),
    ("[0.0, 2.0]", r"'rates' must be > 0.0 Hz, got 0.0"),
    ("[1.0, -2.0]", r"'rates' must be > 0.0 Hz, got -2.0"),
])
def test_bounded_list_fields_hold_numbers_in_range(value, match):
    with pytest.raises(ConfigError, match=match):
        resolve(_Cfg, sets=[f"rates={value}"])


@dataclasses.dataclass
class _Lists:
    ts: list[float] = field([1.0, -1.0], min_len=1)
    names: list[str] = field(["a"], choices=("a", "b"))


@pytest.mark.parametrize("sets, match", [
    # a typed list names its first item of the wrong type (an untyped list without
    # bounds took strings: ["a"] as spike-time differences failed inside the run)
    (['ts=["x", 2.0]'], r"'ts' must be a list of numbers, got 'x' \(str\) in \['x', 2.0\]"),
    (["names=[1]"], r"'names' must be a list of strings, got 1 \(int\) in \[1\]"),
    # choices of a list apply to each item (they compared the whole list)
    (['names=["a", "c"]'], r"'names' must be a list of 'a', 'b', got 'c' in \['a', 'c'\]"),
    # min_len: an empty list of what a run loops over (it ran and recorded nothing)
    (["ts=[]"], r"'ts' must be a list of at least 1 value, got \[\]"),
])
def test_list_items_types_choices_and_length(sets, match):
    with pytest.raises(ConfigError, match=match):
        resolve(_Lists, sets=sets)
    cfg = resolve(_Lists, sets=["ts=[2, 3.5]", 'names=["b", "a"]'])
    assert cfg.ts == [2.0, 3.5] and all(type(t) is float for t in cfg.ts)
    assert cfg.names == ["b", "a"]
    assert resolve(_Lists, sets=["names=[]"]).names == []      # no min_len: allowed


_TOML_N_INPUTS = "n_inputs = 100\n"


@pytest.mark.parametrize("name, sets, match", [
    ("song_abbott_2000_competition", ["n_inputs=100", "n_correlated=100"],
     r"'n_correlated' must be < n_inputs \(100\), got 100"),
    ("tsodyks_markram_1997", ["facilitation_rate=3.0"],
     r"'facilitation_rate' must be one of rates .*, got 3.0"),
    ("tsodyks_markram_1997", ["rates=[0.0, 70.0]"], r"'rates' must be > 0.0 Hz, got 0.0"),
    ("tsodyks_markram_1997", ['irregular_rates=["x"]'], r"must be a list of numbers"),
    # initial weights above the rule's upper bound (the run completed, started outside
    # its bounds)
    ("tsodyks_markram_1997", ["stdp_w0=2.0"],
     r"'stdp_w0' must be <= stdp_w_max \(1.0\), got 2.0"),
    ("vogels_sprekeler_2011", ["preferred=9"],
     r"'preferred' must be in \[1, n_channels = 8\], got 9"),
    ("vogels_sprekeler_2011", ["analysis_window=45000.0"],
     r"'analysis_window' must be <= duration \(30000.0 ms\), got 45000.0"),
    ("clopath_2010", ["n_neurons=3"], r"'rates' must have n_neurons = 3 values, got 10"),
    ("clopath_2010", ['conditions=["rate", "x"]'],
     r"'conditions' must be a list of 'rate', 'temporal', got 'x'"),
    ("clopath_2010", ["frequencies=[-1.0]"], r"'frequencies' must be > 0.0 Hz"),
    ("izhikevich_2003", ["patterns=AZ"], r"'patterns' must be letters of .*, got 'Z'"),
    ("izhikevich_2003", ['patterns=""'], r"'patterns' must be at least one letter of "),
    ("eprop_pattern_generation", ['methods=["bptt", "x"]'],
     r"'methods' must be a list of .*, got 'x'"),
    ("eprop_pattern_generation", ["periods=[0]"], r"'periods' must be > 0.0 ms"),
    # a period longer than the pattern: a constant sine (nothing added; alone, a
    # target of 0 and a ZeroDivisionError after training)
    ("eprop_pattern_generation", ["periods=[2000.0]"],
     r"'periods' must be <= duration \(1000 ms; a sine spans whole periods of the "
     r"pattern\), got 2000.0"),
    ("bi_poo_1998", ["dt_min=0.0"], r"at least two spike-time differences below 0"),
    ("bi_poo_1998", ["dt_max=-5.0"], r"0 above"),
    ("bi_poo_1998", ["dt=0.3"], r"'dt_step' must be a multiple of 'dt'"),
    ("pfister_gerstner_2006", ["frequencies=[0.0]"], r"'frequencies' must be > 0.0 Hz"),
    ("graupner_brunel_2012", ["cortical_frequencies=[0.0]"],
     r"'cortical_frequencies' must be > 0.0 Hz"),
    # van_rossum_2000: a phase of no window (it failed in net.run: 'duration must be a
    # multiple of dt'), a window off the step grid, c_d = 0 (ZeroDivisionError in the
    # fixed point c_p / c_d after the whole run)
    ("van_rossum_2000", ["phase1=1e-6"], r"'phase1' must be 0 or at least one step of "
                                         r"'window'"),
    ("van_rossum_2000", ["phase2=7000.0"], r"'phase2' must be a multiple of 'window'"),
    ("van_rossum_2000", ["window=0.05"], r"'window' must be a multiple of 'dt'"),
    ("van_rossum_2000", ["c_d=0.0"], r"'c_d' must be > 0.0, got 0.0"),
    # graupner_brunel_2012: a bistability run of no step (AttributeError in the SciPy
    # reference after the STDP curves had run)
    ("graupner_brunel_2012", ["bistability_taus=1e-6"],
     r"'bistability_taus' x tau of 'hippocampal_cultures' = .* must be at least one "
     r"step of 'bistability_dt'"),
    ("graupner_brunel_2012", ["bistability_dt=5e7"], r"a run of no step"),
    # clopath_2010: a network run shorter than one temporal-code cycle (IndexError after
    # the pairing part), a sequence interval below dt (a 75 GB array), a network run
    # that cannot fit (a 7 TB array)
    ("clopath_2010", ["network_duration_s=0.2"],
     r"'network_duration_s' must hold one temporal-code cycle \(10 ms \+ n_neurons x "
     r"sequence_interval = 210 ms\), got 0.2 s"),
    ("clopath_2010", ["sequence_interval=1e-6"],
     r"'sequence_interval' must be at least one step of dt = 0.1 ms"),
    ("clopath_2010", ["network_duration_s=1e8"],
     r"config key 'network_duration_s' = 100000000.0 needs about .* of memory"),
    # eprop_pattern_generation: a one-step pattern (target variance 0:
    # ZeroDivisionError after training), sizes that cannot fit (MemoryError)
    ("eprop_pattern_generation", ["duration=1"], r"'duration' must be >= 2, got 1"),
    ("eprop_pattern_generation", ["n_rec=100007"],
     r"config key 'n_rec' = 100007 needs about .* of memory"),
    # vogels_sprekeler_2011: inputs per chunk that cannot fit (MemoryError in the run)
    ("vogels_sprekeler_2011", ["n_exc=100007"],
     r"config key 'n_exc' = 100007 needs about .* of memory"),
    # the neurons' own checks, which ran inside run() once the run file existed
    ("song_abbott_2000", ["V_reset=-50.0"],
     r"config keys of the neuron: V_reset must be < V_th"),
    ("song_abbott_2000_competition", ["V_reset=-50.0"],
     r"config keys of the neuron: V_reset must be < V_th"),
    ("diehl_cook_2015", ["v_reset_e=-40.0"],
     r"config keys of the neurons: V_reset must be < V_th"),
    ("diehl_cook_2015", ["v_reset_i=-30.0"],
     r"config keys of the neurons: V_reset must be < V_th"),
    # experiments that build their neurons and rules inside run(): the constructors'
    # checks run in Config.check (found inside the run, a failed .partial)
    ("clopath_2010", ["V_T_rest=0.0"],
     r"config keys of the neuron and the rule: V_T_max must be >= V_T_rest"),
    ("clopath_2010", ["V_reset=30.0"],
     r"config keys of the neuron and the rule: V_reset must be < V_peak"),
    # list items: types, choices, empty lists (found inside the run or never)
    ("pfister_gerstner_2006", ['delta_ts=["a"]'],
     r"'delta_ts' must be a list of numbers, got 'a' \(str\)"),
    ("pfister_gerstner_2006", ["frequencies=[]"], r"'frequencies' must be a list of at "
                                                  r"least 1 value"),
    ("clopath_2010", ["delta_ts=[]"], r"'delta_ts' must be a list of at least 1 value"),
    ("eprop_pattern_generation", ["methods=[]"], r"'methods' must be a list of at least"),
    ("scherr_oneshot_arm", ["eprop_etas=[]"], r"'eprop_etas' must be a list of at least"),
    ("scherr_oneshot_omniglot", ['lsg_sees=["images"]'],
     r"'lsg_sees' must be a list of 'input', 'task', 'activity', got 'images'"),
    ("scherr_oneshot_omniglot", ['plastic=["w_out"]'],
     r"'plastic' must be a list of 'w_in', 'w_rec', got 'w_out'"),
    # pairing protocols (bi_poo_1998.check_pairing): pairs closer than the forced
    # neuron's refractory period + a step (two presynaptic spikes in one step, or
    # post spikes lost: post_spike_time_error_ms = inf after the run), protocols of
    # more than 2**40 steps (both inside the run)
    ("bi_poo_1998", ["pair_rate=2000.0"],
     r"config key 'pair_rate': pairs at 2000 Hz are 0.5 ms apart; the forced "
     r"postsynaptic neuron spikes at most once per 0.5 ms .* must be < 1666.67 Hz"),
    ("bi_poo_1998", ["pair_rate=1e-12"], r"'pair_rate': 60 pairs at 1e-12 Hz .* at most "
                                         r"2\*\*40 steps"),
    ("pfister_gerstner_2006", ["frequencies=[1e30]"], r"'frequencies': pairs at 1e\+30 Hz"),
    ("graupner_brunel_2012", ["cortical_frequencies=[5000.0]"],
     r"'cortical_frequencies': pairs at 5000 Hz"),
    ("clopath_2010", ["frequencies=[1000.0]"],
     r"'frequencies': pairs at 1000 Hz .* once per 2 ms"),
    # spike-time differences off the step grid; a dt above them (a driver spike
    # before 0 ms inside the run)
    ("pfister_gerstner_2006", ["delta_ts=[10.05]"],
     r"'delta_ts' must be a multiple of 'dt' = 0.1 ms, got 10.05"),
    ("pfister_gerstner_2006", ["dt=1e30"], r"'delta_ts' must be 0 or at least one step"),
    ("clopath_2010", ["delta_ts=[1e30]"], r"'delta_ts' = 1e\+30 ms is 1e\+31 steps"),
    # Poisson inputs above one spike per step, a bistability run of more than 2**40
    # steps (the network's own checks, inside the run)
    ("van_rossum_2000", ["rate2=20000.0"], r"config keys of the inputs: rates of 'rate2' "
                                           r"must be <= 1000 / dt = 10000 Hz"),
    ("song_abbott_2000", ["rate=20000.0"],
     r"config keys of the inputs: rates of 'rate' must be <= 1000 / dt = 10000 Hz"),
    ("song_abbott_2000", ["rate_inhibitory=1e30"],
     r"config keys of the inputs: rates of 'rate_inhibitory' must be <= 1000 / dt"),
    ("tsodyks_markram_1997", ["stdp_rate=1e30"],
     r"config keys of the inputs: rates of 'stdp_rate' must be <= 1000 / dt"),
    ("graupner_brunel_2012", ["bistability_dt=1e-12"],
     r"'bistability_taus' x tau of 'hippocampal_cultures' = .* steps of "
     r"'bistability_dt' = 1e-12 ms; at most 2\*\*40 steps"),
    # van_rossum_2000: the rate errors relative to a target of 0 (ZeroDivisionError
    # after the run)
    ("van_rossum_2000", ["a_goal=0.0"], r"'a_goal' must be > 0.0 Hz, got 0.0"),
    # eprop_evidence_accumulation: the network's checks (inside the run) and a
    # membrane that does not decay (ZeroDivisionError)
    ("eprop_evidence_accumulation", ["n_lif=0", "n_alif=0"],
     r"config keys of the network: n_lif \+ n_alif must be >= 1"),
    ("eprop_evidence_accumulation", ["tau_m=1e30"],
     r"config keys of the network: tau_m must be below about 1e16 ms"),
    # kheradpisheh_caltech: more training images per category than Faces has (the
    # split's draw failed inside the run)
    ("kheradpisheh_caltech", ["n_train_per_class=435"],
     r"'n_train_per_class' must be < 435 \(the images of the smallest category, Faces"),
    # the conv nets: images that do not fit the layers, a feature grid finer than the
    # feature maps (found inside the run, once the data was loaded)
    ("kheradpisheh_mnist", ["size1=40"],
     r"config keys of the network: layer 1 \(conv\): a 40x40 window with padding 2 "
     r"does not fit its input of 28x28"),
    ("kheradpisheh_caltech", ["height=8", "width=8"],
     r"config keys of the network: layer 3 \(conv\): a 16x16 window with padding 0 "
     r"does not fit its input of 1x1 \(images of 8x8\)"),
    ("kheradpisheh_eth80", ["feature_grid=60"],
     r"config keys of the network: feature_grid must be in \[1, 3\] for feature maps "
     r"of 3 x 3, got 60"),
    ("scherr_oneshot_omniglot", ["size=200"], r"'size' must be <= 105 px, got 200"),
    # forward-Euler decays with a step above their time constant (a non-finite w in
    # the run: SimulationError); exactly integrated decays keep any tau > 0
    ("clopath_2010", ["tau_w=1e-12"],
     r"config keys of the neuron and the rule: tau_w must be >= dt = 0.1 ms \(forward "
     r"Euler: .*\), got 1e-12 ms"),
    ("clopath_2010", ["C_m=1e-12"],
     r"C_m / g_L \(the membrane time constant\) must be >= dt = 0.1 ms .* got "
     r"3.33333e-14 ms \(C_m = 1e-12 pF, g_L = 30.0 nS\)"),
    # an ALIF adaptation whose gradient factor rho - beta psi leaves [-1, 1] (the
    # gradients overflowed in the optimiser inside the run)
    ("eprop_evidence_accumulation", ["tau_a=1e-12"],
     r"config keys of the network: beta gamma / v_th must be <= 1 \+ rho = 1 \+ "
     r"exp\(-dt / tau_a\) = 1 .* got beta = 34.8571, gamma = 0.3, v_th = 0.6"),
    ("scherr_oneshot_arm", ["lsg_beta=1e30"],
     r"config keys of the networks: beta gamma / v_th must be <= 1 \+ rho"),
    # a zero input current scale (the encoder refused it inside the run)
    ("scherr_oneshot_omniglot", ["amplitude=0.0"], r"'amplitude' must be > 0.0, got 0.0"),
    ("scherr_oneshot_omniglot", ["lsg_beta=1e30"],
     r"config keys of the networks: beta gamma / v_th must be <= 1 \+ rho"),
    # a DoG kernel wider than the images (MemoryError in scipy's correlate, inside
    # the run)
    ("kheradpisheh_caltech", ["dog_size=301"],
     r"config keys of the network: dog_size must be <= the images' smaller side "
     r"\(160 px of 160 x 250\), got 301"),
    ("kheradpisheh_mnist", ["dog_size=29"], r"dog_size must be <= the images' smaller "
                                            r"side \(28 px of 28 x 28\), got 29"),
    # trains above one spike per step (they ran as one spike per step under their
    # label); a dt_max beyond every curve (1e30: refused as a protocol no curve makes)
    ("tsodyks_markram_1997", ["irregular_rates=[1e30]"],
     r"config keys of the inputs: rates of 'irregular_rates' must be <= 1000 / dt = "
     r"10000 Hz \(one spike per step of dt = 0.1 ms\), got 1e\+30 Hz"),
    ("tsodyks_markram_1997", ["rates=[1.0, 20000.0]", "facilitation_rate=1.0"],
     r"rates of 'rates' must be <= 1000 / dt = 10000 Hz .* got 20000.0 Hz \(item 1\)"),
    ("graupner_brunel_2012", ["dt_max=600.0"],
     r"'dt_max' must be <= half the longest pairing period \(500 ms at 1 Hz\), got "
     r"600.0"),
    ("graupner_brunel_2012", ["dt_max=1e30"], r"'dt_max' must be <= half the longest"),
    # graupner_brunel_2012: steps beyond the forward-Euler efficacy's bound (the run
    # completed with rho overshooting its stable states)
    ("graupner_brunel_2012", ["bistability_dt=1e6"],
     r"'bistability_dt' must be <= 67519.2 ms for 'hippocampal_cultures' \(the efficacy "
     r"rho integrates by forward Euler: .*\), got 1000000.0"),
    ("graupner_brunel_2012", ["cortical_frequencies=[1.0]", "sjostrom_frequencies=[]",
                              "dt=300.0"],
     r"'dt' must be <= 192.587 ms for 'hippocampal_cultures' \(.* \+ gamma_p \+ "
     r"gamma_d\); a longer step overshoots its stable states\), got 300.0"),
    # diehl_cook_2015: input rates above one spike per step at the first image or at
    # the retries' highest intensity; initial weights above w_max (both inside the run)
    ("diehl_cook_2015", ["intensity=1e30"],
     r"config keys of the inputs: the brightest pixel's input rate, 255 / 8 x the "
     r"highest intensity 1e\+30 .* must be <= 1000 / dt = 2000 Hz \(one spike per step "
     r"of dt = 0.5 ms\), got 3.1875e\+31 Hz$"),
    ("diehl_cook_2015", ["max_intensity=64"],
     r"the highest intensity 64 \(intensity = 2, \+ 1 per retry up to max_intensity = "
     r"64\), must be <= 1000 / dt = 2000 Hz .* got 2040.0 Hz"),
    ("diehl_cook_2015", ["w_init_scale=1e30"],
     r"'w_init_scale' must be <= w_max / 1.01 = 0.990099 .* got 1e\+30"),
    ("diehl_cook_2015", ["w_max=1e-12"], r"'w_init_scale' must be <= w_max / 1.01 = "
                                         r"9.90099e-13 .* got 0.3"),
    # kheradpisheh_eth80: caltech's image size and per-class count did nothing there
    ("kheradpisheh_eth80", ["height=64"], r"unknown config key 'height'"),
    ("kheradpisheh_eth80", ["n_train_per_class=10"],
     r"unknown config key 'n_train_per_class'"),
])
def test_experiments_refuse_inconsistent_configs_before_any_work(tmp_path, name, sets,
                                                                  match):
    with pytest.raises(ConfigError, match=match):
        spec = runner.prepare(name, sets=sets, small=True, out=tmp_path)
        runner.execute(spec, quiet=True)
    assert os.listdir(tmp_path) == []          # no run file, not even a .partial


def test_song_competition_layers_lowering_both_sizes(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text(_TOML_N_INPUTS)
    spec = runner.prepare("song_abbott_2000_competition", config=toml,
                          sets=["n_correlated=20"], out=tmp_path)
    assert (spec.config.n_inputs, spec.config.n_correlated) == (100, 20)


def test_the_pairing_network_refuses_spikes_its_neuron_cannot_make():
    """Post spikes closer than the forced neuron's refractory period: a ValueError
    naming the channel (the error was inf, then a generic 'headline metric is inf')."""
    from plasticity import STDP, Additive, Pair
    from plasticity.experiments import bi_poo_1998 as bp
    rules = {"pair": STDP(Pair(), Additive(0.0, 10.0))}
    with pytest.raises(ValueError, match=r"channel 0: the forced postsynaptic neuron "
                                         r"spiked 1 times, 2 requested"):
        bp.pairing_network([[10.0]], [[20.0, 20.3]], rules)


def test_bi_poo_pairing_network_runs_any_pairing_period():
    """A pairing period that is not a whole number of steps (3 Hz: 333.33 ms): the
    run's length is rounded up to whole steps (it was refused as 'duration must be a
    multiple of dt' after the network was built)."""
    from plasticity import STDP, Additive, Pair
    from plasticity.experiments import bi_poo_1998 as bp
    pre, post = bp.protocol_times([-10.0, 10.0], 3, 3.0)
    rules = {"pair": STDP(Pair(16.8, 33.7, 0.01, 0.005), Additive(0.0, 10.0))}
    final, err = bp.pairing_network(pre, post, rules, dt=0.1)
    assert err < 0.11
    assert final["pair"][0] < 1.0 < final["pair"][1]    # depression, potentiation


@dataclasses.dataclass
class _Steps:
    dt: float = field(0.1, units="ms", gt=0.0)
    window: float = field(10.0, units="ms", gt=0.0, multiple_of="dt")
    delay: float = field(0.0, units="ms", min=0.0, multiple_of="dt")


def test_a_multiple_of_dt_that_rounds_to_zero_steps_is_refused():
    """1e-9 ms is within rounding of 0 steps of 0.1 ms: it was taken as a multiple
    (0 steps), a window of no steps (vogels_sprekeler_2011 analysis_window=1e-6 then
    failed inside the run on an empty concatenation)."""
    with pytest.raises(ConfigError, match=r"'window' must be 0 or at least one step of "
                                          r"'dt' = 0.1 ms, got 1e-09"):
        resolve(_Steps, sets=["window=1e-9"])
    assert resolve(_Steps, sets=["delay=0.0"]).delay == 0.0
    assert resolve(_Steps, sets=["window=0.1"]).window == 0.1
    with pytest.raises(ConfigError, match=r"'analysis_window' must be 0 or at least one "
                                          r"step of 'chunk'"):
        runner.prepare("vogels_sprekeler_2011", sets=["analysis_window=1e-6"],
                       small=True)


@pytest.mark.parametrize("name", ["diehl_cook_2015", "kheradpisheh_mnist",
                                  "kheradpisheh_caltech", "kheradpisheh_eth80",
                                  "scherr_oneshot_omniglot"])
def test_a_missing_dataset_is_reported_before_any_work(tmp_path, monkeypatch, name):
    """A dataset the run reads and cannot find is refused by ``prepare`` (the
    experiment's find_data), before any run file: it was found inside run(), after
    the run file existed (a failed .partial)."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    out = tmp_path / "out"
    monkeypatch.setenv("PLASTICITY_DATA", str(empty))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=rf"^{name}: .*not found"):
        runner.prepare(name, small=True, out=out)
    assert not out.exists()
    shared = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                          "shared", "data")
    if os.path.isdir(shared):        # where the data is, prepare goes on
        monkeypatch.setenv("PLASTICITY_DATA", shared)
        spec = runner.prepare(name, small=True, out=out)
        assert spec.experiment.name == name and not out.exists()


def test_omniglot_n_way_is_checked_against_the_data(tmp_path, monkeypatch):
    """More classes per episode than a split has characters: refused by find_data,
    which knows the data directory (the episodes' draw failed inside the run: at the
    first test episode, after the whole outer loop, for n_way in (64, 178])."""
    shared = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                          "shared", "data")
    data = os.environ.get("PLASTICITY_DATA") or shared
    if not os.path.isfile(os.path.join(data, "omniglot", "images_background_small1.zip")):
        pytest.skip("Omniglot zips not found (see data/README.md)")
    monkeypatch.setenv("PLASTICITY_DATA", data)
    for n_way in (65, 179):
        with pytest.raises(ConfigError, match=rf"config key 'n_way' must be <= 64 \(the "
                                              rf"characters of the meta-train alphabets: "
                                              rf"178, of the held-out ones: 64, in .*\), "
                                              rf"got {n_way}"):
            runner.prepare("scherr_oneshot_omniglot", sets=[f"n_way={n_way}"], small=True,
                           out=tmp_path)
    assert runner.prepare("scherr_oneshot_omniglot", sets=["n_way=64"], small=True,
                          out=tmp_path).config.n_way == 64
    assert os.listdir(tmp_path) == []


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_diverging_eprop_pattern_training_names_where(tmp_path):
    """Gradient descent that diverges (no config bound predicts it: it depends on the
    rates the network reaches) fails at the iteration it does, naming the method, the
    iteration and what to change (it was 'headline metric final_nmse is inf' after
    every method had run), and without NumPy's overflow RuntimeWarnings (the loss,
    the gradients and the optimiser step overflowed on the way: the inf is expected
    there, and reported). Weights that overflow the next forward pass: that pass's
    error (step, episode, neuron or output) within the iteration's."""
    spec = runner.prepare("eprop_pattern_generation", sets=[
        "v_th=1e-12", "lr=1e10", "n_iter=50", 'methods=["eprop_symmetric"]'],
        out=tmp_path)
    with pytest.raises(runner.RunFailed, match=r"SimulationError: eprop_symmetric: the "
                                               r"NMSE is inf at iteration \d+: gradient "
                                               r"descent diverged \(max \|w_out\| = .*"
                                               r"lower lr, or raise v_th"):
        runner.execute(spec, quiet=True)
    spec = runner.prepare("eprop_pattern_generation", sets=[
        "lr=1e308", "n_iter=5", 'methods=["bptt"]'], out=tmp_path)
    with pytest.raises(runner.RunFailed, match=r"SimulationError: bptt: the forward pass "
                                               r"of iteration 1 failed \(RSNN: non-finite "
                                               r"membrane potential at step \d+ \(t = \d+ "
                                               r"ms, of 1000 steps\), episode 0 of the "
                                               r"batch, neuron \d+ \(LIF \d+\): weights "
                                               r"too large\?\): gradient "
                                               r"descent diverged .*lower lr"):
        runner.execute(spec, quiet=True)


def test_vogels_background_rate_within_one_spike_per_step(tmp_path):
    """The input trains are Bernoulli draws per step: a rate floor above 1000 / dt Hz
    saturated silently (1e30 Hz ran, slowly, every input at its dead time's limit);
    refused naming the key, the limit and the value; the limit itself is taken."""
    for v, dt in (("1e30", "0.1"), ("10000.1", "0.1"), ("20000.5", "0.05")):
        with pytest.raises(ConfigError, match=r"config key 'background_rate' must be <= "
                                              r"1000 / dt = \d+ Hz \(one spike per step "
                                              rf"of dt = {dt} ms\), got {v} Hz"
                                              .replace("e30", r"e\+30")):
            runner.prepare("vogels_sprekeler_2011", sets=[f"background_rate={v}",
                                                          f"dt={dt}"], out=tmp_path)
    spec = runner.prepare("vogels_sprekeler_2011", sets=["background_rate=10000"],
                          out=tmp_path)
    assert spec.config.background_rate == 10000.0


def test_song_competition_mother_train_within_one_spike_per_step(tmp_path):
    """The correlated inputs copy a mother train of rate / correlation Hz on the step
    grid: correlation = 1e-12 was a MemoryError of 3 PiB inside the run, and any
    mother train above one spike per step merged spikes (the inputs' rates fell
    short). Refused with the config naming the key, the limit and the value; the
    limit (rate dt / 1000) and 0 (no correlation) are taken."""
    for v in ("1e-12", "0.001"):
        with pytest.raises(ConfigError, match=r"config key 'correlation': the correlated "
                                              r"group's mother train, rate / correlation, "
                                              r"must be <= 1000 / dt = 10000 Hz .*got 15 / "
                                              r".* Hz \(correlation must be 0 or >= rate "
                                              r"dt / 1000 = 0.0015\)"):
            runner.prepare("song_abbott_2000_competition", sets=[f"correlation={v}"],
                           small=True, out=tmp_path)
    for v in (0.0015, 0.0):
        spec = runner.prepare("song_abbott_2000_competition", sets=[f"correlation={v}"],
                              small=True, out=tmp_path)
        assert spec.config.correlation == v


def test_diehl_norm_within_n_input_w_max(tmp_path, monkeypatch):
    """Each example scales the input weights onto a neuron to sum to norm: a mean
    norm / 784 above w_max cannot be within the rule's bounds (norm = 1e30 was
    refused by the network at the first run, inside the run). Refused with the
    config; the limit is taken, and no bound without learning (no scaling)."""
    monkeypatch.setattr(runner, "find_data", lambda exp, cfg: None)
    for v in ("1e30", "785"):
        with pytest.raises(ConfigError, match=r"config key 'norm' must be <= 784 x w_max "
                                              r"= 784 \(each example scales .*\), got "
                                              + v.replace("e30", r"e\+30")):
            runner.prepare("diehl_cook_2015", sets=[f"norm={v}"], out=tmp_path)
    assert runner.prepare("diehl_cook_2015", sets=["norm=784"],
                          out=tmp_path).config.norm == 784.0
    assert runner.prepare("diehl_cook_2015", sets=["norm=1e30", "learning=false"],
                          out=tmp_path).config.norm == 1e30
