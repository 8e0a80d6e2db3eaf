"""Song, Miller & Abbott 2000, competition: with a correlated and an uncorrelated input group, STDP makes the correlated synapses win.

The network and rule of ``song_abbott_2000`` (one conductance-based LIF neuron,
additive all-to-all pair STDP with hard bounds [0, gmax], A- = 1.05 A+; Brian2's
"adapted from Song, Miller and Abbott 2000" parameters), with the 1000 Poisson
inputs split into two groups of ``n_correlated`` and ``n_inputs - n_correlated``
(500 + 500): every input fires at ``rate`` (15 Hz), and the inputs of the first
group share spikes of a common "mother" Poisson train.

Correlated inputs (shared-source model of Kuhn, Aertsen & Rotter 2003): a mother
Poisson train at ``rate / c``; each correlated input copies every mother spike
independently with probability ``correlation`` (c), so it is a Poisson train at
``rate`` whose spike counts correlate with those of any other input of the group with
coefficient c (in any bin longer than ``jitter``; checked by the tests). A copied spike is shifted by a Gaussian ``jitter`` (default 0: exact
synchrony). Spikes falling in the same time step of one input are merged. All trains
are drawn in NumPy from ``numpy.random.default_rng(seed)`` and played through a
``SpikeGeneratorGroup``.

The claim: after the run the correlated group's mean weight is near gmax and the
uncorrelated group's near 0 (metrics ``mean_weight_correlated_over_gmax``,
``mean_weight_uncorrelated_over_gmax``, ``fraction_near_gmax_*``).

Choices and what is not the paper's: Song et al. 2000 Fig. 5 studies correlated
inputs, but its exact setup (fraction correlated, correlation model, c) is
UNVERIFIED (shared/references.md section 4); the shared-source model, c = 0.2, the
500/500 split and zero jitter are our choices. Initial weights uniform in [0, gmax]
(as ``song_abbott_2000``), dt = 0.1 ms, the neuron starts at rest.
"""
import dataclasses
import sys

import numpy as np

from plasticity import Network
from plasticity._validation import check_rate_per_step
from plasticity.config import field
from plasticity.experiments import song_abbott_2000 as song
from plasticity.experiments.song_abbott_2000 import Config as SongConfig


@dataclasses.dataclass
class Config(SongConfig):
    """``song_abbott_2000``'s parameters (its Brian2-example model) plus the
    correlated group."""
    model: str = field("brian2-example", help="parameter set of song_abbott_2000 (this "
                       "experiment's results are for brian2-example)",
                       choices=tuple(song.MODELS))
    n_correlated: int = field(500, help="inputs of the correlated group (ids 0..n-1)",
                              min=1)
    correlation: float = field(0.2, help="shared-source correlation c of the correlated "
                               "group", min=0.0, max=1.0)
    jitter: float = field(0.0, help="s.d. of the jitter of copied mother spikes",
                          units="ms", min=0.0)

    def check(self):
        """The checks between keys (on the resolved config; see plasticity.experiments):
        song_abbott_2000's (the neuron), then the correlated group's."""
        super().check()
        if self.n_correlated >= self.n_inputs:
            raise ValueError(f"config key 'n_correlated' must be < n_inputs "
                             f"({self.n_inputs}), got {self.n_correlated}")
        # the correlated inputs copy a mother train of rate / correlation Hz (drawn on
        # the step grid): above one spike per step its spikes merged, the inputs'
        # rates fell short, and correlation = 1e-12 asked for PiB of it (a MemoryError
        # in the run). The shared check of every source's rate
        c = song.effective(self)
        if self.correlation > 0:
            mother = c.rate / self.correlation
            check_rate_per_step(
                "config key 'correlation': the correlated group's mother train, rate / "
                "correlation,", [mother], self.dt, element=None,
                got=lambda k: (f"{c.rate:g} / {self.correlation:g} = {mother:g} Hz "
                               f"(correlation must be 0 or >= rate dt / 1000 = "
                               f"{c.rate * self.dt / 1000.0:g})"))


def memory_estimate(config):
    """What a run needs in memory, by config key (``plasticity run`` checks it first):
    the inputs (as ``song_abbott_2000``) and their pre-drawn spike trains (times,
    ids, steps and the sort's temporaries: ~48 B per spike, twice for the copies)."""
    c = song.effective(config)
    n_spikes = 2.0 * c.n_inputs * c.rate * c.duration / 1000.0
    # the mother train (times and ids of its copies) and the draw of which inputs
    # copy each of its spikes: a byte per correlated input and mother spike
    n_mother = c.rate / c.correlation * c.duration / 1000.0 if c.correlation > 0 else 0
    return {"n_inputs": (c.n_inputs, song.BYTES_PER_INPUT * c.n_inputs),
            "duration": (c.duration, 48.0 * n_spikes),
            "correlation": (c.correlation, (c.n_correlated + 16.0) * n_mother)}


#: a quick run: the separation is already clear after 30 s
SMALL = {"duration": 30_000.0}


def correlated_trains(n, n_corr, rate_hz, c, duration_ms, dt, rng, jitter=0.0):
    """Spike times and ids (sorted by time) of ``n`` inputs at ``rate_hz``; inputs
    ``0..n_corr-1`` share a mother train with copy probability ``c``."""
    T = duration_ms / 1000.0
    times, ids = [], []
    if n_corr and c > 0:
        n_mother = rng.poisson(rate_hz / c * T)
        mother = rng.uniform(0.0, duration_ms, n_mother)
        keep = rng.random((n_corr, n_mother)) < c
        k_ids, k_idx = np.nonzero(keep)
        t = mother[k_idx]
        if jitter > 0:
            t = t + rng.normal(0.0, jitter, t.size)
        times.append(t)
        ids.append(k_ids)
    own_rate = np.where(np.arange(n) < n_corr, 0.0 if c > 0 else rate_hz, rate_hz)
    counts = rng.poisson(own_rate * T)
    ids.append(np.repeat(np.arange(n), counts))
    times.append(rng.uniform(0.0, duration_ms, counts.sum()))
    t = np.concatenate(times)
    i = np.concatenate(ids).astype(np.int64) if ids else np.zeros(0, np.int64)
    ok = (t >= 0) & (t < duration_ms)
    t, i = t[ok], i[ok]
    steps = np.round(t / dt).astype(np.int64)
    steps, i = np.unique(np.stack([steps, i]), axis=1)  # merge same-step spikes
    order = np.argsort(steps, kind="stable")
    return steps[order] * dt, i[order]


def build(config, seed=1):
    """(network, projection, neuron) with freshly drawn input trains."""
    c = song.effective(config)
    Config.check(c)
    rng = np.random.default_rng(seed)
    t, i = correlated_trains(c.n_inputs, c.n_correlated, c.rate, c.correlation,
                             c.duration, c.dt, rng, c.jitter)
    net = Network(dt=c.dt, seed=seed)
    inputs = net.add_spike_generator("inputs", c.n_inputs, t, i)
    proj, neuron = song.add_plastic_neuron(net, inputs, c, weight_seed=seed + 1)
    return net, proj, neuron


def run(config, recorder=None, seed=1, progress=None):
    c = song.effective(config)
    if recorder is not None:
        seed = recorder.seed
    net, proj, neuron = build(c, seed)
    n_out, cpu = song.simulate(
        net, proj, neuron, c, recorder, "SpikeGeneratorGroup (shared-source correlated)",
        {"rate_hz": c.rate, "n_correlated": c.n_correlated, "correlation": c.correlation},
        progress)
    w = proj.weights / c.gmax  # all-to-all onto one neuron: synapse k = input k
    wc, wu = w[:c.n_correlated], w[c.n_correlated:]
    metrics = {
        "mean_weight_correlated_over_gmax": float(wc.mean()),
        "mean_weight_uncorrelated_over_gmax": float(wu.mean()),
        "fraction_near_gmax_correlated": float(np.mean(wc > 0.9)),
        "fraction_near_gmax_uncorrelated": float(np.mean(wu > 0.9)),
        "fraction_near_zero_uncorrelated": float(np.mean(wu < 0.1)),
        "output_rate_hz": n_out / (c.duration / 1000.0),
        "cpu_seconds": cpu,
    }
    if recorder is not None:
        recorder.metric("final_weights_over_gmax", w)
        recorder.metric("is_correlated", (np.arange(c.n_inputs) < c.n_correlated)
                        .astype(np.int8))
    return metrics


def figure(source):
    """Final weights against input id (correlated group first) and the mean weight of
    each group over time. ``source``: a run file path or Run."""
    from matplotlib.figure import Figure

    from plasticity import results
    r = results.load(source) if isinstance(source, str) else source
    cfg = song.effective_dict(r.config)
    gmax, nc = cfg["gmax"], cfg["n_correlated"]
    times = r.weight_times("input")
    mc, mu = [], []
    for k in range(times.size):
        w = r.weights("input", snapshot=k).toarray().ravel() / gmax
        mc.append(w[:nc].mean())
        mu.append(w[nc:].mean())
    w = np.asarray(r.metrics["final_weights_over_gmax"])
    fig = Figure(figsize=(10, 3.8), layout="constrained")
    a, b = fig.subplots(1, 2)
    a.plot(np.arange(w.size), w, ".", ms=2, color="k")
    a.axvline(nc - 0.5, color="tab:red", lw=0.8)
    a.set_xlabel("input (correlated | uncorrelated)")
    a.set_ylabel("final w / gmax")
    b.plot(times / 1000.0, mc, label=f"correlated (c = {cfg['correlation']:g})")
    b.plot(times / 1000.0, mu, label="uncorrelated")
    b.set_xlabel("time (s)")
    b.set_ylabel("mean w / gmax")
    b.legend()
    return fig


def main(argv=None):
    """The script's entry point: the options and rules of ``plasticity run``."""
    from plasticity.cli import script_main
    return script_main("song_abbott_2000_competition", argv, figure=figure)


if __name__ == "__main__":
    sys.exit(main())
