"""Threads, side by side in one run: B2 (scaled Song) and B3 (Diehl & Cook) at 1 and N
threads, ours and (``--brian2``) Brian2 cpp_standalone with as many OpenMP threads
(issue 19 item 2).

B2 here keeps B2's model per neuron (10,000 Poisson inputs at 10 Hz, p = 0.1, so ~1,000
inputs per output neuron, gmax 0.015, additive all-to-all pair STDP on every synapse)
and scales the number of output neurons to reach the synapse count: 16,000 outputs for
16M synapses. B3 is b3_diehl_cook's model and per-sample schedule.

Ours: one network per model is built once; after a 50 ms warm-up (B2) or one warm-up
sample (B3), runs of ``--b2-ms`` simulated ms (B2) or one training sample (B3)
alternate between the thread counts (1, 2, 1, 2, ...) so that all see the same machine
load; the results are identical for any thread count (tests/test_threads.py), only the
wall time differs. Timed: wall seconds (``time.perf_counter``) of ``Network.run``.

Which engine path B2 measures: a run of at least ``plasticity.network.
_POST_ORDER_MIN_STEPS`` steps (5,000) keeps the STDP weights in post-synaptic order
while it runs, the path every long run takes; shorter runs skip it. The default
``--b2-ms 600`` (6,000 steps at dt 0.1 ms) measures that path; the script prints which
one it measured. B3's runs (350 + 150 ms at dt 0.5 ms: 700 and 300 steps) are always
below it, as in real B3 training.

Brian2 (``--brian2``, needs brian2 and g++): the same models from the same code
(``b1_song.brian2_model`` with B2's config scaled as ours; ``b3_diehl_cook.
brian2_model``), generated and compiled once per thread count N in a fresh process with
``prefs.devices.cpp_standalone.openmp_threads = N`` (N = 1 too, so that both builds are
OpenMP builds). Each timed Brian2 run is one run of that binary (a fresh process)
whose network runs a warm-up (B2: 50 ms; B3: one sample) and then the timed part (B2:
``--b2-ms``; B3: ``--b3-samples`` samples, time divided by their number). Timed: the
binary's own clock of its last ``Network::run`` loop (``results/last_run_info.txt``),
which for an OpenMP build is ``omp_get_wtime()`` -- wall seconds, comparable with
ours -- (without OpenMP it would be ``std::clock()``, CPU seconds of all threads, which
is why N = 1 is an OpenMP build here). Synapse creation, weight initialisation and the
warm-up happen in the binary before that loop and are not timed, as our build and
warm-up are not. The Brian2 runs are interleaved with ours (ours 1, Brian2 1, ours 2,
Brian2 2, ...). B3's normalisation helpers use an atomic add so that they are correct
with OpenMP threads.

Reported: the median seconds per run of each side at each thread count, each side's
speedup (1 thread / N threads), Brian2 / ours at each thread count (> 1: ours faster),
the load average (``os.getloadavg``) before and after each run, since the machine may
be shared, and peak RSS of this process (ours) and of the Brian2 binaries.

    python benchmarks/threads.py [--synapses 16e6] [--b2-ms 600] [--repeats 5]
                                 [--threads 1,2] [--skip-b2] [--skip-b3] [--brian2]
                                 [--b3-samples 3] [--b3-parts] [--json FILE]

The quiet measurement of issue 19 item 2 (nothing else running; about 15 min; peak
RSS ~0.6 GB ours + ~1.2 GB the Brian2 binary):

    python benchmarks/threads.py --brian2 --json threads.json
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import b1_song, b2_scaled, b3_diehl_cook, common  # noqa: E402
from plasticity import network as _network  # noqa: E402

# each arm runs on the threads it names: the load watch (fewer threads after a run
# whose threads lost their cores to another process) is off here
_network._WATCH_LOAD = False

WARMUP_MS = 50.0   # B2: simulated before the timed runs, both sides (rates settle)


def _load():
    return round(os.getloadavg()[0], 2)


def interleaved(name, arms, repeats):
    """Each arm's ``run_once()`` (which returns its seconds) ``repeats`` times,
    interleaved arm by arm: ``arms`` is a list of (key, set_up, run_once); ``set_up()``
    runs untimed before each run."""
    times = {k: [] for k, _, _ in arms}
    loads = []
    for r in range(repeats):
        for key, set_up, run_once in arms:
            set_up()
            before = _load()
            dt = run_once()
            times[key].append(dt)
            loads.append((before, _load()))
            print(f"  {name}: repeat {r + 1}, {key[0]} {key[1]} thread(s): {dt:.3f} s "
                  f"(load {before} -> {loads[-1][1]})", flush=True)
    return dict(name=name, arms=[k for k, _, _ in arms], wall_s=times,
                median_s={k: round(statistics.median(v), 4) for k, v in times.items()},
                load_1min=loads)


def _speedups(res, threads, sides):
    """Each side's speedup (1st thread count / each) and Brian2 / ours at each."""
    med = res["median_s"]
    res["speedup"] = {side: {n: round(med[(side, threads[0])] / med[(side, n)], 3)
                             for n in threads} for side in sides}
    if "brian2" in sides:
        res["brian2_over_ours"] = {n: round(med[("brian2", n)] / med[("ours", n)], 3)
                                   for n in threads}
    # JSON keys: "ours 1", "brian2 2", ...
    res["median_s"] = {f"{s} {n}": v for (s, n), v in med.items()}
    res["wall_s"] = {f"{s} {n}": v for (s, n), v in res["wall_s"].items()}
    res["arms"] = [f"{s} {n}" for s, n in res["arms"]]
    return res


def _threads_setter(net, n):
    return lambda: setattr(net, "threads", n)


def _timed(fn):
    def once():
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0
    return once


# ----------------------------------------------------------------- Brian2 side
def b2_config(synapses):
    n_out = max(1, int(round(synapses / (10_000 * 0.1))))
    return dict(b2_scaled.CONFIG, n_out=n_out)


def brian2_child(spec):
    """Fresh process: generate and compile one standalone project (``spec``: model,
    threads, config, ...) without running it; returns where it is."""
    from brian2 import get_device, ms, prefs, set_device
    prefs.devices.cpp_standalone.openmp_threads = spec["threads"]
    directory = common.brian2_standalone_dir(f"threads_{spec['model']}_{spec['threads']}")
    set_device("cpp_standalone", directory=directory, build_on_run=False)
    c = spec["config"]
    if spec["model"] == "b2":
        net, _, _, mon = b1_song.brian2_model(c)
        net.run(WARMUP_MS * ms)
        net.run(spec["ms"] * ms)               # timed: last_run_info is this run's
    else:
        images, _ = b3_diehl_cook.load_images(1 + spec["samples"])
        net, _, _, mon = b3_diehl_cook.brian2_model(c, images, directory)
        period = c["t_present"] + c["t_rest"]
        net.run(period * ms)                   # warm-up sample
        net.run(spec["samples"] * period * ms)
    build = common.brian2_build(directory)
    device = get_device()
    count = mon.variables["count"]             # spikes per neuron, whole binary run
    return dict(build_s=build, directory=directory, project_dir=device.project_dir,
                results_dir=device.results_dir,
                count_file=device.get_array_filename(count),
                count_dtype=str(np.dtype(count.dtype)))


class Brian2Binary:
    """One compiled project per thread count; ``run_once()`` -> the binary's seconds
    of its timed run divided by ``per`` (B3: the number of samples)."""

    def __init__(self, model, threads, config, per=1, **spec):
        spec = dict(spec, model=model, threads=threads, config=config)
        print(f"Brian2 {model}: generating and compiling ({threads} OpenMP "
              f"thread(s)) ...", flush=True)
        self.info = common.spawn_child(os.path.abspath(__file__), "brian2", spec)
        print(f"  compiled in {self.info['build_s']:.1f} s "
              f"(into {self.info['directory']})", flush=True)
        self.per = per
        self.runs = []

    def run_once(self):
        r = common.brian2_run_binary_once(self.info["project_dir"],
                                          self.info["results_dir"])
        if r["completed_fraction"] != 1.0:
            raise RuntimeError(f"Brian2 run incomplete: {r}")
        counts = np.fromfile(os.path.join(self.info["results_dir"],
                                          self.info["count_file"]),
                             dtype=self.info["count_dtype"])
        r["spikes"] = int(counts.sum())          # warm-up + timed part
        self.runs.append(r)
        return r["last_run_s"] / self.per

    def summary(self):
        return dict(build_s=round(self.info["build_s"], 2),
                    peak_rss_mb=round(max(r["peak_rss_bytes"] for r in self.runs)
                                      / 2**20, 1),
                    binary_wall_s=[round(r["wall_s"], 3) for r in self.runs],
                    binary_cpu_s=[round(r["proc_cpu_s"], 3) for r in self.runs],
                    spikes_per_run=[r["spikes"] for r in self.runs])

    def clean(self):
        if not os.environ.get("BENCH_KEEP_BUILD"):
            for d in (self.info["directory"], self.info["directory"] + "_norm"):
                shutil.rmtree(d, ignore_errors=True)


def _brian2_arms(model, threads, config, per=1, **spec):
    binaries = {n: Brian2Binary(model, n, config, per=per, **spec) for n in threads}
    return binaries, {n: (("brian2", n), lambda: None, binaries[n].run_once)
                      for n in threads}


def _interleave(ours_arms, brian2_arms, threads):
    arms = []
    for n in threads:
        arms.append(ours_arms[n])
        if brian2_arms:
            arms.append(brian2_arms[n])
    return arms


# ----------------------------------------------------------------- benchmarks
def bench_b2(synapses, ms, threads, repeats, brian2=False):
    from plasticity import network
    c = b2_config(synapses)
    steps = int(round(ms / c["dt"]))
    t0 = time.perf_counter()
    net, proj, out, mon = b1_song.ours_build(c)
    build = time.perf_counter() - t0
    # the condition of Network.run (plasticity/network.py)
    post_ordered = (steps >= network._POST_ORDER_MIN_STEPS and not net._per_step()
                    and getattr(proj.rule, "post_ordered_weights", False))
    path = (f"{steps} steps per run: "
            + ("post-ordered weights" if post_ordered else
               "NOT the post-ordered weights")
            + f" (used by runs >= {network._POST_ORDER_MIN_STEPS} steps)")
    print(f"B2: {proj.synapses.nnz:,} synapses, {c['n_out']:,} outputs, built in "
          f"{build:.1f} s; {path}", flush=True)
    net.threads = threads[0]
    net.run(WARMUP_MS, progress=False)
    mon._t.clear()                        # spikes counted per timed run only
    mon._i.clear()
    spikes = []

    def run():
        net.run(ms, progress=False)
        spikes.append(int(mon.times.size))
        mon._t.clear()
        mon._i.clear()
    ours = {n: (("ours", n), _threads_setter(net, n), _timed(run)) for n in threads}
    binaries, b2arms = (_brian2_arms("b2", threads, c, ms=ms) if brian2
                        else ({}, None))
    try:
        res = interleaved(f"B2 {proj.synapses.nnz / 1e6:.1f}M synapses, {ms:g} ms",
                          _interleave(ours, b2arms, threads), repeats)
    finally:
        for b in binaries.values():
            b.clean()
    res = _speedups(res, threads, ["ours"] + (["brian2"] if brian2 else []))
    res.update(nnz=int(proj.synapses.nnz), n_out=c["n_out"], simulated_ms=ms,
               steps_per_run=steps, post_ordered_weights=post_ordered, path=path,
               s_per_simulated_s={k: round(v * 1000.0 / ms, 3)
                                  for k, v in res["median_s"].items()},
               build_s=round(build, 2),
               brian2={n: b.summary() for n, b in binaries.items()})
    # output rates (a check that both sides run the same model, not timed)
    res["out_rate_hz"] = {"ours": round(float(np.mean(spikes)) / c["n_out"]
                                        / (ms / 1000.0), 2)}
    for n, b in res["brian2"].items():
        res["out_rate_hz"][f"brian2 {n}"] = round(
            float(np.mean(b["spikes_per_run"])) / c["n_out"]
            / ((WARMUP_MS + ms) / 1000.0), 2)
    return res


def bench_b3(threads, repeats, brian2=False, samples=3):
    c = dict(b3_diehl_cook.CONFIG)
    images, source = b3_diehl_cook.load_images(1 + repeats * len(threads))
    net, inp, exc, proj, mon = b3_diehl_cook.ours_build(c)
    net.threads = threads[0]
    b3_diehl_cook.ours_sample(net, inp, proj, images[0], c)     # warm-up sample
    k = [1]

    def run():
        b3_diehl_cook.ours_sample(net, inp, proj, images[k[0]], c)
        k[0] += 1
    ours = {n: (("ours", n), _threads_setter(net, n), _timed(run)) for n in threads}
    binaries, b3arms = (_brian2_arms("b3", threads, c, per=samples, samples=samples)
                        if brian2 else ({}, None))
    try:
        res = interleaved("B3 one sample (350 + 150 ms)",
                          _interleave(ours, b3arms, threads), repeats)
    finally:
        for b in binaries.values():
            b.clean()
    res = _speedups(res, threads, ["ours"] + (["brian2"] if brian2 else []))
    res.update(images=source, brian2_samples_per_run=samples if brian2 else None,
               brian2={n: b.summary() for n, b in binaries.items()})
    # excitatory spikes per sample (a check that both sides run the same model)
    res["exc_spikes_per_sample"] = {"ours": round(mon.times.size / k[0], 1)}
    for n, b in res["brian2"].items():
        res["exc_spikes_per_sample"][f"brian2 {n}"] = round(
            float(np.mean(b["spikes_per_run"])) / (1 + samples), 1)
    return res


QUIET_MS = 1000.0  # --b3-parts: a run after the rest in which no input arrives at all
SETTLE_MS = 2000.0  # then untimed, until every conductance has decayed to exactly 0


def bench_b3_parts(threads, repeats):
    """B3's sample cut in its parts, interleaved over the thread counts: the 350 ms
    presentation (700 steps), the 150 ms rest (300 steps: after its first 20 no
    input arrives), then ``QUIET_MS`` more without input (no arrivals at all: a step
    is the neuron updates and the threads' synchronisation; not part of a B3
    sample), ``SETTLE_MS`` untimed and ``QUIET_MS`` once more ("idle": every
    conductance is 0, the membrane update needs no exp; what is left of a step is
    the threads' synchronisation) and a run of 0 ms (the fixed cost of a
    ``Network.run`` call, Python). Per step: (run - fixed cost) / steps, in
    microseconds."""
    c = dict(b3_diehl_cook.CONFIG)
    images, source = b3_diehl_cook.load_images(1 + repeats * len(threads))
    net, inp, exc, proj, mon = b3_diehl_cook.ours_build(c)
    net.threads = threads[0]
    b3_diehl_cook.ours_sample(net, inp, proj, images[0], c)     # warm-up sample
    steps = {"present": round(c["t_present"] / c["dt"]),
             "rest": round(c["t_rest"] / c["dt"]), "quiet": round(QUIET_MS / c["dt"]),
             "idle": round(QUIET_MS / c["dt"])}
    times = {(part, n): [] for part in ("present", "rest", "quiet", "idle", "run(0)")
             for n in threads}
    k = 1
    for r in range(repeats):
        for n in threads:
            net.threads = n
            proj.normalize(c["norm"])
            inp.rates = images[k] / 4.0
            k += 1
            for part, ms in (("present", c["t_present"]), ("rest", c["t_rest"]),
                             ("quiet", QUIET_MS), ("idle", QUIET_MS), ("run(0)", 0.0)):
                if part == "rest":
                    inp.rates = 0.0
                if part == "idle":
                    net.run(SETTLE_MS, progress=False)
                t0 = time.perf_counter()
                net.run(ms, progress=False)
                times[(part, n)].append(time.perf_counter() - t0)
    med = {key: statistics.median(v) for key, v in times.items()}
    per_step = {f"{part} {n}": round((med[(part, n)] - med[("run(0)", n)])
                                     / steps[part] * 1e6, 3)
                for part in steps for n in threads}
    fixed = {f"run(0) {n}": round(med[("run(0)", n)] * 1e6, 1) for n in threads}
    print(f"\nB3 in parts ({source} images; medians of {repeats}; per step = (run - "
          f"run(0)) / steps):")
    print("| part | " + " | ".join(f"{n} thr" for n in threads) + " | 1st / each |")
    print("|---|" + "---|" * (len(threads) + 1))
    for part in steps:
        v = [per_step[f"{part} {n}"] for n in threads]
        print(f"| {part}, us per step | " + " | ".join(f"{x:.2f}" for x in v) + " | "
              + ", ".join(f"{v[0] / x:.2f}x" for x in v) + " |")
    print("| Network.run(0), us | " + " | ".join(
        f"{fixed[f'run(0) {n}']:.0f}" for n in threads) + " | |")
    return dict(name="B3 in parts", images=source, repeats=repeats, steps=steps,
                us_per_step=per_step, run0_us=fixed)


def print_table(results, threads):
    cols = [f"ours {n}" for n in threads]
    brian2 = any("brian2_over_ours" in r for r in results)
    if brian2:
        cols += [f"brian2 {n}" for n in threads]
    print("| benchmark | " + " | ".join(f"{c} thr (s)" for c in cols)
          + " | ours speedup | " + ("Brian2 speedup | " if brian2 else "")
          + (" | ".join(f"Brian2/ours {n} thr" for n in threads) + " | " if brian2
             else "") + "load (1 min) min-max |")
    print("|---" * (len(cols) + 3 + (1 + len(threads) if brian2 else 0)) + "|")
    last = threads[-1]
    for r in results:
        loads = [x for pair in r["load_1min"] for x in pair]
        row = [r["name"]] + [f"{r['median_s'].get(c, float('nan')):.4g}" for c in cols]
        row.append(f"{r['speedup']['ours'][last]:.2f}x")
        if brian2:
            row.append(f"{r['speedup']['brian2'][last]:.2f}x" if "brian2" in r["speedup"]
                       else "-")
            row += [f"{r['brian2_over_ours'][n]:.2f}x" if "brian2_over_ours" in r
                    else "-" for n in threads]
        row.append(f"{min(loads):.2f}-{max(loads):.2f}")
        print("| " + " | ".join(row) + " |")
    for r in results:
        if r.get("path"):
            print(f"  {r['name']}: {r['path']}")
        for key in ("out_rate_hz", "exc_spikes_per_sample"):
            if key in r:
                print(f"  {r['name']}: {key} " + ", ".join(
                    f"{k} {v}" for k, v in r[key].items()))
        for n, b in r.get("brian2", {}).items():
            print(f"  {r['name']}: Brian2 {n} thread(s): compile {b['build_s']} s, "
                  f"binary peak RSS {b['peak_rss_mb']} MB")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synapses", type=float, default=16e6)
    ap.add_argument("--b2-ms", type=float, default=600.0,
                    help="simulated ms per timed B2 run (default 600: 6,000 steps, "
                         "the post-ordered path of long runs)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--skip-b2", action="store_true")
    ap.add_argument("--skip-b3", action="store_true")
    ap.add_argument("--brian2", action="store_true",
                    help="also Brian2 cpp_standalone with as many OpenMP threads")
    ap.add_argument("--b3-samples", type=int, default=3,
                    help="timed samples per Brian2 B3 run (default 3)")
    ap.add_argument("--b3-parts", action="store_true",
                    help="also B3's presentation, rest and a run of 0 ms timed apart "
                         "(per step; ours only)")
    ap.add_argument("--json")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--config", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        common.emit(brian2_child(json.loads(a.config)))
        return 0
    try:
        threads = [int(x) for x in a.threads.split(",")]
    except ValueError:
        threads = []
    if not threads or min(threads) < 1:
        ap.error(f"--threads must be a comma-separated list of integers >= 1, "
                 f"got {a.threads!r}")
    for name, v, lo in (("--synapses", a.synapses, 1), ("--b2-ms", a.b2_ms, 0.1),
                        ("--repeats", a.repeats, 1), ("--b3-samples", a.b3_samples, 1)):
        if not v >= lo:
            ap.error(f"{name} must be >= {lo}, got {v}")
    if a.brian2 and not common.brian2_available():
        ap.error("--brian2 needs brian2 and a C++ compiler (g++), not found")
    from plasticity._ext import engine
    info = dict(cores=len(os.sched_getaffinity(0)), openmp=engine.openmp_available(),
                load_at_start=list(os.getloadavg()), argv=sys.argv[1:] if argv is None
                else list(argv))
    print(f"machine: {info['cores']} cores for this process, OpenMP "
          f"{info['openmp']}, load {info['load_at_start']}", flush=True)
    results = []
    if not a.skip_b2:
        results.append(bench_b2(a.synapses, a.b2_ms, threads, a.repeats, a.brian2))
    if not a.skip_b3:
        results.append(bench_b3(threads, a.repeats, a.brian2, a.b3_samples))
    parts = bench_b3_parts(threads, a.repeats) if a.b3_parts else None
    info["peak_rss_mb_this_process"] = round(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    info["load_at_end"] = list(os.getloadavg())
    print()
    print_table(results, threads)
    print(f"  peak RSS of this process (ours): {info['peak_rss_mb_this_process']} MB; "
          f"load at start {info['load_at_start']}, at end {info['load_at_end']}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump([info] + results + ([parts] if parts else []), f, indent=1,
                      default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
