"""e-prop pattern generation (Bellec et al. 2020, Fig. S7): 100 LIF neurons learn a sum of sines.

100 LIF neurons (tau_m 30 ms, threshold 0.03, no refractoriness), 100 frozen Poisson
inputs at 50 Hz, one leaky readout (tau_out 30 ms) trained to produce over 1 s a sum of
four sines (periods 1000, 500, 333, 200 ms; amplitudes U(0.5, 2), random phases,
normalised to a maximum of 1). Loss 0.5 sum_t (y - target)^2 plus the firing-rate
regulariser (reg / 2) sum_j (f_j - 10 Hz)^2 (rates in kHz, reg = 300). Plain gradient
descent, 2000 iterations, learning rate 1e-4; all input, recurrent and readout
weights are trained, by e-prop with symmetric feedback (B = W_out), e-prop with random
feedback (a fixed B), and BPTT; every method starts from the same weights.

Constants are those of the reference implementation (IGITUGraz/eligibility_propagation,
``tutorial_pattern_generation.py``; see shared/references.md section 6). That code's
neuron multiplies its input by (1 - alpha) and its readout filter by (1 - kappa); our
network (the paper's equations) has no such factors, so the weights here are the
reference weights times (1 - alpha) (input, recurrent) and (1 - kappa) (readout,
random feedback), initialised as N(0, 1/n) times those factors, and the learning
rate of each matrix is lr times the factor squared: the learning dynamics are the
reference ones, exactly. NMSE = mean squared error / variance of the target.
"""
import dataclasses
import sys
import time

import numpy as np

from plasticity.config import field
from plasticity.errors import SimulationError
from plasticity.experiments._common import LearnerConfig, with_defaults
from plasticity.rsnn.util import single_threaded_blas
from plasticity.rsnn import (RSNN, SGD, EProp, RSNNParams, bptt, mse_loss,
                             rate_regularization)
from plasticity.tasks import frozen_poisson, sum_of_sines_target

METHODS = ("eprop_symmetric", "eprop_random", "bptt")
#: also accepted in ``methods``: adaptive e-prop (B learned with W_out's update)
ALL_METHODS = METHODS + ("eprop_adaptive",)


@dataclasses.dataclass
class Config(with_defaults(LearnerConfig, tau_m=30.0, tau_out=30.0, v_th=0.03, lr=1e-4,
                           help={"lr": "SGD learning rate (reference units)",
                                 "n_iter": "training iterations per method"})):
    n_in: int = field(100, help="number of frozen Poisson inputs", min=1)
    n_rec: int = field(100, help="number of LIF neurons", min=1)
    input_rate: float = field(50.0, help="input rate", units="Hz", min=0.0, max=1000.0)
    duration: int = field(1000, help="length of the pattern (1 ms steps)", min=2)
    periods: list[float] = field([1000, 500, 333, 200], help="periods of the sines",
                                 units="ms", gt=0.0, min_len=1)
    gamma: float = field(0.3, help="pseudo-derivative dampening", gt=0.0)
    reg: float = field(300.0, help="regulariser coefficient (rates in kHz)", min=0.0)
    methods: list[str] = field(list(METHODS), help="learning rules to compare "
                               "(eprop_symmetric, eprop_random, bptt; also eprop_adaptive)",
                               min_len=1, choices=ALL_METHODS)
    adaptive_decay: float = field(0.0, help="weight decay of W_out and B (eprop_adaptive)",
                                  min=0.0)

    def check(self):
        """The checks between keys (on the resolved config; see plasticity.experiments):
        each sine spans a whole number of its periods over the pattern
        (tasks.eprop.sum_of_sines_target), so one longer than the pattern is constant:
        it added nothing, and with no shorter one the target was 0 (ZeroDivisionError
        after training)."""
        long = [p for p in self.periods if p > self.duration]
        if long:
            raise ValueError(f"config key 'periods' must be <= duration ({self.duration} "
                             f"ms; a sine spans whole periods of the pattern), got "
                             f"{long[0]}")


#: a quick run: each method 400 iterations (about a minute in all on one core)
SMALL = {"n_iter": 400}


def memory_estimate(config):
    """What a run needs in memory, by config key (``plasticity run`` checks it first):
    the weights with their gradients and optimiser moments (float64, ~4 copies), and
    the per-step traces of an episode (BPTT keeps ~8 values per step and neuron)."""
    c = config
    return {"n_rec": (c.n_rec, 32.0 * c.n_rec * (c.n_rec + c.n_in + 1)),
            "duration": (c.duration, 64.0 * c.duration * (c.n_rec + c.n_in))}


def _setup(c, seed):
    """Network (initial weights), inputs, target and random feedback of a seed."""
    p = RSNNParams(n_in=c.n_in, n_lif=c.n_rec, n_alif=0, n_out=1, tau_m=c.tau_m,
                   tau_out=c.tau_out, v_th=c.v_th, gamma=c.gamma, n_ref=0)
    ss = np.random.SeedSequence(seed)
    r_w, r_x, r_tgt, r_fb = (np.random.default_rng(s) for s in ss.spawn(4))
    fa, fk = 1 - p.alpha, 1 - p.kappa
    net = RSNN(p, seed=r_w, scale_in=fa, scale_rec=fa, scale_out=fk)
    x = frozen_poisson(c.duration, c.n_in, c.input_rate, rng=r_x)
    target = sum_of_sines_target(c.duration, c.periods, rng=r_tgt)[:, None, None]
    return p, net, x, target, r_fb


def train(c, seed, method, *, start=None, on_iter=None):
    """Train one method; returns (net, nmse curve (n_iter + 1), rate curve in Hz)."""
    p, net, x, target, r_fb = _setup(c, seed)
    fa, fk = 1 - p.alpha, 1 - p.kappa
    rule = None
    if method != "bptt":
        rule = EProp(net, method[len("eprop_"):], seed=r_fb, feedback_scale=fk,
                     decay=c.adaptive_decay)
    params = {**net.weights, **(rule.parameters() if rule is not None else {})}
    opt = SGD(c.lr, {"w_in": fa ** 2, "w_rec": fa ** 2, "w_out": fk ** 2,
                     "feedback": fk ** 2})
    var = float(np.var(target))
    nmse, rates = [], []
    it0 = 0
    if start is not None:
        it0 = int(start["iteration"])
        for k in params:
            params[k][...] = start[k]
        nmse, rates = list(start["nmse"]), list(start["rate"])
    def diverged(what, rate):
        # where the iteration diverges (v_th = 1e-12: every neuron fires at ~440 Hz,
        # and plain gradient descent at lr on the readout grows w_out by a constant
        # factor per iteration), not 'final_nmse is inf' after every method
        size = {k: float(np.max(np.abs(np.nan_to_num(v, nan=np.inf))))
                for k, v in params.items()}
        big = max(size, key=size.get)
        return SimulationError(
            f"{method}: {what}: gradient descent diverged (max |{big}| = "
            f"{size[big]:.3g}{rate}; lr = {c.lr} is too large for this network: lower "
            f"lr, or raise v_th = {c.v_th} to lower the rates)")
    for it in range(it0, c.n_iter + 1):
        if on_iter is not None:
            on_iter(it, params, nmse, rates)
        try:
            tr = net.forward(x)
        except SimulationError as e:   # weights of the last step too large
            raise diverged(f"the forward pass of iteration {it} failed ({e})", "") from None
        # a diverging readout's error squares to inf here: reported below, by iteration
        with np.errstate(over="ignore", invalid="ignore"):
            _, dy = mse_loss(tr.y, target)
            nmse.append(float(np.mean((tr.y - target) ** 2)) / var)
        _, dz = rate_regularization(tr.z, c.reg_rate, c.reg)
        rates.append(float(tr.z.mean()) * 1000.0)
        if not np.isfinite(nmse[-1]):
            raise diverged(f"the NMSE is {nmse[-1]} at iteration {it}",
                           f", mean rate {rates[-1]:.3g} Hz")
        if it == c.n_iter:
            break
        # a diverging step's gradients or weights overflow here: the next forward pass
        # reports it (there is one: the loop ends before the last step)
        with np.errstate(over="ignore", invalid="ignore"):
            g = bptt(net, tr, dy, dz) if rule is None else rule.gradients(tr, dy, dz)
            opt.step(params, g)
    return net, np.array(nmse), np.array(rates), tr, target


def run(config, recorder=None, seed=1, progress=None):
    """Train every method from the same initial weights; returns headline metrics."""
    with single_threaded_blas():
        return _run(config, recorder, seed)


def _run(c, recorder, seed):
    Config.check(c)
    if recorder is not None:
        seed = recorder.seed
    state = recorder.resume_state() if recorder is not None else None
    done = {} if state is None else dict(state.get("done", {}))
    metrics = {}
    bar = recorder.progress(total=len(c.methods) * c.n_iter, desc="e-prop patterns") \
        if recorder is not None else None
    for mi, method in enumerate(c.methods):
        start = None
        if state is not None and int(state["method_index"]) == mi:
            start = state["current"]
        if method in done:
            res = done[method]
            nmse, rates, wall = np.asarray(res["nmse"]), np.asarray(res["rate"]), res["wall"]
        else:
            t0 = time.perf_counter()

            def on_iter(it, params_, nmse_, rates_, _mi=mi, _method=method):
                if bar is not None and it > 0:
                    bar.update(1)
                if recorder is not None and it > 0:
                    recorder.checkpoint(it, lambda: {
                        "method_index": _mi, "done": done,
                        "current": {"iteration": it, "nmse": np.array(nmse_),
                                    "rate": np.array(rates_), **{k: v.copy() for k, v in
                                                                 params_.items()}}})
            net, nmse, rates, tr, target = train(c, seed, method, start=start,
                                                 on_iter=on_iter)
            wall = time.perf_counter() - t0
            done[method] = {"nmse": nmse, "rate": rates, "wall": wall}
            if recorder is not None:
                recorder.metric(f"output/{method}", tr.y[:, 0, 0], units="a.u.")
                recorder.metric("target", target[:, 0, 0])
        metrics[f"final_nmse_{method}"] = float(nmse[-1])
        metrics[f"initial_nmse_{method}"] = float(nmse[0])
        metrics[f"min_nmse_{method}"] = float(nmse.min())
        metrics[f"rate_hz_{method}"] = float(rates[-1])
        metrics[f"wall_s_{method}"] = float(wall)
        if recorder is not None:
            recorder.metric(f"nmse/{method}", nmse, x=np.arange(nmse.size),
                            xlabel="iteration", ylabel="NMSE")
            recorder.metric(f"rate_hz/{method}", rates, x=np.arange(rates.size),
                            xlabel="iteration", ylabel="mean rate (Hz)")
    if bar is not None:
        bar.close()
    return metrics


def main(argv=None):
    """The script's entry point: the options and rules of ``plasticity run``."""
    from plasticity.cli import script_main
    return script_main("eprop_pattern_generation", argv)


if __name__ == "__main__":
    sys.exit(main())
