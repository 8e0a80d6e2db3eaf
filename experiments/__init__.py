"""The experiments: one module per experiment (``experiments/<name>.py``).

This directory is the package ``plasticity.experiments``. An experiment module defines

- ``Config``: a dataclass whose defaults are the paper's values (fields may carry
  ``help``, ``units``, ``min``, ``max``, ``gt``, ``lt``, ``choices`` metadata via
  :func:`plasticity.config.field`);
- ``SMALL`` (a dict of overrides) or ``Config.small()`` (a classmethod returning a
  config) for a quick run (``plasticity run NAME --small``);
- ``run(config, recorder) -> dict`` of headline metrics, writing everything else
  through the :class:`plasticity.results.Recorder`; long experiments call
  ``recorder.checkpoint(step, state)`` at safe points and start from
  ``recorder.resume_state()`` when it is not None;
- a module docstring whose first line describes it (``plasticity list``);
- optionally ``Config.check(self)``: the checks between keys (``n_correlated <
  n_inputs``), raising ``ValueError`` naming the keys, their values and what is
  allowed; called once on the resolved config (every layer applied), so that
  ``plasticity run`` refuses the config before any work and before a run file
  exists (a ``__post_init__`` would see each layer alone: a TOML that lowers
  ``n_inputs`` before the ``--set`` that lowers ``n_correlated`` would fail);
- optionally ``memory_estimate(config) -> {key: (value, bytes)}``, what the run needs
  in memory by config key; ``plasticity run`` refuses a config whose estimate exceeds
  the memory available before any work, naming the costliest key;
- optionally ``find_data(config)``, locating the datasets the run reads (raising
  :class:`plasticity.datasets.DatasetError` where one is missing); ``plasticity run``
  reports a missing dataset before any work and before a run file exists;
- optionally ``print_summary(run)``, printing a few lines about a finished run (a
  :class:`plasticity.results.Run`) after ``plasticity run NAME``'s headline metrics;
- optionally ``PAPER_VALUES = {metric: (value, source)}``: the paper's values of
  metrics of the run (a number, a bool or a list), for the experiment's default
  config, with where each was read; ``plasticity report RUN.h5`` sets the run beside
  them;
- optionally ``figure(source)``, the experiment's own figure of a run file's path
  (``plasticity report`` includes it);
- ``if __name__ == "__main__": sys.exit(main())`` with ``main(argv=None)`` returning
  :func:`plasticity.cli.script_main` ``(NAME, argv)``, so that
  ``python experiments/NAME.py`` takes the options, defaults and run-file rules of
  ``plasticity run NAME``.

Its default TOML lives next to it as ``experiments/<name>.toml`` (what
``plasticity config NAME`` prints; tests/test_experiment_tomls.py checks that it equals
the Config's defaults). Fields several experiments share are declared once in
``experiments/_common.py`` (the RSNN learner's, the one-shot experiments').

:func:`available` lists the experiments (modules in this package, plus those in the
directories of the ``PLASTICITY_EXPERIMENT_PATH`` environment variable);
:func:`load` returns one as an :class:`Experiment`; ``load`` also accepts the path of
a ``.py`` file, so your own experiments need not live here.
"""
import ast
import dataclasses
import importlib
import importlib.util
import os
import pkgutil
import sys

__all__ = ["Experiment", "ExperimentError", "available", "load"]


class ExperimentError(ValueError):
    """An unknown experiment, or a module that is not a valid experiment."""


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A loaded experiment module."""
    name: str
    module: object
    source: str  # module name or file path

    @property
    def Config(self):
        return self.module.Config

    @property
    def summary(self):
        doc = (self.module.__doc__ or "").strip()
        return doc.splitlines()[0].strip() if doc else ""

    def small_overrides(self):
        """The overrides of a quick run, as a dict ({} if the experiment has none)."""
        small = getattr(self.module, "SMALL", None)
        if small is not None:
            return dict(small)
        fn = getattr(self.Config, "small", None)
        if fn is not None:
            from plasticity.config import to_dict
            return to_dict(fn())
        return {}

    def run(self, config, recorder):
        return self.module.run(config, recorder)

    def find_data(self, config):
        """Locate the datasets the run of ``config`` reads (the module's
        ``find_data(config)``, which raises DatasetError where one is missing), so
        that a missing dataset is reported before any work and any run file."""
        fn = getattr(self.module, "find_data", None)
        if fn is not None:
            fn(config)

    def memory_estimate(self, config):
        """What the run of ``config`` needs in memory, by key: ``{key: (value, bytes)}``
        (the module's ``memory_estimate(config)``; {} when it has none)."""
        fn = getattr(self.module, "memory_estimate", None)
        return dict(fn(config)) if fn is not None else {}


def _extra_dirs():
    raw = os.environ.get("PLASTICITY_EXPERIMENT_PATH", "")
    return [d for d in raw.split(os.pathsep) if d and os.path.isdir(d)]


def _names():
    names = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            names.setdefault(info.name, f"{__name__}.{info.name}")
    for d in _extra_dirs():
        for fn in sorted(os.listdir(d)):
            if fn.endswith(".py") and not fn.startswith("_"):
                names.setdefault(fn[:-3], os.path.join(d, fn))
    return names


def available():
    """Sorted names of the registered experiments."""
    return sorted(_names())


def _check(mod, name):
    missing = [a for a in ("Config", "run") if not hasattr(mod, a)]
    if missing:
        raise ExperimentError(f"module {name!r} is not an experiment: it lacks "
                              f"{' and '.join(missing)}")
    if not dataclasses.is_dataclass(mod.Config):
        raise ExperimentError(f"experiment {name!r}: Config must be a dataclass")


def _bound_names(stmts):
    """The names the top-level statements ``stmts`` of a module bind (definitions,
    assignments, imports; into if/try/with/loop bodies, not into functions or
    classes), or None where a star import makes them unknowable from the source."""
    names = set()
    for st in stmts:
        if isinstance(st, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(st.name)
        elif isinstance(st, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            for t in (st.targets if isinstance(st, ast.Assign) else [st.target]):
                names.update(n.id for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(st, (ast.Import, ast.ImportFrom)):
            for a in st.names:
                if a.name == "*":
                    return None
                names.add(a.asname or a.name.split(".")[0])
        else:
            bodies = [getattr(st, k, None) or [] for k in ("body", "orelse",
                                                           "finalbody")]
            bodies += [h.body for h in getattr(st, "handlers", None) or []]
            bodies += [c.body for c in getattr(st, "cases", None) or []]
            if isinstance(st, (ast.For, ast.AsyncFor)):
                names.update(n.id for n in ast.walk(st.target) if isinstance(n, ast.Name))
            if isinstance(st, (ast.With, ast.AsyncWith)):
                for item in st.items:
                    if item.optional_vars is not None:
                        names.update(n.id for n in ast.walk(item.optional_vars)
                                     if isinstance(n, ast.Name))
            for body in bodies:
                inner = _bound_names(body)
                if inner is None:
                    return None
                names |= inner
    return names


def _check_source(path):
    """Refuse a file that is not an experiment from its source, before running any of
    it: Python that does not parse, or no top-level ``Config`` and ``run`` (what
    ``plasticity run`` needs). A star import leaves the names unknown: such a file is
    checked after its import, as before."""
    try:
        source = importlib.util.decode_source(open(path, "rb").read())
        tree = ast.parse(source, filename=path)
    except SyntaxError as e:
        raise ExperimentError(f"experiment file {path!r} is not valid Python (line "
                              f"{e.lineno}: {e.msg}); nothing of it was run") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ExperimentError(f"cannot read experiment file {path!r}: {e}") from None
    names = _bound_names(tree.body)
    if names is None:
        return
    missing = [a for a in ("Config", "run") if a not in names]
    if missing:
        raise ExperimentError(
            f"{path!r} is not an experiment: it defines no {' and no '.join(missing)} at "
            f"its top level (an experiment defines a Config dataclass and run(config, "
            f"recorder); read from its source, nothing of it was run)")


def _from_file(path):
    path = os.path.abspath(path)
    if not os.path.isfile(path):
        raise ExperimentError(f"experiment file {path!r} does not exist")
    _check_source(path)
    name = os.path.splitext(os.path.basename(path))[0]
    modname = f"_plasticity_user_experiment_{name}"
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod  # dataclasses need the module registered
    try:
        spec.loader.exec_module(mod)
    except Exception as e:
        sys.modules.pop(modname, None)
        raise ExperimentError(f"cannot import experiment file {path!r}: "
                              f"{type(e).__name__}: {e}") from e
    _check(mod, name)
    return Experiment(name=name, module=mod, source=path)


def load(name):
    """The experiment ``name`` (registered name, or path of a ``.py`` file)."""
    if name.endswith(".py") or os.sep in name or "/" in name:
        return _from_file(name)
    names = _names()
    if name not in names:
        import difflib
        close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ExperimentError(f"unknown experiment {name!r}{hint} (available: "
                              f"{', '.join(sorted(names)) or 'none'}; `plasticity list`)")
    src = names[name]
    if src.endswith(".py"):
        exp = _from_file(src)
        return Experiment(name=name, module=exp.module, source=src)
    try:
        mod = importlib.import_module(src)
    except Exception as e:
        raise ExperimentError(f"cannot import experiment {name!r}: {type(e).__name__}: "
                              f"{e}") from e
    _check(mod, name)
    return Experiment(name=name, module=mod, source=src)
