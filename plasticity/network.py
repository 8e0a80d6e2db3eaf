"""Networks of populations, projections and monitors, run by the compiled loop.

Example
-------
>>> net = Network(dt=0.1, seed=1)
>>> inp = net.add_poisson("input", 1000, rates=15.0)
>>> out = net.add_population("out", 1, LIFCond(...))
>>> proj = net.connect(inp, out, SynapseMatrix.all_to_all(1000, 1, weight=0.005),
...                    target="g_e", rule=STDP(...))
>>> spikes = net.monitor_spikes(out)
>>> net.run(1000.0)

All of a run lives in compiled code without the GIL when every part is built in; a
Python rule (:class:`~plasticity.rules.Rule`) or a Python callback switches to a
per-step path that calls the compiled step once per step, with identical results.
The order of operations within a step is documented in docs/internals.md.
"""
import collections.abc
import contextlib
import math
import os
import time
import warnings

import numpy as np

from ._ext import engine as _engine
from ._validation import (check_finite, check_ids, check_int, check_positive,
                          check_rate_per_step, check_real_array, check_size,
                          duration_steps, steps_of, unknown_name)
from .errors import SimulationError
from .neurons import NeuronModel
from .rules.base import Rule
from .synapses import SynapseMatrix, first_nonfinite

__all__ = ["Network", "Population", "PoissonGroup", "SpikeGeneratorGroup",
           "PoissonInput", "Projection", "SpikeMonitor", "StateMonitor", "WeightMonitor", "RuleMonitor"]

_NEVER = 0x3FFFFFFFFFFFFFFF
_MAX_STEP = 2 ** 61          # the last Network.step (well below _NEVER)
_SEGMENT = 20000  # steps between returns to Python (progress, monitors, checks)
# a run of at least this many steps keeps the weights of STDP projections in
# post-synaptic order while it runs (identical numbers; faster post-spike updates);
# shorter runs skip the gather/scatter it costs
_POST_ORDER_MIN_STEPS = 5000
# the split table of a projection with per-synapse delays (Projection._delay_splits)
# is built where it costs at most this many bytes per synapse (4 per entry)
_DELAY_SPLIT_BYTES = 1
# whether the compiled engine has OpenMP (else every run uses one thread)
_OPENMP = _engine.openmp_available()
# a run uses at most one thread per this many synapses + neurons (at least one):
# the threads meet a few times per step, which costs more than it saves in small
# networks; and at most one per core the process may use (available_cores): a
# thread more meets the others at every barrier descheduled, for no gain. The
# results are the same for any number (0: neither limit, tests of teams larger
# than the machine)
_WORK_PER_THREAD = 50_000


# the load watch (Network._watch_load): a run on several threads whose threads held
# their cores less than _HELD of its wall time (another process ran on them: every
# barrier then waits for a descheduled thread, and a small network runs 10x slower
# than on one thread) makes the next runs use as many threads as it had cores, until
# a probe with all of them after _PROBE_FIRST s (doubling to _PROBE_MAX s while the
# cores stay busy). Runs shorter than _WATCH_MIN s of wall time do not count. The
# results are the same for any number of threads. PLASTICITY_WATCH_LOAD=0: off.
_HELD = 0.75
_WATCH_MIN = 2e-3
_PROBE_FIRST = 0.5
_PROBE_MAX = 16.0
_WATCH_LOAD = os.environ.get("PLASTICITY_WATCH_LOAD", "1") != "0"


def _cores_held(cpu, wall):
    """From each thread's CPU and wall seconds in a run: None where they held their
    cores (or the run was too short to tell), else the number of cores they had
    between them (>= 1, rounded down)."""
    cpu = np.asarray(cpu, dtype=np.float64)
    wall = np.asarray(wall, dtype=np.float64)
    if cpu.size < 2 or wall.size != cpu.size or not np.all(wall > 0) or \
            wall.max() < _WATCH_MIN:
        return None
    held = np.minimum(cpu / wall, 1.0)
    if held.min() >= _HELD:
        return None
    return max(1, int(held.sum() + 1e-9))


def available_cores():
    """The cores this process may run on (``os.sched_getaffinity``; ``os.cpu_count``
    where that does not exist), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):   # not on Linux
        return max(1, os.cpu_count() or 1)


def default_threads():
    """Threads of a Network created without ``threads``: ``PLASTICITY_THREADS`` if
    set (an integer >= 1; an upper bound as ``threads`` is), else every core this
    process may run on (:func:`available_cores`)."""
    env = os.environ.get("PLASTICITY_THREADS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"PLASTICITY_THREADS must be an integer >= 1, got {env!r}")
        return n
    return available_cores()


def _check_name(name, existing):
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Python identifier, got {name!r}")
    if name in existing:
        raise ValueError(f"name {name!r} is already used in this network")
    return name


def _check_rule_bounds(name, synapses, rule, dt, what="initial weights"):
    """Initial weights outside a rule's bounds (``rule.weight_bounds``: an STDP
    weight dependence's [w_min, w_max], the clip bounds of a rule-language rule whose
    every write of w clips it) would be clipped silently at their first update:
    refused at connect and when the projection's first run starts (weights set after
    connect, bounds changed before it), naming the projection, the bounds, the first
    weight outside and how many are. Between runs weights may leave the bounds (a
    normalisation, Diehl & Cook 2015): the rule clips them at their next update."""
    bounds = rule.weight_bounds(dt)
    w = synapses.weights
    if bounds is None:
        return
    lo, hi, how = bounds
    # a finite bound beyond the weights' dtype is inf there: a weight clipped to it is
    # inf (1e39 at float32 weights); refused whatever the initial weights (an infinite
    # bound is no bound: left alone)
    big = float(np.finfo(w.dtype).max)
    for b in (lo, hi):
        b64 = np.asarray(b, dtype=np.float64)
        if np.any(np.isfinite(b64) & (np.abs(b64) > big)):
            raise ValueError(f"the rule's bounds {how} = [{lo}, {hi}] of projection "
                             f"{name!r} must be finite in its {w.dtype} weights (each "
                             f"within +-{big:.8g} or infinite), got {b}: a weight "
                             f"clipped to it would be inf")
    if w.size == 0:
        return
    # compared in the weights' dtype: a float32 weight drawn in [lo, hi] stays in it;
    # a min and a max first (no temporaries), in chunks only where one is outside
    # (whole-array comparisons would hold 3 B per synapse of bool arrays)
    with np.errstate(over="ignore"):    # a bound beyond the dtype: +-inf there
        lo_, hi_ = np.asarray(lo, dtype=w.dtype), np.asarray(hi, dtype=w.dtype)
    if w.min() >= lo_ and w.max() <= hi_:
        return
    first, count = -1, 0
    for a, b in _chunks(w.size):
        part = w[a:b]
        out = (part < lo_) | (part > hi_)
        n_out = int(np.count_nonzero(out))
        if n_out and first < 0:
            first = a + int(np.flatnonzero(out)[0])
        count += n_out
    if count:
        raise ValueError(f"{what} of projection {name!r} must be within the rule's "
                         f"bounds {how} = [{lo}, {hi}], got {w[first]} (synapse "
                         f"{first}; {count} of {w.size} outside): a weight outside is "
                         f"clipped silently at its first update")


_CHUNK = 1 << 22


def _real_values(name, value, unit=""):
    """``value`` as a float64 array of any shape; real numbers only (a string or an
    object is a TypeError naming ``name``, not NumPy's conversion message)."""
    a = np.asarray(value)
    if a.size == 0 and a.dtype.kind not in "iuf":
        a = a.astype(np.float64)
    if a.dtype.kind not in "iuf":
        u = f" ({unit})" if unit else ""
        raise TypeError(f"{name} must be real numbers{u}, got {a.dtype} values "
                        f"({value!r:.60})")
    return a.astype(np.float64)


def _check_sink(sink):
    """A monitor's ``sink``: None or a callable (refused here, not at its first call
    in the middle of a run)."""
    if sink is not None and not callable(sink):
        raise TypeError(f"sink must be None or a callable, got {sink!r} "
                        f"({type(sink).__name__})")
    return sink


def _check_variables(variables, model):
    """``variables`` (a name or a non-empty sequence of distinct names of ``model``'s
    variables) as a list."""
    if isinstance(variables, str):
        variables = [variables]
    try:
        variables = list(variables)
    except TypeError:
        raise TypeError(f"variables must be a variable name or a sequence of names, got "
                        f"{variables!r}") from None
    for v in variables:
        if not isinstance(v, str):
            raise TypeError(f"variables must be names (str), got {v!r}")
        model.var_index(v)      # an unknown name: ValueError listing the variables
    if not variables or len(set(variables)) != len(variables):
        raise ValueError(f"variables must be distinct names of {list(model.variables)}, "
                         f"got {variables!r}")
    return variables


#: bytes per neuron a population's arrays take besides its state (spike buffer,
#: source schedules and parameters: the largest, the renewal sources, ~60 B)
_BYTES_PER_SOURCE = 64


def _chunks(n, size=_CHUNK):
    """(start, stop) pairs covering range(n) in pieces of at most ``size``."""
    return ((a, min(a + size, n)) for a in range(0, n, size))


def _time_to_steps(times, dt):
    """Times (ms) in steps, snapped to the nearest step when within rounding error
    (so that a breakpoint at k*dt takes effect at step k, not k+1)."""
    steps = np.asarray(times, dtype=np.float64) / dt
    near = np.round(steps)
    snap = np.abs(steps - near) <= 1e-9 * np.maximum(1.0, np.abs(steps))
    return np.where(snap, near, steps)


def _decay_table(c):
    """exp(-k c) for the lags k until it underflows to 0 (k c > 746), at most 2**15
    entries, cached. Traces of neurons that spiked long ago are read at such lags at
    every event, so a lookup there saves an ``exp`` (the engine returns 0 beyond
    k c > 746 without one)."""
    K = int(min(math.ceil(746.0 / c) + 1, 1 << 15)) if c > 0 else 1
    key = (c, K)
    tab = _DECAY_TABLES.get(key)
    if tab is None:
        tab = _DECAY_TABLES[key] = _engine.decay_table(c, K)
    return tab


_DECAY_TABLES = {}


class Population:
    """A group of ``n`` neurons of one model; ``pop['v']`` is a view of a variable.

    Created by :meth:`Network.add_population`.
    """

    kind = 0

    def __init__(self, name, n, model):
        self.name = name
        self.n = n
        self.model = model
        self.state = model.initial_state(n) if model is not None else None
        self.spikes_buf = np.zeros(max(n, 1), dtype=np.int32)
        self.H = 0
        self.hist = np.zeros(0, dtype=np.int32)
        self.hist_n = np.zeros(0, dtype=np.int64)
        self.current = None

    def __getitem__(self, var):
        return self.state[self.model.var_index(var)]

    def __setitem__(self, var, value):
        row = self.state[self.model.var_index(var)]
        v = check_real_array(f"{self.name}.{var}", value, self.n, element="neuron")
        self.model.check_state_values(var, v, f"{self.name}.{var}")
        row[:] = v

    def __len__(self):
        return self.n

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r}, n={self.n}, model={self.model!r})"

    def _ensure_history(self, H):
        if H > self.H:
            hist = np.zeros(H * self.n, dtype=np.int32)
            hist_n = np.zeros(H, dtype=np.int64)
            self.H, self.hist, self.hist_n = H, hist, hist_n

    def _state_arrays(self):
        d = {"hist": self.hist, "hist_n": self.hist_n}
        if self.state is not None:
            d["state"] = self.state
        if self.current is not None:
            d["current_pos"] = self.current["pos"]
        return d


class PoissonGroup(Population):
    """``n`` independent Poisson spike sources with rates in Hz.

    Spike times are drawn as geometric inter-spike intervals (the exact distribution
    of a Bernoulli draw per step with p = rate dt), so the cost per step is
    proportional to the number of spikes, not to ``n``.
    """

    kind = 1

    def __init__(self, name, n, rates, rng, dt=None):
        super().__init__(name, n, None)
        self._dt = dt  # the network's: a rate above 1000 / dt Hz cannot be drawn
        self.rng = rng
        self.next_step = np.full(n, _NEVER, dtype=np.int64)
        self.heap_key = np.zeros(max(n, 1), dtype=np.int64)
        self.heap_id = np.zeros(max(n, 1), dtype=np.int32)
        self._rates = np.zeros(n)
        self.rates = rates

    @property
    def rates(self):
        """Rates in Hz (a copy); assign to change them (takes effect at the next run)."""
        return self._rates.copy()

    @rates.setter
    def rates(self, value):
        r = check_real_array(f"rates of {self.name!r}", value, self.n, "Hz",
                             nonnegative=True)
        if self._dt is not None:
            check_rate_per_step(f"rates of {self.name!r}", r, self._dt)
        self._rates = r
        self._dirty = True

    def _log1m_p(self, dt):
        p = self._rates * dt / 1000.0
        with np.errstate(divide="ignore"):
            out = np.log1p(-np.minimum(p, 1.0))
        out[p >= 1.0] = -1e300
        return out

    def _state_arrays(self):
        d = super()._state_arrays()
        d["next_step"] = self.next_step
        return d


class SpikeGeneratorGroup(Population):
    """``n`` sources that emit given spikes (times in ms, rounded to the step)."""

    kind = 2

    def __init__(self, name, n, times, ids, dt=None):
        super().__init__(name, n, None)
        self._dt = dt  # the network's: two spikes of a neuron in one step are refused
        self.set_spikes(times, ids)

    def set_spikes(self, times, ids):
        """Replace the spike trains (times in ms >= 0, neuron ids in [0, n); at most
        one spike per neuron and step)."""
        t = _real_values(f"spike times of {self.name!r}", times, "ms")
        i = np.asarray(ids)
        if t.ndim != 1 or i.ndim != 1:
            raise ValueError(f"times and ids of {self.name!r} must be 1-D arrays, got "
                             f"shapes {t.shape} and {i.shape}")
        if t.shape != i.shape:
            raise ValueError(f"times and ids must have the same length, got {t.size} "
                             f"and {i.size}")
        if t.size and (not np.all(np.isfinite(t)) or t.min() < 0):
            raise ValueError(f"spike times of {self.name!r} must be finite and >= 0 ms")
        ids = check_ids(f"spike ids of {self.name!r}", i, self.n)
        if getattr(self, "_dt", None) is not None:    # checked here, not at run()
            self._compile(self._dt, t, ids)
        self._ids = ids
        self._times = t
        self._steps = None
        self.pos = np.zeros(1, dtype=np.int64)

    def _compile(self, dt, times=None, ids=None):
        """The spikes (``times``, ``ids``; default the group's) in steps of ``dt``,
        sorted; a neuron with two spikes in one step is a ValueError."""
        times = self._times if times is None else times
        ids = self._ids if ids is None else ids
        steps = steps_of(times, dt)
        order = np.lexsort((ids, steps))
        steps, ids = steps[order], ids[order]
        dup = (np.diff(steps) == 0) & (np.diff(ids) == 0)
        if np.any(dup):
            k = int(np.argmax(dup))
            raise ValueError(f"neuron {ids[k]} of {self.name!r} has two spikes in the same "
                             f"time step (step {steps[k]}, dt = {dt} ms)")
        self._steps, self._sorted_ids = steps, np.ascontiguousarray(ids)

    def _state_arrays(self):
        d = super()._state_arrays()
        d["pos"] = self.pos
        return d


# the largest mean count per step and neuron of a Poisson input: beyond it a count
# would not be exact in double precision (k log(lam) - log k! loses its last digits)
_MAX_POISSON_MEAN = 1e6


class PoissonInput:
    """Independent Poisson input onto every neuron of a population, without sources
    or synapses: per neuron and step, a count k ~ Poisson(N rate dt) of input spikes,
    added as ``k * weight`` to a receptor. Brian2's ``PoissonInput`` and NEST's
    ``poisson_generator``; created by :meth:`Network.add_poisson_input`, which
    documents the parameters, the timing and the random numbers.

    Attributes
    ----------
    name : str
    target : Population
    target_var : str
    N : int
        Number of independent sources per neuron.
    seed : int
        The 64-bit key of its random numbers (derived from the network's seed).
    """

    def __init__(self, name, target, target_var, row, ref_row, N, rate, weight, seed,
                 dt):
        self.name = name
        self.target = target
        self.target_var = target_var
        self._row, self._ref_row = row, ref_row
        self.N = N
        self.seed = seed
        self._dt = dt
        self._rate = np.zeros(target.n)
        self.rate = rate
        self.weight = weight

    @property
    def rate(self):
        """Rate of each source in Hz, one per target neuron (a copy); assign a scalar
        or an array of ``target.n`` to change it (takes effect at the next run)."""
        return self._rate.copy()

    @rate.setter
    def rate(self, value):
        what = f"rate of Poisson input {self.name!r}"
        n = self.target.n
        r = check_real_array(what, value, n, "Hz", n_name="target.n", element="neuron",
                             nonnegative=True)
        lam = self._lam_of(r)
        if lam.size and lam.max() > _MAX_POISSON_MEAN:
            k = int(np.argmax(lam))
            raise ValueError(f"{what}: the mean count per step N * rate * dt must be <= "
                             f"{_MAX_POISSON_MEAN:g}, got {lam[k]:g} (N = {self.N}, rate "
                             f"{r[k]} Hz, dt = {self._dt} ms, neuron {k})")
        self._rate = r

    @property
    def weight(self):
        """Weight of one input spike, in the unit of ``target_var``; assignable."""
        return self._weight

    @weight.setter
    def weight(self, value):
        self._weight = check_finite(f"weight of Poisson input {self.name!r}", value)

    def _lam_of(self, rate):
        return self.N * rate * (self._dt / 1000.0)

    def mean_count(self):
        """The mean count per step and neuron, N rate dt (float64 array of target.n)."""
        return self._lam_of(self._rate)

    def __repr__(self):
        r = self._rate
        rate = f"{r[0]:g}" if r.size and np.all(r == r[0]) else "per neuron"
        return (f"PoissonInput({self.name!r}, target={self.target.name!r}, "
                f"target_var={self.target_var!r}, N={self.N}, rate={rate} Hz, "
                f"weight={self._weight:g})")


class Projection:
    """Synapses from ``pre`` to ``post`` onto a receptor variable, with a rule."""

    def __init__(self, name, pre, post, synapses, target, target_row, rule):
        self.name = name
        self.pre = pre
        self.post = post
        self.synapses = synapses
        self.target = target
        self.target_row = target_row
        self.rule = rule
        self._delay_index = None

    @property
    def weights(self):
        return self.synapses.weights

    def normalize(self, target):
        """Scale the weights onto each postsynaptic neuron to sum to ``target``
        (Diehl & Cook 2015); on the network's threads (the same numbers)."""
        self.synapses.normalize_columns(target, threads=self._network._run_threads())

    def _post_position(self):
        """pos[s]: where synapse s sits in post-synaptic order (inverse of post_syn).
        Built in chunks: 4 bytes per synapse, no larger temporary."""
        syn = self.synapses
        if getattr(self, "_pos_key", None) is not syn.post_syn:
            pos = np.empty(syn.nnz, dtype=np.int32)
            for a, b in _chunks(syn.nnz):
                pos[syn.post_syn[a:b]] = np.arange(a, b, dtype=np.int32)
            self._pos, self._pos_key = pos, syn.post_syn
        return self._pos

    def _gather_post_order(self):
        """The weights in post-synaptic order (a new array, ``weights[post_syn]``),
        gathered in chunks: NumPy casts an int32 index array to intp, which for the
        whole of ``post_syn`` would be a temporary of 8 bytes per synapse."""
        syn = self.synapses
        wp = np.empty_like(syn.weights)
        for a, b in _chunks(syn.nnz):
            np.take(syn.weights, syn.post_syn[a:b], out=wp[a:b])
        return wp

    def _scatter_post_order(self, wp):
        """``weights[post_syn] = wp``, in chunks (see :meth:`_gather_post_order`)."""
        syn = self.synapses
        for a, b in _chunks(syn.nnz):
            syn.weights[syn.post_syn[a:b]] = wp[a:b]

    def _delay_arrays(self):
        """Per row: synapse ids sorted by (delay, id), and for each row i and delay d
        the start of that delay's run in it (``dstart[i, d]``, ``dstart[i, D+1]`` = row
        end): an arriving spike finds its synapses without a search. Memory:
        4 bytes per synapse + 8 (n_pre (max_delay + 2)) bytes."""
        syn = self.synapses
        if self._delay_index is None or self._delay_index[0] is not syn.delays:
            d = syn.delays
            D = int(d.max()) if d.size else 0
            rows = np.repeat(np.arange(syn.n_pre), np.diff(syn.indptr))
            order = np.lexsort((np.arange(syn.nnz), d, rows)).astype(np.int32)
            counts = np.zeros((syn.n_pre, D + 1), dtype=np.int64)
            np.add.at(counts, (rows, d), 1)
            dstart = np.empty((syn.n_pre, D + 2), dtype=np.int64)
            dstart[:, 0] = syn.indptr[:-1]
            dstart[:, 1:] = syn.indptr[:-1, None] + np.cumsum(counts, axis=1)
            self._delay_index = (d, order, np.ascontiguousarray(dstart.reshape(-1)))
        return self._delay_index[1], self._delay_index[2]

    def _delay_splits(self, nt):
        """For a run on ``nt`` >= 2 threads: where each thread's post range starts in
        every (row, delay) run of the delay index (``_engine.delay_splits``), so that
        the threads find their part of an arrival's synapses without a search; None
        where the table would cost more than _DELAY_SPLIT_BYTES per synapse (many
        threads, long delays, short rows: the searches are short there). Cached per
        delay index and team size."""
        syn = self.synapses
        D = syn._max_delay()
        if syn.n_pre * (D + 1) * (nt - 1) * 4 > _DELAY_SPLIT_BYTES * syn.nnz:
            return None
        dperm, dstart = self._delay_arrays()
        cached = getattr(self, "_delay_split_cache", None)
        if cached is None or cached[0] is not dperm or cached[1] != nt:
            cached = (dperm, nt, _engine.delay_splits(
                syn.indptr, syn.indices, dperm, dstart, syn.n_post, D, nt))
            self._delay_split_cache = cached
        return cached[2]

    def __repr__(self):
        return (f"Projection({self.name!r}, {self.pre.name} -> {self.post.name}, "
                f"nnz={self.synapses.nnz}, target={self.target!r}, rule={self.rule!r})")


class SpikeMonitor:
    """Records the spikes of a population: ``times`` (ms) and ``ids``.

    With ``sink``, each chunk ``(times_ms, ids)`` is passed to ``sink`` as the run
    goes instead of being kept in memory (e.g. a run-file writer).
    """

    def __init__(self, pop, sink=None):
        self.pop = pop
        self.sink = sink
        self._t, self._i = [], []
        cap = max(4 * pop.n, 1 << 16)
        self.buf_ids = np.zeros(cap, dtype=np.int32)
        self.buf_steps = np.zeros(cap, dtype=np.int64)
        self.length = np.zeros(1, dtype=np.int64)

    def _drain(self, dt):
        n = int(self.length[0])
        if n:
            t = self.buf_steps[:n] * dt
            i = self.buf_ids[:n].astype(np.int64)
            if self.sink is not None:
                self.sink(t, i)
            else:
                self._t.append(t)
                self._i.append(i)
        self.length[0] = 0

    @property
    def times(self):
        """Spike times (ms), in order."""
        return np.concatenate(self._t) if self._t else np.zeros(0)

    @property
    def ids(self):
        """Neuron ids of the spikes."""
        return np.concatenate(self._i) if self._i else np.zeros(0, dtype=np.int64)

    @property
    def count(self):
        """Spikes per neuron."""
        return np.bincount(self.ids, minlength=self.pop.n)


class StateMonitor:
    """Records variables of chosen neurons every ``every`` steps: ``times`` (ms) and
    ``values[var]`` of shape (n_times, n_ids).

    The sample stamped ``k*dt`` is taken at the start of step k, so it is the state
    after the whole of step k-1 (update, synaptic input, resets); the sample at 0 is
    the initial state. This lines up with Brian2's default ``StateMonitor``
    (``when='start'``): same times, same values (docs/internals.md, step order).
    """

    def __init__(self, pop, variables, ids, every, sink=None):
        self.pop = pop
        self.variables = list(variables)
        self.rows = np.array([pop.model.var_index(v) for v in self.variables],
                             dtype=np.int32)
        self.ids = ids
        self.every = every
        self.sink = sink
        self._t, self._v = [], []
        self.length = np.zeros(1, dtype=np.int64)

    def _alloc(self, n_steps):
        rows = max(1, min(n_steps // self.every + 2,
                          (1 << 22) // max(1, len(self.rows) * len(self.ids))))
        self.buf = np.zeros((rows, len(self.rows), len(self.ids)))
        self.buf_steps = np.zeros(rows, dtype=np.int64)
        self.length[0] = 0

    def _drain(self, dt):
        n = int(self.length[0])
        if n:
            t = self.buf_steps[:n] * dt
            v = self.buf[:n].copy()
            if self.sink is not None:
                self.sink(t, {name: v[:, k] for k, name in enumerate(self.variables)})
            else:
                self._t.append(t)
                self._v.append(v)
        self.length[0] = 0

    @property
    def times(self):
        return np.concatenate(self._t) if self._t else np.zeros(0)

    @property
    def values(self):
        if not self._v:
            return {v: np.zeros((0, len(self.ids))) for v in self.variables}
        allv = np.concatenate(self._v)
        return {name: allv[:, k] for k, name in enumerate(self.variables)}

    def __getitem__(self, var):
        if var not in self.variables:
            raise unknown_name(f"variable recorded by this monitor of {self.pop.name!r}",
                               var, self.variables)
        return self.values[var]


class WeightMonitor:
    """Snapshots of a projection's weights every ``interval`` steps (taken at the
    start of the step): ``times`` (ms) and ``snapshots`` (n_snapshots, nnz)."""

    def __init__(self, proj, every, sink=None):
        self.proj = proj
        self.every = every
        self.sink = sink
        self._t, self._w = [], []
        self._last = -1

    def _take(self, step, dt):
        if step % self.every == 0 and step != self._last:
            w = self.proj.synapses.weights.copy()
            if self.sink is not None:
                self.sink(step * dt, w)
            else:
                self._t.append(step * dt)
                self._w.append(w)
            self._last = step

    @property
    def times(self):
        return np.array(self._t)

    @property
    def snapshots(self):
        if not self._w:
            return np.zeros((0, self.proj.synapses.nnz), self.proj.synapses.weights.dtype)
        return np.stack(self._w)


class RuleMonitor(WeightMonitor):
    """Samples of variables of a projection's rule every ``interval`` steps, taken
    at the start of the step as :class:`WeightMonitor`'s (the same schedule in
    ``Network.run``): ``times`` (ms), ``values[var]`` (n_samples, size) and
    ``where[var]`` (``'syn'``: one value per synapse in the SynapseMatrix's order;
    ``'pre'``, ``'post'``: per neuron; ``'shared'``: one value). Event-driven
    variables (traces, Tsodyks-Markram's u and x) are read decayed to the sample's
    time (``rule[var]``), i.e. the value at ``k dt`` after all events of the steps
    before k, as a clock-driven simulator would hold them. ``'w'`` is the weights.
    With ``sink``, each sample ``(time_ms, {var: values})`` goes to ``sink`` instead.
    """

    def __init__(self, proj, variables, every, sink=None):
        super().__init__(proj, every, sink)
        self.variables = list(variables)
        self.where = {}
        self._rows = {v: [] for v in self.variables}

    def _take(self, step, dt):
        if step % self.every == 0 and step != self._last:
            rule = self.proj.rule
            vals = {}
            for v in self.variables:
                x = self.proj.synapses.weights if v == "w" else rule[v]
                vals[v] = np.array(x, dtype=np.float64, ndmin=1, copy=True)
            if self.sink is not None:
                self.sink(step * dt, vals)
            else:
                self._t.append(step * dt)
                for v in self.variables:
                    self._rows[v].append(vals[v])
            self._last = step

    @property
    def values(self):
        return {v: (np.stack(rows) if rows else np.zeros((0, 0)))
                for v, rows in self._rows.items()}

    def __getitem__(self, var):
        # one variable: stack its rows only, not every recorded variable's
        if var not in self._rows:
            raise unknown_name(f"variable recorded by this monitor of projection "
                               f"{self.proj.name!r}", var, self.variables)
        rows = self._rows[var]
        return np.stack(rows) if rows else self.values[var]


def _post_delay_steps(proj, dt):
    """The steps by which ``proj``'s rule sees the post spikes late (its
    ``post_delay``; 0 without a rule): the post population keeps a spike history
    of more steps than that."""
    return proj.rule.post_delay_steps(dt) if proj.rule is not None else 0


def _held_v_row(proj):
    """The refractory row of ``proj``'s post population when the projection targets a
    membrane ``v`` that the model holds at V_reset while refractory (IF, ALIF: v is a
    receptor and the model counts refractory steps), else -1. The engine then does not
    deliver input to a refractory neuron, as Brian2 (docs/internals.md)."""
    model = getattr(proj.post, "model", None)
    names = tuple(getattr(model, "variables", ()))
    if "refractory" in names and "v" in getattr(model, "receptors", ()) and \
            0 <= proj.target_row < len(names) and names[proj.target_row] == "v":
        return names.index("refractory")
    return -1


class Network:
    """A clock-driven network.

    Parameters
    ----------
    dt : float
        Time step (ms), > 0.
    seed : int or None
        Seed of every random draw during runs (Poisson sources); same seed and same
        network give identical results, bit for bit.
    threads : int or None
        The most threads of the compiled step loop (OpenMP), an integer >= 1. None:
        the environment variable ``PLASTICITY_THREADS`` if set, else every core the
        process may use. A run uses at most one thread per core the process may use
        (``os.sched_getaffinity``) and one per 50,000 synapses + neurons: a larger
        number asks for no more (nothing is allocated per thread asked for).
        Results are identical, bit for bit, for every number of threads (the work is
        partitioned by postsynaptic neuron; docs/internals.md, "Threads"). A build
        without OpenMP runs on one thread (with a warning when more were asked for).
    """

    def __init__(self, dt=0.1, seed=None, threads=None):
        self._dt = check_positive("dt", dt, "ms")
        if seed is not None:
            seed = check_int("seed", seed, 0)
        self._seed = seed
        # the load watch: threads the runs use for now (None: self.threads), when
        # to try all again, and the wait after the next probe that finds them busy
        self._load_cap = None
        self._probe_at = 0.0
        self._probe_wait = _PROBE_FIRST
        self.threads = threads
        self._seedseq = np.random.SeedSequence(seed)
        self.populations = {}
        self.projections = {}
        self.poisson_inputs = {}
        self._spike_monitors = []
        self._state_monitors = []
        self._weight_monitors = []
        self._callbacks = []
        self.step = 0

    @property
    def step(self):
        """The number of steps run so far (t = step * dt); assignable (an integer
        >= 0: a float made run() loop without end)."""
        return self._step

    @step.setter
    def step(self, value):
        # at most _MAX_STEP (run() refuses to go beyond): below the engine's 'never'
        # step (2**62 - 1) and in int64 (2**70 was an OverflowError from the
        # compiled loop)
        value = check_int("step", value, 0)
        if value > _MAX_STEP:
            raise ValueError(f"step must be at most 2**61 = {_MAX_STEP}, got {value}")
        self._step = value

    @property
    def dt(self):
        """The time step (ms), fixed at construction: sources, rules and the step
        count ``t = step * dt`` are built on it."""
        return self._dt

    @dt.setter
    def dt(self, value):
        raise AttributeError(f"Network.dt is fixed at construction (dt = {self._dt} ms): "
                             f"the sources, rules and t = step * dt are built on it; "
                             f"create a Network(dt={value!r})")

    @property
    def seed(self):
        """The seed of every random draw (fixed at construction: the sources' random
        streams are derived from it as they are added)."""
        return self._seed

    @seed.setter
    def seed(self, value):
        raise AttributeError(f"Network.seed is fixed at construction (seed = "
                             f"{self._seed}): the sources' random streams are derived "
                             f"from it as they are added; create a Network(seed="
                             f"{value!r})")

    @property
    def threads(self):
        """Threads of the compiled step loop (see the class docstring)."""
        return self._threads

    @threads.setter
    def threads(self, value):
        self._threads = default_threads() if value is None else \
            check_int("threads", value, 1)

    def _run_threads(self):
        """The threads a run uses: ``threads``, at most one per _WORK_PER_THREAD
        synapses and neurons and one per core the process may use, or 1 without
        OpenMP (warned)."""
        n = self._threads
        if n > 1 and not _OPENMP:
            warnings.warn(f"plasticity was built without OpenMP: running on 1 thread "
                          f"instead of {n}", RuntimeWarning, stacklevel=4)
            return 1
        if _WORK_PER_THREAD > 0:
            work = sum(p.synapses.nnz for p in self.projections.values()) + sum(
                p.n for p in self.populations.values() if p.model is not None)
            n = max(1, min(n, work // _WORK_PER_THREAD, available_cores()))
        if self._load_cap is not None and n > self._load_cap:
            if time.monotonic() < self._probe_at:
                return self._load_cap
        return n

    def _watch_load(self, eng):
        """After a run segment: where its threads did not hold their cores
        (_cores_held), the following segments and runs use fewer threads (the load
        watch, see _HELD); a segment on all of them that held its cores ends it.
        Returns the threads for the next segment of this run."""
        if not _WATCH_LOAD or eng.thread_cpu is None:
            return eng.threads
        cores = _cores_held(eng.thread_cpu, eng.thread_wall)
        if cores is None:
            if self._load_cap is not None and len(eng.thread_cpu) > self._load_cap:
                self._load_cap = None          # a probe found the cores free
                self._probe_wait = _PROBE_FIRST
            return eng.threads
        cap = min(cores, len(eng.thread_cpu) - 1)
        probing = self._load_cap is not None
        self._load_cap = cap if not probing else min(cap, self._load_cap)
        if probing:
            self._probe_wait = min(2 * self._probe_wait, _PROBE_MAX)
        self._probe_at = time.monotonic() + self._probe_wait
        return self._load_cap

    # ---------------------------------------------------------------- building
    @property
    def t(self):
        """Current time (ms)."""
        return self.step * self.dt

    def _names(self):
        return set(self.populations) | set(self.projections) | set(self.poisson_inputs)

    def _add(self, pop):
        self.populations[pop.name] = pop
        return pop

    def add_population(self, name, n, model, init=None):
        """Add ``n`` neurons of ``model`` (a :class:`~plasticity.neurons.NeuronModel`);
        ``init`` maps variable names to initial values (scalar or array)."""
        _check_name(name, self._names())
        if not isinstance(model, NeuronModel):
            raise TypeError(f"model must be a plasticity.neurons model, got {model!r}")
        n = check_size("n", n, 8 * len(model.variables) + 4)
        if init is not None and not isinstance(init, collections.abc.Mapping):
            raise TypeError(f"init must map variable names to values, got {init!r}")
        pop = Population(name, n, model)
        for var, value in (init or {}).items():
            pop[var] = value
        return self._add(pop)

    def add_poisson(self, name, n, rates):
        """Add ``n`` Poisson sources with ``rates`` in Hz (scalar or array of n)."""
        _check_name(name, self._names())
        n = check_size("n", n, _BYTES_PER_SOURCE)
        rng = np.random.Generator(np.random.PCG64(self._seedseq.spawn(1)[0]))
        return self._add(PoissonGroup(name, n, rates, rng, dt=self.dt))

    def add_gamma(self, name, n, alpha, beta):
        """Add ``n`` independent gamma-process sources: inter-spike intervals ~
        Gamma(shape ``alpha`` > 0, rate ``beta`` Hz >= 0), mean rate ``beta / alpha``
        Hz (PyNN's ``SpikeSourceGamma``); scalars or arrays of n. See
        :class:`plasticity.sources.GammaGroup`."""
        from .sources import GammaGroup
        _check_name(name, self._names())
        n = check_size("n", n, _BYTES_PER_SOURCE)
        return self._add(GammaGroup(name, n, alpha, beta, self._source_seed(), self.dt))

    def add_poisson_refractory(self, name, n, rates, dead_time):
        """Add ``n`` independent Poisson sources with a dead time: mean ``rates`` (Hz),
        no interval below ``dead_time`` (ms) (PyNN's ``SpikeSourcePoissonRefractory``);
        scalars or arrays of n. See :class:`plasticity.sources.PoissonRefractoryGroup`."""
        from .sources import PoissonRefractoryGroup
        _check_name(name, self._names())
        n = check_size("n", n, _BYTES_PER_SOURCE)
        return self._add(PoissonRefractoryGroup(name, n, rates, dead_time,
                                                self._source_seed(), self.dt))

    def _source_seed(self):
        """A 64-bit seed for a new source, from the network's seed."""
        return int(self._seedseq.spawn(1)[0].generate_state(1, np.uint64)[0])

    def add_spike_generator(self, name, n, times, ids):
        """Add ``n`` sources emitting the given spikes (``times`` in ms, ``ids``)."""
        _check_name(name, self._names())
        n = check_size("n", n, _BYTES_PER_SOURCE)
        return self._add(SpikeGeneratorGroup(name, n, times, ids, dt=self.dt))

    def add_poisson_input(self, target, target_var, N, rate, weight, name=None):
        """Add independent Poisson input onto every neuron of ``target``, without
        source neurons or synapses (Brian2's ``PoissonInput``; NEST's
        ``poisson_generator`` connected to each neuron).

        At every step and for every neuron j of ``target``, a count k of input spikes
        is drawn from the Poisson law of mean ``N * rate[j] * dt`` (the exact number
        of spikes that ``N`` independent Poisson processes of ``rate`` Hz emit in one
        step) and ``k * weight`` is added to ``target_var``. This is the input of
        ``N`` Poisson sources per neuron at a cost per neuron and step instead of per
        spike, and with no limit of one spike per source and step.

        Parameters
        ----------
        target : Population or str
            A neuron population of this network.
        target_var : str
            The receptor variable that receives the input (one of
            ``target.model.receptors``, e.g. ``'I_syn_ex'``, ``'g_e'``, ``'v'``).
        N : int
            Number of independent sources per neuron, >= 1.
        rate : float or array_like
            Rate of each source in Hz, >= 0: a scalar or one per neuron of ``target``
            (``N * rate * dt`` at most 1e6 per step). Changeable between runs through
            :attr:`PoissonInput.rate`, as is :attr:`PoissonInput.weight`.
        weight : float
            Weight of one input spike, in the unit of ``target_var`` (any finite
            value; negative for inhibition).
        name : str or None
            A name unique in the network (default ``'<target>_poisson_<target_var>'``),
            the key of its entry in :meth:`store`.

        Returns
        -------
        PoissonInput

        Notes
        -----
        Timing: the count of step t arrives at step t, exactly as a spike emitted at
        step t by a source connected through a projection with no delay (the minimal
        delay, 0 steps) that was connected before every other projection: it is added
        after the neuron update of step t (the input of step t changes the membrane
        from step t+1 on, docs/internals.md "Step order"), before the deliveries of
        the step's projections, and it is not delivered to a ``v`` held at V_reset
        while refractory (IF, ALIF, AdExClopath), as no projection's is.

        Random numbers: the count of neuron j at step t is a function of (the input's
        :attr:`~PoissonInput.seed`, t, j) only, through the counter-based hash of the
        rule language's ``rand()`` (splitmix64): identical for every number of
        threads and however a run is cut into ``run()`` calls, and the same for the
        same network seed. Means below 10: inversion of one uniform number (about
        1 + mean comparisons); 10 and above: Hoermann's transformed rejection
        (PTRS, 1993; exact, > 90% acceptance). The counts are the engine's
        ``poisson_counts(seed, t0, n_steps, mean)``.

        The input has no state besides ``rate`` and ``weight`` (:meth:`store` keeps
        them), no spike record and no plasticity.
        """
        target = self._pop(target, "target")
        if target.model is None:
            raise ValueError(f"target must be a neuron population, {target.name!r} is a "
                             "source")
        if not isinstance(target_var, str):
            raise TypeError(f"target_var must be a receptor name (str), got {target_var!r}")
        row = target.model.receptor_index(target_var)
        if isinstance(N, bool) or not isinstance(N, (int, np.integer)):
            raise TypeError(f"N must be an integer number of sources >= 1, got {N!r}")
        N = check_int("N", N, 1)
        name = f"{target.name}_poisson_{target_var}" if name is None else name
        _check_name(name, self._names())
        names = tuple(target.model.variables)
        ref_row = names.index("refractory") if (
            target_var == "v" and "refractory" in names) else -1
        inp = PoissonInput(name, target, target_var, row, ref_row, N, rate, weight,
                           self._source_seed(), self.dt)
        self.poisson_inputs[name] = inp
        return inp

    def _pop(self, pop, what):
        given = pop
        if isinstance(pop, str):
            pop = self.populations.get(pop)
        if not isinstance(pop, Population) or self.populations.get(pop.name) is not pop:
            raise ValueError(f"{what} must be a population of this network (one of "
                             f"{sorted(self.populations)}), got {given!r}")
        return pop

    def _proj(self, proj, what):
        """``proj`` (a Projection or its name) as a projection of this network: one
        of another network (or a name this network does not have) is refused, as
        :meth:`_pop` refuses such populations (its weights are not this run's)."""
        if isinstance(proj, str):
            proj = self.projections.get(proj)
        if not isinstance(proj, Projection) or \
                self.projections.get(proj.name) is not proj:
            raise ValueError(f"{what} must be a projection of this network, got {proj!r}")
        return proj

    def connect(self, pre, post, synapses, target, rule=None, name=None):
        """Connect ``pre`` to ``post`` through ``synapses`` (a SynapseMatrix of shape
        (pre.n, post.n)) onto the receptor variable ``target`` of the post model,
        with an optional plasticity ``rule``."""
        pre = self._pop(pre, "pre")
        post = self._pop(post, "post")
        if post.model is None:
            raise ValueError(f"post must be a neuron population, {post.name!r} is a source")
        if not isinstance(synapses, SynapseMatrix):
            raise TypeError(f"synapses must be a SynapseMatrix, got {type(synapses).__name__}")
        if synapses.shape != (pre.n, post.n):
            raise ValueError(f"synapses has shape {synapses.shape}, expected "
                             f"({pre.n}, {post.n}) for {pre.name} -> {post.name}")
        row = post.model.receptor_index(target)
        if rule is not None and not isinstance(rule, Rule):
            raise TypeError(f"rule must be a plasticity.rules.Rule, got {rule!r}")
        # None: the default name ('' is refused by _check_name, not replaced)
        name = f"{pre.name}_{post.name}" if name is None else name
        _check_name(name, self._names())
        proj = Projection(name, pre, post, synapses, target, row, rule)
        proj._network = self
        if rule is not None:
            # a rule object holds one projection's state (traces, eligibility): it
            # cannot serve two live projections, and in a new one it starts afresh
            owner = getattr(rule, "_owner", None)
            if owner is not None and owner._network is self:
                raise ValueError(
                    f"rule {rule!r} is already the rule of projection {owner.name!r}: a "
                    "rule object holds the state of one projection; create one rule "
                    "per projection")
            if owner is not None:
                # taken over by this network: fresh state here, and the other
                # network refuses to run with it (Network.run)
                rule.forget_state()
            # a rule checks itself against the projection here, before anything runs
            rule.validate(proj)
            _check_rule_bounds(name, synapses, rule, self.dt)
        self.projections[name] = proj
        if rule is not None:
            rule._owner = proj
        return proj

    def add_current(self, pop, times, amplitudes, neurons=None, interpolation="previous"):
        """Inject a current: from ``times[k]`` (ms) on, the population's current
        variable is set to ``amplitudes[k]`` (scalar per time, or one value per
        selected neuron); ``interpolation='linear'`` ramps between breakpoints.
        Before the first breakpoint the variable is left as it is. One injected
        current per population."""
        pop = self._pop(pop, "pop")
        if pop.model is None:
            raise ValueError(f"{pop.name!r} is a source; currents go to neuron populations")
        if pop.current is not None:
            raise ValueError(f"population {pop.name!r} already has an injected current")
        if interpolation not in ("previous", "linear"):
            raise ValueError(f"interpolation must be 'previous' or 'linear', got "
                             f"{interpolation!r}")
        t = _real_values("times", times, "ms").ravel()
        if t.size == 0 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0) \
                or t[0] < 0:
            # a negative time is before the network's t = 0: no step is there
            raise ValueError("times must be a non-empty, finite, strictly increasing "
                             f"sequence of times >= 0 ms, got {t}")
        ids = (np.arange(pop.n, dtype=np.int32) if neurons is None else
               check_ids("neurons", neurons, pop.n, unique=True, empty=False))
        a = _real_values("amplitudes", amplitudes)
        if a.ndim == 1:
            a = np.repeat(a[:, None], ids.size, axis=1)
        if a.shape != (t.size, ids.size):
            raise ValueError(f"amplitudes must have shape ({t.size},) or ({t.size}, "
                             f"{ids.size}), got {np.shape(amplitudes)}")
        if not np.all(np.isfinite(a)):
            raise ValueError("amplitudes must be finite")
        row = pop.model.var_index(pop.model.current_variable)
        pop.current = dict(row=row, linear=interpolation == "linear", times=t,
                           values=np.ascontiguousarray(a), ids=ids,
                           pos=np.zeros(1, dtype=np.int64))

    def monitor_spikes(self, pop, sink=None):
        """Record the spikes of ``pop``; returns a :class:`SpikeMonitor`."""
        m = SpikeMonitor(self._pop(pop, "pop"), _check_sink(sink))
        self._spike_monitors.append(m)
        return m

    def monitor_state(self, pop, variables, neurons=None, interval=None, sink=None):
        """Record ``variables`` of ``neurons`` every ``interval`` ms (default: every
        step); returns a :class:`StateMonitor`."""
        pop = self._pop(pop, "pop")
        if pop.model is None:
            raise ValueError(f"{pop.name!r} is a source and has no state")
        variables = _check_variables(variables, pop.model)
        ids = (np.arange(pop.n, dtype=np.int32) if neurons is None else
               check_ids("neurons", neurons, pop.n, unique=True, empty=False))
        every = 1 if interval is None else self._steps("interval", interval, 1)
        m = StateMonitor(pop, variables, ids, every, _check_sink(sink))
        self._state_monitors.append(m)
        return m

    def monitor_weights(self, proj, interval, sink=None):
        """Snapshot the weights of ``proj`` every ``interval`` ms."""
        proj = self._proj(proj, "proj")
        m = WeightMonitor(proj, self._steps("interval", interval, 1), _check_sink(sink))
        self._weight_monitors.append(m)
        return m

    def monitor_rule(self, proj, variables, interval, sink=None):
        """Sample ``variables`` of the rule of ``proj`` (``'w'``: the weights) every
        ``interval`` ms; returns a :class:`RuleMonitor`. ``proj.rule.recordable()``
        lists the variables and where each lives (per synapse, pre or post neuron,
        shared)."""
        proj = self._proj(proj, "proj")
        sink = _check_sink(sink)
        if isinstance(variables, str):
            variables = [variables]
        variables = list(variables)
        rule = proj.rule
        known = dict(rule.recordable(proj)) if rule is not None else {}
        known["w"] = "syn"
        bad = [v for v in variables if not isinstance(v, str) or v not in known]
        if not variables or bad or len(set(variables)) != len(variables):
            # a name twice recorded each sample twice into one list (twice the rows
            # of the times)
            raise ValueError(f"variables of projection {proj.name!r} must be among "
                             f"{sorted(known)}, each once, got {variables!r}")
        m = RuleMonitor(proj, variables, self._steps("interval", interval, 1), sink)
        m.where = {v: known[v] for v in variables}
        self._weight_monitors.append(m)
        return m

    def add_callback(self, fn):
        """Call ``fn(network, step)`` after every step (switches to the per-step path)."""
        if not callable(fn):
            raise TypeError(f"callback must be callable, got {fn!r}")
        self._callbacks.append(fn)

    def _check_engine_arrays(self):
        """Before a run: every array the compiled engine will point into is still of
        the dtype, shape and layout it expects (a user may have replaced or unfrozen
        one), so nothing a user does from Python can make the engine read or write
        out of bounds. O(1) per array plus a finiteness pass over weights (on the
        run's threads) and state."""
        threads = self._run_threads()
        for proj in self.projections.values():
            if not isinstance(proj.synapses, SynapseMatrix):
                raise TypeError(f"projection {proj.name!r}: synapses must be a "
                                f"SynapseMatrix, got {type(proj.synapses).__name__}")
            if proj.synapses.shape != (proj.pre.n, proj.post.n):
                raise ValueError(f"projection {proj.name!r}: synapses has shape "
                                 f"{proj.synapses.shape}, expected "
                                 f"({proj.pre.n}, {proj.post.n})")
            proj.synapses._check_engine_arrays(f"projection {proj.name!r}", threads)
            # the receptor row the engine writes into, and the rule it calls
            try:
                row = proj.post.model.receptor_index(proj.target)
            except (TypeError, ValueError) as e:
                raise ValueError(f"projection {proj.name!r}: {e}") from None
            if proj.target_row != row:
                raise ValueError(f"projection {proj.name!r}: target_row must be the row of "
                                 f"its target {proj.target!r} ({row}), got "
                                 f"{proj.target_row!r}")
            if proj.rule is not None and not isinstance(proj.rule, Rule):
                raise TypeError(f"projection {proj.name!r}: rule must be a "
                                f"plasticity.rules.Rule or None, got {proj.rule!r}")
            if proj.rule is not None and not getattr(proj, "_ran", False):
                # the weights a projection starts from (set after connect too); not
                # between runs: weights scaled past the bounds there (Diehl & Cook's
                # normalisation) are clipped at their next update by design
                _check_rule_bounds(proj.name, proj.synapses, proj.rule, self.dt,
                                   "initial weights")
        for pop in self.populations.values():
            arrays = [("spikes_buf", pop.spikes_buf, np.int32, (max(pop.n, 1),))]
            if pop.model is not None:
                arrays.append(("state", pop.state, np.float64,
                               (len(pop.model.variables), pop.n)))
            for name, a, dtype, shape in arrays:
                if not isinstance(a, np.ndarray) or a.dtype != dtype or \
                        a.shape != shape or not a.flags.c_contiguous or \
                        not a.flags.writeable:
                    got = (f"{a.dtype} array of shape {a.shape}"
                           if isinstance(a, np.ndarray) else type(a).__name__)
                    raise ValueError(f"population {pop.name!r}: {name} must be a "
                                     f"writeable C-contiguous {np.dtype(dtype).name} "
                                     f"array of shape {shape}, got {got}")
            if pop.model is not None and not np.all(np.isfinite(pop.state)):
                k, i = np.argwhere(~np.isfinite(pop.state))[0]
                raise ValueError(f"population {pop.name!r}: "
                                 f"{pop.model.variables[k]}[{i}] must be finite, got "
                                 f"{pop.state[k, i]}")

    def _check_memory(self):
        """Before building: the spike history a delay needs (4 B per source neuron per
        step of delay, plus 8 B for the delay index of heterogeneous delays) fits in
        memory; else a ValueError naming the projection and its delay."""
        from . import _memory
        parts = {}
        for proj in self.projections.values():
            syn = proj.synapses
            hetero = syn.delays is not None
            d = syn._max_delay() if hetero else max(int(syn.delay), 0)
            if d:
                parts[f"projection {proj.name!r}: delay (steps)"] = (
                    d, (d + 2) * proj.pre.n * (12 if hetero else 4))
            p = _post_delay_steps(proj, self.dt)
            if p:
                parts[f"projection {proj.name!r}: post_delay (steps)"] = (
                    p, (p + 2) * proj.post.n * 4)
        _memory.check(parts)

    def _steps(self, what, duration, minimum=0):
        return duration_steps(what, duration, self.dt, minimum)

    # ---------------------------------------------------------------- running
    def _build(self):
        dt = self.dt
        pops = list(self.populations.values())
        index = {p.name: k for k, p in enumerate(pops)}
        self._pop_index = index
        projs = list(self.projections.values())
        for proj in projs:
            syn = proj.synapses
            if syn.delays is not None:
                proj._max_delay = syn._max_delay()
                proj._delay_mode = 2
            elif syn.delay > 0:
                proj._max_delay = int(syn.delay)
                proj._delay_mode = 1
            else:
                proj._max_delay = 0
                proj._delay_mode = 0
            if proj._delay_mode:
                proj.pre._ensure_history(proj._max_delay + 1)
            p = _post_delay_steps(proj, dt)
            if p:       # the rule reads the post spikes of that many steps ago
                proj.post._ensure_history(p + 1)
            if proj.rule is not None:
                proj.rule.bind(proj, dt)
        eng = _engine.Engine(len(pops), len(projs), len(self._state_monitors))
        eng.threads = self._run_threads()
        for k, p in enumerate(pops):
            params = p.model.packed_params(dt) if p.model is not None else None
            model = p.model.model_id if p.model is not None else -1
            eng.set_population(k, p.kind, model, p.n, p.state, params, p.spikes_buf,
                               p.H, p.hist, p.hist_n)
            if p.kind == 1:
                log1m = p._log1m_p(dt)
                p._log1m = log1m
                eng.set_poisson(k, p.rng.bit_generator, log1m, p.next_step,
                                p.heap_key, p.heap_id)
                if getattr(p, "_dirty", True):
                    eng.poisson_reschedule(k, self.step)
                    p._dirty = False
            elif p.kind == 2:
                p._compile(dt)
                p.pos[0] = np.searchsorted(p._steps, self.step)
                eng.set_generator(k, p._steps, p._sorted_ids, p.pos)
            if p.current is not None:
                c = p.current
                eng.set_current(k, c["row"], c["linear"], _time_to_steps(c["times"], dt),
                                c["values"], c["ids"], c["pos"])
        for inp in self.poisson_inputs.values():
            eng.add_poisson_input(index[inp.target.name], inp._row, inp._ref_row,
                                  inp.seed, inp.mean_count(), inp.weight)
        for k, proj in enumerate(projs):
            syn = proj.synapses
            dperm = dstart = None
            if proj._delay_mode == 2:
                dperm, dstart = proj._delay_arrays()
            eng.set_projection(k, index[proj.pre.name], index[proj.post.name],
                               proj.target_row, syn, proj._delay_mode,
                               int(max(syn.delay, 0)), proj._max_delay, dperm, dstart)
            if dperm is not None and eng.threads > 1:
                splits = proj._delay_splits(eng.threads)
                if splits is not None:
                    eng.set_delay_splits(k, splits, eng.threads)
            rule = proj.rule
            if rule is None:
                continue
            # every rule binds through one interface (Rule.attach)
            rule.attach(eng, k, proj, self)
        for m in self._spike_monitors:
            m.length[0] = 0
            eng.set_spike_monitor(index[m.pop.name], m.buf_ids, m.buf_steps, m.length)
        self._pops, self._projs, self._eng = pops, projs, eng
        self._renewal = [(k, p) for k, p in enumerate(pops) if hasattr(p, "_fill")]
        self._pop_index = index
        return eng

    def _per_step(self):
        return bool(self._callbacks) or any(
            p.rule is not None and not p.rule.compiled for p in self.projections.values())

    def run(self, duration, progress=None):
        """Advance the network by ``duration`` ms.

        Parameters
        ----------
        duration : float
            Multiple of dt (ms), >= 0.
        progress : bool or None
            Show progress (:class:`plasticity.progress.Progress`: a bar on a terminal,
            a log line every ~30 s otherwise). None: only for runs longer than a few
            seconds, and not inside an experiment's own progress or a quiet run.
        """
        n_steps = self._steps("duration", duration)
        if self.step + n_steps > _MAX_STEP:
            raise ValueError(f"duration = {duration} ms would take the network from step "
                             f"{self.step} to {self.step + n_steps}, beyond the last step "
                             f"2**61 = {_MAX_STEP}")
        for proj in self.projections.values():
            owner = getattr(proj.rule, "_owner", proj)
            if proj.rule is not None and owner is not proj:
                raise ValueError(
                    f"the rule of projection {proj.name!r} was connected to projection "
                    f"{owner.name!r} of another network since, which took over its "
                    "state; create one rule per projection")
        self._check_engine_arrays()
        self._check_memory()
        with contextlib.ExitStack() as stack:   # the engine's memoryviews are not const
            shared = {id(p.synapses): p.synapses for p in self.projections.values()}
            for syn in shared.values():
                stack.enter_context(syn._engine_access())
            eng = self._build()
        for k, proj in enumerate(self._projs):  # no input onto a v held while refractory
            eng.set_refractory_row(k, _held_v_row(proj))
        for k, m in enumerate(self._state_monitors):
            m._alloc(n_steps)
            eng.set_state_monitor(k, self._pop_index[m.pop.name], m.rows, m.ids, m.every,
                                  m.buf, m.buf_steps, m.length)
        per_step = self._per_step()
        post_ordered = [] if per_step or n_steps < _POST_ORDER_MIN_STEPS else [
            (k, p) for k, p in enumerate(self._projs)
            if getattr(p.rule, "post_ordered_weights", False) and p.synapses.nnz > 0]
        for k, proj in post_ordered:
            proj._wp = proj._gather_post_order()
            proj.rule.set_post_order(eng, k, proj._wp, proj._post_position())
        for proj in self._projs:
            proj._ran = True        # its initial weights were checked (above)
        t_end = self.step + n_steps
        bar = None
        if progress is not False and n_steps > 0:
            from .progress import Progress  # tqdm itself only if a bar is shown
            bar = Progress(total=round(n_steps * self.dt), desc="simulate", unit="ms",
                           enabled=progress, delay=0.0 if progress else 3.0, leave=False)
        def scatter():
            for _, proj in post_ordered:
                proj._scatter_post_order(proj._wp)

        try:
            while self.step < t_end:
                if self._weight_monitors and post_ordered:
                    scatter()
                for wm in self._weight_monitors:
                    wm._take(self.step, self.dt)
                stop = t_end if not per_step else self.step + 1
                stop = min(stop, self.step + _SEGMENT)
                for wm in self._weight_monitors:
                    nxt = (self.step // wm.every + 1) * wm.every
                    stop = min(stop, nxt)
                t0 = self.step
                for k, p in self._renewal:   # gamma, refractory Poisson: this segment's
                    p._fill(self.step, stop)
                    eng.set_generator(k, p._steps, p._sorted_ids, p.pos)
                reached = eng.run_segment(self.step, stop)
                self.step = reached
                eng.threads = self._watch_load(eng)
                self._drain()
                if eng.error is not None:
                    self._raise_nonfinite(eng.error, t0, reached,
                                          {id(p): p._wp for _, p in post_ordered})
                if per_step and reached > t0:
                    self._python_hooks(reached - 1)
                self._check_weights(t0, reached, {id(p): p._wp for _, p in post_ordered})
                if bar is not None:
                    bar.set(round((self.step - (t_end - n_steps)) * self.dt))
        finally:
            scatter()
            for _, proj in post_ordered:
                proj._wp = None
            if bar is not None:
                bar.close()
        for wm in self._weight_monitors:
            wm._take(self.step, self.dt)

    def _drain(self):
        for m in self._spike_monitors:
            m._drain(self.dt)
        for m in self._state_monitors:
            m._drain(self.dt)

    def _python_hooks(self, step):
        for k, proj in enumerate(self._projs):
            rule = proj.rule
            if rule is None or rule.compiled:
                continue
            n = int(proj._arr_n[0])
            if n:
                arr = proj._arr[:n]
                if proj._delay_mode == 2:
                    syn_ids = arr.astype(np.int64)
                else:
                    ip = proj.synapses.indptr
                    starts, stops = ip[arr], ip[arr + 1]
                    lens = stops - starts
                    syn_ids = (np.repeat(starts - np.cumsum(lens) + lens, lens)
                               + np.arange(lens.sum()))
                if syn_ids.size:
                    rule.on_pre(step, syn_ids)
            ns = self._eng.n_spikes(self._pop_index[proj.post.name])
            if ns:
                rule.on_post(step, proj.post.spikes_buf[:ns].astype(np.int64))
            rule.on_step(step)
        for fn in self._callbacks:
            fn(self, step)

    def _raise_nonfinite(self, error, t0, t1, private=None):
        """A neuron's non-finite state (the engine's ``error``), and where a
        projection's weights or rule variables went non-finite in the same segment
        (steps t0 to t1), those too: they are often the cause (an inf weight makes
        v inf at its next delivery), and the message names both."""
        k, code, step = error
        pop = self._pops[k]
        var = pop.model.variables[code // pop.n]
        also = ""
        try:
            self._check_weights(t0, t1, private)
        except SimulationError as e:
            also = f"; also {e}"
        raise SimulationError(
            f"non-finite {var} in population {pop.name!r} (neuron {code % pop.n}) at step "
            f"{step} (t = {step * self.dt:g} ms){also}")

    def _check_weights(self, t0, t1, private=None):
        threads = self._eng.threads
        def when():
            """The step of a failure: exact for a one-step segment (the NumPy rule
            backend and per-step hooks are checked after every step); else the steps
            the compiled code ran, t0 to t1 - 1, and the step after which it was found
            (a check at every store in its loops, which would name the step, cost
            3-12 % of a run's CPU time; a replay of the segment needs a copy of the
            whole state before every segment: neither is made)."""
            last = t1 - 1
            if t1 - t0 == 1:
                return f"at step {t0} (t = {t0 * self.dt:g} ms)"
            return (f"in one of steps {t0} to {last} (t = {t0 * self.dt:g} to "
                    f"{last * self.dt:g} ms): found by the check after step {last}; "
                    f"compiled rules are checked once per run segment, not per step "
                    f"(EquationRule(backend='numpy'), or run() one dt at a time, names "
                    f"the step)")
        for proj in self._projs:
            if proj.rule is None:
                continue
            w = (private or {}).get(id(proj))
            if w is None:
                w = proj.synapses.weights
            if first_nonfinite(w, threads) >= 0:
                if w is not proj.synapses.weights:  # post-ordered copy: by synapse id
                    w = w[np.argsort(proj.synapses.post_syn)]
                s = int(np.flatnonzero(~np.isfinite(w))[0])
                raise SimulationError(
                    f"non-finite weight in projection {proj.name!r} (synapse {s}) "
                    f"{when()}")
            for var, arr in getattr(proj.rule, "arrays_to_check", lambda: ())():
                if not np.all(np.isfinite(arr)):
                    s = int(np.flatnonzero(~np.isfinite(arr))[0])
                    raise SimulationError(
                        f"non-finite rule variable {var!r} in projection {proj.name!r} "
                        f"(index {s}) {when()}")

    # ---------------------------------------------------------------- state
    def store(self):
        """The full state of the network (copies): neuron state, weights, traces,
        delayed spikes in flight, source positions and RNG states, and the step.
        ``restore`` of it continues the run exactly."""
        out = {"step": self.step, "populations": {}, "projections": {}}
        for name, p in self.populations.items():
            d = {k: v.copy() for k, v in p._state_arrays().items()}
            if p.kind == 1:
                d["rng"] = p.rng.bit_generator.state
                d["rates"] = p._rates.copy()
                d["dirty"] = getattr(p, "_dirty", True)
            out["populations"][name] = d
        for name, proj in self.projections.items():
            syn = proj.synapses
            d = {"weights": syn.weights.copy(), "indptr": syn.indptr.copy(),
                 "indices": syn.indices.copy()}
            if proj.rule is not None and hasattr(proj.rule, "projection"):
                d["rule"] = {k: np.array(v, copy=True)
                             for k, v in proj.rule.get_state().items()}
            out["projections"][name] = d
        out["poisson_inputs"] = {name: {"rate": inp._rate.copy(), "weight": inp.weight}
                                 for name, inp in self.poisson_inputs.items()}
        return out

    def restore(self, state):
        """Return to a state saved by :meth:`store` (same network structure).

        Every part of ``state`` is checked against this network before anything
        changes: a state that does not fit (another structure, arrays of other
        shapes, non-finite values, a negative step) raises a ValueError naming the
        part, and the network is left as it was."""
        self._check_state(state)
        for name, p in self.populations.items():
            d = state["populations"][name]
            if "hist" in d and d["hist"].shape != p.hist.shape:
                p.H = d["hist_n"].shape[0]
                p.hist = d["hist"].copy()
                p.hist_n = d["hist_n"].copy()
            for k, arr in p._state_arrays().items():
                np.copyto(arr, d[k])
            if p.kind == 1:
                p.rng.bit_generator.state = d["rng"]
                p._rates = d["rates"].copy()
                p._dirty = d["dirty"]
        for name, proj in self.projections.items():
            d = state["projections"][name]
            np.copyto(proj.synapses.weights, d["weights"])
            # a run's state goes on as it was (its weights are not initial weights:
            # _check_rule_bounds; normalised ones may be past the bounds)
            proj._ran = int(state["step"]) > 0
            if "rule" in d:
                if not hasattr(proj.rule, "projection"):
                    proj.rule.bind(proj, self.dt)
                proj.rule.set_state(d["rule"])
        for name, inp in self.poisson_inputs.items():
            d = state["poisson_inputs"][name]
            inp.rate = d["rate"]
            inp.weight = d["weight"]
        self.step = int(state["step"])

    def _check_state(self, state):
        """Raise unless :meth:`restore` can apply ``state`` whole (so that a state
        that does not fit changes nothing)."""
        if not isinstance(state, dict) or "step" not in state:
            raise TypeError(f"state must be a dict returned by Network.store(), got "
                            f"{type(state).__name__}")
        step = state["step"]
        if isinstance(step, (bool, np.bool_)) or not isinstance(step, (int, np.integer)) \
                or step < 0:
            raise ValueError(f"state['step'] must be an integer >= 0 (a step of "
                             f"Network.store()), got {step!r}")
        if step > _MAX_STEP:
            raise ValueError(f"state['step'] must be at most 2**61 = {_MAX_STEP} (a step "
                             f"of Network.store()), got {step!r}")
        if set(state.get("populations", {})) != set(self.populations) or \
                set(state.get("projections", {})) != set(self.projections):
            raise ValueError("state does not match this network's populations and "
                             "projections")
        if set(state.get("poisson_inputs", {})) != set(self.poisson_inputs):
            raise ValueError("state does not match this network's Poisson inputs: "
                             f"{sorted(state.get('poisson_inputs', {}))} stored, "
                             f"{sorted(self.poisson_inputs)} here")

        def fits(what, stored, arr):
            if not isinstance(stored, np.ndarray) or stored.shape != arr.shape:
                got = (f"shape {stored.shape}" if isinstance(stored, np.ndarray)
                       else type(stored).__name__)
                raise ValueError(f"state: {what} must be an array of shape {arr.shape} "
                                 f"(this network's), got {got}")
            if stored.dtype.kind == "f" and not np.all(np.isfinite(stored)):
                k = int(np.flatnonzero(~np.isfinite(stored.reshape(-1)))[0])
                raise ValueError(f"state: {what} must be finite, got "
                                 f"{stored.reshape(-1)[k]} (flat index {k})")

        for name, proj in self.projections.items():
            d, syn = state["projections"][name], proj.synapses
            if not (np.array_equal(d.get("indptr"), syn.indptr)
                    and np.array_equal(d.get("indices"), syn.indices)):
                raise ValueError(f"the connectivity of projection {name!r} differs from "
                                 "the stored state's")
            fits(f"weights of projection {name!r}", d.get("weights"), syn.weights)
            if "rule" in d and proj.rule is None:
                raise ValueError(f"state: projection {name!r} has no rule here, the "
                                 "stored state holds a rule's state")
        for name, p in self.populations.items():
            d = state["populations"][name]
            for k, arr in p._state_arrays().items():
                if k not in d:
                    raise ValueError(f"state: population {name!r} lacks {k!r}")
                if k not in ("hist", "hist_n"):   # the spike history may differ in size
                    fits(f"{k} of population {name!r}", d[k], arr)
            if p.kind == 1:
                for k in ("rng", "rates", "dirty"):
                    if k not in d:
                        raise ValueError(f"state: population {name!r} lacks {k!r}")
                fits(f"rates of population {name!r}", d["rates"], p._rates)
