"""Diehl & Cook 2015 in Brian2: the whole protocol, a peer's accuracy beside ours.

Not a speed benchmark: an independent replication. The model and protocol of
``experiments/diehl_cook_2015.py`` (same Config, same initial weights and delays for
the same seed: ``initial_synapses``; same label assignment and readout functions) run
in Brian2 2.9 ``cpp_standalone``. Only the Poisson input streams differ (Brian2's own
RNG). The retry loop (fewer than ``min_spikes`` excitatory spikes in the 350 ms:
intensity + 1, same image again; else next image at intensity 2) runs inside the
simulation: a one-neuron controller group counts the steps of each 500 ms slot
(``run_regularly`` every step: a first version on a 50 ms clock drifted against dt
and, after ~1000 s of simulated time, moved the 350 ms edge by one step) and the input group reads its
image index, intensity and on/off flag through linked variables; the images sit in a
TimedArray indexed by image. The controller's decisions are recorded and must equal
those replayed from the excitatory spikes with the experiment's rule. Weight
normalisation before every try is done by three ``run_regularly`` operations every
500 ms (the column-sum C++ helpers of ``b3_diehl_cook.py``). Since the number of
tries is not known in advance, each phase simulates a generous fixed time; once the controller
has passed the last image the inputs stay off and theta stops decaying, so the extra
time changes nothing.

Two numerics (``--numerics``):

* ``ours`` (default): what our engine integrates: exponential Euler for v with the
  conductances frozen over the step, exact decay of ge, gi and theta, v held at reset
  while refractory (Brian2 ``method='exponential_euler'``, ``(unless refractory)``).
* ``brian1``: the original code's: forward Euler (Brian 1 integrated the nonlinear
  equations so: ge halves, gi drops by a quarter per 0.5 ms step), and the excitatory
  neurons only blocked from spiking for 5 ms, v not held (Brian2 ``method='euler'``,
  ``refractory=5*ms`` without ``unless refractory``). The inhibitory neurons keep
  their clamp, as in the original.

Accuracy: labels assigned on the responses to the ``n_assign`` training images with
learning off, then the ``n_test`` test images, exactly as the experiment does.

    python benchmarks/dc_brian2_replication.py --n-e 100 --seed 2 [--numerics brian1]
        [--n-train N --n-assign N --n-test N] [--tries-per-image X]
        [--eval-tries-per-image X] [--data DIR] [--json F]

The measured runs and their exact commands are in docs/classic-results.md.

Prints and (``--json``) writes accuracy, tries per example, mean theta and wall times.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import b3_diehl_cook  # noqa: E402
from plasticity.experiments import diehl_cook_2015 as dc  # noqa: E402

def tries_margin(expected_tries):
    """Simulated tries per phase: generous, as the controller stops by itself."""
    return int(np.ceil(expected_tries * 1.25)) + 20


def build(c, images, w0, delays, learning, numerics, directory, theta_mV=None,
          seed=0, input_spikes=None, normalize_in_sim=True):
    """The network in the current device. Returns the objects needed after the run.

    ``input_spikes`` = (times in ms, ids) replaces the Poisson inputs by a
    SpikeGeneratorGroup (the cross-check test); ``normalize_in_sim=False`` leaves the
    normalisation to the caller (the runtime device has no C++ helpers).
    """
    from brian2 import (EventMonitor, Network, NeuronGroup, SpikeGeneratorGroup,
                        SpikeMonitor, Synapses, TimedArray, defaultclock, linked_var, ms, mV, Hz)
    from brian2 import seed as b2_seed
    defaultclock.dt = c.dt * ms
    b2_seed(seed)
    n_in, n_e = dc.N_INPUT, c.n_e
    steps_slot = int(round((c.t_present + c.t_rest) / c.dt))
    steps_on = int(round(c.t_present / c.dt))
    n_images = len(images) if images is not None else 2 ** 30
    ctl = NeuronGroup(1, """img : integer
        intensity : 1
        present : integer
        active : integer
        count : integer
        ph : integer
        started : integer""", events={"slot": "ph == 1"}, name="ctl")
    ctl.intensity = c.intensity
    ctl.active = 1
    ctl.run_regularly(f"""
        slot0 = int(ph == 0)
        done = int(count >= {c.min_spikes} or intensity + 1 > {c.max_intensity})
        adv = slot0 * started * active * done
        rep = slot0 * started * active * (1 - adv)
        img = img + adv
        intensity = intensity * (1 - adv) + {c.intensity} * adv + rep
        active = int(img < {n_images})
        count = count * (1 - slot0)
        present = active * (slot0 + present * (1 - slot0) * int(ph != {steps_on}))
        started = 1
        ph = (ph + 1) % {steps_slot}""", when="start", order=-10, name="controller")

    if input_spikes is None:
        # images by index: a TimedArray with 1 ms rows, read at img * ms
        pix = TimedArray(images.astype(np.float64) / 8.0, dt=1 * ms)
        inp = NeuronGroup(n_in, """img_l : integer (linked)
            intensity_l : 1 (linked)
            present_l : integer (linked)""",
            threshold="rand() < pix(img_l * ms, i) * intensity_l * present_l * Hz * dt",
            namespace=dict(pix=pix), name="inp")
        zeros_in = np.zeros(n_in, dtype=int)
        inp.img_l = linked_var(ctl, "img", index=zeros_in)
        inp.intensity_l = linked_var(ctl, "intensity", index=zeros_in)
        inp.present_l = linked_var(ctl, "present", index=zeros_in)
    else:
        inp = SpikeGeneratorGroup(n_in, np.asarray(input_spikes[1]),
                                  np.asarray(input_spikes[0]) * ms, name="inp")

    method = "exponential_euler" if numerics == "ours" else "euler"
    clamp_e = "(unless refractory)" if numerics == "ours" else ""
    theta_eq = ("dtheta/dt = -theta / tau_theta * active_l : volt\n"
                "active_l : integer (linked)") if learning else "theta : volt"
    in_sim = learning and normalize_in_sim
    f = b3_diehl_cook._norm_functions(directory) if in_sim else {}
    ns = dict(tau_theta=c.tau_theta * ms, theta_plus=c.theta_plus * mV, **f)
    exc = NeuronGroup(n_e, f"""
        dv/dt = (({c.v_rest_e}*mV - v) + ge*(0*mV - v) + gi*({c.E_inh_e}*mV - v)) / ({c.tau_m_e}*ms) : volt {clamp_e}
        dge/dt = -ge / ({c.tau_ge}*ms) : 1
        dgi/dt = -gi / ({c.tau_gi}*ms) : 1
        {theta_eq}
        norm_dummy : 1""",
        threshold=f"v > {c.v_thresh_e - c.theta_offset}*mV + theta",
        reset=f"v = {c.v_reset_e}*mV" + ("; theta += theta_plus" if learning else ""),
        refractory=c.t_ref_e * ms, method=method, namespace=ns, name="exc")
    exc.v = (c.v_rest_e + c.v_init_offset) * mV
    exc.theta = (np.full(n_e, c.theta_offset) if theta_mV is None else theta_mV) * mV
    if learning:
        exc.active_l = linked_var(ctl, "active", index=np.zeros(n_e, dtype=int))
    inh = NeuronGroup(n_e, f"""
        dv/dt = (({c.v_rest_i}*mV - v) + ge*(0*mV - v) + gi*({c.E_inh_i}*mV - v)) / ({c.tau_m_i}*ms) : volt (unless refractory)
        dge/dt = -ge / ({c.tau_ge}*ms) : 1
        dgi/dt = -gi / ({c.tau_gi}*ms) : 1""",
        threshold=f"v > {c.v_thresh_i}*mV", reset=f"v = {c.v_reset_i}*mV",
        refractory=c.t_ref_i * ms, method=method, name="inh")
    inh.v = (c.v_rest_i + c.v_init_offset) * mV

    if learning:
        S = b3_diehl_cook.brian2_stdp_synapses(inp, exc, c.tau_pre, c.tau_post1,
                                               c.tau_post2, c.nu_pre, c.nu_post,
                                               c.w_max, f)
    else:
        S = Synapses(inp, exc, "w : 1", on_pre="ge_post += w", name="xe")
    # all-to-all in pre-major order: synapse k = i * n_e + j, as our SynapseMatrix
    S.connect(i=np.repeat(np.arange(n_in), n_e), j=np.tile(np.arange(n_e), n_in))
    S.w = w0
    S.delay = delays * c.dt * ms
    if in_sim:
        b3_diehl_cook.brian2_normalize_each(exc, S, (c.t_present + c.t_rest) * ms, c.norm)
    EI = Synapses(exc, inh, on_pre=f"ge_post += {c.w_ei}", name="ei")
    EI.connect(j="i")
    IE = Synapses(inh, exc, on_pre=f"gi_post += {c.w_ie}", name="ie")
    IE.connect(condition="i != j")
    counter = Synapses(exc, ctl, on_pre="count_post += present_post", name="counter")
    counter.connect(j="0")
    mon = SpikeMonitor(exc, name="exc_spikes")
    # the image of each slot, as the controller decided it at the slot's first step
    # (checks the replay)
    shown = EventMonitor(ctl, "slot", variables=["img"], name="shown")
    net = Network(ctl, inp, exc, inh, S, EI, IE, counter, mon, shown)
    return net, ctl, exc, S, mon, shown


def replay(c, times_ms, ids, n_images, n_slots):
    """The controller's decisions from the recorded spikes: per image, the counts of
    its last (accepted) try and the number of tries; the number of images covered
    and of slots used; and the image shown in each slot (-1 after the last)."""
    steps_on = int(round(c.t_present / c.dt))
    steps_slot = int(round((c.t_present + c.t_rest) / c.dt))
    step = np.rint(np.asarray(times_ms) / c.dt).astype(np.int64)  # t is step * dt
    slot, in_slot = np.divmod(step, steps_slot)
    keep = in_slot < steps_on
    counts = np.zeros((n_slots, c.n_e), dtype=np.int64)
    np.add.at(counts, (slot[keep], np.asarray(ids)[keep]), 1)
    out = np.zeros((n_images, c.n_e), dtype=np.int64)
    tries = np.zeros(n_images, dtype=np.int64)
    shown = np.full(n_slots, -1, dtype=np.int64)
    k, s, intensity = 0, 0, c.intensity
    while k < n_images and s < n_slots:
        tries[k] += 1
        shown[s] = k
        if counts[s].sum() >= c.min_spikes or intensity + 1 > c.max_intensity:
            out[k] = counts[s]
            k, intensity = k + 1, c.intensity
        else:
            intensity += 1
        s += 1
    return out, tries, k, s, shown


def phase(c, images, w0, delays, learning, numerics, expected_tries, seed,
          theta_mV=None):
    """Build, compile and run one phase in a fresh standalone project."""
    from brian2 import device, get_device, ms, mV, set_device
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
    directory = tempfile.mkdtemp(prefix="plasticity_dc_brian2_")
    if isinstance(get_device(), CPPStandaloneDevice):  # a phase was built before
        device.reinit()
    set_device("cpp_standalone", directory=directory, build_on_run=False)
    net, ctl, exc, S, mon, shown = build(c, images, w0, delays, learning, numerics,
                                         directory, theta_mV=theta_mV, seed=seed)
    n_slots = tries_margin(expected_tries)
    net.run(n_slots * (c.t_present + c.t_rest) * ms)
    device.build(directory=directory, compile=True, run=False, with_output=False)
    t0 = time.perf_counter()
    device.run(directory=directory, with_output=False)
    wall = time.perf_counter() - t0
    times = np.asarray(mon.t[:] / ms)
    ids = np.asarray(mon.i[:])
    counts, tries, done, slots, replayed = replay(c, times, ids, len(images), n_slots)
    if done < len(images) or int(ctl.img[0]) != len(images):
        raise RuntimeError(f"the simulated {n_slots} tries did not cover the "
                           f"{len(images)} images (reached {done}; controller "
                           f"{int(ctl.img[0])}); raise the margin")
    decided = np.asarray(shown.img[:])[:slots]
    if not np.array_equal(decided, replayed[:slots]):
        bad = int(np.argmax(decided != replayed[:slots]))
        raise RuntimeError(f"replay and controller disagree from slot {bad} on")
    out = dict(counts=counts, tries=tries, wall_s=wall, slots=slots)
    if learning:
        out["w"] = np.asarray(S.w[:])
        out["theta_mV"] = np.asarray(exc.theta[:] / mV)
    # the project holds the images as static arrays (~0.4 GB at full size)
    shutil.rmtree(directory, ignore_errors=True)
    shutil.rmtree(directory + "_norm", ignore_errors=True)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-e", type=int, default=100)
    ap.add_argument("--seed", type=int, default=2)
    ap.add_argument("--numerics", choices=("ours", "brian1"), default="ours")
    ap.add_argument("--n-train", type=int, default=60000)
    ap.add_argument("--n-assign", type=int, default=60000)
    ap.add_argument("--n-test", type=int, default=10000)
    ap.add_argument("--tries-per-image", type=float, default=2.6,
                    help="training tries budgeted per image, x 1.25 (the time left over "
                         "after the last image is simulated idle)")
    ap.add_argument("--eval-tries-per-image", type=float, default=1.6,
                    help="the same for the assignment and test images")
    ap.add_argument("--data", default=os.environ.get("PLASTICITY_DATA", ""))
    ap.add_argument("--json", default="")
    a = ap.parse_args(argv)
    c = dc.Config(n_e=a.n_e, n_train=a.n_train, n_assign=a.n_assign, n_test=a.n_test,
                  data_dir=a.data)
    x_tr, y_tr, x_te, y_te = dc._load(c)
    syn = dc.initial_synapses(c, a.seed)
    w0 = np.asarray(syn.weights, dtype=np.float64)
    delays = np.asarray(syn.delays)
    train_idx = np.arange(c.n_train) % len(x_tr)
    tr = phase(c, x_tr[train_idx], w0, delays, True, a.numerics,
               a.tries_per_image * c.n_train, a.seed)
    assign_idx = np.arange(c.n_assign) % len(x_tr)
    ev_images = np.concatenate([x_tr[assign_idx], x_te[:c.n_test]])
    ev = phase(c, ev_images, tr["w"], delays, False, a.numerics,
               a.eval_tries_per_image * len(ev_images), a.seed + 1, theta_mV=tr["theta_mV"])
    y_assign = y_tr[assign_idx]
    sums = np.zeros((dc.N_CLASSES, c.n_e))
    np.add.at(sums, y_assign, ev["counts"][:c.n_assign])
    assign = dc.assign_labels(sums, np.bincount(y_assign, minlength=dc.N_CLASSES))
    pred = dc.predict(ev["counts"][c.n_assign:], assign)
    acc = float(np.mean(pred == y_te[:c.n_test]))
    res = dict(simulator="brian2 cpp_standalone", numerics=a.numerics, n_e=c.n_e,
               seed=a.seed, n_train=c.n_train, n_assign=c.n_assign, n_test=c.n_test,
               accuracy=acc,
               retries_per_example=float(tr["tries"].mean() - 1),
               eval_retries_per_image=float(ev["tries"].mean() - 1),
               theta_mean_mV=float(tr["theta_mV"].mean()),
               train_wall_s=tr["wall_s"], eval_wall_s=ev["wall_s"],
               train_slots=tr["slots"], neurons_per_class=np.bincount(
                   assign[assign >= 0], minlength=10).tolist())
    print(json.dumps(res, indent=1))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(res, fh, indent=1)
    return res


if __name__ == "__main__":
    main()
