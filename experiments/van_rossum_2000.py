"""van Rossum, Bi & Turrigiano 2000: soft-bound STDP gives a unimodal weight distribution; synaptic scaling holds the output rate at its target.

One conductance-based LIF neuron (the neuron of ``song_abbott_2000``) receives
``n_inputs`` Poisson inputs through :func:`plasticity.rules.library.van_rossum_2000`:
pair STDP with additive potentiation (``+c_p``) and multiplicative depression
(``-c_d w``), and activity-dependent scaling of all the neuron's weights
(``dw/dt = w (beta (a_goal - a) + gamma z)``, ``dz/dt = a_goal - a``; ``a`` is an
activity sensor, a rate estimate with time constant ``tau_a``).

Protocol: ``phase1`` ms with the inputs at ``rate1``, then ``phase2`` ms at ``rate2``
(the input rate doubles). Measured: the output rate in windows of ``window`` ms (the headline
rates: the mean over the second half of each phase), the
final weight distribution (histogram, mode count, fraction at the bounds).
Control: the same run without scaling (beta = gamma = 0): the rate is wherever STDP
leaves it and follows the input change.

Departures (the paper's values are UNVERIFIED here): the scaling is made fast enough
to act within minutes (tau_a = 2 s instead of the paper's 100 s, beta = 0.05 instead
of ~4e-5, gamma = 5e-6 s^-2 Hz^-1), and STDP is faster (c_d = 0.02 instead of the
paper's 0.003) so that the weight distribution settles within ~100 s. The paper's
noise in the STDP update is left out (the language has no random numbers). The
neuron, the number of inputs and their rates are ours (the paper's network:
UNVERIFIED). Time step 0.1 ms.
"""
import dataclasses
import sys

import numpy as np

from plasticity import Network, SynapseMatrix
from plasticity.config import field
from plasticity.experiments._common import check_models
from plasticity.neurons import LIFCond
from plasticity.rules.library import van_rossum_2000


@dataclasses.dataclass
class Config:
    n_inputs: int = field(200, help="number of Poisson inputs", min=1)
    rate1: float = field(10.0, help="input rate, phase 1", units="Hz", min=0.0)
    rate2: float = field(20.0, help="input rate, phase 2", units="Hz", min=0.0)
    phase1: float = field(100_000.0, help="duration of phase 1", units="ms", gt=0.0,
                          multiple_of="window")
    phase2: float = field(100_000.0, help="duration of phase 2", units="ms", gt=0.0,
                          multiple_of="window")
    window: float = field(10_000.0, help="rate measurement window", units="ms", gt=0.0,
                          multiple_of="dt")
    dt: float = field(0.1, help="time step", units="ms", gt=0.0)
    w_init: float = field(0.02, help="initial weights uniform in [0, 2 w_init] "
                          "(units of the leak conductance)", gt=0.0)
    tau_stdp: float = field(20.0, help="STDP time constant", units="ms", gt=0.0)
    c_p: float = field(4e-4, help="potentiation step (additive)", min=0.0)
    c_d: float = field(0.02, help="relative depression step (multiplicative)", gt=0.0)
    a_goal: float = field(10.0, help="target output rate (the rate errors are relative "
                          "to it)", units="Hz", gt=0.0)
    tau_a: float = field(2000.0, help="activity sensor time constant", units="ms",
                         gt=0.0)
    beta: float = field(0.05, help="proportional scaling (s^-1 Hz^-1)", min=0.0)
    gamma: float = field(5e-6, help="integral scaling (s^-2 Hz^-1)", min=0.0)
    scaling: bool = field(True, help="synaptic scaling on (False: the control)")

    def check(self):
        """The checks between keys (on the resolved config; see plasticity.experiments):
        the input rates are at most one spike per step of dt (the Poisson source's own
        check, which ran inside the run)."""
        check_models("the inputs", *(lambda k=k: Network(dt=self.dt).add_poisson(
            k, 1, getattr(self, k)) for k in ("rate1", "rate2")))


#: a quick run: 40 s per phase
SMALL = {"phase1": 40_000.0, "phase2": 40_000.0, "window": 5_000.0}

NEURON = dict(tau_m=10.0, E_L=-74.0, V_th=-54.0, V_reset=-60.0, E_e=0.0, tau_e=5.0,
              t_ref=0.0)


#: bytes per input (the synapse, its rule state, the Poisson source) and per input and
#: window (a weight snapshot, twice: the list and the array made of it); measured
#: ~290 B and 16 B (tests/test_experiment_memory.py)
INPUT_BYTES, SNAPSHOT_BYTES = 300.0, 16.0


def n_windows(c):
    return max(1, int(round(c.phase1 / c.window))) + max(1, int(round(c.phase2 / c.window)))


def memory_estimate(config):
    """What a run needs in memory, by config key (``plasticity run`` checks it first):
    the inputs and a weight snapshot per rate window."""
    from plasticity._memory import named_after
    c = config
    total = c.n_inputs * (INPUT_BYTES + SNAPSHOT_BYTES * n_windows(c))
    return named_after(c, total, grow=("n_inputs", "phase1", "phase2"),
                       shrink=("window",))


def make_rule(c):
    return van_rossum_2000(tau_stdp=c.tau_stdp, c_p=c.c_p, c_d=c.c_d, tau_a=c.tau_a,
                           a_goal=c.a_goal, beta=c.beta if c.scaling else 0.0,
                           gamma=c.gamma if c.scaling else 0.0, w_min=0.0, w_max=1.0)


def simulate(c, seed=1, recorder=None):
    """Both phases; returns (window end times, rates, final weights, weight snapshots)."""
    net = Network(dt=c.dt, seed=seed)
    inputs = net.add_poisson("inputs", c.n_inputs, c.rate1)
    neuron = net.add_population("neuron", 1, LIFCond(**NEURON))
    syn = SynapseMatrix.all_to_all(c.n_inputs, 1,
                                   weight=lambda g, k: g.uniform(0, 2 * c.w_init, k),
                                   rng=seed, dtype=np.float64)
    proj = net.connect(inputs, neuron, syn, "g_e", rule=make_rule(c), name="input")
    mon = net.monitor_spikes(neuron)
    times, rates, snaps = [], [], []
    for rate, dur in ((c.rate1, c.phase1), (c.rate2, c.phase2)):
        inputs.rates = rate
        n_win = max(1, int(round(dur / c.window)))
        for _ in range(n_win):
            n0 = mon.times.size
            net.run(dur / n_win)
            times.append(net.t)
            rates.append((mon.times.size - n0) / (dur / n_win / 1000.0))
            snaps.append(proj.weights.copy())
    if recorder is not None:
        recorder.add_population("inputs", "PoissonGroup", c.n_inputs,
                                {"rate1_hz": c.rate1, "rate2_hz": c.rate2})
        recorder.add_population("neuron", "LIFCond", 1, neuron.model.parameters())
        recorder.append_spikes("neuron", mon.times, mon.ids)
        recorder.set_t_stop("neuron", net.t)
        s = proj.synapses
        recorder.set_synapses("input", s.indptr, s.indices, s.weights, s.shape,
                              pre="inputs", post="neuron", rule="van_rossum_2000")
    return np.array(times), np.array(rates), proj.weights.copy(), np.array(snaps)


def distribution(w, bins=20):
    """Histogram on [0, max w], the number of its modes (local maxima above 20 % of
    the peak, after a 3-bin moving average) and the fractions at the bounds."""
    hist, edges = np.histogram(w, bins=bins, range=(0.0, float(w.max()) * 1.0001))
    sm = np.convolve(hist, np.ones(3) / 3.0, mode="same")
    peak = sm.max()
    modes = [k for k in range(bins) if sm[k] >= 0.2 * peak
             and (k == 0 or sm[k] > sm[k - 1]) and (k == bins - 1 or sm[k] >= sm[k + 1])]
    return hist, edges, len(modes)


def run(config, recorder=None, seed=1):
    from plasticity.results import Undefined
    c = config
    if recorder is not None:
        seed = recorder.seed
    times, rates, w, snaps = simulate(c, seed, recorder)
    n1 = max(1, int(round(c.phase1 / c.window)))
    n2 = len(rates) - n1
    r1 = float(np.mean(rates[n1 - max(1, n1 // 2):n1]))
    r2 = float(np.mean(rates[len(rates) - max(1, n2 // 2):]))
    hist, edges, n_modes = distribution(w)
    m = {
        "rate_end_phase1_hz": r1,
        "rate_end_phase2_hz": r2,
        "rel_error_end_phase1": abs(r1 - c.a_goal) / c.a_goal,
        "rel_error_end_phase2": abs(r2 - c.a_goal) / c.a_goal,
        "weight_mean": float(w.mean()),
        "weight_cv": float(w.std() / w.mean()) if w.mean() > 0 else Undefined(
            "every weight is 0 (the rule drove them to the lower bound): no spread "
            "relative to the mean"),
        "weight_modes": n_modes,
        "fraction_below_5pct_of_max": float(np.mean(w < 0.05 * w.max())),
        "stdp_fixed_point_c_p_over_c_d": c.c_p / c.c_d,
    }
    if recorder is None:
        m.update(times=times, rates=rates, weights=w, histogram=hist, edges=edges)
        return m
    recorder.metric("rate/times", times, units="ms")
    recorder.metric("rate/hz", rates, units="Hz")
    recorder.metric("weight_histogram", hist)
    recorder.metric("weight_histogram_edges", edges)
    recorder.metric("weight_snapshots", snaps)
    for k, v in m.items():
        recorder.metric(k, v)
    return m


def figure(source):
    """Output rate over time (with the target) and the final weight histogram."""
    from matplotlib.figure import Figure

    from plasticity import results
    run_ = results.load(source) if isinstance(source, str) else source
    m = run_.metrics
    cfg = run_.config
    fig = Figure(figsize=(10, 4), layout="constrained")
    a, b = fig.subplots(1, 2)
    t = np.asarray(m["rate/times"]) / 1000.0
    a.plot(t, np.asarray(m["rate/hz"]), "o-", label="output rate")
    a.axhline(cfg["a_goal"], color="k", ls="--", lw=1, label="target a_goal")
    a.axvline(cfg["phase1"] / 1000.0, color="0.6", lw=0.8)
    a.set_xlabel("time (s)")
    a.set_ylabel("rate (Hz)")
    a.set_title(f"scaling {'on' if cfg['scaling'] else 'off'}; input "
                f"{cfg['rate1']:g} -> {cfg['rate2']:g} Hz")
    a.legend(fontsize="small")
    h = np.asarray(m["weight_histogram"])
    e = np.asarray(m["weight_histogram_edges"])
    b.bar(e[:-1], h, width=np.diff(e), align="edge", color="C1")
    b.set_xlabel("weight (units of the leak conductance)")
    b.set_ylabel("synapses")
    b.set_title(f"final weights: {int(m['weight_modes'])} mode(s)")
    return fig


def print_summary(run, file=None):
    file = file or sys.stdout
    m = run.metrics
    print(f"  output rate at the end of phase 1 / 2: {float(m['rate_end_phase1_hz']):.2f} / "
          f"{float(m['rate_end_phase2_hz']):.2f} Hz (target {run.config['a_goal']} Hz); "
          f"weights: mean {float(m['weight_mean']):.4f}, CV {float(m['weight_cv']):.2f}, "
          f"{int(m['weight_modes'])} mode(s)", file=file)


def main(argv=None):
    from plasticity.cli import script_main
    return script_main("van_rossum_2000", argv, figure=figure)


if __name__ == "__main__":
    sys.exit(main())
