"""B1 and B2 written once in PyNN, timed on plasticity.pynn, pyNN.nest and pyNN.brian2.

    python benchmarks/pynn_speed.py [--models B1,B2] [--backends plasticity,nest,brian2]
                                   [--repeats 3] [--full] [--out table.md]

The models are those of b1_song.py and b2_scaled.py (B1: 1000 Poisson inputs at 15 Hz
-> 1 IF_cond_exp, all-to-all additive pair STDP, gmax 0.01 g_L; B2: 10k inputs at
10 Hz -> 1k IF_cond_exp, FixedProbability 0.1, gmax 0.015 g_L), dt 0.1 ms, delay
0.1 ms, written once (:func:`build`) with ``sim`` the backend. Default durations are
short (B1 10 s, B2 0.5 s; ``--full``: B1 100 s, B2 5 s as the native benchmarks).

Every run is a fresh process (interleaved: run r of every backend before run r + 1),
measured as the other benchmarks (benchmarks/common.py): build = wall seconds of
``setup`` + populations + projection; sim CPU = ``time.process_time()`` around
``sim.run`` (NEST with one thread; pyNN.brian2 in Brian2's runtime mode, its code
generation inside ``run``); process CPU = the whole process (imports, build, run,
reading the results); peak RSS of the process. Medians over the
repeats; ratios = backend / plasticity.pynn; the load average (os.getloadavg) before
and after each side is printed with them: the machine may be shared.

pyNN.nest requires ``pip install nest-simulator``; pyNN.brian2 Brian2 (2.9 works):
both optional, a missing one is skipped. Writes only --out.
"""
import argparse
import json
import os
import statistics
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import common  # noqa: E402

MODELS = {
    "B1": dict(n_in=1000, n_out=1, rate=15.0, p=1.0, gmax=0.01, duration=10_000.0,
               full=100_000.0),
    "B2": dict(n_in=10_000, n_out=1000, rate=10.0, p=0.1, gmax=0.015, duration=500.0,
               full=5_000.0),
}
COMMON = dict(dt=0.1, taum=10.0, taue=5.0, Ee=0.0, vt=-54.0, vr=-60.0, El=-74.0,
              cm=1.0, taupre=20.0, taupost=20.0, a_rel=0.01, ratio=1.05, seed=1)
BACKENDS = {"plasticity": "plasticity.pynn", "nest": "pyNN.nest", "brian2": "pyNN.brian2"}


def build(sim, c):
    """The model, written once in PyNN. Returns (output population, projection)."""
    from pyNN.random import NumpyRNG, RandomDistribution
    sim.setup(timestep=c["dt"], min_delay=c["dt"], max_delay=1.0, seed=c["seed"])
    g_l = c["cm"] / c["taum"]                       # uS; weights relative to it
    rng = NumpyRNG(seed=c["seed"])
    inp = sim.Population(c["n_in"], sim.SpikeSourcePoisson(rate=c["rate"]))
    out = sim.Population(c["n_out"], sim.IF_cond_exp(
        cm=c["cm"], tau_m=c["taum"], v_rest=c["El"], v_thresh=c["vt"], v_reset=c["vr"],
        e_rev_E=c["Ee"], tau_syn_E=c["taue"], tau_refrac=0.0, i_offset=0.0),
        initial_values={"v": c["El"]})
    gmax = c["gmax"] * g_l
    a_plus = c["a_rel"]
    kw = {}
    if sim.__name__ != "pyNN.nest":   # pyNN.nest only has dendritic delays
        kw["dendritic_delay_fraction"] = 0
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(
            tau_plus=c["taupre"], tau_minus=c["taupost"], A_plus=a_plus,
            A_minus=a_plus * c["ratio"] * c["taupre"] / c["taupost"]),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=gmax),
        weight=RandomDistribution("uniform", (0.0, gmax), rng=rng), delay=c["dt"], **kw)
    if c["p"] >= 1.0:
        conn = sim.AllToAllConnector()
    else:
        conn = sim.FixedProbabilityConnector(c["p"], rng=rng)
    prj = sim.Projection(inp, out, conn, stdp, receptor_type="excitatory")
    out.record("spikes")
    return out, prj, g_l


def child(backend, c):
    import importlib
    import resource
    import warnings
    if c.get("_cpu_limit"):                 # a run over it is killed (SIGXCPU)
        lim = int(c["_cpu_limit"])
        resource.setrlimit(resource.RLIMIT_CPU, (lim, lim))
    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    sim = importlib.import_module(BACKENDS[backend])
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    out, prj, g_l = build(sim, c)
    t_build = time.perf_counter() - t0
    cpu, _ = common.sim_cpu(sim.run, c["duration"])
    n_spikes = sum(len(st) for st in out.get_data().segments[0].spiketrains)
    w = prj.get("weight", format="list", with_address=False)
    import numpy as np
    w = np.asarray(w, dtype=float) / g_l
    res = dict(sim_cpu_s=cpu, build_s=t_build, import_s=t_import, nnz=int(w.size),
               out_rate_hz=n_spikes / c["n_out"] / (c["duration"] / 1000.0),
               w_mean_over_gmax=float(w.mean() / c["gmax"]))
    sim.end()
    return res


def available(backend):
    import importlib.util
    mod = {"plasticity": "pyNN", "nest": "nest", "brian2": "brian2"}[backend]
    return importlib.util.find_spec(mod) is not None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="B1,B2")
    ap.add_argument("--backends", default="plasticity,nest,brian2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--cpu-limit", type=float, default=600.0,
                    help="CPU seconds a run may take before it is killed (default 600)")
    ap.add_argument("--duration", type=float, default=None,
                    help="simulated ms (overrides the model's default)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", default=None)
    ap.add_argument("--config", default=None)
    args = ap.parse_args(argv)
    if args.child:
        common.emit(child(args.child, json.loads(args.config)))
        return 0
    backends = [b for b in args.backends.split(",") if available(b)]
    skipped = [b for b in args.backends.split(",") if b not in backends]
    if skipped:
        print(f"not installed, skipped: {', '.join(skipped)}", file=sys.stderr)
    lines = ["| model | backend | sim CPU s (median) | ratio to ours | build s | "
             "process CPU s | peak RSS MB | out rate Hz | mean w/gmax | "
             "load avg before/after |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for model in args.models.split(","):
        m = dict(MODELS[model])
        full = m.pop("full")
        c = dict(COMMON, **m)
        if args.full:
            c["duration"] = full
        if args.duration:
            c["duration"] = args.duration
        c["_cpu_limit"] = args.cpu_limit
        runs = {b: [] for b in backends}
        loads = {b: [] for b in backends}
        for r in range(args.repeats):
            for b in backends:
                before = os.getloadavg()[0]
                try:
                    res = common.spawn_child(os.path.abspath(__file__), b, c)
                except RuntimeError as e:
                    print(f"{model} {b}: {e}", file=sys.stderr)
                    continue
                loads[b].append((before, os.getloadavg()[0]))
                runs[b].append(res)
                print(f"{model} {b} run {r + 1}: sim CPU {res['sim_cpu_s']:.2f} s, build "
                      f"{res['build_s']:.2f} s, RSS {res['peak_rss_bytes'] / 2**20:.0f} MB, "
                      f"rate {res['out_rate_hz']:.1f} Hz", file=sys.stderr, flush=True)
        ours = statistics.median(x["sim_cpu_s"] for x in runs[backends[0]]) \
            if runs.get(backends[0]) else float("nan")
        for b in backends:
            if not runs[b]:
                lines.append(f"| {model} | {BACKENDS[b]} | failed or over "
                             f"{args.cpu_limit:g} CPU s | | | | | | | |")
                continue
            med = {k: statistics.median(x[k] for x in runs[b])
                   for k in ("sim_cpu_s", "build_s", "proc_cpu_s", "peak_rss_bytes",
                             "out_rate_hz", "w_mean_over_gmax")}
            ld = " ".join(f"{a:.1f}/{z:.1f}" for a, z in loads[b])
            lines.append(
                f"| {model} ({c['duration'] / 1000:g} s, {runs[b][0]['nnz']} syn) | "
                f"{BACKENDS[b]} | {med['sim_cpu_s']:.2f} | "
                f"{med['sim_cpu_s'] / ours:.2f} | {med['build_s']:.2f} | "
                f"{med['proc_cpu_s']:.1f} | {med['peak_rss_bytes'] / 2**20:.0f} | "
                f"{med['out_rate_hz']:.1f} | "
                f"{med['w_mean_over_gmax']:.3f} | {ld} |")
    lines.append("")
    lines.append(f"{args.repeats} interleaved fresh-process runs per backend; "
                 f"{os.cpu_count()} CPUs; ratio = backend / plasticity.pynn")
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
