"""One learner config for the four RSNN experiments (experiments/_common.py): each
Config subclasses LearnerConfig (the one-shot pair OneShotConfig) and declares none of
the shared fields itself; the keys stay top-level, so TOML files, --set keys and run
files are unchanged (their defaults: tests/test_experiment_tomls.py)."""
import dataclasses

import pytest

from plasticity import config, experiments
from plasticity.experiments._common import LearnerConfig, OneShotConfig, with_defaults

RSNN = {"eprop_pattern_generation": LearnerConfig,
        "eprop_evidence_accumulation": LearnerConfig,
        "scherr_oneshot_arm": OneShotConfig,
        "scherr_oneshot_omniglot": OneShotConfig}

#: a few of each experiment's own defaults, as they were before the shared config
DEFAULTS = {
    "eprop_pattern_generation": dict(tau_m=30.0, tau_out=30.0, v_th=0.03, reg_rate=10.0,
                                     lr=1e-4, n_iter=2000),
    "eprop_evidence_accumulation": dict(tau_m=20.0, tau_out=20.0, v_th=0.6,
                                        reg_rate=10.0, lr=0.005, n_iter=2000),
    "scherr_oneshot_arm": dict(order="full", n_learner=100, lsg_tau_a=500.0, n_ref=5,
                               tau_out=20.0, eta=1e-3, lr=1.5e-3, batch=8, n_iter=1500,
                               eval_every=100, n_val=32, n_test=128, reg_rate=20.0),
    "scherr_oneshot_omniglot": dict(order="first", n_learner=300, lsg_tau_a=200.0,
                                    n_ref=2, tau_out=10.0, eta=3e-5, scale_in=0.1,
                                    scale_out=1.0, lsg_scale_out=0.03, reg_coeff=0.1,
                                    lr=3e-3, batch=16, n_iter=1500, eval_every=500,
                                    n_val=200, n_test=1000, reg_rate=20.0,
                                    eprop_etas=[1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2,
                                                1e-1, 3e-1, 1.0]),
}


def _own_fields(cls):
    return set(vars(cls).get("__annotations__", {}))


@pytest.mark.parametrize("name", sorted(RSNN))
def test_rsnn_experiments_share_the_learner_config(name):
    Config = experiments.load(name).Config
    base = RSNN[name]
    assert issubclass(Config, base)
    shared = {f.name for f in dataclasses.fields(base)}
    assert not _own_fields(Config) & shared, "a shared field is declared again"
    keys = config.keys(Config)
    assert set(shared) <= set(keys) and not any("." in k for k in keys)
    c = Config()
    for k, v in DEFAULTS[name].items():
        got = getattr(c, k)
        assert got == v and type(got) is type(v), (k, got, v)


@pytest.mark.parametrize("name", sorted(RSNN))
def test_shared_keys_are_set_like_any_other(name):
    Config = experiments.load(name).Config
    c = config.resolve(Config, sets=["n_iter=7", "tau_m=25"])
    assert (c.n_iter, c.tau_m) == (7, 25.0)
    with pytest.raises(config.ConfigError, match="tau_m"):
        config.resolve(Config, sets=["tau_m=-1"])
    assert config.to_flat(c)["n_iter"] == 7


def test_with_defaults_keeps_metadata_order_and_copies_lists():
    C = with_defaults(OneShotConfig, n_lsg=7, eprop_etas=[0.5],
                      help={"eta": "the inner rate"})
    assert issubclass(C, OneShotConfig)
    assert [f.name for f in dataclasses.fields(C)] == \
        [f.name for f in dataclasses.fields(OneShotConfig)]
    meta = {k: m for k, _, _, m in config.describe(C)}
    assert meta["n_lsg"]["min"] == 1 and meta["n_lsg"]["help"] == "LSG neurons"
    assert meta["eta"]["help"] == "the inner rate" and meta["eta"]["min"] == 0.0
    a, b = C(), C()
    assert a.n_lsg == 7 and a.eprop_etas == [0.5] and a.eprop_etas is not b.eprop_etas
    assert a.eta == OneShotConfig().eta
    with pytest.raises(TypeError, match="no_such"):
        with_defaults(LearnerConfig, no_such=1)
    with pytest.raises(TypeError, match="nope"):
        with_defaults(LearnerConfig, help={"nope": "x"})
