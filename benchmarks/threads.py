"""Threads, side by side in one run: B2 (scaled Song) and B3 (Diehl & Cook) at 1 and N
threads (issue 19 item 2).

B2 here keeps B2's model per neuron (10,000 Poisson inputs at 10 Hz, p = 0.1, so ~1,000
inputs per output neuron, gmax 0.015, additive all-to-all pair STDP on every synapse)
and scales the number of output neurons to reach the synapse count: 16,000 outputs for
16M synapses. B3 is b3_diehl_cook's model and per-sample schedule.

One network per model is built once; then runs of ``--b2-ms`` simulated ms (B2) or
one training sample (B3) alternate between the thread counts (1, 2, 1, 2, ...) so that
both see the same machine load; the results are identical for any thread count (tests/
test_threads.py), only the wall time differs. Reported: the median wall seconds per
run at each thread count, the ratio, and the load average (os.getloadavg) before and
after each run, since the machine may be shared.

    python benchmarks/threads.py [--synapses 16e6] [--b2-ms 100] [--repeats 5]
                                 [--threads 1,2] [--skip-b3] [--json FILE]
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import b1_song, b2_scaled, b3_diehl_cook  # noqa: E402


def _load():
    return round(os.getloadavg()[0], 2)


def interleaved(name, run_once, threads, repeats, set_threads):
    """run_once() timed (wall) ``repeats`` times per thread count, interleaved."""
    times = {n: [] for n in threads}
    loads = []
    for r in range(repeats):
        for n in threads:
            set_threads(n)
            before = _load()
            t0 = time.perf_counter()
            run_once()
            dt = time.perf_counter() - t0
            times[n].append(dt)
            loads.append((before, _load()))
            print(f"  {name}: repeat {r + 1}, {n} thread(s): {dt:.3f} s "
                  f"(load {before} -> {loads[-1][1]})", flush=True)
    med = {n: statistics.median(v) for n, v in times.items()}
    base = med[threads[0]]
    return dict(name=name, threads=list(threads), wall_s=times,
                median_s={n: round(v, 4) for n, v in med.items()},
                speedup={n: round(base / med[n], 3) for n in threads},
                load_1min=loads)


def bench_b2(synapses, ms, threads, repeats):
    n_out = max(1, int(round(synapses / (10_000 * 0.1))))
    c = dict(b2_scaled.CONFIG, n_out=n_out)
    t0 = time.perf_counter()
    net, proj, out, mon = b1_song.ours_build(c)
    build = time.perf_counter() - t0
    print(f"B2: {proj.synapses.nnz:,} synapses, {n_out:,} outputs, built in "
          f"{build:.1f} s", flush=True)
    net.threads = threads[0]
    net.run(50.0, progress=False)                     # warm-up (rates settle)

    def once():
        net.run(ms, progress=False)
        mon._t.clear()
        mon._i.clear()
    res = interleaved(f"B2 {proj.synapses.nnz / 1e6:.1f}M synapses, {ms:g} ms",
                      once, threads, repeats, lambda n: setattr(net, "threads", n))
    res.update(nnz=int(proj.synapses.nnz), n_out=n_out, simulated_ms=ms,
               s_per_simulated_s={n: round(v * 1000.0 / ms, 3)
                                  for n, v in res["median_s"].items()},
               build_s=round(build, 2))
    return res


def bench_b3(threads, repeats):
    c = dict(b3_diehl_cook.CONFIG)
    images, source = b3_diehl_cook.load_images(1 + repeats * len(threads))
    net, inp, exc, proj, mon = b3_diehl_cook.ours_build(c)
    net.threads = threads[0]
    b3_diehl_cook.ours_sample(net, inp, proj, images[0], c)     # warm-up sample
    k = [1]

    def once():
        b3_diehl_cook.ours_sample(net, inp, proj, images[k[0]], c)
        k[0] += 1
    res = interleaved("B3 one sample (350 + 150 ms)", once, threads, repeats,
                      lambda n: setattr(net, "threads", n))
    res.update(images=source)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synapses", type=float, default=16e6)
    ap.add_argument("--b2-ms", type=float, default=100.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--skip-b2", action="store_true")
    ap.add_argument("--skip-b3", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    threads = [int(x) for x in a.threads.split(",")]
    from plasticity._ext import engine
    info = dict(cores=len(os.sched_getaffinity(0)), openmp=engine.openmp_available(),
                load_at_start=list(os.getloadavg()))
    print(f"machine: {info['cores']} cores for this process, OpenMP "
          f"{info['openmp']}, load {info['load_at_start']}", flush=True)
    results = [info]
    if not a.skip_b2:
        results.append(bench_b2(a.synapses, a.b2_ms, threads, a.repeats))
    if not a.skip_b3:
        results.append(bench_b3(threads, a.repeats))
    print()
    print(f"{'benchmark':42s} " + " ".join(f"{n:>2d} thr (s)" for n in threads)
          + "  speedup   load (1 min) min-max")
    for r in results[1:]:
        loads = [x for pair in r["load_1min"] for x in pair]
        print(f"{r['name']:42s} " + " ".join(f"{r['median_s'][n]:10.3f}" for n in threads)
              + f"  {r['speedup'][threads[-1]]:6.2f}x  {min(loads):.2f}-{max(loads):.2f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
