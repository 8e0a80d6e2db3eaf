"""Where a B3 training sample's serial time goes: the Python around the engine's steps.

B3 (b3_diehl_cook) trains sample by sample: ``Projection.normalize``, the input rates
set, ``Network.run(350)``, the rates set to 0, ``Network.run(150)``. The steps scale
with threads; the rest is serial Python and whole-array checks, paid at every call.
This script times each part of a sample, on 1 and N threads interleaved (1, N, 1, N,
... samples of one network, as threads.py does), by wrapping the Python methods of
``plasticity.network`` with a wall-clock timer (``time.perf_counter``, ~0.1 us per
call), and reports the median per sample in microseconds:

- ``normalize``: ``Projection.normalize`` (the column sums and scaling of the
  784 x 400 weights);
- ``rates``: the two ``rates`` assignments of the Poisson input (checks, copies);
- inside the two ``Network.run`` calls: ``_check_engine_arrays`` (every array the
  engine will write or read: shapes, dtypes, finiteness), ``_check_memory``,
  ``_build`` (the engine's structs from the Python objects), ``_check_weights`` (the
  weights' and rule variables' finiteness after each segment), ``_drain`` (monitors),
  ``_watch_load`` (the load watch of threads > 1);
- ``steps + rest of run``: the remainder of the two run calls, i.e. the engine's
  1,000 steps plus the few Python lines not listed.

``serial`` is the sum of all parts but the last; ``serial / sample`` its share. The
per-sample speedup from N threads is bounded by (steps + serial) / (steps / r +
serial) for a step speedup r.

    python benchmarks/run_overhead.py [--repeats 200] [--threads 1,2]
"""
import argparse
import os
import statistics
import sys
import time
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import b3_diehl_cook  # noqa: E402

PARTS = ("_check_engine_arrays", "_check_memory", "_build", "_check_weights",
         "_drain", "_watch_load")


def _wrap(owner, name, acc, key, undo):
    fn = owner.__dict__[name]
    undo.append((owner, name, fn))

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            acc[key] += time.perf_counter() - t0
    setattr(owner, name, timed)


def instrument(acc):
    """Wrap the parts in ``PARTS``, ``Projection.normalize``, the Poisson group's
    ``rates`` setter and ``Network.run`` with timers that add to ``acc``; returns a
    function that puts the originals back."""
    from plasticity import network as nw
    undo = []
    for name in PARTS:
        _wrap(nw.Network, name, acc, name, undo)
    _wrap(nw.Network, "run", acc, "run", undo)
    _wrap(nw.Projection, "normalize", acc, "normalize", undo)
    group = nw.PoissonGroup
    prop = group.__dict__["rates"]
    undo.append((group, "rates", prop))
    setter = prop.fset

    def timed_set(self, value):
        t0 = time.perf_counter()
        try:
            setter(self, value)
        finally:
            acc["rates"] += time.perf_counter() - t0
    setattr(group, "rates", property(prop.fget, timed_set, prop.fdel, prop.__doc__))

    def restore():
        for owner, name, original in reversed(undo):
            setattr(owner, name, original)
    return restore


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200, help="samples per thread count")
    ap.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    a = ap.parse_args(argv)
    if a.repeats < 1:
        ap.error(f"--repeats must be >= 1, got {a.repeats}")
    threads = [int(x) for x in a.threads.split(",")]
    if not threads or min(threads) < 1:
        ap.error(f"--threads must be integers >= 1, got {a.threads!r}")
    c = dict(b3_diehl_cook.CONFIG)
    images, source = b3_diehl_cook.load_images(1 + a.repeats * len(threads))
    acc = defaultdict(float)
    restore = instrument(acc)
    try:
        net, inp, exc, proj, mon = b3_diehl_cook.ours_build(c)
        net.threads = threads[0]
        b3_diehl_cook.ours_sample(net, inp, proj, images[0], c)   # warm-up
        per = {n: defaultdict(list) for n in threads}
        k = 1
        for _ in range(a.repeats):
            for n in threads:
                net.threads = n
                acc.clear()
                t0 = time.perf_counter()
                b3_diehl_cook.ours_sample(net, inp, proj, images[k], c)
                total = time.perf_counter() - t0
                k += 1
                inside = sum(acc[p] for p in PARTS)
                for p in PARTS + ("normalize", "rates"):
                    per[n][p].append(acc[p])
                per[n]["steps + rest of run"].append(acc["run"] - inside)
                per[n]["serial"].append(inside + acc["normalize"] + acc["rates"])
                per[n]["sample"].append(total)
    finally:
        restore()
    rows = ("normalize", "rates") + PARTS + ("serial", "steps + rest of run", "sample")
    print(f"\nB3 sample in parts ({source} images; {os.cpu_count()} CPUs; medians of "
          f"{a.repeats} samples per thread count, interleaved; us per sample):")
    print("| part | " + " | ".join(f"{n} thr" for n in threads) + " |")
    print("|---|" + "---|" * len(threads))
    med = {n: {r: statistics.median(per[n][r]) * 1e6 for r in rows} for n in threads}
    for r in rows:
        print(f"| {r} | " + " | ".join(f"{med[n][r]:.0f}" for n in threads) + " |")
    print("| serial / sample | " + " | ".join(
        f"{med[n]['serial'] / med[n]['sample']:.1%}" for n in threads) + " |")
    base = threads[0]
    for n in threads[1:]:
        print(f"{base} vs {n} threads: sample {med[base]['sample'] / med[n]['sample']:.2f}x,"
              f" steps + rest of run {med[base]['steps + rest of run'] / med[n]['steps + rest of run']:.2f}x,"
              f" serial {med[base]['serial'] / med[n]['serial']:.2f}x")
    return med


if __name__ == "__main__":
    main()
