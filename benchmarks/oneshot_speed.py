"""Speed of one outer iteration of one-shot learning (``OneShotLearning.episode``,
``order="full"``, with the outer gradient): NumPy kernels against compiled ones.

    python benchmarks/oneshot_speed.py [--repeats 7] [--quick] [--profile]

Configurations (the networks of the experiments' ``build`` with default settings):

- ``arm``: experiments/scherr_oneshot_arm.py: learner 100 LIF with 50 clock inputs, LSG
  200 neurons (30% ALIF) seeing 154 channels, T = 250, batch 8;
- ``omniglot-8`` / ``omniglot-32``: experiments/scherr_oneshot_omniglot.py: learner
  n_in 196 (14 x 14 images), 5-way, T = 125 per trial (5 x (20 + 5) ms), batch 8 / 32
  (synthetic standardized images instead of Omniglot, so no data set is needed).

Both methods run side by side in one process (alternating, the machine is shared):
``plasticity.rsnn.network.default_method("numpy")`` vs ``("compiled")`` around the same
``episode`` call. Wall seconds (``time.perf_counter``), median of the repeats, BLAS
limited to one thread as in the experiments. The outer gradients of the two methods
are compared too (largest relative difference over the parameters).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def arm_setup(batch=8, T=250):
    from plasticity.experiments import scherr_oneshot_arm as ex
    from plasticity.tasks.arm import Arm
    c = ex.Config(T=T, batch=batch)
    osl, clock, _ = ex.build(c, 0)
    omega, pos = ex.movements(c, 0, "train", 0, batch)
    x = np.repeat(clock[:, None, :], batch, axis=1)
    s1 = ex.task_signal(c, omega, pos)
    arm = Arm()
    return osl, x, s1, x, lambda y: arm.loss(y, omega, pos)


def omniglot_setup(batch=8, size=14):
    from plasticity.experiments import scherr_oneshot_omniglot as ex
    from plasticity.tasks.omniglot import Episode, encode_episode
    c = ex.Config(batch=batch, size=size)
    D = size * size
    osl, _ = ex.build(c, 0, D)
    rng = np.random.default_rng(1)
    N = c.n_way
    sy = np.stack([rng.permutation(N) for _ in range(batch)])
    qy = np.stack([rng.permutation(N) for _ in range(batch)])
    ep = Episode(rng.random((batch, N, D)).astype(np.float32), sy,
                 rng.random((batch, N, D)).astype(np.float32), qy,
                 np.tile(np.arange(N), (batch, 1)))
    enc = encode_episode(ep, t_present=c.t_present, t_gap=c.t_gap, mode="current",
                         amplitude=c.amplitude, dtype=np.float64)
    enc = enc._replace(
        x_support=ex._fill(enc.x_support, enc.support_windows, ep.support_x, c.amplitude),
        x_query=ex._fill(enc.x_query, enc.query_windows, ep.query_x, c.amplitude))

    def loss_fn(y):
        E, d, _ = ex.window_cross_entropy(y, enc.query_windows, enc.query_y)
        return E, d
    return osl, enc.x_support, enc.label_support * c.label_amplitude, enc.x_query, loss_fn


CONFIGS = {
    "arm": lambda q: arm_setup(8, 100 if q else 250),
    "omniglot-8": lambda q: omniglot_setup(8),
    "omniglot-32": lambda q: omniglot_setup(4 if q else 32),
}


def run(name, repeats, quick):
    from plasticity.rsnn.network import default_method
    from plasticity.rsnn.util import single_threaded_blas
    osl, x1, s1, x2, loss_fn = CONFIGS[name](quick)
    times = {"numpy": [], "compiled": []}
    outs = {}
    with single_threaded_blas():
        for r in range(repeats + 1):
            for m in ("numpy", "compiled"):
                with default_method(m):
                    t0 = time.perf_counter()
                    out = osl.episode(x1, s1, x2, loss_fn, order="full")
                    dt = time.perf_counter() - t0
                if r > 0:           # the first round warms up
                    times[m].append(dt)
                outs[m] = out
    g_np, g_c = outs["numpy"]["grads"], outs["compiled"]["grads"]
    err = max(float(np.max(np.abs(g_c[k] - g_np[k])) / max(np.max(np.abs(g_np[k])), 1e-300))
              for k in g_np)
    same = all(np.array_equal(outs["numpy"][t].z, outs["compiled"][t].z)
               for t in ("trace1", "trace2", "lsg_trace"))
    med = {m: statistics.median(v) for m, v in times.items()}
    T, B, _ = x1.shape
    print(f"{name:12s} T={T:3d} B={B:2d}  numpy {med['numpy']:.3f} s  compiled "
          f"{med['compiled']:.3f} s  speedup {med['numpy'] / med['compiled']:.1f}x  "
          f"(spikes identical: {same}, grads max rel diff {err:.1e})", flush=True)
    return med


def profile(name, quick, method):
    import cProfile
    import pstats
    from plasticity.rsnn.network import default_method
    from plasticity.rsnn.util import single_threaded_blas
    osl, x1, s1, x2, loss_fn = CONFIGS[name](quick)
    with single_threaded_blas(), default_method(method):
        osl.episode(x1, s1, x2, loss_fn, order="full")
        pr = cProfile.Profile()
        pr.enable()
        osl.episode(x1, s1, x2, loss_fn, order="full")
        pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(15)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--configs", nargs="*", default=list(CONFIGS))
    ap.add_argument("--profile", choices=("numpy", "compiled"))
    a = ap.parse_args(argv)
    for name in a.configs:
        if a.profile:
            profile(name, a.quick, a.profile)
        else:
            run(name, a.repeats, a.quick)


if __name__ == "__main__":
    main()
