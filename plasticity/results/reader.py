"""Reading run files: :func:`load` -> :class:`Run` (lazy, with semantic checks of what
it reads), :func:`read_config` and :func:`verify` (every dataset, chunk by chunk)."""
import functools
import json
import math
import os
from collections.abc import Mapping

import numpy as np

from .._csr import check_csr
from .common import (CHECKPOINT_FORMAT, FORMAT, FORMAT_VERSION, RunFileError, RunLocked,
                     Spikes, Undefined, _h5py, _lock_owner, is_being_written, lock_path,
                     open_hdf5, partial_path)

__all__ = ["Run", "load", "read_config", "verify"]

#: what h5py raises on a damaged file: flipped bytes in its metadata surface as
#: OSError, KeyError ("unable to synchronously open object"), RuntimeError ("link
#: iteration failed") from deep inside the library, or UnicodeError (a link name that
#: is not UTF-8 any more, which h5py cannot encode back to open it)
_H5_ERRORS = (OSError, KeyError, RuntimeError, UnicodeError)


def _open_checked(path, allow_partial):
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a run file's path (str or os.PathLike), got "
                        f"{path!r:.60} ({type(path).__name__})") from None

    def hint(path):
        if os.path.exists(partial_path(path)):
            return (f"; {partial_path(path)} exists: the run did not finish (resume it "
                    f"with --resume, or inspect the partial file)")
        return ""

    def not_live(path):
        if path.endswith(".partial") and is_being_written(path):
            raise RunLocked(f"{path} is still being written by a running run"
                            f"{_lock_owner(lock_path(path))}; read it once the run has "
                            f"finished (it is then renamed to {path[:-len('.partial')]})")
    f = open_hdf5(path, "run file", hint=hint, before_open=not_live)
    try:
        fmt = f.attrs.get("format")
        if isinstance(fmt, bytes):
            fmt = fmt.decode()
        if fmt != FORMAT:
            what = "a checkpoint, not a run file" if fmt == CHECKPOINT_FORMAT else \
                "not a plasticity run file (no format='plasticity-run' attribute)"
            raise RunFileError(f"{path} is {what}")
        try:
            version = int(f.attrs["format_version"])
        except (KeyError, TypeError, ValueError):
            raise RunFileError(f"{path}: missing or invalid format_version attribute") from None
        if version > FORMAT_VERSION:
            raise RunFileError(f"{path} has run-file format version {version}, newer than "
                               f"this plasticity reads ({FORMAT_VERSION}); upgrade plasticity")
        if version < 1:
            raise RunFileError(f"{path}: invalid format_version {version}")
        status = str(f.attrs.get("status", "unknown"))
        if not allow_partial and (path.endswith(".partial") or status != "complete"):
            raise RunFileError(f"{path} is not a complete run (status {status!r}); pass "
                               f"allow_partial=True to read what it holds")
        for g in ("config", "populations", "spikes", "synapses"):
            if g not in f:
                raise RunFileError(f"{path}: group /{g} is missing; the file is damaged or "
                                   f"was not written by plasticity")
    except RunFileError:
        f.close()
        raise
    except (OSError, KeyError, RuntimeError, ValueError) as e:
        # h5py reports damaged object headers (e.g. a file killed mid-write) this way
        f.close()
        raise RunFileError(f"{path} is damaged and cannot be read ({e})") from None
    except BaseException:
        f.close()
        raise
    return f


def load(path, *, allow_partial=False):
    """Open a run file lazily; returns a :class:`Run`.

    Raises :class:`RunFileError` for a missing file, a file that is not a run file,
    a damaged or truncated file, a newer format version, or (unless
    ``allow_partial``) a run that is not complete.
    """
    return _run(path, allow_partial)


def _run(path, allow_partial):
    f = _open_checked(path, allow_partial)
    try:
        return Run(f, os.fspath(path))
    except BaseException:
        f.close()
        raise


def read_config(path):
    """``(experiment, config dict, seed)`` stored in a run file (complete or partial)."""
    with _run(path, True) as run:
        return run.experiment, run.config, run.seed


# ------------------------------------------------------------ semantic checks on read
# Checksums catch flipped bytes; these catch contents that are well-formed HDF5 but
# not a valid run (issue 16). Each raises RunFileError naming the dataset and what is
# wrong; Run's accessors call them on what they read, verify() on everything.

def _population_n(f, path, pop):
    """``n`` of population ``pop`` (RunFileError if missing or not a count)."""
    if f"populations/{pop}" not in f:
        raise RunFileError(f"{path}: /spikes/{pop} has no population /populations/{pop} "
                           f"(its n is needed to check the node ids)")
    try:
        n = f["populations"][pop].attrs["n"]
        if isinstance(n, (bool, np.bool_)) or not float(n).is_integer() or int(n) < 0:
            raise ValueError
        return int(n)
    except (KeyError, TypeError, ValueError):
        raise RunFileError(f"{path}: /populations/{pop} has no valid attribute n (a count "
                           f"of neurons >= 0)") from None


def _check_spikes(path, pop, n, times, ids):
    where = f"{path}: /spikes/{pop}"
    if times.shape != ids.shape or times.ndim != 1:
        raise RunFileError(f"{where} timestamps and node_ids differ in length "
                           f"({times.shape} vs {ids.shape})")
    if ids.dtype.kind not in "iu" or times.dtype.kind != "f":
        raise RunFileError(f"{where}: node_ids must be integers and timestamps floats, got "
                           f"{ids.dtype} and {times.dtype}")
    if ids.size and n == 0:
        raise RunFileError(f"{where}/node_ids holds {ids.size} spikes but population "
                           f"{pop!r} has n=0 neurons")
    if ids.size:
        bad = np.flatnonzero((ids < 0) | (ids >= n))
        if bad.size:
            k = int(bad[0])
            raise RunFileError(f"{where}/node_ids[{k}]={ids[k]} is not a neuron of "
                               f"population {pop!r}: node ids must be in [0, n) = [0, {n}) "
                               f"({bad.size} spikes out of range)")
        fin = np.isfinite(times)
        if not fin.all():
            k = int(np.flatnonzero(~fin)[0])
            raise RunFileError(f"{where}/timestamps[{k}]={times[k]} is not finite")


def _csr_shape(f, path, proj):
    try:
        shape = tuple(int(s) for s in f["synapses"][proj].attrs["shape"])
        if len(shape) != 2 or min(shape) < 0:
            raise ValueError
        return shape
    except (KeyError, TypeError, ValueError):
        raise RunFileError(f"{path}: /synapses/{proj} has no valid attribute shape "
                           f"([n_pre, n_post], integers >= 0)") from None


def _check_csr(path, proj, indptr, indices, shape, data=None, what="data"):
    try:
        check_csr(indptr, indices, shape)
    except (TypeError, ValueError) as e:
        raise RunFileError(f"{path}: /synapses/{proj} is not a valid CSR matrix of shape "
                           f"{shape}: {e}") from None
    if data is not None and data.shape != indices.shape:
        raise RunFileError(f"{path}: /synapses/{proj}/{what} has {data.shape} weights, "
                           f"indices has {indices.shape[0]}: not a valid CSR matrix")


def _headline_names(f, path):
    txt = f.attrs.get("headline_metrics", "[]")
    if isinstance(txt, bytes):
        txt = txt.decode()
    try:
        names = json.loads(txt)
        if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
            raise ValueError
    except (TypeError, ValueError):
        raise RunFileError(f"{path}: root attribute headline_metrics is not a JSON list of "
                           f"metric names") from None
    return names


def _check_headline(f, path):
    """The headline metric names, each of which must exist under /metrics."""
    names = _headline_names(f, path)
    missing = [x for x in names if f"metrics/{x}" not in f]
    if missing:
        raise RunFileError(f"{path}: headline metric {missing[0]!r} is listed in "
                           f"headline_metrics but /metrics/{missing[0]} is missing"
                           + (f" (also {', '.join(map(repr, missing[1:]))})"
                              if len(missing) > 1 else ""))
    return names


def _read_all(ds):
    """Read every byte of ``ds`` (chunk by chunk: bounded memory); checks checksums."""
    if ds.shape is None:
        return
    if ds.chunks is None or ds.size == 0:
        ds[()]
        return
    for sl in ds.iter_chunks():
        ds[sl]


def verify(path):
    """Read every dataset of a run file and check it; returns a list of problems.

    Each problem is one line naming the file, the dataset and what is wrong: a failed
    checksum (flipped bytes), a dataset that cannot be read, or contents that are not
    a valid run (CSR structure against its shape, snapshot widths, spike node ids
    against the population's n, headline metrics that are missing, config JSON).
    An empty list means the file is whole. A missing file or a directory raises
    :class:`RunFileError`; a partial file still being written raises
    :class:`RunLocked`. Partial (unfinished) runs are verified as they are.
    """
    h5py = _h5py()
    path = os.fspath(path)
    if not os.path.exists(path) or os.path.isdir(path) or \
            (path.endswith(".partial") and is_being_written(path)):
        _open_checked(path, True)  # raises the usual error
    try:
        f = _open_checked(path, True)
    except RunLocked:
        raise
    except RunFileError as e:
        return [str(e)]
    problems = []
    damaged = set()  # datasets already reported: no second line when a check reads them

    def check(fn, *a):
        try:
            fn(*a)
        except RunFileError as e:
            msg = str(e)
            if not any(msg.startswith(f"{path}: cannot read /{d};") for d in damaged):
                problems.append(msg)
        except (OSError, KeyError, RuntimeError, ValueError, TypeError) as e:
            problems.append(f"{path}: cannot be read ({e})")

    with f:
        names = []
        try:
            f.visititems(lambda name, obj: names.append(name)
                         if isinstance(obj, h5py.Dataset) else None)
        except (OSError, KeyError, RuntimeError) as e:
            problems.append(f"{path}: the object tree is damaged ({e})")
        for name in names:
            def read(name=name):
                try:
                    _read_all(f[name])
                except OSError as e:
                    damaged.add(name)
                    raise RunFileError(f"{path}: /{name} is damaged (checksum or read "
                                       f"error: {e})") from None
            check(read)
        try:
            run = Run(f, path)
        except RunFileError as e:
            return problems + [str(e)]
        check(lambda: run.config)
        check(lambda: _check_headline(f, path))

        def members(group):     # a damaged group's listing: one problem, no members
            out = []
            check(lambda: out.extend(f[group]) if group in f else None)
            return out
        for pop in members("spikes"):
            check(run.spikes, pop)
        for proj in members("synapses"):
            check(run.weights, proj, None)

            def snaps(proj=proj):
                g = f["synapses"][proj]
                if "snapshots" not in g:
                    return
                w, t = g["snapshots"].get("weights"), g["snapshots"].get("times")
                if w is None or t is None:
                    raise RunFileError(f"{path}: /synapses/{proj}/snapshots lacks "
                                       f"weights or times")
                nnz = g["indices"].shape[0]
                if w.ndim != 2 or w.shape[1] != nnz or w.shape[0] != t.shape[0]:
                    raise RunFileError(f"{path}: /synapses/{proj}/snapshots/weights has "
                                       f"shape {w.shape}, expected ({t.shape[0]}, {nnz}) "
                                       f"(one row of nnz weights per time)")
            check(snaps)

            def rule_state(proj=proj):
                g = f["synapses"][proj]
                if "rule_state" not in g:
                    return
                rs = g["rule_state"]
                if "times" not in rs:
                    raise RunFileError(f"{path}: /synapses/{proj}/rule_state/times is "
                                       f"missing")
                nt = rs["times"].shape[0]
                n_pre, n_post = (int(x) for x in g.attrs["shape"])
                sizes = {"syn": g["indices"].shape[0], "pre": n_pre, "post": n_post,
                         "shared": 1}
                for v in rs:
                    if v == "times":
                        continue
                    where = _a(rs[v].attrs.get("where", "syn"))
                    want = (nt, sizes.get(where, -1))
                    if rs[v].shape != want:
                        raise RunFileError(f"{path}: /synapses/{proj}/rule_state/{v} has "
                                           f"shape {rs[v].shape}, expected {want} (one "
                                           f"row per time, one column per {where})")
            check(rule_state)
        if "state" in f:
            for m in members("state"):
                def state(m=m):
                    g = f["state"][m]
                    if "times" not in g:
                        raise RunFileError(f"{path}: /state/{m}/times is missing")
                    nt = g["times"].shape[0]
                    for v in g:
                        if v in ("times", "node_ids"):
                            continue
                        if g[v].ndim < 1 or g[v].shape[0] != nt:
                            raise RunFileError(f"{path}: /state/{m}/{v} has shape "
                                               f"{g[v].shape}, expected {nt} rows (one per "
                                               f"time)")
                check(state)
    return problems


class _Features(Mapping):
    def __init__(self, run):
        self._run = run

    def _names(self):
        try:
            return _leaves(self._run._group("features"), path=self._run.path)
        except _H5_ERRORS as e:
            raise RunFileError(f"{self._run.path}: cannot list /features; the file is "
                               f"damaged ({type(e).__name__}: {e})") from None

    def __getitem__(self, name):
        return self._run._read(f"features/{name}", what=f"feature {name!r}",
                               known=self._names())

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())


def _check_fits(ds, path, name):
    """A dataset whose shape needs more memory than is available: refused before the
    read (a damaged dataspace claims terabytes; a MemoryError would follow)."""
    from .. import _memory
    nbytes = float(ds.size) * ds.dtype.itemsize
    if nbytes <= _memory._ALWAYS_FITS:
        return
    avail = _memory.available_bytes()
    if avail is not None and nbytes > avail:
        raise RunFileError(f"{path}: /{name} has shape {ds.shape} "
                           f"({_memory.fmt_bytes(nbytes)}"
                           f"), more than the {_memory.fmt_bytes(avail)} of memory "
                           f"available; the file is damaged, or read it in parts with "
                           f"h5py")


def _members(g, path):
    """(name, object) of HDF5 group ``g``; a member h5py cannot open (it gives None
    for a damaged link) is a RunFileError naming it."""
    for k, v in g.items():
        if v is None:
            raise RunFileError(f"{path}: {g.name.rstrip('/')}/{k} cannot be opened; the "
                               f"file is damaged")
        yield k, v


def _leaves(g, prefix="", path=""):
    h5py = _h5py()
    out = []
    for k, v in _members(g, path):
        if isinstance(v, h5py.Group):
            out += _leaves(v, f"{prefix}{k}/", path)
        else:
            out.append(prefix + k)
    return out


def _a(v):
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    return v


class Run:
    """A run file opened for reading (lazy: datasets are read when asked for).

    Attributes
    ----------
    path, experiment, seed, status, attrs (all root attributes), config (dict),
    populations (name -> dict(model, n, parameters)), projections (name -> dict(shape,
    nnz, pre, post, rule, rule_parameters, n_snapshots)), monitors (name -> variables),
    metrics (dict name -> value; '/' in names for nested metrics), features (mapping
    name -> array), headline (names of the headline metrics).
    """

    def __init__(self, f, path):
        self._f = f
        self.path = path
        try:
            self.attrs = {k: _a(v) for k, v in f.attrs.items()}
        except _H5_ERRORS as e:
            raise RunFileError(f"{path}: cannot read the root attributes; the file is "
                               f"damaged ({type(e).__name__}: {e})") from None
        self.experiment = self.attrs.get("experiment", "")
        self.seed = self.attrs.get("seed")
        self.status = self.attrs.get("status", "unknown")
        self._metrics = None
        self.features = _Features(self)

    # ---------------------------------------------------------------- plumbing
    def close(self):
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"<Run {self.experiment!r} seed={self.seed} status={self.status!r} "
                f"path={self.path!r}>")

    def _group(self, name):
        if name not in self._f:
            raise RunFileError(f"{self.path}: group /{name} is missing")
        try:
            return self._f[name]
        except _H5_ERRORS as e:
            raise RunFileError(f"{self.path}: cannot open /{name}; the file is damaged "
                               f"({type(e).__name__}: {e})") from None

    def _read(self, path, *, what, known=None, sl=()):
        if path not in self._f:
            extra = f"; available: {', '.join(sorted(known)) or 'none'}" if known is not None \
                else ""
            raise RunFileError(f"{self.path}: no {what} (/{path} is missing){extra}")
        try:
            ds = self._f[path]
            if sl == () and getattr(ds, "dtype", None) is not None:
                _check_fits(ds, self.path, path)
            x = ds[sl] if sl != () else ds[()]
        except _H5_ERRORS as e:
            raise RunFileError(f"{self.path}: cannot read /{path}; the file is damaged "
                               f"({e})") from None
        try:
            if isinstance(x, bytes):
                return x.decode()
            if isinstance(x, np.ndarray) and x.dtype.kind == "O":
                return np.array([v.decode() if isinstance(v, bytes) else v
                                 for v in x.ravel()],
                                dtype=object).reshape(x.shape)
        except UnicodeDecodeError as e:
            raise RunFileError(f"{self.path}: /{path} holds text that is not UTF-8; the "
                               f"file is damaged ({e})") from None
        return x

    # ---------------------------------------------------------------- content
    @property
    def config(self):
        txt = self._read("config/json", what="config")
        try:
            return json.loads(txt)
        except ValueError:
            raise RunFileError(f"{self.path}: /config/json is not valid JSON") from None

    @property
    def headline(self):
        """Names of the headline metrics (RunFileError if one is missing from /metrics)."""
        return _check_headline(self._f, self.path)

    @property
    def populations(self):
        out = {}
        for name, g in _members(self._group("populations"), self.path):
            try:
                params = json.loads(_a(g.attrs.get("parameters", "{}")))
            except ValueError:
                params = {}
            out[name] = dict(model=_a(g.attrs.get("model", "")),
                             n=_population_n(self._f, self.path, name),
                             parameters=params)
        return out

    @property
    def projections(self):
        out = {}
        for name, g in _members(self._group("synapses"), self.path):
            a = g.attrs
            snaps = g["snapshots"]["times"].shape[0] if "snapshots" in g else 0
            try:
                rp = json.loads(_a(a.get("rule_parameters", "{}")))
            except ValueError:
                rp = {}
            out[name] = dict(shape=_csr_shape(self._f, self.path, name),
                             nnz=int(g["indices"].shape[0]) if "indices" in g else 0,
                             pre=_a(a.get("pre", "")), post=_a(a.get("post", "")),
                             rule=_a(a.get("rule", "")), rule_parameters=rp,
                             pre_shape=tuple(_a(a["pre_shape"])) if "pre_shape" in a else None,
                             units=_a(a.get("units", "")), n_snapshots=snaps,
                             rule_variables=[v for v in g.get("rule_state", {})
                                             if v != "times"])
        return out

    @property
    def monitors(self):
        g = self._f["state"] if "state" in self._f else {}
        return {m: [v for v in g[m] if v not in ("times", "node_ids")] for m in g}

    def _pick(self, group, name, what, missing):
        """``name`` among the members of ``group``; None picks the only one."""
        known = list(self._group(group))
        if name is None:
            if len(known) == 1:
                return known[0]
            raise RunFileError(f"{self.path}: name a {what} (available: "
                               f"{', '.join(known) or 'none'})")
        if name not in known:
            raise RunFileError(f"{self.path}: {missing} {name!r}; available: "
                               f"{', '.join(known) or 'none'}")
        return name

    def _pop_check(self, pop, kind="population"):
        return self._pick("spikes", pop, "population", f"no spikes of {kind}")

    def spikes(self, pop=None):
        """``Spikes(times, node_ids)`` of population ``pop`` (times in ms)."""
        pop = self._pop_check(pop)
        t = self._read(f"spikes/{pop}/timestamps", what=f"spike times of {pop!r}")
        i = self._read(f"spikes/{pop}/node_ids", what=f"spike ids of {pop!r}")
        _check_spikes(self.path, pop, _population_n(self._f, self.path, pop), t, i)
        return Spikes(t, i)

    def time_range(self, pop=None):
        """``(t_start, t_stop)`` in ms of population ``pop``'s recording."""
        pop = self._pop_check(pop)
        a = self._f["spikes"][pop].attrs
        out = []
        for k in ("t_start", "t_stop"):
            try:
                v = float(a.get(k, 0.0))
            except (TypeError, ValueError):
                v = math.nan
            if not math.isfinite(v):    # rates() would divide by it
                raise RunFileError(f"{self.path}: /spikes/{pop} has no valid attribute "
                                   f"{k} (a finite time in ms), got {a.get(k)}")
            out.append(v)
        return tuple(out)

    def _proj_check(self, proj):
        return self._pick("synapses", proj, "projection", "no projection")

    def weights(self, proj=None, snapshot=-1):
        """Weights of ``proj`` as a ``scipy.sparse.csr_array`` (rows = presynaptic).

        ``snapshot`` indexes ``snapshots/weights`` (-1: the last; with no snapshots,
        -1 gives the final weights); ``None`` gives the final weights (``data``).
        """
        import scipy.sparse
        proj = self._proj_check(proj)
        base = f"synapses/{proj}"
        shape = _csr_shape(self._f, self.path, proj)
        indptr = self._read(f"{base}/indptr", what=f"indptr of {proj!r}")
        indices = self._read(f"{base}/indices", what=f"indices of {proj!r}")
        n_snap = self._f[base]["snapshots/times"].shape[0] if f"{base}/snapshots/times" \
            in self._f else 0
        if snapshot is None or (snapshot == -1 and n_snap == 0):
            data = self._read(f"{base}/data", what=f"weights of {proj!r}")
        else:
            k = int(snapshot)
            if not -n_snap <= k < n_snap:
                raise IndexError(f"{self.path}: projection {proj!r} has {n_snap} weight "
                                 f"snapshots; snapshot {snapshot} is out of range")
            data = self._read(f"{base}/snapshots/weights", what=f"snapshots of {proj!r}",
                              sl=(k % n_snap,))
        _check_csr(self.path, proj, indptr, indices, shape, data,
                   "data" if snapshot is None or n_snap == 0 else "snapshots/weights")
        return scipy.sparse.csr_array((data, indices, indptr), shape=shape)

    def weight_times(self, proj=None):
        """Times (ms) of the weight snapshots of ``proj``."""
        proj = self._proj_check(proj)
        p = f"synapses/{proj}/snapshots/times"
        return self._read(p, what=f"snapshot times of {proj!r}") if p in self._f \
            else np.zeros(0)

    def iter_snapshots(self, proj=None):
        """Yield ``(time_ms, weights)`` of each snapshot, one at a time (bounded memory)."""
        proj = self._proj_check(proj)
        times = self.weight_times(proj)
        p = f"synapses/{proj}/snapshots/weights"
        for k, t in enumerate(times):
            yield float(t), self._read(p, what=f"snapshots of {proj!r}", sl=(k,))

    def rule_state(self, proj=None):
        """``(times, {variable: (n_times, m) array}, {variable: where})`` of the rule
        variables recorded on projection ``proj`` (``/synapses/<proj>/rule_state``):
        m values per sample, one per synapse in CSR order (``where='syn'``), per
        presynaptic or postsynaptic neuron (``'pre'``, ``'post'``) or one
        (``'shared'``)."""
        proj = self._proj_check(proj)
        base = f"synapses/{proj}/rule_state"
        if base not in self._f:
            return np.zeros(0), {}, {}
        names = [v for v in self._f[base] if v != "times"]
        t = self._read(f"{base}/times", what=f"rule state times of {proj!r}")
        values = {v: self._read(f"{base}/{v}", what=f"rule state {proj}/{v}")
                  for v in names}
        where = {v: _a(self._f[f"{base}/{v}"].attrs.get("where", "syn")) for v in names}
        return t, values, where

    def state(self, monitor):
        """``(times, {variable: (n_times, n_neurons) array})`` of ``monitor``."""
        mons = self.monitors
        if monitor not in mons:
            raise RunFileError(f"{self.path}: no state monitor {monitor!r}; available: "
                               f"{', '.join(mons) or 'none'}")
        t = self._read(f"state/{monitor}/times", what=f"times of monitor {monitor!r}")
        return t, {v: self._read(f"state/{monitor}/{v}", what=f"{monitor}/{v}")
                   for v in mons[monitor]}

    @property
    def metrics(self):
        if self._metrics is None:
            _check_headline(self._f, self.path)
            g = self._f["metrics"] if "metrics" in self._f else None
            out = {}
            for name in (_leaves(g, path=self.path) if g is not None else []):
                v = self._read(f"metrics/{name}", what=f"metric {name!r}")
                if isinstance(v, np.ndarray) and v.ndim == 0:
                    v = v[()]
                if isinstance(v, np.generic):
                    v = v.item()
                if isinstance(v, float) and v != v:     # NaN: explained, or not
                    why = self._f[f"metrics/{name}"].attrs.get("undefined")
                    if why is not None:
                        v = Undefined(_a(why))
                out[name] = v
            self._metrics = out
        return self._metrics

    def metric_attrs(self, name):
        """Attributes of metric ``name`` (units, x, labels, ...)."""
        p = f"metrics/{name}"
        if p not in self._f:
            raise RunFileError(f"{self.path}: no metric {name!r}; available: "
                               f"{', '.join(self.metrics) or 'none'}")
        return {k: _a(v) for k, v in self._f[p].attrs.items()}

    # ---------------------------------------------------------------- analysis
    def spike_table(self, pop=None, *, as_pandas=None):
        """Spikes as a table (``population``, ``node_id``, ``time_ms``): a pandas
        DataFrame, or a NumPy record array without pandas
        (:func:`plasticity.analysis.spike_table`)."""
        from .. import analysis
        return analysis.spike_table(self, pop, as_pandas=as_pandas)

    def rates(self, pop=None, bin_ms=None, *, per_neuron=False):
        """``Rates(times, rates, edges)``: Hz per neuron of ``pop`` in bins of
        ``bin_ms`` (default: one bin, the mean rate) (:func:`plasticity.analysis.rates`)."""
        from .. import analysis
        return analysis.rates(self, pop, bin_ms, per_neuron=per_neuron)

    def weight_history(self, proj=None):
        """``WeightHistory(times, weights, pre, post)``: every weight of ``proj`` at every
        snapshot (:func:`plasticity.analysis.weight_history`)."""
        from .. import analysis
        return analysis.weight_history(self, proj)

    def scalar_metrics(self):
        """The single-valued metrics as a dict (``metrics`` has the arrays too)."""
        from .. import analysis
        return analysis.scalar_metrics(self)



def _damaged_as_run_file_error(fn):
    """A public accessor of :class:`Run` whose HDF5 errors on a damaged file become a
    :class:`RunFileError` naming the file (not a bare KeyError or RuntimeError from
    h5py)."""
    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except RunFileError:
            raise
        except _H5_ERRORS as e:
            raise RunFileError(f"{self.path}: the file is damaged and cannot be read "
                               f"({type(e).__name__}: {e})") from None
    return wrapper


for _name, _member in list(vars(Run).items()):
    if _name.startswith("_") or _name == "close":
        continue
    if isinstance(_member, property):
        setattr(Run, _name, property(_damaged_as_run_file_error(_member.fget),
                                     doc=_member.__doc__))
    elif callable(_member):
        setattr(Run, _name, _damaged_as_run_file_error(_member))
del _name, _member
