"""The ``plasticity`` command (also ``python -m plasticity``).

Exit status: 0 on success, 2 for usage and config errors (one message, no
traceback), 1 when a run fails (the message says where its partial output is),
130 when interrupted.
"""
import argparse
import os
import sys

import numpy as np

__all__ = ["main", "script_main", "PLOT_KINDS", "SWEEP_PLOT_KINDS"]

PLOT_KINDS = ("raster", "rates", "state", "weights", "receptive-fields", "stdp-window",
              "convergence", "accuracy", "confusion", "curves")
#: figures of a sweep file (``plasticity plot sweep.h5 KIND``)
SWEEP_PLOT_KINDS = ("effect",)


class _UsageError(Exception):
    pass


def _err(msg):
    print(f"plasticity: error: {msg}", file=sys.stderr)


def _fmt(v):
    from .results import Undefined
    if isinstance(v, Undefined):
        return repr(v)
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.6g}"
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return _fmt(v[()])
        last = f", last {_fmt(v.ravel()[-1])}" if v.size and v.dtype.kind in "biuf" else ""
        return f"array {v.shape} {v.dtype}{last}"
    return str(v)


# ------------------------------------------------------------------------ Ctrl-C

def _command(args, extra=()):
    """The command line that started this (for messages), plus ``extra`` arguments."""
    import shlex
    words = list(getattr(args, "argv", None) or sys.argv[1:])
    words += [w for w in extra if w not in words]
    prog = getattr(args, "prog", None) or "plasticity"
    return " ".join([prog] + [shlex.quote(w) for w in words])


def _interrupted_run(args, path):
    """The message of a run interrupted by Ctrl-C: where its output is, how to resume."""
    from . import results
    partial, ck = results.partial_path(path), results.checkpoint_path(path)
    where = f"the partial run is {partial}" if os.path.exists(partial) else \
        "no output was written yet"
    if os.path.exists(ck):
        how = f"`{_command(args, ['--resume'])}` continues from its last checkpoint ({ck})"
    else:
        how = (f"`{_command(args, ['--resume'])}` continues from the last checkpoint "
               f"(none was written yet, so it starts over; checkpoints come every "
               f"--checkpoint-every {args.checkpoint_every:g} s)")
    return f"interrupted; {where}; {how}"


# ------------------------------------------------------------------------ commands

def _cmd_list(args):
    from . import experiments
    names = experiments.available()
    if not names:
        print("no experiments found (add modules to experiments/, or set "
              "PLASTICITY_EXPERIMENT_PATH)")
        return 0
    width = max(len(n) for n in names)
    for n in names:
        try:
            summary = experiments.load(n).summary
        except Exception as e:  # one broken module must not hide the others
            summary = f"(cannot be imported: {type(e).__name__}: {e})"
        print(f"{n:<{width}}  {summary}")
    return 0


def _prepare(args, data=True):
    from . import runner
    return runner.prepare(args.name, config=args.config, sets=args.set or (), seed=args.seed,
                          out=args.out, filename=args.file_name, small=args.small,
                          data=data)


def _cmd_config(args):
    # the config is printed without the datasets (it is what one edits before getting
    # them); a missing one is a note on stderr, so that stdout stays a TOML file
    from . import config, runner
    spec = _prepare(args, data=False)
    missing = None
    try:  # where the data is, the keys checked against it (omniglot's n_way) are too
        runner.find_data(spec.experiment, spec.config)
    except runner.MissingData as e:
        missing = e
    sys.stdout.write(f"# {spec.experiment.name}: {spec.experiment.summary}\n")
    sys.stdout.write(config.to_toml(spec.config))
    if missing is not None:
        print(f"plasticity: note: `plasticity run` will need the data: {missing}",
              file=sys.stderr)
    return 0


def _cmd_run(args):
    from . import runner
    spec = _prepare(args)
    if args.checkpoint_every is not None and not args.checkpoint_every >= 0:
        raise _UsageError(f"--checkpoint-every must be >= 0 s, got {args.checkpoint_every}")
    try:
        out = runner.execute(spec, resume=args.resume, quiet=args.quiet,
                             checkpoint_every=args.checkpoint_every, overwrite=args.force)
    except FileExistsError as e:
        raise _UsageError(str(e)) from None
    except KeyboardInterrupt:
        _err(_interrupted_run(args, spec.path))
        return 130
    except runner.RunFailed as e:
        _err(f"run of {spec.experiment.name!r} failed: {e}")
        print(f"partial output: {e.partial} (status 'failed'; the traceback is in its "
              f"'error_traceback' attribute)", file=sys.stderr)
        if e.checkpoint:
            print(f"checkpoint: {e.checkpoint} (`plasticity run ... --resume` continues "
                  f"from it)", file=sys.stderr)
        return 1
    if out.already_complete:
        print(f"{out.path} is already complete", file=sys.stderr)
    print(out.path)
    for k, v in out.metrics.items():
        print(f"  {k} = {_fmt(v)}")
    summarize = getattr(spec.experiment.module, "print_summary", None)
    if summarize is not None:  # the experiment's own lines (e.g. Song's histogram)
        from . import results
        with results.load(out.path) as run:
            summarize(run)
    return 0


def _cmd_sweep(args):
    from . import sweep
    if args.workers is not None and args.workers < 1:
        raise _UsageError(f"--workers must be >= 1, got {args.workers}")
    if args.scheduler and args.workers is not None:
        raise _UsageError("--workers sets up a local cluster; with --scheduler the "
                          "scheduler's workers are used (leave --workers out)")
    if args.seeds < 1:
        raise _UsageError(f"--seeds must be >= 1, got {args.seeds}")
    if not args.grid:
        raise _UsageError("give at least one --grid key=v1,v2,...")
    if not args.checkpoint_every >= 0:
        raise _UsageError(f"--checkpoint-every must be >= 0 s, got {args.checkpoint_every}")
    try:
        res = sweep.run_sweep(args.name, args.grid, seeds=args.seeds, out=args.out,
                              sets=args.set or (), config=args.config, small=args.small,
                              workers=args.workers, scheduler=args.scheduler,
                              quiet=args.quiet, checkpoint_every=args.checkpoint_every)
    except KeyboardInterrupt:
        _err(f"interrupted; run the same command again to continue: `{_command(args)}` "
             f"skips the finished runs and resumes the others from their checkpoints")
        return 130
    print(res.path)
    print(f"  {len(res.points)} runs: {res.n_complete} complete "
          f"({res.n_skipped} already done before), {res.n_failed} failed")
    for p in res.points:
        if p.status == "failed":
            print(f"  failed: {p.run} {p.params} seed {p.seed}: {p.error}", file=sys.stderr)
    return 1 if res.n_failed else 0


def _cmd_inspect_sweep(path):
    from . import sweep
    t = sweep.load_table(path)
    a = t.attrs
    print(path)
    print(f"  experiment  {a.get('experiment')} ({a.get('experiment_source', '?')})")
    print(f"  grid        {a.get('grid')}  seeds {a.get('seeds')}")
    print(f"  runs        {a.get('n_runs')}: {a.get('n_complete')} complete, "
          f"{a.get('n_failed')} failed, {a.get('n_pending')} pending (updated "
          f"{a.get('updated', '?')})")
    print(f"  format      {a.get('format')} v{a.get('format_version')}")
    print("table")
    for line in sweep.format_table(t).splitlines():
        print("  " + line)
    return 0


def _cmd_verify(path):
    from . import results
    problems = results.verify(path)
    for p in problems:
        print(p)
    if not problems:
        print(f"{path}: ok (every dataset read, checksums and contents checked)")
    return 1 if problems else 0


def _cmd_inspect(args):
    from . import results, sweep
    from .config import to_flat
    if getattr(args, "verify", False):
        return _cmd_verify(args.run)
    if sweep.is_sweep_file(args.run):
        return _cmd_inspect_sweep(args.run)
    with results.load(args.run, allow_partial=True) as run:
        a = run.attrs
        print(run.path)
        print(f"  experiment  {run.experiment} (seed {run.seed})")
        extra = f", wall time {a['wall_time_s']:.1f} s" if "wall_time_s" in a else ""
        resumed = f", resumed {a['resumed']}x" if a.get("resumed") else ""
        print(f"  status      {run.status} (created {a.get('created', '?')}{extra}{resumed})")
        if "error" in a:
            print(f"  error       {a['error']}")
        git = f", git {str(a['git_commit'])[:10]}" if "git_commit" in a else ""
        print(f"  format      {a.get('format')} v{a.get('format_version')}, plasticity "
              f"{a.get('plasticity_version', '?')}{git}")
        print("config")
        for k, v in to_flat(run.config).items():
            print(f"  {k} = {v!r}")
        pops = run.populations
        print("populations" + ("" if pops else " (none)"))
        for name, p in pops.items():
            g = run._f["spikes"].get(name)
            count = g["node_ids"].shape[0] if g is not None and "node_ids" in g else 0
            t0, t1 = run.time_range(name) if g is not None else (0.0, 0.0)
            dur = (t1 - t0) / 1000.0
            rate = f"{count / (p['n'] * dur):.3g} Hz" if dur > 0 and p["n"] else "n/a"
            print(f"  {name}  {p['model']}  n={p['n']}  spikes={count}  mean rate={rate}  "
                  f"[{t0:g}, {t1:g}] ms")
        projs = run.projections
        print("projections" + ("" if projs else " (none)"))
        for name, p in projs.items():
            w = run.weights(name, snapshot=None).data
            stats = (f"w min={w.min():.4g} mean={w.mean():.4g} max={w.max():.4g} "
                     f"std={w.std():.4g}") if w.size else "no synapses"
            rule = f"  rule={p['rule']}" if p["rule"] else ""
            print(f"  {name}  {p['pre']} -> {p['post']}  {p['shape'][0]}x{p['shape'][1]} "
                  f"nnz={p['nnz']}{rule}  {stats}  snapshots={p['n_snapshots']}")
        mons = run.monitors
        if mons:
            print("state")
            for m, vars_ in mons.items():
                n = run._f["state"][m]["times"].shape[0] if "times" in run._f["state"][m] \
                    else 0
                print(f"  {m}  {', '.join(vars_)}  ({n} samples)")
        metrics = run.metrics
        print("metrics" + ("" if metrics else " (none)"))
        head = set(run.headline)
        for k, v in metrics.items():
            print(f"  {'*' if k in head else ' '} {k} = {_fmt(v)}")
        feats = list(run.features)
        if feats:
            print("features")
            for k in feats:
                ds = run._f["features"][k]
                print(f"  {k}  {ds.shape} {ds.dtype}")
    return 0


def _cmd_plot(args):
    import matplotlib
    matplotlib.use("Agg")
    from . import plots, results, sweep
    kind = args.kind
    if kind in SWEEP_PLOT_KINDS or sweep.is_sweep_file(args.run):
        if not sweep.is_sweep_file(args.run):
            raise _UsageError(f"plot {kind!r} needs a sweep file (sweep.h5); {args.run} "
                              f"is not one")
        if kind not in SWEEP_PLOT_KINDS:
            raise _UsageError(f"{args.run} is a sweep file; its plot kinds are "
                              f"{', '.join(SWEEP_PLOT_KINDS)} (plot a run with "
                              f"`plasticity plot RUNS/<run>.h5 {kind}`)")
        if not args.x or not args.y:
            raise _UsageError("plot effect needs --x KEY (a grid parameter) and --y METRIC")
        fig = plots.effect(sweep.load_table(args.run), args.x, args.y)
        out = args.out or f"{args.run[:-3] if args.run.endswith('.h5') else args.run}" \
            f"_{kind}_{args.y.replace('/', '.')}.png"
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        try:
            fig.savefig(out, dpi=args.dpi)
        except ValueError as e:
            raise _UsageError(f"cannot write {out}: {e}") from None
        print(out)
        return 0
    with results.load(args.run, allow_partial=True) as run:
        fig = plots.plot(run, kind, select=args.select)
        out = args.out
        if out is None:
            base = args.run[:-len(".partial")] if args.run.endswith(".partial") else args.run
            base = base[:-3] if base.endswith(".h5") else base
            out = f"{base}_{kind}.png"
        d = os.path.dirname(os.path.abspath(out))
        os.makedirs(d, exist_ok=True)
        try:
            fig.savefig(out, dpi=args.dpi)
        except ValueError as e:  # unknown extension
            raise _UsageError(f"cannot write {out}: {e}") from None
    print(out)
    return 0


def _cmd_report(args):
    import matplotlib
    matplotlib.use("Agg")
    from . import report
    if not os.path.exists(args.run):
        raise _UsageError(f"no such run file, sweep file or sweep directory: {args.run}")
    try:
        out = report.report(args.run, args.out)
    except OSError as e:
        raise _UsageError(f"cannot write the report: {e}") from None
    print(out)
    return 0


# ------------------------------------------------------------------------ parser

def _config_args(s):
    """The options that resolve a run's config (`plasticity run`, `config`, scripts)."""
    s.add_argument("--config", metavar="FILE",
                   help="TOML file of overrides, or a run file (.h5) to rerun its config")
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override one setting, e.g. --set stdp.tau_plus=20 (repeatable)")
    s.add_argument("--small", action="store_true",
                   help="the experiment's quick configuration (for a first try)")
    s.add_argument("--seed", type=int, default=None, metavar="N",
                   help="random seed (default 0, or the seed of --config RUN.h5)")
    s.add_argument("--out", default="runs", metavar="DIR",
                   help="output directory (default: runs)")
    s.add_argument("--name", dest="file_name", metavar="FILE",
                   help="run file name (default NAME_seedN_CONFIGHASH.h5)")


def _run_args(s):
    """The options of `plasticity run` besides the config (shared with the scripts)."""
    s.add_argument("--resume", action="store_true",
                   help="continue from the last checkpoint (a complete run is kept)")
    s.add_argument("--force", action="store_true", help="overwrite an existing run file")
    s.add_argument("--quiet", action="store_true",
                   help="no progress (bar or log lines) and no notes")
    s.add_argument("--checkpoint-every", type=float, default=60.0, metavar="SECONDS",
                   help="minimum wall-clock time between checkpoints (default 60)")


def _parser():
    p = argparse.ArgumentParser(
        prog="plasticity",
        description="Run STDP experiments, inspect their run files, make figures.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("list", help="list the experiments")
    s.set_defaults(func=_cmd_list)

    def config_args(s):
        s.add_argument("name", metavar="NAME",
                       help="experiment name (see `plasticity list`) or path of a .py file")
        _config_args(s)

    s = sub.add_parser("run", help="run an experiment and write its run file")
    config_args(s)
    _run_args(s)
    s.set_defaults(func=_cmd_run)

    s = sub.add_parser("config", help="print an experiment's resolved config as TOML")
    config_args(s)
    s.set_defaults(func=_cmd_config)

    s = sub.add_parser("sweep", help="run an experiment over a grid of parameters x seeds "
                                     "(on Dask)")
    s.add_argument("name", metavar="NAME",
                   help="experiment name (see `plasticity list`) or path of a .py file")
    s.add_argument("--grid", action="append", metavar="KEY=V1,V2,...",
                   help="a config key and its values (repeatable: the grid is the product)")
    s.add_argument("--seeds", type=int, default=1, metavar="N",
                   help="seeds 0..N-1 for every grid point (default 1)")
    s.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: one per core; 1: serial, "
                        "no Dask needed)")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="a running Dask scheduler, e.g. tcp://host:8786 (docs/sweeps.md)")
    s.add_argument("--out", default=None, metavar="DIR",
                   help="sweep directory: sweep.h5 and runs/ (default sweeps/NAME)")
    s.add_argument("--config", metavar="FILE", help="TOML file of base overrides")
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="a base override for every run (repeatable)")
    s.add_argument("--small", action="store_true",
                   help="the experiment's quick configuration")
    s.add_argument("--checkpoint-every", type=float, default=60.0, metavar="SECONDS",
                   help="minimum wall-clock time between checkpoints of a run (default 60)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=_cmd_sweep)

    s = sub.add_parser("inspect", help="summarise a run file or a sweep file")
    s.add_argument("run", metavar="RUN.h5")
    s.add_argument("--verify", action="store_true",
                   help="read every dataset (checksums) and check the contents (CSR, node "
                        "ids, headline metrics); one line per problem, exit 1 on damage")
    s.set_defaults(func=_cmd_inspect)

    s = sub.add_parser("plot", help="draw a figure from a run file (or a sweep file)")
    s.add_argument("run", metavar="RUN.h5")
    s.add_argument("kind", choices=PLOT_KINDS + SWEEP_PLOT_KINDS, metavar="KIND",
                   help="one of: " + ", ".join(PLOT_KINDS) + "; for sweep.h5: "
                        + ", ".join(SWEEP_PLOT_KINDS))
    s.add_argument("--x", metavar="KEY", help="effect: the grid parameter on the x axis")
    s.add_argument("--y", metavar="METRIC", help="effect: the metric on the y axis")
    s.add_argument("--out", metavar="FILE", help="image file (default RUN_KIND.png)")
    s.add_argument("--select", metavar="NAME",
                   help="the population (raster, rates), state monitor (state), projection "
                        "(weights, receptive-fields) or curve group (curves) to draw "
                        "(default: all)")
    s.add_argument("--dpi", type=int, default=120)
    s.set_defaults(func=_cmd_plot)

    s = sub.add_parser("report", help="one self-contained HTML page about a run or a "
                                      "sweep (figures, config, metrics vs the paper)")
    s.add_argument("run", metavar="RUN.h5|SWEEP_DIR",
                   help="a run file, or a sweep directory (or its sweep.h5)")
    s.add_argument("--out", metavar="FILE.html",
                   help="output file (default RUN.html, or SWEEP_DIR/report.html)")
    s.set_defaults(func=_cmd_report)
    return p


def main(argv=None):
    """Entry point of the ``plasticity`` command; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or a usage error (2)
        return int(e.code or 0)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for the Ctrl-C message
    return _dispatch(args)


def script_main(name, argv=None, *, figure=None):
    """The entry point of ``python experiments/NAME.py``; returns the exit status.

    The script takes the options of ``plasticity run NAME`` (``--help``, ``--seed``,
    ``--small``, ``--set``, ``--config``, ``--out``, ``--name``, ``--resume``,
    ``--force``, ``--quiet``, ``--checkpoint-every``) with the same defaults, run-file
    name and overwrite rules (an existing run file is kept unless ``--force``), and
    prints the same output. With ``figure`` (a function of a run file's path, or of
    None to simulate, returning a matplotlib figure) it also takes ``--figure RUN OUT``.

    Parameters
    ----------
    name : str
        The experiment's registered name.
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).
    figure : callable, optional
        Draws the experiment's figure.
    """
    from . import experiments
    prog = f"python experiments/{name}.py"
    try:
        summary = experiments.load(name).summary
    except experiments.ExperimentError as e:
        _err(str(e))
        return 2
    p = argparse.ArgumentParser(
        prog=prog, description=f"{summary} Runs the experiment and writes its run file, "
        f"as `plasticity run {name}` does (same options and defaults).")
    _config_args(p)
    _run_args(p)
    if figure is not None:
        import inspect
        first = next(iter(inspect.signature(figure).parameters.values()), None)
        simulates = first is not None and first.default is None
        p.add_argument("--figure", nargs=2, metavar=("RUN", "OUT"),
                       help="draw the figure of run file RUN" +
                            (" (or '-': simulate it now)" if simulates else "") +
                            " into the image file OUT, and exit")
    try:
        args = p.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2)
        return int(e.code or 0)
    args.name, args.command, args.prog = name, "run", prog
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.func = _cmd_run
    if figure is not None and args.figure:
        args.func, args.draw, args.simulates = _cmd_figure, figure, simulates
    return _dispatch(args)


def _cmd_figure(args):
    import matplotlib
    matplotlib.use("Agg")
    src, out = args.figure
    if not os.path.exists(src) and not (src == "-" and args.simulates):
        raise _UsageError(f"--figure: run file {src!r} does not exist")
    fig = args.draw(None if src == "-" and args.simulates else src)
    try:
        fig.savefig(out, dpi=120)
    except ValueError as e:  # unknown extension
        raise _UsageError(f"cannot write {out}: {e}") from None
    print(out)
    return 0


def _dispatch(args):
    """Run the parsed command: usage and config errors -> 2, Ctrl-C -> 130."""
    from .config import ConfigError
    from .experiments import ExperimentError
    from .results import RunFileError
    try:
        from .plots import PlotError
        from .report import ReportError
    except Exception:  # pragma: no cover - matplotlib missing
        PlotError = ReportError = _UsageError
    try:
        return args.func(args)
    except (_UsageError, ConfigError, ExperimentError, RunFileError, PlotError,
            ReportError) as e:
        _err(str(e))
        return 2
    except KeyboardInterrupt:
        resume = " (`plasticity run ... --resume` continues an interrupted run)" \
            if args.command == "run" else ""
        _err("interrupted" + resume)
        return 130
    except BrokenPipeError:  # e.g. `plasticity inspect RUN | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
