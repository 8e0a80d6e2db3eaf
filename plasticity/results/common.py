"""What the run file's writer, checkpoints and readers share: the format constants,
errors, file names and the lock of a run being written, small encoders, and
:func:`open_hdf5`, the one check every reader of our HDF5 files (run files, sweep
tables) makes before it looks inside."""
import datetime
import json
import os
import subprocess
from collections import namedtuple

import numpy as np

__all__ = ["FORMAT", "FORMAT_VERSION", "CHECKPOINT_FORMAT", "CHECKPOINT_VERSION",
           "RunFileError", "RunLocked", "Spikes", "partial_path", "checkpoint_path",
           "lock_path", "is_being_written", "open_hdf5", "Undefined"]

class Undefined(float):
    """A metric that the run cannot define for its config, and why: a fit of fewer than
    two points, a ratio to a change that is zero everywhere. A NaN as a number (numpy,
    pandas and sweep tables take it as missing); the run file stores NaN with the
    reason as the metric's attribute ``undefined``, and :class:`Run` reads it back as
    an ``Undefined``. A run whose non-finite headline metrics are all ``Undefined`` is
    complete (any other NaN or infinity fails it: a NaN nobody explained is a bug).

    >>> Undefined("no potentiation to fit")
    undefined (no potentiation to fit)
    """
    def __new__(cls, reason):
        self = super().__new__(cls, float("nan"))
        self.reason = str(reason)
        return self

    def __repr__(self):
        return f"undefined ({self.reason})"

    __str__ = __repr__

    def __reduce__(self):
        return (type(self), (self.reason,))


FORMAT = "plasticity-run"
FORMAT_VERSION = 1
CHECKPOINT_FORMAT = "plasticity-checkpoint"
CHECKPOINT_VERSION = 1

#: appended datasets are written once this many elements are buffered
_BUFFER = 1 << 16
#: HDF5 file-format bounds of every file we write: the 1.8 format (HDF5 >= 1.8 and any
#: h5py read it), whose object headers, attribute tables and superblock carry
#: checksums, so that damaged metadata is reported as an error on reading; the
#: earliest format (no metadata checksums) let flipped bytes in an attribute table
#: crash the HDF5 library (a segmentation fault in ``Run.populations``).
LIBVER = ("v108", "latest")

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
    here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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



def open_hdf5(path, kind, *, error=RunFileError, hint=None, before_open=None):
    """Open ``path``, one of our HDF5 files (``kind``: "run file", "sweep file"), for
    reading, or raise ``error`` with one line saying why: no such file (plus
    ``hint(path)``, if given), a directory, not an HDF5 file, or damaged so that HDF5
    cannot open it. ``before_open(path)`` runs after the existence checks (a run file
    still being written is refused there). Returns the open ``h5py.File``; the caller
    checks its ``format`` attribute and contents."""
    h5py = _h5py()
    path = os.fspath(path)
    if not os.path.exists(path):
        extra = hint(path) if hint is not None else ""
        raise error(f"{path}: no such {kind}{extra}")
    if os.path.isdir(path):
        raise error(f"{path} is a directory, not a {kind}")
    if before_open is not None:
        before_open(path)
    try:
        is_h5 = h5py.is_hdf5(path)
    except OSError:
        is_h5 = False
    if not is_h5:
        raise error(f"{path} is not an HDF5 file, so not a plasticity {kind}")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise error(f"{path} is damaged or truncated and cannot be opened ({e})") from None
