"""Flush-to-zero in the step loop (``plasticity._ext.engine.flush_denormals``), on and
off side by side: B3 (Diehl & Cook, b3_diehl_cook's model and per-sample schedule),
seconds per sample.

Why it matters here: an inhibitory neuron's g_e is driven only by its excitatory
partner (one-to-one). Once that partner has spiked, g_e decays by exp(-dt / tau_e) =
0.61 per step, reaches the denormal range after ~1,400 steps and stays at the
smallest denormal forever (x * 0.61 rounds back to it). Over a training run more and
more inhibitory neurons carry such a value; arithmetic on denormals takes a slow path.

Two states, each with flush on and off interleaved sample by sample (same images):

* ``trained``: after ``--warmup`` training samples without the flush (the denormals
  that training left; before each sample those a flushed sample zeroed are set back);
* ``long-training``: before each sample every inhibitory g_e that is 0 is set to the
  smallest denormal, the state of a long training run in which every excitatory
  neuron has spiked once.

With the flush the denormals become 0 on the first step; nothing else changes (spikes
and weights are the same bit for bit: tests/test_denormals.py).

    python benchmarks/denormals.py [--warmup 20] [--repeats 30] [--threads 1]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import b3_diehl_cook  # noqa: E402
from plasticity import network as _network  # noqa: E402
from plasticity._ext import engine  # noqa: E402

_network._WATCH_LOAD = False     # each arm on the threads it names


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    for name, v, lo in (("--warmup", a.warmup, 0), ("--repeats", a.repeats, 1),
                        ("--threads", a.threads, 1)):
        if v < lo:
            ap.error(f"{name} must be >= {lo}, got {v}")
    c = dict(b3_diehl_cook.CONFIG)
    images, source = b3_diehl_cook.load_images(a.warmup + 4 * a.repeats)
    net, inp, exc, proj, mon = b3_diehl_cook.ours_build(c)
    net.threads = a.threads
    inh = net.populations["inh"]
    g_e = inh.state[inh.model.variables.index("g_e")]
    before = engine.flush_denormals()
    times = {}
    k = 0
    try:
        engine.flush_denormals(False)     # training as before the flush existed
        for _ in range(a.warmup):
            b3_diehl_cook.ours_sample(net, inp, proj, images[k], c)
            k += 1
        tiny = np.finfo(np.float64).tiny
        trained = (g_e != 0) & (abs(g_e) < tiny)
        print(f"after {a.warmup} samples without the flush: {int(trained.sum())} of "
              f"{inh.n} inhibitory g_e are denormal")
        for state in ("trained", "long-training"):
            for flush in (True, False):
                times[(state, flush)] = []
            for _ in range(a.repeats):
                for flush in (True, False):
                    engine.flush_denormals(flush)
                    # the state's denormals back where a flushed sample zeroed them
                    reseed = (g_e == 0.0) if state == "long-training" else \
                        (g_e == 0.0) & trained
                    g_e[reseed] = np.nextafter(0.0, 1.0)
                    t0 = time.perf_counter()
                    b3_diehl_cook.ours_sample(net, inp, proj, images[k], c)
                    times[(state, flush)].append(time.perf_counter() - t0)
                    k += 1
    finally:
        engine.flush_denormals(before)
    print(f"B3, {a.threads} thread(s), {source} images, seconds per sample (medians "
          f"of {a.repeats}, interleaved), load {os.getloadavg()[0]:.2f}:")
    print("| state | flush on | flush off | off / on |")
    print("|---|---|---|---|")
    for state in ("trained", "long-training"):
        on = statistics.median(times[(state, True)])
        off = statistics.median(times[(state, False)])
        print(f"| {state} | {on:.5f} | {off:.5f} | {off / on:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
