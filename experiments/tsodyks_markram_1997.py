"""Tsodyks & Markram 1997: short-term depression and facilitation, exact against the model's recursion; STP and STDP on one synapse.

Three parts, one network each:

1. **Regular and irregular trains.** Every train drives its own synapse onto its own
   postsynaptic neuron (a conductance LIF that never fires: threshold above E_e),
   through :func:`plasticity.rules.tsodyks_markram_1997`, for a depressing synapse
   (U = 0.5, tau_d = 800 ms: the defaults of NEST's ``tsodyks2_synapse``, which cites
   TM 1997; the paper's fitted values UNVERIFIED) and a facilitating one (U = 0.03,
   tau_d = 130 ms, tau_f = 530 ms, the facilitating set of Tsodyks, Pawelzik &
   Markram 1998 / Markram et al. 1998: UNVERIFIED). Regular trains at ``rates``,
   Poisson trains at ``irregular_rates`` (``n_spikes`` spikes each, on the step grid).
   The amplitude of each response, ``A_n = w u_n x_n``, is read from the recorded
   conductance (``g_e[s+1] - exp(-dt/tau_e) g_e[s]`` around the spike's step s) and
   compared with the model's recursion in continuous time (:func:`recursion`):
   ``max_error_vs_recursion`` (relative, per amplitude).
2. **The paper's figures, qualitatively.** Depression: the steady-state amplitude of a
   regular train falls as 1/rate above the limiting frequency ``1 / (U tau_d)``
   (TM 1997): ``A_ss * rate`` at the rates >= 4 lambda_lim lies within 20 % of its
   limit ``w / tau_d`` (-16 % at 10 Hz, -9 % at 20 Hz, -2 % at 100 Hz), while below
   lambda_lim / 2 the amplitude stays within 25 % of ``w U`` (rate-independent). Facilitation: the 70 Hz train's responses grow, peak
   and then depress (TPM 1998); the depressing synapse's largest response is its
   first. (With these parameters trains up to ~40 Hz only grow towards their
   steady state; the peak-then-decline needs >= 50 Hz: the figure's rate is a
   choice, ``facilitation_rate``.)
3. **STP and STDP on the same synapse** (:func:`stp_stdp_rule`, one EquationRule: the
   Tsodyks-Markram delivery ``w u x`` and all-to-all pair STDP on ``w``): Poisson
   inputs onto one conductance LIF neuron that fires; the run reports how far STDP
   moved ``w`` while STP scaled each delivery (the engine's numbers for this rule are
   held to the NumPy interpreter and to Brian2 2.9 in tests/test_tsodyks_markram_1997.py).

Choices: dt = 0.1 ms; w = 1 (amplitudes in units of w, i.e. conductance jumps in
units of g_leak); the postsynaptic conductance decays with tau_e = 5 ms; the trains
start at 100 ms. The recursion of part 1 uses the spike times on the step grid (the
engine's), so it tests the rule's arithmetic, not the time discretisation.
"""
import dataclasses
import math
import sys

import numpy as np

from plasticity import STDP, Additive, Network, Pair, SynapseMatrix  # noqa: F401
from plasticity._validation import check_rate_per_step
from plasticity.config import field
from plasticity.experiments._common import check_models
from plasticity.neurons import LIFCond
from plasticity.rules import EquationRule, tsodyks_markram_1997

SYNAPSES = ("depression", "facilitation")


@dataclasses.dataclass
class Config:
    dt: float = field(0.1, help="time step", units="ms", gt=0.0)
    U_dep: float = field(0.5, help="depressing synapse: U", gt=0.0, max=1.0)
    tau_d_dep: float = field(800.0, help="depressing synapse: recovery time constant",
                             units="ms", gt=0.0)
    U_fac: float = field(0.03, help="facilitating synapse: U", gt=0.0, max=1.0)
    tau_d_fac: float = field(130.0, help="facilitating synapse: recovery time constant",
                             units="ms", gt=0.0)
    tau_f_fac: float = field(530.0, help="facilitating synapse: facilitation time "
                             "constant", units="ms", gt=0.0)
    rates: list[float] = field([1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 70.0, 100.0],
                               help="regular train rates", units="Hz", gt=0.0)
    irregular_rates: list[float] = field([5.0, 20.0, 50.0], help="Poisson train rates",
                                         units="Hz", gt=0.0)
    n_spikes: int = field(30, help="spikes per train", min=2)
    facilitation_rate: float = field(70.0, help="rate of the facilitation figure's "
                                     "train (one of rates)", units="Hz", gt=0.0)
    tau_e: float = field(5.0, help="postsynaptic conductance time constant", units="ms",
                         gt=0.0)
    # part 3: STP + STDP
    stdp_inputs: int = field(200, help="Poisson inputs of the STP+STDP neuron", min=1)
    stdp_rate: float = field(20.0, help="their rate", units="Hz", min=0.0)
    stdp_duration: float = field(20_000.0, help="STP+STDP simulated time", units="ms",
                                 min=0.0, multiple_of="dt")
    stdp_w0: float = field(0.5, help="initial weights (units of g_leak)", min=0.0)
    stdp_w_max: float = field(1.0, help="STDP upper bound", gt=0.0)
    stdp_a_plus: float = field(5e-3, help="STDP potentiation amplitude", min=0.0)
    stdp_a_minus: float = field(5.25e-3, help="STDP depression amplitude", min=0.0)
    stdp_tau: float = field(20.0, help="STDP trace time constants", units="ms", gt=0.0)

    def check(self):
        """The checks between keys (on the resolved config; see plasticity.experiments)."""
        if self.facilitation_rate not in self.rates:
            raise ValueError(f"config key 'facilitation_rate' must be one of rates "
                             f"{self.rates}, got {self.facilitation_rate}")
        if self.stdp_w0 > self.stdp_w_max:   # (the run started outside the bounds)
            raise ValueError(f"config key 'stdp_w0' must be <= stdp_w_max "
                             f"({self.stdp_w_max}), got {self.stdp_w0}")
        # at most one input spike per step (the Poisson source's check, inside the run);
        # the trains of part 1 likewise (their spikes on the step grid: a train above
        # 1000 / dt ran as one spike per step under its label)
        check_models("the inputs", lambda: Network(dt=self.dt).add_poisson(
            "stdp_rate", 1, self.stdp_rate), *(
            lambda k=k: check_rate_per_step(f"rates of {k!r}", getattr(self, k), self.dt,
                                            element="item")
            for k in ("rates", "irregular_rates")))


#: a quick run (the tests use it)
SMALL = {"rates": [1.0, 5.0, 20.0, 70.0, 100.0], "n_spikes": 25,
         "stdp_duration": 5000.0}


#: part 1: bytes per spike of a train (the sampled conductances around each spike,
#: kept in dicts, and the recursion); part 3: bytes per Poisson input (source,
#: synapse, rule state). Measured ~480 B and ~150 B (tests/test_experiment_memory.py)
SPIKE_BYTES, INPUT_BYTES = 500.0, 160.0


def memory_estimate(config):
    """What a run needs in memory, by config key (``plasticity run`` checks it first):
    the larger of part 1 (the trains) and part 3 (the STP+STDP inputs), which run one
    after the other."""
    from plasticity._memory import named_after
    c = config
    part1 = SPIKE_BYTES * c.n_spikes * (len(c.rates) + len(c.irregular_rates))
    part3 = INPUT_BYTES * c.stdp_inputs
    if part3 > part1:
        return {"stdp_inputs": (c.stdp_inputs, part3)}
    return named_after(c, part1, grow=("n_spikes", "rates", "irregular_rates"))


def synapse_params(c, kind):
    if kind == "depression":
        return dict(U=c.U_dep, tau_d=c.tau_d_dep, tau_f=None)
    return dict(U=c.U_fac, tau_d=c.tau_d_fac, tau_f=c.tau_f_fac)


def recursion(times, U, tau_d, tau_f=None, w=1.0):
    """Amplitudes ``A_n = w u_n x_n`` of the Tsodyks-Markram model for spikes at
    ``times`` (ms), in continuous time: x recovers to 1 with tau_d; u decays to 0 with
    tau_f and jumps by U (1 - u) before use (u = U without tau_f)."""
    A = np.zeros(len(times))
    x, u, last = 1.0, 0.0, None
    for n, t in enumerate(times):
        if last is not None:
            d = t - last
            x = 1.0 + (x - 1.0) * math.exp(-d / tau_d)
            u = u * math.exp(-d / tau_f) if tau_f is not None else 0.0
        u = u + U * (1.0 - u) if tau_f is not None else U
        A[n] = w * u * x
        x -= u * x
        last = t
    return A


def trains(c, rng):
    """[(label, kind, rate, spike steps)] of part 1."""
    start = int(round(100.0 / c.dt))
    out = []
    for r in c.rates:
        isi = 1000.0 / r / c.dt
        steps = start + np.round(isi * np.arange(c.n_spikes)).astype(np.int64)
        out.append((f"regular {r:g} Hz", "regular", float(r), steps))
    for r in c.irregular_rates:
        isi = rng.exponential(1000.0 / r / c.dt, c.n_spikes)
        steps = start + np.cumsum(np.maximum(1, np.round(isi))).astype(np.int64)
        out.append((f"Poisson {r:g} Hz", "poisson", float(r), steps))
    return out


def measure_amplitudes(c, kind, steps_list):
    """The engine's amplitudes for each train through one synapse of ``kind``."""
    n = len(steps_list)
    net = Network(dt=c.dt, seed=0)
    ids = np.concatenate([np.full(s.size, j) for j, s in enumerate(steps_list)])
    times = np.concatenate(steps_list) * c.dt
    src = net.add_spike_generator("pre", n, times, ids)
    post = net.add_population("post", n, LIFCond(V_th=100.0, tau_e=c.tau_e))
    rule = tsodyks_markram_1997(**synapse_params(c, kind))
    net.connect(src, post, SynapseMatrix.one_to_one(n, weight=1.0, dtype=np.float64),
                "g_e", rule=rule, name=kind)
    need = [np.union1d(s, s + 1) for s in steps_list]
    got = [dict() for _ in range(n)]

    def sink(t, values):
        k = np.round(t / c.dt).astype(np.int64)
        g = values["g_e"]
        for j in range(n):
            m = np.isin(k, need[j])
            got[j].update(zip(k[m].tolist(), g[m, j].tolist()))
    net.monitor_state(post, ["g_e"], sink=sink)
    net.run((max(s.max() for s in steps_list) + 2) * c.dt, progress=False)
    P = math.exp(-c.dt / c.tau_e)
    return [np.array([got[j][s + 1] - P * got[j][s] for s in steps_list[j]])
            for j in range(n)]


def stp_stdp_rule(U=0.5, tau_d=800.0, tau_f=None, a_plus=5e-3, a_minus=5.25e-3,
                  tau_plus=20.0, tau_minus=20.0, w_min=0.0, w_max=1.0, receptor="g_e",
                  backend="compiled"):
    """Tsodyks-Markram short-term plasticity and all-to-all pair STDP on one synapse,
    one EquationRule: STP scales each delivery (``w u x``), STDP changes ``w``
    (additive, clipped to [w_min, w_max]). Without ``tau_f``, u = U at every spike."""
    facil = tau_f is not None
    return EquationRule(
        model=("""
        dx/dt = (1 - x) / tau_d : 1 (event-driven)
        dApre/dt = -Apre / tau_plus : 1 (event-driven)
        dApost/dt = -Apost / tau_minus : 1 (event-driven)
        """ + ("du/dt = -u / tau_f : 1 (event-driven)" if facil else "u : 1")),
        on_pre=("u += U * (1 - u)" if facil else "u = U") + f"""
        {receptor} += w * u * x
        x -= u * x
        Apre += 1
        w = clip(w - a_minus * Apost, w_min, w_max)
        """,
        on_post="""
        Apost += 1
        w = clip(w + a_plus * Apre, w_min, w_max)
        """,
        params=dict(U=U, tau_d=tau_d, a_plus=a_plus, a_minus=a_minus, tau_plus=tau_plus,
                    tau_minus=tau_minus, w_min=w_min, w_max=w_max,
                    **({"tau_f": tau_f} if facil else {})),
        init={"x": 1.0}, name="tsodyks_markram_stdp", backend=backend)


def stp_stdp_network(c, seed, backend="compiled", kind="depression", duration=None):
    """Part 3: Poisson inputs onto one firing conductance LIF through
    :func:`stp_stdp_rule`; returns (network, projection, output spike monitor)."""
    net = Network(dt=c.dt, seed=seed)
    inp = net.add_poisson("inputs", c.stdp_inputs, c.stdp_rate)
    post = net.add_population("neuron", 1, LIFCond(tau_e=c.tau_e, t_ref=0.0))
    p = synapse_params(c, kind)
    rule = stp_stdp_rule(p["U"], p["tau_d"], p["tau_f"], c.stdp_a_plus, c.stdp_a_minus,
                         c.stdp_tau, c.stdp_tau, 0.0, c.stdp_w_max, backend=backend)
    syn = SynapseMatrix.all_to_all(c.stdp_inputs, 1, weight=c.stdp_w0, dtype=np.float64)
    proj = net.connect(inp, post, syn, "g_e", rule=rule, name="stp_stdp")
    mon = net.monitor_spikes(post)
    return net, proj, mon


def run(config, recorder=None, seed=1):
    """Run the three parts; returns the headline metrics. A figure's number that the
    rates leave undefined (no rate far enough above or below the limiting frequency)
    is a :class:`plasticity.results.Undefined` saying why; the run is complete."""
    from plasticity.results import Undefined
    c = config
    if recorder is not None:
        seed = recorder.seed
    Config.check(c)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    tr = trains(c, rng)
    steps = [s for *_, s in tr]
    metrics = {}
    amps, refs = {}, {}
    worst = 0.0
    for kind in SYNAPSES:
        got = measure_amplitudes(c, kind, steps)
        p = synapse_params(c, kind)
        ref = [recursion(s * c.dt, **p) for s in steps]
        for a, b in zip(got, ref):
            worst = max(worst, float(np.max(np.abs(a - b) / np.abs(b))))
        amps[kind], refs[kind] = got, ref
    metrics["max_error_vs_recursion"] = worst
    # the figures
    reg = [k for k, (_, how, *_) in enumerate(tr) if how == "regular"]
    rates = np.array([tr[k][2] for k in reg])
    a_ss = {kind: np.array([amps[kind][k][-1] for k in reg]) for kind in SYNAPSES}
    lam = 1000.0 / (c.U_dep * c.tau_d_dep)          # limiting frequency (Hz)
    limit = 1000.0 / c.tau_d_dep                    # A_ss * rate at high rates (w/s)
    high, low = rates >= 4 * lam, rates <= lam / 2
    ar = a_ss["depression"] * rates
    metrics["limiting_frequency_hz"] = lam
    metrics["dep_ss_times_rate_max_dev_high"] = (
        float(np.max(np.abs(ar[high] / limit - 1))) if high.any() else Undefined(
            f"no regular rate at or above 4 x the limiting frequency "
            f"({4 * lam:g} Hz) in rates {list(c.rates)}"))
    metrics["dep_ss_over_U_max_dev_low"] = (
        float(np.max(np.abs(a_ss["depression"][low] / c.U_dep - 1))) if low.any()
        else Undefined(f"no regular rate at or below half the limiting frequency "
                       f"({lam / 2:g} Hz) in rates {list(c.rates)}"))
    k20 = reg[int(np.argmin(np.abs(rates - c.facilitation_rate)))]
    for kind in SYNAPSES:
        a = amps[kind][k20]
        metrics[f"{kind}_peak_index"] = int(np.argmax(a))
        metrics[f"{kind}_peak_over_first"] = float(a.max() / a[0])
        metrics[f"{kind}_last_over_peak"] = float(a[-1] / a.max())
    # part 3
    net, proj, mon = stp_stdp_network(c, seed)
    w0 = proj.weights.copy()
    net.run(c.stdp_duration, progress=False)
    w = proj.weights
    metrics["stdp_output_rate_hz"] = mon.times.size / (c.stdp_duration * 1e-3) \
        if c.stdp_duration > 0 else 0.0
    metrics["stdp_mean_abs_weight_change"] = float(np.mean(np.abs(w - w0)))
    metrics["stdp_final_x_mean"] = float(np.mean(proj.rule["x"]))
    if recorder is None:
        metrics.update(trains=tr, amplitudes=amps, recursion=refs, rates=rates,
                       a_ss=a_ss, stdp_weights=w.copy())
        return metrics
    recorder.add_population("pre", "SpikeGeneratorGroup", len(tr),
                            {"rate_hz": np.array([r for _, _, r, _ in tr]),
                             "regular": np.array([h == "regular" for _, h, _, _ in tr])})
    recorder.add_population("post", "LIFCond (no spikes)", len(tr), {"tau_e": c.tau_e})
    recorder.append_spikes("pre", np.concatenate(steps) * c.dt,
                           np.concatenate([np.full(s.size, j) for j, s in enumerate(steps)]))
    recorder.set_t_stop("pre", (max(s.max() for s in steps) + 2) * c.dt)
    recorder.metric("regular_rates", rates, units="Hz")
    recorder.metric("train_labels", np.array([lab for lab, *_ in tr], dtype="S"))
    for kind in SYNAPSES:
        recorder.metric(f"steady_state/{kind}", a_ss[kind], units="w")
        for j, (lab, *_rest) in enumerate(tr):
            recorder.metric(f"amplitudes/{kind}/{j}", amps[kind][j], units="w", label=lab)
            recorder.metric(f"recursion/{kind}/{j}", refs[kind][j], units="w", label=lab)
    syn = proj.synapses
    recorder.add_population("stdp_inputs", "PoissonGroup", c.stdp_inputs,
                            {"rate_hz": c.stdp_rate})
    recorder.add_population("stdp_neuron", "LIFCond", 1, proj.post.model.parameters())
    recorder.set_synapses("stp_stdp", syn.indptr, syn.indices, syn.weights, syn.shape,
                          "stdp_inputs", "stdp_neuron", "tsodyks_markram_stdp",
                          dict(proj.rule.params))
    recorder.headline(metrics)
    return metrics


def figure(source):
    """Left: steady-state amplitude vs rate (depression, with the 1/rate asymptote);
    middle: the facilitation train's responses and the depressing one's; right: one
    Poisson train's amplitudes, engine vs recursion. ``source``: a run file or Run."""
    from matplotlib.figure import Figure

    from plasticity import results
    run_ = results.load(source) if isinstance(source, str) else source
    m, cfg = run_.metrics, run_.config
    rates = np.asarray(m["regular_rates"])
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    a, b, d = fig.subplots(1, 3)
    a.loglog(rates, np.asarray(m["steady_state/depression"]), "ko-", label="depressing")
    a.loglog(rates, np.asarray(m["steady_state/facilitation"]), "s-", color="C1",
             mfc="w", label="facilitating")
    a.loglog(rates, 1000.0 / cfg["tau_d_dep"] / rates, "--", color="0.5",
             label=r"$w/(\tau_d\,r)$")
    a.set_xlabel("rate (Hz)")
    a.set_ylabel(r"steady-state amplitude ($w$)")
    a.legend(fontsize="small")
    labels = [s.decode() if isinstance(s, bytes) else str(s)
              for s in np.asarray(m["train_labels"])]
    j = labels.index(f"regular {cfg['facilitation_rate']:g} Hz")
    for kind, col in (("facilitation", "C1"), ("depression", "k")):
        y = np.asarray(m[f"amplitudes/{kind}/{j}"])
        b.plot(np.arange(1, y.size + 1), y / y[0], ".-", color=col, label=kind)
    b.set_xlabel("spike number")
    b.set_ylabel(r"$A_n / A_1$")
    b.set_title(labels[j])
    b.legend()
    jp = [k for k, s in enumerate(labels) if s.startswith("Poisson")]
    if jp:
        k = jp[-1]
        for kind, col in (("depression", "k"), ("facilitation", "C1")):
            y = np.asarray(m[f"amplitudes/{kind}/{k}"])
            r = np.asarray(m[f"recursion/{kind}/{k}"])
            d.plot(y, "o", color=col, mfc="w", label=f"{kind}: engine")
            d.plot(r, "-", color=col, label=f"{kind}: recursion")
        d.set_title(f"{labels[k]} (max rel. error "
                    f"{float(m['max_error_vs_recursion']):.1e})")
        d.set_xlabel("spike number")
        d.set_ylabel(r"amplitude ($w$)")
        d.legend(fontsize="x-small")
    return fig


def print_summary(run, file=None):
    file = file or sys.stdout
    m = run.metrics
    print(f"Tsodyks-Markram: engine vs recursion max relative error "
          f"{float(m['max_error_vs_recursion']):.1e}; depression A_ss*rate within "
          f"{100 * float(m['dep_ss_times_rate_max_dev_high']):.1f}% of w/tau_d above "
          f"4x the limiting frequency; facilitation peaks at spike "
          f"{int(m['facilitation_peak_index']) + 1} "
          f"({float(m['facilitation_peak_over_first']):.2f}x the first)", file=file)


def main(argv=None):
    """The script's entry point: the options and rules of ``plasticity run``."""
    from plasticity.cli import script_main
    return script_main("tsodyks_markram_1997", argv, figure=figure)


if __name__ == "__main__":
    sys.exit(main())
