"""plasticity.pynn refuses bad setup() arguments and Population sizes at the boundary
(release check: ``setup(timestep=0)``, ``timestep=nan`` and ``seed=-1`` were accepted
and failed later, if at all; ``Population(0, ...)`` raised IndexError inside PyNN,
``Population(10**10, ...)`` a MemoryError). Skipped without PyNN."""
import numpy as np
import pytest

pytest.importorskip("pyNN")
pytest.importorskip("neo")

import plasticity.pynn as sim  # noqa: E402


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(timestep=0.0), ValueError, r"timestep must be > 0 ms, got 0.0"),
    (dict(timestep=float("nan")), ValueError, r"timestep must be finite, got nan"),
    (dict(timestep="0.1"), TypeError, r"timestep must be a real number"),
    (dict(timestep=0.1, min_delay=-1.0), ValueError, r"min_delay must be > 0 ms"),
    (dict(timestep=0.1, max_delay=0.0), ValueError, r"max_delay must be > 0 ms"),
    (dict(timestep=0.1, seed=-1), ValueError, r"seed must be an integer in \[0, "),
    (dict(timestep=0.1, seed=1.5), TypeError, r"seed must be an integer, got 1.5"),
    (dict(timestep=0.1, rng_seed=True), TypeError, r"rng_seed must be an integer"),
])
def test_setup_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        sim.setup(**kwargs)


def test_setup_accepts_the_usual_arguments():
    sim.setup(timestep=0.1, min_delay="auto", max_delay=10.0, seed=3)
    sim.setup(timestep=0.25, min_delay=0.5, seed=None)
    sim.end()


@pytest.mark.parametrize("size, match", [
    (0, r"size must be an integer in \[1, 2147483647\], got 0"),
    (-1, r"got -1"),
    (10 ** 10, r"got 10000000000"),
])
def test_population_size(size, match):
    sim.setup(timestep=0.1)
    with pytest.raises(ValueError, match=match):
        sim.Population(size, sim.IF_curr_exp())
    sim.end()


def test_population_memory_estimate(monkeypatch):
    from plasticity import _memory
    monkeypatch.setattr(_memory, "available_bytes", lambda: 1_000_000)
    sim.setup(timestep=0.1)
    with pytest.raises(ValueError, match=r"size = 100000 needs about 25.6 MB of memory"):
        sim.Population(100_000, sim.IF_curr_exp())
    assert sim.Population(100, sim.IF_curr_exp()).size == 100
    sim.end()


# ------------------------------------------------------------ sources, connections,
# recording (release check: SpikeSourceGamma(alpha=inf) raised an OverflowError in
# lazyarray and a real alpha was truncated to an int; a NaN weight was reported as
# "Weights must be positive"; FixedProbabilityConnector(2.0) connected every pair;
# record(..., sampling_interval=0) recorded every step, 0.25 at dt 0.1 every 0.2 ms)
@pytest.mark.parametrize("alpha, match", [
    (float("inf"), r"alpha of 'population\d+' must be finite .*got inf"),
    (float("nan"), r"alpha of 'population\d+' must be finite .*got nan"),
    (-1.0, r"alpha of 'population\d+' must be > 0 .*got -1.0"),
])
def test_gamma_source_alpha(alpha, match):
    from pyNN.errors import InvalidParameterValueError
    sim.setup(timestep=0.1)
    with pytest.raises(InvalidParameterValueError, match=match):
        sim.Population(2, sim.SpikeSourceGamma(alpha=alpha, beta=10.0))
    p = sim.Population(2, sim.SpikeSourceGamma(alpha=2.5, beta=10.0))
    assert p.get("alpha") == 2.5                    # a real shape, not truncated
    with pytest.raises(InvalidParameterValueError, match=r"got inf"):
        p.set(alpha=float("inf"))
    assert p.get("alpha") == 2.5
    sim.end()


@pytest.mark.parametrize("receptor", ["excitatory", "inhibitory"])
@pytest.mark.parametrize("cell", ["IF_cond_exp", "IF_curr_exp"])
def test_nonfinite_weights_and_delays(receptor, cell):
    from pyNN.errors import InvalidParameterValueError
    sim.setup(timestep=0.1)
    a = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [2.0]]))
    b = sim.Population(3, getattr(sim, cell)())
    for w in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(InvalidParameterValueError,
                           match=r"weight must be a finite number, got (nan|-?inf)"):
            sim.Projection(a, b, sim.AllToAllConnector(), sim.StaticSynapse(weight=w),
                           receptor_type=receptor)
    sign = -1.0 if receptor == "inhibitory" and cell == "IF_curr_exp" else 1.0
    prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(1)),
                         sim.StaticSynapse(weight=0.1 * sign), receptor_type=receptor)
    w = prj.get("weight", format="array")          # NaN where no connection
    assert 0 < len(prj) < 6 and np.isnan(w).any()
    prj.set(weight=w)                               # round trip: only connections read
    for name in ("weight", "delay"):
        with pytest.raises(InvalidParameterValueError,
                           match=rf"{name} must be a finite number, got nan"):
            prj.set(**{name: float("nan")})
    np.testing.assert_array_equal(prj.get("weight", format="array"), w)
    sim.end()


@pytest.mark.parametrize("p", [2.0, 1.0 + 1e-9, -0.1, float("nan"), float("inf"), "x",
                               True])
def test_fixed_probability_connector_p(p):
    from pyNN.errors import InvalidParameterValueError
    with pytest.raises(InvalidParameterValueError,
                       match=r"p_connect of FixedProbabilityConnector must be a "
                             r"probability in \[0, 1\], got"):
        sim.FixedProbabilityConnector(p)
    sim.setup(timestep=0.1)
    a = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [2.0]]))
    b = sim.Population(3, sim.IF_curr_exp())
    if not isinstance(p, (str, bool)):
        with pytest.raises(InvalidParameterValueError, match="p_connect"):
            sim.connect(a, b, weight=0.1, p=p)
    assert len(sim.Projection(a, b, sim.FixedProbabilityConnector(1.0))) == 6
    assert len(sim.Projection(a, b, sim.FixedProbabilityConnector(0))) == 0
    sim.end()


@pytest.mark.parametrize("interval", [0, 0.0, -0.1, 0.25, float("nan"), float("inf"),
                                      "0.1", True])
def test_record_sampling_interval(interval):
    sim.setup(timestep=0.1)
    b = sim.Population(3, sim.IF_curr_exp())
    with pytest.raises(ValueError, match=r"sampling_interval must be a positive "
                                         r"multiple of the time step 0.1 ms, got"):
        b.record("v", sampling_interval=interval)
    assert not b.recorder.recorded       # nothing recorded
    b.record("v", sampling_interval=0.5)
    sim.run(2.0)
    assert b.get_data().segments[0].analogsignals[0].shape == (5, 3)
    sim.end()
