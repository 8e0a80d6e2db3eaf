"""Run an experiment end to end: config -> experiment -> recorder -> run file.

:func:`prepare` resolves the experiment and its config (every mistake there is a
``ValueError``: a usage error, before any work); :func:`execute` runs it and writes
the run file, raising :class:`RunFailed` (with the partial file's path) if the
experiment fails. ``plasticity run`` is these two calls; sweeps call them too.
"""
import dataclasses
import os

from . import config as _config
from . import progress as _progress
from . import results as _results

__all__ = ["RunSpec", "RunOutcome", "RunFailed", "OutputError", "prepare", "execute",
           "run_experiment", "check_output", "find_data", "MissingData"]


class RunFailed(RuntimeError):
    """The experiment raised during the run; ``partial`` is the partial file's path."""

    def __init__(self, message, partial, checkpoint=None, cause=None):
        super().__init__(message)
        self.partial = partial
        self.checkpoint = checkpoint
        self.cause = cause


@dataclasses.dataclass
class RunSpec:
    experiment: object     # plasticity.experiments.Experiment
    config: object         # an instance of experiment.Config
    seed: int
    path: str              # the final NAME.h5


@dataclasses.dataclass
class RunOutcome:
    path: str
    metrics: dict
    resumed_from: object = None   # checkpoint step, or None
    already_complete: bool = False
    notes: list = dataclasses.field(default_factory=list)


#: the longest file name most file systems take (bytes); ours get ".partial" added
_NAME_MAX = 255


class OutputError(_config.ConfigError):
    """The run file cannot be written where it should go (a usage error, found before
    any work): a directory in its place, an --out that cannot be created or written."""


def _check_filename(filename):
    """``--name``: a visible file name (``.h5`` added), short enough for its
    ``.partial`` and ``.ckpt`` companions."""
    if not isinstance(filename, str):
        raise _config.ConfigError(f"--name must be a string, got {filename!r}")
    stem = filename[:-3] if filename.endswith(".h5") else filename
    if not stem.strip():
        raise _config.ConfigError(f"--name must not be empty, got {filename!r}")
    # directories first: '../x' is a path (it was called a hidden file)
    if os.sep in stem or "/" in stem or "\0" in stem:
        raise _config.ConfigError(f"--name must be a file name without directories, got "
                                  f"{filename!r}")
    if stem.startswith("."):
        raise _config.ConfigError(f"--name must not start with '.' (a hidden file), got "
                                  f"{filename!r}")
    filename = stem + ".h5"
    longest = len(os.fsencode(partial_path_name(filename)))
    if longest > _NAME_MAX:
        raise _config.ConfigError(
            f"--name must be at most {_NAME_MAX - len('.h5.partial')} characters (bytes; "
            f"the file system's limit is {_NAME_MAX} with '.h5.partial'), got "
            f"{len(os.fsencode(stem))}: {stem[:40]!r}...")
    return filename


def partial_path_name(filename):
    return os.path.basename(_results.partial_path(filename))


def check_output(path, *, checkpoint_every=60.0):
    """Before any work: the run file, its ``.partial`` and ``.ckpt`` can be written at
    ``path`` (its directory exists or can be created and is writable; none of the three
    is a directory), and ``checkpoint_every`` is a number of seconds >= 0 (or None)."""
    if checkpoint_every is not None and (
            isinstance(checkpoint_every, bool) or
            not isinstance(checkpoint_every, (int, float)) or not checkpoint_every >= 0):
        raise _config.ConfigError(f"--checkpoint-every must be a number of seconds >= 0, "
                                  f"got {checkpoint_every!r}")
    d = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(d) and d.lower().endswith((".h5", ".hdf5")):
        # a file name given as --out would become a directory of that name
        raise OutputError(f"--out is the directory of the run file; {d!r} does not "
                          f"exist and looks like a file name: use --out DIR --name "
                          f"{os.path.basename(d)}")
    if os.path.exists(d) and not os.path.isdir(d):   # makedirs said 'File exists'
        raise OutputError(f"--out {d!r} exists and is not a directory")
    try:
        os.makedirs(d, exist_ok=True)
    except OSError as e:
        raise OutputError(f"--out {d!r} cannot be created: {e.strerror or e}") from None
    if not os.path.isdir(d):
        raise OutputError(f"--out {d!r} is not a directory")
    if not os.access(d, os.W_OK | os.X_OK):
        raise OutputError(f"--out {d!r} is not writable (permission denied)")
    for p in (path, _results.partial_path(path), _results.checkpoint_path(path)):
        if os.path.isdir(p):
            raise OutputError(f"{p} is a directory where the run writes a file; remove it "
                              f"or choose another --out/--name")


class NonFiniteMetric(ValueError):
    """A headline metric is NaN or infinite: the run failed, it is not complete."""


def _check_finite_metrics(name, metrics):
    """Raise if a headline metric is NaN or infinite, unless it is an explained
    :class:`plasticity.results.Undefined` (a fit the config leaves undefined)."""
    import numpy as np
    for k, v in metrics.items():
        if isinstance(v, _results.Undefined):
            continue
        try:
            a = np.asarray(v)
        except Exception:  # noqa: BLE001 - not numeric: nothing to check
            continue
        if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
            bad = a.ravel()[~np.isfinite(a.ravel())][0]
            raise NonFiniteMetric(f"experiment {name!r}: headline metric {k!r} is {bad} "
                                  f"(not finite), so the run is not complete")


def prepare(name, *, config=None, sets=(), seed=None, out="runs", filename=None,
            small=False, data=True):
    """Resolve experiment ``name`` and its config into a :class:`RunSpec`.

    ``config`` is a TOML file, or a run file (``.h5``/``.h5.partial``) whose stored
    config (and seed, unless ``seed`` is given) is reused. Order of precedence, lowest
    first: the Config defaults, ``SMALL`` (if ``small``), ``config``, ``sets``.
    With ``data`` (the default, for a run) the datasets the run reads are located
    too (:func:`find_data`); ``data=False`` resolves the config alone, as
    ``plasticity config`` prints it on a machine without the datasets.
    """
    from . import experiments
    exp = experiments.load(name)
    overrides = [exp.small_overrides()] if small else []
    base, toml = None, None
    if config is not None:
        c = os.fspath(config)
        if c.endswith(".h5") or c.endswith(".h5.partial"):
            stored_exp, stored_cfg, stored_seed = _results.read_config(c)
            if stored_exp != exp.name:
                raise _config.ConfigError(f"{c} is a run of experiment {stored_exp!r}, not "
                                          f"{exp.name!r}")
            base = stored_cfg
            if seed is None:
                seed = stored_seed
            if small:
                raise _config.ConfigError("--small cannot be combined with a run file's "
                                          "config (it is already complete)")
        else:
            toml = c
    cfg = _config.resolve(exp.Config, base=base, overrides=overrides, toml=toml, sets=sets,
                          source=os.fspath(config) if config is not None else None)
    from . import _memory
    def total(c):
        return sum(float(b) for _v, b in exp.memory_estimate(c).values())
    _memory.check(exp.memory_estimate(cfg), exc=_config.ConfigError, what="config key ",
                  fits=lambda name, avail: _memory.fitting(total, cfg, name, avail))
    if data:
        find_data(exp, cfg)
    if seed is None:
        seed = 0
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 63:
        raise _config.ConfigError(f"seed must be an integer >= 0 and < 2**63, got {seed!r}")
    if filename is None:
        filename = f"{exp.name}_seed{seed}_{_config.config_hash(cfg)}.h5"
    else:
        filename = _check_filename(filename)
    return RunSpec(experiment=exp, config=cfg, seed=int(seed),
                   path=os.path.join(os.fspath(out), filename))


class MissingData(_config.ConfigError):
    """A dataset the run reads is not found (a usage error, found before any work)."""


def find_data(exp, cfg):
    """Locate the datasets the run of ``cfg`` reads (the experiment's ``find_data``);
    a missing one is a :class:`MissingData` naming the experiment and how to point at
    the data (the experiment's ``data_dir`` key where it has one, or PLASTICITY_DATA)."""
    from .datasets import DatasetError
    try:
        exp.find_data(cfg)
    except DatasetError as e:
        how = (" (on the command line: --set data_dir=DIR)"
               if any(f.name == "data_dir" for f in dataclasses.fields(cfg)) else "")
        raise MissingData(f"{exp.name}: {e}{how}") from None


def execute(spec, *, resume=False, quiet=False, checkpoint_every=60.0, overwrite=False):
    """Run ``spec`` and write its run file; returns a :class:`RunOutcome`.

    With ``resume``, a complete run file is left alone (its headline metrics are
    returned) and a checkpoint, if any, is continued from.
    """
    check_output(spec.path, checkpoint_every=checkpoint_every)
    if os.path.exists(spec.path) and not overwrite:
        if not resume:
            raise FileExistsError(f"{spec.path} already exists; use --resume to keep it, "
                                  f"--force to overwrite it, or another --out/--name")
        with _results.load(spec.path) as run:
            metrics = {k: run.metrics[k] for k in run.headline if k in run.metrics}
        ck = _results.checkpoint_path(spec.path)
        if os.path.exists(ck):  # killed between the rename and the clean-up
            os.remove(ck)
        return RunOutcome(spec.path, metrics, already_complete=True)
    rec = _results.Recorder(spec.path, experiment=spec.experiment.name,
                            config=_config.to_dict(spec.config), seed=spec.seed,
                            resume=resume, checkpoint_every=checkpoint_every, quiet=quiet,
                            overwrite=overwrite,
                            attrs={"experiment_source": spec.experiment.source})
    try:
        with _progress.settings(quiet=quiet, prefix=spec.experiment.name):
            metrics = spec.experiment.run(spec.config, rec)
        if metrics is None:
            metrics = {}
        if not isinstance(metrics, dict):
            raise TypeError(f"experiment {spec.experiment.name!r}: run() must return a "
                            f"dict of headline metrics, got {type(metrics).__name__}")
        rec.headline(metrics)
        _check_finite_metrics(spec.experiment.name, metrics)
    except BaseException as e:
        rec.fail(e, interrupted=isinstance(e, KeyboardInterrupt))
        if isinstance(e, KeyboardInterrupt):
            raise
        ck = rec.checkpoint_path if os.path.exists(rec.checkpoint_path) else None
        raise RunFailed(f"{type(e).__name__}: {e}", rec.partial_path, ck, e) from e
    path = rec.close()
    return RunOutcome(path, metrics, resumed_from=rec.resumed_from, notes=list(rec.notes))


def run_experiment(name, *, config=None, sets=(), seed=None, out="runs", filename=None,
                   small=False, resume=False, quiet=True, checkpoint_every=60.0,
                   overwrite=False):
    """:func:`prepare` then :func:`execute`; returns a :class:`RunOutcome`."""
    spec = prepare(name, config=config, sets=sets, seed=seed, out=out, filename=filename,
                   small=small)
    return execute(spec, resume=resume, quiet=quiet, checkpoint_every=checkpoint_every,
                   overwrite=overwrite)

