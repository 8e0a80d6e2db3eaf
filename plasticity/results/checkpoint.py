"""Checkpoints of a run being written: :class:`CheckpointMixin` (the
:class:`~plasticity.results.Recorder`'s ``checkpoint``, ``checkpoint_due``,
``resume_state`` and resuming from ``NAME.h5.ckpt``) and the encoding of a state dict
and of the partial file's manifest in the checkpoint file."""
import json
import os
import time
from collections.abc import Mapping

import numpy as np

from .._validation import check_int
from .common import (CHECKPOINT_FORMAT, CHECKPOINT_VERSION, LIBVER, _checked, _fsync_path,
                     _h5py, _now)

__all__ = ["CheckpointMixin"]


class CheckpointMixin:
    """The checkpoint half of :class:`~plasticity.results.Recorder` (which provides
    ``_file``, ``_flush_all``, ``_require_open``, ``_note`` and ``_reattach``)."""

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
        # the position a resumed run continues from: an integer >= 0 (int() took
        # -1, truncated 1.5 to 1 and True to 1; NaN failed in int())
        step = check_int("step", step, 0)
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
        with h5py.File(tmp, "w", libver=LIBVER) as c:
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
                with h5py.File(tmp, "w", track_order=True, libver=LIBVER) as new:
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
        self._reattach()
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


