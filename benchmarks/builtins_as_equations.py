"""The built-in STDP rules written in the rule language vs their hand-specialised
kernels, on the B1, B2 and B3 models (issue 15 item 4).

Each model runs with its rule as the kernel (``STDP(...)``) and as equations
(``STDP(...).to_equation_rule()``: the same numbers, bit for bit, tests/
test_rule_language.py), interleaved, in this process; prints the median CPU time of
the simulation phase of each and the ratio language / kernel. The kernels stay the
default where this ratio is above 1.05 (the issue's bound).

    python benchmarks/builtins_as_equations.py [--repeats N] [--quick] [--json FILE]
"""
import argparse
import json
import os
import statistics
import sys

# one thread on both sides: rules of the rule language run on one thread for now
# (docs/internals.md, "Threads"), the kernels would get more
os.environ.setdefault("PLASTICITY_THREADS", "1")

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import b1_song, b2_scaled, b3_diehl_cook  # noqa: E402

MODELS = {
    "B1": (b1_song, dict(duration=20_000.0), dict(duration=2_000.0)),
    "B2": (b2_scaled, dict(duration=1_000.0), dict(duration=200.0)),
    "B3": (b3_diehl_cook, dict(n_samples=30, n_warmup=2), dict(n_samples=4, n_warmup=1)),
}


def measure(models, repeats, quick):
    out = {}
    for name in models:
        mod, full, short = MODELS[name]
        cfg = dict(mod.CONFIG, **(short if quick else full))
        times = {"kernel": [], "language": []}
        for _ in range(repeats):
            for form in ("kernel", "language"):      # interleaved: the same load
                r = mod.ours_run(dict(cfg, rule_form=form))
                times[form].append(r["sim_cpu_s"])
        k, l = statistics.median(times["kernel"]), statistics.median(times["language"])
        out[name] = dict(kernel_s=k, language_s=l, ratio=l / k, runs=times,
                         load=os.getloadavg())
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="short runs, 1 repeat")
    ap.add_argument("--models", default="B1,B2,B3")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in MODELS:
            ap.error(f"--models: unknown model {m!r}; choose from {sorted(MODELS)}")
    res = measure(models, 1 if args.quick else args.repeats, args.quick)
    print("| model | kernel CPU s (median) | language CPU s (median) | language / kernel "
          "| load (1, 5, 15 min) |")
    print("|---|---|---|---|---|")
    for name, r in res.items():
        print(f"| {name} | {r['kernel_s']:.4g} | {r['language_s']:.4g} | "
              f"{r['ratio']:.2f}x | {', '.join(f'{x:.1f}' for x in r['load'])} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
