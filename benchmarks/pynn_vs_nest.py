"""Same model, same answers: PyNN scripts on plasticity.pynn and pyNN.nest, side by side.

    python benchmarks/pynn_vs_nest.py PATH/TO/pynn-0.13.0 [--out table.md] [--song-s 10]

Four models, each run on both backends in this process, compared number by number:

* ``examples/simple_STDP.py`` of PyNN's source distribution, run unchanged (its
  ``get_simulator`` answers with the backend): 60 inputs at lags -30..29 ms from one
  driven IF_cond_exp neuron, additive pair STDP, dt 0.01 ms, delay 3 ms. Compared:
  the postsynaptic spike times and the 60 final weights (ours at the script's
  dendritic_delay_fraction 1 and at 0).
* a pair protocol written here (:func:`pair_protocol`): 12 inputs, each paired 5
  times with a driven IF_curr_exp neuron at its own Delta t, a last presynaptic
  spike at the end, additive STDP, delays 1 and 3 ms. Compared: the final weights.
* ``examples/tsodyksmarkram.py`` unchanged: static, depressing and facilitating
  TsodyksMarkramSynapse onto 3 IF_cond_exp neurons each. Compared: the recorded
  ``gsyn_inh`` and ``v`` traces.
* Song, Miller & Abbott 2000 written in PyNN (B1's model: 1000 inputs at 15 Hz -> one
  IF_cond_exp, additive all-to-all pair STDP, gmax 0.01 g_L), on the same input spike
  trains (SpikeSourceArray, drawn once here). Compared: output spikes (the first ones
  spike for spike, then the rate), final weights.

Conventions accounted for explicitly (docs/pynn.md):

* spike times: ours are stamped at the start of the step in which the threshold is
  crossed, NEST's at its end: NEST's = ours + dt. The table compares ours + dt.
* delays and STDP: NEST treats a connection's whole delay as dendritic (PyNN's
  ``dendritic_delay_fraction=1``, the only value pyNN.nest accepts): its STDP pairs a
  presynaptic spike emitted at t_pre with a postsynaptic spike at t_post as
  dt_NEST = t_post + d - t_pre. Ours follows the fraction f (PyNN's default 1):
  our engine's delays are axonal (the rule sees the presynaptic spike when it
  arrives), and the rule sees the postsynaptic spikes 2 f d late, so
  dt_ours = t_post + 2 f d - (t_pre + d): NEST's at f = 1. At f = 0 (as pyNN.brian2)
  dt_NEST = dt_ours + 2d, so NEST's weight at lag L is compared with ours at lag
  L + 2d (simple_STDP: d = 3 ms, lags 1 ms apart: 6 synapses).
* NEST's stdp_synapse changes a weight only when a presynaptic spike arrives: the
  potentiation by postsynaptic spikes after a synapse's last presynaptic spike is
  still pending at the end of a run (ours is applied at the postsynaptic spike). It is
  computed from the spike times and added to NEST's weights before comparing.
* Tsodyks-Markram: pyNN.nest's ``tsodyks_synapse`` is the three-state model of
  Tsodyks, Uziel & Markram 2000 with tau_psc = the target's tau_syn (copied by
  pyNN.nest); ours is the two-state model (tau_psc -> 0): used resources start to
  recover at once instead of after the PSC. The PSC amplitudes differ by a fraction
  that grows with tau_syn (0.5 % at 1.2 ms, 3-6 % at 6.7 ms here); static synapses
  agree to rounding.
* pyNN.nest with ``min_delay='auto'`` (tsodyksmarkram.py) emits SpikeSourceArray
  spikes late by (the resolved min_delay - dt), 0.4 ms here (its own recorded source
  spike times show it): NEST's traces are shifted back by that before comparing.
* HH_cond_exp (one cell, a DC current and input spikes through both receptors):
  NEST's hh_cond_exp_traub with adaptive RKF45, ours exponential Euler (Rush-Larsen)
  in substeps of <= 0.025 ms: the same spikes within one step, the PSPs within
  0.003 mV at dt 0.1.
* IF_curr_alpha, IF_cond_alpha, EIF_cond_exp_isfa_ista, EIF_cond_alpha_isfa_ista (one
  cell each, PyNN's defaults, the same protocol; NEST's iaf_psc_alpha exact,
  iaf_cond_alpha, aeif_cond_exp, aeif_cond_alpha adaptive RKF45): PSPs before the
  current to 6e-14 mV (IF_curr_alpha, exact on both sides), 0.00014 mV
  (IF_cond_alpha, exponential Euler with the step mean of the conductance), 0.13 /
  0.09 mV at dt 0.1 and 0.013 / 0.009 mV at dt 0.01 (the EIFs, forward Euler: first
  order); the same spikes, within 0.2 ms at dt 0.1 (NEST holds V at V_reset one
  step longer after a spike than Brian2's refractory rule, ours) and 0.05 ms at
  dt 0.01.
* integration: IF_cond_exp is exponential Euler on ours (the conductance held over the
  step, error O(dt)), an adaptive Runge-Kutta (GSL RKF45) in NEST's iaf_cond_exp.
  Membrane potentials differ by ~0.01 mV, so in the Song model (1000 inputs, threshold
  crossings at a shallow slope) output spikes drift apart by steps from the first
  ones, and STDP amplifies the drift: its comparison is statistical (rate, weight
  distribution), plus the same network with static synapses at dt 0.1, 0.01 and
  0.001 to show the spike times converging with dt.

Fetches nothing: PATH is an unpacked PyNN source distribution (for the two examples);
without it, or without NEST (``pip install nest-simulator``, optional, not a
dependency of plasticity), the script says what it skips. Writes only --out.
tests/test_pynn_nest.py checks the same numbers against stated tolerances.
"""
import argparse
import contextlib
import importlib
import io
import os
import runpy
import sys
import tempfile
import types

import numpy as np


# ----------------------------------------------------------------- helpers
def nest_available():
    try:
        importlib.import_module("nest")
    except Exception:  # noqa: BLE001 - any failure means: not usable here
        return False
    return True


def load_backend(name):
    """``plasticity.pynn`` or ``pyNN.nest`` (importing pyNN.nest starts NEST's kernel and
    tries to build PyNN's NEST extensions: its chatter is kept off the output)."""
    with contextlib.redirect_stdout(io.StringIO()):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mod = importlib.import_module(name)
    if name == "pyNN.nest":
        import nest
        nest.set_verbosity("M_ERROR") if hasattr(nest, "set_verbosity") else None
    return mod


def numpy2_connector_fix():
    """PyNN 0.13 with NumPy 2: a 1 x 1 OneToOneConnector (simple_STDP.py's driver)
    hands ``_standard_connect`` a 0-d boolean mask and fails on ``.nonzero()`` (on every
    backend). Make such masks 1-d; the same fix for both backends, nothing else."""
    import pyNN.connectors as C
    if getattr(C.MapConnector._standard_connect, "_np2_fix", False):
        return
    orig = C.MapConnector._standard_connect

    def _standard_connect(self, projection, gen, distance_map=None):
        def masks(*a):
            for m in gen(*a):
                yield np.atleast_1d(m) if (m is not True and np.ndim(m) == 0) else m
        return orig(self, projection, masks, distance_map)
    _standard_connect._np2_fix = True
    C.MapConnector._standard_connect = _standard_connect


def run_example(path, backend, fraction=1.0):
    """Run one of PyNN's example scripts unchanged on ``backend`` (a module name), in a
    temporary directory (they write under ./Results), with the command-line option
    ``--dendritic-delay-fraction`` (simple_STDP.py's; default 1, the only value
    pyNN.nest takes) at ``fraction``; returns the script's globals."""
    import pyNN.utility
    numpy2_connector_fix()
    sim = load_backend(backend)
    opts = types.SimpleNamespace(simulator=backend.split(".")[-1], plot_figure=False,
                                 fit_curve=False, dendritic_delay_fraction=fraction,
                                 debug=None)
    saved, cwd = pyNN.utility.get_simulator, os.getcwd()
    pyNN.utility.get_simulator = lambda *a, **k: (sim, opts)
    try:
        with tempfile.TemporaryDirectory(prefix="pynn-vs-nest-") as work:
            os.chdir(work)
            with contextlib.redirect_stdout(io.StringIO()):
                g = runpy.run_path(path, run_name="__main__")
    finally:
        pyNN.utility.get_simulator = saved
        os.chdir(cwd)
    g["_dt"] = sim.get_time_step()
    return g


# ----------------------------------------------------------------- simple STDP
def simple_stdp(src, backend, fraction=1.0):
    g = run_example(os.path.join(src, "examples", "simple_STDP.py"), backend, fraction)
    post = np.asarray(g["postsynaptic_data"].spiketrains[0].magnitude, dtype=float)
    pre = [np.asarray(st.magnitude, dtype=float)
           for st in g["presynaptic_data"].spiketrains]
    return dict(dt=g["_dt"], post=post, pre=pre,
                w=np.asarray(g["final_weights"], dtype=float),
                lags=np.asarray(g["deltas"], dtype=float), delay=float(g["delay"]),
                fraction=float(fraction))


# simple_STDP.py's parameters
SIMPLE_W0, SIMPLE_A_PLUS, SIMPLE_W_MAX, SIMPLE_TAU_PLUS = 5e-8, 0.01, 1e-7, 20.0


def nest_deferred_potentiation(pre, post, delay, a_plus=SIMPLE_A_PLUS,
                               w_max=SIMPLE_W_MAX, tau_plus=SIMPLE_TAU_PLUS):
    """NEST's stdp_synapse changes a weight only when a presynaptic spike arrives: the
    potentiation due to postsynaptic spikes after a synapse's last presynaptic spike
    (those at t_post > t_last_pre - d) is still pending when the run ends. This is
    that pending change (additive: A+ w_max sum exp(-(t_post + d - t_pre) / tau+))."""
    out = np.zeros(len(pre))
    for i, p in enumerate(pre):
        if p.size == 0:
            continue
        for q in post[post > p[-1] - delay]:
            out[i] += a_plus * w_max * np.sum(np.exp(-(q + delay - p[p <= q + delay])
                                                     / tau_plus))
    return out


def compare_simple_stdp(ours, nest):
    """Post spike times (ours + dt vs NEST) and the weight changes: NEST's at lag L
    (plus the potentiation NEST has not applied yet, see
    :func:`nest_deferred_potentiation`) against ours at lag L + 2 (1 - f) d, f our
    dendritic_delay_fraction (NEST's delays are dendritic: f = 1; at f = 0 the
    synapse sees the pre spikes d later and the post spikes d earlier)."""
    out = {}
    n = min(ours["post"].size, nest["post"].size)
    out["post spikes (ours / NEST)"] = f"{ours['post'].size} / {nest['post'].size}"
    out["post spike times: max |ours + dt - NEST| (ms)"] = float(
        np.max(np.abs(ours["post"][:n] + ours["dt"] - nest["post"][:n]))) if n else np.nan
    d = ours["delay"]
    # lags are 1 ms apart, decreasing
    shift = int(round(2 * (1.0 - ours["fraction"]) * d / 1.0))
    dw_o = ours["w"] - SIMPLE_W0
    dw_n = nest["w"] - SIMPLE_W0
    dw_n_all = dw_n + nest_deferred_potentiation(nest["pre"], nest["post"], d)
    scale = np.max(np.abs(dw_n_all))
    # ours at index i has lag lags[i]; NEST's lag L matches ours at L + 2 (1 - f) d,
    # which is index i - shift (lags decrease with the index)
    a, b, b_raw = dw_o[:dw_o.size - shift], dw_n_all[shift:], dw_n[shift:]
    out["compared synapses (lags in both windows)"] = int(a.size)
    out["dw: max |ours(L + 2(1-f)d) - NEST(L) incl. deferred| / max |dw|"] = float(
        np.max(np.abs(a - b)) / scale)
    out["dw: same, NEST's weights as read (deferred potentiation missing)"] = float(
        np.max(np.abs(a - b_raw)) / scale)
    # control: the other fraction's alignment (2 d - shift)
    wrong = int(round(2 * d)) - shift
    out["dw: same, at the other fraction's lag shift"] = float(
        np.max(np.abs(dw_o[:dw_o.size - wrong] - dw_n_all[wrong:])) / scale)
    return out, (a, b)


# ----------------------------------------------------------------- pair protocol
#: Delta t = t_post - t_pre (ms, our stamps) of the pair protocol's inputs: off the
#: grid of whole ms, so that no pair coincides in either synapse's frame (NEST's
#: stdp_synapse counts a coincident pair neither way, ours as pre before post)
PAIR_LAGS = (-15.5, -6.5, -3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 6.5, 15.5)
PAIR_A_PLUS, PAIR_A_MINUS, PAIR_W_MAX, PAIR_TAU = 0.01, 0.012, 0.01, 20.0


def pair_protocol(backend, delay, fraction=1.0, lags=PAIR_LAGS, n_pairs=5,
                  period=100.0, dt=0.1):
    """One IF_curr_exp neuron driven to spike every ``period`` ms (a static kick of
    10 nA from a SpikeSourceArray; ours spikes 1.8 ms after the kick arrives, at
    51.8, 151.8, ...), and one input per lag L whose spikes come at t_post - L,
    through additive pair STDP (w0 = w_max / 2; the weights are too small to move
    the neuron), plus a last presynaptic spike at the end (NEST's
    stdp_synapse applies the pending potentiation then, ours at the postsynaptic
    spike). Spikes on the grid on both sides. Returns (post spike times (ms), the
    input spike trains, final weights (nA))."""
    sim = load_backend(backend)
    sim.setup(timestep=dt, min_delay=dt, max_delay=max(delay, 1.0),
              spike_precision="on_grid")
    t_post = 51.8 + period * np.arange(n_pairs)
    t_end = t_post[-1] + 10 * PAIR_TAU + 2 * delay
    kick = sim.Population(1, sim.SpikeSourceArray(
        spike_times=list(np.round(t_post - 1.8 - delay, 6))))
    trains = [np.round(np.append(t_post - lag, t_end), 6) for lag in lags]
    pre = sim.Population(len(lags), sim.SpikeSourceArray(
        spike_times=[list(t) for t in trains]))
    post = sim.Population(1, sim.IF_curr_exp(tau_refrac=2.0))
    sim.Projection(kick, post, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=10.0, delay=delay),
                   receptor_type="excitatory")
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=PAIR_TAU, tau_minus=PAIR_TAU,
                                            A_plus=PAIR_A_PLUS, A_minus=PAIR_A_MINUS),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=PAIR_W_MAX),
        weight=PAIR_W_MAX / 2, delay=delay, dendritic_delay_fraction=fraction)
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), stdp,
                         receptor_type="excitatory")
    post.record("spikes")
    sim.run(t_end + delay + 5.0)
    spikes = np.asarray(post.get_data().segments[0].spiketrains[0].magnitude, float)
    w = np.asarray(prj.get("weight", format="array"), dtype=float)[:, 0]
    sim.end()
    return spikes, trains, w


def compare_pairs(delay):
    """:func:`pair_protocol` on both backends: ours at fractions 1 and 0 against
    NEST's weights and against :func:`pair_reference`, relative to NEST's largest
    weight change."""
    so, trains, w1 = pair_protocol("plasticity.pynn", delay, 1.0)
    _, _, w0 = pair_protocol("plasticity.pynn", delay, 0.0)
    sn, _, wn = pair_protocol("pyNN.nest", delay)
    scale = np.max(np.abs(wn - PAIR_W_MAX / 2))
    return {"post spike times: max |ours + dt - NEST| (ms)": float(
                np.max(np.abs(so + 0.1 - sn))),
            "dw: max |ours - NEST| / max |dw|, fraction 1": float(
                np.max(np.abs(w1 - wn)) / scale),
            "dw: same, ours at fraction 0": float(np.max(np.abs(w0 - wn)) / scale),
            "dw: max |ours - closed form| / max |dw|, fraction 1 / 0": "%.2g / %.2g" % (
                np.max(np.abs(w1 - pair_reference(trains, so, delay, 1.0))) / scale,
                np.max(np.abs(w0 - pair_reference(trains, so, delay, 0.0))) / scale)}


def pair_reference(trains, post, delay, fraction, dt=0.1):
    """The final weights of :func:`pair_protocol` from the all-to-all pair rule in
    closed form (NumPy): every pair of a presynaptic spike t_pre (``trains``) and a
    postsynaptic spike t_post (``post``, our stamps) at its Delta t in the
    synapse's frame, (t_post + dt) + f d - (t_pre + (1 - f) d) (t_post + dt: the end
    of its step, NEST's stamp): potentiation A+ w_max exp(-Dt/tau) for Dt >= 0,
    depression -A- w_max exp(Dt/tau) otherwise (additive; no clipping at these
    amplitudes)."""
    out = []
    post = np.asarray(post, dtype=float)
    for t_pre in trains:
        D = (post[None, :] + dt + fraction * delay) - (np.asarray(t_pre)[:, None]
                                                     + (1 - fraction) * delay)
        dw = np.where(D >= 0, PAIR_A_PLUS * PAIR_W_MAX * np.exp(-D / PAIR_TAU),
                      -PAIR_A_MINUS * PAIR_W_MAX * np.exp(D / PAIR_TAU))
        out.append(PAIR_W_MAX / 2 + dw.sum())
    return np.array(out)


# ----------------------------------------------------------------- Tsodyks-Markram
def tsodyks_markram(src, backend):
    g = run_example(os.path.join(src, "examples", "tsodyksmarkram.py"), backend)
    res = {"dt": g["_dt"]}
    st = g["spike_source"].get_data().segments[0].spiketrains[0].magnitude
    # the source's spikes as the backend emitted them, against the script's times
    res["source_lag"] = float(np.median(np.asarray(st)
                                        - np.arange(10, 100, 10)[:len(st)]))
    for label, p in g["populations"].items():
        seg = p.get_data().segments[0]
        for var in ("gsyn_inh", "v"):
            sig = seg.filter(name=var)[0]
            res[(label, var)] = (np.asarray(sig.times.magnitude, dtype=float),
                                 np.asarray(sig.magnitude, dtype=float))
    tau = g["populations"]["static"].get("tau_syn_I")
    res["tau_syn_I"] = np.atleast_1d(np.asarray(tau, dtype=float))
    return res


def psc_peaks(t, g, lag=0.0):
    """The largest conductance after each of the 9 source spikes (10, 20, ..., 90 ms,
    + lag), per neuron: (9, n)."""
    return np.array([g[(t >= s + lag) & (t < s + lag + 10 - 1e-9)].max(axis=0)
                     for s in range(10, 100, 10)])


def compare_tsodyks_markram(ours, nest):
    """Per synapse type: the 9 PSC conductance peaks (relative difference, and the
    last / first ratio), the gsyn_inh and v traces sample by sample. NEST's traces
    are shifted back by the lag of its spike source (see below)."""
    out = {}
    lag = nest["source_lag"] - ours["source_lag"]
    out["spike source lag, NEST - ours (ms)"] = lag
    steps = int(round(lag / nest["dt"]))
    for label in ("static", "depressing", "facilitating"):
        (to, go), (tn, gn) = ours[(label, "gsyn_inh")], nest[(label, "gsyn_inh")]
        gn_al = gn[steps:]
        n = min(go.shape[0], gn_al.shape[0])
        out[f"{label}: gsyn_inh max |diff| / peak (NEST shifted by the lag)"] = float(
            np.max(np.abs(go[:n] - gn_al[:n])) / np.max(np.abs(gn)))
        pk_o, pk_n = psc_peaks(to, go), psc_peaks(tn, gn, lag)
        rel = np.abs(pk_o - pk_n) / pk_n
        out[f"{label}: PSC peaks max rel diff per neuron (tau_syn_I "
            + ", ".join(f"{x:g}" for x in ours["tau_syn_I"]) + " ms)"] = (
            " / ".join(f"{x:.2g}" for x in rel.max(axis=0)))
        out[f"{label}: last/first PSC peak, neuron 0 (ours / NEST)"] = (
            f"{pk_o[-1, 0] / pk_o[0, 0]:.4f} / {pk_n[-1, 0] / pk_n[0, 0]:.4f}")
        (_, vo), (_, vn) = ours[(label, "v")], nest[(label, "v")]
        vn_al = vn[steps:]
        out[f"{label}: v max |diff| (mV, NEST shifted by the lag)"] = float(
            np.max(np.abs(vo[:n] - vn_al[:n])))
    return out


# ----------------------------------------------------------------- Song 2000
SONG = dict(n_in=1000, rate=15.0, gmax=0.01, taum=10.0, taue=5.0, Ee=0.0, vt=-54.0,
            vr=-60.0, El=-74.0, cm=1.0, taupre=20.0, taupost=20.0, a_rel=0.01,
            ratio=1.05, dt=0.1, seed=1)


def song_inputs(c, duration):
    """Poisson trains on the time grid (shared by both backends), from 2 dt on (pyNN.nest
    moves a SpikeSourceArray's times min_delay earlier and NEST refuses a time 0)."""
    rng = np.random.default_rng(c["seed"])
    n_steps = int(round(duration / c["dt"]))
    p = c["rate"] * c["dt"] / 1000.0
    trains = []
    for _ in range(c["n_in"]):
        k = np.flatnonzero(rng.random(n_steps) < p)
        trains.append((k[k > 1] * c["dt"]).round(6))
    w0 = rng.uniform(0.0, c["gmax"], c["n_in"])
    return trains, w0


def song_pynn(sim, c, duration, trains, w0, static=False):
    """B1's Song model in PyNN: returns (output spike times, final relative weights).
    Conductance weights are relative to the leak g_L = cm / tau_m (uS)."""
    from pyNN.parameters import Sequence
    sim.setup(timestep=c["dt"], min_delay=c["dt"], max_delay=1.0)
    g_l = c["cm"] / c["taum"]
    inp = sim.Population(c["n_in"], sim.SpikeSourceArray(
        spike_times=[Sequence(t) for t in trains]))
    out = sim.Population(1, sim.IF_cond_exp(
        cm=c["cm"], tau_m=c["taum"], v_rest=c["El"], v_thresh=c["vt"], v_reset=c["vr"],
        e_rev_E=c["Ee"], tau_syn_E=c["taue"], tau_refrac=0.0, i_offset=0.0),
        initial_values={"v": c["El"]})
    a_plus = c["a_rel"]
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(
            tau_plus=c["taupre"], tau_minus=c["taupost"], A_plus=a_plus,
            A_minus=a_plus * c["ratio"] * c["taupre"] / c["taupost"]),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=c["gmax"] * g_l),
        weight=0.0, delay=c["dt"])
    if static:
        stdp = sim.StaticSynapse(weight=0.0, delay=c["dt"])
    prj = sim.Projection(inp, out, sim.AllToAllConnector(), stdp,
                         receptor_type="excitatory")
    prj.set(weight=w0 * g_l)
    out.record("spikes")
    sim.run(duration)
    spikes = np.asarray(out.get_data().segments[0].spiketrains[0].magnitude, dtype=float)
    w = np.asarray(prj.get("weight", format="array"), dtype=float)[:, 0] / g_l
    sim.end()
    return spikes, w


def song(backend, duration, dt=0.1, c=SONG, static=False):
    """``static``: the same network with static synapses (no STDP)."""
    c = dict(c, dt=dt)
    trains, w0 = song_inputs(dict(c, dt=0.1), duration)   # the same inputs at any dt
    sim = load_backend(backend)
    spikes, w = song_pynn(sim, c, duration, trains, w0, static)
    return dict(dt=c["dt"], post=spikes, w=w, w0=w0, gmax=c["gmax"], duration=duration)


def compare_song(ours, nest):
    out = {}
    so, sn = ours["post"] + ours["dt"], nest["post"]
    n = min(so.size, sn.size)
    same = 0
    while same < n and abs(so[same] - sn[same]) < 1e-6:
        same += 1
    within = 0
    while within < n and abs(so[within] - sn[within]) <= ours["dt"] + 1e-6:
        within += 1
    out["output spikes (ours / NEST)"] = f"{so.size} / {sn.size}"
    out["output rate ours / NEST"] = float(so.size / max(sn.size, 1))
    out["leading spikes identical (ours + dt = NEST)"] = same
    out["leading spikes within one step"] = within
    g = ours["gmax"]
    wo, wn = ours["w"], nest["w"]
    out["mean w / gmax (ours / NEST)"] = f"{wo.mean() / g:.4f} / {wn.mean() / g:.4f}"
    out["fraction w > 0.9 gmax (ours / NEST)"] = (
        f"{np.mean(wo > 0.9 * g):.3f} / {np.mean(wn > 0.9 * g):.3f}")
    out["fraction w < 0.1 gmax (ours / NEST)"] = (
        f"{np.mean(wo < 0.1 * g):.3f} / {np.mean(wn < 0.1 * g):.3f}")
    out["weights: max |diff| / gmax"] = float(np.max(np.abs(wo - wn)) / g)
    out["weights: corr(ours - w0, NEST - w0)"] = float(
        np.corrcoef(wo - ours["w0"], wn - nest["w0"])[0, 1])
    return out


# ----------------------------------------------------------------- HH_cond_exp
HH_INPUT_EXC = [30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 60.0, 61.5, 63.0, 150.0, 152.0]
HH_INPUT_INH = [90.0, 95.0, 100.0, 170.0]


def one_cell(backend, celltype, dt=0.1, duration=250.0, w_exc=0.01, w_inh=0.05,
             amplitude=0.5, exc=HH_INPUT_EXC, inh=HH_INPUT_INH, gsyn=True):
    """One cell of PyNN type ``celltype`` (a name; PyNN's default parameters): a DC
    current of ``amplitude`` nA from 120 to 220 ms and the same input spikes
    (SpikeSourceArray, weights ``w_exc``, ``w_inh`` in PyNN's units, delay 1 ms)
    before and during it. Returns the recorded v (and gsyn_exc where ``gsyn``)
    as (times, values) and the spike times."""
    sim = load_backend(backend)
    sim.setup(timestep=dt, min_delay=dt, max_delay=2.0)
    cell = sim.Population(1, getattr(sim, celltype)())
    src_e = sim.Population(1, sim.SpikeSourceArray(spike_times=exc))
    src_i = sim.Population(1, sim.SpikeSourceArray(spike_times=inh))
    sim.Projection(src_e, cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_exc, delay=1.0), receptor_type="excitatory")
    sim.Projection(src_i, cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w_inh, delay=1.0), receptor_type="inhibitory")
    cell.inject(sim.DCSource(amplitude=amplitude, start=120.0, stop=220.0))
    names = ["v", "gsyn_exc"] if gsyn else ["v"]
    cell.record(names + ["spikes"])
    sim.run(duration)
    seg = cell.get_data().segments[0]
    sig = {s.name: s for s in seg.analogsignals}
    out = {"dt": dt, "spikes": np.asarray(seg.spiketrains[0].magnitude, dtype=float)}
    for name in names:
        out[name] = (np.asarray(sig[name].times.rescale("ms").magnitude),
                     np.asarray(sig[name].magnitude[:, 0], dtype=float))
    sim.end()
    return out


def hh_cell(backend, dt=0.1, duration=250.0):
    """One HH_cond_exp cell (PyNN's defaults, NEST's hh_cond_exp_traub): a 0.5 nA DC
    current from 120 to 220 ms and the same input spikes (SpikeSourceArray, excitatory
    0.01 uS, inhibitory 0.05 uS, delay 1 ms) before and during it."""
    return one_cell(backend, "HH_cond_exp", dt, duration)


#: the alpha and conductance-based AdEx cells against NEST (iaf_psc_alpha,
#: iaf_cond_alpha, aeif_cond_exp, aeif_cond_alpha): PyNN's defaults, weights (nA or
#: uS) and DC amplitudes (nA) that give PSPs of a few mV and 5-20 spikes in the
#: current step; one_cell's protocol
CELLS = {
    "IF_curr_alpha": dict(w_exc=2.0, w_inh=-3.0, amplitude=1.0, gsyn=False),
    "IF_cond_alpha": dict(w_exc=0.05, w_inh=0.05, amplitude=1.0),
    "EIF_cond_exp_isfa_ista": dict(w_exc=0.003, w_inh=0.01, amplitude=1.0),
    "EIF_cond_alpha_isfa_ista": dict(w_exc=0.003, w_inh=0.01, amplitude=1.0),
}


def compare_hh(ours, nest):
    """Spike times (ours + dt vs NEST's) and v (NEST's trace, the same sample times)."""
    dt = ours["dt"]
    so, sn = ours["spikes"] + dt, nest["spikes"]
    k = min(so.size, sn.size)
    (to, vo), (tn, vn) = ours["v"], nest["v"]
    n = min(vo.size, vn.size)
    assert np.allclose(to[:n], tn[:n])
    sub = tn[:n] < 120.0                      # before the DC current: the PSPs only
    res = {
        "spikes (ours / NEST)": f"{ours['spikes'].size} / {nest['spikes'].size}",
        "spike times, ours + dt (ms)": " ".join(f"{x:.1f}" for x in so),
        "spike times, NEST (ms)": " ".join(f"{x:.1f}" for x in sn),
        "max |ours + dt - NEST| spike time (ms)":
            float(np.max(np.abs(so[:k] - sn[:k]))) if k else float("nan"),
    }
    if "gsyn_exc" in ours:
        (_, go), (_, gn) = ours["gsyn_exc"], nest["gsyn_exc"]
        m = min(go.size, gn.size)
        res["gsyn_exc max |diff| / peak"] = float(np.max(np.abs(go[:m] - gn[:m]))
                                                  / max(np.max(gn[:m]), 1e-300))
    res["v max |diff| before the current (PSPs, mV)"] = float(
        np.max(np.abs(vo[:n][sub] - vn[:n][sub])))
    res["v max |diff| overall (mV; spikes shifted by a step are ~100 mV apart)"] = \
        float(np.max(np.abs(vo[:n] - vn[:n])))
    return res


# ----------------------------------------------------------------- driver
def fmt(v):
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pynn_source", nargs="?", default=os.environ.get("PYNN_SOURCE"))
    ap.add_argument("--out", default=None, help="write the table (markdown) here")
    ap.add_argument("--song-s", type=float, default=10.0,
                    help="simulated seconds of the Song model (default 10)")
    args = ap.parse_args(argv)
    if not nest_available():
        print("NEST not importable (pip install nest-simulator): nothing to compare")
        return 0
    import matplotlib
    matplotlib.use("Agg")
    src = args.pynn_source
    have_src = bool(src) and os.path.isdir(os.path.join(src, "examples"))
    lines = ["| model | quantity | value |", "|---|---|---|"]

    def add(model, rows):
        for k, v in rows.items():
            lines.append(f"| {model} | {k} | {fmt(v)} |")
            print(f"{model:22s} {k}: {fmt(v)}", flush=True)

    if have_src:
        n = simple_stdp(src, "pyNN.nest")
        for f in (1.0, 0.0):
            o = simple_stdp(src, "plasticity.pynn", f)
            add(f"simple_STDP.py (ours: dendritic_delay_fraction={f:g})",
                compare_simple_stdp(o, n)[0])
        o, n = tsodyks_markram(src, "plasticity.pynn"), tsodyks_markram(src, "pyNN.nest")
        add("tsodyksmarkram.py", compare_tsodyks_markram(o, n))
    else:
        print(f"PyNN source not found ({src!r}): the examples are skipped")
    for d in (1.0, 3.0):
        add(f"pair protocol (d = {d:g} ms)", compare_pairs(d))
    for dt in (0.1, 0.01):
        o, n = hh_cell("plasticity.pynn", dt), hh_cell("pyNN.nest", dt)
        add(f"HH_cond_exp, one cell (dt {dt:g})", compare_hh(o, n))
    for name, kw in CELLS.items():
        for dt in (0.1, 0.01):
            o = one_cell("plasticity.pynn", name, dt, **kw)
            n = one_cell("pyNN.nest", name, dt, **kw)
            add(f"{name}, one cell (dt {dt:g})", compare_hh(o, n))
    dur = args.song_s * 1000.0
    o, n = song("plasticity.pynn", dur), song("pyNN.nest", dur)
    add(f"Song 2000 ({args.song_s:g} s, dt 0.1)", compare_song(o, n))
    for dt in (0.1, 0.01, 0.001):   # the integration difference shrinks with dt
        o = song("plasticity.pynn", 500.0, dt, static=True)
        n = song("pyNN.nest", 500.0, dt, static=True)
        k = min(o["post"].size, n["post"].size)
        add(f"Song, static synapses (0.5 s, dt {dt:g})", {
            "output spikes (ours / NEST)": f"{o['post'].size} / {n['post'].size}",
            "first 6, ours + dt": " ".join(f"{x:.3f}" for x in o["post"][:6] + dt),
            "first 6, NEST": " ".join(f"{x:.3f}" for x in n["post"][:6]),
            "max |ours + dt - NEST| over the common count (ms)":
                float(np.max(np.abs(o["post"][:k] + dt - n["post"][:k])))})
    counts = {}                     # the output rate converging with dt (5 s, static)
    for backend, who, dts in (("plasticity.pynn", "ours", (0.1, 0.01, 0.001)),
                              ("pyNN.nest", "NEST", (0.1, 0.01))):
        for dt in dts:
            counts[f"{who} dt {dt:g}"] = song(
                backend, 5000.0, dt, static=True)["post"].size
    add("Song, static synapses (5 s)",
        {"output spikes, " + k: v for k, v in counts.items()})
    import nest
    import pyNN
    lines.append("")
    lines.append(f"plasticity.pynn vs pyNN.nest (NEST {nest.__version__}, PyNN "
                 f"{pyNN.__version__}); ours + dt compared with NEST's spike times")
    table = "\n".join(lines)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
