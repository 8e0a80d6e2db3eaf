"""The load watch under load: B3 (Diehl & Cook, b3_diehl_cook's model and per-sample
schedule) on a machine where another process keeps cores busy, on 1 thread, on all
threads with the load watch off, and on all threads with it on (the default).

``--hogs N`` busy processes (default: cores - 1, at least 1) spin while the samples
run; each arm's samples alternate with the others' (1, off, on, 1, off, on, ...) so
that all see the same load. Reported: the median wall seconds per sample of each arm,
the threads the watched network ran its last sample on, and that the three gave the
same spikes (the results do not depend on the number of threads).

    python benchmarks/load_watch.py [--samples 20] [--hogs N]
"""
import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import b3_diehl_cook  # noqa: E402
from plasticity import network as _network  # noqa: E402


def _hog(stop):
    while not stop.is_set():
        for _ in range(100_000):
            pass


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20)
    ap.add_argument("--hogs", type=int, default=None)
    a = ap.parse_args(argv)
    cores = _network.default_threads()
    hogs = a.hogs if a.hogs is not None else max(1, cores - 1)
    c = dict(b3_diehl_cook.CONFIG)
    images, source = b3_diehl_cook.load_images(1 + a.samples)
    arms = {}
    for key, threads, watch in (("1 thread", 1, False), (f"{cores} threads, watch off",
                                cores, False), (f"{cores} threads, watch on", cores, True)):
        net, inp, exc, proj, mon = b3_diehl_cook.ours_build(c)
        net.threads = threads
        arms[key] = dict(net=net, inp=inp, proj=proj, mon=mon, watch=watch, times=[])
    for arm in arms.values():   # warm-up sample, no load
        _network._WATCH_LOAD = arm["watch"]
        b3_diehl_cook.ours_sample(arm["net"], arm["inp"], arm["proj"], images[0], c)
    stop = mp.Event()
    procs = [mp.Process(target=_hog, args=(stop,), daemon=True) for _ in range(hogs)]
    for p in procs:
        p.start()
    time.sleep(0.5)
    try:
        for k in range(1, 1 + a.samples):
            for arm in arms.values():
                _network._WATCH_LOAD = arm["watch"]
                t0 = time.perf_counter()
                b3_diehl_cook.ours_sample(arm["net"], arm["inp"], arm["proj"], images[k], c)
                arm["times"].append(time.perf_counter() - t0)
    finally:
        stop.set()
        for p in procs:
            p.join()
        _network._WATCH_LOAD = True
    print(f"B3 per sample under load: {hogs} busy process(es) on {cores} core(s); "
          f"{a.samples} {source} samples per arm, interleaved")
    print("| arm | median s per sample | min-max | threads of the last run |")
    print("|---|---|---|---|")
    for key, arm in arms.items():
        t = arm["times"]
        print(f"| {key} | {statistics.median(t):.4f} | {min(t):.4f}-{max(t):.4f} | "
              f"{arm['net']._eng.threads} |")
    ref = arms["1 thread"]["mon"]
    same = all((arm["mon"].times.size == ref.times.size
                and (arm["mon"].ids == ref.ids).all()) for arm in arms.values())
    print(f"same spikes in all arms: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
