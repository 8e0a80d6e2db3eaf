"""Writing a run file: :class:`Recorder` streams a run to ``NAME.h5.partial`` (under
the run's lock) and renames it to ``NAME.h5`` once complete; checkpoints come from
:class:`~plasticity.results.checkpoint.CheckpointMixin`."""
import json
import math
import os
import platform
import sys
import time
import traceback
import uuid
from collections.abc import Mapping

import numpy as np

from .._csr import check_csr
from .checkpoint import CheckpointMixin, _CannotResume
from .common import (_BUFFER, _COMPRESSION, FORMAT, FORMAT_VERSION, LIBVER, _RunLock,
                     _attr_value, _check_name, _checked, _fsync_path, _git_commit, _h5py,
                     _json_default, _now, _version, Undefined, checkpoint_path,
                     partial_path)

__all__ = ["Recorder"]


class _Appendable:
    """A dataset growing along axis 0, written in blocks (memory stays bounded)."""

    def __init__(self, ds, buffered=True):
        self.ds = ds
        self.n = ds.shape[0]
        self.buffered = buffered
        self.pending = []
        self.pending_size = 0

    def append(self, block):
        if block.shape[0] == 0:
            return
        self.pending.append(block)
        self.pending_size += block.size
        if not self.buffered or self.pending_size >= _BUFFER:
            self.flush()

    def flush(self):
        if not self.pending:
            return
        block = np.concatenate(self.pending) if len(self.pending) > 1 else self.pending[0]
        self.pending, self.pending_size = [], 0
        k = block.shape[0]
        if self.ds.ndim == 2 and self.ds.shape[1] != block.shape[1]:
            self.ds.resize((self.ds.shape[0], block.shape[1]))
        self.ds.resize(self.n + k, axis=0)
        self.ds[self.n:self.n + k] = block
        self.n += k

    def __len__(self):
        return self.n + sum(b.shape[0] for b in self.pending)



def _check_t_stop(pop, t_stop, what="t_stop"):
    """``t_stop`` (ms) of population ``pop`` as float: a finite number (the end of the
    simulated interval; the rates divide by it). One check for append_spikes,
    set_t_stop and add_population's ``t_start`` (``what``)."""
    if isinstance(t_stop, (bool, np.bool_)) or \
            not isinstance(t_stop, (int, float, np.number)) or not np.isfinite(t_stop):
        raise ValueError(f"{what} of {pop!r} must be a finite time in ms, got "
                         f"{t_stop!r}")
    return float(t_stop)


def _real_array(what, value):
    """``value`` as a float64 array; real numbers only (a TypeError naming ``what``,
    not NumPy's 'could not convert string to float')."""
    a = np.asarray(value)
    if a.size and a.dtype.kind not in "iuf":
        raise TypeError(f"{what} must be real numbers, got {a.dtype} values "
                        f"({value!r:.60})")
    return a.astype(np.float64)


class Recorder(CheckpointMixin):
    """Writes one run file, streaming.

    Parameters
    ----------
    path : str or path-like
        The final file ``NAME.h5``. While the run is going on, data goes to
        ``NAME.h5.partial``; checkpoints go to ``NAME.h5.ckpt``.
    experiment : str
        The experiment's name (root attribute ``experiment``).
    config : dict or dataclass
        The resolved config, stored as ``/config/json`` and flat attributes.
    seed : int
        The run's seed (root attribute ``seed``); experiments derive every random
        generator from it (``np.random.SeedSequence(recorder.seed)``).
    resume : bool
        Continue from ``NAME.h5.ckpt`` if there is one (else start afresh). The
        checkpoint must belong to the same experiment, config and seed.
    checkpoint_every : float
        Minimum wall-clock seconds between two checkpoints written by
        :meth:`checkpoint` (0: every call; ``None``: only forced ones).
    quiet : bool
        No progress bars (:meth:`progress`) and no notes on stderr.
    overwrite : bool
        Replace an existing complete ``NAME.h5`` (otherwise that is an error).
    attrs : dict, optional
        Extra root attributes (strings or numbers).

    Use it as a context manager: leaving the block normally completes the file
    (:meth:`close`); an exception marks it failed (:meth:`fail`) and keeps the
    ``.partial`` file and the checkpoint for inspection and ``resume``.
    """

    def __init__(self, path, *, experiment, config, seed=0, resume=False,
                 checkpoint_every=60.0, quiet=False, overwrite=False, attrs=None):
        path = os.fspath(path)
        if not path.endswith(".h5"):
            raise ValueError(f"run file name must end with '.h5', got {path!r}")
        self.path = path
        self.partial_path = partial_path(path)
        self.checkpoint_path = checkpoint_path(path)
        self.experiment = str(experiment)
        if not isinstance(config, Mapping):
            from ..config import to_dict
            config = to_dict(config)
        self.config = json.loads(json.dumps(config, default=_json_default))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        if seed < 0:        # the experiments' SeedSequence(seed) refuses it, later
            raise ValueError(f"seed must be an integer >= 0, got {seed}")
        self.seed = int(seed)
        self.quiet = bool(quiet)
        if checkpoint_every is not None and (
                isinstance(checkpoint_every, (bool, np.bool_))
                or not isinstance(checkpoint_every, (int, float, np.number))
                or not checkpoint_every >= 0):
            raise ValueError(f"checkpoint_every must be >= 0 s or None, got {checkpoint_every!r}")
        self.checkpoint_every = checkpoint_every
        self._extra_attrs = dict(attrs or {})
        self._file = None
        self._app = {}          # dataset path -> _Appendable
        self._spk = {}          # population -> bookkeeping dict
        self._resume_state = None
        self._resume_step = None
        self._last_ckpt = time.monotonic()
        self._t0 = time.monotonic()
        self._closed = False
        self.resumed_from = None  # step of the checkpoint we resumed from
        self.notes = []
        self._lock = _RunLock(path)  # before anything is read, replaced or removed
        try:
            if os.path.exists(path) and not overwrite:
                raise FileExistsError(f"{path} already exists (a complete run); choose "
                                      f"another name or output directory, or overwrite it")
            self._open(resume)
        except BaseException:
            self._lock.close()
            raise

    # ------------------------------------------------------------------ lifecycle
    def _note(self, msg):
        self.notes.append(msg)
        if not self.quiet:
            print(f"note: {msg}", file=sys.stderr)

    def _open(self, resume):
        h5py = _h5py()
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        if resume and os.path.exists(self.checkpoint_path):
            try:
                self._resume_from_checkpoint()
                return
            except _CannotResume as e:
                self._note(f"cannot resume ({e}); starting the run afresh")
        elif resume:
            self._note(f"no checkpoint {self.checkpoint_path}; starting the run afresh")
        stale = [p for p in (self.checkpoint_path, self.partial_path) if os.path.exists(p)]
        if stale and not resume:
            self._note(f"replacing the unfinished run {self.partial_path} (--resume would "
                       f"have continued it)")
        for p in stale:
            os.remove(p)
        f = h5py.File(self.partial_path, "w", track_order=True, libver=LIBVER)
        self._file = f
        self.run_id = uuid.uuid4().hex
        a = f.attrs
        a["format"] = FORMAT
        a["format_version"] = FORMAT_VERSION
        a["plasticity_version"] = _version()
        a["created"] = _now()
        a["experiment"] = self.experiment
        a["seed"] = self.seed
        a["status"] = "running"
        a["run_id"] = self.run_id
        commit = _git_commit()
        if commit:
            a["git_commit"] = commit
        a["python_version"] = platform.python_version()
        a["numpy_version"] = np.__version__
        a["h5py_version"] = h5py.__version__
        a["hdf5_version"] = h5py.version.hdf5_version
        for k, v in self._extra_attrs.items():
            a[k] = _attr_value(v)
        from ..config import to_flat
        g = f.create_group("config")
        g.create_dataset("json", data=json.dumps(self.config, sort_keys=True, indent=1))
        for k, v in to_flat(self.config).items():
            try:
                g.attrs[k] = _attr_value(v)
            except (TypeError, ValueError):
                g.attrs[k] = json.dumps(v)
        for name in ("populations", "spikes", "synapses", "state", "metrics", "features"):
            f.create_group(name)
        f.flush()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.fail(exc, interrupted=issubclass(exc_type, KeyboardInterrupt))
        return False

    @property
    def file(self):
        """The open ``h5py.File`` of the partial run (for what the API lacks)."""
        self._require_open()
        return self._file

    def _require_open(self):
        if self._file is None:
            raise RuntimeError(f"recorder for {self.path} is closed")

    def _flush_all(self):
        for app in self._app.values():
            app.flush()
        for pop, b in self._spk.items():
            g = self._file["spikes"][pop]
            g.attrs["sorting"] = b["sorting"]
            g.attrs["t_stop"] = b["t_stop"]

    def flush(self):
        """Write buffered appends and flush the HDF5 file."""
        self._require_open()
        self._flush_all()
        self._file.flush()

    def close(self, metrics=None):
        """Mark the run complete, close it and rename ``.partial`` -> ``.h5``.

        ``metrics`` (a dict) is stored as the headline metrics first.
        """
        if self._closed:
            return self.path
        self._require_open()
        if metrics:
            self.headline(metrics)
        self._flush_all()
        a = self._file.attrs
        a["status"] = "complete"
        a["finished"] = _now()
        a["wall_time_s"] = float(time.monotonic() - self._t0)
        self._file.flush()
        self._file.close()
        self._file = None
        _fsync_path(self.partial_path)
        os.replace(self.partial_path, self.path)
        _fsync_path(os.path.dirname(os.path.abspath(self.path)), directory=True)
        if os.path.exists(self.checkpoint_path):
            os.remove(self.checkpoint_path)
        self._closed = True
        self._lock.close()
        return self.path

    def fail(self, exc=None, *, interrupted=False):
        """Mark the run failed (or interrupted) and close it, keeping ``.partial``."""
        if self._closed or self._file is None:
            return
        try:
            self._flush_all()
            a = self._file.attrs
            a["status"] = "interrupted" if interrupted else "failed"
            if exc is not None:
                a["error"] = f"{type(exc).__name__}: {exc}"
                a["error_traceback"] = "".join(
                    traceback.format_exception(type(exc), exc, exc.__traceback__))
            self._file.flush()
        finally:
            try:
                self._file.close()
            finally:
                self._file = None
                self._closed = True
                self._lock.close()

    def _reattach(self):
        """Register what the reopened partial file holds (after a resume)."""
        for pop in self._file["populations"]:
            self._register_pop(pop)
        for proj, g in self._file["synapses"].items():
            self._register_proj(proj)
            for var, ds in (g["rule_state"].items() if "rule_state" in g else ()):
                self._app[f"synapses/{proj}/rule_state/{var}"] = _Appendable(ds, False)
        for mon, g in self._file["state"].items():
            for var, ds in g.items():
                if var != "node_ids":
                    self._app[f"state/{mon}/{var}"] = _Appendable(ds, False)

    # ------------------------------------------------------------------ populations
    def add_population(self, name, model, n, parameters=None, *, t_start=0.0):
        """Declare population ``name`` of ``n`` neurons of ``model``.

        Calling it again with the same ``n`` and ``model`` does nothing (so a resumed
        experiment may repeat its setup); a different size is an error.
        """
        self._require_open()
        _check_name("population", name)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0 or \
                n > 2 ** 63 - 1:    # node ids are int64 (10**30 was h5py's TypeError)
            raise ValueError(f"population {name!r}: n must be an integer in "
                             f"[0, 2**63 - 1], got {n!r}")
        t_start = _check_t_stop(name, t_start, "t_start")
        pops = self._file["populations"]
        if name in pops:
            old = pops[name].attrs
            if int(old["n"]) != int(n) or str(old["model"]) != str(model):
                raise ValueError(f"population {name!r} already exists with model "
                                 f"{old['model']!r}, n={int(old['n'])}; got model "
                                 f"{model!r}, n={n}")
            return
        g = pops.create_group(name)
        g.attrs["model"] = str(model)
        g.attrs["n"] = int(n)
        g.attrs["parameters"] = json.dumps(parameters or {}, sort_keys=True,
                                           default=_json_default)
        s = self._file["spikes"].create_group(name)
        s.attrs["sorting"] = "by_time"
        s.attrs["t_start"] = float(t_start)
        s.attrs["t_stop"] = float(t_start)
        s.attrs["units"] = "ms"
        t = s.create_dataset("timestamps", shape=(0,), maxshape=(None,), dtype="f8",
                             chunks=(1 << 14,), **_COMPRESSION)
        t.attrs["units"] = "ms"
        s.create_dataset("node_ids", shape=(0,), maxshape=(None,), dtype="i8",
                         chunks=(1 << 14,), **_COMPRESSION)
        self._register_pop(name)

    def _register_pop(self, name):
        s = self._file["spikes"][name]
        self._app[f"spikes/{name}/timestamps"] = _Appendable(s["timestamps"])
        self._app[f"spikes/{name}/node_ids"] = _Appendable(s["node_ids"])
        ts = s["timestamps"]
        last = float(ts[-1]) if ts.shape[0] else -math.inf
        self._spk[name] = dict(n=int(self._file["populations"][name].attrs["n"]),
                               sorting=str(s.attrs["sorting"]), last=last,
                               t_stop=float(s.attrs["t_stop"]))

    def append_spikes(self, pop, times_ms, node_ids, *, t_stop=None):
        """Append spikes of population ``pop`` (times in ms, ids in [0, n)).

        ``t_stop`` (ms) says until when the population has been simulated; it is
        stored as the group's ``t_stop`` attribute and used for rates. Without it
        ``t_stop`` is only raised to the last spike time seen, which is not the end of
        the simulated interval: a writer states that end here or with
        :meth:`set_t_stop` once the simulation has run.
        """
        self._require_open()
        if pop not in self._spk:
            raise ValueError(f"unknown population {pop!r}; add it with add_population "
                             f"first (known: {sorted(self._spk)})")
        b = self._spk[pop]
        if t_stop is not None:
            t_stop = _check_t_stop(pop, t_stop)
        t = _real_array(f"spikes of {pop!r}: times_ms", times_ms).ravel()
        i = np.asarray(node_ids).ravel()
        if i.size and i.dtype.kind not in "iuf":
            raise TypeError(f"spikes of {pop!r}: node_ids must be integers, got {i.dtype} "
                            f"values ({node_ids!r:.60})")
        if t.shape != i.shape:
            raise ValueError(f"spikes of {pop!r}: times_ms and node_ids must have the same "
                             f"length, got {t.shape[0]} and {i.shape[0]}")
        if i.size and i.dtype.kind not in "iu":
            if not np.all(np.equal(np.mod(i, 1), 0)):
                raise TypeError(f"spikes of {pop!r}: node_ids must be integers")
        i = i.astype(np.int64)
        if t.size:
            if not np.all(np.isfinite(t)):
                raise ValueError(f"spikes of {pop!r}: times_ms must be finite")
            lo, hi = int(i.min()), int(i.max())
            if lo < 0 or hi >= b["n"]:
                bad = lo if lo < 0 else hi
                raise ValueError(f"spikes of {pop!r}: node id {bad} out of range "
                                 f"[0, {b['n']})")
            if b["sorting"] == "by_time" and (t[0] < b["last"] or np.any(np.diff(t) < 0)):
                b["sorting"] = "none"
            b["last"] = max(b["last"], float(t[-1]) if b["sorting"] == "by_time"
                            else float(t.max()))
            b["t_stop"] = max(b["t_stop"], float(t.max()))
        if t_stop is not None:
            b["t_stop"] = max(b["t_stop"], t_stop)
        self._app[f"spikes/{pop}/timestamps"].append(t)
        self._app[f"spikes/{pop}/node_ids"].append(i)

    def set_t_stop(self, pop, t_stop):
        """Record that population ``pop`` has been simulated until ``t_stop`` (ms).

        The ``t_stop`` attribute of ``/spikes/<pop>`` is the end of the simulated
        interval (not the last spike time), so that ``count / (n * (t_stop -
        t_start))`` is the rate. It never moves backwards.
        """
        self._require_open()
        if pop not in self._spk:
            raise ValueError(f"unknown population {pop!r}; add it with add_population "
                             f"first (known: {sorted(self._spk)})")
        b = self._spk[pop]
        b["t_stop"] = max(b["t_stop"], _check_t_stop(pop, t_stop))

    # ------------------------------------------------------------------ synapses
    def set_synapses(self, proj, indptr, indices, data, shape, pre, post, rule=None,
                     rule_params=None, *, pre_shape=None, units=None):
        """Store projection ``proj`` as CSR by presynaptic neuron (rows = pre).

        ``data`` are the weights (the latest call wins: call it again at the end to
        store the final weights; the structure must not change). ``pre_shape`` (e.g.
        ``(28, 28)`` or ``(2, 28, 28)`` for ON/OFF inputs) lets receptive-field plots
        reshape the weights onto each postsynaptic neuron.
        """
        self._require_open()
        _check_name("projection", proj)
        indptr = np.asarray(indptr)
        indices = np.asarray(indices)
        data = np.asarray(data)
        try:
            shape = tuple(shape)
        except TypeError:
            shape = None
        if shape is None or len(shape) != 2 or not all(
                isinstance(n, (int, np.integer)) and not isinstance(n, (bool, np.bool_))
                and n >= 0 for n in shape):
            raise ValueError(f"projection {proj!r}: shape must be (n_pre, n_post), two "
                             f"integers >= 0, got {shape!r}")
        shape = tuple(int(n) for n in shape)
        try:
            check_csr(indptr, indices, shape, weights=data)
        except (TypeError, ValueError) as e:
            raise type(e)(f"projection {proj!r}: {e}") from None
        nnz = indices.shape[0]
        if data.dtype.kind != "f":
            raise TypeError(f"projection {proj!r}: weights must be float32 or float64, "
                            f"got {data.dtype}")
        if not np.all(np.isfinite(data)):
            raise ValueError(f"projection {proj!r}: weights must be finite")
        syn = self._file["synapses"]
        if proj in syn:
            g = syn[proj]
            same = (g["indptr"].shape == indptr.shape and g["indices"].shape == indices.shape
                    and g["data"].dtype == data.dtype
                    and tuple(g.attrs["shape"]) == shape)
            if same:
                same = (np.array_equal(g["indptr"][...], indptr)
                        and np.array_equal(g["indices"][...], indices))
            if not same:
                raise ValueError(f"projection {proj!r}: set_synapses may update the weights "
                                 f"but not the structure (shape, indptr, indices, dtype)")
            g["data"][...] = data
            return
        g = syn.create_group(proj)
        g.attrs["encoding-type"] = "csr_matrix"
        g.attrs["encoding-version"] = "0.1.0"
        g.attrs["shape"] = np.asarray(shape, dtype=np.int64)
        g.attrs["pre"] = str(pre)
        g.attrs["post"] = str(post)
        g.attrs["rule"] = "" if rule is None else str(rule)
        g.attrs["rule_parameters"] = json.dumps(rule_params or {}, sort_keys=True,
                                                default=_json_default)
        if units is not None:
            g.attrs["units"] = str(units)
        if pre_shape is not None:
            ps = np.asarray(pre_shape, dtype=np.int64)
            if ps.ndim != 1 or ps.size == 0 or np.any(ps < 1):
                raise ValueError(f"projection {proj!r}: pre_shape must be sizes >= 1, got "
                                 f"{tuple(np.atleast_1d(ps).tolist())}")
            if int(np.prod(ps)) != shape[0]:
                raise ValueError(f"projection {proj!r}: pre_shape {tuple(ps)} has "
                                 f"{int(np.prod(ps))} elements, n_pre is {shape[0]}")
            g.attrs["pre_shape"] = ps
        g.create_dataset("indptr", data=indptr.astype(np.int64), **_checked(indptr))
        g.create_dataset("indices", data=indices.astype(np.int32), **_checked(indices))
        d = g.create_dataset("data", data=data, **_checked(data))
        if units is not None:
            d.attrs["units"] = str(units)
        s = g.create_group("snapshots")
        width = max(nnz, 1)
        chunk = (1, min(width, 1 << 20)) if nnz else (16, 1)
        w = s.create_dataset("weights", shape=(0, nnz), maxshape=(None, nnz or None),
                             dtype=data.dtype, chunks=chunk, **_COMPRESSION)
        if units is not None:
            w.attrs["units"] = str(units)
        t = s.create_dataset("times", shape=(0,), maxshape=(None,), dtype="f8",
                             chunks=(1024,), **_COMPRESSION)
        t.attrs["units"] = "ms"
        self._register_proj(proj)

    def _register_proj(self, proj):
        s = self._file["synapses"][proj]["snapshots"]
        self._app[f"synapses/{proj}/snapshots/weights"] = _Appendable(s["weights"], False)
        self._app[f"synapses/{proj}/snapshots/times"] = _Appendable(s["times"], False)

    def append_weight_snapshot(self, proj, time_ms, data):
        """Append the weights of ``proj`` (synapse order, length nnz) at ``time_ms``."""
        self._require_open()
        key = f"synapses/{proj}/snapshots/weights"
        if key not in self._app:
            raise ValueError(f"unknown projection {proj!r}; call set_synapses first "
                             f"(known: {sorted(self._file['synapses'])})")
        ds = self._app[key].ds
        data = _real_array(f"weight snapshot of {proj!r}: data", data).astype(
            ds.dtype).ravel()
        if data.shape[0] != ds.shape[1]:
            raise ValueError(f"weight snapshot of {proj!r} must have nnz={ds.shape[1]} "
                             f"values, got {data.shape[0]}")
        t = _check_t_stop(proj, time_ms, "time_ms of the weight snapshot")
        if not math.isfinite(t) or not np.all(np.isfinite(data)):
            raise ValueError(f"weight snapshot of {proj!r} at t={time_ms} is not finite")
        self._app[key].append(data[None, :])
        self._app[f"synapses/{proj}/snapshots/times"].append(np.array([t]))

    # ------------------------------------------------------------------ state
    def append_state(self, monitor, var, times, values, *, units=None, node_ids=None):
        """Append rows of variable ``var`` recorded by ``monitor``.

        ``times`` (ms, shape (k,)) and ``values`` (shape (k, n_neurons)). Several
        variables of one monitor share ``/state/<monitor>/times``: appending the same
        times for each variable is fine (they are stored once).
        """
        self._require_open()
        _check_name("monitor", monitor)
        _check_name("variable", var)
        if var in ("times", "node_ids"):
            raise ValueError(f"state variable name {var!r} is reserved")
        values = _real_array(f"state {monitor}/{var}: values", values)
        if node_ids is not None:
            # checked before anything is written (ids < 0, not integers, or not one
            # per column were stored as they were)
            ids = np.asarray(node_ids)
            width = values.shape[1] if values.ndim == 2 else 1
            if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu") or \
                    ids.shape[0] != width or (ids.size and ids.min() < 0):
                raise ValueError(f"state {monitor}/{var}: node_ids must be {width} "
                                 f"integers >= 0 (one per column of values), got "
                                 f"{node_ids!r:.80}")
        root = self._file["state"]
        g = root[monitor] if monitor in root else root.create_group(monitor)
        if node_ids is not None and "node_ids" not in g:
            g.create_dataset("node_ids", data=ids.astype(np.int64), **_checked(ids))
        self._append_rows(g, f"state/{monitor}", f"state {monitor}", f"monitor {monitor!r}",
                          var, times, values, units, ("times", "node_ids"), "n_neurons")

    def append_rule_state(self, proj, var, times, values, *, where="syn", units=None):
        """Append samples of variable ``var`` of the rule of projection ``proj``
        (``/synapses/<proj>/rule_state/<var>``, sharing ``rule_state/times``).

        ``times`` (ms, shape (k,)) and ``values`` (shape (k, m)): m = nnz values in
        synapse (CSR) order for ``where='syn'``, n_pre for ``'pre'``, n_post for
        ``'post'``, 1 for ``'shared'`` (the dataset's ``where`` attribute).
        """
        self._require_open()
        syn = self._file["synapses"]
        if proj not in syn:
            raise ValueError(f"unknown projection {proj!r}; call set_synapses first "
                             f"(known: {sorted(syn)})")
        _check_name("variable", var)
        if var == "times":
            raise ValueError(f"rule state variable name {var!r} is reserved")
        g = syn[proj]
        sizes = {"syn": g["indices"].shape[0], "pre": int(g.attrs["shape"][0]),
                 "post": int(g.attrs["shape"][1]), "shared": 1}
        if where not in sizes:
            raise ValueError(f"where must be one of {list(sizes)}, got {where!r}")
        rs = g.get("rule_state")
        if rs is not None and var in rs and rs[var].attrs.get("where") != where:
            raise ValueError(f"rule state {proj}/{var} is stored per "
                             f"{rs[var].attrs.get('where')!r}, got where={where!r}")
        values = _real_array(f"rule state {proj}/{var}: values", values)
        if values.ndim == 2 and values.shape[1] != sizes[where]:
            raise ValueError(f"rule state {proj}/{var}: {where!r} values must have "
                             f"{sizes[where]} columns, got {values.shape[1]}")
        rs = g["rule_state"] if "rule_state" in g else g.create_group("rule_state")
        ds = self._append_rows(rs, f"synapses/{proj}/rule_state", f"rule state {proj}",
                               f"projection {proj!r}", var, times, values, units,
                               ("times",), "m")
        if "where" not in ds.attrs:
            ds.attrs["where"] = where

    def _append_rows(self, g, key, label, owner, var, times, values, units, reserved,
                     width):
        """Append (times, values) rows of ``var`` under group ``g`` (path ``key``),
        whose variables share one ``times`` dataset; returns the variable's dataset."""
        _check_name("variable", var)
        if var in reserved:
            raise ValueError(f"state variable name {var!r} is reserved")
        times = _real_array(f"{label}/{var}: times", times).ravel()
        if not np.all(np.isfinite(times)):
            raise ValueError(f"{label}/{var}: times must be finite (ms), got "
                             f"{times[~np.isfinite(times)][0]}")
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[0] != times.shape[0]:
            raise ValueError(f"{label}/{var}: values must have shape "
                             f"(len(times)={times.shape[0]}, {width}), got {values.shape}")
        tkey, vkey = f"{key}/times", f"{key}/{var}"
        if tkey not in self._app:
            ds = g.create_dataset("times", shape=(0,), maxshape=(None,), dtype="f8",
                                  chunks=(4096,), **_COMPRESSION)
            ds.attrs["units"] = "ms"
            self._app[tkey] = _Appendable(ds, False)
        if vkey not in self._app:
            n = values.shape[1]
            ds = g.create_dataset(var, shape=(0, n), maxshape=(None, n), dtype="f8",
                                  chunks=(max(1, min(1024, (1 << 16) // max(n, 1))), max(n, 1))
                                  if n else (16, 1), **_COMPRESSION)
            if units is not None:
                ds.attrs["units"] = str(units)
            self._app[vkey] = _Appendable(ds, False)
        va, ta = self._app[vkey], self._app[tkey]
        if values.shape[1] != va.ds.shape[1]:
            raise ValueError(f"{label}/{var}: expected {va.ds.shape[1]} columns, "
                             f"got {values.shape[1]}")
        start, end = len(va), len(va) + times.shape[0]
        if end > len(ta):
            have = len(ta) - start
            if have > 0 and not np.array_equal(ta.ds[start:len(ta)], times[:have]):
                raise ValueError(f"{label}/{var}: times differ from those already "
                                 f"stored for {owner}")
            ta.append(times[max(have, 0):])
        elif not np.array_equal(ta.ds[start:end], times):
            raise ValueError(f"{label}/{var}: times differ from those already "
                             f"stored for {owner}")
        va.append(values)
        return va.ds

    # ------------------------------------------------------------------ metrics
    def _put(self, group, name, value, attrs):
        self._require_open()
        parts = name.split("/")
        if not name or not all(parts):
            raise ValueError(f"{group} name must be non-empty (use '/' to nest), got {name!r}")
        arr = np.asarray(value)
        if arr.dtype.kind == "O":
            raise TypeError(f"{group} {name!r}: value must be a number, string or numeric "
                            f"array, got {type(value).__name__}")
        if arr.dtype.kind == "U":
            arr = arr.astype(object)
            dtype = _h5py().string_dtype()
        else:
            dtype = arr.dtype
        g = self._file[group]
        if name in g:
            del g[name]
        ds = g.create_dataset(name, data=arr, dtype=dtype, **_checked(arr))
        for k, v in (attrs or {}).items():
            ds.attrs[k] = _attr_value(v)
        return ds

    def metric(self, name, value, **attrs):
        """Store metric ``name`` (a number, string or array; '/' nests).

        Keyword arguments become attributes (e.g. ``units="%"``, ``x=epochs``,
        ``xlabel="epoch"``, ``labels=[...]`` for a confusion matrix). Storing a name
        again replaces it. An :class:`Undefined` value is stored as NaN with its reason
        as the attribute ``undefined``.
        """
        if isinstance(value, Undefined):
            attrs = dict(attrs, undefined=value.reason)
            value = float("nan")
        return self._put("metrics", name, value, attrs)

    def headline(self, metrics):
        """Store the experiment's headline metrics (a dict) and remember their names."""
        if not isinstance(metrics, Mapping):
            raise TypeError(f"metrics must be a dict of name -> value, got {metrics!r:.60}"
                            f" ({type(metrics).__name__})")
        self._require_open()
        g = self._file["metrics"]
        for k, v in metrics.items():
            if k in g and g[k].shape == np.shape(v) and not isinstance(v, Undefined):
                try:
                    if np.array_equal(g[k][()], np.asarray(v)):
                        continue  # already stored (keep its attributes)
                except (TypeError, ValueError):
                    pass
            self.metric(k, v)
        self._file.attrs["headline_metrics"] = json.dumps(sorted(metrics))

    def features(self, name, array, **attrs):
        """Store an array of extracted features (or labels) as ``/features/<name>``."""
        return self._put("features", name, array, attrs)

    # ------------------------------------------------------------------ progress
    def progress(self, total=None, *, initial=0, desc=None, unit="it"):
        """The run's :class:`plasticity.progress.Progress`: a bar on a terminal, a log
        line every ~30 s and at phase changes otherwise, nothing when quiet."""
        from ..progress import Progress
        return Progress(total, initial=initial, desc=desc or self.experiment, unit=unit,
                        quiet=self.quiet)

