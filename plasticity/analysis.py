"""Analysis in one line: tables and binned rates from run files and sweeps.

The same functions are methods of :class:`plasticity.results.Run`
(``run.spike_table()``, ``run.rates(pop, bin_ms)``, ``run.weight_history(proj)``,
``run.scalar_metrics()``); :func:`sweep_table` (also ``plasticity.load_sweep``) gives
a whole sweep as one table. Tables are pandas DataFrames when pandas is installed and
NumPy record arrays otherwise (``as_pandas=False`` asks for the record array).
"""
import math
import numbers
import os
from collections import namedtuple

import numpy as np

__all__ = ["Rates", "WeightHistory", "binned_rate", "spike_table", "rates",
           "weight_history", "scalar_metrics", "sweep_table", "have_pandas"]

#: ``times``: bin centres (ms); ``rates``: Hz per neuron (population mean, or
#: (n_bins, n) per neuron); ``edges``: the bin edges (ms)
Rates = namedtuple("Rates", ["times", "rates", "edges"])

#: ``times`` (n_snapshots,) ms; ``weights`` (n_snapshots, nnz); ``pre`` and ``post``
#: (nnz,): the presynaptic and postsynaptic neuron of each synapse
WeightHistory = namedtuple("WeightHistory", ["times", "weights", "pre", "post"])


def have_pandas():
    """Whether pandas can be imported."""
    try:
        import pandas  # noqa: F401
        return True
    except ImportError:
        return False


def _table(columns, as_pandas):
    """A DataFrame (pandas) or a NumPy record array of ``{name: 1-D array}``."""
    if as_pandas is None:
        as_pandas = have_pandas()
    if as_pandas:
        import pandas as pd
        return pd.DataFrame(columns)
    arrays = []
    for v in columns.values():
        a = np.asarray(v)
        if a.dtype.kind == "O":
            a = a.astype(str)
        arrays.append(a)
    n = len(arrays[0]) if arrays else 0
    if n == 0:
        dtype = [(k, a.dtype if a.dtype.kind != "O" else "U1")
                 for k, a in zip(columns, arrays)]
        return np.rec.array(np.zeros(0, dtype=dtype))
    return np.rec.fromarrays(arrays, names=list(columns))


def binned_rate(times_ms, n, t_start, t_stop, bin_ms=None, *, node_ids=None):
    """Spikes per neuron per second in time bins.

    Parameters
    ----------
    times_ms : array
        Spike times (ms).
    n : int
        Neurons in the population.
    t_start, t_stop : float
        The recorded interval (ms).
    bin_ms : float, optional
        Bin width (ms), > 0; default one bin over the whole interval. The last bin
        ends at ``t_stop`` and may be shorter.
    node_ids : array, optional
        With it, rates per neuron: shape (n_bins, n).

    Returns
    -------
    Rates
    """
    if bin_ms is not None and (isinstance(bin_ms, (bool, np.bool_)) or
                               not isinstance(bin_ms, numbers.Real)):
        raise TypeError(f"bin_ms must be a number > 0 ms, got {bin_ms!r} "
                        f"({type(bin_ms).__name__})")
    if bin_ms is not None and not (np.isfinite(bin_ms) and bin_ms > 0):
        raise ValueError(f"bin_ms must be a number > 0 ms, got {bin_ms!r}")
    if not (np.isfinite(t_start) and np.isfinite(t_stop) and t_stop > t_start):
        raise ValueError(f"the interval must be finite with t_stop > t_start, got "
                         f"[{t_start}, {t_stop}] ms")
    width = float(bin_ms) if bin_ms else float(t_stop - t_start)
    # the bins' arrays fit in memory (a bin of 1e-9 ms over 400 s: 3 TB), checked
    # before they are allocated: a ValueError naming bin_ms, not a MemoryError
    from . import _memory
    n_bins = math.ceil((t_stop - t_start) / width) + 1
    per_bin = 8 * (4 + (int(n) if node_ids is not None else 0))
    _memory.check({"bin_ms": (bin_ms, n_bins * per_bin)})
    edges = np.arange(t_start, t_stop, width)
    edges = np.append(edges, t_stop) if edges[-1] < t_stop else edges
    if edges.size > 2 and t_stop - edges[-2] < 1e-9 * width:  # round-off sliver
        edges = np.delete(edges, -2)
    seconds = np.diff(edges) / 1000.0
    t = np.asarray(times_ms, dtype=float)
    if node_ids is None:
        counts, _ = np.histogram(t, bins=edges)
        hz = counts / (max(int(n), 1) * seconds)
    else:
        ids = np.asarray(node_ids, dtype=np.int64)
        k = np.searchsorted(edges, t, side="right") - 1
        k[t == edges[-1]] = edges.size - 2
        ok = (k >= 0) & (k < edges.size - 1)
        counts = np.zeros((edges.size - 1, int(n)))
        np.add.at(counts, (k[ok], ids[ok]), 1.0)
        hz = counts / seconds[:, None]
    return Rates(0.5 * (edges[:-1] + edges[1:]), hz, edges)


def _populations(run, population):
    pops = run.populations
    if population is None:
        return list(pops)
    if population not in pops:
        from .results import RunFileError
        raise RunFileError(f"{run.path}: no population {population!r}; available: "
                           f"{', '.join(pops) or 'none'}")
    return [population]


def spike_table(run, population=None, *, as_pandas=None):
    """All spikes as a table: columns ``population``, ``node_id``, ``time_ms``.

    Parameters
    ----------
    run : Run
    population : str, optional
        One population (default: all, in the file's order).
    as_pandas : bool, optional
        A pandas DataFrame (default when pandas is installed) or a NumPy record array.

    Returns
    -------
    pandas.DataFrame or numpy.recarray
    """
    pops, ids, times = [], [], []
    for p in _populations(run, population):
        if "spikes" not in run._f or p not in run._f["spikes"]:
            continue
        s = run.spikes(p)
        pops.append(np.full(s.times.shape, p, dtype=object))
        ids.append(np.asarray(s.node_ids, dtype=np.int64))
        times.append(np.asarray(s.times, dtype=np.float64))
    cat = (lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dt))  # noqa: E731
    return _table({"population": cat(pops, object), "node_id": cat(ids, np.int64),
                   "time_ms": cat(times, np.float64)}, as_pandas)


def rates(run, population=None, bin_ms=None, *, per_neuron=False):
    """Firing rate of a population in time bins (Hz per neuron).

    Parameters
    ----------
    run : Run
    population : str, optional
        The population (may be omitted when the run has only one).
    bin_ms : float, optional
        Bin width (ms); default one bin over the recorded interval (the mean rate).
    per_neuron : bool
        Rates of each neuron, shape (n_bins, n), instead of the population mean.

    Returns
    -------
    Rates
        ``(times, rates, edges)``: bin centres (ms), rates (Hz), bin edges (ms).

    Raises
    ------
    RunFileError
        An unknown population, or one whose spikes were not recorded.
    """
    from .results import RunFileError
    pop = run._pop_check(population)
    t0, t1 = run.time_range(pop)
    if not t1 > t0:
        raise RunFileError(f"{run.path}: the spikes of population {pop!r} were not "
                           f"recorded (t_start = {t0:g} ms, t_stop = {t1:g} ms), so its "
                           f"rate is unknown")
    s = run.spikes(pop)
    n = run.populations[pop]["n"]
    return binned_rate(s.times, n, t0, t1, bin_ms,
                       node_ids=s.node_ids if per_neuron else None)


def weight_history(run, projection=None):
    """Every weight of a projection at every snapshot.

    Parameters
    ----------
    run : Run
    projection : str, optional
        The projection (may be omitted when the run has only one).

    Returns
    -------
    WeightHistory
        ``(times, weights, pre, post)``: snapshot times (ms), weights (n_snapshots,
        nnz), and the pre- and postsynaptic neuron of each synapse. A projection
        without snapshots gives zero rows (its final weights are
        ``run.weights(projection, snapshot=None)``).
    """
    proj = run._proj_check(projection)
    base = f"synapses/{proj}"
    indptr = run._read(f"{base}/indptr", what=f"indptr of {proj!r}")
    post = run._read(f"{base}/indices", what=f"indices of {proj!r}").astype(np.int64)
    pre = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr))
    times = run.weight_times(proj)
    if times.size:
        w = run._read(f"{base}/snapshots/weights", what=f"snapshots of {proj!r}")
    else:
        w = np.zeros((0, post.size))
    return WeightHistory(np.asarray(times, dtype=float), w, pre, post)


def scalar_metrics(run):
    """The metrics that are single values (numbers, bools, strings), as a dict.

    ``run.metrics`` has all of them, arrays included.
    """
    out = {}
    for k, v in run.metrics.items():
        if isinstance(v, np.ndarray):
            if v.size != 1:
                continue
            v = v.ravel()[0].item() if v.dtype.kind != "O" else v.ravel()[0]
        if isinstance(v, bytes):
            v = v.decode()
        if isinstance(v, (bool, int, float, str)):
            out[k] = v
    return out


def sweep_table(path, *, all_metrics=False, as_pandas=None):
    """A sweep as one table: a row per run, columns ``run``, ``seed``, ``status``, the
    grid parameters and the metrics.

    Parameters
    ----------
    path : str
        The sweep directory or its ``sweep.h5``.
    all_metrics : bool
        Also every single-valued metric of each complete run (read from the run
        files), not only the headline metrics of ``sweep.h5``.
    as_pandas : bool, optional
        A pandas DataFrame (default when pandas is installed) or a NumPy record array.

    Returns
    -------
    pandas.DataFrame or numpy.recarray
    """
    from . import results
    from .results import sweeps as sweep
    p = os.fspath(path)
    if os.path.isdir(p):
        p = os.path.join(p, "sweep.h5")
    t = sweep.load_table(p)
    names = [c["name"] for c in t.columns if c["name"] not in ("skipped",)]
    cols = {n: np.asarray(t.data[n]) for n in names}
    if all_metrics:
        base = os.path.dirname(os.path.abspath(p))
        found = []
        for i, (st, fn) in enumerate(zip(t.data["status"], t.data["file"])):
            row = {}
            if st == "complete" and fn:
                with results.load(os.path.join(base, fn)) as r:
                    row = scalar_metrics(r)
            found.append(row)
        keys = []
        for row in found:
            keys += [k for k in row if k not in keys]
        for k in keys:
            col = k if k not in cols and k.replace("/", ".") not in cols else None
            if col is None:
                continue
            vals = [row.get(k) for row in found]
            if all(isinstance(v, (int, float, bool)) or v is None for v in vals):
                cols[k] = np.array([np.nan if v is None else float(v) for v in vals])
            else:
                cols[k] = np.array(["" if v is None else str(v) for v in vals], dtype=object)
    return _table(cols, as_pandas)
