"""PyNN 0.13 backend on the plasticity engine: ``import plasticity.pynn as sim``.

Requires the optional extra ``[pynn]`` (PyNN, neo, lazyarray, quantities). See
docs/pynn.md for what is supported, the units and what differs from pyNN.nest.
"""
try:
    import pyNN  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("plasticity.pynn needs PyNN 0.13: pip install 'plasticity[pynn]'") \
        from exc

from pyNN import errors, random, space                          # noqa: F401
from pyNN.network import Network                                # noqa: F401
from pyNN.space import Space                                    # noqa: F401
from pyNN.random import NumpyRNG, GSLRNG, RandomDistribution    # noqa: F401
from pyNN.connectors import *                                   # noqa: F401,F403
from pyNN.recording import *                                    # noqa: F401,F403
from pyNN.standardmodels import StandardCellType
from pyNN import common

from .standardmodels import *                                   # noqa: F401,F403
from .projections import FixedProbabilityConnector              # noqa: F401
from .populations import Population, PopulationView, Assembly   # noqa: F401
from .projections import Projection                             # noqa: F401
from . import simulator

__all__ = []

_DEFAULT_SEED = None


def setup(timestep=0.1, min_delay="auto", max_delay=10.0, **extra_params):
    """Start a new simulation: ``timestep`` (ms), ``min_delay`` ('auto' = timestep),
    ``max_delay`` (ms); extra: ``seed`` (or ``rng_seed``) for the Poisson sources and
    noisy currents."""
    if extra_params.get("spike_precision", "on_grid") != "on_grid":
        raise NotImplementedError("plasticity.pynn is clock-driven: spike_precision "
                                  "must be 'on_grid' (spikes on the time grid)")
    from .._validation import check_int, check_positive
    timestep = check_positive("timestep", timestep, "ms")
    if min_delay != "auto":
        min_delay = check_positive("min_delay", min_delay, "ms")
    max_delay = check_positive("max_delay", max_delay, "ms")
    for key in ("seed", "rng_seed"):
        if extra_params.get(key) is not None:
            extra_params[key] = check_int(key, extra_params[key], 0, 2 ** 63 - 1)
    common.setup(timestep, min_delay, **extra_params)
    simulator.state.clear()
    simulator.state.dt = timestep
    simulator.state.min_delay = timestep if min_delay == "auto" else min_delay
    simulator.state.auto_min_delay = min_delay == "auto"
    simulator.state.max_delay = max_delay
    simulator.state.seed = extra_params.get("seed", extra_params.get("rng_seed"))
    simulator.state.run_file = extra_params.get("run_file")
    return rank()


def end(compatible_output=True, run_file=None):
    """Write what was recorded with a file name, and forget the network.

    ``run_file`` (or ``setup(..., run_file=PATH)``): also write our HDF5 run file
    (plasticity.results; populations, recorded spikes and signals, projections with
    their current weights); see plasticity/pynn/runfile.py."""
    from pyNN.recording import get_io
    for (population, variables, filename) in simulator.state.write_on_end:
        io = get_io(filename)
        population.write_data(io, variables)
    simulator.state.write_on_end = []
    path = run_file or getattr(simulator.state, "run_file", None)
    if path:
        from .runfile import write_run_file
        write_run_file(path)
        simulator.state.run_file = None


run, run_until = common.build_run(simulator)
run_for = run
reset = common.build_reset(simulator)
initialize = common.initialize
get_current_time, get_time_step, _get_min_delay, get_max_delay, \
    num_processes, rank = common.build_state_queries(simulator)


def get_min_delay():
    """The minimum delay (ms); with ``min_delay='auto'`` the smallest delay of the
    projections (the time step without projections), as NEST."""
    st = simulator.state
    if getattr(st, "auto_min_delay", False):
        delays = [prj._attrs["delay"].min() for prj in st.projections
                  if prj._attrs.get("delay", []).__len__()]
        if delays:
            return float(min(delays))
    return st.min_delay

create = common.build_create(Population)
connect = common.build_connect(Projection, FixedProbabilityConnector,  # noqa: F405
                               StaticSynapse)                          # noqa: F405
set = common.set
record = common.build_record(simulator)


def record_v(source, filename):
    return record(["v"], source, filename)


def record_gsyn(source, filename):
    return record(["gsyn_exc", "gsyn_inh"], source, filename)


def list_standard_models():
    """The standard cell types this backend can build."""
    out = []
    for name, obj in globals().items():
        if isinstance(obj, type) and issubclass(obj, StandardCellType) \
                and obj is not StandardCellType:
            try:
                obj()
            except NotImplementedError:
                continue
            out.append(obj.__name__)
    return out
