"""Bi & Poo 1998: the STDP window measured with the pairing protocol, for each timing dependence.

The protocol: ``n_pairs`` (60) pre/post spike pairs at ``pair_rate`` (1 Hz), for
spike-time differences ``delta_t = t_post - t_pre`` from -100 to +100 ms. Each
delta_t is an independent channel (its own presynaptic spike generator and its own
postsynaptic neuron) of one network, and every timing dependence is a separate
plastic projection between the same pre/post pairs, so one simulation measures the
whole window of all five rules: Pair all-to-all, nearest-symmetric, nearest
pre-centred, Triplet all-to-all and Triplet nearest.

The postsynaptic neuron is forced to spike at the chosen times (as
``tests/test_rules.py::test_pairing_protocol_window``): a spike generator fires one
step earlier onto a LIF neuron with a very fast, huge excitatory current
(``tau_syn_ex = 0.01 ms``, 1e7 pA), so the neuron spikes exactly at ``t_post``; the
plastic synapses target the inhibitory current receptor with weights of order 1 pA
and do not perturb these spike times (checked at every run: metric
``post_spike_time_error_ms``).

The measured quantity is the relative weight change after the protocol,
``(w_end - w0) / w0`` with ``w0 = 1`` (additive weight dependence with bounds
[0, 10], never reached), compared with the rule's analytic window times the number
of pairs (pairs 1 s apart interact through terms below 1e-9 of the window).

Choices (the paper leaves them open or they are not the paper's):
- Pair rules: tau+ = 16.8 ms, tau- = 33.7 ms (the exponential fit of Bi & Poo's data as
  quoted by Pfister & Gerstner 2006 and many implementations) and amplitudes
  ``A+ = fit_a_plus / n_pairs``, ``A- = fit_a_minus / n_pairs`` with the fit's
  amplitudes 0.777 and 0.273 (relative change after 60 pairs). **These amplitudes are
  UNVERIFIED** (shared/references.md section 5: recalled, not read in the paper), and
  dividing by the number of pairs assumes the pairs add linearly (true for this rule at
  1 Hz). The overlaid "Bi & Poo fit" is that same exponential, so the pair rules
  reproduce it by construction: the claim checked is that the *simulated network*
  gives the rule's window, with the fit's time constants.
- Triplet rules: Pfister & Gerstner 2006 hippocampal parameter sets (fitted to
  hippocampal culture data, the preparation of Bi & Poo), minimal models by default
  (``triplet_data``, ``triplet_model``). At 1 Hz the triplet terms are negligible
  (slow traces decay by exp(-1000/40) between pairs), so their window is the pair
  window with A2+ and A2- (which differ from the Bi & Poo fit: the tables report both).
- dt = 0.1 ms; the first pair at 100 ms + 100 ms margin.

Figure: ``plasticity plot RUN stdp-window`` draws the pair all-to-all window; the
module's :func:`figure` (``python experiments/bi_poo_1998.py --figure RUN.h5 OUT.png``)
draws all rules, the analytic windows and the Bi & Poo fit.
"""
import dataclasses
import math
import sys

import numpy as np

from plasticity import STDP, Additive, Network, Pair, SynapseMatrix, Triplet
from plasticity.config import field
from plasticity.neurons import LIF

#: the timing dependences measured (name -> (kind, interaction))
TIMINGS = {
    "pair-all-to-all": ("pair", "all-to-all"),
    "pair-nearest-symmetric": ("pair", "nearest-symmetric"),
    "pair-nearest-pre-centred": ("pair", "nearest-pre-centred"),
    "triplet-all-to-all": ("triplet", "all-to-all"),
    "triplet-nearest": ("triplet", "nearest"),
}


@dataclasses.dataclass
class Config:
    dt_min: float = field(-100.0, help="smallest t_post - t_pre (< 0)", units="ms",
                          multiple_of="dt")
    dt_max: float = field(100.0, help="largest t_post - t_pre (> 0)", units="ms",
                          multiple_of="dt")
    dt_step: float = field(5.0, help="spacing of the spike-time differences", units="ms",
                           gt=0.0, multiple_of="dt")
    n_pairs: int = field(60, help="pairs per protocol", min=1)
    pair_rate: float = field(1.0, help="pairing frequency", units="Hz", gt=0.0)
    dt: float = field(0.1, help="time step", units="ms", gt=0.0)
    tau_plus: float = field(16.8, help="Bi & Poo fit: potentiation time constant",
                            units="ms", gt=0.0)
    tau_minus: float = field(33.7, help="Bi & Poo fit: depression time constant",
                             units="ms", gt=0.0)
    fit_a_plus: float = field(0.777, help="Bi & Poo fit: relative potentiation after "
                              "n_pairs at delta_t -> 0+ (UNVERIFIED)", min=0.0)
    fit_a_minus: float = field(0.273, help="Bi & Poo fit: relative depression after "
                               "n_pairs at delta_t -> 0- (UNVERIFIED)", min=0.0)
    triplet_data: str = field("hippocampal", help="Pfister & Gerstner 2006 parameter set "
                              "of the triplet rules", choices=("hippocampal", "visual"))
    triplet_model: str = field("minimal", help="triplet model", choices=("minimal", "full"))

    def check(self):
        """The checks between keys (on the resolved config; see plasticity.experiments):
        the window's exponential fits need two spike-time differences on each side of
        0; the pairing protocol can run (:func:`check_pairing`)."""
        n_neg, n_pos = _signs(self)
        if n_neg < 2 or n_pos < 2:
            raise ValueError(
                f"config keys 'dt_min', 'dt_max', 'dt_step' must give at least two "
                f"spike-time differences below 0 and two above (the fits of tau- and "
                f"tau+), got dt_min = {self.dt_min}, dt_max = {self.dt_max}, dt_step = "
                f"{self.dt_step}: {n_neg} below and {n_pos} above")
        check_pairing("pair_rate", self.pair_rate, self.n_pairs, self.dt,
                      (self.dt_min, self.dt_max))


#: a quick run: every 10 ms from -60 to +60 ms
SMALL = {"dt_min": -60.0, "dt_max": 60.0, "dt_step": 10.0}


#: the pairing network's memory (:func:`pairing_memory`), measured as peak RSS on small
#: runs (tests/test_experiment_memory.py): per channel and pair (the spike trains of
#: the generators and the driver, their flat copies, the recorded post spikes), per
#: channel, and per channel and plastic projection
PAIR_BYTES, CHANNEL_BYTES, RULE_BYTES = 100.0, 200.0, 200.0


def pairing_memory(n_channels, n_pairs, n_rules):
    """Bytes the pairing network of ``n_channels`` channels of ``n_pairs`` pairs with
    ``n_rules`` plastic projections needs (an estimate; :func:`pairing_network`)."""
    return n_channels * (CHANNEL_BYTES + RULE_BYTES * n_rules + PAIR_BYTES * n_pairs)


def memory_estimate(config):
    """What a run needs in memory, by config key (``plasticity run`` checks it first):
    the pairing network, one channel per spike-time difference."""
    from plasticity._memory import named_after
    total = pairing_memory(n_delta_ts(config), config.n_pairs, len(TIMINGS))
    return named_after(config, total, grow=("n_pairs",), shrink=("dt_step",))


def n_delta_ts(config):
    """The number of spike-time differences (channels), without making them."""
    c = config
    return max(0, int(math.floor((c.dt_max - c.dt_min) / c.dt_step + 1e-9)) + 1)


def delta_ts(config):
    c = config
    return c.dt_min + c.dt_step * np.arange(n_delta_ts(c))


def _signs(config):
    """(how many spike-time differences are < 0, how many > 0); counted, not made,
    when there are too many to make (the memory estimate refuses those)."""
    c, n = config, n_delta_ts(config)
    if n <= 10 ** 6:
        d = delta_ts(c)
        return int(np.sum(d < 0)), int(np.sum(d > 0))
    k0 = -c.dt_min / c.dt_step                # the index of delta_t = 0
    n_neg = min(n, max(0, math.ceil(k0 - 1e-9)))
    zero = int(abs(k0 - round(k0)) < 1e-9 and 0 <= round(k0) < n)
    return n_neg, n - n_neg - zero


def make_timing(config, name):
    """The timing dependence ``name`` (a key of :data:`TIMINGS`) of the experiment."""
    c = config
    kind, interaction = TIMINGS[name]
    if kind == "pair":
        return Pair(c.tau_plus, c.tau_minus, c.fit_a_plus / c.n_pairs,
                    c.fit_a_minus / c.n_pairs, interaction)
    return Triplet.pfister_gerstner_2006(c.triplet_data, interaction, c.triplet_model)


def analytic_window(timing, dts, n_pairs=1):
    """The rule's change for ``n_pairs`` isolated pairs at ``dts`` (additive, w0-free).

    Pair: ``A+ exp(-dt/tau+)`` (dt >= 0), ``-A- exp(dt/tau-)`` (dt < 0). Triplet: the
    slow traces are zero for an isolated pair, so ``A2+ exp(-dt/tau+)`` and
    ``-A2- exp(dt/tau-)``. dt = 0 counts as pre-before-post (the engine applies the
    presynaptic update first, then the postsynaptic one sees the new pre trace).
    """
    d = np.asarray(dts, dtype=float)
    if isinstance(timing, Pair):
        w = timing.window(d)
    else:
        w = np.where(d >= 0, timing.a2_plus * np.exp(-np.maximum(d, 0.0) / timing.tau_plus),
                     -timing.a2_minus * np.exp(np.minimum(d, 0.0) / timing.tau_minus))
    return n_pairs * w


#: the refractory period (ms) of :func:`pairing_network`'s forced postsynaptic neurons
#: (``graupner_brunel_2012``'s too): requested spikes closer than it are lost
FORCED_T_REF = 0.5


def check_pairing(key, rate_hz, n_pairs, dt, delta_ts, t_ref=FORCED_T_REF):
    """Raise ValueError (naming config key ``key``) where a pairing protocol of
    ``n_pairs`` pairs at ``rate_hz`` with spike-time differences ``delta_ts`` cannot
    run as requested on a forced neuron of refractory period ``t_ref`` (ms) at step
    ``dt``: pairs closer than ``t_ref`` plus a step (two presynaptic spikes in one
    step, or postsynaptic ones lost: an infinite post spike time error after the
    whole run), or a protocol of more than 2**40 steps. Config.check calls it (of
    bi_poo_1998, pfister_gerstner_2006, graupner_brunel_2012, clopath_2010), before
    any work; these were found inside the run."""
    from plasticity.config import MAX_STEPS
    period = 1000.0 / rate_hz
    if not period > t_ref + dt:
        raise ValueError(
            f"config key {key!r}: pairs at {rate_hz:g} Hz are {period:.3g} ms apart; the "
            f"forced postsynaptic neuron spikes at most once per {t_ref:g} ms (its "
            f"refractory period) + one step (dt = {dt:g} ms): it must be < "
            f"{1000.0 / (t_ref + dt):.6g} Hz")
    d = max((abs(float(x)) for x in delta_ts), default=0.0)
    length = 100.0 + d + period * n_pairs + 300.0    # the runs' margins, at the most
    if not length / dt <= MAX_STEPS:
        raise ValueError(
            f"config key {key!r}: {n_pairs} pairs at {rate_hz:g} Hz with |delta_t| up "
            f"to {d:g} ms make a protocol of {length:.3g} ms, {length / dt:.3g} steps "
            f"of dt = {dt:g} ms; at most 2**40 steps are allowed")


def protocol_end(t_end, dt):
    """``t_end`` (ms) rounded up to whole steps of ``dt``: a pairing protocol's length
    at any pairing period (1000 / 30 Hz is not a multiple of 0.1 ms, and
    ``Network.run`` takes whole steps only). Shared by the pairing experiments."""
    return math.ceil(t_end / dt - 1e-6) * dt


def pairing_network(pre_times, post_times, rules, *, dt=0.1, w0=1.0, w_max=10.0, seed=0):
    """Run independent pre/post channels under several rules in one network.

    ``pre_times[k]`` and ``post_times[k]`` are the spike times (ms) of channel k;
    ``rules`` maps a name to a :class:`plasticity.STDP` rule (one plastic one-to-one
    projection per rule, weights ``w0``). The postsynaptic neurons are forced to spike
    at ``post_times``. Returns ``({name: final weights (n_channels,)},
    max |post spike time - requested|)``; ValueError where a neuron did not spike
    as often as requested (:func:`check_pairing`).
    """
    n = len(pre_times)
    net = Network(dt=dt, seed=seed)

    def flat(trains, shift=0.0):
        t = np.concatenate([np.asarray(x, float) + shift for x in trains])
        i = np.concatenate([np.full(len(x), k, dtype=np.int64) for k, x in enumerate(trains)])
        return t, i
    pre = net.add_spike_generator("pre", n, *flat(pre_times))
    driver = net.add_spike_generator("driver", n, *flat(post_times, -dt))
    post = net.add_population("post", n, LIF(t_ref=FORCED_T_REF, tau_syn_ex=0.01))
    net.connect(driver, post, SynapseMatrix.one_to_one(n, weight=1e7), "I_syn_ex",
                name="drive")
    projs = {}
    for k, (name, rule) in enumerate(rules.items()):
        projs[name] = net.connect(
            pre, post, SynapseMatrix.one_to_one(n, weight=w0, dtype=np.float64),
            "I_syn_in", rule=rule, name=f"plastic{k}")
    mon = net.monitor_spikes(post)
    t_end = max(max(np.max(p) for p in pre_times if len(p)),
                max(np.max(p) for p in post_times if len(p))) + 100.0
    net.run(protocol_end(t_end, dt))
    err = 0.0
    for k in range(n):
        got = np.sort(mon.times[mon.ids == k])
        want = np.sort(np.asarray(post_times[k], float))
        if got.size != want.size:     # check_pairing refuses configs that lead here
            raise ValueError(f"channel {k}: the forced postsynaptic neuron spiked "
                             f"{got.size} times, {want.size} requested (spikes closer "
                             f"than its refractory period, {FORCED_T_REF} ms, are lost)")
        if got.size:
            err = max(err, float(np.abs(got - want).max()))
    return {name: p.weights.copy() for name, p in projs.items()}, err


def protocol_times(dts, n_pairs, rate_hz, t0=None):
    """Pre and post spike trains of the pairing protocol, one channel per delta_t."""
    dts = np.asarray(dts, float)
    period = 1000.0 / rate_hz
    t0 = 100.0 + np.abs(dts).max() if t0 is None else t0
    base = t0 + period * np.arange(n_pairs)
    pre = [base - min(d, 0.0) for d in dts]
    post = [p + d for p, d in zip(pre, dts)]
    return pre, post


def bi_poo_fit(config, dts):
    """The exponential fit of Bi & Poo's data (relative change after the protocol)."""
    d = np.asarray(dts, float)
    c = config
    return np.where(d > 0, c.fit_a_plus * np.exp(-np.maximum(d, 0.0) / c.tau_plus),
                    np.where(d < 0, -c.fit_a_minus * np.exp(np.minimum(d, 0.0) / c.tau_minus),
                             np.nan))


def fit_time_constants(dts, dw):
    """Log-linear fits of the measured window: (tau+, tau-) in ms. A fit that the
    window leaves undefined is a :class:`plasticity.results.Undefined` saying why:
    fewer than two spike-time differences on its side with a change of its sign (no
    potentiation with ``fit_a_plus = 0``; a tau so far below ``dt_step`` that the
    change vanishes within one step), or a change that does not decay."""
    from plasticity.results import Undefined
    d, w = np.asarray(dts, float), np.asarray(dw, float)
    out = []
    for side, sel in (("potentiation at delta_t > 0", (d > 0) & (w > 0)),
                      ("depression at delta_t < 0", (d < 0) & (w < 0))):
        if sel.sum() < 2:
            out.append(Undefined(f"fewer than two spike-time differences with "
                                 f"{side} ({int(sel.sum())}): nothing to fit"))
            continue
        slope = np.polyfit(d[sel], np.log(np.abs(w[sel])), 1)[0]
        out.append(abs(1.0 / slope) if slope != 0 else
                   Undefined(f"the {side} does not decay with |delta_t|"))
    return tuple(out)


def run(config, recorder=None, seed=1):
    """Measure the windows; returns the headline metrics (and, without a recorder,
    the curves under ``"curves"``). A metric the config leaves undefined (a fit of no
    potentiation, an error relative to a window that is 0) is a
    :class:`plasticity.results.Undefined` saying why; the run is still complete."""
    from plasticity.results import Undefined
    c = config
    Config.check(c)
    dts = delta_ts(c)
    w0 = 1.0
    timings = {name: make_timing(c, name) for name in TIMINGS}
    rules = {name: STDP(t, Additive(0.0, 10.0)) for name, t in timings.items()}
    pre, post = protocol_times(dts, c.n_pairs, c.pair_rate)
    final, err = pairing_network(pre, post, rules, dt=c.dt, w0=w0, seed=seed)
    curves, metrics = {}, {"post_spike_time_error_ms": err}
    for name, timing in timings.items():
        measured = (final[name] - w0) / w0
        expected = analytic_window(timing, dts, c.n_pairs) / w0
        scale = np.abs(expected).max()
        curves[name] = (measured, expected)
        metrics[f"max_error/{name}"] = float(np.abs(measured - expected).max() / scale) \
            if scale > 0 else Undefined(f"the {name} rule's window is 0 at every "
                                        f"delta_t (no change to compare with)")
    tp, tm = fit_time_constants(dts, curves["pair-all-to-all"][0])
    metrics["fitted_tau_plus_ms"] = tp
    metrics["fitted_tau_minus_ms"] = tm
    fit = bi_poo_fit(c, dts)
    for name, (measured, _) in curves.items():
        for d in (10.0, -10.0):
            k = np.flatnonzero(np.isclose(dts, d))
            if k.size:
                metrics[f"dw_at_{d:+g}ms/{name}"] = float(measured[k[0]])
    for d in (10.0, -10.0):
        metrics[f"dw_at_{d:+g}ms/bi_poo_fit"] = float(bi_poo_fit(c, [d])[0])
    if recorder is not None:
        recorder.add_population("pre", "SpikeGeneratorGroup", dts.size,
                                {"delta_t_ms": dts})
        recorder.add_population("post", "LIF (forced)", dts.size, {})
        recorder.metric("stdp_window/dt", dts, units="ms")
        recorder.metric("stdp_window/dw", curves["pair-all-to-all"][0],
                        rule="pair-all-to-all", units="relative")
        recorder.metric("stdp_window/bi_poo_fit", fit, units="relative")
        for name, (measured, expected) in curves.items():
            recorder.metric(f"stdp_window/{name}/dw", measured, units="relative",
                            **{k: v for k, v in timings[name].parameters().items()})
            recorder.metric(f"stdp_window/{name}/analytic", expected, units="relative")
        return metrics
    metrics["dts"] = dts
    metrics["curves"] = curves
    metrics["bi_poo_fit"] = fit
    return metrics


def figure(source):
    """All measured windows (points), the analytic windows (lines) and the Bi & Poo fit.

    ``source``: a run file path or :class:`plasticity.results.Run`."""
    from matplotlib.figure import Figure

    from plasticity import results
    run_ = results.load(source) if isinstance(source, str) else source
    m = run_.metrics
    dts = np.asarray(m["stdp_window/dt"])
    fine = np.linspace(dts.min(), dts.max(), 801)
    cfg = Config(**{k: v for k, v in run_.config.items()
                    if k in {f.name for f in dataclasses.fields(Config)}})
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    a = fig.subplots()
    a.axhline(0, color="0.7", lw=0.8)
    a.axvline(0, color="0.7", lw=0.8)
    fit = bi_poo_fit(cfg, fine)
    a.plot(fine, fit, color="k", lw=2.5, alpha=0.35,
           label="Bi & Poo fit (tau 16.8/33.7 ms; amplitudes UNVERIFIED)")
    for k, name in enumerate(TIMINGS):
        col = f"C{k}"
        a.plot(fine, analytic_window(make_timing(cfg, name), fine, cfg.n_pairs), color=col,
               lw=0.8)
        a.plot(dts, np.asarray(m[f"stdp_window/{name}/dw"]), "os^Dv"[k], ms=7 - k,
               mfc="none" if k % 2 else col, color=col, label=f"{name} (measured)")
    a.set_xlabel(r"$\Delta t = t_{post} - t_{pre}$ (ms)")
    a.set_ylabel(r"$\Delta w / w_0$ after the protocol")
    a.set_title(f"pairing protocol: {cfg.n_pairs} pairs at {cfg.pair_rate:g} Hz")
    a.legend(fontsize="small")
    return fig


def main(argv=None):
    """The script's entry point: the options and rules of ``plasticity run``."""
    from plasticity.cli import script_main
    return script_main("bi_poo_1998", argv, figure=figure)


if __name__ == "__main__":
    sys.exit(main())
