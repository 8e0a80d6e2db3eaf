"""B3: Diehl & Cook 2015 training, seconds per sample, ours vs Brian2 cpp_standalone.

Per sample: 784 Poisson inputs (rate = pixel / 4 Hz, real MNIST training digits from
/work/shared/data/mnist, else random digit-like blobs) for 350 ms, then 150 ms at 0 Hz,
dt 0.5 ms, onto
* 400 excitatory conductance LIF neurons (v_rest -65, v_reset -65, v_thresh -52 mV +
  adaptive theta (theta_plus 0.05 mV, tau_theta 1e7 ms), refractory 5 ms, tau_m
  100 ms, tau_ge 1 ms, tau_gi 2 ms, E_exc 0, E_inh -100 mV),
* 400 inhibitory ones (v_rest -60, v_reset -45, v_thresh -40 mV, refractory 2 ms,
  tau_m 10 ms, E_inh -85 mV);
input -> exc all-to-all, weights (U[0,1) + 0.01) * 0.3, delays U[0, 10] ms (rounded to
steps), the nearest-spike triplet rule of Diehl & Cook (pre: w -= 0.0001 post1; post:
w += 0.01 pre post2_before; tau_pre = tau_post1 = 20 ms, tau_post2 = 40 ms; clip
[0, 1]); exc -> inh one-to-one 10.4; inh -> exc all-to-all except self 17.0; the
input -> exc weights normalised to column sums 78 before each sample. v starts at
v_rest, theta at 0, on both sides.

One warm-up sample, then ``n_samples`` timed samples. Ours: CPU time of the whole
per-sample loop (normalise, set rates, run 350 ms, set rates to 0, run 150 ms). Brian2:
the whole schedule is one standalone run (rates from a TimedArray with 50 ms rows,
normalisation by ``run_regularly`` every 500 ms through three tiny C++ functions that
accumulate the column sums, since a ``(summed)`` variable would be recomputed every
step); its simulation-phase CPU time is that of the second ``run`` (the timed samples).

    python benchmarks/b3_diehl_cook.py [--quick] [--repeats N] [--ours-only] [--json F]
"""
import gzip
import os
import sys
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import b1_song, common  # noqa: E402

NAME = "B3 Diehl & Cook 2015: 784 -> 400 exc + 400 inh, per sample (350 + 150 ms)"
MNIST_DIR = os.environ.get("MNIST_DIR", "/work/shared/data/mnist")

CONFIG = dict(n_input=784, n_e=400, n_samples=20, n_warmup=1, dt=0.5, t_present=350.0,
              t_rest=150.0, seed=1, norm=78.0, w_ee_scale=0.3, max_delay=10.0,
              w_ei=10.4, w_ie=17.0, nu_pre=0.0001, nu_post=0.01, tau_pre=20.0,
              tau_post1=20.0, tau_post2=40.0, wmax=1.0)
QUICK = dict(n_samples=2)


# ----------------------------------------------------------------- data
def load_images(n, seed=0):
    """``n`` MNIST training images (uint8, (n, 784)) and where they came from."""
    path = os.path.join(MNIST_DIR, "train-images-idx3-ubyte.gz")
    try:
        with gzip.open(path, "rb") as f:
            head = np.frombuffer(f.read(16), dtype=">i4")
            if head[0] != 2051:
                raise ValueError(f"bad IDX magic {head[0]}")
            rows, cols = int(head[2]), int(head[3])
            data = np.frombuffer(f.read(n * rows * cols), dtype=np.uint8)
        return data.reshape(n, rows * cols).copy(), "MNIST"
    except (OSError, ValueError):
        return stroke_images(n, np.random.default_rng(seed)), "random strokes"


def stroke_images(n, rng):
    """``n`` random digit-like images (uint8, (n, 784)): three thick bright strokes
    on a dark 28 x 28 field."""
    yy, xx = np.mgrid[0:28, 0:28]
    imgs = np.zeros((n, 28, 28))
    for k in range(n):
        for _ in range(3):
            (y0, x0), (y1, x1) = rng.uniform(6, 22, (2, 2))
            t = np.linspace(0, 1, 30)[:, None, None]
            d = np.hypot(yy - (y0 + t * (y1 - y0)), xx - (x0 + t * (x1 - x0)))
            imgs[k] = np.maximum(imgs[k], (d.min(0) < 1.8) * 255.0)
    return imgs.reshape(n, 784).astype(np.uint8)


def delay_steps(c, rng, n):
    return np.rint(rng.uniform(0.0, c["max_delay"], n) / c["dt"]).astype(np.int32)


# ----------------------------------------------------------------- ours
def ours_build(c):
    from plasticity import STDP, Additive, Network, SynapseMatrix, Triplet
    from plasticity.neurons import LIFCond
    n_in, n_e = c["n_input"], c["n_e"]
    net = Network(dt=c["dt"], seed=c["seed"])
    inp = net.add_poisson("input", n_in, 0.0)
    exc = net.add_population("exc", n_e, LIFCond(
        tau_m=100.0, E_L=-65.0, V_th=-52.0, V_reset=-65.0, E_e=0.0, E_i=-100.0,
        tau_e=1.0, tau_i=2.0, t_ref=5.0, theta_plus=0.05, tau_theta=1e7))
    inh = net.add_population("inh", n_e, LIFCond(
        tau_m=10.0, E_L=-60.0, V_th=-40.0, V_reset=-45.0, E_e=0.0, E_i=-85.0,
        tau_e=1.0, tau_i=2.0, t_ref=2.0))
    rng = np.random.default_rng(c["seed"])
    nnz = n_in * n_e
    w0 = (rng.random(nnz) + 0.01) * c["w_ee_scale"]
    syn = SynapseMatrix.all_to_all(n_in, n_e, weight=w0, dtype=np.float64,
                                   delay=delay_steps(c, rng, nnz))
    rule = STDP(Triplet(tau_plus=c["tau_pre"], tau_minus=c["tau_post1"], tau_x=1000.0,
                        tau_y=c["tau_post2"], a2_plus=0.0, a3_plus=c["nu_post"],
                        a2_minus=c["nu_pre"], a3_minus=0.0, interaction="nearest"),
                Additive(0.0, c["wmax"]))
    if c.get("rule_form", "kernel") == "language":   # the same rule as equations
        rule = rule.to_equation_rule()
    proj = net.connect(inp, exc, syn, target="g_e", rule=rule, name="xe")
    net.connect(exc, inh, SynapseMatrix.one_to_one(n_e, weight=c["w_ei"],
                                                   dtype=np.float64), target="g_e")
    net.connect(inh, exc, SynapseMatrix.all_to_all(n_e, n_e, weight=c["w_ie"],
                                                   allow_self=False, dtype=np.float64),
                target="g_i")
    mon = net.monitor_spikes(exc)
    return net, inp, exc, proj, mon


def ours_sample(net, inp, proj, image, c):
    """One training sample: normalise, present for t_present, rest for t_rest."""
    proj.normalize(c["norm"])
    inp.rates = image / 4.0
    net.run(c["t_present"], progress=False)
    inp.rates = 0.0
    net.run(c["t_rest"], progress=False)


def ours_run(c):
    n = c["n_warmup"] + c["n_samples"]
    images, source = load_images(n)
    t0 = time.perf_counter()
    net, inp, exc, proj, mon = ours_build(c)
    build = time.perf_counter() - t0
    for k in range(c["n_warmup"]):
        ours_sample(net, inp, proj, images[k], c)
    n_warm_spikes = mon.times.size
    t0 = time.process_time()
    for k in range(c["n_warmup"], n):
        ours_sample(net, inp, proj, images[k], c)
    cpu = time.process_time() - t0
    spikes = mon.times.size - n_warm_spikes
    return dict(sim_cpu_s=cpu, build_s=build, images=source,
                exc_spikes_per_sample=spikes / c["n_samples"],
                theta_mean_mV=float(exc["theta"].mean()),
                w_mean=float(proj.weights.mean()))


# ----------------------------------------------------------------- Brian2
_NORM_CPP = r"""
#include "bm_norm.h"
static double bm_norm_sums[1 << 16];
double bm_norm_reset(int j) { bm_norm_sums[j] = 0.0; return 0.0; }
double bm_norm_add(int j, double w)
{
    // atomic: with OpenMP (benchmarks/threads.py --brian2) threads share the sums
    #pragma omp atomic
    bm_norm_sums[j] += w;
    return 0.0;
}
double bm_norm_factor(int j, double target)
{ return bm_norm_sums[j] != 0.0 ? target / bm_norm_sums[j] : 1.0; }
"""
_NORM_H = """#pragma once
double bm_norm_reset(int j);
double bm_norm_add(int j, double w);
double bm_norm_factor(int j, double target);
"""


def _norm_functions(directory):
    """Brian2 Functions whose C++ implementations share one array of column sums."""
    from brian2 import Function
    src_dir = os.path.join(directory + "_norm")
    os.makedirs(src_dir, exist_ok=True)
    with open(os.path.join(src_dir, "bm_norm.cpp"), "w") as f:
        f.write(_NORM_CPP)
    with open(os.path.join(src_dir, "bm_norm.h"), "w") as f:
        f.write(_NORM_H)
    funcs = {}
    for name, args, types in (("bm_norm_reset", ["j"], ["integer"]),
                              ("bm_norm_add", ["j", "w"], ["integer", "float"]),
                              ("bm_norm_factor", ["j", "t"], ["integer", "float"])):
        def py(*a):  # pragma: no cover - only the C++ implementation is used
            raise NotImplementedError
        fn = Function(py, arg_units=[1] * len(args), return_unit=1, arg_types=types,
                      return_type="float", stateless=False)
        fn.implementations.add_implementation(
            "cpp", code="", name=name,
            compiler_kwds=dict(headers=['"bm_norm.h"'],
                               sources=[os.path.join(src_dir, "bm_norm.cpp")],
                               include_dirs=[src_dir]))
        funcs[name] = fn
    return funcs


def brian2_stdp_synapses(inp, exc, tau_pre, tau_post1, tau_post2, nu_pre, nu_post,
                         wmax, funcs):
    """Brian2 input -> excitatory Synapses (``name='xe'``, not yet connected) with Diehl
    & Cook's nearest-spike triplet rule: pre arrival ``w -= nu_pre post1``, post spike
    ``w += nu_post pre post2`` (post2 before its reset), clipped to [0, wmax]; times in
    ms. ``funcs``: the normalisation Functions (``_norm_functions``) or {}."""
    from brian2 import Synapses, ms
    return Synapses(inp, exc, """w : 1
        post2before : 1
        dpre/dt = -pre / tau_pre : 1 (event-driven)
        dpost1/dt = -post1 / tau_post1 : 1 (event-driven)
        dpost2/dt = -post2 / tau_post2 : 1 (event-driven)""",
        on_pre="""ge_post += w
                  pre = 1.
                  w = clip(w - nu_pre * post1, 0, wmax)""",
        on_post="""post2before = post2
                   w = clip(w + nu_post * pre * post2before, 0, wmax)
                   post1 = 1.
                   post2 = 1.""",
        namespace=dict(tau_pre=tau_pre * ms, tau_post1=tau_post1 * ms,
                       tau_post2=tau_post2 * ms, nu_pre=nu_pre, nu_post=nu_post,
                       wmax=wmax, **funcs), name="xe")


def brian2_normalize_each(exc, S, period, norm):
    """Column sums of ``S.w`` set to ``norm`` every ``period`` (t = 0, period, ...),
    before anything else in the step: three ``run_regularly`` operations through the
    C++ helpers of ``_norm_functions`` (``exc`` needs a ``norm_dummy`` variable)."""
    exc.run_regularly("norm_dummy = bm_norm_reset(i)", dt=period, when="start",
                      order=-3, name="norm_reset")
    S.run_regularly("w = w + bm_norm_add(j, w)", dt=period, when="start", order=-2,
                    name="norm_sum")
    S.run_regularly(f"w = w * bm_norm_factor(j, {norm})", dt=period, when="start",
                    order=-1, name="norm_scale")


def brian2_model(c, images, directory):
    from brian2 import (Hz, Network, NeuronGroup, PoissonGroup, SpikeMonitor, Synapses,
                        TimedArray, defaultclock, ms, mV, seed)
    defaultclock.dt = c["dt"] * ms
    seed(c["seed"])
    n_in, n_e = c["n_input"], c["n_e"]
    slot = 50.0  # ms per TimedArray row
    on, off = round(c["t_present"] / slot), round(c["t_rest"] / slot)
    rows = np.zeros((len(images) * (on + off), n_in))
    for k, img in enumerate(images):
        rows[k * (on + off): k * (on + off) + on] = img / 4.0
    stim = TimedArray(rows * Hz, dt=slot * ms)
    inp = PoissonGroup(n_in, rates="stim(t, i)", namespace=dict(stim=stim))
    f = _norm_functions(directory)
    ns = dict(tau_theta=1e7 * ms, theta_plus=0.05 * mV, **f)
    exc = NeuronGroup(n_e, """
        dv/dt = ((-65*mV - v) + ge*(0*mV - v) + gi*(-100*mV - v)) / (100*ms) : volt (unless refractory)
        dge/dt = -ge / (1*ms) : 1
        dgi/dt = -gi / (2*ms) : 1
        dtheta/dt = -theta / tau_theta : volt
        norm_dummy : 1""", threshold="v > -52*mV + theta",
        reset="v = -65*mV; theta += theta_plus", refractory=5 * ms,
        method="exponential_euler", namespace=ns, name="exc")
    exc.v = -65 * mV
    inh = NeuronGroup(n_e, """
        dv/dt = ((-60*mV - v) + ge*(0*mV - v) + gi*(-85*mV - v)) / (10*ms) : volt (unless refractory)
        dge/dt = -ge / (1*ms) : 1
        dgi/dt = -gi / (2*ms) : 1""", threshold="v > -40*mV", reset="v = -45*mV",
        refractory=2 * ms, method="exponential_euler", name="inh")
    inh.v = -60 * mV
    S = brian2_stdp_synapses(inp, exc, c["tau_pre"], c["tau_post1"], c["tau_post2"],
                             c["nu_pre"], c["nu_post"], c["wmax"], f)
    S.connect()
    S.w = f"(rand() + 0.01) * {c['w_ee_scale']}"
    S.delay = f"rand() * {c['max_delay']} * ms"
    brian2_normalize_each(exc, S, (c["t_present"] + c["t_rest"]) * ms, c["norm"])
    EI = Synapses(exc, inh, "w : 1", on_pre="ge_post += w", name="ei")
    EI.connect(j="i")
    EI.w = c["w_ei"]
    IE = Synapses(inh, exc, "w : 1", on_pre="gi_post += w", name="ie")
    IE.connect(condition="i != j")
    IE.w = c["w_ie"]
    mon = SpikeMonitor(exc, record=False)
    net = Network(inp, exc, inh, S, EI, IE, mon)
    return net, exc, S, mon


def brian2_run(c, repeats):
    from brian2 import ms, set_device
    n = c["n_warmup"] + c["n_samples"]
    images, source = load_images(n)
    directory = common.brian2_standalone_dir("b3")
    set_device("cpp_standalone", directory=directory, build_on_run=False)
    net, exc, S, mon = brian2_model(c, images, directory)
    period = c["t_present"] + c["t_rest"]
    net.run(c["n_warmup"] * period * ms)      # warm-up
    net.run(c["n_samples"] * period * ms)     # timed: last_run_info is this run's
    build = common.brian2_build(directory)
    runs = common.brian2_run_binary(repeats)
    extra = dict(images=source,
                 exc_spikes_per_sample=float(np.sum(mon.count[:])) / n,
                 theta_mean_mV=float(np.mean(exc.theta[:]) * 1e3),
                 w_mean=float(np.mean(S.w[:])))
    return dict(build_s=build, runs=runs, extra=extra, directory=directory)


def child(side, c, repeats=1):
    return ours_run(c) if side == "ours" else brian2_run(c, repeats)


def main(argv=None):
    return b1_song.main(argv, name=NAME, config=CONFIG, quick=QUICK,
                        unit="s per sample", script=os.path.abspath(__file__),
                        child_fn=child,
                        per=lambda c: (c["n_samples"],
                                       f" ({c['n_samples']} samples after "
                                       f"{c['n_warmup']} warm-up, per sample)"))


if __name__ == "__main__":
    sys.exit(main())
