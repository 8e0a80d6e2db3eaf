"""benchmarks/pynn_speed.py: the model written once in PyNN builds and runs on our
backend (a small B1 and B2; no timing asserted)."""
import os
import sys

import pytest

pytest.importorskip("pyNN")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import pynn_speed  # noqa: E402


@pytest.mark.parametrize("model, scale", [("B1", dict(n_in=200)),
                                          ("B2", dict(n_in=500, n_out=50))])
def test_pynn_speed_model_runs_on_plasticity(model, scale):
    m = dict(pynn_speed.MODELS[model])
    m.pop("full")
    m.pop("duration")
    c = dict(pynn_speed.COMMON, **dict(m, **scale), duration=300.0)
    res = pynn_speed.child("plasticity", c)
    assert res["nnz"] > 0
    assert 0.0 < res["w_mean_over_gmax"] < 1.0
    assert res["sim_cpu_s"] > 0.0
