"""Graupner & Brunel 2012: calcium-based plasticity with a bistable efficacy: STDP curves of two fits and the two stable states.

The rule is :func:`plasticity.rules.library.graupner_brunel_2012` (deterministic: the
paper's noise term is left out). Three parts, all on the engine:

1. **STDP curves, hippocampal cultures fit** (the set fitted to Wang et al. 2005):
   ``n_pairs_hippocampal`` (60) pre/post pairs at 1 Hz, ``delta_t = t_post - t_pre``
   from -100 to +100 ms.
2. **STDP curves, cortical slices fit, with its frequency dependence** (the set
   fitted to Sjöström et al. 2001): ``n_pairs_cortical`` (75) pairs at 1, 20, 30, 40,
   50 Hz (the paper's Fig. 4B; delta_t within +-half the period), and the +-10 ms
   points at Sjöström's frequencies 0.1, 10, 20, 40, 50 Hz beside the data.
3. **Bistability**: synapses started at rho in (0, 1) without any spike relax to
   DOWN (0) below rho_star and UP (1) above it; the simulated rho(t) is compared with
   the ODE solved by SciPy (rtol 1e-10). Control: rho_star = 1.5 (outside [0, 1])
   leaves a single stable state, DOWN.

Each (frequency, delta_t) is a channel: its own presynaptic spike generator and its
own postsynaptic neuron forced to spike at the chosen times (as ``bi_poo_1998``); the
plastic projection has one synapse per channel and per initial state (rho = 0 and
rho = 1), with the transmission delay D (the presynaptic calcium arrives D ms after the
spike; D is rounded to the step: 4.6098 -> 4.6 ms for the cortical set). One network
per (parameter set, frequency), run for exactly ``n_pairs / f`` after the first pair.

**The measured change** (deterministic): with a fraction ``beta`` of the synapses
initially DOWN (strength 1) and ``1 - beta`` UP (strength b), the mean strength at the
end of the protocol over its initial value,
``[beta (1 + (b-1) rho_end|0) + (1-beta) (1 + (b-1) rho_end|1)] / [beta + (1-beta) b]``.
This is the authors' readout (``synapticChange.py``: beta is the fraction initially
DOWN) with rho's mean in place of the transition probabilities. Also reported:
``after relaxation`` (each synapse ends UP iff rho_end > rho_star, part 3), a step
function of delta_t.

**The paper's curves** (:func:`paper_change`): the authors' analytic formula for the
noisy model (fraction of time the periodic calcium trace spends above theta_d and
theta_p, Gaussian approximation of rho, UP/DOWN transition probabilities with
sigma, erf), computed here from the published parameters; and its deterministic
part (the mean of rho, ``meanUP``/``meanDOWN``) which our simulation must match
up to the cubic term and the first pairs' calcium transient (the analytic formula
uses the periodic steady state).

Departures: no noise in the simulation (the paper's curves are from the noisy model:
the comparison is of shapes and crossing points); D on the step grid; Fig. 4B's 75
pairs at every frequency for the Sjöström points (Sjöström's protocol is 15 trains of
5 pairs; UNVERIFIED which one the paper used for Fig. 4A). The parameter values are
the authors' code's (UNVERIFIED against the paper's Table S1).
"""
import dataclasses
import math
import sys

import numpy as np

from plasticity import Network, SynapseMatrix
from plasticity.config import MAX_STEPS, field
from plasticity.neurons import LIF
from plasticity.rules.library import (GRAUPNER_BRUNEL_2012, graupner_brunel_2012,
                                      graupner_brunel_2012_max_dt)

try:  # as a package module (plasticity run) or loaded from its file (tests)
    from plasticity.experiments.bi_poo_1998 import (FORCED_T_REF, check_pairing,
                                                    protocol_end)
except ImportError:  # pragma: no cover
    from bi_poo_1998 import FORCED_T_REF, check_pairing, protocol_end

#: Sjöström et al. 2001 (via Pfister & Gerstner 2006, shared/references.md):
#: delta_t (ms) -> frequency (Hz) -> (mean, SEM) of Delta w / w0
SJOSTROM_2001 = {
    +10.0: {0.1: (-0.04, 0.05), 10.0: (0.14, 0.10), 20.0: (0.29, 0.14),
            40.0: (0.53, 0.11), 50.0: (0.56, 0.26)},
    -10.0: {0.1: (-0.29, 0.08), 10.0: (-0.41, 0.11), 20.0: (-0.34, 0.10),
            40.0: (0.56, 0.32), 50.0: (0.75, 0.19)},
}


@dataclasses.dataclass
class Config:
    dt: float = field(0.1, help="time step of the pairing protocols", units="ms", gt=0.0)
    dt_step: float = field(2.0, help="spacing of the spike-time differences", units="ms",
                           gt=0.0)
    dt_max: float = field(100.0, help="largest |t_post - t_pre| (each curve stops at "
                          "half its period; at most half the longest)", units="ms",
                          gt=0.0)
    n_pairs_hippocampal: int = field(60, help="pairs at 1 Hz, hippocampal cultures fit",
                                     min=1)
    n_pairs_cortical: int = field(75, help="pairs per frequency, cortical slices fit "
                                  "(Fig. 4B)", min=1)
    cortical_frequencies: list[float] = field([1.0, 20.0, 30.0, 40.0, 50.0],
                                              help="pairing frequencies of the cortical "
                                              "curves", units="Hz", gt=0.0)
    sjostrom_frequencies: list[float] = field([0.1, 10.0, 20.0, 40.0, 50.0],
                                              help="frequencies of the +-10 ms points "
                                              "beside Sjöström's data (empty: skip)",
                                              units="Hz", gt=0.0)
    bistability_dt: float = field(10.0, help="time step of the bistability run (no "
                                  "spikes)", units="ms", gt=0.0)
    bistability_taus: float = field(25.0, help="bistability run length, in units of the "
                                    "set's tau", gt=0.0)

    def check(self):
        """The checks between keys (on the resolved config; see plasticity.experiments):
        each set's bistability run lasts at least one step of bistability_dt; each
        pairing protocol can run (bi_poo_1998.check_pairing); dt_max reaches at least
        one curve; dt and bistability_dt keep the forward-Euler efficacy stable
        (graupner_brunel_2012_max_dt)."""
        curves = [f for _, f, _, kind in groups(self) if not kind]
        slowest = min(curves)
        # the curves stop at half the period (_half_grid): above half the longest one,
        # dt_max changed nothing and ran as that (1e30 was refused as a protocol of
        # 1e30 ms that no curve would make)
        if self.dt_max > 500.0 / slowest:
            raise ValueError(f"config key 'dt_max' must be <= half the longest pairing "
                             f"period ({500.0 / slowest:g} ms at {slowest:g} Hz), got "
                             f"{self.dt_max}")
        for pset, f, n_pairs, kind in groups(self):
            key = ("n_pairs_hippocampal" if pset == "hippocampal_cultures" else
                   "sjostrom_frequencies" if kind else "cortical_frequencies")
            check_pairing(key, f, n_pairs, self.dt, [self.dt_max, 10.0])
        for pset in SETS:
            length = self.bistability_taus * GRAUPNER_BRUNEL_2012[pset]["tau"]
            if round(length / self.bistability_dt) < 1:
                raise ValueError(
                    f"config keys 'bistability_taus' x tau of {pset!r} = {length:g} ms "
                    f"must be at least one step of 'bistability_dt' = "
                    f"{self.bistability_dt} ms (a run of no step)")
            if not length / self.bistability_dt <= MAX_STEPS:   # (found inside the run)
                raise ValueError(
                    f"config keys 'bistability_taus' x tau of {pset!r} = {length:g} ms "
                    f"is {length / self.bistability_dt:.3g} steps of 'bistability_dt' = "
                    f"{self.bistability_dt} ms; at most 2**40 steps are allowed")
            # rho integrates by forward Euler: a step within its stability bound, with
            # calcium (the pairings) and without (the bistability run)
            for key, step, calcium in (("dt", self.dt, True),
                                       ("bistability_dt", self.bistability_dt, False)):
                limit = graupner_brunel_2012_max_dt(GRAUPNER_BRUNEL_2012[pset], calcium)
                if step > limit:
                    raise ValueError(
                        f"config key {key!r} must be <= {limit:.6g} ms for {pset!r} (the "
                        f"efficacy rho integrates by forward Euler: tau / (max(rho_star, "
                        f"1 - rho_star){' + gamma_p + gamma_d' if calcium else ''}); a "
                        f"longer step overshoots its stable states), got {step}")


#: a quick run: 10 ms spacing, the Sjöström points without 0.1 Hz, shorter relaxation
SMALL = {"dt_step": 10.0, "sjostrom_frequencies": [10.0, 20.0, 40.0, 50.0],
         "bistability_taus": 20.0, "bistability_dt": 50.0}

SETS = ("hippocampal_cultures", "cortical_slices")


# ----------------------------------------------------------------------------
# the paper's analytic curves
# ----------------------------------------------------------------------------
def time_above(p, delta_t, freq_hz, n_grid=20000):
    """(alpha_d, alpha_p): fractions of time the periodic calcium trace of pairs at
    ``freq_hz`` with ``t_post - t_pre = delta_t`` spends above theta_d and theta_p
    (pre calcium D ms after the pre spike; the authors' ``spikePairFrequency``)."""
    T = 1000.0 / freq_hz
    t = (np.arange(n_grid) + 0.5) * (T / n_grid)
    g = 1.0 / (1.0 - math.exp(-T / p["tau_Ca"]))
    c = (p["C_pre"] * np.exp(-np.mod(t - p["D"], T) / p["tau_Ca"])
         + p["C_post"] * np.exp(-np.mod(t - delta_t, T) / p["tau_Ca"])) * g
    return float(np.mean(c > p["theta_d"])), float(np.mean(c > p["theta_p"]))


def paper_change(p, delta_ts, freq_hz, n_pairs):
    """The authors' analytic change in synaptic strength (noisy model, transition
    probabilities) and its deterministic part (mean rho) at ``delta_ts``:
    ``(noisy, mean)`` arrays."""
    T_total = n_pairs / freq_hz          # seconds (tau in seconds below)
    tau = p["tau"] / 1000.0
    beta, b, rs = p["beta"], p["b"], p["rho_star"]
    noisy, mean = [], []
    for d in np.atleast_1d(delta_ts):
        ad, ap = time_above(p, float(d), freq_hz)
        Gp, Gd = p["gamma_p"] * ap, p["gamma_d"] * ad
        if Gp + Gd == 0.0:
            noisy.append(1.0)
            mean.append(1.0)
            continue
        rbar = Gp / (Gp + Gd)
        s2 = (ap + ad) * p["sigma"] ** 2 / (Gp + Gd)
        tau_eff = tau / (Gp + Gd)
        e = math.exp(-T_total / tau_eff)
        den = math.sqrt(s2 * (1.0 - e * e))

        def x(r0):
            return -(rs - rbar + (rbar - r0) * e) / den
        up = (1.0 + math.erf(x(0.0))) / 2.0       # DOWN -> UP
        down = (1.0 - math.erf(x(1.0))) / 2.0     # UP -> DOWN
        noisy.append(((beta * (1 - up) + (1 - beta) * down)
                      + (beta * up + (1 - beta) * (1 - down)) * b) / (beta + (1 - beta) * b))
        m0, m1 = rbar * (1 - e), rbar - (rbar - 1.0) * e
        mean.append(strength_change(p, m0, m1))
    return np.array(noisy), np.array(mean)


def strength_change(p, rho_from_down, rho_from_up):
    """Mean strength after / before: a fraction beta starts DOWN (strength 1), the rest
    UP (strength b); strength 1 + (b - 1) rho."""
    beta, b = p["beta"], p["b"]
    after = beta * (1 + (b - 1) * np.asarray(rho_from_down)) + \
        (1 - beta) * (1 + (b - 1) * np.asarray(rho_from_up))
    return after / (beta + (1 - beta) * b)


def crossings(x, y, level=1.0):
    """x where y crosses ``level`` (linear interpolation), in increasing x."""
    x, y = np.asarray(x, float), np.asarray(y, float) - level
    out = []
    for k in range(len(x) - 1):
        if y[k] == 0.0:
            out.append(float(x[k]))
        elif y[k] * y[k + 1] < 0:
            out.append(float(x[k] - y[k] * (x[k + 1] - x[k]) / (y[k + 1] - y[k])))
    return out


# ----------------------------------------------------------------------------
# the simulations
# ----------------------------------------------------------------------------
def _half_grid(config, freq_hz):
    half = min(config.dt_max, 500.0 / freq_hz)
    return int(math.floor(half / config.dt_step + 1e-9))


def delta_grid(config, freq_hz):
    n = _half_grid(config, freq_hz)
    return config.dt_step * np.arange(-n, n + 1)


def groups(config):
    """The pairing networks of a run: [(parameter set, frequency, pairs, kind)]."""
    c = config
    out = [("hippocampal_cultures", 1.0, c.n_pairs_hippocampal, None)]
    out += [("cortical_slices", float(f), c.n_pairs_cortical, None)
            for f in c.cortical_frequencies]
    out += [("cortical_slices", float(f), c.n_pairs_cortical, "sjostrom")
            for f in c.sjostrom_frequencies]
    return out


def memory_estimate(config):
    """What a run needs in memory, by config key (``plasticity run`` checks it first):
    the largest of its pairing networks (one at a time; two channels per delta_t, as
    ``bi_poo_1998``'s network, and the plastic projection's spike history over the
    delay D, 12 B per channel and step of D)."""
    from plasticity._memory import named_after
    try:
        from plasticity.experiments.bi_poo_1998 import pairing_memory
    except ImportError:  # pragma: no cover - loaded from its file
        from bi_poo_1998 import pairing_memory
    c = config
    worst = 0.0
    for pset, f, n_pairs, kind in groups(c):
        n_ch = 2 * (2 if kind else 2 * _half_grid(c, f) + 1)
        delay_steps = GRAUPNER_BRUNEL_2012[pset]["D"] / c.dt
        worst = max(worst, pairing_memory(n_ch, n_pairs, 1)
                    + 12.0 * n_ch * (delay_steps + 2))
    return named_after(c, worst, grow=("n_pairs_hippocampal", "n_pairs_cortical",
                                       "dt_max", "cortical_frequencies",
                                       "sjostrom_frequencies"),
                       shrink=("dt_step", "dt"))


def pairing(parameter_set, delta_ts, freq_hz, n_pairs, dt=0.1, seed=0, **overrides):
    """Run the pairing protocol at ``delta_ts``: 2 channels per delta_t (a synapse
    started DOWN, rho0 = 0, and one started UP, rho0 = 1). Returns (rho_end from
    DOWN, rho_end from UP, max post spike time error, the rule's parameter dict)."""
    delta_ts = np.asarray(delta_ts, float)
    n = delta_ts.size
    period = 1000.0 / freq_hz
    t0 = 100.0 + max(0.0, float(np.abs(delta_ts).max()))
    base = t0 + period * np.arange(n_pairs)
    pre = [np.round((base - min(d, 0.0)) / dt) * dt for d in delta_ts] * 2
    post = [np.round((p + d) / dt) * dt for p, d in zip(pre, np.r_[delta_ts, delta_ts])]
    rule = graupner_brunel_2012(parameter_set, rho0=np.r_[np.zeros(n), np.ones(n)],
                                **overrides)
    d_steps = int(round(rule.delay / dt))

    def flat(trains, shift=0.0):
        t = np.concatenate([np.asarray(x, float) + shift for x in trains])
        i = np.concatenate([np.full(len(x), k, dtype=np.int64) for k, x in enumerate(trains)])
        return t, i
    net = Network(dt=dt, seed=seed)
    g_pre = net.add_spike_generator("pre", 2 * n, *flat(pre))
    driver = net.add_spike_generator("driver", 2 * n, *flat(post, -dt))
    neuron = net.add_population("post", 2 * n, LIF(t_ref=FORCED_T_REF, tau_syn_ex=0.01))
    net.connect(driver, neuron, SynapseMatrix.one_to_one(2 * n, weight=1e7), "I_syn_ex",
                name="drive")
    p = rule.params
    syn = SynapseMatrix.one_to_one(
        2 * n, weight=np.r_[np.full(n, p["w_down"]), np.full(n, p["w_up"])],
        dtype=np.float64, delay=d_steps)
    net.connect(g_pre, neuron, syn, "I_syn_in", rule=rule, name="plastic")
    mon = net.monitor_spikes(neuron)
    # whole steps: n_pairs periods of 1000 / f ms are not (75 at 30 Hz happen to be,
    # 1 was 'duration must be a multiple of dt' inside the run)
    net.run(protocol_end(t0 + n_pairs * period, dt))
    rho = rule["rho"].copy()
    err = 0.0
    for k in range(2 * n):
        got = np.sort(mon.times[mon.ids == k])
        if got.size != len(post[k]):   # check_pairing refuses configs that lead here
            raise ValueError(f"channel {k}: the forced postsynaptic neuron spiked "
                             f"{got.size} times, {len(post[k])} requested (spikes closer "
                             f"than its refractory period, {FORCED_T_REF} ms, are lost)")
        err = max(err, float(np.abs(got - np.sort(post[k])).max()))
    return rho[:n], rho[n:], err, rule.paper


def relax(parameter_set, rho0s, duration, dt, **overrides):
    """rho of unstimulated synapses started at ``rho0s``, sampled every 1 % of
    ``duration``: (times, rho (n_times, n))."""
    rho0s = np.asarray(rho0s, float)
    n = rho0s.size
    rule = graupner_brunel_2012(parameter_set, rho0=rho0s, **overrides)
    net = Network(dt=dt, seed=0)
    g = net.add_spike_generator("pre", n, np.zeros(0), np.zeros(0, dtype=np.int64))
    neuron = net.add_population("post", n, LIF())
    syn = SynapseMatrix.one_to_one(n, weight=rule.params["w_down"], dtype=np.float64)
    net.connect(g, neuron, syn, "I_syn_in", rule=rule, name="plastic")
    steps = int(round(duration / dt))
    n_chunks = 100
    chunk = max(1, steps // n_chunks)
    times, rows = [0.0], [rho0s.copy()]
    done = 0
    while done < steps:
        k = min(chunk, steps - done)
        net.run(k * dt)
        done += k
        times.append(done * dt)
        rows.append(rule["rho"].copy())
    return np.array(times), np.array(rows), rule.paper


def relax_reference(p, rho0s, times):
    """The same ODE solved by SciPy (rtol 1e-10, atol 1e-12)."""
    from scipy.integrate import solve_ivp

    def f(t, r):
        return -r * (1 - r) * (p["rho_star"] - r) / p["tau"]
    sol = solve_ivp(f, (0.0, float(times[-1])), np.asarray(rho0s, float), t_eval=times,
                    rtol=1e-10, atol=1e-12, method="DOP853")
    return sol.y.T


def bistability(config, parameter_set, rho_star=None):
    """Relaxation of rho from 0.05 ... 0.95 (0.5 excluded) without stimulation."""
    p = GRAUPNER_BRUNEL_2012[parameter_set]
    over = {} if rho_star is None else {"rho_star": rho_star}
    rho0s = np.round(np.r_[np.arange(0.05, 0.5, 0.1), np.arange(0.55, 1.0, 0.1)], 10)
    times, rows, par = relax(parameter_set, rho0s, config.bistability_taus * p["tau"],
                             config.bistability_dt, **over)
    ref = relax_reference(par, rho0s, times)
    final = rows[-1]
    rs = par["rho_star"]
    return dict(rho0=rho0s, times=times, rho=rows, reference=ref, final=final,
                max_error_vs_ode=float(np.abs(rows - ref).max()),
                two_states=bool(np.all(final[rho0s < rs] < 0.01)
                                and np.all(final[rho0s > rs] > 0.99)
                                and np.any(rho0s < rs) and np.any(rho0s > rs)))


def run(config, recorder=None, seed=1):
    """Run the three parts; returns the headline metrics (and, without a recorder,
    the curves under ``"curves"``)."""
    c = config
    metrics, curves = {}, {}
    err = 0.0
    for pset, f, n_pairs, kind in groups(c):
        dts = np.array([-10.0, 10.0]) if kind else delta_grid(c, f)
        r0, r1, e, p = pairing(pset, dts, f, n_pairs, dt=c.dt, seed=seed)
        err = max(err, e)
        ours = strength_change(p, r0, r1)
        relaxed = strength_change(p, (r0 > p["rho_star"]).astype(float),
                                  (r1 > p["rho_star"]).astype(float))
        noisy, mean = paper_change(p, dts, f, n_pairs)
        key = f"{pset}{'_sjostrom' if kind else ''}/{f:g}Hz"
        curves[key] = dict(dt=dts, ours=ours, relaxed=relaxed, paper=noisy,
                           paper_mean=mean, rho_from_down=r0, rho_from_up=r1)
        metrics[f"max_abs_diff_vs_paper_mean/{key}"] = float(np.abs(ours - mean).max())
        if not kind:
            for name, y in (("ours", ours), ("paper", noisy)):
                xs = crossings(dts, y)
                metrics[f"crossings_ms/{key}/{name}"] = xs
            metrics[f"min_change/{key}"] = float(ours.min())
            metrics[f"argmin_ms/{key}"] = float(dts[np.argmin(ours)])
            metrics[f"max_change/{key}"] = float(ours.max())
            metrics[f"argmax_ms/{key}"] = float(dts[np.argmax(ours)])
        for d in (-10.0, 10.0):
            k = np.flatnonzero(np.isclose(dts, d))
            if k.size:
                metrics[f"change_at_{d:+g}ms/{key}"] = float(ours[k[0]])
                metrics[f"paper_change_at_{d:+g}ms/{key}"] = float(noisy[k[0]])
    metrics["post_spike_time_error_ms"] = err
    bist = {}
    for pset in SETS:
        bist[pset] = bistability(c, pset)
        metrics[f"bistable/{pset}"] = bist[pset]["two_states"]
        metrics[f"bistability_max_error_vs_ode/{pset}"] = bist[pset]["max_error_vs_ode"]
    ctrl = bistability(c, "hippocampal_cultures", rho_star=1.5)
    metrics["bistable/control_rho_star_1.5"] = ctrl["two_states"]
    if recorder is None:
        metrics["curves"] = curves
        metrics["bistability"] = bist
        metrics["bistability_control"] = ctrl
        return metrics
    recorder.add_population("pre", "SpikeGeneratorGroup", 0, {})
    recorder.add_population("post", "LIF (forced)", 0, {})
    for key, cv in curves.items():
        for name, v in cv.items():
            recorder.metric(f"curves/{key}/{name}", np.asarray(v, float),
                            units="ms" if name == "dt" else "relative")
    for pset, b in list(bist.items()) + [("control_rho_star_1.5", ctrl)]:
        for name in ("rho0", "times", "rho", "reference", "final"):
            recorder.metric(f"bistability/{pset}/{name}", np.asarray(b[name], float),
                            **({"units": "ms"} if name == "times" else {}))
    for k, v in metrics.items():
        if isinstance(v, list):
            recorder.metric(k, np.asarray(v, float), units="ms")
        else:
            recorder.metric(k, v)
    return metrics


def figure(source):
    """Left: hippocampal cultures STDP curve (ours, the paper's formula and its mean).
    Middle: cortical slices curves at each frequency and the Sjöström points.
    Right: the relaxation of rho to the two states (and the control)."""
    from matplotlib.figure import Figure

    from plasticity import results
    run_ = results.load(source) if isinstance(source, str) else source
    m = run_.metrics
    fig = Figure(figsize=(14, 4.5), layout="constrained")
    a, b, cax = fig.subplots(1, 3)
    key = "hippocampal_cultures/1Hz"
    x = np.asarray(m[f"curves/{key}/dt"])
    a.plot(x, np.asarray(m[f"curves/{key}/paper"]), "k-", lw=2.5, alpha=0.35,
           label="paper's formula (noisy model)")
    a.plot(x, np.asarray(m[f"curves/{key}/paper_mean"]), "k--", lw=1,
           label="paper's formula, mean of rho")
    a.plot(x, np.asarray(m[f"curves/{key}/ours"]), "o", ms=3, color="C0",
           label="ours (deterministic, simulated)")
    a.axhline(1, color="0.7", lw=0.8)
    a.axvline(0, color="0.7", lw=0.8)
    a.set_title("hippocampal cultures fit: 60 pairs at 1 Hz")
    a.set_xlabel(r"$\Delta t$ (ms)")
    a.set_ylabel("change in synaptic strength")
    a.legend(fontsize="small")
    cfg = run_.config
    for k, f in enumerate(cfg["cortical_frequencies"]):
        key = f"cortical_slices/{float(f):g}Hz"
        x = np.asarray(m[f"curves/{key}/dt"])
        b.plot(x, np.asarray(m[f"curves/{key}/paper"]), "-", color=f"C{k}", lw=2.5,
               alpha=0.35)
        b.plot(x, np.asarray(m[f"curves/{key}/ours"]), "o-", ms=3, lw=0.8, color=f"C{k}",
               label=f"{float(f):g} Hz")
    b.axhline(1, color="0.7", lw=0.8)
    b.axvline(0, color="0.7", lw=0.8)
    b.set_xlim(-60, 60)
    b.set_title(f"cortical slices fit: {cfg['n_pairs_cortical']} pairs (lines: paper's "
                "formula)")
    b.set_xlabel(r"$\Delta t$ (ms)")
    b.legend(fontsize="small", title="ours")
    for pset, col in (("hippocampal_cultures", "C0"), ("cortical_slices", "C1"),
                      ("control_rho_star_1.5", "C3")):
        t = np.asarray(m[f"bistability/{pset}/times"]) / 1000.0
        rho = np.asarray(m[f"bistability/{pset}/rho"])
        ref = np.asarray(m[f"bistability/{pset}/reference"])
        cax.plot(t, ref, color="k", lw=2.5, alpha=0.2)
        cax.plot(t, rho, color=col, lw=1)
        cax.plot([], [], color=col, label=pset)
    cax.set_xscale("symlog", linthresh=10)
    cax.set_xlabel("time without stimulation (s)")
    cax.set_ylabel(r"$\rho$")
    cax.set_title("two stable states (grey: ODE by SciPy)")
    cax.legend(fontsize="small")
    return fig


def print_summary(run, file=None):
    file = file or sys.stdout
    m = run.metrics
    for k in sorted(m):
        if k.startswith(("crossings_ms", "change_at", "paper_change_at", "bistable",
                         "argmin", "argmax", "min_change", "max_change")):
            print(f"  {k}: {np.round(np.asarray(m[k], float), 3).tolist()}", file=file)


def main(argv=None):
    from plasticity.cli import script_main
    return script_main("graupner_brunel_2012", argv, figure=figure)


if __name__ == "__main__":
    sys.exit(main())
