"""Shared helpers of the benchmarks: fresh-subprocess runs, timing, peak RSS, the table.

Every measured run executes in a fresh process so that its peak RSS and CPU time are
its own:

* ours: ``python benchmarks/bX.py --child ours --config JSON`` imports plasticity,
  builds the network (timed: "build", wall seconds, nothing is compiled) and runs it
  (timed: ``time.process_time()`` around ``Network.run`` = CPU seconds of the
  simulation phase); the parent reads the child's peak RSS and total CPU from
  ``os.wait4``.
* Brian2 ``cpp_standalone``: one child generates and compiles the project once (timed:
  "build", wall seconds of code generation + compilation, a cold build into a fresh
  directory), then runs the compiled binary ``repeats`` times itself, each a fresh
  process measured with ``os.wait4`` (peak RSS of the binary), and reads the binary's
  own CPU time of the ``Network::run`` loop (``std::clock``, written to
  ``results/last_run_info.txt``) = CPU seconds of the simulation phase (synapse
  creation and array loading happen before it and are excluded, as ours excludes
  its build).

A child prints one line ``RESULT <json>`` on stdout; everything else it prints is
passed through to stderr.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULT_TAG = "RESULT "


# ----------------------------------------------------------------- processes
GNU_TIME = "/usr/bin/time"


def measured_popen(cmd, **kwargs):
    """Start ``cmd`` so that its own peak RSS and CPU time can be read back with
    :func:`wait_measured`.

    ``ru_maxrss`` of a process started directly by this (large) Python process
    includes this process's RSS at the fork (Linux keeps the pre-exec high-water
    mark), so the command is started through GNU time, a small process whose
    child's high-water mark is the command's own. Without GNU time, os.wait4 of the
    direct child is used (an overestimate for small commands)."""
    if os.path.exists(GNU_TIME):
        fd, path = tempfile.mkstemp(prefix="bench_time_")
        os.close(fd)
        cmd = [GNU_TIME, "-q", "-f", "%U %S %M", "-o", path] + list(cmd)
    else:
        path = None
    proc = subprocess.Popen(cmd, **kwargs)
    proc._bench_time_file = path
    return proc


def wait_measured(proc):
    """Wait for a :func:`measured_popen` process; returns (returncode, cpu seconds
    (user + sys), peak RSS in bytes) of the command."""
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu, rss = ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024
    path = proc._bench_time_file
    if path is not None:
        try:
            with open(path) as f:
                fields = f.read().split()
            cpu = float(fields[-3]) + float(fields[-2])
            rss = int(fields[-1]) * 1024  # KiB
        except (OSError, ValueError, IndexError):
            pass
        finally:
            os.unlink(path)
    return proc.returncode, cpu, rss


def spawn_child(script, side, config, timeout=None):
    """Run ``script --child side --config JSON`` in a fresh interpreter; returns the
    child's result dict plus ``proc_cpu_s``, ``peak_rss_bytes`` and ``wall_s``."""
    cmd = [sys.executable, script, "--child", side, "--config", json.dumps(config)]
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    # the simulation uses no BLAS; idle OpenBLAS threads spinning after an earlier
    # NumPy call would otherwise be counted in the process CPU time
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    t0 = time.perf_counter()
    proc = measured_popen(cmd, stdout=subprocess.PIPE, cwd=ROOT, env=env, text=True)
    out = proc.stdout.read()
    proc.stdout.close()
    rc, cpu, rss = wait_measured(proc)
    wall = time.perf_counter() - t0
    result = None
    for line in out.splitlines():
        if line.startswith(RESULT_TAG):
            result = json.loads(line[len(RESULT_TAG):])
        else:
            print(line, file=sys.stderr)
    if rc != 0 or result is None:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed (exit status {rc})")
    result.update(proc_cpu_s=cpu, peak_rss_bytes=rss, wall_s=wall)
    return result


def emit(result):
    """Child side: hand ``result`` (JSON-serialisable) to the parent."""
    sys.stdout.flush()
    print(RESULT_TAG + json.dumps(result), flush=True)


def sim_cpu(fn, *args, **kwargs):
    """CPU seconds (process time) of ``fn(*args, **kwargs)`` and its result."""
    t0 = time.process_time()
    out = fn(*args, **kwargs)
    return time.process_time() - t0, out


# ----------------------------------------------------------------- Brian2 standalone
def brian2_available():
    try:
        import brian2  # noqa: F401
    except ImportError:
        return False
    return shutil.which(os.environ.get("CXX", "g++")) is not None


def nest_available():
    try:
        import nest  # noqa: F401
    except Exception:
        return False
    return True


def brian2_standalone_dir(tag):
    return tempfile.mkdtemp(prefix=f"plasticity_bench_{tag}_")


def brian2_build(directory):
    """Generate and compile the standalone project (no run); wall seconds."""
    from brian2 import get_device
    device = get_device()
    t0 = time.perf_counter()
    device.build(directory=directory, compile=True, run=False, with_output=False)
    return time.perf_counter() - t0


def brian2_run_binary_once(project_dir, results_dir, env=None):
    """Run a compiled standalone binary once, a fresh process. Returns a dict:
    ``last_run_s`` (the binary's own clock of its last ``Network::run`` loop, from
    ``results/last_run_info.txt``: ``std::clock`` CPU seconds without OpenMP, and
    ``omp_get_wtime`` wall seconds when built with ``openmp_threads`` >= 1 -- see
    Brian2's templates/network.cpp), ``completed_fraction``, ``proc_cpu_s`` and
    ``peak_rss_bytes`` of the binary and ``wall_s`` of the whole process (synapse
    creation and array loading included)."""
    from brian2 import prefs
    run_cmd = prefs.devices.cpp_standalone.run_cmd_unix
    run_cmd = [run_cmd] if isinstance(run_cmd, str) else list(run_cmd)
    os.makedirs(results_dir, exist_ok=True)
    t0 = time.perf_counter()
    proc = measured_popen(run_cmd + ["--results_dir", results_dir], cwd=project_dir,
                          stdout=subprocess.DEVNULL, env=env)
    rc, cpu, rss = wait_measured(proc)
    wall = time.perf_counter() - t0
    if rc != 0:
        raise RuntimeError(f"Brian2 standalone binary in {project_dir} failed "
                           f"(exit status {rc})")
    with open(os.path.join(results_dir, "last_run_info.txt")) as f:
        run_time, fraction = (float(x) for x in f.read().split())
    return dict(last_run_s=run_time, completed_fraction=fraction, proc_cpu_s=cpu,
                peak_rss_bytes=rss, wall_s=wall)


def brian2_run_binary(repeats):
    """Run the compiled binary ``repeats`` times, each a fresh process. Returns a list
    of dicts (sim_cpu_s from the binary's own std::clock of Network::run, proc_cpu_s
    and peak_rss_bytes of the binary, wall_s) and leaves the device ready to read the
    last run's results."""
    from brian2 import get_device
    device = get_device()  # the device itself: setting attributes on the proxy is lost
    runs = []
    for _ in range(repeats):
        r = brian2_run_binary_once(device.project_dir, device.results_dir)
        runs.append(dict(sim_cpu_s=r["last_run_s"], proc_cpu_s=r["proc_cpu_s"],
                         peak_rss_bytes=r["peak_rss_bytes"], wall_s=r["wall_s"]))
    device.has_been_run = True
    device._last_run_time = r["last_run_s"]
    device._last_run_completed_fraction = r["completed_fraction"]
    return runs


# ----------------------------------------------------------------- argument handling
def parse_args(description, argv=None):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--quick", action="store_true",
                    help="short durations and 1 repeat (smoke test)")
    ap.add_argument("--repeats", type=int, default=None,
                    help="runs per side (default 3, 1 with --quick)")
    ap.add_argument("--ours-only", action="store_true", help="skip Brian2")
    ap.add_argument("--json", default=None, help="also write the results to this file")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--config", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    return args


# ----------------------------------------------------------------- reporting
def summarize(name, side, runs, build_s, unit_divisor=1.0, extra=None):
    """One table row from a list of per-run dicts."""
    sims = [r["sim_cpu_s"] / unit_divisor for r in runs]
    return dict(benchmark=name, side=side, n=len(runs),
                sim_median=statistics.median(sims), sim_min=min(sims), sim_max=max(sims),
                build_s=build_s,
                peak_rss_mb=max(r["peak_rss_bytes"] for r in runs) / 2**20,
                extra=extra or {})


def print_table(rows, unit, file=sys.stdout):
    """Rows of one benchmark; the ratio is Brian2 / ours (higher = we are faster)."""
    ours = next((r for r in rows if r["side"] == "plasticity"), None)
    head = (f"| side | sim CPU {unit} (median of n) | min-max | n | build/compile s "
            f"| peak RSS MB | ratio vs ours |")
    print(head, file=file)
    print("|---|---|---|---|---|---|---|", file=file)
    for r in rows:
        ratio = (r["sim_median"] / ours["sim_median"]
                 if ours and ours["sim_median"] > 0 else float("nan"))
        print(f"| {r['side']} | {r['sim_median']:.4g} | {r['sim_min']:.4g}-"
              f"{r['sim_max']:.4g} | {r['n']} | {r['build_s']:.2f} | "
              f"{r['peak_rss_mb']:.0f} | {ratio:.1f}x |", file=file)
    for r in rows:
        if r["extra"]:
            print(f"  {r['side']}: " + ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in r["extra"].items()), file=file)
    if not nest_available():
        print("  NEST: not installed (import nest failed), not measured", file=file)


def finish(args, title, rows, unit):
    print(f"\n## {title}")
    print_table(rows, unit)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(title=title, unit=unit, rows=rows), f, indent=1)
    return rows
