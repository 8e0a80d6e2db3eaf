"""Toy random walk of weights driven by Poisson spikes (a test fixture, not science).

Pure NumPy; exercises everything a real experiment writes: populations, streamed
spikes, weight snapshots, state monitors, metrics, features and checkpoints. The
environment variable TOY_STEP_SLEEP (seconds per step) slows it down so that the
kill test can interrupt it, and TOY_INTERRUPT_AT (a step) raises KeyboardInterrupt
there, after writing that step's data but before its checkpoint; neither changes any result.
"""
import dataclasses
import os
import time

import numpy as np

from plasticity.config import field


@dataclasses.dataclass
class Noise:
    sigma: float = field(0.02, min=0.0, help="weight noise per step")


@dataclasses.dataclass
class Config:
    n_inputs: int = field(16, min=1, help="Poisson inputs")
    n_outputs: int = field(4, min=1, max=1000, help="output neurons")
    n_steps: int = field(300, min=1, help="time steps")
    dt: float = field(1.0, gt=0.0, units="ms")
    rate_hz: float = field(40.0, min=0.0, max=1000.0, units="Hz", help="input rate")
    eta: float = field(0.05, gt=0.0, help="learning rate")
    w_max: float = field(1.0, gt=0.0, help="upper weight bound")
    p_connect: float = field(0.8, min=0.0, max=1.0)
    snapshot_every: int = field(10, min=1, help="steps between weight snapshots")
    record_every: int = field(5, min=1, help="steps between state samples")
    rule: str = field("additive", choices=("additive", "multiplicative"))
    fail_at_step: int = field(-1, help="raise at this step (for tests); -1: never")
    noise: Noise = field(default_factory=Noise)


SMALL = {"n_steps": 40}


def run(config, recorder):
    c = config
    rng = np.random.default_rng(np.random.SeedSequence(recorder.seed))
    n_in, n_out = c.n_inputs, c.n_outputs
    mask = rng.random((n_in, n_out)) < c.p_connect
    indptr = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int64)
    indices = np.nonzero(mask)[1].astype(np.int32)
    rows = np.repeat(np.arange(n_in), np.diff(indptr))
    w = (0.5 * c.w_max * rng.random(indices.shape[0])).astype(np.float32)
    side = int(round(np.sqrt(n_in)))
    recorder.add_population("inputs", "poisson", n_in, {"rate_hz": c.rate_hz})
    recorder.add_population("outputs", "toy_threshold", n_out, {"threshold": 1.0})
    recorder.set_synapses("in_to_out", indptr, indices, w, (n_in, n_out), "inputs",
                          "outputs", rule=c.rule, rule_params={"eta": c.eta},
                          pre_shape=(side, side) if side * side == n_in else None)
    v = np.zeros(n_out)
    curve = []
    start = 0
    state = recorder.resume_state()
    if state is not None:
        w = state["w"]
        v = state["v"]
        curve = list(state["curve"])
        rng.bit_generator.state = state["rng"]
        start = state["step"]
    sleep = float(os.environ.get("TOY_STEP_SLEEP", "0"))
    interrupt_at = int(os.environ.get("TOY_INTERRUPT_AT", "-1"))
    p_spike = c.rate_hz * c.dt / 1000.0
    with recorder.progress(c.n_steps, initial=start, unit="step") as bar:
        for step in range(start, c.n_steps):
            t = step * c.dt
            pre = rng.random(n_in) < p_spike
            drive = np.zeros(n_out)
            np.add.at(drive, indices, w * pre[rows])
            v = 0.8 * v + drive
            post = v > 1.0
            v[post] = 0.0
            dw = c.eta * (pre[rows] & post[indices]) - 0.5 * c.eta * pre[rows]
            if c.rule == "multiplicative":
                dw = dw * (c.w_max - w)
            dw = dw + c.noise.sigma * rng.standard_normal(w.shape[0])
            w = np.clip(w + dw, 0.0, c.w_max).astype(np.float32)
            ids = np.flatnonzero(pre)
            recorder.append_spikes("inputs", np.full(ids.shape, t), ids, t_stop=t + c.dt)
            ids = np.flatnonzero(post)
            recorder.append_spikes("outputs", np.full(ids.shape, t), ids, t_stop=t + c.dt)
            if step % c.record_every == 0:
                recorder.append_state("out_monitor", "v", [t], v[None, :], units="mV")
                recorder.append_state("out_monitor", "drive", [t], drive[None, :])
            if (step + 1) % c.snapshot_every == 0:
                recorder.append_weight_snapshot("in_to_out", t + c.dt, w)
                curve.append(float(w.mean()))
            if step == c.fail_at_step:
                raise RuntimeError(f"toy failure at step {step}")
            if sleep:
                time.sleep(sleep)
            bar.update(1)
            if step == interrupt_at:  # its data is written, its checkpoint is not
                raise KeyboardInterrupt
            recorder.checkpoint(step + 1, lambda: {"w": w, "v": v, "curve": curve,
                                                   "rng": rng.bit_generator.state,
                                                   "step": step + 1})
    recorder.set_synapses("in_to_out", indptr, indices, w, (n_in, n_out), "inputs",
                          "outputs")
    curve = np.asarray(curve)
    recorder.metric("convergence", np.abs(np.diff(curve, prepend=curve[:1])),
                    xlabel="snapshot")
    acc = np.clip(0.5 + 0.4 * (1 - np.exp(-np.arange(1, 6) / 2.0)), 0, 1)
    recorder.metric("accuracy/train", acc, x=np.arange(1, 6), xlabel="epoch")
    recorder.metric("accuracy/test", acc - 0.05, x=np.arange(1, 6), xlabel="epoch")
    conf = np.array([[8, 2, 0], [1, 7, 2], [0, 3, 7]])
    recorder.metric("confusion", conf, labels=["a", "b", "c"])
    recorder.features("features", w.reshape(1, -1).repeat(3, axis=0))
    recorder.features("labels", np.array([0, 1, 2]))
    return {"mean_weight": float(w.mean()), "test_accuracy": float(acc[-1] - 0.05)}
