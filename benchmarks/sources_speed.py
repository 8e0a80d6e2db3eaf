"""The cost of the renewal-process sources against the Poisson source, side by side.

    python benchmarks/sources_speed.py [--n 10000] [--rate 10] [--duration 10000]
                                       [--repeats 3]

Each kind runs ``n`` sources at ``rate`` Hz for ``duration`` ms (dt 0.1, one spike
monitor) in a fresh process, the kinds interleaved, ``repeats`` times: CPU seconds of
``Network.run`` (medians), the ratio to ``add_poisson`` (the compiled Bernoulli heap),
spikes per CPU second and peak RSS. The gamma and dead-time sources draw in NumPy per
run segment (plasticity/sources.py); the gamma interval is an inversion
(``scipy.special.gammaincinv``), the costly part.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import RESULT_TAG, spawn_child  # noqa: E402

KINDS = {
    "poisson": "net.add_poisson('s', n, rate)",
    "poisson_refractory(2 ms)": "net.add_poisson_refractory('s', n, rate, 2.0)",
    "gamma(alpha 2)": "net.add_gamma('s', n, 2.0, 2.0 * rate)",
    "gamma(alpha 5.5)": "net.add_gamma('s', n, 5.5, 5.5 * rate)",
}


def child(config):
    import numpy as np  # noqa: F401
    from plasticity.network import Network
    n, rate, T = config["n"], config["rate"], config["duration"]
    net = Network(dt=0.1, seed=1, threads=1)
    src = eval(KINDS[config["kind"]], {"net": net, "n": n, "rate": rate})  # noqa: S307
    mon = net.monitor_spikes(src)
    t0 = time.process_time()
    net.run(T, progress=False)
    cpu = time.process_time() - t0
    print(RESULT_TAG + json.dumps({"sim_cpu_s": cpu, "spikes": int(mon.times.size)}),
          flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--duration", type=float, default=10000.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", default=None)
    ap.add_argument("--config", default=None)
    args = ap.parse_args(argv)
    if args.child:
        return child(json.loads(args.config))
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    runs = {k: [] for k in KINDS}
    for _ in range(args.repeats):
        for kind in KINDS:
            cfg = dict(kind=kind, n=args.n, rate=args.rate, duration=args.duration)
            runs[kind].append(spawn_child(os.path.abspath(__file__), "ours", cfg))
    base = statistics.median(r["sim_cpu_s"] for r in runs["poisson"])
    print(f"{args.n} sources at {args.rate:g} Hz for {args.duration:g} ms, dt 0.1, "
          f"medians of {args.repeats} fresh processes; load: {load}")
    print("| source | sim CPU (s) | / poisson | spikes | spikes per CPU s | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|")
    for kind, rs in runs.items():
        cpu = statistics.median(r["sim_cpu_s"] for r in rs)
        rss = statistics.median(r["peak_rss_bytes"] for r in rs) / 2 ** 20
        spk = rs[0]["spikes"]
        print(f"| {kind} | {cpu:.3f} | {cpu / base:.1f} | {spk} | {spk / cpu:.3g} | "
              f"{rss:.0f} |")
    print(f"load after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
