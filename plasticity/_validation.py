"""Boundary checks shared by every public constructor.

Each helper raises ``ValueError``/``TypeError`` naming the parameter, the value and
what is allowed, e.g. ``tau_m must be > 0 ms, got -5.0``.
"""
import math
import numbers

import numpy as np

__all__ = ["check_positive", "check_nonnegative", "check_finite", "check_int",
           "check_in", "check_range", "check_probability", "check_real_array",
           "check_ids", "check_size", "whole_steps", "duration_steps", "check_schedule",
           "steps_of",
           "check_rate_per_step", "Revalidated", "UnknownName", "unknown_name"]


def _num(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} "
                        f"({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_finite(name, value, unit=""):
    """Return ``value`` as float; it must be a finite real number."""
    return _num(name, value)


def check_positive(name, value, unit=""):
    """Return ``value`` as float; it must be finite and > 0."""
    v = _num(name, value)
    if v <= 0:
        raise ValueError(f"{name} must be > 0{(' ' + unit) if unit else ''}, got {value}")
    return v


def check_nonnegative(name, value, unit=""):
    """Return ``value`` as float; it must be finite and >= 0."""
    v = _num(name, value)
    if v < 0:
        raise ValueError(f"{name} must be >= 0{(' ' + unit) if unit else ''}, got {value}")
    return v


def check_range(name, value, low=None, high=None, unit=""):
    """Return ``value`` as float; it must lie in [low, high] (None = unbounded)."""
    v = _num(name, value)
    if (low is not None and v < low) or (high is not None and v > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in [{lo}, {hi}]{(' ' + unit) if unit else ''}, "
                         f"got {value}")
    return v


def check_probability(name, value):
    """Return ``value`` as float in [0, 1]."""
    return check_range(name, value, 0.0, 1.0)


def check_int(name, value, low=None, high=None):
    """Return ``value`` as int; it must be an integer in [low, high]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {v}")
    return v


def check_in(name, value, allowed):
    """Return ``value``; it must be one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return value


def check_real_array(what, value, n, unit="", *, n_name="n", element="source",
                     nonnegative=False):
    """``value`` (a scalar or an array of ``n``) as a new float64 array of ``n``:
    real, finite (and >= 0 with ``nonnegative``); ``what`` names it in the errors,
    ``unit`` (if any) is named with it, ``element`` the kind of element whose index a
    bad value reports."""
    u = f" ({unit})" if unit else ""
    v = np.asarray(value)
    if v.dtype.kind not in "iuf":
        raise TypeError(f"{what} must be real numbers{u}, got {v.dtype} values "
                        f"({value!r:.60})")
    v = v.astype(np.float64)
    if v.ndim > 1 or (v.ndim == 1 and v.shape[0] != n):
        raise ValueError(f"{what} must be a scalar or an array of length {n_name} = {n}"
                         f"{u}, got shape {v.shape}")
    v = np.broadcast_to(v, (n,)).copy()
    ok = np.isfinite(v) & (v >= 0) if nonnegative else np.isfinite(v)
    if not np.all(ok):
        k = int(np.flatnonzero(~ok)[0])
        allowed = f"finite and >= 0 {unit}".rstrip() if nonnegative else f"finite{u}"
        raise ValueError(f"{what} must be {allowed}, got {v[k]} ({element} {k})")
    return v


def whole_steps(name, value, dt):
    """``value`` ms as a whole number of steps of ``dt`` ms: within rounding of a
    whole number of steps (not of the duration: 5e6 ms at dt 0.3 ms is 0.1 ms off,
    within 1e-6 of the duration but not a multiple); a ValueError naming ``name``
    otherwise."""
    q = value / dt
    n = round(q)
    if abs(q - n) > 1e-6 + 1e-15 * abs(q):
        raise ValueError(f"{name} must be a multiple of dt = {dt} ms, got {value}")
    return int(n)


#: the most steps a duration may have (Network.run, monitor intervals, step_every):
#: far beyond any run, well inside int64 (a duration of 1e300 ms was an
#: OverflowError in the compiled loop)
MAX_DURATION_STEPS = 2 ** 40


def duration_steps(what, duration, dt, minimum=0):
    """``duration`` (ms: a real number, finite, >= 0, a multiple of ``dt``) as an int
    number of steps of ``dt``, at least ``minimum`` and at most 2**40; ``what``
    names it in the errors. The one check of every duration given in ms that the
    engine counts in steps (``Network.run``, monitor intervals, ``step_every``)."""
    if isinstance(duration, (bool, np.bool_)) or \
            not isinstance(duration, (int, float, np.number)):
        raise TypeError(f"{what} must be a number of ms, got {duration!r}")
    duration = float(duration)
    if not math.isfinite(duration) or duration < 0:
        raise ValueError(f"{what} must be finite and >= 0 ms, got {duration}")
    ratio = duration / dt
    if ratio > MAX_DURATION_STEPS:  # also inf: a denormal dt overflows the count
        raise ValueError(f"{what} = {duration} ms is {ratio:.3g} steps of dt = "
                         f"{dt} ms; at most 2**40 steps are allowed")
    n = whole_steps(what, duration, dt)
    if n < minimum:
        raise ValueError(f"{what} must be at least {minimum} step(s) of {dt} ms, "
                         f"got {duration}")
    return int(n)


def check_schedule(what, times, amounts):
    """A schedule of events: ``times`` (ms) and ``amounts`` (one per time, or one for
    all) as two new 1-D float64 arrays of one length; real numbers, finite, times
    >= 0. ``what`` names them in the errors ('reward' -> 'reward times')."""
    t = np.asarray(times)
    a = np.asarray(amounts)
    for name, x, value in (("times", t, times), ("amounts", a, amounts)):
        if x.size and x.dtype.kind not in "iuf":
            raise TypeError(f"{what} {name} must be real numbers, got {x.dtype} values "
                            f"({value!r:.60})")
    t = np.atleast_1d(t.astype(np.float64)).ravel()
    a = a.astype(np.float64)
    if a.ndim > 1 or (a.ndim == 1 and a.shape[0] not in (1, t.shape[0])):
        raise ValueError(f"{what} amounts must be one number or one per time "
                         f"({t.shape[0]}), got shape {a.shape}")
    a = np.broadcast_to(a, t.shape).copy()
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"{what} times must be finite and >= 0 ms, got {t}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{what} amounts must be finite, got {a}")
    return t, a


def steps_of(times, dt):
    """``times`` (ms, finite, >= 0) as int64 numbers of steps of ``dt``, rounded to
    the nearest; a time beyond 2**62 steps is never reached and is held there (a cast
    of more than 2**63 to int64 is undefined: 1e300 ms became a negative step)."""
    t = np.asarray(times, dtype=np.float64)
    return np.round(np.minimum(t / dt, 2.0 ** 62)).astype(np.int64)


def check_rate_per_step(what, rates, dt, *, steps=None, got=None, element="source"):
    """Spike sources draw at most one spike per step of ``dt`` ms (per ``steps``
    steps, an array of n or a scalar, for a dead time of D steps): a rate above
    ``1000 / (steps dt)`` Hz cannot be drawn (it would saturate silently). The one
    check of every source (:class:`~plasticity.network.PoissonGroup`,
    :mod:`plasticity.sources`) and the configs that build them.

    Parameters
    ----------
    what : str
        Names the rates in the error (``"rates of 'inp'"``).
    rates : ndarray of float
        Rates in Hz, one per source.
    dt : float
        The network's step (ms).
    steps : ndarray or float, optional
        Steps of a dead time per source, D >= 1: at most one spike per D steps (the
        error then names ``1000 / (D dt)``). None: one step.
    got : callable, optional
        ``got(k)``: what the error says source ``k`` was given (default ``"R Hz"``).
    element : str or None, optional
        What the error calls the index of the first rate above the limit (``"source"``,
        ``"item"`` of a config list; None: no index, a single rate).

    Raises
    ------
    ValueError
        Naming ``what``, the limit, the first source above it and its value.
    """
    rates = np.asarray(rates, dtype=np.float64)
    if rates.size == 0:
        return
    dead = steps is not None
    steps = np.broadcast_to(np.asarray(1.0 if steps is None else steps,
                                       dtype=np.float64), rates.shape)
    # within rounding of the limit is at the limit (1000 / (D dt) given back as a rate)
    bad = rates * steps * dt > 1000.0 * (1 + 1e-12)
    if not np.any(bad):
        return
    k = int(np.flatnonzero(bad)[0])
    D = steps[k]
    if not dead:
        limit, why = "1000 / dt", f"one spike per step of dt = {dt} ms"
    else:
        limit = "1000 / (D dt)"
        why = (f"D dt = {D * dt:g} ms being the dead time on the grid (at least one step "
               f"of dt = {dt} ms)")
    given = got(k) if got is not None else f"{rates[k]} Hz"
    where = f" ({element} {k})" if element else ""
    raise ValueError(f"{what} must be <= {limit} = {1000.0 / (D * dt):g} Hz ({why}), "
                     f"got {given}{where}")


def check_ids(name, value, n, *, unique=False, empty=True, dtype=np.int32):
    """``value`` (an integer or a sequence of integers) as a new 1-D ``dtype`` array of
    ids in ``[0, n)``; ``name`` names it in the errors. Integers only: no floats (0.7
    is not truncated to 0), no booleans (a mask is not a list of ids), checked before
    the cast (2**32 + 1 does not wrap to 1); ``unique``: no id twice; ``empty=False``:
    at least one id."""
    a = np.asarray(value)
    if a.size == 0 and a.dtype.kind == "f":     # [] reads as float64
        a = a.astype(np.int64)
    if a.ndim > 1:
        raise ValueError(f"{name} must be an id or a 1-D sequence of ids, got shape "
                         f"{a.shape}")
    a = a.reshape(-1)
    if a.dtype.kind not in "iu" and not (a.dtype == object and all(
            isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))
            for x in a)):
        raise TypeError(f"{name} must be integers in [0, {n}), got {a.dtype} values "
                        f"({value!r:.60})")
    if a.size == 0 and not empty:
        raise ValueError(f"{name} must hold at least one id in [0, {n}), got none")
    if a.size:
        bad = np.flatnonzero((a < 0) | (a >= n))
        if bad.size:
            k = int(bad[0])
            raise ValueError(f"{name} must be integers in [0, {n}), got {a[k]} "
                             f"(position {k})")
        if unique:
            u, counts = np.unique(a, return_counts=True)
            if np.any(counts > 1):
                raise ValueError(f"{name} must not repeat an id, got {u[counts > 1][0]} "
                                 f"{int(counts[counts > 1][0])} times")
    return a.astype(dtype)


def check_size(name, n, bytes_each, *, high=2 ** 31 - 1):
    """``n`` (neurons, cells) as int: an integer in [1, ``high``] (ids are int32) whose
    arrays, ``bytes_each`` bytes per element, fit in memory: checked before they are
    allocated (a ValueError naming ``name``, not a MemoryError or the OOM killer)."""
    from . import _memory
    n = check_int(name, n, 1, high)
    _memory.check({name: (n, n * bytes_each)})
    return n


class UnknownName(KeyError, ValueError):
    """A name that is not among those allowed (``rule['zz']``, ``monitor['zz']``): a
    KeyError (a lookup by name) and a ValueError (bad input) whose message reads as
    written (a KeyError's prints quoted, as a key)."""

    def __str__(self):
        return str(self.args[0]) if self.args else ""


def unknown_name(what, name, allowed, hint=""):
    """An :class:`UnknownName` naming ``what`` (``"variable of the rule"``), the
    ``name`` asked for and the ``allowed`` names (sorted), with ``hint`` appended."""
    return UnknownName(f"{name!r} is not a {what}; allowed: {sorted(allowed)}{hint}")


class Revalidated:
    """Mixin for parameter objects whose constructor checks its arguments: assigning a
    constructor parameter later (``pair.a_plus = x``, ``model.tau_m = x``) goes through
    the same constructor (one definition of what is allowed), and the object takes
    the new, checked state; a bad value raises the constructor's error and leaves the
    object as it was. Parameters live as attributes or in a ``_params`` dict."""

    def _ctor_args(self):
        import inspect
        names = [n for n, p in inspect.signature(type(self).__init__).parameters.items()
                 if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        params = self.__dict__.get("_params") or {}
        args = {}
        for n in names:
            if n in params:
                args[n] = params[n]
            elif n in self.__dict__:
                args[n] = self.__dict__[n]
            else:
                return None                 # still being constructed
        return args

    def __setattr__(self, name, value):
        params = self.__dict__.get("_params")
        if not name.startswith("_") and (name in self.__dict__ or (
                params is not None and name in params)):
            args = self._ctor_args()
            if args is not None and name in args:
                args[name] = value
                fresh = type(self)(**args)
                self.__dict__.update(fresh.__dict__)
                return
        elif not name.startswith("_") and not hasattr(type(self), name):
            args = self._ctor_args()
            if args is not None:
                # constructed, and no such parameter: a misspelt one (pair.a_plu =
                # 0.02) would be a new attribute that nothing reads
                raise AttributeError(f"{type(self).__name__} has no parameter {name!r}; "
                                     f"its parameters are {sorted(args)}")
        object.__setattr__(self, name, value)

    def __getattr__(self, name):            # parameters kept in _params
        params = self.__dict__.get("_params")
        if params is not None and name in params:
            return params[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
