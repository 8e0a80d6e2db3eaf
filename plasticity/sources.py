"""Renewal-process spike sources: gamma processes and Poisson processes with a dead
time, drawn per run segment into the engine's spike-generator path.

Every neuron has its own stream of random numbers: a counter-based hash (the rule
language's ``rand()``, splitmix64) of (the group's seed, the neuron's draw count, the
neuron, a call site). A neuron's spike train therefore depends on the network seed
and on its own parameters only: not on the other neurons, the group's size, nor how
the time is cut into runs; the same seed gives the same spikes, bit for bit.

Created by :meth:`plasticity.network.Network.add_gamma` and
:meth:`~plasticity.network.Network.add_poisson_refractory`.
"""
import math

import numpy as np

from ._validation import check_rate_per_step, check_real_array
from .network import SpikeGeneratorGroup, Population, _NEVER
from .rules._interpreter import _rand

__all__ = ["GammaGroup", "PoissonRefractoryGroup"]


def _real_array(owner, name, value, n, unit):
    return check_real_array(f"{name} of {owner!r}", value, n, unit)


class _RenewalGroup(SpikeGeneratorGroup):
    """``n`` independent renewal processes on the time grid; the spikes of each run
    segment are drawn just before it (:meth:`_fill`) and played by the engine as a
    spike generator.

    A neuron whose parameters change (or a new group) restarts at the next run as
    a stationary process: its first spike is the forward recurrence time of the
    process from the run's start, as if it had been running all along.
    """

    kind = 2

    def __init__(self, name, n, seed, dt):
        Population.__init__(self, name, n, None)
        self._dt = float(dt)
        self._seed = int(seed) & 0xFFFFFFFFFFFFFFFF
        self.next_step = np.full(n, _NEVER, dtype=np.int64)
        self.draws = np.zeros(n, dtype=np.int64)     # random draws used, per neuron
        self.pending = np.ones(n, dtype=np.uint8)    # restart at the next run
        self.filled_to = np.zeros(1, dtype=np.int64)  # spikes drawn for steps < this
        self._steps = np.zeros(0, dtype=np.int64)
        self._sorted_ids = np.zeros(0, dtype=np.int32)
        self.pos = np.zeros(1, dtype=np.int64)

    def set_spikes(self, times, ids):
        raise TypeError(f"{self.name!r} draws its own spikes ({type(self).__name__}); "
                        "set its parameters instead")

    def _compile(self, dt):
        if dt != self._dt:
            raise ValueError(f"{self.name!r} was created for dt = {self._dt} ms, the "
                             f"network runs at dt = {dt} ms")

    def _uniform(self, idx, site):
        """One uniform in [0, 1) per neuron in ``idx`` for draw ``draws[idx]``."""
        return _rand(self._seed, self.draws[idx], idx, site)

    def _fill(self, step0, step1):
        """The spikes of steps [step0, step1), sorted by step, then neuron: those
        drawn before and not yet played (a segment can end early, when a spike
        monitor's buffer is full), then new draws from where the drawing stopped."""
        steps, ids = [], []
        start = int(self.filled_to[0])
        if step0 < start:   # the last segment's spikes from step0 on (unplayed)
            sel = self._steps >= step0
            steps.append(self._steps[sel])
            ids.append(self._sorted_ids[sel].astype(np.int64))
        start = max(start, step0)
        restart = np.flatnonzero(self.pending)
        if restart.size and step1 > start:
            self._restart(restart, start)
            self.pending[restart] = 0
        self.filled_to[0] = max(start, step1)
        act = np.flatnonzero(self.next_step < step1)
        while act.size:
            steps.append(self.next_step[act].copy())
            ids.append(act)
            self._advance(act)
            act = act[self.next_step[act] < step1]
        if steps:
            s, i = np.concatenate(steps), np.concatenate(ids)
            order = np.lexsort((i, s))
            self._steps = np.ascontiguousarray(s[order])
            self._sorted_ids = np.ascontiguousarray(i[order], dtype=np.int32)
        else:
            self._steps = np.zeros(0, dtype=np.int64)
            self._sorted_ids = np.zeros(0, dtype=np.int32)
        self.pos[0] = 0

    def _state_arrays(self):
        d = super()._state_arrays()
        d.update(next_step=self.next_step, draws=self.draws, pending=self.pending,
                 filled_to=self.filled_to)
        d.update(self._extra_state())
        return d

    def _extra_state(self):
        return {}

    def source_state(self):
        """Copies of the per-neuron state (parameters, draw counts, next spikes):
        :meth:`load_source_state` of it into a new group continues each neuron's
        process where it was (a restart where the parameters differ)."""
        d = {k: np.array(v, copy=True) for k, v in self._state_arrays().items()
             if k not in ("hist", "hist_n", "pos")}
        d["seed"] = self._seed
        return d

    def load_source_state(self, d):
        params = self._param_names
        new = {p: getattr(self, "_" + p).copy() for p in params}
        for k, v in d.items():
            if k == "seed":
                self._seed = int(v)
            elif k in ("next_step", "draws", "pending", "filled_to") or \
                    k in self._extra_state():
                np.copyto(getattr(self, k), v)
        changed = np.zeros(self.n, dtype=bool)
        for p in params:
            changed |= new[p] != d["_" + p]
            np.copyto(getattr(self, "_" + p), new[p])
        self.pending[changed] = 1


class GammaGroup(_RenewalGroup):
    """``n`` independent gamma processes: inter-spike intervals ~ Gamma(shape
    ``alpha``, rate ``beta``), mean ``alpha / beta`` (s), as PyNN's
    ``SpikeSourceGamma``; ``beta = 0`` is silent.

    The process runs in continuous time; each spike is emitted at the nearest step
    (``round(t / dt)``). Two spikes of a neuron that round to the same step are one
    (the mean rate must stay below 1000 / dt Hz, where that is rare). An interval is
    ``gammaincinv(alpha, u) / beta`` for a uniform ``u`` of the neuron's stream; the
    first spike after a (re)start is ``U L`` after it, ``L ~ Gamma(alpha + 1, beta)``
    (the stationary forward recurrence time).
    """

    _param_names = ("alpha", "beta")

    def __init__(self, name, n, alpha, beta, seed, dt):
        super().__init__(name, n, seed, dt)
        self.t_next = np.full(n, np.inf)                 # ms, continuous
        self.last_step = np.full(n, -1, dtype=np.int64)  # the last spike's step
        self._alpha = np.full(n, 1.0)
        self._beta = np.zeros(n)
        self.set_params(alpha=alpha, beta=beta)

    @property
    def alpha(self):
        """Shape of the interval distribution (> 0), a copy."""
        return self._alpha.copy()

    @alpha.setter
    def alpha(self, value):
        self.set_params(alpha=value)

    @property
    def beta(self):
        """Rate of the interval distribution (Hz, >= 0), a copy."""
        return self._beta.copy()

    @beta.setter
    def beta(self, value):
        self.set_params(beta=value)

    def set_params(self, alpha=None, beta=None):
        """Set ``alpha`` and/or ``beta`` (scalars or arrays of n) together; neurons
        whose values change restart at the next run."""
        a = self._alpha if alpha is None else _real_array(self.name, "alpha", alpha,
                                                           self.n, "dimensionless")
        b = self._beta if beta is None else _real_array(self.name, "beta", beta,
                                                         self.n, "Hz")
        if np.any(a <= 0):
            k = int(np.flatnonzero(a <= 0)[0])
            raise ValueError(f"alpha of {self.name!r} must be > 0 (the shape of the "
                             f"gamma distribution), got {a[k]} (source {k})")
        if np.any(b < 0):
            k = int(np.flatnonzero(b < 0)[0])
            raise ValueError(f"beta of {self.name!r} must be >= 0 Hz, got {b[k]} "
                             f"(source {k})")
        check_rate_per_step(f"beta / alpha of {self.name!r} (the mean rate)", b / a,
                            self._dt, got=lambda k: f"beta = {b[k]} Hz, alpha = {a[k]}")
        changed = (a != self._alpha) | (b != self._beta)
        self._alpha, self._beta = a.copy(), b.copy()
        self.pending[changed] = 1

    def _extra_state(self):
        return {"t_next": self.t_next, "last_step": self.last_step,
                "_alpha": self._alpha, "_beta": self._beta}

    def _interval(self, idx, shape, site):
        from scipy.special import gammaincinv
        u = self._uniform(idx, site)
        return gammaincinv(shape, u) * (1000.0 / self._beta[idx])

    def _set_next(self, idx):
        """Steps of t_next; a spike on or before the last spike's step is merged
        into it (the next interval is drawn instead)."""
        while idx.size:
            # held at _NEVER before the cast: a step beyond 2**63 (beta = 1e-20 Hz:
            # intervals of 1e23 ms) cast to int64 is undefined (INT64_MIN here: a
            # clash with the last spike at every draw, a run that never ended)
            with np.errstate(over="ignore"):
                s = np.floor(np.minimum(self.t_next[idx] / self._dt + 0.5,
                                        float(_NEVER)))
            self.next_step[idx] = np.minimum(s.astype(np.int64), _NEVER)
            clash = idx[self.next_step[idx] <= self.last_step[idx]]
            if clash.size:
                self.t_next[clash] += self._interval(clash, self._alpha[clash], 0)
                self.draws[clash] += 1
            idx = clash

    def _restart(self, idx, step0):
        on = self._beta[idx] > 0
        off = idx[~on]
        self.t_next[off] = np.inf
        self.next_step[off] = _NEVER
        idx = idx[on]
        if idx.size == 0:
            return
        L = self._interval(idx, self._alpha[idx] + 1.0, 1)
        U = self._uniform(idx, 2)
        self.draws[idx] += 1
        self.t_next[idx] = step0 * self._dt + U * L
        self.last_step[idx] = np.minimum(self.last_step[idx], step0 - 1)
        self._set_next(idx)

    def _advance(self, idx):
        self.last_step[idx] = self.next_step[idx]
        self.t_next[idx] += self._interval(idx, self._alpha[idx], 0)
        self.draws[idx] += 1
        self._set_next(idx)


class PoissonRefractoryGroup(_RenewalGroup):
    """``n`` independent Poisson processes with a dead time, on the time grid: rate
    ``rates`` (Hz, the mean rate including the dead time), no interval shorter than
    ``dead_time`` (ms), as PyNN's ``SpikeSourcePoissonRefractory`` (NEST's
    ``ppd_sup_generator``).

    With ``D = max(ceil(dead_time / dt), 1)`` steps, an interval is ``D - 1 + G``
    steps, ``G >= 1`` geometric with ``p = 1 / (1000 / (rate dt) - D + 1)``: no
    interval below the dead time (rounded up to the grid), the mean interval
    exactly ``1000 / rate`` ms. ``dead_time <= dt`` is the plain Bernoulli process
    of :class:`~plasticity.network.PoissonGroup` (``p = rate dt``). The first spike
    after a (re)start is drawn from the stationary forward recurrence time.
    Requires ``rate * D * dt <= 1000`` (``rate <= 1000 / dead_time`` on the grid).
    """

    _param_names = ("rates", "dead_time")

    def __init__(self, name, n, rates, dead_time, seed, dt):
        super().__init__(name, n, seed, dt)
        self._rates = np.zeros(n)
        self._dead_time = np.zeros(n)
        self.set_params(rates=rates, dead_time=dead_time)

    @property
    def rates(self):
        """Mean rates (Hz, >= 0), a copy."""
        return self._rates.copy()

    @rates.setter
    def rates(self, value):
        self.set_params(rates=value)

    @property
    def dead_time(self):
        """Dead times (ms, >= 0), a copy."""
        return self._dead_time.copy()

    @dead_time.setter
    def dead_time(self, value):
        self.set_params(dead_time=value)

    def _dead_steps(self, d):
        return np.maximum(np.ceil(d / self._dt - 1e-9), 1.0)

    def set_params(self, rates=None, dead_time=None):
        """Set ``rates`` and/or ``dead_time`` (scalars or arrays of n) together;
        neurons whose values change restart at the next run."""
        r = self._rates if rates is None else _real_array(self.name, "rates", rates,
                                                           self.n, "Hz")
        d = self._dead_time if dead_time is None else _real_array(
            self.name, "dead_time", dead_time, self.n, "ms")
        if np.any(r < 0):
            k = int(np.flatnonzero(r < 0)[0])
            raise ValueError(f"rates of {self.name!r} must be >= 0 Hz, got {r[k]} "
                             f"(source {k})")
        if np.any(d < 0):
            k = int(np.flatnonzero(d < 0)[0])
            raise ValueError(f"dead_time of {self.name!r} must be >= 0 ms, got {d[k]} "
                             f"(source {k})")
        check_rate_per_step(f"rates of {self.name!r}", r, self._dt,
                            steps=self._dead_steps(d),
                            got=lambda k: f"rate {r[k]} Hz with dead_time {d[k]} ms")
        changed = (r != self._rates) | (d != self._dead_time)
        self._rates, self._dead_time = r.copy(), d.copy()
        self.pending[changed] = 1

    def _extra_state(self):
        return {"_rates": self._rates, "_dead_time": self._dead_time}

    def _law(self, idx):
        """(D - 1, p, mean interval in steps) per neuron of idx (rates > 0)."""
        mu = 1000.0 / (self._rates[idx] * self._dt)
        Dm = self._dead_steps(self._dead_time[idx]) - 1.0
        p = np.minimum(1.0 / (mu - Dm), 1.0)
        return Dm, p, mu

    def _geometric(self, idx, p, site):
        """G >= 1 with P(G = g) = (1 - p)^(g - 1) p."""
        u = 1.0 - self._uniform(idx, site)          # in (0, 1]
        with np.errstate(divide="ignore"):
            g = 1.0 + np.floor(np.log(u) / np.log1p(-p))
        g = np.where(p >= 1.0, 1.0, g)
        return np.minimum(g, float(_NEVER // 2))

    def _restart(self, idx, step0):
        on = self._rates[idx] > 0
        self.next_step[idx[~on]] = _NEVER
        idx = idx[on]
        if idx.size == 0:
            return
        Dm, p, mu = self._law(idx)
        # forward recurrence F >= 1 from step0 - 1: P(F = j) = P(interval >= j) / mu,
        # uniform on 1..D-1 with probability (D - 1) / mu, else D - 1 + G
        u = self._uniform(idx, 1)
        in_dead = u < Dm / mu
        j_dead = 1.0 + np.floor(u * mu)              # uniform on 1..D-1 given in_dead
        F = np.where(in_dead, np.minimum(j_dead, np.maximum(Dm, 1.0)),
                     Dm + self._geometric(idx, p, 0))
        self.draws[idx] += 1
        self.next_step[idx] = np.minimum(step0 - 1 + F.astype(np.int64), _NEVER)

    def _advance(self, idx):
        Dm, p, _ = self._law(idx)
        isi = (Dm + self._geometric(idx, p, 0)).astype(np.int64)
        self.draws[idx] += 1
        self.next_step[idx] = np.minimum(self.next_step[idx] + isi, _NEVER)
