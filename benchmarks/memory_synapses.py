"""Memory of a SynapseMatrix: bytes per synapse and peak memory while building.

Builds ~1M float32 synapses without delays (fixed_probability over 10M pairs) and
prints nbytes/nnz (target <= 16: indices 4 + weights 4 + post_syn 4 + post_pre 4, plus
8 bytes per neuron for indptr/post_ptr), the peak of NumPy allocations during
construction (tracemalloc, which NumPy reports its buffers to) and the peak-RSS
increase of the process. Exits non-zero if a target is missed.

    python benchmarks/memory_synapses.py [--n 3163] [--p 0.1]
"""
import argparse
import gc
import resource
import sys
import time
import tracemalloc

import numpy as np

from plasticity.synapses import SynapseMatrix


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def measure(label, build):
    gc.collect()
    rss0 = peak_rss_bytes()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    t0 = time.perf_counter()
    m = build()
    dt = time.perf_counter() - t0
    cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = peak_rss_bytes()
    per = m.nbytes / max(m.nnz, 1)
    per_syn_only = (m.nbytes - m.indptr.nbytes - m.post_ptr.nbytes) / max(m.nnz, 1)
    print(f"{label}: nnz={m.nnz:,}  {dt * 1e3:.0f} ms")
    print(f"  nbytes/nnz            {per:.3f} B  (per-synapse arrays only: "
          f"{per_syn_only:.3f} B)")
    print(f"  held after build      {(cur - base) / m.nnz:.2f} B/synapse")
    print(f"  peak during build     {(peak - base) / 2**20:.1f} MiB = "
          f"{(peak - base) / m.nnz:.2f} B/synapse (tracemalloc)")
    print(f"  peak-RSS increase     {(rss1 - rss0) / 2**20:.1f} MiB = "
          f"{(rss1 - rss0) / m.nnz:.2f} B/synapse (ru_maxrss is a lifetime maximum: "
          f"meaningful for the first build only)")
    return m, per_syn_only, per, (peak - base) / m.nnz


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3163, help="neurons per population")
    ap.add_argument("--p", type=float, default=0.1, help="connection probability")
    args = ap.parse_args(argv)
    n, p = args.n, args.p
    print(f"fixed_probability({n}, {n}, p={p}): {n * n:,} pairs, "
          f"~{n * n * p:,.0f} synapses, float32, no delays")
    m, per_syn, per, peak_fp = measure(
        "fixed_probability",
        lambda: SynapseMatrix.fixed_probability(n, n, p, rng=0, weight=0.5))
    del m
    k = int(round(n * p))
    _, _, _, peak_fi = measure(
        f"fixed_indegree(k={k})",
        lambda: SynapseMatrix.fixed_indegree(n, n, k, rng=0, weight=0.5))
    ok = True
    if per_syn > 16.0:
        print(f"FAIL: {per_syn:.3f} B/synapse > 16", file=sys.stderr)
        ok = False
    if per > 16.5:
        print(f"FAIL: {per:.3f} B/synapse incl. per-neuron arrays > 16.5",
              file=sys.stderr)
        ok = False
    # the final matrix is 16 B/synapse; construction may hold short-lived
    # temporaries (flat pair ids, int64) on top
    if peak_fp > 32.0:
        print(f"FAIL: fixed_probability peak {peak_fp:.1f} B/synapse > 32",
              file=sys.stderr)
        ok = False
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
