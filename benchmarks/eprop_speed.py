"""Speed of the compiled e-prop kernels (_ext/eprop.pyx) against the NumPy forms.

    python benchmarks/eprop_speed.py [--repeats 3] [--quick] [--json FILE]

RSNN (plasticity.rsnn), per configuration: the forward pass (``RSNN.forward`` vs
``forward_compiled``) and the e-prop gradients of one batch from a given trace
(``method="online"``, ``"adjoint"``, ``"compiled"``; random feedback plus the rate
regulariser, so both the filtered and the raw traces are in use). Configurations:

- ``pattern``: Bellec Fig. S7 size: 100 inputs, 100 LIF, 1 output, T 1000, batch 1;
- ``evidence``: Fig. 3 size: 40 inputs, 50 LIF + 50 ALIF, 2 outputs, T 2000, batch 8;
- ``large``: 200 inputs, 200 LIF + 200 ALIF, 3 outputs, T 500, batch 4.

Core engine (``EPropRule``): 1 s at dt 0.1 ms of 1000 Poisson inputs (20 Hz) onto 100
ALIF neurons (all to all, 100,000 synapses), without a rule, with ``EPropRule`` and an
array learning signal (``update="step"``), and with the kappa filter.

CPU seconds (``time.process_time``), minimum of the repeats, BLAS limited to one
thread (the machine is shared).
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIGS = {
    "pattern": dict(n_in=100, n_lif=100, n_alif=0, n_out=1, T=1000, B=1),
    "evidence": dict(n_in=40, n_lif=50, n_alif=50, n_out=2, T=2000, B=8),
    "large": dict(n_in=200, n_lif=200, n_alif=200, n_out=3, T=500, B=4),
}
QUICK = {"pattern": dict(T=200), "evidence": dict(T=200, B=2), "large": dict(T=50, B=1)}


def timed(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return best, out


def rsnn_rows(name, c, repeats):
    from plasticity.rsnn import RSNN, RSNNParams, eprop_gradients, rate_regularization
    from plasticity.tasks import frozen_poisson
    from plasticity.rsnn._compiled import forward_compiled
    p = RSNNParams(n_in=c["n_in"], n_lif=c["n_lif"], n_alif=c["n_alif"], n_out=c["n_out"],
                   tau_m=20.0, tau_a=500.0, beta=0.07, v_th=0.03, n_ref=2)
    net = RSNN(p, seed=1, scale_in=1 - p.alpha, scale_rec=1 - p.alpha,
               scale_out=1 - p.kappa)
    x = frozen_poisson(c["T"], c["n_in"], 50.0, batch=c["B"], rng=2)
    rows = []
    t_np, tr = timed(lambda: net.forward(x, method="numpy"), repeats)
    t_c, tc = timed(lambda: forward_compiled(net, x), repeats)
    assert np.array_equal(tr.z, tc.z)
    rows.append(dict(config=name, what="forward", numpy_s=t_np, compiled_s=t_c,
                     speedup=t_np / t_c, rate_hz=float(tr.z.mean() * 1000.0)))
    rng = np.random.default_rng(3)
    dE_dy = rng.standard_normal(tr.y.shape)
    _, dE_dz = rate_regularization(tr.z, 10.0, 1.0)
    fb = rng.standard_normal((p.n_rec, p.n_out))
    res = {}
    for method in ("online", "adjoint", "compiled"):
        res[method] = timed(lambda: eprop_gradients(net, tr, dE_dy, dE_dz, feedback=fb,
                                                    method=method), repeats)
    g = {m: r[1] for m, r in res.items()}
    err = max(np.max(np.abs(g["compiled"][k] - g["online"][k]))
              / max(np.max(np.abs(g["online"][k])), 1e-300) for k in ("w_in", "w_rec"))
    rows.append(dict(config=name, what="e-prop gradients", online_s=res["online"][0],
                     adjoint_s=res["adjoint"][0], compiled_s=res["compiled"][0],
                     vs_online=res["online"][0] / res["compiled"][0],
                     vs_adjoint=res["adjoint"][0] / res["compiled"][0], rel_err=err))
    return rows


def engine_rows(repeats, quick):
    from plasticity import Network, SynapseMatrix
    from plasticity.neurons import ALIF
    from plasticity.rules import EPropRule
    dt, dur = 0.1, (100.0 if quick else 1000.0)
    n_in, n = 1000, 100
    T = int(round(dur / dt))
    L = np.random.default_rng(0).standard_normal((T, n)) * 1e-3

    def run(rule):
        net = Network(dt=dt, seed=1)
        inp = net.add_poisson("inp", n_in, 20.0)
        out = net.add_population("out", n, ALIF(tau_a=200.0, beta=1.0))
        syn = SynapseMatrix.all_to_all(n_in, n, weight=20.0, dtype=np.float64)
        net.connect(inp, out, syn, "I_syn_ex", rule=rule)
        mon = net.monitor_spikes(out)
        t0 = time.process_time()
        net.run(dur)
        return time.process_time() - t0, int(mon.count.sum())

    rows = []
    for label, make in (("no rule", lambda: None),
                        ("EPropRule", lambda: EPropRule(L, 1.0)),
                        ("EPropRule + kappa filter", lambda: EPropRule(L, 1.0, tau_out=20.0))):
        runs = [run(make()) for _ in range(repeats)]
        best = min(r[0] for r in runs)
        rows.append(dict(config="engine 1000->100 ALIF", what=label, sim_cpu_s=best,
                         rate_hz=runs[0][1] / n / (dur / 1000.0),
                         steps=T, synapses=n_in * n,
                         ns_per_synapse_step=best / (T * n_in * n) * 1e9))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    from plasticity.rsnn.util import single_threaded_blas
    rows = []
    with single_threaded_blas():
        for name, c in CONFIGS.items():
            c = dict(c, **(QUICK[name] if args.quick else {}))
            rows += rsnn_rows(name, c, args.repeats)
        rows += engine_rows(args.repeats, args.quick)
    for r in rows:
        print("  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in r.items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
