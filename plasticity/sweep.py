"""Parameter sweeps: every combination of a grid of config values x seeds, on Dask.

Each run is an ordinary run (:func:`plasticity.runner.prepare` + :func:`execute`)
written to ``OUT/runs/<hash>.h5``, where ``<hash>`` is the hash of the experiment,
the resolved config and the seed; so a run is found again by what it computes, not by
when it was started. ``OUT/sweep.h5`` holds the table of the sweep (one row per run:
parameters, seed, headline metrics, status, error) and HDF5 external links to the run
files; it is rewritten atomically (temporary file + ``os.replace``) as runs finish,
so it is always whole. Rerunning a sweep skips the runs whose complete file exists,
and a failed run is recorded with its error without stopping the others.

Runs execute on a ``dask.distributed`` cluster: by default a ``LocalCluster`` with one
single-threaded worker process per core, or any running scheduler (``scheduler=``,
``plasticity sweep --scheduler tcp://host:8786``; see ``docs/sweeps.md``). Dask is an
optional dependency (``pip install "plasticity[dask]"``); without it ``workers=1``
runs the sweep serially in this process.

Python::

    from plasticity import sweep
    res = sweep.run_sweep("song_abbott_2000", {"rate": [10.0, 15.0, 20.0]}, seeds=3,
                          out="sweeps/song", sets=["duration=5000"])
    table = sweep.load_table("sweeps/song/sweep.h5")      # dict of columns (NumPy)

The layout of ``sweep.h5`` (format ``"plasticity-sweep"``, version 1)::

    /                 attrs: format, format_version, experiment, experiment_source,
                      grid (JSON {key: [values]}), seeds (JSON list), base_sets (JSON),
                      small, config_file, created, updated, n_runs, n_complete,
                      n_failed, n_pending
    /table/<column>   one dataset per column, one row per run; attribute ``columns``
                      (JSON list of {"name", "kind": meta|param|metric, "key"}) gives
                      their order. meta columns: run (the hash), seed, status
                      ("complete", "failed", "pending"), error, file (relative path of
                      the run file), skipped (true if it was complete before this
                      invocation). param columns: one per grid key (named by the
                      dotted key). metric columns: one per numeric or string headline
                      metric (float64, NaN where missing; '/' in a name becomes '.').
    /runs/<run>       external link to the root of ``runs/<run>.h5`` (complete runs)
"""
import dataclasses
import datetime
import itertools
import json
import os
import re
import sys
import time
import traceback

import numpy as np

from . import config as _config
from . import progress as _progress
from . import runner as _runner
from .results.sweeps import (SWEEP_FORMAT, SWEEP_FORMAT_VERSION, SweepError,  # noqa: F401
                             SweepTable, _plain, format_table, is_sweep_file, load_table)

__all__ = ["SWEEP_FORMAT", "SWEEP_FORMAT_VERSION", "SweepError", "DaskMissing",
           "SweepPoint", "SweepResult", "parse_grid", "plan", "run_sweep", "load_table",
           "is_sweep_file", "DASK_INSTALL_HINT"]

DASK_INSTALL_HINT = 'pip install "plasticity[dask]"'

#: metrics that measure the machine, not the model: kept in the table, but they are
#: expected to differ between two runs of the same config
VOLATILE_METRICS = frozenset({"cpu_seconds", "wall_seconds", "wall_time_s"})


class DaskMissing(SweepError):
    """Dask is needed (more than one worker, or a scheduler) but not installed."""


# ------------------------------------------------------------------------ grid

def _split_values(text):
    """Split ``'1,2,[3,4],"a,b"'`` on the commas outside brackets and quotes."""
    out, depth, quote, cur = [], 0, None, []
    for ch in text:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "[{(":
            depth += 1
        elif ch in "]})":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    out.append("".join(cur).strip())
    return out


def parse_grid(items):
    """``['rate=10,15', 'tau=20']`` -> ``{'rate': [10, 15], 'tau': [20]}``.

    Accepts a dict ``{key: values}`` too (values a list, or one value). Each value is
    read as a TOML literal (as ``--set``): ``10`` is an integer, ``1e4`` a float,
    ``[1, 2]`` a list, ``additive`` a string.
    """
    grid = {}
    if isinstance(items, dict):
        for k, vs in items.items():
            if not isinstance(k, str) or not k:
                raise SweepError(f"grid keys must be non-empty strings, got {k!r}")
            if isinstance(vs, (str, bytes)) or not hasattr(vs, "__iter__"):
                vs = [vs]
            vs = list(vs)
            if not vs:
                raise SweepError(f"grid key {k!r} has no values")
            grid[k] = vs
        return grid
    if isinstance(items, str):
        items = [items]
    for item in items:
        if not isinstance(item, str) or "=" not in item:
            raise SweepError(f"--grid expects key=v1,v2,..., got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key:
            raise SweepError(f"--grid expects key=v1,v2,..., got {item!r}")
        if key in grid:
            raise SweepError(f"--grid {key} is given twice")
        parts = _split_values(raw)
        if not raw.strip() or any(p == "" for p in parts):
            raise SweepError(f"--grid {key}= has an empty value in {raw!r}")
        grid[key] = [_config.parse_assignment(f"{key}={p}")[1] for p in parts]
    return grid


def _toml_literal(v):
    if isinstance(v, str):
        return json.dumps(v)
    return _config._toml_value(v)


#: the most runs one sweep may have (grid points x seeds): the plan is resolved, and
#: sweep.h5 lists every run, before any work; split a larger study into sweeps
MAX_RUNS = 100_000


def _seeds(seeds):
    if isinstance(seeds, bool):
        raise SweepError(f"seeds must be a count >= 1 or a list of seeds, got {seeds!r}")
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise SweepError(f"--seeds must be >= 1, got {seeds}")
        if seeds > MAX_RUNS:
            raise SweepError(f"--seeds must be <= {MAX_RUNS} (the most runs a sweep may "
                             f"have), got {seeds}; split the study into several sweeps")
        return list(range(int(seeds)))
    try:
        out = [int(s) if not isinstance(s, bool) and float(s) == int(s) else None
               for s in seeds]
    except (TypeError, ValueError):
        raise SweepError(f"seeds must be a count >= 1 or a list of integers, got "
                         f"{seeds!r}") from None
    if not out or any(s is None or s < 0 for s in out) or len(set(out)) != len(out):
        raise SweepError(f"seeds must be distinct integers >= 0, got {seeds!r}")
    return out


@dataclasses.dataclass
class SweepPoint:
    """One run of a sweep."""
    run: str             # the hash (file name without .h5)
    params: dict         # grid key -> resolved value
    seed: int
    sets: list           # the --set strings of this run (base sets, then grid values)
    path: str            # absolute path of the run file
    status: str = "pending"
    error: str = ""
    metrics: dict = dataclasses.field(default_factory=dict)
    skipped: bool = False

    @property
    def file(self):
        return os.path.join("runs", os.path.basename(self.path))


@dataclasses.dataclass
class SweepResult:
    path: str            # sweep.h5
    points: list         # SweepPoint, in grid order

    @property
    def n_complete(self):
        return sum(p.status == "complete" for p in self.points)

    @property
    def n_failed(self):
        return sum(p.status == "failed" for p in self.points)

    @property
    def n_skipped(self):
        return sum(p.skipped for p in self.points)


def run_hash(experiment, cfg, seed, n=16):
    """The name of a sweep run: hash of the experiment, resolved config and seed."""
    return _config.config_hash({"experiment": experiment, "config": _config.to_dict(cfg),
                                "seed": int(seed)}, n=n)


def plan(name, grid, *, seeds=1, out, sets=(), config=None, small=False):
    """Resolve every point of the sweep (before any work); returns
    ``(experiment, [SweepPoint], first config)``. Every mistake is a ConfigError."""
    from . import experiments
    grid = parse_grid(grid)
    seeds = _seeds(seeds)
    if isinstance(sets, str):
        sets = [sets]
    sets = list(sets or ())
    exp = experiments.load(name)
    known = {k for k, _, _, _ in _config.describe(exp.Config)}
    for key in grid:
        if key not in known:
            import difflib
            close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SweepError(f"--grid: unknown config key {key!r} of experiment "
                             f"{exp.name!r}{hint} (see `plasticity config {exp.name}`)")
    n_runs = len(seeds)
    for k in grid:
        n_runs *= len(grid[k])
    if n_runs > MAX_RUNS:
        raise SweepError(f"the sweep has {n_runs} runs ("
                         f"{' x '.join(str(len(grid[k])) for k in grid)} grid values x "
                         f"{len(seeds)} seeds), more than the {MAX_RUNS} a sweep may have; "
                         f"split it into several sweeps")
    runs_dir = os.path.join(os.path.abspath(os.fspath(out)), "runs")
    points, seen, first = [], {}, None
    keys = list(grid)
    for combo in itertools.product(*(grid[k] for k in keys)):
        grid_sets = [f"{k}={_toml_literal(v)}" for k, v in zip(keys, combo)]
        for seed in seeds:
            spec = _runner.prepare(name, config=config, sets=sets + grid_sets, seed=seed,
                                   out=runs_dir, filename="x.h5", small=small)
            if first is None:
                first = spec.config
            h = run_hash(exp.name, spec.config, seed)
            if h in seen:
                raise SweepError(f"--grid values {dict(zip(keys, combo))} and "
                                 f"{seen[h]} give the same config; remove the duplicate")
            seen[h] = dict(zip(keys, combo))
            flat = _config.to_flat(spec.config)
            points.append(SweepPoint(run=h, params={k: flat[k] for k in keys}, seed=seed,
                                     sets=sets + grid_sets,
                                     path=os.path.join(runs_dir, h + ".h5")))
    return exp, points, first


# ------------------------------------------------------------------------ one run

def run_point(name, sets, seed, path, config=None, small=False, checkpoint_every=60.0):
    """Run one point (in a worker); returns ``{status, metrics, error}``, never raises
    for a failing experiment. An existing complete run file is kept and reused."""
    try:
        spec = _runner.prepare(name, config=config, sets=sets, seed=seed,
                               out=os.path.dirname(path), filename=os.path.basename(path),
                               small=small)
        out = _runner.execute(spec, resume=True, quiet=True,
                              checkpoint_every=checkpoint_every)
        return {"status": "complete", "error": "",
                "metrics": {k: _plain(v) for k, v in out.metrics.items()},
                "skipped": bool(out.already_complete)}
    except _runner.RunFailed as e:
        return {"status": "failed", "error": str(e), "metrics": {}, "skipped": False,
                "traceback": "".join(traceback.format_exception(e.cause))
                if e.cause is not None else ""}
    except Exception as e:  # a broken setup must not stop the other runs
        return {"status": "failed", "error": f"{type(e).__name__}: {e}", "metrics": {},
                "skipped": False, "traceback": traceback.format_exc()}


def _existing(point):
    """Metrics of a complete run file, or None if there is none (or it is unusable)."""
    from . import results
    if not os.path.exists(point.path):
        return None
    try:
        with results.load(point.path) as run:
            m = run.metrics
            return {k: _plain(m[k]) for k in run.headline if k in m}
    except Exception:
        return None


# ------------------------------------------------------------------------ table

def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _column(values):
    """A NumPy array (or list of str) for a column of Python values."""
    vals = [v for v in values if v is not None]
    if vals and all(isinstance(v, bool) for v in vals) and len(vals) == len(values):
        return np.array(values, dtype=bool)
    if vals and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                    for v in vals) and len(vals) == len(values):
        return np.array(values, dtype=np.int64)
    if vals and all(isinstance(v, (int, float, np.integer, np.floating)) for v in vals):
        return np.array([np.nan if v is None else float(v) for v in values])
    return [("" if v is None else v if isinstance(v, str) else json.dumps(v))
            for v in values]


def _write_table(path, exp, points, grid_keys, meta):
    """Write ``sweep.h5`` atomically."""
    import h5py
    metric_names = []
    for p in points:
        for k, v in p.metrics.items():
            if k not in metric_names and isinstance(v, (bool, int, float, str)):
                metric_names.append(k)
    columns = [("run", "meta", None), ("seed", "meta", None), ("status", "meta", None),
               ("error", "meta", None), ("file", "meta", None), ("skipped", "meta", None)]
    taken = {c[0] for c in columns}
    for k in grid_keys:
        col = k if k not in taken else f"param.{k}"
        taken.add(col)
        columns.append((col, "param", k))
    for m in metric_names:
        col = m.replace("/", ".")
        if col in taken:
            col = f"metric.{col}"
        taken.add(col)
        columns.append((col, "metric", m))
    data = {
        "run": [p.run for p in points],
        "seed": np.array([p.seed for p in points], dtype=np.int64),
        "status": [p.status for p in points],
        "error": [p.error for p in points],
        "file": [p.file for p in points],
        "skipped": np.array([p.skipped for p in points], dtype=bool),
    }
    for col, kind, key in columns:
        if kind == "param":
            data[col] = _column([p.params[key] for p in points])
        elif kind == "metric":
            vals = [p.metrics.get(key) if p.status == "complete" else None for p in points]
            if all(isinstance(v, str) for v in vals if v is not None):
                data[col] = [v or "" for v in vals]
            else:
                data[col] = np.array([np.nan if not isinstance(v, (bool, int, float))
                                      else float(v) for v in vals])
    tmp = f"{path}.tmp{os.getpid()}"
    str_dt = h5py.string_dtype("utf-8")
    from .results.common import LIBVER
    with h5py.File(tmp, "w", track_order=True, libver=LIBVER) as f:
        a = f.attrs
        a["format"] = SWEEP_FORMAT
        a["format_version"] = SWEEP_FORMAT_VERSION
        for k, v in meta.items():
            a[k] = v
        a["updated"] = _now()
        a["n_runs"] = len(points)
        a["n_complete"] = sum(p.status == "complete" for p in points)
        a["n_failed"] = sum(p.status == "failed" for p in points)
        a["n_pending"] = sum(p.status == "pending" for p in points)
        t = f.create_group("table", track_order=True)
        t.attrs["columns"] = json.dumps([{"name": c, "kind": k, "key": key or c}
                                         for c, k, key in columns])
        for col, _, _ in columns:
            v = data[col]
            if isinstance(v, list):
                t.create_dataset(col, data=np.array(v, dtype=object), dtype=str_dt)
            else:
                t.create_dataset(col, data=v)
        r = f.create_group("runs", track_order=True)
        for p in points:
            if p.status == "complete":
                r[p.run] = h5py.ExternalLink(p.file, "/")
        f.flush()
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


# ------------------------------------------------------------------------ executing

def _have_dask():
    try:
        import dask.distributed  # noqa: F401
        return True
    except Exception:
        return False


_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ucx|ws|wss|inproc)://[^\s/]+|[A-Za-z0-9.\-]+:\d{1,5})$")


def check_scheduler(scheduler):
    """A Dask scheduler address (``tcp://host:8786``, ``tls://...``, ``host:8786``)."""
    if not isinstance(scheduler, str) or not _ADDRESS.match(scheduler):
        raise SweepError(f"--scheduler must be a Dask scheduler address such as "
                         f"tcp://host:8786 (protocol tcp, tls, ucx, ws, wss or inproc), "
                         f"got {scheduler!r}")
    return scheduler


def _client(workers, scheduler):
    """``(client, cluster or None)``; raises DaskMissing without dask."""
    if scheduler:
        check_scheduler(scheduler)
    if not _have_dask():
        what = f"--scheduler {scheduler}" if scheduler else f"--workers {workers}"
        raise DaskMissing(f"{what} needs Dask, which is not installed: {DASK_INSTALL_HINT} "
                          f"(or run serially with --workers 1)")
    from dask.distributed import Client, LocalCluster
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as e:
            raise SweepError(f"cannot connect to the Dask scheduler at {scheduler!r}: "
                             f"{e}") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0", env=_worker_env(workers))
    return Client(cluster), cluster


def _worker_env(workers):
    """The environment of the local workers: each runs its networks on its share
    of this machine's cores (PLASTICITY_THREADS; every worker would otherwise take
    all of them, and ``workers`` processes on the same cores wait on each other's
    threads at every step); a PLASTICITY_THREADS set here is passed on as it is."""
    if os.environ.get("PLASTICITY_THREADS", "").strip():
        return {"PLASTICITY_THREADS": os.environ["PLASTICITY_THREADS"]}
    from .network import default_threads
    return {"PLASTICITY_THREADS": str(max(1, default_threads() // max(1, workers)))}


# ------------------------------------------------------------------------ the sweep's phases

def _check_workers(workers, scheduler):
    if workers is not None and (isinstance(workers, bool) or
                                not isinstance(workers, (int, np.integer)) or workers < 1):
        raise SweepError(f"--workers must be an integer >= 1, got {workers!r}")
    if scheduler:
        check_scheduler(scheduler)


def _sweep_dir(name, out):
    """The sweep directory, absolute: ``out``, or ``sweeps/NAME`` by default."""
    if out is None:
        base = os.path.splitext(os.path.basename(name))[0]
        out = os.path.join("sweeps", base)
    return os.path.abspath(os.fspath(out))


def _check_output(out, sweep_path, exp, checkpoint_every):
    """Refuse, before any run, a ``sweep.h5`` of another experiment and an ``out``
    that cannot be created or written (an OutputError)."""
    if os.path.exists(sweep_path):
        old = load_table(sweep_path)
        if old.attrs.get("experiment") != exp.name:
            raise SweepError(f"{sweep_path} is a sweep of experiment "
                             f"{old.attrs.get('experiment')!r}, not {exp.name!r}; choose "
                             f"another --out")
    _runner.check_output(os.path.join(out, "runs", "x.h5"), checkpoint_every=checkpoint_every)
    _runner.check_output(sweep_path)


def _sweep_meta(exp, grid, points, sets, small, config):
    """The root attributes of ``sweep.h5`` (besides the counts)."""
    return {
        "experiment": exp.name, "experiment_source": str(exp.source),
        "grid": json.dumps({k: [_plain(v) for v in vs]
                            for k, vs in parse_grid(grid).items()}),
        "seeds": json.dumps(sorted({p.seed for p in points})),
        "base_sets": json.dumps(list(sets or ())), "small": bool(small),
        "config_file": os.fspath(config) if config is not None else "",
        "created": _now(),
    }


def _skip_complete(points):
    """Mark the points whose run file is already complete; returns the others."""
    todo = []
    for p in points:
        m = _existing(p)
        if m is not None:
            p.status, p.metrics, p.skipped = "complete", m, True
        else:
            todo.append(p)
    return todo


def _finish(p, res):
    """Store the result of :func:`run_point` in its point."""
    p.status = res["status"]
    p.error = res.get("error", "")
    p.metrics = res.get("metrics", {})
    p.skipped = bool(res.get("skipped", False))


class _Table:
    """``sweep.h5``, rewritten on demand, or when a run finished and ``every``
    seconds have passed since the last rewrite (counted from :meth:`start_clock`)."""

    def __init__(self, path, exp, points, grid_keys, meta, every):
        self.path, self.exp, self.points = path, exp, points
        self.grid_keys, self.meta, self.every = grid_keys, meta, every
        self.last = None

    def write(self):
        _write_table(self.path, self.exp, self.points, self.grid_keys, self.meta)

    def start_clock(self):
        self.last = time.monotonic()

    def write_if_due(self):
        if time.monotonic() - self.last >= self.every:
            self.write()
            self.last = time.monotonic()


def _run_serial(todo, run_args, done):
    """Run the points one after the other in this process."""
    name, config, small, checkpoint_every = run_args
    for p in todo:
        done(p, run_point(name, p.sets, p.seed, p.path, config, small, checkpoint_every))


def _run_dask(client, todo, run_args, done):
    """Submit every point to ``client``; results as they complete (a run that lost its
    worker, e.g. ``KilledWorker``, is a failed run)."""
    from dask.distributed import as_completed
    name, config, small, checkpoint_every = run_args
    futs = {}
    for p in todo:
        fut = client.submit(run_point, name, p.sets, p.seed, p.path, config, small,
                            checkpoint_every, key=f"plasticity-run-{p.run}",
                            pure=False)
        futs[fut] = p
    for fut in as_completed(list(futs)):
        p = futs[fut]
        try:
            res = fut.result()
        except Exception as e:  # e.g. KilledWorker: the run crashed its workers
            res = {"status": "failed", "error": f"{type(e).__name__}: {e}",
                   "metrics": {}}
        done(p, res)


def _open_client(workers, scheduler, quiet):
    """``(client, (client, cluster or None))``: a client this sweep owns (and closes)."""
    client, cluster = _client(workers or os.cpu_count() or 1, scheduler)
    if not quiet:
        print(f"dask dashboard: {client.dashboard_link}", file=sys.stderr)
    return client, (client, cluster)


def _close_client(own):
    c, cluster = own
    c.close()
    if cluster is not None:
        cluster.close()


def run_sweep(name, grid, *, seeds=1, out=None, sets=(), config=None, small=False,
              workers=None, scheduler=None, client=None, quiet=True,
              checkpoint_every=60.0, write_every=1.0):
    """Run every point of the grid x seeds; returns a :class:`SweepResult`.

    Parameters
    ----------
    name : str
        Experiment name (``plasticity list``) or path of an experiment ``.py`` file.
    grid : dict or list of str
        ``{key: [values]}`` or ``["key=v1,v2", ...]`` (dotted config keys).
    seeds : int or list of int
        ``N`` means seeds ``0 .. N-1``.
    out : path
        The sweep directory (``sweep.h5`` and ``runs/``); default ``sweeps/NAME``.
    sets, config, small
        The base config of every run, as for ``plasticity run``.
    workers : int, optional
        Worker processes of the local cluster (default: one per core). ``1`` without
        a scheduler runs the sweep serially in this process (no Dask needed).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); workers must see
        ``out`` at the same path (a shared file system).
    client : dask.distributed.Client, optional
        Use this client instead (its cluster is left running).
    write_every : float
        Minimum seconds between two rewrites of ``sweep.h5`` while runs finish (it is
        always written at the start and at the end).

    The phases: check the arguments and the output (:func:`_check_output`), plan the
    points (:func:`plan`), skip the complete ones (:func:`_skip_complete`), run the
    rest serially (:func:`_run_serial`) or on Dask (:func:`_run_dask`), rewriting the
    table (:class:`_Table`) as runs finish.
    """
    _check_workers(workers, scheduler)
    out = _sweep_dir(name, out)
    if config is not None:
        config = os.path.abspath(os.fspath(config))
    exp, points, first = plan(name, grid, seeds=seeds, out=out, sets=sets, config=config,
                              small=small)
    sweep_path = os.path.join(out, "sweep.h5")
    _check_output(out, sweep_path, exp, checkpoint_every)
    table = _Table(sweep_path, exp, points, list(parse_grid(grid)),
                   _sweep_meta(exp, grid, points, sets, small, config), write_every)
    todo = _skip_complete(points)
    table.write()

    bar = None
    if todo:
        # runs done / total with an ETA: a bar on a terminal, a log line every ~30 s
        # (and when the sweep starts and ends) otherwise, nothing when quiet
        bar = _progress.Progress(len(todo), desc=f"sweep {exp.name}", unit="run",
                                 quiet=quiet, heartbeat=True)

    def done(p, res):
        _finish(p, res)
        if bar is not None:
            bar.update(1)
        table.write_if_due()

    table.start_clock()
    serial = client is None and scheduler is None and (workers == 1 or not todo)
    run_args = (name, config, small, checkpoint_every)
    own = None
    try:
        if serial:
            _run_serial(todo, run_args, done)
        else:
            if client is None:
                client, own = _open_client(workers, scheduler, quiet)
            _run_dask(client, todo, run_args, done)
    finally:
        if bar is not None:
            bar.close()
        table.write()
        if own is not None:
            _close_client(own)
    return SweepResult(sweep_path, points)
