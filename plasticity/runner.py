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

__all__ = ["RunSpec", "RunOutcome", "RunFailed", "prepare", "execute", "run_experiment"]


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


def prepare(name, *, config=None, sets=(), seed=None, out="runs", filename=None,
            small=False):
    """Resolve experiment ``name`` and its config into a :class:`RunSpec`.

    ``config`` is a TOML file, or a run file (``.h5``/``.h5.partial``) whose stored
    config (and seed, unless ``seed`` is given) is reused. Order of precedence, lowest
    first: the Config defaults, ``SMALL`` (if ``small``), ``config``, ``sets``.
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
    _memory.check(exp.memory_estimate(cfg), exc=_config.ConfigError, what="config key ")
    if seed is None:
        seed = 0
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 63:
        raise _config.ConfigError(f"seed must be an integer >= 0 and < 2**63, got {seed!r}")
    if filename is None:
        filename = f"{exp.name}_seed{seed}_{_config.config_hash(cfg)}.h5"
    elif not filename.endswith(".h5"):
        filename += ".h5"
    if os.sep in filename or "/" in filename:
        raise _config.ConfigError(f"--name must be a file name without directories, got "
                                  f"{filename!r}")
    return RunSpec(experiment=exp, config=cfg, seed=int(seed),
                   path=os.path.join(os.fspath(out), filename))


def execute(spec, *, resume=False, quiet=False, checkpoint_every=60.0, overwrite=False):
    """Run ``spec`` and write its run file; returns a :class:`RunOutcome`.

    With ``resume``, a complete run file is left alone (its headline metrics are
    returned) and a checkpoint, if any, is continued from.
    """
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

