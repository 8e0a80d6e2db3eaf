"""Images per second of the Kheradpisheh MNIST network, per stage, ours and the peer's
(SpykeTorch's way of computing it, in torch: ``conv_peer_torch.py``) side by side in
one run, on the same MNIST images, at 1 and N threads.

    python benchmarks/conv_speed.py [--n 2000] [--threads 1 2] [--repeat 3]
        [--peer-python /work/peers-venv/bin/python] [--peer-repeat 1] [--json out.json]
        [--im2col]
    python benchmarks/conv_speed.py --n 300 --alternate 15     # short runs, alternating

"paper arch" = T 30, 30 + 100 maps (``plasticity.conv.MNIST_LAYERS``), global max.
Stages: preprocess (DoG ON/OFF + latency coding), STDP training of conv1 (forward,
inhibition, winners, STDP, image after image), STDP training of conv2 (including the
propagation through conv1 and pool1), features (the whole network up to the global
max, including preprocessing). Each layer trains on all n images (``n_images = n``,
no early stop). Our threads: ``SpikingConvNet(threads=N)``; the peer's:
``torch.set_num_threads(N)``. The repeats are interleaved (ours 1, peer 1, ours N,
peer N, then again); the table gives the median (and min) of the repeats, in images
per second of wall-clock time, ours also per CPU-second. The load average (``uptime``)
before and after and the peak memory of each side are printed. Without
``--peer-python`` only our side runs.

Checks (printed): our kernels, spike times and features are identical, bit for bit,
for every thread count; the peer's spike waves of the preprocessing equal our spike
times (fraction of images), and the peer's features computed with our trained kernels
equal ours to float32 rounding (fraction of images within 1e-3; the others differ
where a potential sits exactly at a threshold: the peer's ``fn.threshold`` fires
above it, ours at or above, as the paper's V >= threshold, and ties in the peer's
inhibition go to whichever map ``torch.max`` returns).

``--im2col`` also times an im2col + BLAS forward pass of conv2 over all T steps (the
dense alternative to the event-driven kernel) on the same inputs.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

STAGES = ("preprocess", "stdp_conv1", "stdp_conv2", "features")


def _mnist(n):
    from plasticity.datasets import load_mnist
    X, _ = load_mnist(None, "train")
    return X[:n]


def im2col_forward(times, weights, threshold, T, pad):
    """Dense alternative: cumulative waves (T, C, H, W) -> im2col -> one BLAS GEMM per
    image for all T steps -> first threshold crossing."""
    N, C, H, W = times.shape
    F, _, k, _ = weights.shape
    Wm = weights.reshape(F, -1).T.astype(np.float32)           # (C k k, F)
    out = np.empty((N, F, H + 2 * pad - k + 1, W + 2 * pad - k + 1), np.int16)
    for i in range(N):
        S = (times[i][None] <= np.arange(T)[:, None, None, None]).astype(np.float32)
        S = np.pad(S, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
        cols = np.lib.stride_tricks.sliding_window_view(S, (k, k), axis=(2, 3))
        Ho, Wo = cols.shape[2], cols.shape[3]
        cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(T * Ho * Wo, C * k * k)
        V = (cols @ Wm).reshape(T, Ho, Wo, F)
        above = V >= threshold
        t = np.where(above.any(0), above.argmax(0), T)
        out[i] = t.transpose(2, 0, 1)
    return out


def _uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime unavailable"


def _layers(n):
    from plasticity.conv import MNIST_LAYERS
    return [dict(l, n_images=n) if l["type"] == "conv" else dict(l) for l in MNIST_LAYERS]


def ours_once(X, th):
    """One run of our side on ``th`` threads: images/s (wall, CPU) per stage and the
    results (kernels, features, spike times)."""
    from plasticity.conv import SpikingConvNet
    n = len(X)
    net = SpikingConvNet(layers=_layers(n), threads=th, random_state=0, convergence=1e-9)
    wall, cpu = {}, {}
    t0, c0 = time.perf_counter(), time.process_time()
    enc = net.encode(X)
    wall["preprocess"] = n / (time.perf_counter() - t0)
    cpu["preprocess"] = n / (time.process_time() - c0)
    net.fit(X)
    for i in (0, 1):
        wall[f"stdp_conv{i + 1}"] = n / net.train_seconds_[i]
        cpu[f"stdp_conv{i + 1}"] = n / net.train_cpu_seconds_[i]
    t0, c0 = time.perf_counter(), time.process_time()
    F = net.transform(X)
    wall["features"] = n / (time.perf_counter() - t0)
    cpu["features"] = n / (time.process_time() - c0)
    return wall, cpu, {"weights": net.weights_, "features": F, "times": enc, "net": net}


def peer_data(path, X, net):
    """The npz the peer reads: images, the architecture and schedule, our DoG kernel
    and our trained kernels (for the features check)."""
    from plasticity.encoding import dog_kernel
    np.savez(path, X=X, T=net.T, dog_kernel=dog_kernel(net.dog_size, *net.dog_sigmas),
             dog_threshold=net.dog_threshold, layers=json.dumps(net.layers_),
             a_plus=net.a_plus, a_minus=net.a_minus, a_plus_max=net.a_plus_max,
             lr_double_every=net.lr_double_every,
             **{f"weights_{i}": w for i, w in enumerate(net.weights_)})


def peer_once(python, data, th, tmp):
    out = os.path.join(tmp, f"peer{th}.json")
    env = dict(os.environ, OMP_NUM_THREADS=str(th), MKL_NUM_THREADS=str(th))
    r = subprocess.run([python, os.path.join(HERE, "conv_peer_torch.py"), "--data", data,
                        "--threads", str(th), "--out", out], env=env, capture_output=True,
                       text=True)
    if r.returncode:
        raise RuntimeError(f"the peer failed:\n{r.stderr[-3000:]}")
    with open(out) as fh:
        res = json.load(fh)
    extra = dict(np.load(out + ".npz"))
    return {k: v[0] for k, v in res["images_per_s"].items()}, res, extra


def bench(n, threads, repeat, peer_python=None, im2col=False, peer_repeat=None,
          partial=None):
    """Run both sides; ``peer_repeat`` (default ``repeat``) runs of the peer, in the
    first repeats; ``partial(result)`` is called after every run (to save it)."""
    from threadpoolctl import threadpool_limits
    X = _mnist(n)
    load = [_uptime()]
    ours = {th: {"wall": {k: [] for k in STAGES}, "cpu": {k: [] for k in STAGES}}
            for th in threads}
    peer = {th: {k: [] for k in STAGES} for th in threads}
    checks, ref, info, peer_rss = {}, None, {}, []
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.npz")
        for rep in range(repeat):
            for th in threads:
                with threadpool_limits(th):
                    wall, cpu, res = ours_once(X, th)
                for k in STAGES:
                    ours[th]["wall"][k].append(wall[k])
                    ours[th]["cpu"][k].append(cpu[k])
                if ref is None:
                    ref = res
                    if peer_python:
                        peer_data(data, X, res["net"])
                else:
                    same = (all(np.array_equal(a, b) for a, b in
                                zip(ref["weights"], res["weights"]))
                            and np.array_equal(ref["features"], res["features"])
                            and np.array_equal(ref["times"], res["times"]))
                    checks.setdefault("ours identical for every thread count", True)
                    checks["ours identical for every thread count"] &= bool(same)
                if peer_python and rep < (repeat if peer_repeat is None else peer_repeat):
                    ips, info, extra = peer_once(peer_python, data, th, tmp)
                    peer_rss.append(info.get("peak_rss_mib", float("nan")))
                    for k in STAGES:
                        peer[th][k].append(ips[k])
                    if "peer features vs ours (max abs diff)" not in checks:
                        T = ref["net"].T
                        w = extra["waves"]                        # (m, T, C, H, W)
                        t = (T - w.sum(axis=1)).astype(np.int16)
                        m = len(t)
                        checks["peer spike times = ours (fraction of images)"] = float(
                            np.mean([np.array_equal(t[i], ref["times"][i])
                                     for i in range(m)]))
                        d = np.abs(extra["features"] - ref["features"]).max(axis=1)
                        checks["peer features = ours to 1e-3 (fraction of images)"] = float(
                            np.mean(d <= 1e-3))
                        checks["peer features vs ours (max abs diff)"] = float(d.max())
                        checks["ours features max"] = float(ref["features"].max())
                if partial is not None:
                    partial({"n": n, "repeat": rep + 1, "threads": list(threads),
                             "load": load + [_uptime()], "ours": ours,
                             "peer": peer if peer_python else None, "peer_info": info,
                             "checks": checks, "memory": {}})
        if im2col:
            from plasticity.conv import ops
            net = ref["net"]
            m = min(n, 300)
            t1, _ = ops.conv_forward(ref["times"][:m], net.weights_[0], 15.0, net.T, 2,
                                     True, 1)
            p1 = ops.pool_first(t1, 2, 2, 0, 1)
            t0 = time.perf_counter()
            a = ops.conv_forward(p1, net.weights_[1], 10.0, net.T, 2, False, 1)[0]
            ev = m / (time.perf_counter() - t0)
            t0 = time.perf_counter()
            b = im2col_forward(p1[:m // 3], net.weights_[1], 10.0, net.T, 2)
            dense = (m // 3) / (time.perf_counter() - t0)
            checks["im2col spikes = event-driven (fraction)"] = float(np.mean(a[:m // 3] == b))
            checks["conv2 forward images/s, event-driven / im2col (1 thread)"] = (
                round(ev, 1), round(dense, 1))
    load.append(_uptime())
    mem = {"ours peak RSS MiB (the benchmark process)":
           resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if peer_python:
        mem["peer peak RSS MiB (largest run)"] = max(peer_rss) if peer_rss else float("nan")
    return {"n": n, "repeat": repeat, "threads": list(threads), "load": load, "ours": ours,
            "peer": peer if peer_python else None, "peer_info": info, "checks": checks,
            "memory": mem}


def alternate(n, threads, rounds):
    """Short runs of each stage, the thread counts alternating run by run (``rounds``
    rounds on ``n`` images): on a shared machine the best of many short runs shows what
    the threads give when the cores are free, the median what they give under the
    load of the moment. Returns {stage: {threads: [images/s]}}."""
    from threadpoolctl import threadpool_limits

    from plasticity.conv import SpikingConvNet
    X = _mnist(n)
    base = SpikingConvNet(layers=_layers(n), threads=1, random_state=0,
                          convergence=1e-9).fit(X)
    res = {k: {th: [] for th in threads} for k in STAGES}
    for _ in range(rounds):
        for th in threads:
            with threadpool_limits(th):
                net = SpikingConvNet(layers=_layers(n), threads=th, random_state=0,
                                     convergence=1e-9)
                t0 = time.perf_counter()
                net.encode(X)
                res["preprocess"][th].append(n / (time.perf_counter() - t0))
                net.fit(X)
                res["stdp_conv1"][th].append(n / net.train_seconds_[0])
                res["stdp_conv2"][th].append(n / net.train_seconds_[1])
                assert all(np.array_equal(a, b) for a, b in zip(net.weights_, base.weights_))
                t0 = time.perf_counter()
                base.set_params(threads=th).transform(X)
                res["features"][th].append(n / (time.perf_counter() - t0))
    return res


def _med(v):
    return float(np.median(v)) if v else float("nan")


def report(r):
    lines = [f"images/s, median (min) of {r['repeat']}, {r['n']} MNIST images, paper arch "
             f"(T 30, 30 + 100 maps)", f"load before: {r['load'][0]}",
             f"load after:  {r['load'][1]}"]
    hdr = f"{'':34} | " + " | ".join(f"{k:>16}" for k in STAGES)
    lines.append(hdr)

    def row(name, d):
        return f"{name:34} | " + " | ".join(f"{f'{_med(d[k]):.0f} ({min(d[k]):.0f})':>16}"
                                           for k in STAGES)
    for th in r["threads"]:
        lines.append(row(f"plasticity, {th} thread(s), wall", r["ours"][th]["wall"]))
        lines.append(row(f"plasticity, {th} thread(s), per CPU-s", r["ours"][th]["cpu"]))
        if r["peer"]:
            lines.append(row(f"peer (torch), {th} thread(s), wall", r["peer"][th]))
    t1 = r["threads"][0]
    for th in r["threads"][1:]:
        lines.append(f"{f'plasticity {th} vs {t1} thread(s)':34} | " + " | ".join(
            f"{_med(r['ours'][th]['wall'][k]) / _med(r['ours'][t1]['wall'][k]):>15.2f}x"
            for k in STAGES))
    if r["peer"]:
        for th in r["threads"]:
            lines.append(f"{f'plasticity / peer, {th} thread(s)':34} | " + " | ".join(
                f"{_med(r['ours'][th]['wall'][k]) / _med(r['peer'][th][k]):>15.1f}x"
                for k in STAGES))
        if len(r["threads"]) > 1:
            th = r["threads"][-1]
            lines.append(f"{f'plasticity {t1} / peer {th} thread(s)':34} | " + " | ".join(
                f"{_med(r['ours'][t1]['wall'][k]) / _med(r['peer'][th][k]):>15.1f}x"
                for k in STAGES))
        lines.append(f"peer: torch {r['peer_info'].get('torch')}, "
                     f"{len(r['peer'][t1]['features'])} run(s) per thread count")
    for k, v in r["checks"].items():
        lines.append(f"check: {k}: {v}")
    for k, v in r["memory"].items():
        lines.append(f"{k}: {v:.0f}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="images per stage")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peer-python", help="a Python with torch (runs conv_peer_torch.py)")
    ap.add_argument("--peer-repeat", type=int, help="runs of the peer (default --repeat)")
    ap.add_argument("--im2col", action="store_true", help="also time the dense forward")
    ap.add_argument("--alternate", type=int, metavar="ROUNDS",
                    help="instead: ROUNDS short runs per stage, thread counts alternating "
                         "(median and best; our side only)")
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args(argv)
    if a.alternate:
        load = _uptime()
        r = alternate(a.n, a.threads, a.alternate)
        print(f"{a.alternate} rounds of {a.n} images, thread counts alternating; "
              f"images/s median / best")
        print(f"load before: {load}\nload after:  {_uptime()}")
        t1 = a.threads[0]
        for k, d in r.items():
            print(f"{k:12} " + " | ".join(f"{th} thr {np.median(v):.0f} / {max(v):.0f}"
                                         for th, v in d.items()) + " | " + " | ".join(
                f"{th} vs {t1}: median {np.median(d[th]) / np.median(d[t1]):.2f}x, best "
                f"{max(d[th]) / max(d[t1]):.2f}x" for th in a.threads[1:]))
        if a.json:
            with open(a.json, "w") as fh:
                json.dump({"alternate": r, "load": load}, fh, indent=1, default=str)
        return

    def partial(r):
        if a.json:
            with open(a.json + ".partial", "w") as fh:
                json.dump(r, fh, indent=1, default=str)
    r = bench(a.n, a.threads, a.repeat, a.peer_python, a.im2col, a.peer_repeat, partial)
    print(report(r))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(r, fh, indent=1, default=str)


if __name__ == "__main__":
    main()
