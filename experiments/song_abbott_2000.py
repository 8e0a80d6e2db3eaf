"""Song, Miller & Abbott 2000: competitive STDP drives a bimodal weight distribution.

1000 Poisson inputs at 15 Hz onto one conductance-based LIF neuron through additive,
all-to-all pair STDP with hard bounds [0, gmax]; depression slightly stronger than
potentiation (A- = 1.05 A+). After 100 s the weights pile up at 0 and at gmax.

The parameters are those of Brian2's ``examples/synapses/STDP.py`` ("adapted from Song,
Miller and Abbott 2000"): taum 10 ms, taue 5 ms, Ee 0 mV, vt -54 mV, vr -60 mV,
El -74 mV, gmax 0.01, taupre = taupost = 20 ms, Apre = 0.01 gmax, Apost = -1.05 Apre,
initial weights uniform in [0, gmax]. Choices where the example leaves a detail open:
the neuron starts at rest (El; Brian2 leaves v at 0 mV, above threshold, so its first
step is a spike), no refractory period (as the example), the membrane is integrated
by exponential Euler (the example uses forward Euler; exponential Euler is exact while
the conductance is constant), dt = 0.1 ms.
"""
import dataclasses
import sys
import time

import numpy as np

from plasticity import STDP, Additive, Network, Pair, SynapseMatrix
from plasticity.config import field
from plasticity.neurons import LIFCond


@dataclasses.dataclass
class Config:
    n_inputs: int = field(1000, help="number of Poisson inputs", min=1)
    rate: float = field(15.0, help="input rate", units="Hz", min=0.0)
    duration: float = field(100_000.0, help="simulated time", units="ms", gt=0.0,
                            multiple_of="dt")
    dt: float = field(0.1, help="time step", units="ms", gt=0.0)
    tau_m: float = field(10.0, help="membrane time constant", units="ms", gt=0.0)
    tau_e: float = field(5.0, help="excitatory conductance time constant", units="ms",
                         gt=0.0)
    E_e: float = field(0.0, help="excitatory reversal potential", units="mV")
    V_th: float = field(-54.0, help="threshold", units="mV")
    V_reset: float = field(-60.0, help="reset", units="mV")
    E_L: float = field(-74.0, help="leak reversal potential", units="mV")
    gmax: float = field(0.01, help="maximum weight (units of the leak conductance)",
                        gt=0.0)
    tau_plus: float = field(20.0, help="pre trace time constant", units="ms", gt=0.0)
    tau_minus: float = field(20.0, help="post trace time constant", units="ms", gt=0.0)
    a_plus: float = field(0.01, help="potentiation amplitude, in units of gmax", min=0.0)
    depression_ratio: float = field(1.05, help="A- / A+ (times tau_plus / tau_minus)",
                                    min=0.0)
    snapshot_interval: float = field(1000.0, help="weight snapshot interval", units="ms",
                                     gt=0.0, multiple_of="dt")


#: a quick run (the scientific claim still holds after 100 s; tests use shorter runs)
SMALL = {"duration": 20_000.0}

#: the paper's result, by metric: (value, source); `plasticity report` sets the run
#: beside it. Song et al. state it qualitatively (no numbers for this setup).
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
    net = Network(dt=config.dt, seed=seed)
    inputs = net.add_poisson("inputs", config.n_inputs, config.rate)
    proj, neuron = add_plastic_neuron(net, inputs, config, weight_seed=seed)
    return net, proj, neuron


def add_plastic_neuron(net, inputs, config, weight_seed):
    """The conductance-based LIF neuron and its STDP projection from ``inputs``
    (weights uniform in [0, gmax] drawn with ``weight_seed``): (projection, neuron)."""
    c = config
    neuron = net.add_population(
        "neuron", 1, LIFCond(tau_m=c.tau_m, E_L=c.E_L, V_th=c.V_th, V_reset=c.V_reset,
                             E_e=c.E_e, tau_e=c.tau_e, t_ref=0.0))
    weights = SynapseMatrix.all_to_all(
        inputs.n, 1, weight=lambda rng, n: rng.uniform(0.0, c.gmax, n), rng=weight_seed,
        dtype=np.float64)
    a_plus = c.a_plus * c.gmax
    a_minus = a_plus * c.depression_ratio * c.tau_plus / c.tau_minus
    rule = STDP(Pair(c.tau_plus, c.tau_minus, a_plus, a_minus, "all-to-all"),
                Additive(0.0, c.gmax))
    proj = net.connect(inputs, neuron, weights, target="g_e", rule=rule, name="input")
    return proj, neuron


def simulate(net, proj, neuron, config, recorder, inputs_model, inputs_parameters,
             progress=None):
    """Run ``config.duration`` streaming the neuron's spikes and the weight snapshots
    to ``recorder`` (if any); returns (output spike count, CPU seconds).

    With a recorder the run goes in blocks of ``snapshot_interval`` and checkpoints
    after a block when due (``--checkpoint-every``): the network's full state
    (``Network.store``), the spike count and the CPU time so far. A run started with
    ``--resume`` restores that state and continues from the checkpoint's step; the
    finished file equals an uninterrupted run's (blocks do not change the numbers).
    """
    n_out = [0]
    last_snapshot = [-np.inf]   # a resumed run must not record the checkpoint's twice

    def spikes_sink(t, i):
        n_out[0] += t.size
        if recorder is not None:
            recorder.append_spikes("neuron", t, i)

    def snapshot_sink(t, w):
        if t > last_snapshot[0]:
            last_snapshot[0] = t
            recorder.append_weight_snapshot("input", t, w)
    net.monitor_spikes(neuron, sink=spikes_sink)
    net.monitor_weights(proj, config.snapshot_interval,
                        sink=snapshot_sink if recorder is not None else None)
    if recorder is None:
        t0 = time.process_time()
        net.run(config.duration, progress=progress)
        return n_out[0], time.process_time() - t0
    recorder.add_population("inputs", inputs_model, proj.pre.n, inputs_parameters)
    recorder.add_population("neuron", "LIFCond", 1, neuron.model.parameters())
    record_synapses(recorder, proj)
    cpu = 0.0
    resumed = recorder.resume_state()
    if resumed is not None:
        net.restore(resumed["net"])
        n_out[0] = int(resumed["n_out"])
        last_snapshot[0] = float(resumed["last_snapshot"])
        cpu = float(resumed["cpu_seconds"])
    end = round(config.duration / config.dt)
    block = max(round(config.snapshot_interval / config.dt), 1)
    from plasticity.progress import Progress
    bar = Progress(total=round(config.duration), initial=round(net.step * config.dt),
                   desc="simulate", unit="ms", enabled=progress,
                   delay=0.0 if progress else 3.0, leave=False)
    try:
        while net.step < end:
            t0 = time.process_time()
            net.run(min(block, end - net.step) * config.dt, progress=False)
            cpu += time.process_time() - t0
            bar.set(round(net.step * config.dt))
            if net.step < end:
                recorder.checkpoint(net.step, lambda: dict(
                    net=net.store(), n_out=n_out[0], last_snapshot=last_snapshot[0],
                    cpu_seconds=cpu))
    finally:
        bar.close()
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
    if recorder is not None:
        seed = recorder.seed
    net, proj, neuron = build(config, seed)
    n_out, cpu = simulate(net, proj, neuron, config, recorder, "PoissonGroup",
                          {"rate_hz": config.rate}, progress)
    w = proj.weights
    hist, edges, (r_low, r_high) = bimodality(w, config.gmax)
    metrics = {
        "edge_ratio_low": float(r_low),
        "edge_ratio_high": float(r_high),
        "bimodal": bool(r_low >= 2 and r_high >= 2),
        "fraction_near_gmax": float(np.mean(w > 0.9 * config.gmax)),
        "fraction_near_zero": float(np.mean(w < 0.1 * config.gmax)),
        "mean_weight_over_gmax": float(w.mean() / config.gmax),
        "cpu_seconds": cpu,
    }
    metrics["output_rate_hz"] = n_out / (config.duration / 1000.0)
    if recorder is not None:
        recorder.metric("weight_histogram", hist)
        recorder.metric("weight_histogram_edges", edges)
        for k, v in metrics.items():
            recorder.metric(k, v)
        return metrics
    metrics["histogram"] = hist
    return metrics


def print_histogram(hist, edges, width=50, file=None):
    file = file or sys.stdout
    top = max(int(hist.max()), 1)
    for h, lo, hi in zip(hist, edges[:-1], edges[1:]):
        print(f"  w/gmax {lo:4.1f}-{hi:4.1f} | {'#' * round(width * h / top):<{width}} {h}",
              file=file)


def print_summary(run, file=None):
    """Print the run's final weight histogram and whether it is bimodal (after
    ``plasticity run song_abbott_2000`` and ``python experiments/song_abbott_2000.py``).
    """
    file = file or sys.stdout
    m = run.metrics
    cfg = run.config
    print(f"Song, Miller & Abbott 2000: {cfg['n_inputs']} inputs at {cfg['rate']} Hz, "
          f"{cfg['duration'] / 1000:g} s simulated in {float(m['cpu_seconds']):.2f} s CPU; "
          f"output rate {float(m['output_rate_hz']):.1f} Hz", file=file)
    print("final weight histogram:", file=file)
    print_histogram(np.asarray(m["weight_histogram"]),
                    np.asarray(m["weight_histogram_edges"]), file=file)
    print(f"edge bins / mean of middle bins: {float(m['edge_ratio_low']):.1f} (w~0), "
          f"{float(m['edge_ratio_high']):.1f} (w~gmax) -> "
          f"{'bimodal' if bool(m['bimodal']) else 'NOT bimodal'}", file=file)
    print(f"run file: {run.path}  (plasticity inspect / plasticity plot ... weights)",
          file=file)


def main(argv=None):
    """``python experiments/song_abbott_2000.py``: the options and run-file rules of
    ``plasticity run song_abbott_2000``; prints the weight histogram."""
    from plasticity.cli import script_main
    return script_main("song_abbott_2000", argv)


if __name__ == "__main__":
    sys.exit(main())
