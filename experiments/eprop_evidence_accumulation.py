"""e-prop evidence accumulation (Bellec et al. 2020, Fig. 3): 50 LIF + 50 ALIF neurons count 7 cues.

A network of 50 LIF and 50 ALIF neurons (tau_m 20 ms, threshold 0.6, 5 refractory
steps; ALIF tau_a 2 s) sees 7 cues of 100 ms, one every 150 ms, each on the left or
right input population (10 channels each at 40 Hz; the trial's side probability is
0.3 or 0.7), then a 1200 ms delay whose last 150 ms carry a recall cue; 10 noise
channels fire at 10 Hz throughout. Two leaky readouts (tau_out 20 ms) must report
the side with more cues: softmax cross-entropy over the last 150 ms, plus the rate
regulariser reg_f sum_j (f_j - 10 Hz)^2. Adam (lr 0.005), batches of 64 fresh trials.
Every 10 iterations one fresh validation batch is scored; when its error is below
7% (the stopping criterion), 8 more fresh batches are scored and training stops if
their mean error is below 7%; the final error is measured on 4 further fresh
(held-out) batches.

Constants from the reference implementation (IGITUGraz/eligibility_propagation,
``tutorial_evidence_accumulation_with_alif.py``; shared/references.md section 6),
including beta = 1.7 (1 - rho) / (1 - exp(-dt / tau_m)) (their heuristic) and the
initialisation: W_in, W_rec ~ N(0, 1/n_pre), W_out Glorot-uniform. Their readout
filters the spikes with a factor (1 - kappa) that our readout equation lacks, so our
W_out (and the random feedback matrix, N(0, 1) in their units) is theirs times
(1 - kappa), and its Adam learning rate is lr (1 - kappa): the same dynamics. Their
``reg_f sum (f - f0)^2`` is our regulariser with coefficient 2 reg_f.
"""
import dataclasses
import math
import sys
import time

import numpy as np

from plasticity.config import field
from plasticity.experiments._common import LearnerConfig, check_models, with_defaults
from plasticity.rsnn import (RSNN, Adam, EProp, RSNNParams, bptt, cross_entropy_loss,
                             rate_regularization)
from plasticity.rsnn.util import single_threaded_blas
from plasticity.tasks import evidence_accumulation_batch

METHODS = ("eprop_symmetric", "eprop_random", "bptt")


@dataclasses.dataclass
class Config(with_defaults(LearnerConfig, lr=0.005,
                           help={"lr": "Adam learning rate",
                                 "n_iter": "maximum training iterations"})):
    method: str = field("eprop_symmetric", help="learning rule", choices=METHODS)
    n_in: int = field(40, help="input channels (4 populations)", min=4)
    n_lif: int = field(50, help="LIF neurons", min=0)
    n_alif: int = field(50, help="ALIF neurons", min=0)
    tau_a: float = field(2000.0, help="threshold adaptation time constant", units="ms",
                         gt=0.0)
    beta_factor: float = field(1.7, help="beta = beta_factor (1 - rho) / (1 - alpha)",
                               min=0.0)
    n_ref: int = field(5, help="refractory period (steps)", min=0)
    gamma: float = field(0.3, help="pseudo-derivative dampening", gt=0.0)
    n_cues: int = field(7, help="cues per trial", min=1)
    t_cue: int = field(100, help="cue duration", units="ms", min=1)
    t_interval: int = field(150, help="cue spacing", units="ms", min=1)
    t_delay: int = field(1200, help="time after the last cue slot", units="ms", min=1)
    recall: int = field(150, help="recall cue / decision window", units="ms", min=1)
    input_rate: float = field(40.0, help="cue rate (noise: a quarter)", units="Hz",
                              min=0.0, max=1000.0)
    p_group: float = field(0.3, help="probability of the minority side", min=0.0, max=1.0)
    batch: int = field(64, help="trials per batch", min=1)
    reg_f: float = field(1.0, help="rate regulariser reg_f sum (f - f0)^2", min=0.0)
    validate_every: int = field(10, help="validation interval (iterations)", min=1)
    stop_crit: float = field(0.07, help="stopping criterion (validation error)", min=0.0)
    n_stop_batches: int = field(8, help="batches confirming the stopping criterion", min=1)
    n_test_batches: int = field(4, help="held-out batches of the final error", min=1)

    def check(self):
        """The checks between keys (on the resolved config; see plasticity.experiments):
        the network's own (n_lif + n_alif >= 1, a membrane that decays), before any
        work and any run file."""
        check_models("the network", lambda: params_of(self))


#: a quick run: 25 iterations of 32 trials (a few minutes of CPU; a smoke run, not the criterion)
SMALL = {"n_iter": 25, "batch": 32, "validate_every": 5, "n_stop_batches": 2,
         "n_test_batches": 1}


#: bytes per time step, trial and recurrent neuron of a batch's forward pass and
#: gradient (~9 float64 arrays of shape (T, batch, n_rec): the forward traces, the
#: eligibility and learning-signal terms), and per input channel (the input, float64).
#: Measured ~74 B and ~6 B (tests/test_experiment_memory.py)
NEURON_STEP_BYTES, INPUT_STEP_BYTES = 80.0, 8.0


def memory_estimate(config):
    """What a run needs in memory, by config key (``plasticity run`` checks it first):
    a batch of trials through the network and its gradient, and the weights with
    their gradients and Adam's moments."""
    from plasticity._memory import named_after
    c = config
    n_rec = c.n_lif + c.n_alif
    T = c.n_cues * c.t_interval + c.t_delay
    total = (c.batch * T * (NEURON_STEP_BYTES * n_rec + INPUT_STEP_BYTES * c.n_in)
             + 64.0 * n_rec * (c.n_in + n_rec + 2))
    return named_after(c, total, grow=("batch", "n_lif", "n_alif", "n_in", "n_cues",
                                       "t_interval", "t_delay"))


def params_of(c):
    alpha = math.exp(-1.0 / c.tau_m)
    rho = math.exp(-1.0 / c.tau_a)
    if alpha == 1.0:     # beta below would divide by zero
        raise ValueError(f"tau_m must be below about 1e16 ms (exp(-1 / tau_m) rounds to "
                         f"1 in float64: no decay per step, beta = beta_factor (1 - rho) "
                         f"/ (1 - alpha) is undefined), got {c.tau_m}")
    beta = c.beta_factor * (1 - rho) / (1 - alpha)
    return RSNNParams(n_in=c.n_in, n_lif=c.n_lif, n_alif=c.n_alif, n_out=2, tau_m=c.tau_m,
                      tau_a=c.tau_a, beta=beta, v_th=c.v_th, n_ref=c.n_ref, gamma=c.gamma,
                      tau_out=c.tau_out)


def build(c, seed):
    p = params_of(c)
    ss = np.random.SeedSequence(seed)
    r_w, r_fb = (np.random.default_rng(s) for s in ss.spawn(2))
    fk = 1 - p.kappa
    lim = math.sqrt(6.0 / (p.n_rec + p.n_out))
    w_out = r_w.uniform(-lim, lim, (p.n_rec, p.n_out)) * fk
    net = RSNN(p, w_out=w_out, seed=r_w)
    rule = None
    if c.method != "bptt":
        rule = EProp(net, "random" if c.method == "eprop_random" else "symmetric",
                     seed=r_fb, feedback_scale=fk * math.sqrt(p.n_rec))
    opt = Adam(c.lr, lr_scale={"w_out": fk})
    return net, rule, opt


def batch_of(c, seed, kind, index):
    """A fresh batch; training, validation and test batches come from distinct streams."""
    rng = np.random.default_rng([seed, {"train": 0, "val": 1, "test": 2}[kind], index])
    return evidence_accumulation_batch(c.batch, rng, n_in=c.n_in, n_cues=c.n_cues,
                                       t_cue=c.t_cue, t_interval=c.t_interval,
                                       t_delay=c.t_delay, recall=c.recall,
                                       rate_hz=c.input_rate, p_group=c.p_group)


def evaluate(net, c, seed, kind, index):
    x, labels, mask = batch_of(c, seed, kind, index)
    tr = net.forward(x)
    loss, _ = cross_entropy_loss(tr.y, labels, mask)
    pred = np.argmax(tr.y[mask].mean(axis=0), axis=1)
    return float(np.mean(pred != labels)), loss, float(tr.z.mean()) * 1000.0


def run(config, recorder=None, seed=1, progress=None, log=None):
    """Train until the stopping criterion or n_iter; returns headline metrics."""
    with single_threaded_blas():
        return _run(config, recorder, seed, log)


def _run(c, recorder, seed, log):
    if recorder is not None:
        seed = recorder.seed
    net, rule, opt = build(c, seed)
    curves = {"iteration": [], "val_error": [], "val_loss": [], "rate_hz": [],
              "train_loss": []}
    it0, wall0, n_val = 0, 0.0, 0
    state = recorder.resume_state() if recorder is not None else None
    if state is not None:
        it0, wall0, n_val = int(state["iteration"]), float(state["wall"]), int(state["n_val"])
        for k in net.weights:
            net.weights[k][...] = state[k]
        opt.load_state(state["adam"])
        curves = {k: list(v) for k, v in state["curves"].items()}
    t0 = time.perf_counter() - wall0
    stopped_at = None
    bar = recorder.progress(total=c.n_iter, initial=it0, desc="evidence accumulation") \
        if recorder is not None else None
    it = it0
    while True:
        if recorder is not None and it > it0:
            recorder.checkpoint(it, lambda: {
                "iteration": it, "wall": time.perf_counter() - t0, "n_val": n_val,
                "adam": opt.state(), "curves": {k: np.array(v) for k, v in curves.items()},
                **{k: v.copy() for k, v in net.weights.items()}})
        if it % c.validate_every == 0:
            err, loss, rate = evaluate(net, c, seed, "val", n_val)
            n_val += 1
            for k, v in (("iteration", it), ("val_error", err), ("val_loss", loss),
                         ("rate_hz", rate)):
                curves[k].append(v)
            if log:
                print(f"iter {it:5d}  val error {err:.3f}  loss {loss:.3f}  "
                      f"rate {rate:.1f} Hz  {time.perf_counter() - t0:.0f} s", file=log,
                      flush=True)
            if it > 0 and err < c.stop_crit:
                errs = []
                for _ in range(c.n_stop_batches):
                    errs.append(evaluate(net, c, seed, "val", n_val)[0])
                    n_val += 1
                if np.mean(errs) < c.stop_crit:
                    stopped_at = it
                    break
        if it >= c.n_iter:
            break
        x, labels, mask = batch_of(c, seed, "train", it)
        tr = net.forward(x)
        loss, dy = cross_entropy_loss(tr.y, labels, mask)
        reg, dz = rate_regularization(tr.z, c.reg_rate, 2.0 * c.reg_f)
        curves["train_loss"].append(loss + reg)
        g = bptt(net, tr, dy, dz) if rule is None else rule.gradients(tr, dy, dz)
        opt.step(net.weights, g)
        it += 1
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    wall = time.perf_counter() - t0
    test = [evaluate(net, c, seed, "test", i) for i in range(c.n_test_batches)]
    test_err = float(np.mean([t[0] for t in test]))
    metrics = {
        "test_error": test_err,
        "reached_stop_criterion": stopped_at is not None,
        "iterations": int(it),
        "final_val_error": float(curves["val_error"][-1]),
        "initial_val_loss": float(curves["val_loss"][0]),
        "final_val_loss": float(curves["val_loss"][-1]),
        "rate_hz": float(np.mean([t[2] for t in test])),
        "wall_s": float(wall),
    }
    if recorder is not None:
        x = np.asarray(curves["iteration"])
        recorder.metric("val_error", np.asarray(curves["val_error"]), x=x,
                        xlabel="iteration", ylabel="validation error")
        recorder.metric("val_loss", np.asarray(curves["val_loss"]), x=x,
                        xlabel="iteration", ylabel="validation cross-entropy")
        recorder.metric("rate_curve_hz", np.asarray(curves["rate_hz"]), x=x,
                        xlabel="iteration", ylabel="mean rate (Hz)")
        recorder.metric("train_loss", np.asarray(curves["train_loss"]),
                        xlabel="iteration", ylabel="training loss")
    else:
        metrics["curves"] = curves
    return metrics


def main(argv=None):
    """The script's entry point: the options and rules of ``plasticity run``."""
    from plasticity.cli import script_main
    return script_main("eprop_evidence_accumulation", argv)


if __name__ == "__main__":
    sys.exit(main())
