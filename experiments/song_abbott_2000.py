"""Song, Miller & Abbott 2000: competitive STDP drives a bimodal weight distribution.

The paper's model (``model = "paper"``, the default): one conductance-based
integrate-and-fire neuron,

    tau_m dV/dt = (V_rest - V) + g_ex (E_ex - V) + g_in (E_in - V),

conductances in units of the leak conductance, tau_m 20 ms, V_rest -70 mV, threshold
-54 mV, reset -60 mV, E_ex 0 mV, E_in -70 mV, tau_ex = tau_in = 5 ms. 1000 excitatory
Poisson inputs (10 Hz) through plastic synapses g_a in [0, g_max], g_max = 0.015, and
200 inhibitory Poisson inputs at 10 Hz through fixed synapses g_in = 0.05. Additive,
all-to-all pair STDP with hard bounds: a presynaptic spike adds A+ g_max to its trace
P_a (tau+ = 20 ms) and changes g_a by the postsynaptic trace; a postsynaptic spike adds
-A- g_max to M (tau- = 20 ms) and changes every g_a by P_a; A+ = 0.005, A-/A+ = 1.05.

Where these values come from (shared/references.md section 4): the paper's own text
could not be read here. A+ = 0.005 and A-/A+ = 1.05 with tau+ = tau- = 20 ms are
verified there (VH-Lab). The rest is taken from two independent reimplementations that
cite the paper and agree with each other: Brian 1's "STDP model from Song, Miller and
Abbott 2000" script (1000 + 200 inputs, g_max 0.015, g_in 0.05, inhibitory inputs at
10 Hz, tau_m 20 ms, V_rest -70, E_ex 0, E_in -70, V_th -54, V_reset -60 mV, tau_ex =
tau_in = 5 ms, A+ = 0.005 g_max, A- = 1.05 A+) and the sPyNNaker/PyNN example "to
reproduce the weight distributions found by Song, Miller and Abbott" (1000 + 200
inputs, both at 10 Hz, tau_m 20 ms, V_rest -70, V_th -54, V_reset -60 mV, tau_syn 5 ms,
A+ 0.005, A-/A+ 1.05). UNVERIFIED against the paper itself: every value of the
neuron, g_max, g_in, the 200 inhibitory inputs and their rate; the excitatory rate of
the paper's Fig. 2 (10 Hz here, as the PyNN example; the Brian 1 script uses 15 Hz;
``--set rate=40`` for a faster-converging run); the initial weights (uniform in
[0, g_max] here); no refractory period.

The distribution stops changing (measured; metrics ``fraction_middle``,
``fraction_middle_last_quarter``, ``middle_trend``, ``histogram_change``,
``converged``, ``settle_time_ms``; see :func:`convergence`): the weights are summarised
at every snapshot (``snapshot_interval``) by the fraction in the middle, 0.1-0.9 g_max,
and a 10-bin histogram. The run counts as converged when the middle fraction's
least-squares trend over the second half of the run, extrapolated over
``convergence_horizon`` (1000 s, about the time the paper's model takes to leave its
initial state), is below 0.05 in magnitude and the mean histograms of the third and
the last quarter differ by less than 0.05 in total variation. ``settle_time_ms``: the first
snapshot after which the middle fraction stays within 0.05 of its last-quarter mean.
With the paper's model at 10 Hz the distribution settles after ~2000 s of simulated
time (seeds 0-3: 1.9-2.3 ks, one seed 6 ks at the band's edge), at ~0.2 of the
weights in the middle; the default duration is 5000 s (~10-15 s of CPU).

Variants (``--set``; each departs from the paper):

- ``model = "brian2-example"``: the parameter set of Brian2's
  ``examples/synapses/STDP.py`` ("adapted from Song, Miller and Abbott 2000"), used by
  benchmark B1 (``benchmarks/b1_song.py``) and ``song_abbott_2000_competition``: no
  inhibitory inputs, 1000 inputs at 15 Hz, tau_m 10 ms, E_L -74 mV, g_max 0.01,
  A+ = 0.01 g_max, 100 s, snapshots every 1 s. After 100 s about half its weights are
  still in the middle and drifting.
- ``weight_dependence = "multiplicative"``: soft bounds (f+ = 1 - w/g_max,
  f- = w/g_max; van Rossum et al. 2000), the control: the distribution is unimodal.
- ``rule_form = "language"``: the same STDP rule written in the rule language
  (``STDP(...).to_equation_rule()``) instead of the built-in kernel; same spikes and
  weights bit for bit (tests/test_song_abbott_2000.py).

Keys left at ``None`` (rate, duration, tau_m, E_L, gmax, a_plus, n_inhibitory,
snapshot_interval) take the chosen model's value (``MODELS``). Numerics: dt = 0.1 ms,
the membrane integrated by exponential Euler (exact while the conductances are
constant), the neuron starts at rest.
"""
import dataclasses
import sys
import time

import numpy as np

from plasticity import STDP, Additive, Multiplicative, Network, Pair, SynapseMatrix
from plasticity.config import field
from plasticity.experiments._common import check_models
from plasticity.neurons import LIFCond

#: each model's values of the keys left at None (times in ms)
MODELS = {
    "paper": dict(rate=10.0, duration=5_000_000.0, tau_m=20.0, E_L=-70.0, gmax=0.015,
                  a_plus=0.005, n_inhibitory=200, snapshot_interval=10_000.0),
    "brian2-example": dict(rate=15.0, duration=100_000.0, tau_m=10.0, E_L=-74.0,
                           gmax=0.01, a_plus=0.01, n_inhibitory=0,
                           snapshot_interval=1000.0),
}


def _by_model(key, units=""):
    u = f" {units}" if units else ""
    return "; default: the model's (" + ", ".join(
        f"{m} {MODELS[m][key]:g}{u}" for m in MODELS) + ")"


@dataclasses.dataclass
class Config:
    model: str = field("paper", help="parameter set: Song et al.'s model or Brian2's "
                       "examples/synapses/STDP.py (B1)", choices=tuple(MODELS))
    n_inputs: int = field(1000, help="number of excitatory Poisson inputs", min=1)
    rate: float | None = field(None, help="excitatory input rate" + _by_model("rate", "Hz"),
                               units="Hz", min=0.0)
    n_inhibitory: int | None = field(None, help="number of inhibitory Poisson inputs "
                                     "(fixed synapses)" + _by_model("n_inhibitory"),
                                     min=0)
    rate_inhibitory: float = field(10.0, help="inhibitory input rate", units="Hz", min=0.0)
    g_inhibitory: float = field(0.05, help="inhibitory synaptic strength (units of the "
                                "leak conductance)", min=0.0)
    duration: float | None = field(None, help="simulated time" + _by_model("duration",
                                   "ms"), units="ms", gt=0.0, multiple_of="dt")
    dt: float = field(0.1, help="time step", units="ms", gt=0.0)
    tau_m: float | None = field(None, help="membrane time constant" + _by_model(
                                "tau_m", "ms"), units="ms", gt=0.0)
    tau_e: float = field(5.0, help="excitatory conductance time constant", units="ms",
                         gt=0.0)
    tau_i: float = field(5.0, help="inhibitory conductance time constant", units="ms",
                         gt=0.0)
    E_e: float = field(0.0, help="excitatory reversal potential", units="mV")
    E_i: float = field(-70.0, help="inhibitory reversal potential", units="mV")
    V_th: float = field(-54.0, help="threshold", units="mV")
    V_reset: float = field(-60.0, help="reset", units="mV")
    E_L: float | None = field(None, help="leak reversal (resting) potential" + _by_model(
                              "E_L", "mV"), units="mV")
    gmax: float | None = field(None, help="maximum weight (units of the leak "
                               "conductance)" + _by_model("gmax"), gt=0.0)
    tau_plus: float = field(20.0, help="pre trace time constant", units="ms", gt=0.0)
    tau_minus: float = field(20.0, help="post trace time constant", units="ms", gt=0.0)
    a_plus: float | None = field(None, help="potentiation amplitude, in units of gmax"
                                 + _by_model("a_plus"), min=0.0)
    depression_ratio: float = field(1.05, help="A- / A+ (times tau_plus / tau_minus)",
                                    min=0.0)
    weight_dependence: str = field("additive", help="additive (hard bounds, the paper) "
                                   "or multiplicative (soft bounds: the control)",
                                   choices=("additive", "multiplicative"))
    rule_form: str = field("kernel", help="the STDP rule as the built-in kernel or "
                           "written in the rule language (same numbers)",
                           choices=("kernel", "language"))
    convergence_horizon: float = field(1_000_000.0, help="the convergence test "
                                       "extrapolates the middle fraction's trend this "
                                       "far", units="ms", gt=0.0)
    snapshot_interval: float | None = field(None, help="weight snapshot interval"
                                            + _by_model("snapshot_interval", "ms"),
                                            units="ms", gt=0.0, multiple_of="dt")

    def check(self):
        """The checks between keys (on the resolved config; see plasticity.experiments):
        the neuron's own (V_reset < V_th, ...), before any work and any run file."""
        c = effective(self)
        check_models("the neuron", lambda: neuron_model(c))
        # at most one input spike per step (the Poisson sources' check, inside the run)
        check_models("the inputs", *(lambda k=k: Network(dt=c.dt).add_poisson(
            k, 1, getattr(c, k)) for k in ("rate", "rate_inhibitory")))


Config.effective = lambda self: effective(self)   # plasticity.config checks these


def effective(config):
    """``config`` with every key left at None set to its model's value."""
    values = {k: v for k, v in MODELS[config.model].items()
              if getattr(config, k, None) is None}
    return dataclasses.replace(config, **values) if values else config


def effective_dict(cfg):
    """A stored config (a dict, e.g. ``run.config``) with every None key set to its
    model's value (run files before the paper's model was added: brian2-example)."""
    out = dict(cfg)
    for k, v in MODELS[out.get("model", "brian2-example")].items():
        if out.get(k) is None:
            out[k] = v
    return out


#: a quick run of the paper's model (bimodal, not yet converged: ~0.3 in the middle)
SMALL = {"duration": 1_000_000.0}

#: the paper's result, by metric: (value, source); `plasticity report` sets the run
#: beside it. Song et al. state it as a figure, without numbers.
PAPER_VALUES = {
    "bimodal": (True, "Song, Miller & Abbott 2000, Fig. 2: the weights pile up at 0 and at "
                      "gmax (qualitative; shared/references.md section 4)"),
}


#: bytes per Poisson input at peak (source state, its synapse and post index, float64
#: weight, STDP trace, a snapshot row, the builders' temporaries; measured ~127 B)
BYTES_PER_INPUT = 160


def memory_estimate(config):
    """What a run needs in memory, by config key (``plasticity run`` checks it first)."""
    return {"n_inputs": (config.n_inputs, BYTES_PER_INPUT * config.n_inputs)}


def build(config, seed=1):
    """The network of the experiment: (network, projection, output population)."""
    c = effective(config)
    net = Network(dt=c.dt, seed=seed)
    inputs = net.add_poisson("inputs", c.n_inputs, c.rate)
    proj, neuron = add_plastic_neuron(net, inputs, c, weight_seed=seed)
    if c.n_inhibitory:
        inh = net.add_poisson("inhibitory", c.n_inhibitory, c.rate_inhibitory)
        net.connect(inh, neuron, SynapseMatrix.all_to_all(
            c.n_inhibitory, 1, weight=c.g_inhibitory, dtype=np.float64),
            target="g_i", name="inhibitory_input")
    return net, proj, neuron


def stdp_rule(config):
    """The experiment's STDP rule (kernel or rule-language form, per ``rule_form``)."""
    c = effective(config)
    a_plus = c.a_plus * c.gmax
    a_minus = a_plus * c.depression_ratio * c.tau_plus / c.tau_minus
    dep = (Additive if c.weight_dependence == "additive" else Multiplicative)(0.0, c.gmax)
    rule = STDP(Pair(c.tau_plus, c.tau_minus, a_plus, a_minus, "all-to-all"), dep)
    return rule.to_equation_rule() if c.rule_form == "language" else rule


def neuron_model(c):
    """The conductance-based LIF neuron of an effective config ``c`` (its constructor
    checks the parameters between them)."""
    return LIFCond(tau_m=c.tau_m, E_L=c.E_L, V_th=c.V_th, V_reset=c.V_reset, E_e=c.E_e,
                   tau_e=c.tau_e, E_i=c.E_i, tau_i=c.tau_i, t_ref=0.0)


def add_plastic_neuron(net, inputs, config, weight_seed):
    """The conductance-based LIF neuron and its STDP projection from ``inputs``
    (weights uniform in [0, gmax] drawn with ``weight_seed``): (projection, neuron)."""
    c = effective(config)
    neuron = net.add_population("neuron", 1, neuron_model(c))
    weights = SynapseMatrix.all_to_all(
        inputs.n, 1, weight=lambda rng, n: rng.uniform(0.0, c.gmax, n), rng=weight_seed,
        dtype=np.float64)
    proj = net.connect(inputs, neuron, weights, target="g_e", rule=stdp_rule(c),
                       name="input")
    return proj, neuron


class WeightStats:
    """Per-snapshot summaries of the weights (w / gmax): time, fraction in the middle
    (0.1-0.9), 10-bin histogram. Kept for the convergence metrics and checkpoints."""

    def __init__(self, gmax):
        self.gmax = gmax
        self.t, self.middle, self.hist = [], [], []

    def add(self, t, w):
        u = np.asarray(w, dtype=np.float64) / self.gmax
        self.t.append(float(t))
        self.middle.append(float(np.mean((u >= 0.1) & (u <= 0.9))))
        self.hist.append(np.histogram(u, bins=10, range=(0.0, 1.0))[0] / u.size)

    def state(self):
        return dict(t=np.asarray(self.t, float), middle=np.asarray(self.middle, float),
                    hist=np.asarray(self.hist, float).reshape(-1, 10))

    def set_state(self, s):
        self.t = [float(x) for x in np.asarray(s["t"])]
        self.middle = [float(x) for x in np.asarray(s["middle"])]
        self.hist = list(np.asarray(s["hist"], float).reshape(-1, 10))


def convergence(t, middle, hist, duration, horizon=1_000_000.0, tol=0.05, band=0.05):
    """Whether the weight distribution stopped changing, from per-snapshot summaries
    (times ``t`` in ms, middle fractions, 10-bin histograms as fractions) of a run of
    ``duration`` ms.

    Returns a dict: ``fraction_middle_last_quarter`` (mean over the last quarter of
    the run), ``middle_trend`` (the least-squares slope of the middle fraction over
    the second half of the run, times ``horizon`` ms: how much it would still change
    over that time), ``histogram_change`` (total variation distance
    between the mean 10-bin histograms of the third and the last quarter),
    ``converged`` (both below ``tol`` in magnitude) and ``settle_time_ms`` (the first
    snapshot after which the middle fraction stays within ``band`` of its last-quarter
    mean). A number the snapshots leave undefined (too few of them in the second
    half; no snapshot after which the fraction settles) is a
    :class:`plasticity.results.Undefined` saying why.
    """
    from plasticity.results import Undefined
    t, middle = np.asarray(t, float), np.asarray(middle, float)
    hist = np.asarray(hist, float).reshape(-1, 10)
    half = t > duration / 2
    q3 = half & (t <= 3 * duration / 4)
    q4 = t > 3 * duration / 4
    few = Undefined(f"too few weight snapshots in the run's second half ({int(half.sum())}"
                    f"; 3 are needed, in its third and its fourth quarter)")
    out = dict(fraction_middle_last_quarter=few, middle_trend=few, histogram_change=few,
               converged=False, settle_time_ms=few)
    if not q3.any() or not q4.any() or half.sum() < 3:
        return out
    m4 = middle[q4].mean()
    trend = np.polyfit(t[half], middle[half], 1)[0] * horizon
    tv = 0.5 * np.abs(hist[q4].mean(axis=0) - hist[q3].mean(axis=0)).sum()
    outside = np.nonzero(np.abs(middle - m4) > band)[0]
    if outside.size == 0:
        settle = t[0]
    elif outside[-1] + 1 < t.size:
        settle = t[outside[-1] + 1]
    else:
        settle = Undefined(f"the middle fraction does not settle within {band:g} of "
                           f"its last-quarter mean before the last snapshot")
    out.update(fraction_middle_last_quarter=float(m4), middle_trend=float(trend),
               histogram_change=float(tv),
               converged=bool(abs(trend) < tol and tv < tol),
               settle_time_ms=settle if isinstance(settle, Undefined) else float(settle))
    return out


def simulate(net, proj, neuron, config, recorder, inputs_model, inputs_parameters,
             progress=None, stats=None):
    """Run ``config.duration`` streaming the neuron's spikes and the weight snapshots
    to ``recorder`` (if any) and to ``stats`` (a :class:`WeightStats`, if any);
    returns (output spike count, CPU seconds).

    With a recorder the run goes in blocks of ``snapshot_interval`` and checkpoints
    after a block when due (``--checkpoint-every``): the network's full state
    (``Network.store``), the spike count, the snapshot summaries and the CPU time so
    far. A run started with ``--resume`` restores that state and continues from the
    checkpoint's step; the finished file equals an uninterrupted run's (blocks do not
    change the numbers).
    """
    config = effective(config)
    n_out = [0]
    last_snapshot = [-np.inf]   # a resumed run must not record the checkpoint's twice

    def spikes_sink(t, i):
        n_out[0] += t.size
        if recorder is not None:
            recorder.append_spikes("neuron", t, i)

    def snapshot_sink(t, w):
        if t > last_snapshot[0]:
            last_snapshot[0] = t
            if stats is not None:
                stats.add(t, w)
            if recorder is not None:
                recorder.append_weight_snapshot("input", t, w)
    net.monitor_spikes(neuron, sink=spikes_sink)
    net.monitor_weights(proj, config.snapshot_interval,
                        sink=snapshot_sink if recorder is not None or stats is not None
                        else None)
    if recorder is None:
        t0 = time.process_time()
        net.run(config.duration, progress=progress)
        cpu = time.process_time() - t0
        if stats is not None:   # the final weights (a snapshot is taken at a step start)
            snapshot_sink(net.t, proj.weights)
        return n_out[0], cpu
    recorder.add_population("inputs", inputs_model, proj.pre.n, inputs_parameters)
    if "inhibitory" in net.populations:
        inh = net.populations["inhibitory"]
        recorder.add_population("inhibitory", "PoissonGroup", inh.n,
                                {"rate_hz": config.rate_inhibitory})
    recorder.add_population("neuron", "LIFCond", 1, neuron.model.parameters())
    record_synapses(recorder, proj)
    cpu = 0.0
    resumed = recorder.resume_state()
    if resumed is not None:
        net.restore(resumed["net"])
        n_out[0] = int(resumed["n_out"])
        last_snapshot[0] = float(resumed["last_snapshot"])
        cpu = float(resumed["cpu_seconds"])
        if stats is not None and "stats" in resumed:
            stats.set_state(resumed["stats"])
    end = round(config.duration / config.dt)
    block = max(round(config.snapshot_interval / config.dt), 1)
    from plasticity.progress import Progress
    bar = Progress(total=round(config.duration), initial=round(net.step * config.dt),
                   desc="simulate", unit="ms", enabled=progress,
                   delay=0.0 if progress else 3.0, leave=False)

    def state():
        s = dict(net=net.store(), n_out=n_out[0], last_snapshot=last_snapshot[0],
                 cpu_seconds=cpu)
        if stats is not None:
            s["stats"] = stats.state()
        return s
    try:
        while net.step < end:
            t0 = time.process_time()
            net.run(min(block, end - net.step) * config.dt, progress=False)
            cpu += time.process_time() - t0
            bar.set(round(net.step * config.dt))
            if net.step < end:
                recorder.checkpoint(net.step, state)
    finally:
        bar.close()
    if stats is not None:
        snapshot_sink(net.t, proj.weights)
    recorder.set_t_stop("neuron", net.t)   # the simulated interval, not the last spike
    record_synapses(recorder, proj)
    return n_out[0], cpu


def record_synapses(recorder, proj):
    """The input projection's structure and current weights in the run file."""
    syn = proj.synapses
    recorder.set_synapses("input", syn.indptr, syn.indices, syn.weights, syn.shape,
                          "inputs", "neuron", "STDP", proj.rule.parameters(),
                          units="leak conductance")


def bimodality(weights, gmax, bins=10):
    """Histogram of w / gmax in ``bins`` bins, and the ratios of each edge bin to the
    mean of the middle bins (bimodal: both >= 2)."""
    hist, edges = np.histogram(weights / gmax, bins=bins, range=(0.0, 1.0))
    middle = hist[1:-1].mean()
    ratio = (hist[0] / middle, hist[-1] / middle) if middle > 0 else (np.inf, np.inf)
    return hist, edges, ratio


def run(config, recorder=None, seed=1, progress=None):
    """Run the experiment; returns the headline metrics. With a recorder (the
    ``plasticity run`` command), the seed is the recorder's."""
    from plasticity.results import Undefined
    if recorder is not None:
        seed = recorder.seed
    c = effective(config)
    net, proj, neuron = build(c, seed)
    stats = WeightStats(c.gmax)
    n_out, cpu = simulate(net, proj, neuron, c, recorder, "PoissonGroup",
                          {"rate_hz": c.rate}, progress, stats=stats)
    w = proj.weights
    hist, edges, (r_low, r_high) = bimodality(w, c.gmax)
    u = w / c.gmax
    # every weight in an edge bin: the ratios are infinite (bimodal stays right), a
    # headline inf would fail the run
    empty = Undefined("no weight in the middle bins (0.1-0.9 gmax): every weight "
                      "ended near a bound")
    metrics = {
        "edge_ratio_low": float(r_low) if np.isfinite(r_low) else empty,
        "edge_ratio_high": float(r_high) if np.isfinite(r_high) else empty,
        "bimodal": bool(r_low >= 2 and r_high >= 2),
        "fraction_middle": float(np.mean((u >= 0.1) & (u <= 0.9))),
        "fraction_near_gmax": float(np.mean(u > 0.9)),
        "fraction_near_zero": float(np.mean(u < 0.1)),
        "mean_weight_over_gmax": float(u.mean()),
        "cpu_seconds": cpu,
    }
    # metrics a run too short to measure cannot have (NaN) are left out
    metrics.update({k: v for k, v in convergence(stats.t, stats.middle, stats.hist,
                                                 c.duration, c.convergence_horizon).items()
                    if not (isinstance(v, float) and np.isnan(v))})
    metrics["output_rate_hz"] = n_out / (c.duration / 1000.0)
    if recorder is not None:
        recorder.metric("weight_histogram", hist)
        recorder.metric("weight_histogram_edges", edges)
        recorder.metric("fraction_middle_over_time", np.asarray(stats.middle))
        recorder.metric("snapshot_times", np.asarray(stats.t))
        for k, v in metrics.items():
            recorder.metric(k, v)
        return metrics
    metrics["histogram"] = hist
    metrics["fraction_middle_over_time"] = np.asarray(stats.middle)
    metrics["snapshot_times"] = np.asarray(stats.t)
    return metrics


def print_histogram(hist, edges, width=50, file=None):
    file = file or sys.stdout
    top = max(int(hist.max()), 1)
    for h, lo, hi in zip(hist, edges[:-1], edges[1:]):
        print(f"  w/gmax {lo:4.1f}-{hi:4.1f} | {'#' * round(width * h / top):<{width}} {h}",
              file=file)


def print_summary(run, file=None):
    """Print the run's final weight histogram, whether it is bimodal and whether it
    stopped changing (after ``plasticity run song_abbott_2000`` and ``python
    experiments/song_abbott_2000.py``)."""
    file = file or sys.stdout
    m = run.metrics
    cfg = effective_dict(run.config)
    model, rate, duration = cfg.get("model", "brian2-example"), cfg["rate"], cfg["duration"]
    n_inh = cfg["n_inhibitory"]
    inh = f" + {n_inh} inhibitory at {cfg.get('rate_inhibitory')} Hz" if n_inh else ""
    print(f"Song, Miller & Abbott 2000 ({model} model): {cfg['n_inputs']} inputs at "
          f"{rate} Hz{inh}, {duration / 1000:g} s simulated in "
          f"{float(m['cpu_seconds']):.2f} s CPU; output rate "
          f"{float(m['output_rate_hz']):.1f} Hz", file=file)
    print("final weight histogram:", file=file)
    print_histogram(np.asarray(m["weight_histogram"]),
                    np.asarray(m["weight_histogram_edges"]), file=file)
    print(f"edge bins / mean of middle bins: {float(m['edge_ratio_low']):.1f} (w~0), "
          f"{float(m['edge_ratio_high']):.1f} (w~gmax) -> "
          f"{'bimodal' if bool(m['bimodal']) else 'NOT bimodal'}", file=file)
    if "fraction_middle_last_quarter" in m:
        conv = bool(m["converged"])
        settle = float(m.get("settle_time_ms", np.nan))
        print(f"fraction of weights in the middle (0.1-0.9 gmax): "
              f"{float(m['fraction_middle']):.3f} (mean over the last quarter "
              f"{float(m['fraction_middle_last_quarter']):.3f}); trend over the second "
              f"half {float(m['middle_trend']):+.3f} per "
              f"{float(cfg.get('convergence_horizon', 1e6)) / 1000:g} s, histogram change "
              f"{float(m['histogram_change']):.3f} -> "
              f"{'converged' if conv else 'NOT converged (--set duration=...)'}"
              + (f", settled after {settle / 1000:g} s" if conv and np.isfinite(settle)
                 else ""),
              file=file)
    print(f"run file: {run.path}  (plasticity inspect / plasticity plot ... weights)",
          file=file)


def main(argv=None):
    """``python experiments/song_abbott_2000.py``: the options and run-file rules of
    ``plasticity run song_abbott_2000``; prints the weight histogram."""
    from plasticity.cli import script_main
    return script_main("song_abbott_2000", argv)


if __name__ == "__main__":
    sys.exit(main())
