"""The rule language's speed (issue 15, item 3): rules written as text vs hand-made kernels.

Not a peer comparison: every row is ours, each variant in fresh processes, the
variants of one benchmark run interleaved (A B A B ...) so that a shared machine's
load falls on both alike. Three parts:

1. **pair**: additive all-to-all pair STDP written in the language (the text below,
   ``PAIR_TEXT``) against the built-in ``STDP(Pair(...), Additive(...))`` on the B1
   and B2 models (``b1_song.py``, ``b2_scaled.py``: same networks, same seeds, same
   durations; B1 float64, B2 float32 weights). Goal: language <= 1.3x the built-in's
   CPU time.
2. **hand-written**: Vogels-Sprekeler 2011 and Clopath 2010 from
   ``plasticity.rules.library`` against the same rules written by hand in Cython
   (``benchmarks/rule_cython.pyx``, ``CythonRule``s as docs/examples/
   cython_pair_rule.pyx; compiled here at benchmark time with Cython, as
   tests/test_cython_rule.py does). VS: 2,000 Poisson @ 10 Hz -> 1,000 conductance LIF
   (30 mV of injected drive; ~40 Hz at first, falling as the inhibition grows), p 0.2
   (~400k plastic inhibitory synapses onto g_i, 0.005 at first), 2 s. Clopath: 500
   Poisson @ 10 Hz -> 200 AdEx (I_ext 500 pA, V_peak -40 mV), p 0.2 (~20k synapses
   onto I_syn_ex), 2 s. Float64 weights. Goal: language <= 1.5x. The variants' final
   weights are compared (``max_rel_w_diff``: the largest difference from the first
   variant relative to its largest weight). V_peak -40 mV, not AdEx's default 0: with
   0, forward Euler's spike step overshoots to 1e6-1e12 mV and the rule reads that
   pre-reset v, so that rounding differences between two correct implementations grow
   to O(1) in 200 ms; at -40 mV both agree to ~1e-15. Clopath has a third variant,
   "Cython, every synapse": the hand-written rule visiting every synapse every step
   (the loop the language generates for ``on_step``) instead of skipping the
   synapses of a neuron whose [v - theta_plus]+ [u_plus - theta_minus]+ is 0; it
   separates the algorithm from the quality of the generated code.
3. **compile**: first use of a rule with an empty cache (``PLASTICITY_CACHE`` a fresh
   directory, fresh process) and a cached load (another fresh process, same
   directory): wall seconds of generating the C code, compiling it (or finding it in
   the cache) and loading it, and of the first ``Network.run(1 ms)`` of a small
   network with the rule (what a user waits for). Goals: first use <= 3 s, cached
   <= 0.1 s.

Measured per run: CPU seconds of ``Network.run`` (``time.process_time()``; the rule
is compiled or loaded before, untimed, so that parts 1-2 time the simulation only),
build wall seconds, peak RSS of the process (GNU time, see common.py).

    python benchmarks/rule_language.py [--quick] [--repeats N] [--json FILE]
                                       [--parts pair,hand,compile]

``--repeats`` defaults to 5 here (medians of 5 per variant), 1 with ``--quick``.
"""
import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

# one thread on every side: the comparison is of the compiled code, not of the
# threads (benchmarks/threads.py); PLASTICITY_THREADS set by the caller wins
os.environ.setdefault("PLASTICITY_THREADS", "1")

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import b1_song, b2_scaled, common  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "Rule language vs built-in and hand-written kernels"

#: pair STDP (all-to-all, additive, hard bounds) in the rule language
PAIR_TEXT = dict(
    model="""
    dApre/dt = -Apre / tau_plus : 1 (event-driven)
    dApost/dt = -Apost / tau_minus : 1 (event-driven)
    """,
    on_pre="""
    w = clip(w - a_minus * Apost, w_min, w_max)
    Apre += 1
    """,
    on_post="""
    w = clip(w + a_plus * Apre, w_min, w_max)
    Apost += 1
    """)

VS = dict(n_in=2000, n_out=1000, rate=10.0, p=0.2, duration=2000.0, dt=0.1, drive=30.0,
          w0=0.005, seed=3, eta=5e-3, rho0=5.0, w_max=0.5)
CLOPATH = dict(n_in=500, n_out=200, rate=10.0, p=0.2, duration=2000.0, dt=0.1,
               I_ext=500.0, V_peak=-40.0, w0=(40.0, 100.0), seed=4, A_LTP=0.05,
               A_LTD=5e-3, w_max=200.0)
QUICK = dict(b1=dict(duration=2000.0), b2=dict(duration=300.0), vs=dict(duration=200.0),
             clopath=dict(duration=200.0))

GOALS = dict(pair=1.3, hand=1.5, first_use_s=3.0, cached_s=0.1)


# ----------------------------------------------------------------- Cython baselines
def import_cython_rules(build_dir):
    """The module compiled by :func:`build_cython_rules` into ``build_dir``."""
    import importlib
    if build_dir not in sys.path:
        sys.path.insert(0, build_dir)
    return importlib.import_module("rule_cython")


def build_cython_rules(build_dir):
    """Compile benchmarks/rule_cython.pyx into ``build_dir`` (as
    tests/test_cython_rule.py builds docs/examples/cython_pair_rule.pyx) and import
    it; returns the module."""
    import importlib
    examples = os.path.join(common.ROOT, "docs", "examples")
    sys.path.insert(0, examples)
    try:
        builder = importlib.import_module("build_cython_rule")
        name = builder.build(os.path.join(HERE, "rule_cython.pyx"), build_dir)
    finally:
        sys.path.remove(examples)
    if build_dir not in sys.path:
        sys.path.insert(0, build_dir)
    return importlib.import_module(name)


# ----------------------------------------------------------------- our networks
def _prewarm(rule, proj):
    """Compile or load a language rule's code now (both weight orders the engine may
    ask for), so that the timed ``Network.run`` finds it loaded."""
    from plasticity.rules import EquationRule, _codegen
    if not isinstance(rule, EquationRule):
        return
    is64 = proj.synapses.weights.dtype == np.float64
    for kw in ({}, {"post_order": True}):
        try:
            source = _codegen.generate(rule._res, is64, **kw)[0]
        except TypeError:       # a generator without that variant
            continue
        _codegen.compile_rule(source)


def pair_rule(variant, c):
    from plasticity import STDP, Additive, Pair
    from plasticity.rules import EquationRule
    gmax = c["gmax"]
    a_plus = c["a_rel"] * gmax
    a_minus = a_plus * c["ratio"] * c["taupre"] / c["taupost"]
    if variant == "built-in":
        return STDP(Pair(c["taupre"], c["taupost"], a_plus, a_minus, "all-to-all"),
                    Additive(0.0, gmax))
    return EquationRule(**PAIR_TEXT, params=dict(
        tau_plus=c["taupre"], tau_minus=c["taupost"], a_plus=a_plus, a_minus=a_minus,
        w_min=0.0, w_max=gmax), name="pair_language")


def build_song(c, variant):
    """B1/B2's network (b1_song.ours_build) with the pair rule of ``variant``."""
    rule = pair_rule(variant, c)
    net, proj, out, mon = b1_song.ours_build(c, rule=rule)
    return net, proj, rule, mon, c["n_out"]


def build_vs(c, variant, cy=None):
    from plasticity import Network, SynapseMatrix
    from plasticity.neurons import LIFCond
    from plasticity.rules import vogels_sprekeler_2011
    net = Network(dt=c["dt"], seed=c["seed"])
    inp = net.add_poisson("inputs", c["n_in"], c["rate"])
    out = net.add_population("neurons", c["n_out"], LIFCond(),
                             init={"I_ext": c["drive"]})
    syn = SynapseMatrix.fixed_probability(c["n_in"], c["n_out"], c["p"], weight=c["w0"],
                                          rng=c["seed"], dtype=np.float64)
    kw = dict(eta=c["eta"], rho0=c["rho0"], w_max=c["w_max"])
    rule = (vogels_sprekeler_2011(**kw) if variant == "language"
            else cy.CythonVogelsSprekeler(**kw))
    proj = net.connect(inp, out, syn, target="g_i", rule=rule, name="inh")
    return net, proj, rule, net.monitor_spikes(out), c["n_out"]


def build_clopath(c, variant, cy=None):
    from plasticity import Network, SynapseMatrix
    from plasticity.neurons import AdEx
    from plasticity.rules import clopath_2010
    net = Network(dt=c["dt"], seed=c["seed"])
    inp = net.add_poisson("inputs", c["n_in"], c["rate"])
    out = net.add_population("neurons", c["n_out"], AdEx(V_peak=c["V_peak"]),
                             init={"I_ext": c["I_ext"]})
    lo, hi = c["w0"]
    syn = SynapseMatrix.fixed_probability(
        c["n_in"], c["n_out"], c["p"], weight=lambda g, n: g.uniform(lo, hi, n),
        rng=c["seed"], dtype=np.float64)
    kw = dict(A_LTP=c["A_LTP"], A_LTD=c["A_LTD"], w_max=c["w_max"])
    # undelayed u_minus/u_plus: the hand-written Cython kernel has no delay
    rule = (clopath_2010(**kw, delay_u_bars=None) if variant == "language" else cy.CythonClopath(
        **kw, every_synapse=variant == "Cython, every synapse"))
    proj = net.connect(inp, out, syn, target="I_syn_ex", rule=rule, name="input")
    return net, proj, rule, net.monitor_spikes(out), c["n_out"]


BUILDERS = dict(b1=build_song, b2=build_song, vs=build_vs, clopath=build_clopath)


def run_case(case, c, variant, cython_dir=None, weights_out=None):
    """Build and run one variant in this process; returns the measurements."""
    cy = import_cython_rules(cython_dir) if variant.startswith("Cython") else None
    t0 = time.perf_counter()
    if case in ("b1", "b2"):
        net, proj, rule, mon, n_out = build_song(c, variant)
    else:
        net, proj, rule, mon, n_out = BUILDERS[case](c, variant, cy)
    build = time.perf_counter() - t0
    _prewarm(rule, proj)
    cpu, _ = common.sim_cpu(net.run, c["duration"], progress=False)
    w = np.asarray(proj.weights, dtype=np.float64)
    if weights_out:
        np.save(weights_out, w)
    return dict(sim_cpu_s=cpu, build_s=build, nnz=int(proj.synapses.nnz),
                out_rate_hz=float(mon.times.size / n_out / (c["duration"] / 1000.0)),
                w_mean=float(w.mean()))


def compile_case(rule_name, second_cache=None):
    """Child of part 3 (PLASTICITY_CACHE set by the parent): wall seconds of generate +
    compile-or-load, and of the first 1 ms run of a small network with the rule."""
    from plasticity import Network, SynapseMatrix
    from plasticity.neurons import AdEx, LIFCond
    from plasticity.rules import (EquationRule, _codegen, clopath_2010,
                                  tsodyks_markram_1997, vogels_sprekeler_2011)
    rules = dict(pair=lambda: EquationRule(**PAIR_TEXT, params=dict(
        tau_plus=20.0, tau_minus=20.0, a_plus=1e-4, a_minus=1.05e-4, w_min=0.0,
        w_max=0.01)), vogels_sprekeler=vogels_sprekeler_2011,
        tsodyks_markram=lambda: tsodyks_markram_1997(tau_f=500.0), clopath=clopath_2010)
    targets = dict(vogels_sprekeler="g_i", clopath="I_syn_ex")

    def network():
        net = Network(dt=0.1, seed=0)
        inp = net.add_poisson("inputs", 20, 10.0)
        model = AdEx() if rule_name == "clopath" else LIFCond()
        out = net.add_population("neurons", 5, model)
        rule = rules[rule_name]()
        proj = net.connect(inp, out, SynapseMatrix.all_to_all(20, 5, weight=0.01),
                           target=targets.get(rule_name, "g_e"), rule=rule)
        return net, proj, rule

    # what a user waits for: the first run, compiling (empty cache) or loading
    net, proj, rule = network()
    t0 = time.perf_counter()
    net.run(1.0, progress=False)
    run_s = time.perf_counter() - t0
    # the code alone: generate + compile-or-load, again from the same cache state
    # (a second fresh directory where the parent's was empty)
    if second_cache:
        os.environ["PLASTICITY_CACHE"] = second_cache
    _codegen._LOADED.clear()
    net, proj, rule = network()
    is64 = proj.synapses.weights.dtype == np.float64
    t0 = time.perf_counter()
    source = _codegen.generate(rule._res, is64)[0]
    _codegen.compile_rule(source)
    code_s = time.perf_counter() - t0
    return dict(code_s=code_s, first_run_s=run_s, c_lines=source.count("\n"))


# ----------------------------------------------------------------- parent
def case_configs(quick):
    q = QUICK if quick else {}
    return dict(
        b1=dict(b1_song.CONFIG, **q.get("b1", {})),
        b2=dict(b2_scaled.CONFIG, **q.get("b2", {})),
        vs=dict(VS, **q.get("vs", {})),
        clopath=dict(CLOPATH, **q.get("clopath", {})))


def measure_case(case, c, variants, repeats, cython_dir, title):
    """Variants interleaved, ``repeats`` rounds; returns the table rows."""
    runs = {v: [] for v in variants}
    tmp = tempfile.mkdtemp(prefix="bench_rules_w_")
    weights = {}
    try:
        for r in range(repeats):
            for v in variants:
                wf = os.path.join(tmp, f"{variants.index(v)}.npy") if r == 0 else None
                runs[v].append(common.spawn_child(
                    os.path.abspath(__file__), "run",
                    dict(case=case, c=c, variant=v, cython_dir=cython_dir,
                         weights_out=wf)))
                if wf:
                    weights[v] = np.load(wf)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = []
    ref = weights[variants[0]]
    for v in variants:
        rs = runs[v]
        w = weights[v]
        diff = float(np.max(np.abs(w - ref)) / max(np.max(np.abs(ref)), 1e-300)) \
            if w.shape == ref.shape else float("nan")
        extra = {k: rs[-1][k] for k in ("nnz", "out_rate_hz", "w_mean")}
        extra["max_rel_w_diff"] = diff
        row = common.summarize(title, v, rs, statistics.median(r["build_s"] for r in rs),
                               1.0, extra)
        row["sim_all"] = [r["sim_cpu_s"] for r in rs]
        rows.append(row)
    base = rows[0]["sim_median"]
    for row in rows:
        row["ratio_to_first"] = row["sim_median"] / base if base > 0 else float("nan")
    return rows


def measure_compile(repeats):
    rows = []
    for name in ("pair", "vogels_sprekeler", "tsodyks_markram", "clopath"):
        first, cached = [], []
        for _ in range(repeats):
            d = tempfile.mkdtemp(prefix="bench_rules_cache_")
            d2 = tempfile.mkdtemp(prefix="bench_rules_cache2_")
            old = os.environ.get("PLASTICITY_CACHE")
            os.environ["PLASTICITY_CACHE"] = d
            try:
                script = os.path.abspath(__file__)
                first.append(common.spawn_child(script, "compile",
                                                dict(rule=name, second_cache=d2)))
                cached.append(common.spawn_child(script, "compile", dict(rule=name)))
            finally:
                if old is None:
                    os.environ.pop("PLASTICITY_CACHE", None)
                else:
                    os.environ["PLASTICITY_CACHE"] = old
                shutil.rmtree(d, ignore_errors=True)
                shutil.rmtree(d2, ignore_errors=True)
        med = statistics.median
        rows.append(dict(rule=name, n=repeats, c_lines=first[0]["c_lines"],
                         first_code_s=med(r["code_s"] for r in first),
                         first_run_s=med(r["first_run_s"] for r in first),
                         cached_code_s=med(r["code_s"] for r in cached),
                         cached_run_s=med(r["first_run_s"] for r in cached),
                         first_code_max_s=max(r["code_s"] for r in first),
                         cached_code_max_s=max(r["code_s"] for r in cached)))
    return rows


def print_case(rows, goal, file=sys.stdout):
    print("| variant | sim CPU s (median) | min-max | n | ratio to first | build s "
          "| peak RSS MB | max rel w diff |", file=file)
    print("|---|---|---|---|---|---|---|---|", file=file)
    for r in rows:
        print(f"| {r['side']} | {r['sim_median']:.4g} | {r['sim_min']:.4g}-"
              f"{r['sim_max']:.4g} | {r['n']} | {r['ratio_to_first']:.2f}x | "
              f"{r['build_s']:.2f} | {r['peak_rss_mb']:.0f} | "
              f"{r['extra']['max_rel_w_diff']:.2g} |", file=file)
    lang = next(r for r in rows if r["side"] == "language")
    other = rows[0]
    ratio = lang["sim_median"] / other["sim_median"]
    print(f"  language / {other['side']}: {ratio:.2f}x (goal <= {goal}x: "
          f"{'met' if ratio <= goal else 'MISSED'}); nnz {lang['extra']['nnz']}, "
          f"output {lang['extra']['out_rate_hz']:.1f} Hz", file=file)
    return ratio


def print_compile(rows, file=sys.stdout):
    print("| rule | C lines | first use: code s | first run(1 ms) s | cached: code s "
          "| cached run(1 ms) s |", file=file)
    print("|---|---|---|---|---|---|", file=file)
    for r in rows:
        print(f"| {r['rule']} | {r['c_lines']} | {r['first_code_s']:.3f} | "
              f"{r['first_run_s']:.3f} | {r['cached_code_s']:.4f} | "
              f"{r['cached_run_s']:.4f} |", file=file)
    worst_first = max(max(r["first_run_s"], r["first_code_s"]) for r in rows)
    worst_cached = max(max(r["cached_run_s"], r["cached_code_s"]) for r in rows)
    print(f"  worst first use {worst_first:.2f} s (goal <= {GOALS['first_use_s']} s: "
          f"{'met' if worst_first <= GOALS['first_use_s'] else 'MISSED'}), worst cached "
          f"{worst_cached:.3f} s (goal <= {GOALS['cached_s']} s: "
          f"{'met' if worst_cached <= GOALS['cached_s'] else 'MISSED'})", file=file)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=NAME)
    ap.add_argument("--quick", action="store_true", help="short durations, 1 run each")
    ap.add_argument("--repeats", type=int, default=None,
                    help="runs per variant (default 5, 1 with --quick)")
    ap.add_argument("--parts", default="pair,hand,compile",
                    help="comma-separated: pair, hand, compile")
    ap.add_argument("--json", default=None, help="also write the results to this file")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--config", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.child:
        c = json.loads(args.config)
        if args.child == "run":
            common.emit(run_case(c["case"], c["c"], c["variant"], c["cython_dir"],
                                 c["weights_out"]))
        else:
            common.emit(compile_case(c["rule"], c.get("second_cache")))
        return 0
    parts = set(args.parts.split(","))
    cfg = case_configs(args.quick)
    out = dict(title=NAME, quick=args.quick, repeats=args.repeats, goals=GOALS,
               cases={}, ratios={})
    print(f"{NAME}: {args.repeats} run(s) per variant, interleaved", flush=True)
    if "pair" in parts:
        for case, title in (("b1", b1_song.NAME), ("b2", b2_scaled.NAME)):
            rows = measure_case(case, cfg[case], ["built-in", "language"], args.repeats,
                                None, title)
            print(f"\n## {case.upper()} pair STDP: language vs built-in "
                  f"({cfg[case]['duration'] / 1000:g} s simulated, "
                  f"{cfg[case]['dtype']} weights)")
            out["ratios"][case] = print_case(rows, GOALS["pair"])
            out["cases"][case] = rows
    if "hand" in parts:
        cython_dir = tempfile.mkdtemp(prefix="bench_rules_cython_")
        try:
            t0 = time.perf_counter()
            build_cython_rules(cython_dir)
            print(f"\n(Cython baselines compiled in {time.perf_counter() - t0:.1f} s)")
            for case, title in (("vs", "Vogels-Sprekeler 2011"),
                                ("clopath", "Clopath 2010")):
                c = cfg[case]
                variants = ["Cython by hand", "language"]
                if case == "clopath":
                    variants.append("Cython, every synapse")
                rows = measure_case(case, c, variants, args.repeats, cython_dir, title)
                print(f"\n## {title}: language vs hand-written Cython "
                      f"({c['n_in']} -> {c['n_out']}, p {c['p']}, "
                      f"{c['duration'] / 1000:g} s simulated, float64 weights)")
                out["ratios"][case] = print_case(rows, GOALS["hand"])
                out["cases"][case] = rows
        finally:
            shutil.rmtree(cython_dir, ignore_errors=True)
    if "compile" in parts:
        rows = measure_compile(max(1, min(args.repeats, 3)))
        print("\n## Compile time: first use (empty PLASTICITY_CACHE) and cached load "
              "(fresh processes; medians)")
        print_compile(rows)
        out["compile"] = rows
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
