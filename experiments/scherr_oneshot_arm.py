"""One-shot learning of new arm movements (Scherr, Stoeckl & Maass 2020): a learning-signal generator gates one e-prop update.

Task (one episode = one new movement): a planar two-joint arm (links 0.5 m, starting
angles (0, pi/2)) must follow a smooth random target movement of ``T`` = 250 ms
(joint angular velocities: random sums of 3 half-wave sines, RMS ``omega_rms`` rad/s;
the hand moves ~0.3 m). The learner (``n_learner`` LIF neurons, threshold 0.6, 5
refractory steps, tau_m 20 ms) sees only a frozen clock input (``clock_groups``
groups of ``clock_per_group`` Poisson channels at ``clock_rate``, one group per
window) and its two leaky readouts (tau_out 20 ms) are the joint angular velocities.
In the training trial the learning-signal generator (LSG: ``n_lsg`` neurons, a
fraction ``lsg_alif`` of them ALIF) sees the clock, the target (hand position
relative to the start, times 4, and angular velocities / omega_rms: 4 analog
channels) and the learner's spikes, and emits a learning signal for every learner
neuron; the learner's input and recurrent weights change once,
dW_ji = -eta sum_t L_j^t psi_j^t zbar_i^t (:mod:`plasticity.rsnn.oneshot`); the test
trial runs the same clock with the new weights. Loss (Ortner et al. 2025):
0.5 MSE(joint velocities) + 0.5 MSE(hand position).

Outer loop: Adam (lr 1.5e-3) on the LSG's weights and the learner's initial weights
(input, recurrent, readout), batches of ``batch`` fresh movements, gradient by BPTT
through the inner update (``order="full"``) or its first-order approximation
(``order="first"``). Held-out movements come from a separate random stream; the
validation stream picks the baselines' learning rates.

Measured on held-out movements (test-trial loss, mean over ``n_test`` movements):
the LSG's one-shot update; no update (the meta-learned initial weights alone); the
LSG with the target removed from its input (zeros: what it can do without knowing the
task); the mean target movement (the best any fixed output can do on average);
one-shot e-prop with symmetric (B = W_out) and random feedback, each at its
best inner learning rate on the validation movements (grid ``eprop_etas``), from the
same meta-learned initial weights.

Choices where the paper leaves things open, scaled down from the follow-up's 250
learner and 800 LSG neurons so that the outer loop trains on 2 CPU cores within an
hour: 100 learner neurons, 200 LSG neurons (30% ALIF, tau_a 500 ms, beta 1), clock of
10 x 5 channels at 100 Hz, eta 1e-3 (the LSG's readout scale is learned, so eta only
sets the units of L), rate regularisation towards 20 Hz, initial weights N(0, 1/n_pre)
times ``scale_in`` 2 (learner ~30 Hz), ``scale_rec`` 0.5, learner readout times 5.
"""
import dataclasses
import math
import sys

import numpy as np

from plasticity.config import field
from plasticity.results import Undefined
from plasticity.experiments._common import (ONESHOT_SIZE_KEYS, OneShotConfig, oneshot_memory,
                                            check_models, with_defaults)
from plasticity.rsnn import RSNN, Adam, RSNNParams
from plasticity.tasks.arm import Arm, clock_input, random_movements
from plasticity.rsnn.metalearn import best_learning_rate, meta_train, record_outer_loop
from plasticity.rsnn.oneshot import OneShotLearning
from plasticity.rsnn.util import single_threaded_blas


@dataclasses.dataclass
class Config(with_defaults(OneShotConfig, help={
        "batch": "movements per outer iteration", "n_val": "validation movements",
        "n_test": "held-out test movements"})):
    T: int = field(250, help="movement duration (1 ms steps)", min=10)
    omega_rms: float = field(2.0, help="RMS joint angular velocity of targets",
                             units="rad/s", gt=0.0)
    n_components: int = field(3, help="half-wave sines per joint", min=1)
    clock_groups: int = field(10, help="clock groups", min=1)
    clock_per_group: int = field(5, help="channels per clock group", min=1)
    clock_rate: float = field(100.0, help="clock rate", units="Hz", min=0.0, max=1000.0)

    def check(self):
        """The checks between keys (on the resolved config; see plasticity.experiments):
        the learner's and the LSG's own (an LSG adaptation whose gradient grows without
        bound: lsg_beta = 1e30 overflowed in the outer loop's optimiser)."""
        check_models("the networks", lambda: params_of(self))


#: a quick run (about a minute): small networks, 30 outer iterations
SMALL = {"n_learner": 30, "n_lsg": 40, "T": 100, "n_iter": 30, "eval_every": 10,
         "batch": 4, "n_val": 8, "n_test": 16, "eprop_etas": [1e-3, 1e-2]}


#: bytes per time step of the 1024 mean-target movements (the best movement without
#: learning); measured ~88 B (tests/test_experiment_memory.py)
MEAN_MOVEMENT_STEP_BYTES = 90.0 * 1024


def movement_step_bytes(n_components):
    """Bytes per time step and movement while :func:`plasticity.tasks.random_movements`
    draws them: its (T, batch, 2, n_components) sums of sines (~16 B per component
    each) and omega, positions (~40 B); ~88 B at 3 components (measured, above)."""
    return 16.0 * n_components + 42.0


def memory_estimate(config):
    """What a run needs in memory, by config key (``plasticity run`` checks it first):
    the one-shot episodes (:func:`experiments._common.oneshot_memory`) and the mean
    movement's 1024 targets."""
    from plasticity._memory import named_after
    c = config
    n_in = c.clock_groups * c.clock_per_group
    # the movements are drawn whole (the validation and test sets are kept: omega and
    # positions, 32 B per step and movement; n_test = 1e9 was a MemoryError in the
    # run, n_components = 1e9 swapped)
    total = (oneshot_memory(c, T=c.T, n_in=n_in, n_in_lsg=n_in + 4 + c.n_learner,
                            n_out=2, eval_chunk=32)
             + MEAN_MOVEMENT_STEP_BYTES / 90.0 * movement_step_bytes(c.n_components)
             * c.T
             + c.T * (movement_step_bytes(c.n_components) * max(c.n_val, c.n_test)
                      + 32.0 * (c.n_val + c.n_test)))
    return named_after(c, total, grow=ONESHOT_SIZE_KEYS + ("T", "clock_groups",
                                                           "clock_per_group",
                                                           "n_components"))


def params_of(c):
    """The learner's and the LSG's RSNNParams."""
    pl = RSNNParams(n_in=c.clock_groups * c.clock_per_group, n_lif=c.n_learner, n_out=2,
                    v_th=c.v_th, n_ref=c.n_ref, tau_m=c.tau_m, tau_out=c.tau_out)
    n_alif = int(round(c.lsg_alif * c.n_lsg))
    pg = RSNNParams(n_in=pl.n_in + 4 + c.n_learner, n_lif=c.n_lsg - n_alif, n_alif=n_alif,
                    n_out=c.n_learner, tau_m=c.tau_m, tau_a=c.lsg_tau_a, beta=c.lsg_beta,
                    v_th=c.v_th, n_ref=c.n_ref, tau_out=c.tau_out)
    return pl, pg


def build(c, seed):
    ss = np.random.SeedSequence(seed)
    r_clock, r_learner, r_lsg, r_fb = (np.random.default_rng(s) for s in ss.spawn(4))
    pl, pg = params_of(c)
    learner = RSNN(pl, seed=r_learner, scale_in=c.scale_in, scale_rec=c.scale_rec,
                   scale_out=c.scale_out)
    lsg = RSNN(pg, seed=r_lsg, scale_in=c.lsg_scale_in, scale_rec=c.scale_rec,
               scale_out=c.lsg_scale_out)
    osl = OneShotLearning(learner, lsg, eta=c.eta, reg_rate=c.reg_rate,
                          reg_coeff=c.reg_coeff)
    clock = clock_input(c.T, c.clock_groups, c.clock_per_group, c.clock_rate, r_clock)
    random_B = r_fb.standard_normal((c.n_learner, 2)) * c.scale_out / math.sqrt(c.n_learner)
    return osl, clock, random_B


STREAMS = {"train": 0, "val": 1, "test": 2, "mean": 3}


def movements(c, seed, kind, index, batch):
    rng = np.random.default_rng([seed, STREAMS[kind], index])
    return random_movements(c.T, batch, rng, Arm(), n_components=c.n_components,
                            omega_rms=c.omega_rms)


def task_signal(c, omega, pos):
    p0 = Arm().positions(np.asarray(Arm().phi0))
    return np.concatenate([(pos - p0) * 4.0, omega / c.omega_rms], axis=2)


def episode_losses(osl, c, clock, omega, pos, *, mode="lsg", eta=None, feedback=None,
                   chunk=32):
    """Per-movement test-trial losses (B,) of one-shot learning in ``mode``: "lsg",
    "lsg_no_task" (the LSG sees zeros instead of the target), "none" (no update) or
    "eprop" (feedback matrix ``feedback``, inner rate ``eta``)."""
    arm = Arm()
    out_all, traj = [], []
    for s in range(0, omega.shape[1], chunk):
        om, po = omega[:, s:s + chunk], pos[:, s:s + chunk]
        B = om.shape[1]
        x = np.repeat(clock[:, None, :], B, axis=1)
        s1 = task_signal(c, om, po)
        ls, eta_now = None, None
        if mode == "lsg_no_task":
            s1 = np.zeros_like(s1)
        elif mode == "none":
            eta_now = 0.0
        elif mode == "eprop":
            eta_now = eta

            def ls(tr1, om=om, po=po):
                _, dE = arm.loss(tr1.y, om, po)
                return osl.eprop_signal(tr1, dE, feedback)
        r = osl.episode(x, s1, x, lambda y: arm.loss(y, om, po), learning_signal=ls,
                        grad=False, eta=eta_now)
        ev, ep = arm.errors(r["trace2"].y, om, po)
        out_all.append(arm.w_vel * ev + arm.w_pos * ep)
        traj.append(r["trace2"].y)
    return np.concatenate(out_all), np.concatenate(traj, axis=1)


def run(config, recorder=None, seed=1, progress=None, log=None):
    """Meta-train, then measure one-shot learning on held-out movements."""
    with single_threaded_blas():
        return _run(config, recorder, seed, log)


def _run(c, recorder, seed, log):
    if recorder is not None:
        seed = recorder.seed
    osl, clock, random_B = build(c, seed)
    arm = Arm()
    params = osl.parameters()
    val = movements(c, seed, "val", 0, c.n_val)

    def train_step(it):
        om, po = movements(c, seed, "train", it, c.batch)
        x = np.repeat(clock[:, None, :], c.batch, axis=1)
        r = osl.episode(x, task_signal(c, om, po), x, lambda y: arm.loss(y, om, po),
                        order=c.order)
        return r["loss"], r["grads"]

    def evaluate(it):
        return {"val_loss": episode_losses(osl, c, clock, *val)[0].mean(),
                "val_loss_no_update": episode_losses(osl, c, clock, *val, mode="none")[0].mean()}

    curves, wall = meta_train(params, Adam(c.lr), c.n_iter, train_step, evaluate,
                              eval_every=c.eval_every, recorder=recorder, log=log)

    # ---- evaluation on held-out movements -------------------------------------------
    test = movements(c, seed, "test", 0, c.n_test)
    res = {}
    res["lsg"], traj_lsg = episode_losses(osl, c, clock, *test)
    res["no_update"], traj_none = episode_losses(osl, c, clock, *test, mode="none")
    res["lsg_no_task"], _ = episode_losses(osl, c, clock, *test, mode="lsg_no_task")
    # the best movement without learning: the mean target movement (1024 samples)
    mean_om = movements(c, seed, "mean", 0, 1024)[0].mean(axis=1, keepdims=True)
    ev, ep = arm.errors(np.broadcast_to(mean_om, test[0].shape), *test)
    res["mean_movement"] = arm.w_vel * ev + arm.w_pos * ep
    best = {}
    for name, fb in (("eprop_symmetric", osl.learner.w_out), ("eprop_random", random_B)):
        best[name] = best_learning_rate(
            c.eprop_etas, lambda eta, fb=fb: episode_losses(
                osl, c, clock, *val, mode="eprop", eta=eta, feedback=fb)[0].mean())
        res[name], _ = episode_losses(osl, c, clock, *test, mode="eprop",
                                      eta=best[name][0], feedback=fb)
    metrics = {f"test_loss/{k}": float(v.mean()) for k, v in res.items()}
    for k, v in res.items():   # one test movement has no SEM (NumPy: a warning, NaN)
        metrics[f"test_loss_sem/{k}"] = (
            float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else
            Undefined("one test movement (n_test = 1): a standard error needs two"))
    metrics["ratio_update_to_no_update"] = metrics["test_loss/lsg"] / metrics["test_loss/no_update"]
    metrics["ratio_update_to_mean_movement"] = (metrics["test_loss/lsg"]
                                                / metrics["test_loss/mean_movement"])
    metrics["halved"] = bool(metrics["ratio_update_to_no_update"] <= 0.5)
    for name in ("eprop_symmetric", "eprop_random"):
        metrics[f"best_eta/{name}"] = float(best[name][0])
    metrics["wall_s"] = float(wall)
    metrics["iterations"] = int(c.n_iter)
    if recorder is not None:
        record_outer_loop(
            recorder, curves, {"val_loss": "validation test-trial loss",
                               "val_loss_no_update": "validation loss, no update",
                               "train_loss": "training test-trial loss"},
            osl.parameters(), per_item=[("per_movement", res)], scans=best,
            rates=c.eprop_etas, scan_label="validation loss")
        n_ex = min(4, c.n_test)
        recorder.metric("examples/target_position", test[1][:, :n_ex])
        recorder.metric("examples/position_after_update",
                        arm.positions(arm.angles(traj_lsg[:, :n_ex])))
        recorder.metric("examples/position_no_update",
                        arm.positions(arm.angles(traj_none[:, :n_ex])))
    else:
        metrics["curves"] = curves
    return metrics


def figure(source):
    """Outer-loop learning curve, held-out losses of every method, example movements."""
    from matplotlib.figure import Figure

    from plasticity import results
    run_ = results.load(source) if isinstance(source, str) else source
    m = run_.metrics
    fig = Figure(figsize=(13, 4), layout="constrained")
    a1, a2, a3 = fig.subplots(1, 3)
    x = np.arange(len(np.asarray(m["curves/val_loss"])))
    it = run_.metric_attrs("curves/val_loss").get("x", x)
    a1.plot(it, m["curves/val_loss"], label="after the one-shot update")
    a1.plot(it, m["curves/val_loss_no_update"], label="no update")
    a1.set_xlabel("outer iteration")
    a1.set_ylabel("validation loss")
    a1.set_yscale("log")
    a1.legend(fontsize="small")
    names = ["mean_movement", "no_update", "lsg_no_task", "eprop_random", "eprop_symmetric", "lsg"]
    vals = [float(m[f"test_loss/{k}"]) for k in names]
    errs = [float(m[f"test_loss_sem/{k}"]) for k in names]
    a2.bar(range(len(names)), vals, yerr=errs, color=["0.8", "0.6", "0.6", "C1", "C2", "C0"])
    a2.set_xticks(range(len(names)), ["mean movement", "no update", "LSG, no target", "e-prop random",
                                      "e-prop symm.", "LSG"], rotation=30, fontsize="small")
    a2.set_ylabel("held-out test-trial loss")
    tgt = np.asarray(m["examples/target_position"])
    aft = np.asarray(m["examples/position_after_update"])
    non = np.asarray(m["examples/position_no_update"])
    for k in range(tgt.shape[1]):
        a3.plot(tgt[:, k, 0], tgt[:, k, 1], color=f"C{k}", lw=2, alpha=0.4)
        a3.plot(aft[:, k, 0], aft[:, k, 1], color=f"C{k}", lw=1)
        a3.plot(non[:, k, 0], non[:, k, 1], color="0.5", lw=0.8, ls=":")
    a3.set_aspect("equal")
    a3.set_title("target (thick), after update, no update (dotted)", fontsize="small")
    return fig


def main(argv=None):
    """The script's entry point: the options and rules of ``plasticity run``."""
    from plasticity.cli import script_main
    return script_main("scherr_oneshot_arm", argv, figure=figure)


if __name__ == "__main__":
    sys.exit(main())
