"""The HDF5 run file, format version 1: writing (:class:`Recorder`), reading
(:func:`load` -> :class:`Run`) and checkpoints.

The layout is documented in ``docs/run-file.md``. A run is written to
``NAME.h5.partial`` and renamed to ``NAME.h5`` only once it is complete, so a file
named ``.h5`` is always whole. Spikes, weight snapshots and state are appended while
the model runs (memory does not grow with run length). Long runs save their full
state with :meth:`Recorder.checkpoint` to ``NAME.h5.ckpt`` (written to a temporary
file, fsynced and renamed, so it is always whole); a recorder opened with
``resume=True`` continues from it, and the finished file holds the same datasets as
an uninterrupted run.

Writing a run (what ``plasticity run`` does)::

    with Recorder("runs/demo.h5", experiment="demo", config=cfg, seed=0) as rec:
        rec.add_population("exc", model="LIF", n=100, parameters={"tau_m": 20.0})
        rec.append_spikes("exc", times_ms, node_ids)
        rec.metric("rate_hz", 7.5)
    # runs/demo.h5 now exists with status "complete"

Reading::

    run = plasticity.results.load("runs/demo.h5")
    t, ids = run.spikes("exc")
    w = run.weights("input_to_exc")          # scipy.sparse.csr_array
"""
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import time
import traceback
import uuid
from collections import namedtuple
from collections.abc import Mapping

import numpy as np

from ._csr import check_csr

__all__ = ["FORMAT", "FORMAT_VERSION", "RunFileError", "RunLocked", "Recorder", "Run", "load",
           "verify", "lock_path", "is_being_written",
           "Spikes", "read_config", "partial_path", "checkpoint_path"]

FORMAT = "plasticity-run"
FORMAT_VERSION = 1
CHECKPOINT_FORMAT = "plasticity-checkpoint"
CHECKPOINT_VERSION = 1

#: appended datasets are written once this many elements are buffered
_BUFFER = 1 << 16
_COMPRESSION = dict(compression="gzip", compression_opts=4, shuffle=True, fletcher32=True)

Spikes = namedtuple("Spikes", ["times", "node_ids"])


class RunFileError(ValueError):
    """A file that is not a (readable, complete, supported) plasticity run file."""


def _h5py():
    import h5py
    return h5py


def partial_path(path):
    """``NAME.h5`` -> ``NAME.h5.partial`` (where a run is written until complete)."""
    return os.fspath(path) + ".partial"


def checkpoint_path(path):
    """``NAME.h5`` -> ``NAME.h5.ckpt`` (the run's latest checkpoint)."""
    return os.fspath(path) + ".ckpt"


def lock_path(path):
    """``NAME.h5`` (or ``NAME.h5.partial``) -> ``NAME.h5.lock``: held (flock, exclusive)
    by the run writing ``NAME.h5.partial`` and its checkpoint, for as long as it runs."""
    path = os.fspath(path)
    if path.endswith(".partial"):
        path = path[:-len(".partial")]
    return path + ".lock"


class RunLocked(RunFileError):
    """Another process is writing this run (it holds the run's lock)."""


def _lock_owner(lp):
    try:
        with open(lp) as fh:
            pid = fh.read().strip()
        return f" (pid {pid})" if pid.isdigit() else ""
    except OSError:
        return ""


class _RunLock:
    """An exclusive, non-blocking flock on ``NAME.h5.lock``; released by close() or by
    the operating system when the process dies (kill -9 leaves no stale lock)."""

    def __init__(self, path):
        import fcntl
        self.path = lock_path(path)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunLocked(
                    f"{os.fspath(path)} is being written by another run{_lock_owner(self.path)} "
                    f"that holds {self.path}; wait for it to finish or choose another "
                    f"--out/--name") from None
            except OSError:  # a file system without flock: no lock, as before
                os.close(fd)
                self.fd = None
                return
            try:  # the file we locked is still the one at the path (not unlinked)
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except OSError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd

    def close(self):
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            os.unlink(self.path)
        except OSError:
            pass
        os.close(fd)


def is_being_written(path):
    """True if a live process holds the lock of run ``path`` (``.h5`` or ``.partial``)."""
    import fcntl
    lp = lock_path(path)
    try:
        fd = os.open(lp, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _version():
    try:
        from importlib.metadata import version
        return version("plasticity")
    except Exception:
        return "0.1.0+unknown"


def _git_commit():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists(os.path.join(here, ".git")):
        return None
    try:
        out = subprocess.run(["git", "-C", here, "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except Exception:
        return None


def _fsync_path(path, directory=False):
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _check_name(kind, name):
    if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
        raise ValueError(f"{kind} name must be a non-empty string without '/', got {name!r}")
    return name


def _attr_value(v):
    """A value as an HDF5 attribute (JSON text for dicts/None/mixed lists)."""
    if v is None or isinstance(v, dict):
        return json.dumps(v, sort_keys=True)
    if isinstance(v, (list, tuple)):
        arr = np.asarray(v)
        if arr.dtype.kind in "biuf":
            return arr
        if arr.dtype.kind == "U":
            return [str(x) for x in v]
        return json.dumps(list(v))
    return v


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


# ============================================================================ writing

def _checked(arr):
    """Dataset options for an array written at once: a Fletcher-32 checksum (and
    compression when large) wherever HDF5 allows one (chunked, non-empty, not a
    scalar, not variable-length strings)."""
    arr = np.asarray(arr)
    if arr.ndim == 0 or arr.size == 0 or arr.dtype == object:
        return {}
    if arr.size > 4096:
        return dict(chunks=True, **_COMPRESSION)
    return dict(chunks=arr.shape, fletcher32=True)


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


class Recorder:
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
            from .config import to_dict
            config = to_dict(config)
        self.config = json.loads(json.dumps(config, default=_json_default))
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {seed!r}")
        self.seed = int(seed)
        self.quiet = bool(quiet)
        if checkpoint_every is not None and not checkpoint_every >= 0:
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
        f = h5py.File(self.partial_path, "w", track_order=True)
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
        from .config import to_flat
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

    # ------------------------------------------------------------------ populations
    def add_population(self, name, model, n, parameters=None, *, t_start=0.0):
        """Declare population ``name`` of ``n`` neurons of ``model``.

        Calling it again with the same ``n`` and ``model`` does nothing (so a resumed
        experiment may repeat its setup); a different size is an error.
        """
        self._require_open()
        _check_name("population", name)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"population {name!r}: n must be an integer >= 0, got {n!r}")
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
        t = np.asarray(times_ms, dtype=np.float64).ravel()
        i = np.asarray(node_ids).ravel()
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
            b["t_stop"] = max(b["t_stop"], float(t_stop))
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
        if isinstance(t_stop, bool) or not isinstance(t_stop, (int, float, np.number)) \
                or not np.isfinite(t_stop):
            raise ValueError(f"t_stop of {pop!r} must be a finite time in ms, got "
                             f"{t_stop!r}")
        b = self._spk[pop]
        b["t_stop"] = max(b["t_stop"], float(t_stop))

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
        shape = tuple(int(s) for s in shape)
        if len(shape) != 2 or min(shape) < 0:
            raise ValueError(f"projection {proj!r}: shape must be (n_pre, n_post), got {shape}")
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
        data = np.asarray(data, dtype=ds.dtype).ravel()
        if data.shape[0] != ds.shape[1]:
            raise ValueError(f"weight snapshot of {proj!r} must have nnz={ds.shape[1]} "
                             f"values, got {data.shape[0]}")
        t = float(time_ms)
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
        times = np.asarray(times, dtype=np.float64).ravel()
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2 or values.shape[0] != times.shape[0]:
            raise ValueError(f"state {monitor}/{var}: values must have shape "
                             f"(len(times)={times.shape[0]}, n_neurons), got {values.shape}")
        root = self._file["state"]
        g = root[monitor] if monitor in root else root.create_group(monitor)
        tkey, vkey = f"state/{monitor}/times", f"state/{monitor}/{var}"
        if tkey not in self._app:
            ds = g.create_dataset("times", shape=(0,), maxshape=(None,), dtype="f8",
                                  chunks=(4096,), **_COMPRESSION)
            ds.attrs["units"] = "ms"
            self._app[tkey] = _Appendable(ds, False)
        if node_ids is not None and "node_ids" not in g:
            g.create_dataset("node_ids", data=np.asarray(node_ids, dtype=np.int64),
                             **_checked(node_ids))
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
            raise ValueError(f"state {monitor}/{var}: expected {va.ds.shape[1]} neurons, "
                             f"got {values.shape[1]}")
        start, end = len(va), len(va) + times.shape[0]
        if end > len(ta):
            have = len(ta) - start
            if have > 0 and not np.array_equal(ta.ds[start:len(ta)], times[:have]):
                raise ValueError(f"state {monitor}/{var}: times differ from those already "
                                 f"stored for monitor {monitor!r}")
            ta.append(times[max(have, 0):])
        elif not np.array_equal(ta.ds[start:end], times):
            raise ValueError(f"state {monitor}/{var}: times differ from those already "
                             f"stored for monitor {monitor!r}")
        va.append(values)

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
        again replaces it.
        """
        return self._put("metrics", name, value, attrs)

    def headline(self, metrics):
        """Store the experiment's headline metrics (a dict) and remember their names."""
        g = self._file["metrics"]
        for k, v in metrics.items():
            if k in g and g[k].shape == np.shape(v):
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
        from .progress import Progress
        return Progress(total, initial=initial, desc=desc or self.experiment, unit=unit,
                        quiet=self.quiet)

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_due(self):
        """Whether :meth:`checkpoint` would write now (the interval has elapsed)."""
        if self.checkpoint_every is None:
            return False
        return time.monotonic() - self._last_ckpt >= self.checkpoint_every

    def checkpoint(self, step, state, *, force=False):
        """Save the experiment's full state, if due (or ``force``); return whether saved.

        Call it at safe points: ``state`` (a dict, or a function returning one, called
        only when a checkpoint is written) must hold everything needed to continue
        from position ``step`` (an int: time step, batch, epoch) such that the rest of
        the run reproduces an uninterrupted one exactly: weights, traces, neuron
        state, RNG states (``gen.bit_generator.state``), position in the dataset. All
        data appended to the recorder so far must be the output of the steps before
        ``step``. Values may be NumPy arrays, numbers, strings, bools, None, and
        dicts/lists of these; tuples come back as lists.
        """
        self._require_open()
        if not force and not self.checkpoint_due():
            return False
        if callable(state):
            state = state()
        if not isinstance(state, Mapping):
            raise TypeError(f"checkpoint state must be a dict, got {type(state).__name__}")
        self._flush_all()
        self._file.flush()
        try:
            os.fsync(self._file.id.get_vfd_handle())
        except Exception:
            pass
        manifest = _manifest(self._file)
        h5py = _h5py()
        tmp = self.checkpoint_path + ".tmp"
        with h5py.File(tmp, "w") as c:
            c.attrs["format"] = CHECKPOINT_FORMAT
            c.attrs["format_version"] = CHECKPOINT_VERSION
            c.attrs["experiment"] = self.experiment
            c.attrs["seed"] = self.seed
            c.attrs["run_id"] = self.run_id
            c.attrs["step"] = int(step)
            c.attrs["created"] = _now()
            c.create_dataset("config_json", data=json.dumps(self.config, sort_keys=True))
            c.create_dataset("manifest", data=json.dumps(manifest))
            _write_state(c.create_group("state"), state, "state")
        _fsync_path(tmp)
        os.replace(tmp, self.checkpoint_path)
        _fsync_path(os.path.dirname(os.path.abspath(self.checkpoint_path)), directory=True)
        self._last_ckpt = time.monotonic()
        return True

    def resume_state(self):
        """The state dict of the checkpoint this run resumed from, or None."""
        return self._resume_state

    @property
    def resume_step(self):
        """The ``step`` of the checkpoint this run resumed from, or None."""
        return self._resume_step

    def _resume_from_checkpoint(self):
        h5py = _h5py()
        try:
            with h5py.File(self.checkpoint_path, "r") as c:
                if c.attrs.get("format") != CHECKPOINT_FORMAT:
                    raise _CannotResume(f"{self.checkpoint_path} is not a checkpoint")
                if int(c.attrs["format_version"]) > CHECKPOINT_VERSION:
                    raise _CannotResume("checkpoint written by a newer plasticity")
                if str(c.attrs["experiment"]) != self.experiment:
                    raise _CannotResume(f"checkpoint is of experiment "
                                        f"{c.attrs['experiment']!r}")
                if int(c.attrs["seed"]) != self.seed:
                    raise _CannotResume(f"checkpoint has seed {int(c.attrs['seed'])}, "
                                        f"this run {self.seed}")
                cfg = json.loads(c["config_json"][()])
                if cfg != self.config:
                    raise _CannotResume("checkpoint was made with a different config")
                run_id = str(c.attrs["run_id"])
                step = int(c.attrs["step"])
                manifest = json.loads(c["manifest"][()])
                state = _read_state(c["state"])
        except _CannotResume:
            raise
        except Exception as e:
            raise _CannotResume(f"checkpoint unreadable: {e}") from None
        if not os.path.exists(self.partial_path):
            raise _CannotResume(f"{self.partial_path} is missing")
        tmp = self.partial_path + ".resume"
        try:
            with h5py.File(self.partial_path, "r") as old:
                if str(old.attrs.get("run_id")) != run_id:
                    raise _CannotResume(f"{self.partial_path} belongs to another run")
                with h5py.File(tmp, "w", track_order=True) as new:
                    _restore(old, new, manifest)
        except _CannotResume:
            raise
        except Exception as e:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise _CannotResume(f"partial file damaged: {type(e).__name__}: {e}") from None
        _fsync_path(tmp)
        os.replace(tmp, self.partial_path)
        self._file = h5py.File(self.partial_path, "r+")
        self.run_id = run_id
        a = self._file.attrs
        a["status"] = "running"
        a["resumed"] = int(a.get("resumed", 0)) + 1
        for pop in self._file["populations"]:
            self._register_pop(pop)
        for proj in self._file["synapses"]:
            self._register_proj(proj)
        for mon, g in self._file["state"].items():
            for var, ds in g.items():
                if var != "node_ids":
                    self._app[f"state/{mon}/{var}"] = _Appendable(ds, False)
        self._resume_state, self._resume_step = state, step
        self.resumed_from = step
        self._note(f"resumed from checkpoint at step {step}")


class _CannotResume(Exception):
    pass


# ------------------------------------------------------------------ checkpoint helpers

def _enc_attr(v):
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, str):
        return {"s": v}
    if isinstance(v, np.ndarray) and v.dtype.kind == "O":
        return {"sl": [x.decode() if isinstance(x, bytes) else str(x) for x in v.tolist()]}
    arr = np.asarray(v)
    if arr.dtype.kind in "US":
        return {"sl": [str(x) for x in arr.tolist()]}
    return {"a": arr.tolist(), "dtype": arr.dtype.str, "shape": list(arr.shape),
            "scalar": not isinstance(v, np.ndarray)}


def _dec_attr(e):
    if "s" in e:
        return e["s"]
    if "sl" in e:
        return e["sl"]
    arr = np.asarray(e["a"], dtype=np.dtype(e["dtype"])).reshape(e["shape"])
    return arr[()] if e["scalar"] else arr


def _manifest(f):
    """Every object of the open file with its attributes and (datasets) length."""
    h5py = _h5py()
    objs = [{"path": "/", "kind": "group", "attrs": {k: _enc_attr(v) for k, v in
                                                     f.attrs.items()}}]

    def visit(name, obj):
        e = {"path": name, "attrs": {k: _enc_attr(v) for k, v in obj.attrs.items()}}
        if isinstance(obj, h5py.Dataset):
            e["kind"] = "dataset"
            e["shape"] = list(obj.shape)
        else:
            e["kind"] = "group"
        objs.append(e)

    f.visititems(visit)
    return objs


def _restore(old, new, manifest):
    """Copy into ``new`` the objects of ``manifest`` from ``old``, datasets cut to the
    manifest's shapes (data written after the checkpoint is dropped)."""
    for e in manifest:
        path = e["path"]
        if e["kind"] == "group":
            g = new if path == "/" else new.require_group(path)
        else:
            if path not in old:
                raise _CannotResume(f"{path} missing from partial file")
            src = old[path]
            shape = tuple(e["shape"])
            appendable = src.ndim > 0 and src.maxshape[0] is None
            if appendable and (len(shape) != src.ndim
                               or any(a > b for a, b in zip(shape, src.shape))):
                raise _CannotResume(f"{path} is shorter than at the checkpoint")
            kw = dict(dtype=src.dtype, maxshape=src.maxshape)
            if src.chunks:
                kw.update(chunks=src.chunks, compression=src.compression,
                          compression_opts=src.compression_opts, shuffle=src.shuffle,
                          fletcher32=src.fletcher32)
            if appendable:  # cut to the checkpointed length
                g = new.create_dataset(path, shape=shape, **kw)
                step = max(1, (1 << 20) // max(1, int(np.prod(shape[1:]))))
                for a in range(0, shape[0], step):
                    b = min(shape[0], a + step)
                    g[a:b] = src[(slice(a, b),) + tuple(slice(0, s) for s in shape[1:])]
            else:
                if src.ndim == 0:
                    g = new.create_dataset(path, data=src[()], dtype=src.dtype)
                else:
                    g = new.create_dataset(path, shape=src.shape, **kw)
                    if src.size:
                        g[...] = src[...]
        for k, v in e["attrs"].items():
            g.attrs[k] = _dec_attr(v)


def _write_state(g, state, where):
    scalars = {}
    for k, v in state.items():
        if not isinstance(k, str) or "/" in k or not k:
            raise TypeError(f"checkpoint {where}: keys must be non-empty strings without "
                            f"'/', got {k!r}")
        if isinstance(v, Mapping):
            _write_state(g.create_group(k), v, f"{where}.{k}")
        elif isinstance(v, (np.ndarray, np.generic)):
            if v.dtype.kind == "O":
                raise TypeError(f"checkpoint {where}.{k}: object arrays are not supported")
            g.create_dataset(k, data=v, **_checked(v))
        else:
            try:
                json.dumps(v, allow_nan=True)
            except TypeError:
                raise TypeError(f"checkpoint {where}.{k}: cannot store "
                                f"{type(v).__name__}; use arrays, numbers, strings, "
                                f"lists and dicts") from None
            scalars[k] = v
    g.attrs["__json__"] = json.dumps(scalars)


def _read_state(g):
    h5py = _h5py()
    out = json.loads(g.attrs.get("__json__", "{}"))
    for k, v in g.items():
        if isinstance(v, h5py.Group):
            out[k] = _read_state(v)
        else:
            x = v[()]
            out[k] = x if isinstance(x, np.ndarray) else np.asarray(x)[()]
    return out


# ============================================================================ reading

def _open_checked(path, allow_partial):
    h5py = _h5py()
    path = os.fspath(path)
    if not os.path.exists(path):
        hint = ""
        if os.path.exists(partial_path(path)):
            hint = (f"; {partial_path(path)} exists: the run did not finish (resume it "
                    f"with --resume, or inspect the partial file)")
        raise RunFileError(f"{path}: no such run file{hint}")
    if os.path.isdir(path):
        raise RunFileError(f"{path} is a directory, not a run file")
    if path.endswith(".partial") and is_being_written(path):
        raise RunLocked(f"{path} is still being written by a running run"
                        f"{_lock_owner(lock_path(path))}; read it once the run has "
                        f"finished (it is then renamed to {path[:-len('.partial')]})")
    try:
        is_h5 = h5py.is_hdf5(path)
    except OSError:
        is_h5 = False
    if not is_h5:
        raise RunFileError(f"{path} is not an HDF5 file, so not a plasticity run file")
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise RunFileError(f"{path} is damaged or truncated and cannot be opened "
                           f"({e})") from None
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
    return Run(_open_checked(path, allow_partial), os.fspath(path))


def read_config(path):
    """``(experiment, config dict, seed)`` stored in a run file (complete or partial)."""
    with Run(_open_checked(path, True), os.fspath(path)) as run:
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
        run = Run(f, path)
        check(lambda: run.config)
        check(lambda: _check_headline(f, path))
        for pop in list(f["spikes"]):
            check(run.spikes, pop)
        for proj in list(f["synapses"]):
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
        if "state" in f:
            for m in list(f["state"]):
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
        return _leaves(self._run._group("features"))

    def __getitem__(self, name):
        return self._run._read(f"features/{name}", what=f"feature {name!r}",
                               known=self._names())

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())


def _leaves(g, prefix=""):
    h5py = _h5py()
    out = []
    for k, v in g.items():
        if isinstance(v, h5py.Group):
            out += _leaves(v, f"{prefix}{k}/")
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
        self.attrs = {k: _a(v) for k, v in f.attrs.items()}
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
        try:
            return self._f[name]
        except KeyError:
            raise RunFileError(f"{self.path}: group /{name} is missing") from None

    def _read(self, path, *, what, known=None, sl=()):
        if path not in self._f:
            extra = f"; available: {', '.join(sorted(known)) or 'none'}" if known is not None \
                else ""
            raise RunFileError(f"{self.path}: no {what} (/{path} is missing){extra}")
        try:
            x = self._f[path][sl] if sl != () else self._f[path][()]
        except OSError as e:
            raise RunFileError(f"{self.path}: cannot read /{path}; the file is damaged "
                               f"({e})") from None
        if isinstance(x, bytes):
            return x.decode()
        if isinstance(x, np.ndarray) and x.dtype.kind == "O":
            return np.array([v.decode() if isinstance(v, bytes) else v for v in x.ravel()],
                            dtype=object).reshape(x.shape)
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
        for name, g in self._group("populations").items():
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
        for name, g in self._group("synapses").items():
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
                             units=_a(a.get("units", "")), n_snapshots=snaps)
        return out

    @property
    def monitors(self):
        g = self._f["state"] if "state" in self._f else {}
        return {m: [v for v in g[m] if v not in ("times", "node_ids")] for m in g}

    def _pop_check(self, pop, kind="population"):
        known = list(self._group("spikes"))
        if pop is None:
            if len(known) == 1:
                return known[0]
            raise RunFileError(f"{self.path}: name a population (available: "
                               f"{', '.join(known) or 'none'})")
        if pop not in known:
            raise RunFileError(f"{self.path}: no spikes of {kind} {pop!r}; available: "
                               f"{', '.join(known) or 'none'}")
        return pop

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
        return float(a.get("t_start", 0.0)), float(a.get("t_stop", 0.0))

    def _proj_check(self, proj):
        known = list(self._group("synapses"))
        if proj is None:
            if len(known) == 1:
                return known[0]
            raise RunFileError(f"{self.path}: name a projection (available: "
                               f"{', '.join(known) or 'none'})")
        if proj not in known:
            raise RunFileError(f"{self.path}: no projection {proj!r}; available: "
                               f"{', '.join(known) or 'none'}")
        return proj

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
            for name in (_leaves(g) if g is not None else []):
                v = self._read(f"metrics/{name}", what=f"metric {name!r}")
                if isinstance(v, np.ndarray) and v.ndim == 0:
                    v = v[()]
                if isinstance(v, np.generic):
                    v = v.item()
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
        from . import analysis
        return analysis.spike_table(self, pop, as_pandas=as_pandas)

    def rates(self, pop=None, bin_ms=None, *, per_neuron=False):
        """``Rates(times, rates, edges)``: Hz per neuron of ``pop`` in bins of
        ``bin_ms`` (default: one bin, the mean rate) (:func:`plasticity.analysis.rates`)."""
        from . import analysis
        return analysis.rates(self, pop, bin_ms, per_neuron=per_neuron)

    def weight_history(self, proj=None):
        """``WeightHistory(times, weights, pre, post)``: every weight of ``proj`` at every
        snapshot (:func:`plasticity.analysis.weight_history`)."""
        from . import analysis
        return analysis.weight_history(self, proj)

    def scalar_metrics(self):
        """The single-valued metrics as a dict (``metrics`` has the arrays too)."""
        from . import analysis
        return analysis.scalar_metrics(self)
