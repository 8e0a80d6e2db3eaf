"""Synaptic connectivity: :class:`SynapseMatrix` and its builders.

A :class:`SynapseMatrix` stores the synapses of one projection as NumPy arrays in the
layout of ``docs/internals.md``: CSR by presynaptic neuron (``indptr`` int64,
``indices`` int32, ``weights`` float32 or float64; synapse id = position), an index by
postsynaptic neuron (``post_ptr`` int64, ``post_syn`` int32, ``post_pre`` int32), and
optional per-synapse delays (int32, in steps). At float32 without delays it costs
16 bytes per synapse plus 8 bytes per neuron.

All inputs are validated here, in Python, before any compiled kernel
(``plasticity._ext.synapses``) runs; errors name the parameter, the offending value or
first offending position, and what is allowed.
"""
import contextlib
import numbers

import numpy as np

from ._ext import synapses as _k
from ._csr import check_csr
from ._validation import check_finite, check_int, check_probability

__all__ = ["SynapseMatrix"]

#: Synapse ids and neuron ids are int32: nnz must stay below this.
MAX_NNZ = 2**31 - 1
_INT32_MAX = 2**31 - 1


# ---------------------------------------------------------------------------
# boundary helpers
# ---------------------------------------------------------------------------
def _check_dtype(dtype, default=np.float32):
    if dtype is None:
        return np.dtype(default)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    return dt


def _check_shape(shape):
    try:
        n = len(shape)
    except TypeError:
        raise TypeError(f"shape must be a pair (n_pre, n_post) of integers, "
                        f"got {shape!r}") from None
    if n != 2:
        raise ValueError(f"shape must be a pair (n_pre, n_post), got {n} values: "
                         f"{tuple(shape)!r}")
    n_pre = check_int("shape[0] (n_pre)", shape[0], 0, _INT32_MAX)
    n_post = check_int("shape[1] (n_post)", shape[1], 0, _INT32_MAX)
    return n_pre, n_post


def _check_nnz(nnz, what="nnz"):
    if nnz >= MAX_NNZ:
        raise ValueError(f"{what} must be < 2**31-1 = {MAX_NNZ} (synapse ids are int32), "
                         f"got {nnz}")


def _describe(a):
    """Short description of what was found instead of a valid array (for messages)."""
    if not isinstance(a, np.ndarray):
        return type(a).__name__
    flags = [] if a.flags.c_contiguous else ["non-contiguous"]
    return f"{' '.join(flags + [a.dtype.name])} array of shape {a.shape}"


def _as_1d(name, x):
    """``x`` as a 1-D ndarray (an empty list becomes an empty int64 array)."""
    if not isinstance(x, np.ndarray):
        x = np.asarray(x)
        if x.size == 0 and x.dtype == np.float64:
            x = x.astype(np.int64)
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {x.shape}")
    return x


def _int_array(name, x, target, low, high, what):
    """Integer array ``x`` cast to ``target`` after checking low <= x < high.

    Out-of-range values are reported by first position before any cast, so nothing
    wraps around.
    """
    if x.dtype == np.bool_ or x.dtype.kind not in "iu":
        raise TypeError(f"{name} must have an integer dtype, got {x.dtype}")
    if x.size:
        lo, hi = x.min(), x.max()
        if lo < low or hi >= high:
            bad = int(np.flatnonzero((x < low) | (x >= high))[0])
            raise ValueError(f"{name} must be {what}, got {name}[{bad}]={x[bad]}")
    return np.ascontiguousarray(x, dtype=target)


def _weights_array(name, w, dtype, allow_int=False):
    """``w`` as a C-contiguous ``dtype`` array; real floats only (ints if allowed)."""
    kind = w.dtype.kind
    ok = "f" + ("iub" if allow_int else "")
    if kind not in ok:
        allowed = "a real (float or integer) dtype" if allow_int else "a floating dtype"
        raise TypeError(f"{name} must have {allowed}, got {w.dtype}")
    return np.ascontiguousarray(w, dtype=dtype)


def _check_finite_weights(name, w, note=""):
    pos = _k._check_finite(w)
    if pos >= 0:
        raise ValueError(f"{name} must be finite{note}, got {name}[{pos}]={w[pos]}")


def _resolve_delay(delay, nnz, rng=None, builder=False):
    """(delays int32 array or None, delay int) from ``delay`` (None, int or array;
    with ``builder``, the constructors that draw synapses, also a callable
    ``f(rng, size)`` returning one delay per synapse, called after the weights')."""
    if delay is None:
        return None, 0
    if callable(delay) and builder:
        if rng is None:
            raise TypeError("delay is a callable f(rng, size), so rng must be given "
                            "(an int seed or a numpy.random.Generator)")
        d = np.asarray(delay(rng, nnz))
        if d.shape != (nnz,):
            raise ValueError(f"delay callable must return an array of shape ({nnz},) "
                             f"(one delay in steps per synapse), got shape {d.shape}")
        return _resolve_delay(d, nnz)
    if np.ndim(delay) == 0:
        if isinstance(delay, np.ndarray):
            delay = delay.item()
        if isinstance(delay, (bool, np.bool_)) or not isinstance(delay, numbers.Real):
            raise TypeError(f"delay must be an integer number of steps or an array of "
                            f"them, got {delay!r} ({type(delay).__name__})")
        if not isinstance(delay, numbers.Integral):
            if not np.isfinite(delay) or delay != int(delay):
                raise ValueError(f"delay must be a whole number of steps >= 0, "
                                 f"got {delay!r}")
        d = int(delay)
        if d < 0 or d > _INT32_MAX:
            raise ValueError(f"delay must be a whole number of steps in "
                             f"[0, {_INT32_MAX}], got {d}")
        return None, d
    d = np.asarray(delay)
    if d.ndim != 1:
        raise ValueError(f"delay must be an integer or a 1-D array of nnz={nnz} "
                         f"integers, got an array of shape {d.shape}")
    if d.shape[0] != nnz:
        raise ValueError(f"delay array must have one entry per synapse (nnz={nnz}), "
                         f"got length {d.shape[0]}")
    if d.dtype.kind == "f":
        bad = ~np.isfinite(d) | (d != np.floor(d))
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise ValueError(f"delay must hold whole numbers of steps, got "
                             f"delay[{pos}]={d[pos]}")
        if d.size and (d.min() < 0 or d.max() > _INT32_MAX):
            pos = int(np.flatnonzero((d < 0) | (d > _INT32_MAX))[0])
            raise ValueError(f"delay must be in [0, {_INT32_MAX}] steps, got "
                             f"delay[{pos}]={d[pos]}")
        d = d.astype(np.int64)
    elif d.dtype.kind not in "iu" or d.dtype == np.bool_:
        raise TypeError(f"delay array must have an integer dtype (steps), got {d.dtype}")
    d = _int_array("delay", d, np.int32, 0, _INT32_MAX + 1,
                   f"in [0, {_INT32_MAX}] steps")
    if d.size == 0:
        return None, 0
    first = int(d[0])
    if (d == first).all():
        return None, first
    return d, -1


def _make_rng(rng, required=True):
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"rng must be a non-negative int seed or a "
                             f"numpy.random.Generator, got {rng}")
        return np.random.default_rng(int(rng))
    if rng is None and not required:
        return None
    raise TypeError(f"rng must be an int seed or a numpy.random.Generator, got "
                    f"{rng!r} ({type(rng).__name__})")


def _resolve_weight(weight, nnz, rng, dtype):
    """Per-synapse weights from a scalar, an array of length nnz or f(rng, size)."""
    if callable(weight):
        if rng is None:
            raise TypeError("weight is a callable f(rng, size), so rng must be given "
                            "(an int seed or a numpy.random.Generator)")
        returned = weight(rng, nnz)
        w = np.asarray(returned)
        if w.shape != (nnz,):
            raise ValueError(f"weight callable must return an array of shape "
                             f"({nnz},), got shape {w.shape}")
        with np.errstate(over="ignore"):
            w = _weights_array("weight (returned by the callable)", w, dtype,
                               allow_int=True)
        if w is returned:
            w = w.copy()  # the matrix owns its weights
        _check_finite_weights("weight", w, " (returned by the callable)")
        return w
    if np.ndim(weight) == 0:
        if isinstance(weight, np.ndarray):
            weight = weight.item()
        value = check_finite("weight", weight)
        with np.errstate(over="ignore"):
            finite = np.isfinite(dtype.type(value))
        if not finite:
            raise ValueError(f"weight must be finite in {dtype}, got {weight}")
        return np.full(nnz, value, dtype=dtype)
    w = np.asarray(weight)
    if w.ndim != 1 or w.shape[0] != nnz:
        raise ValueError(f"weight array must be 1-D with one entry per synapse "
                         f"(nnz={nnz}), got shape {w.shape}")
    with np.errstate(over="ignore"):
        w = _weights_array("weight", w, dtype, allow_int=True)
    if w is weight:
        w = w.copy()
    _check_finite_weights("weight", w)
    return w


# ---------------------------------------------------------------------------
# the class
# ---------------------------------------------------------------------------
# whole-matrix passes (finiteness, normalisation) use at most one thread per this
# many synapses: below, waking a thread costs more than it saves
_PAR_MIN = 65536


def first_nonfinite(w, threads=1):
    """The first index of a non-finite value of the 1-D float32/float64 array ``w``,
    or -1; on up to ``threads`` threads (one per ``_PAR_MIN`` values at most)."""
    threads = min(int(threads), w.shape[0] // _PAR_MIN)
    if threads > 1:
        from ._ext import engine
        return int(engine.first_nonfinite_threads(w, threads))
    return int(_k._check_finite(w))


class SynapseMatrix:
    """The synapses of one projection: CSR by presynaptic neuron plus a post index.

    Parameters
    ----------
    indptr : array_like of int, shape (n_pre + 1,)
        Row pointer: the synapses of presynaptic neuron ``i`` are
        ``indptr[i]:indptr[i+1]``. Starts at 0, non-decreasing, ends at nnz.
        Stored as int64.
    indices : array_like of int, shape (nnz,)
        Postsynaptic neuron of each synapse, in ``[0, n_post)``, sorted ascending and
        unique within each row. Stored as int32. Synapse id = position.
    weights : array_like of float, shape (nnz,)
        Weight of each synapse, finite. Stored as float32 or float64 (see ``dtype``).
    shape : tuple of int
        ``(n_pre, n_post)``, each in ``[0, 2**31-1]``.
    delay : int or array_like of int, optional
        Transmission delay in time steps (>= 0): one int for all synapses, or one per
        synapse (shape (nnz,), synapse order). A per-synapse array whose values are
        all equal is stored as the homogeneous delay. None (default) means 0.
    dtype : {None, numpy.float32, numpy.float64}, optional
        Weight dtype. None (default): float32, except that a float64 ndarray stays
        float64.
    check : bool, default True
        Run the O(nnz) content checks (indices sorted and unique within rows, weights
        finite). Types, shapes, lengths, ``indptr`` and the index range are always
        checked, since the compiled kernels rely on them.

    Attributes
    ----------
    indptr, indices, weights : numpy.ndarray
        The CSR arrays (int64, int32, float32/float64), C-contiguous.
    post_ptr : numpy.ndarray of int64, shape (n_post + 1,)
    post_syn : numpy.ndarray of int32, shape (nnz,)
        Synapses onto post neuron ``j``: ``post_syn[post_ptr[j]:post_ptr[j+1]]``, in
        ascending synapse id (= ascending pre id).
    post_pre : numpy.ndarray of int32, shape (nnz,)
        The presynaptic neuron of each entry of ``post_syn``.
    delays : numpy.ndarray of int32 or None
        Per-synapse delays in steps when they differ, else None.
    delay : int
        The homogeneous delay in steps (0 when none was given), or -1 when the delays
        differ between synapses (see ``delays``).

    Notes
    -----
    The structure arrays (``indptr``, ``indices``, ``post_ptr``, ``post_syn``,
    ``post_pre``, ``delays``) are owned and read-only once constructed: the compiled
    engine points into them and trusts their invariants, so writing into them raises
    and assigning them raises ``AttributeError`` (build a new SynapseMatrix to change
    the structure); ``Network.run`` refuses a matrix whose structure was made
    writeable again. ``weights`` stay writeable in place; a weights array that
    already has the stored dtype and is C-contiguous is used without a copy (as
    :class:`scipy.sparse.csr_array` does), so in-place methods such as
    :meth:`normalize_columns` modify the caller's array. Assigning ``weights`` and
    every run check its dtype, length and finiteness.

    Examples
    --------
    >>> m = SynapseMatrix([0, 2, 3], [0, 2, 1], [0.5, 1.0, 2.0], shape=(2, 3))
    >>> m.nnz, m.shape, m.dtype
    (3, (2, 3), dtype('float32'))
    >>> m.post_syn.tolist(), m.post_pre.tolist()
    ([0, 2, 1], [0, 1, 0])
    """

    def __init__(self, indptr, indices, weights, shape, *, delay=None, dtype=None,
                 check=True):
        n_pre, n_post = _check_shape(shape)
        given = (indptr, indices, delay)
        indptr = _as_1d("indptr", indptr)
        indices = _as_1d("indices", indices)
        keep64 = isinstance(weights, np.ndarray) and weights.dtype == np.float64
        weights = _as_1d("weights", weights)
        if weights.dtype.kind != "f":
            raise TypeError(f"weights must have a floating dtype (float32 or float64), "
                            f"got {weights.dtype}")
        if dtype is None:
            dtype = np.float64 if keep64 else np.float32
        dtype = _check_dtype(dtype)
        # indptr, indices (range always checked: the compiled post-index build relies on
        # it), one validator shared with the run-file writer and reader
        check_csr(indptr, indices, (n_pre, n_post), max_nnz=MAX_NNZ)
        nnz = indices.shape[0]
        indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        indices = np.ascontiguousarray(indices, dtype=np.int32)
        # weights
        if weights.shape[0] != nnz:
            raise ValueError(f"weights must have the same length as indices "
                             f"({nnz}), got {weights.shape[0]}")
        original = weights
        with np.errstate(over="ignore"):
            weights = _weights_array("weights", weights, dtype)
        delays, delay = _resolve_delay(delay, nnz)
        # the structure becomes read-only: never freeze (or alias) the caller's arrays
        if any(isinstance(g, np.ndarray) and np.may_share_memory(indptr, g) for g in given):
            indptr = indptr.copy()
        if any(isinstance(g, np.ndarray) and np.may_share_memory(indices, g) for g in given):
            indices = indices.copy()
        if delays is not None and any(isinstance(g, np.ndarray) and
                                      np.may_share_memory(delays, g) for g in given):
            delays = delays.copy()
        if check:
            self._check_order(indptr, indices)
            pos = _k._check_finite(weights)
            if pos >= 0:
                note = ""
                if np.isfinite(original[pos]):
                    note = (f" in {dtype} (weights[{pos}]={original[pos]} overflows "
                            f"on conversion)")
                raise ValueError(f"weights must be finite{note}, got "
                                 f"weights[{pos}]={weights[pos]}")
        self._set(indptr, indices, weights, (n_pre, n_post), delays, delay)

    # -- construction internals -------------------------------------------------
    @staticmethod
    def _check_order(indptr, indices):
        pos = _k._check_order(indptr, indices)
        if pos >= 0:
            row = int(np.searchsorted(indptr, pos, side="right")) - 1
            cur, prev = int(indices[pos]), int(indices[pos - 1])
            if cur == prev:
                raise ValueError(f"indices must be unique within each row: row {row} "
                                 f"has indices[{pos}]={cur} twice (also "
                                 f"indices[{pos - 1}])")
            raise ValueError(f"indices must be sorted within each row: row {row} has "
                             f"indices[{pos}]={cur} after {prev}")

    def _set(self, indptr, indices, weights, shape, delays, delay):
        self._indptr = indptr
        self._indices = indices
        self._nnz = int(indices.shape[0])
        self._weights = weights
        self._dtype_fixed = weights.dtype
        self._shape = (int(shape[0]), int(shape[1]))
        self._delays = delays
        self._delay = int(delay)
        self._post_ptr, self._post_syn, self._post_pre = _k._build_post_index(
            indptr, indices, self._shape[1])
        self._freeze()

    # -- the arrays the compiled engine points into --------------------------------
    #: structure arrays: read-only once constructed (the engine holds raw pointers
    #: into them and trusts their contents; a new structure is a new SynapseMatrix)
    _STRUCTURE = ("indptr", "indices", "post_ptr", "post_syn", "post_pre", "delays")

    def _structure_arrays(self):
        return [(name, getattr(self, "_" + name)) for name in self._STRUCTURE
                if getattr(self, "_" + name) is not None]

    def _freeze(self):
        for _, a in self._structure_arrays():
            a.flags.writeable = False

    @contextlib.contextmanager
    def _engine_access(self):
        """Make the structure arrays writeable while the engine takes its pointers
        (its typed memoryviews are not const), then read-only again."""
        try:
            for _, a in self._structure_arrays():
                a.flags.writeable = True
            yield self
        finally:
            self._freeze()

    def _max_delay(self):
        """The largest per-synapse delay (steps; 0 without synapses), for ``delays``
        not None: computed once per delays array (read-only once built, like the rest
        of the structure), not at every run."""
        d = self._delays
        cached = getattr(self, "_max_delay_cache", None)
        if cached is None or cached[0] is not d:
            cached = (d, int(d.max()) if d.size else 0)
            self._max_delay_cache = cached
        return cached[1]

    def _check_engine_arrays(self, owner, threads=1):
        """Refuse, before a run, arrays the compiled engine cannot safely use.

        The structure arrays must still be the frozen ones (dtype, length,
        C-contiguous, read-only: a user who re-enabled writing may have broken the
        CSR invariants the kernels rely on); ``weights`` must keep its dtype and
        length, be C-contiguous and writeable, and be finite (checked on up to
        ``threads`` threads). ``owner`` names the projection in the message.
        """
        nnz = self._nnz
        expect = dict(indptr=(np.int64, self._shape[0] + 1), indices=(np.int32, nnz),
                      post_ptr=(np.int64, self._shape[1] + 1), post_syn=(np.int32, nnz),
                      post_pre=(np.int32, nnz), delays=(np.int32, nnz))
        for name in self._STRUCTURE:
            a = getattr(self, "_" + name)
            if a is None and name == "delays":
                continue
            dtype, n = expect[name]
            if not isinstance(a, np.ndarray) or a.dtype != dtype or a.ndim != 1 or \
                    a.shape[0] != n or not a.flags.c_contiguous:
                raise ValueError(f"{owner}: synapses.{name} must be a C-contiguous "
                                 f"{np.dtype(dtype).name} array of length {n}, got "
                                 f"{_describe(a)}")
            if a.flags.writeable:
                raise ValueError(f"{owner}: synapses.{name} was made writeable; the "
                                 f"structure of a SynapseMatrix is read-only once built "
                                 f"(the engine relies on its CSR invariants): build a new "
                                 f"SynapseMatrix instead")
        w = self._weights
        if not isinstance(w, np.ndarray) or w.dtype != self._wdtype or w.ndim != 1 or \
                w.shape[0] != nnz or not w.flags.c_contiguous or not w.flags.writeable:
            raise ValueError(f"{owner}: synapses.weights must be a writeable C-contiguous "
                             f"{self._wdtype.name} array of length {nnz}, got "
                             f"{_describe(w)}")
        pos = first_nonfinite(w, threads)
        if pos >= 0:
            raise ValueError(f"{owner}: synapses.weights must be finite, got "
                             f"weights[{pos}]={w[pos]}")

    @property
    def weights(self):
        """Weight of each synapse (nnz,), float32 or float64; writeable in place."""
        return self._weights

    @weights.setter
    def weights(self, value):
        if not isinstance(value, np.ndarray) or value.dtype != self._wdtype or \
                value.shape != (self.nnz,):
            raise ValueError(f"weights must be a {self._wdtype.name} array of shape "
                             f"({self.nnz},), got {_describe(value)}; assign in place "
                             f"(m.weights[:] = ...) to convert")
        value = np.ascontiguousarray(value)
        pos = _k._check_finite(value)
        if pos >= 0:
            raise ValueError(f"weights must be finite, got weights[{pos}]={value[pos]}")
        self._weights = value

    @property
    def _wdtype(self):
        """The weight dtype fixed at construction."""
        return self._dtype_fixed

    @classmethod
    def _new(cls, indptr, indices, weights, shape, delay=None, rng=None, draws=False):
        """Trusted constructor for the builders: arrays already valid and owned;
        ``delay`` may be a callable f(rng, size) for the builders that draw
        (``draws``)."""
        _check_nnz(indices.shape[0])
        self = cls.__new__(cls)
        delays, d = _resolve_delay(delay, indices.shape[0], rng, builder=draws)
        self._set(indptr, indices, weights, shape, delays, d)
        return self

    # -- properties -------------------------------------------------------------
    @property
    def shape(self):
        """tuple of int: ``(n_pre, n_post)``."""
        return self._shape

    @property
    def n_pre(self):
        """int: number of presynaptic neurons."""
        return self._shape[0]

    @property
    def n_post(self):
        """int: number of postsynaptic neurons."""
        return self._shape[1]

    @property
    def nnz(self):
        """int: number of synapses."""
        return int(self.indices.shape[0])

    @property
    def dtype(self):
        """numpy.dtype: the weight dtype (float32 or float64)."""
        return self.weights.dtype

    @property
    def nbytes(self):
        """int: bytes held by all arrays (CSR, post index, delays)."""
        arrays = (self.indptr, self.indices, self.weights, self.post_ptr,
                  self.post_syn, self.post_pre, self.delays)
        return int(sum(a.nbytes for a in arrays if a is not None))

    def pre_ids(self):
        """Presynaptic neuron of each synapse, computed on demand.

        Returns
        -------
        numpy.ndarray of int32, shape (nnz,)
        """
        return np.repeat(np.arange(self.n_pre, dtype=np.int32), np.diff(self.indptr))

    def __repr__(self):
        d = f"delay={self.delay}" if self.delays is None else "delays=<per synapse>"
        return (f"SynapseMatrix(shape={self.shape}, nnz={self.nnz}, "
                f"dtype={self.dtype}, {d})")

    # -- conversions ----------------------------------------------------------------
    def copy(self):
        """A deep copy (all arrays copied).

        Returns
        -------
        SynapseMatrix
        """
        new = type(self).__new__(type(self))
        new._indptr = self._indptr.copy()
        new._indices = self._indices.copy()
        new._weights = self._weights.copy()
        new._dtype_fixed = self._dtype_fixed
        new._nnz = self._nnz
        new._shape = self._shape
        new._delays = None if self._delays is None else self._delays.copy()
        new._delay = self._delay
        new._post_ptr = self._post_ptr.copy()
        new._post_syn = self._post_syn.copy()
        new._post_pre = self._post_pre.copy()
        new._freeze()
        return new

    def to_scipy(self):
        """The weights as a :class:`scipy.sparse.csr_array` of shape (n_pre, n_post).

        The arrays are copied. Explicit zero weights stay stored, so
        ``SynapseMatrix.from_scipy(m.to_scipy())`` reproduces ``indptr``, ``indices``
        and ``weights`` exactly. Delays are not part of the result.

        Returns
        -------
        scipy.sparse.csr_array
        """
        import scipy.sparse as sp
        return sp.csr_array((self.weights.copy(), self.indices.copy(),
                             self.indptr.copy()), shape=self.shape)

    def to_dense(self):
        """The weights as a dense (n_pre, n_post) array (0 where there is no synapse).

        Returns
        -------
        numpy.ndarray of ``dtype``
        """
        out = np.zeros(self.shape, dtype=self.dtype)
        out[self.pre_ids(), self.indices] = self.weights
        return out

    # -- plasticity helpers -----------------------------------------------------------
    def normalize_columns(self, target, threads=1):
        """Scale the weights onto each post neuron so that they sum to ``target``.

        Weight normalisation of Diehl & Cook (2015): for every post neuron ``j`` with
        column sum ``S_j != 0`` (accumulated in float64), each weight onto ``j`` is
        multiplied by ``target / S_j``; columns summing to 0 (incl. empty ones) are
        left untouched. Modifies ``weights`` in place.

        Parameters
        ----------
        target : float
            The desired column sum (finite), e.g. 78.0 in Diehl & Cook (2015).
        threads : int, optional
            Threads (>= 1, default 1), each on its own range of columns: the same
            numbers for any number (one thread per ``_PAR_MIN`` synapses at most;
            one without OpenMP).

        Raises
        ------
        ValueError
            Before any weight changes, where the scaling is not a normalisation: a
            column with weights of both signs (its sum is no measure of them; near 0
            it gives huge factors, inf weights), a ``target`` whose sign is not that
            of a column's weights (it would flip their sign), or a ``|target|``
            beyond the weights' dtype (inf weights).
        """
        target = check_finite("target", target)
        threads = check_int("threads", threads, 1)
        self._check_normalizable(target)
        threads = min(threads, self._nnz // _PAR_MIN)
        if threads > 1:
            from ._ext import engine
            engine.normalize_columns_threads(self.indptr, self.indices, self.n_post,
                                             self.weights, target, threads)
        else:
            _k._normalize_columns(self.indptr, self.indices, self.n_post, self.weights,
                                  target)

    def _check_normalizable(self, target):
        """Raise (naming the column) unless :meth:`normalize_columns` to ``target``
        is a normalisation: each column's weights of one sign, that of ``target``
        (or 0), and ``|target|`` within the dtype. Weights of one sign overall (the
        usual case) cost a min and a max; else one pass in chunks (no temporary of
        the size of the weights)."""
        if target == 0.0:
            # the kernel's factor 0 marks a column summing to 0: the weights would
            # be left as they are, not zeroed
            raise ValueError("target must be != 0 (a column sum to scale the weights "
                             "to), got 0.0; set the weights to 0 directly")
        w = self.weights
        if w.size == 0:
            return
        big = float(np.finfo(w.dtype).max)
        if abs(target) > big:
            raise ValueError(f"target must be within the {w.dtype} weights' range "
                             f"[-{big:g}, {big:g}], got {target}")
        lo, hi = float(w.min()), float(w.max())
        if lo >= 0.0 and hi <= 0.0:
            return                              # all 0: nothing is scaled
        if lo >= 0.0 or hi <= 0.0:              # one sign everywhere
            pos = np.zeros(self.n_post, dtype=bool)
            neg = pos
            if (target < 0.0 and lo >= 0.0) or (target > 0.0 and hi <= 0.0):
                pos = np.zeros(self.n_post, dtype=bool)
                neg = np.zeros(self.n_post, dtype=bool)
                (pos if lo >= 0.0 else neg)[self.indices[w != 0]] = True
        else:
            pos = np.zeros(self.n_post, dtype=bool)
            neg = np.zeros(self.n_post, dtype=bool)
            step = 1 << 22
            for a in range(0, w.size, step):
                part, idx = w[a:a + step], self.indices[a:a + step]
                pos[idx[part > 0]] = True
                neg[idx[part < 0]] = True
        mixed = np.flatnonzero(pos & neg)
        if mixed.size:
            j = int(mixed[0])
            col = w[self.indices == j]
            raise ValueError(
                f"normalize_columns: the weights onto post neuron {j} have both signs "
                f"(from {col.min()} to {col.max()}; {mixed.size} of {self.n_post} "
                f"columns so): a column must be of one sign to be scaled to a sum "
                f"(a sum near 0 gives huge factors, inf weights)")
        flip = np.flatnonzero(neg if target > 0.0 else pos)
        if flip.size:
            j = int(flip[0])
            sign = "negative" if target > 0.0 else "positive"
            raise ValueError(
                f"target must have the sign of the weights it scales, got {target} for "
                f"the {sign} weights onto post neuron {j} ({flip.size} of "
                f"{self.n_post} columns so): their sign would flip")

    # -- builders -------------------------------------------------------------------------
    @classmethod
    def from_dense(cls, W, *, mask=None, dtype=None, delay=None):
        """Synapses from a dense weight matrix.

        Parameters
        ----------
        W : array_like, shape (n_pre, n_post)
            Weights; real (float, integer or bool), finite.
        mask : array_like of bool, shape (n_pre, n_post), optional
            Where synapses exist. If None (default), wherever ``W != 0``; if given,
            exactly where ``mask`` is True, with weight ``W`` there (possibly 0).
        dtype : {None, numpy.float32, numpy.float64}, optional
            Weight dtype; None: float32, except that a float64 ndarray stays float64.
        delay : int or array_like of int, optional
            Delay(s) in steps, see :class:`SynapseMatrix`.

        Returns
        -------
        SynapseMatrix
        """
        import scipy.sparse as sp
        if sp.issparse(W):
            raise TypeError("W must be a dense array; use SynapseMatrix.from_scipy "
                            "for scipy.sparse input")
        keep64 = isinstance(W, np.ndarray) and W.dtype == np.float64
        W = np.asarray(W)
        if W.ndim != 2:
            raise ValueError(f"W must be 2-D (n_pre, n_post), got shape {W.shape}")
        if dtype is None:
            dtype = np.float64 if keep64 else np.float32
        dtype = _check_dtype(dtype)
        if W.dtype.kind not in "fiub":
            raise TypeError(f"W must have a real dtype (float, integer or bool), "
                            f"got {W.dtype}")
        n_pre, n_post = _check_shape(W.shape)
        if W.dtype.kind == "f":
            bad = ~np.isfinite(W)
            if bad.any():
                i, j = (int(v) for v in np.argwhere(bad)[0])
                raise ValueError(f"W must be finite, got W[{i}, {j}]={W[i, j]}")
        if mask is None:
            m = W != 0
        else:
            m = np.asarray(mask)
            if m.dtype != np.bool_:
                raise TypeError(f"mask must be a boolean array, got dtype {m.dtype}")
            if m.shape != W.shape:
                raise ValueError(f"mask must have the shape of W {W.shape}, "
                                 f"got {m.shape}")
        counts = np.count_nonzero(m, axis=1)
        _check_nnz(int(counts.sum()))
        rows, cols = np.nonzero(m)
        indptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        with np.errstate(over="ignore"):
            weights = np.ascontiguousarray(W[rows, cols], dtype=dtype)
        _check_finite_weights("W", weights, f" in {dtype}")
        return cls._new(indptr, cols.astype(np.int32), weights, (n_pre, n_post), delay)

    @classmethod
    def from_scipy(cls, S, *, dtype=None, delay=None):
        """Synapses from any :mod:`scipy.sparse` array or matrix.

        The input is converted to canonical CSR (a copy; duplicate entries summed as
        scipy does, indices sorted). Explicitly stored zeros are kept as synapses of
        weight 0.

        Parameters
        ----------
        S : scipy.sparse array or matrix, 2-D
            Any format (csr, csc, coo, lil, dok, bsr, dia; ``*_array`` or
            ``*_matrix``). Real data, finite.
        dtype : {None, numpy.float32, numpy.float64}, optional
            Weight dtype; None keeps float64 data as float64, otherwise float32.
        delay : int or array_like of int, optional
            Delay(s) in steps, see :class:`SynapseMatrix`.

        Returns
        -------
        SynapseMatrix
        """
        import scipy.sparse as sp
        if not sp.issparse(S):
            raise TypeError(f"S must be a scipy.sparse array or matrix, got "
                            f"{type(S).__name__}; use SynapseMatrix.from_dense for "
                            f"dense input")
        if S.ndim != 2:
            raise ValueError(f"S must be 2-D, got {S.ndim}-D with shape {S.shape}")
        if S.dtype.kind not in "fiub":
            raise TypeError(f"S must have real data (float, integer or bool), "
                            f"got {S.dtype}")
        n_pre, n_post = _check_shape(S.shape)
        if dtype is None:
            dtype = np.float64 if S.dtype == np.float64 else np.float32
        dtype = _check_dtype(dtype)
        C = S.tocsr(copy=True)  # a copy we own, also for csr input
        C.sum_duplicates()        # canonical: sorted, duplicates summed, zeros kept
        _check_nnz(C.nnz)
        with np.errstate(over="ignore"):
            weights = np.ascontiguousarray(C.data, dtype=dtype)
        _check_finite_weights("S.data", weights, f" in {dtype}")
        return cls(C.indptr, C.indices, weights, (n_pre, n_post), delay=delay,
                   dtype=dtype)

    @classmethod
    def fixed_probability(cls, n_pre, n_post, p, *, weight=1.0, rng, allow_self=True,
                          dtype=None, delay=None):
        """Each (pre, post) pair is connected independently with probability ``p``.

        Sampled in O(nnz) time and memory by geometric skipping over the flat pair
        index ``i * n_post + j`` (vectorised), so 1M synapses out of 10M pairs take a
        few tens of ms.

        Parameters
        ----------
        n_pre, n_post : int
            Population sizes, in ``[0, 2**31-1]``.
        p : float
            Connection probability, in [0, 1].
        weight : float, array_like or callable, default 1.0
            A scalar for all synapses, an array of length nnz (synapse order), or a
            callable ``f(rng, size)`` returning ``size`` weights.
        rng : int or numpy.random.Generator
            Seed or generator (required; the global NumPy RNG is never used).
        allow_self : bool, default True
            If False, no synapse connects neuron ``i`` to neuron ``i`` (meaningful when
            pre and post are the same population).
        dtype : {None, numpy.float32, numpy.float64}, optional
            Weight dtype (default float32).
        delay : int, array_like of int or callable, optional
            Delay(s) in steps, see :class:`SynapseMatrix`; or a callable
            ``f(rng, size)`` returning one whole number of steps per synapse (synapse
            order), called after the weights are drawn.

        Returns
        -------
        SynapseMatrix
        """
        n_pre = check_int("n_pre", n_pre, 0, _INT32_MAX)
        n_post = check_int("n_post", n_post, 0, _INT32_MAX)
        p = check_probability("p", p)
        dtype = _check_dtype(dtype)
        rng = _make_rng(rng)
        n_pairs = n_pre * n_post
        if p == 0.0 or n_pairs == 0:
            flat = np.zeros(0, dtype=np.int64)
        else:
            mean = n_pairs * p
            if mean > 1.05 * MAX_NNZ:
                raise ValueError(f"n_pre * n_post * p = {mean:.4g} expected synapses; "
                                 f"nnz must be < 2**31-1 = {MAX_NNZ}")
            flat = cls._geometric_pairs(rng, n_pairs, p)
        indptr, indices = _k._csr_from_flat(flat, n_pre, n_post, bool(allow_self))
        del flat
        _check_nnz(indices.shape[0])
        weights = _resolve_weight(weight, indices.shape[0], rng, dtype)
        return cls._new(indptr, indices, weights, (n_pre, n_post), delay, rng, draws=True)

    @staticmethod
    def _geometric_pairs(rng, n_pairs, p, max_chunk=None):
        """Ascending flat ids of a Bernoulli(p) subset of range(n_pairs).

        Gaps between successes are Geometric(p); they are drawn in chunks (normally
        one: mean + 6 sd). The variates form one stream, so the result does not
        depend on the chunk size (``max_chunk`` exists to test that).
        """
        chunks = []
        last = -1  # flat id of the last success so far
        remaining = n_pairs
        while True:
            mean = remaining * p
            m = int(mean + 6.0 * np.sqrt(mean) + 16)
            if max_chunk is not None:
                m = min(m, max_chunk)
            gaps = rng.geometric(p, size=m)  # trials to the next success, >= 1
            np.cumsum(gaps, out=gaps)
            gaps += last
            end = int(np.searchsorted(gaps, n_pairs))
            if end < m:
                chunks.append(gaps[:end].copy() if end < m // 2 else gaps[:end])
                break
            chunks.append(gaps)
            last = int(gaps[-1])
            remaining = n_pairs - 1 - last
        flat = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        return np.ascontiguousarray(flat)

    @classmethod
    def fixed_indegree(cls, n_pre, n_post, k, *, weight=1.0, rng, allow_self=True,
                       dtype=None, delay=None):
        """Each post neuron receives exactly ``k`` synapses from distinct pre neurons.

        The ``k`` pres of each post neuron are a uniform random subset (rejection of
        repeats for sparse ``k``, random keys in bounded chunks for dense ``k``).

        Parameters
        ----------
        n_pre, n_post : int
            Population sizes, in ``[0, 2**31-1]``.
        k : int
            In-degree, in ``[0, n_pre]`` (``[0, n_pre - 1]`` when ``allow_self`` is
            False and ``n_post > 0``).
        weight : float, array_like or callable, default 1.0
            A scalar, an array of length nnz = ``n_post * k`` (synapse order), or a
            callable ``f(rng, size)``.
        rng : int or numpy.random.Generator
            Seed or generator (required).
        allow_self : bool, default True
            If False, post neuron ``j`` never receives a synapse from pre neuron ``j``.
        dtype : {None, numpy.float32, numpy.float64}, optional
            Weight dtype (default float32).
        delay : int, array_like of int or callable, optional
            Delay(s) in steps, see :class:`SynapseMatrix`; or a callable
            ``f(rng, size)`` returning one whole number of steps per synapse (synapse
            order), called after the weights are drawn.

        Returns
        -------
        SynapseMatrix
        """
        n_pre = check_int("n_pre", n_pre, 0, _INT32_MAX)
        n_post = check_int("n_post", n_post, 0, _INT32_MAX)
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
            raise TypeError(f"k must be an integer, got {k!r} ({type(k).__name__})")
        k = int(k)
        # with allow_self=False, post j < n_pre has only n_pre - 1 candidates
        k_max = n_pre - 1 if (not allow_self and min(n_pre, n_post) > 0) else n_pre
        if k < 0 or k > k_max:
            extra = " - 1 (allow_self=False)" if k_max != n_pre else ""
            raise ValueError(f"k must be in [0, n_pre{extra}] = [0, {max(k_max, 0)}], "
                             f"got {k}")
        _check_nnz(n_post * k, f"nnz = n_post * k = {n_post} * {k}")
        dtype = _check_dtype(dtype)
        rng = _make_rng(rng)
        # candidates per post column (self excluded => one fewer for j < n_pre)
        pres = cls._indegree_sample(rng, n_pre, n_post, k, bool(allow_self))
        colptr = np.arange(n_post + 1, dtype=np.int64) * k
        # transpose the column structure into CSR by pre with the counting sort
        indptr, _, indices = _k._build_post_index(colptr, pres, n_pre)
        del pres, _
        weights = _resolve_weight(weight, indices.shape[0], rng, dtype)
        return cls._new(indptr, indices, weights, (n_pre, n_post), delay, rng, draws=True)

    @staticmethod
    def _indegree_sample(rng, n_pre, n_post, k, allow_self):
        """(n_post * k,) int32: per post column, k distinct sorted pre ids."""
        if k == 0 or n_post == 0:
            return np.zeros(0, dtype=np.int32)
        if allow_self:
            m = np.full(n_post, n_pre, dtype=np.int64)
        else:
            m = np.where(np.arange(n_post) < n_pre, n_pre - 1, n_pre).astype(np.int64)
        if 4 * k <= n_pre:
            # sparse: draw k, redraw the repeats until all are distinct
            r = rng.integers(0, m[:, None], size=(n_post, k))
            while True:
                r.sort(axis=1)
                dup = np.zeros(r.shape, dtype=bool)
                dup[:, 1:] = r[:, 1:] == r[:, :-1]
                rows, cols = np.nonzero(dup)
                if rows.size == 0:
                    break
                r[rows, cols] = rng.integers(0, m[rows])
        else:
            # dense: the k smallest of n_pre random keys, columns in bounded chunks
            r = np.empty((n_post, k), dtype=np.int64)
            step = max(1, (1 << 22) // max(n_pre, 1))
            for a in range(0, n_post, step):
                b = min(a + step, n_post)
                keys = rng.random((b - a, n_pre))
                if not allow_self:
                    d = np.arange(a, min(b, n_pre))
                    keys[d - a, d] = np.inf
                part = np.argpartition(keys, k - 1, axis=1)[:, :k] if k < n_pre else \
                    np.broadcast_to(np.arange(n_pre), (b - a, n_pre))
                r[a:b] = np.sort(part, axis=1)
            return r.astype(np.int32).ravel()
        if not allow_self:
            # map the reduced range back: skip the post's own index
            j = np.arange(n_post)[:, None]
            r += (r >= j) & (j < n_pre)
        return r.astype(np.int32).ravel()

    @classmethod
    def one_to_one(cls, n, *, weight=1.0, rng=None, dtype=None, delay=None):
        """Pre neuron ``i`` connects to post neuron ``i``, for ``i < n``.

        Parameters
        ----------
        n : int
            Size of both populations, in ``[0, 2**31-2]``.
        weight : float, array_like or callable, default 1.0
            A scalar, an array of length ``n``, or a callable ``f(rng, size)``.
        rng : int or numpy.random.Generator, optional
            Needed only when ``weight`` is a callable.
        dtype : {None, numpy.float32, numpy.float64}, optional
            Weight dtype (default float32).
        delay : int, array_like of int or callable, optional
            Delay(s) in steps, see :class:`SynapseMatrix`; or a callable
            ``f(rng, size)`` returning one whole number of steps per synapse (synapse
            order), called after the weights are drawn.

        Returns
        -------
        SynapseMatrix
        """
        n = check_int("n", n, 0, _INT32_MAX)
        _check_nnz(n, "n (= nnz)")
        dtype = _check_dtype(dtype)
        rng = _make_rng(rng, required=False)
        indptr = np.arange(n + 1, dtype=np.int64)
        indices = np.arange(n, dtype=np.int32)
        weights = _resolve_weight(weight, n, rng, dtype)
        return cls._new(indptr, indices, weights, (n, n), delay, rng, draws=True)

    @classmethod
    def all_to_all(cls, n_pre, n_post, *, weight=1.0, allow_self=True, rng=None,
                   dtype=None, delay=None):
        """Every pre neuron connects to every post neuron.

        Parameters
        ----------
        n_pre, n_post : int
            Population sizes, in ``[0, 2**31-1]``.
        weight : float, array_like or callable, default 1.0
            A scalar, an array of length nnz (synapse order: row by row), or a
            callable ``f(rng, size)``.
        allow_self : bool, default True
            If False, omit the synapses ``i -> i``.
        rng : int or numpy.random.Generator, optional
            Needed only when ``weight`` is a callable.
        dtype : {None, numpy.float32, numpy.float64}, optional
            Weight dtype (default float32).
        delay : int, array_like of int or callable, optional
            Delay(s) in steps, see :class:`SynapseMatrix`; or a callable
            ``f(rng, size)`` returning one whole number of steps per synapse (synapse
            order), called after the weights are drawn.

        Returns
        -------
        SynapseMatrix
        """
        n_pre = check_int("n_pre", n_pre, 0, _INT32_MAX)
        n_post = check_int("n_post", n_post, 0, _INT32_MAX)
        n_self = 0 if allow_self else min(n_pre, n_post)
        _check_nnz(n_pre * n_post - n_self,
                   f"nnz = n_pre * n_post{'' if allow_self else ' - n_self'}")
        dtype = _check_dtype(dtype)
        rng = _make_rng(rng, required=False)
        row = np.arange(n_post, dtype=np.int32)
        indices = np.tile(row, n_pre)
        counts = np.full(n_pre, n_post, dtype=np.int64)
        if not allow_self and n_self:
            keep = np.ones(indices.shape[0], dtype=bool)
            keep[np.arange(n_self, dtype=np.int64) * (n_post + 1)] = False
            indices = indices[keep]
            counts[:n_self] -= 1
        indptr = np.zeros(n_pre + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        weights = _resolve_weight(weight, indices.shape[0], rng, dtype)
        return cls._new(indptr, indices, weights, (n_pre, n_post), delay, rng, draws=True)


def _delay_get(self):
    """The delay of every synapse in steps (-1 when they have per-synapse delays,
    ``delays``). Assignable (a whole number of steps >= 0) where there are no
    per-synapse delays; takes effect at the next run."""
    return self._delay


def _delay_set(self, value):
    if self._delays is not None:
        raise AttributeError("SynapseMatrix.delay cannot be set on a matrix with "
                             "per-synapse delays (delays); build a new SynapseMatrix")
    if np.ndim(value) != 0:
        raise TypeError(f"SynapseMatrix.delay takes one whole number of steps >= 0, "
                        f"shared by every synapse, got {value!r:.60}; per-synapse "
                        f"delays are given when the matrix is built (delay=array, or "
                        f"delay=f(rng, size) in fixed_probability and the other "
                        f"builders)")
    self._delay = _resolve_delay(value, self._nnz)[1]


SynapseMatrix.delay = property(_delay_get, _delay_set)


def _read_only_property(name):
    def get(self):
        return getattr(self, "_" + name)

    def set_(self, value):
        raise AttributeError(
            f"SynapseMatrix.{name} is read-only: the compiled engine points into the "
            f"structure arrays and relies on their CSR invariants; build a new "
            f"SynapseMatrix (e.g. SynapseMatrix(indptr, indices, weights, shape)) to "
            f"change the structure")
    return property(get, set_, doc=f"``{name}`` (read-only once constructed).")


for _name in SynapseMatrix._STRUCTURE:
    setattr(SynapseMatrix, _name, _read_only_property(_name))
del _name
