"""plasticity.pynn refuses bad setup() arguments and Population sizes at the boundary
(release check: ``setup(timestep=0)``, ``timestep=nan`` and ``seed=-1`` were accepted
and failed later, if at all; ``Population(0, ...)`` raised IndexError inside PyNN,
``Population(10**10, ...)`` a MemoryError). Skipped without PyNN."""
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
