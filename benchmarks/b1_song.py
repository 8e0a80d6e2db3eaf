"""B1: Song, Miller & Abbott 2000 as Brian2's examples/synapses/STDP.py, ours vs Brian2.

1000 Poisson inputs at 15 Hz -> 1 conductance LIF (taum 10 ms, taue 5 ms, Ee 0 mV,
vt -54 mV, vr -60 mV, El -74 mV, v starts at El, no refractory period), gmax 0.01,
initial weights U[0, gmax), all-to-all additive pair STDP (taupre = taupost = 20 ms,
Apre = 0.01 gmax, Apost = -1.05 Apre), 100 s at dt 0.1 ms, exponential Euler on both
sides. Prints CPU seconds of the simulation phase (median of 3 fresh processes per
side), build/compile seconds, peak RSS and the ratio Brian2 / ours. Both sides run
on one thread (ours: ``PLASTICITY_THREADS`` defaults to 1 in the measured child).

    python benchmarks/b1_song.py [--quick] [--repeats N] [--ours-only] [--json FILE]

The model is ``song_abbott_2000``'s ``--set model=brian2-example`` (not the paper's
model, the experiment's default); tests/test_song_abbott_2000.py checks that
``ours_build`` and the experiment build the same network (identical spikes and weights).

The model functions (``ours_build``, ``ours_run``, ``brian2_model``) are shared with B2
(``b2_scaled.py``), which scales the same model to 10k -> 1k inputs at p = 0.1.
"""
import json
import os
import shutil
import sys
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import common  # noqa: E402

NAME = "B1 Song 2000: 1000 Poisson @15 Hz -> 1 LIF, additive pair STDP"

CONFIG = dict(n_in=1000, n_out=1, rate=15.0, p=1.0, gmax=0.01, duration=100_000.0,
              dt=0.1, taum=10.0, taue=5.0, Ee=0.0, vt=-54.0, vr=-60.0, El=-74.0,
              taupre=20.0, taupost=20.0, a_rel=0.01, ratio=1.05, seed=1,
              dtype="float64")
QUICK = dict(duration=2000.0)


# ----------------------------------------------------------------- ours
def ours_build(c, rule=None):
    """The network: (net, projection, output population, output spike monitor);
    ``rule`` replaces the built-in pair rule (benchmarks/rule_language.py)."""
    from plasticity import STDP, Additive, Network, Pair, SynapseMatrix
    from plasticity.neurons import LIFCond
    net = Network(dt=c["dt"], seed=c["seed"])
    inp = net.add_poisson("inputs", c["n_in"], c["rate"])
    out = net.add_population("neurons", c["n_out"], LIFCond(
        tau_m=c["taum"], E_L=c["El"], V_th=c["vt"], V_reset=c["vr"], E_e=c["Ee"],
        tau_e=c["taue"], t_ref=0.0))
    gmax = c["gmax"]
    dtype = np.dtype(c["dtype"]).type

    def uniform(rng, n):
        return rng.uniform(0.0, gmax, n)
    if c["p"] >= 1.0:
        syn = SynapseMatrix.all_to_all(c["n_in"], c["n_out"], weight=uniform,
                                       rng=c["seed"], dtype=dtype)
    else:
        syn = SynapseMatrix.fixed_probability(c["n_in"], c["n_out"], c["p"],
                                              weight=uniform, rng=c["seed"], dtype=dtype)
    a_plus = c["a_rel"] * gmax
    a_minus = a_plus * c["ratio"] * c["taupre"] / c["taupost"]
    if rule is None:
        rule = STDP(Pair(c["taupre"], c["taupost"], a_plus, a_minus, "all-to-all"),
                    Additive(0.0, gmax))
        if c.get("rule_form", "kernel") == "language":   # the same rule as equations
            rule = rule.to_equation_rule()
    proj = net.connect(inp, out, syn, target="g_e", rule=rule, name="input")
    mon = net.monitor_spikes(out)
    return net, proj, out, mon


def weight_stats(w, gmax):
    w = np.asarray(w, dtype=np.float64)
    return dict(w_mean_over_gmax=float(w.mean() / gmax),
                frac_near_0=float(np.mean(w < 0.1 * gmax)),
                frac_near_gmax=float(np.mean(w > 0.9 * gmax)))


def ours_run(c):
    """Build and run our side in this process; returns the measurements."""
    t0 = time.perf_counter()
    net, proj, out, mon = ours_build(c)
    build = time.perf_counter() - t0
    cpu, _ = common.sim_cpu(net.run, c["duration"], progress=False)
    rate = mon.times.size / c["n_out"] / (c["duration"] / 1000.0)
    res = dict(sim_cpu_s=cpu, build_s=build, out_rate_hz=float(rate),
               nnz=int(proj.synapses.nnz))
    res.update(weight_stats(proj.weights, c["gmax"]))
    return res


# ----------------------------------------------------------------- Brian2
def brian2_model(c):
    """Brian2's examples/synapses/STDP.py with our conventions (v starts at El,
    exponential Euler). Returns (network, output group, synapses, spike monitor)."""
    from brian2 import (Hz, Network, NeuronGroup, PoissonGroup, SpikeMonitor,
                        Synapses, defaultclock, ms, mV, seed)
    defaultclock.dt = c["dt"] * ms
    seed(c["seed"])
    taum, taue = c["taum"] * ms, c["taue"] * ms
    Ee, vt, vr, El = c["Ee"] * mV, c["vt"] * mV, c["vr"] * mV, c["El"] * mV
    taupre, taupost = c["taupre"] * ms, c["taupost"] * ms
    gmax = c["gmax"]
    dApre = c["a_rel"] * gmax
    dApost = -dApre * c["taupre"] / c["taupost"] * c["ratio"]
    eqs = """dv/dt = (ge * (Ee-v) + El - v) / taum : volt
             dge/dt = -ge / taue : 1"""
    inp = PoissonGroup(c["n_in"], rates=c["rate"] * Hz)
    neurons = NeuronGroup(c["n_out"], eqs, threshold="v>vt", reset="v = vr",
                          method="exponential_euler",
                          namespace=dict(Ee=Ee, El=El, taum=taum, taue=taue, vt=vt,
                                         vr=vr))
    neurons.v = El
    S = Synapses(inp, neurons,
                 """w : 1
                    dApre/dt = -Apre / taupre : 1 (event-driven)
                    dApost/dt = -Apost / taupost : 1 (event-driven)""",
                 on_pre="""ge += w
                           Apre += dApre
                           w = clip(w + Apost, 0, gmax)""",
                 on_post="""Apost += dApost
                            w = clip(w + Apre, 0, gmax)""",
                 namespace=dict(taupre=taupre, taupost=taupost, dApre=dApre,
                                dApost=dApost, gmax=gmax))
    if c["p"] >= 1.0:
        S.connect()
    else:
        S.connect(p=c["p"])
    S.w = "rand() * gmax"
    mon = SpikeMonitor(neurons, record=False)
    return Network(inp, neurons, S, mon), neurons, S, mon


def brian2_run(c, repeats):
    """Generate + compile once, run the binary ``repeats`` times (in this process's
    children)."""
    from brian2 import ms, set_device
    directory = common.brian2_standalone_dir("b1b2")
    set_device("cpp_standalone", directory=directory, build_on_run=False)
    net, neurons, S, mon = brian2_model(c)
    net.run(c["duration"] * ms)
    build = common.brian2_build(directory)
    runs = common.brian2_run_binary(repeats)
    rate = float(np.sum(mon.count[:]) / c["n_out"] / (c["duration"] / 1000.0))
    extra = dict(out_rate_hz=rate, nnz=int(len(S.w[:])))
    extra.update(weight_stats(S.w[:], c["gmax"]))
    return dict(build_s=build, runs=runs, extra=extra, directory=directory)


# ----------------------------------------------------------------- driver
def child(side, c, repeats=1):
    if side == "ours":
        return ours_run(c)
    return brian2_run(c, repeats)


def measure(name, config, args, unit_divisor=1.0, script=__file__):
    """Run both sides; returns the table rows."""
    rows = []
    ours = [common.spawn_child(script, "ours", config) for _ in range(args.repeats)]
    keys = [k for k in ours[-1] if k not in ("sim_cpu_s", "build_s", "proc_cpu_s",
                                             "peak_rss_bytes", "wall_s")]
    rows.append(common.summarize(
        name, "plasticity", ours, statistics_median([r["build_s"] for r in ours]),
        unit_divisor, {k: ours[-1][k] for k in keys}))
    if not args.ours_only:
        if common.brian2_available():
            b = common.spawn_child(script, "brian2", dict(config, _repeats=args.repeats))
            if not os.environ.get("BENCH_KEEP_BUILD"):  # set it to inspect the project
                for d in (b["directory"], b["directory"] + "_norm"):
                    shutil.rmtree(d, ignore_errors=True)
            rows.append(common.summarize(name, "Brian2 cpp_standalone", b["runs"],
                                         b["build_s"], unit_divisor, b["extra"]))
        else:
            print("Brian2 (or g++) not available: Brian2 side skipped", file=sys.stderr)
    return rows


def statistics_median(x):
    import statistics
    return statistics.median(x)


def main(argv=None, name=NAME, config=CONFIG, quick=QUICK, unit="s",
         per_simulated_second=False, script=__file__, child_fn=None, per=None):
    """Parent: run both sides and print the table. Child (``--child``): run one side
    (``child_fn(side, config, repeats)``, default this module's) and emit its result.
    ``per(config) -> (divisor, title suffix)`` scales the times (default: the whole
    run, or per simulated second)."""
    args = common.parse_args(name, argv)
    if args.child:
        # one thread on our side, as Brian2's cpp_standalone here (benchmarks/threads.py
        # measures threads); PLASTICITY_THREADS set by the caller wins
        os.environ.setdefault("PLASTICITY_THREADS", "1")
        c = json.loads(args.config)
        common.emit((child_fn or child)(args.child, c, c.get("_repeats", 1)))
        return 0
    c = dict(config, **(quick if args.quick else {}))
    if per is not None:
        div, suffix = per(c)
    elif per_simulated_second:
        div, suffix = c["duration"] / 1000.0, " (per simulated second)"
    else:
        div, suffix = 1.0, f" ({c['duration'] / 1000:g} s simulated)"
    print(f"{name}{suffix}: dt {c['dt']} ms, {args.repeats} run(s) per side",
          flush=True)
    rows = measure(name, c, args, div, script)
    common.finish(args, name + suffix, rows, unit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
