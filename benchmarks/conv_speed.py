"""Images per second of the Kheradpisheh MNIST network, per stage (compare with
SpykeTorch's figures in the peer table: "paper arch" = T 30, 30 + 100 maps, global max).

    python benchmarks/conv_speed.py [--n 2000] [--threads 1 2] [--repeat 3]

Stages: preprocess (DoG ON/OFF + latency coding), STDP training of conv1 (forward,
inhibition, winners, STDP, image after image), STDP training of conv2 (including the
propagation through conv1 and pool1), features (the whole network up to the global max,
including preprocessing). Also times an im2col + BLAS forward of conv2 over all T steps
(the alternative to the event-driven kernel) on the same inputs. Min/median of repeats.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


def _timed(fn):
    t0, c0 = time.perf_counter(), time.process_time()
    r = fn()
    return r, time.perf_counter() - t0, time.process_time() - c0


def bench(n, threads, repeat):
    from threadpoolctl import threadpool_limits

    from plasticity.conv import MNIST_LAYERS, SpikingConvNet, ops
    X = _mnist(n)
    res = {}
    layers = [dict(l) for l in MNIST_LAYERS]
    layers[0]["n_images"] = n
    layers[2]["n_images"] = n
    for th in threads:
        keys = ("preprocess", "stdp_conv1", "stdp_conv2", "features",
                "im2col_conv2_forward", "event_conv2_forward")
        st = {k: [] for k in keys}
        cpu = {k: [] for k in keys}
        with threadpool_limits(th):
            for _ in range(repeat):
                net = SpikingConvNet(layers=layers, n_jobs=th, random_state=0,
                                     convergence=1e-9)
                enc, w, c = _timed(lambda: net.encode(X))
                st["preprocess"].append(n / w)
                cpu["preprocess"].append(n / c)
                net.fit(X)
                for i in (0, 1):
                    st[f"stdp_conv{i + 1}"].append(n / net.train_seconds_[i])
                    cpu[f"stdp_conv{i + 1}"].append(n / net.train_cpu_seconds_[i])
                _, w, c = _timed(lambda: net.transform(X))
                st["features"].append(n / w)
                cpu["features"].append(n / c)
                m = min(n, 300)
                t1, _ = ops.conv_forward(enc[:m], net.weights_[0], 15.0, 30, 2, True, th)
                p1 = ops.pool_first(t1, 2, 2)
                a, w, c = _timed(lambda: ops.conv_forward(p1, net.weights_[1], 10.0, 30, 2,
                                                          False, th)[0])
                st["event_conv2_forward"].append(m / w)
                cpu["event_conv2_forward"].append(m / c)
                b, w, c = _timed(lambda: im2col_forward(p1[:m // 3], net.weights_[1], 10.0,
                                                        30, 2))
                st["im2col_conv2_forward"].append((m // 3) / w)
                cpu["im2col_conv2_forward"].append((m // 3) / c)
                # same spikes up to float rounding at the threshold
                assert np.mean(a[:m // 3] == b) > 0.999
        res[th] = {k: (round(min(v), 1), round(float(np.median(v)), 1))
                   for k, v in st.items()}
        res[f"{th} (per CPU second)"] = {k: (round(min(v), 1), round(float(np.median(v)), 1))
                                         for k, v in cpu.items()}
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="images per stage")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args(argv)
    res = bench(a.n, a.threads, a.repeat)
    print(f"images/s (min/median of {a.repeat}), {a.n} MNIST images, paper arch "
          "(T 30, 30 + 100 maps)")
    print("wall-clock images/s, and images per CPU-second (all threads summed; robust on "
          "a loaded machine)")
    print(f"{'threads':>20} | " + " | ".join(f"{k:>22}" for k in next(iter(res.values()))))
    for th, st in res.items():
        print(f"{th:>20} | " + " | ".join(f"{f'{a:.0f}/{b:.0f}':>22}" for a, b in st.values()))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1)


if __name__ == "__main__":
    main()
