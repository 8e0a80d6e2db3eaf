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

The package: :mod:`.writer` (:class:`Recorder`), :mod:`.checkpoint` (checkpoints and
resuming), :mod:`.reader` (:func:`load`, :class:`Run`, :func:`verify`),
:mod:`.sweeps` (reading a sweep's ``sweep.h5``: :func:`load_table`) and
:mod:`.common` (what they share, including :func:`open_hdf5`, the one check before
any of our HDF5 files is read). Every name is importable from ``plasticity.results``.
"""
from .common import (CHECKPOINT_FORMAT, CHECKPOINT_VERSION, FORMAT, FORMAT_VERSION,  # noqa: F401
                     _BUFFER, _COMPRESSION, RunFileError, RunLocked, Spikes, _attr_value,
                     _check_name, _checked, _fsync_path, _git_commit, _h5py, _json_default,
                     _lock_owner, _now, _RunLock, _version, Undefined, checkpoint_path,
                     is_being_written, lock_path, open_hdf5, partial_path)
from .checkpoint import (CheckpointMixin, _CannotResume, _dec_attr, _enc_attr,  # noqa: F401
                         _manifest, _read_state, _restore, _write_state)
from .writer import Recorder, _Appendable  # noqa: F401
from .reader import (Run, _a, _check_csr, _check_headline, _check_spikes,  # noqa: F401
                     _csr_shape, _Features, _headline_names, _leaves, _open_checked,
                     _population_n, _read_all, load, read_config, verify)

__all__ = ["FORMAT", "FORMAT_VERSION", "RunFileError", "RunLocked", "Recorder", "Run", "load",
           "verify", "lock_path", "is_being_written",
           "Spikes", "read_config", "partial_path", "checkpoint_path", "Undefined"]
