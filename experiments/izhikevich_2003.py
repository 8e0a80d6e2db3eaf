"""Izhikevich 2003/2004: the 20 firing patterns of "Which model to use for cortical spiking neurons?" (Fig. 1) with the simple model.

Each pattern is its own one-neuron network of :class:`plasticity.neurons.Izhikevich`
with the published parameters (a, b, c, d, initial V), time step and input current of
Izhikevich's ``figure1.m`` (table in shared/references.md section 2). The input
current is sampled at every step exactly as ``figure1.m`` evaluates it (the value at
the start of a step drives that step), and injected with
``Network.add_current(..., interpolation="previous")`` into ``I_ext`` (model units,
C = 1).

Differences from ``figure1.m``, and what is done about them:

- Integration order: ``figure1.m`` updates V first and then u with the *new* V; the
  library's forward Euler takes both right-hand sides from the old values. The traces
  differ by O(dt); every pattern keeps its signature. :func:`figure1_m` is a plain
  NumPy transcription of ``figure1.m``'s loop, and the run file records the spike
  count of both (metrics ``n_spikes/<pattern>`` and ``n_spikes_figure1m/<pattern>``).
- G (Class 1) and L (integrator) use ``0.04 V^2 + 4.1 V + 108``: ``k2 = 4.1,
  k3 = 108``.
- R (accommodation) uses ``du/dt = a b (V + 65)`` (no -u term) and u0 = -16; not the
  library's ``a (b V - u)``. Variant used (exact up to a 1e-9 leak): the voltage
  shifted by +65 mV, ``v' = V + 65``, gives ``dv'/dt = 0.04 v'^2 - 0.2 v' - 16 - u + I``
  (k2 = -0.2, k3 = -16, c' = -55 + 65 = 10, v_peak' = 95, v0' = 0), and
  ``du/dt = a' (b' v' - u)`` with ``a' = 1e-9`` and ``a' b' = a b = 0.02`` (the -a' u
  term changes u by < 1e-5 over the 400 ms); u starts at -16 through ``init``. The
  trace is shifted back by -65 mV for the figure.
- S and T (inhibition-induced spiking and bursting) have a < 0 (-0.02, -0.026), which
  ``Izhikevich`` rejects (it requires a > 0). The kernel itself has no such
  restriction, so the model is built with |a| and its parameter is then set to the
  published negative value (:func:`make_model`; reported to the lead: the check
  should be ``check_finite``).

Outputs: ``/state/<pattern>/v`` and ``/state/<pattern>/I`` (every step), the spikes of
each pattern as population ``<pattern>``, and metrics per pattern (spike count, first
spike time, ISIs) -- the test checks each pattern's signature (bursts, latency,
adaptation, rebound, bistability, ...), not exact spike times. The 20-panel figure:
``python experiments/izhikevich_2003.py --figure RUN.h5 OUT.png`` (:func:`figure`).
"""
import dataclasses
import sys

import numpy as np

from plasticity import Network
from plasticity.config import field
from plasticity.neurons import Izhikevich


def _pulses(t, starts, width, amp, base=0.0):
    on = np.zeros_like(t, dtype=bool)
    for s in starts:
        on |= (t > s) & (t < s + width)
    return np.where(on, amp, base)


def _accommodation(t):
    return np.where(t < 200, t / 25.0, np.where(t < 300, 0.0, np.where(
        t < 312.5, (t - 300.0) / 12.5 * 4.0, 0.0)))


#: letter -> (name, a, b, c, d, V0, tau (ms), T (ms), I(t)); figure1.m, references.md §2
PATTERNS = {
    "A": ("tonic spiking", 0.02, 0.2, -65, 6, -70, 0.25, 100,
          lambda t: np.where(t > 10.0, 14.0, 0.0)),
    "B": ("phasic spiking", 0.02, 0.25, -65, 6, -64, 0.25, 200,
          lambda t: np.where(t > 20.0, 0.5, 0.0)),
    "C": ("tonic bursting", 0.02, 0.2, -50, 2, -70, 0.25, 220,
          lambda t: np.where(t > 22.0, 15.0, 0.0)),
    "D": ("phasic bursting", 0.02, 0.25, -55, 0.05, -64, 0.2, 200,
          lambda t: np.where(t > 20.0, 0.6, 0.0)),
    "E": ("mixed mode", 0.02, 0.2, -55, 4, -70, 0.25, 160,
          lambda t: np.where(t > 16.0, 10.0, 0.0)),
    "F": ("spike frequency adaptation", 0.01, 0.2, -65, 8, -70, 0.25, 85,
          lambda t: np.where(t > 8.5, 30.0, 0.0)),
    "G": ("Class 1 excitable", 0.02, -0.1, -55, 6, -60, 0.25, 300,
          lambda t: np.where(t > 30.0, 0.075 * (t - 30.0), 0.0)),
    "H": ("Class 2 excitable", 0.2, 0.26, -65, 0, -64, 0.25, 300,
          lambda t: np.where(t > 30.0, -0.5 + 0.015 * (t - 30.0), -0.5)),
    "I": ("spike latency", 0.02, 0.2, -65, 6, -70, 0.2, 100,
          lambda t: _pulses(t, [10.0], 3.0, 7.04)),
    "J": ("subthreshold oscillations", 0.05, 0.26, -60, 0, -62, 0.25, 200,
          lambda t: _pulses(t, [20.0], 5.0, 2.0)),
    "K": ("resonator", 0.1, 0.26, -60, -1, -62, 0.25, 400,
          lambda t: _pulses(t, [40.0, 60.0, 280.0, 320.0], 4.0, 0.65)),
    "L": ("integrator", 0.02, -0.1, -55, 6, -60, 0.25, 100,
          lambda t: _pulses(t, [100 / 11, 100 / 11 + 5, 70.0, 80.0], 2.0, 9.0)),
    "M": ("rebound spike", 0.03, 0.25, -60, 4, -64, 0.2, 200,
          lambda t: _pulses(t, [20.0], 5.0, -15.0)),
    "N": ("rebound burst", 0.03, 0.25, -52, 0, -64, 0.2, 200,
          lambda t: _pulses(t, [20.0], 5.0, -15.0)),
    "O": ("threshold variability", 0.03, 0.25, -60, 4, -64, 0.25, 100,
          lambda t: _pulses(t, [10.0, 80.0], 5.0, 1.0) + _pulses(t, [70.0], 5.0, -6.0)),
    "P": ("bistability", 0.1, 0.26, -60, 0, -61, 0.25, 300,
          lambda t: _pulses(t, [37.5, 216.0], 5.0, 1.24, 0.24)),
    "Q": ("depolarizing after-potential", 1.0, 0.2, -60, -21, -70, 0.1, 50,
          lambda t: np.where(np.abs(t - 10.0) < 1.0, 20.0, 0.0)),
    "R": ("accommodation", 0.02, 1.0, -55, 4, -65, 0.5, 400, _accommodation),
    "S": ("inhibition-induced spiking", -0.02, -1.0, -60, 8, -63.8, 0.5, 350,
          lambda t: np.where((t < 50) | (t > 250), 80.0, 75.0)),
    "T": ("inhibition-induced bursting", -0.026, -1.0, -45, -2, -63.8, 0.5, 350,
          lambda t: np.where((t < 50) | (t > 250), 80.0, 75.0)),
}
#: quadratic coefficients (k1, k2, k3) where they are not (0.04, 5, 140)
K_OVERRIDE = {"G": (0.04, 4.1, 108.0), "L": (0.04, 4.1, 108.0)}


@dataclasses.dataclass
class Config:
    patterns: str = field("ABCDEFGHIJKLMNOPQRST", help="letters of the patterns to run")
    dt_scale: float = field(1.0, help="time step = figure1.m's step x dt_scale", gt=0.0,
                            max=1.0)

    def check(self):
        """The checks between keys (on the resolved config; see plasticity.experiments)."""
        bad = [x for x in self.patterns if x not in PATTERNS]
        if not self.patterns:      # (it ran nothing and completed)
            raise ValueError(f"config key 'patterns' must be at least one letter of "
                             f"{''.join(PATTERNS)}, got ''")
        if bad:
            raise ValueError(f"config key 'patterns' must be letters of "
                             f"{''.join(PATTERNS)}, got {bad[0]!r} in {self.patterns!r}")


#: a quick run (all 20 patterns take well under a second)
SMALL = {}

#: bytes per time step of a pattern's run (the input current, the recorded v and the
#: times, as the engine's and the experiment's arrays; measured 45 B,
#: tests/test_experiment_memory.py)
STEP_BYTES = 48.0


def memory_estimate(config):
    """What a run needs in memory, by config key (``plasticity run`` checks it first):
    every pattern's trace is kept to the end, ~48 B per time step."""
    from plasticity._memory import named_after
    steps = sum(round(PATTERNS[x][7] / (PATTERNS[x][6] * config.dt_scale)) + 1
                for x in config.patterns if x in PATTERNS)
    return named_after(config, STEP_BYTES * steps, grow=("patterns",),
                       shrink=("dt_scale",))


def make_model(letter):
    """(model, init, v_offset): the library model of pattern ``letter``, its initial
    state, and the shift to add to its v to get Izhikevich's V."""
    name, a, b, c, d, v0, tau, T, _ = PATTERNS[letter]
    k1, k2, k3 = K_OVERRIDE.get(letter, (0.04, 5.0, 140.0))
    if letter == "R":  # du/dt = a b (V + 65): voltage shifted by +65 mV (docstring)
        a_small = 1e-9
        model = Izhikevich(a=a_small, b=a * b / a_small, c=c + 65.0, d=d, k1=0.04,
                           k2=-0.2, k3=-16.0, v_peak=95.0, v_init=0.0,
                           integrator="semi_implicit_euler")
        return model, {"u": -16.0}, -65.0
    # figure1.m updates u with the new v (semi-implicit Euler)
    model = Izhikevich(a=a, b=b, c=c, d=d, k1=k1, k2=k2, k3=k3, v_peak=30.0,
                       v_init=v0, integrator="semi_implicit_euler")
    return model, None, 0.0


def simulate(letter, dt_scale=1.0, model=None):
    """Run pattern ``letter``: (times, V, I, spike_times) with V in Izhikevich's
    units (peaks drawn at 30 mV at spike steps, as figure1.m draws them). ``model``
    optionally replaces ``make_model(letter)``'s (model, init, v_offset)."""
    name, a, b, c, d, v0, tau, T, current = PATTERNS[letter]
    dt = tau * dt_scale
    model, init, off = make_model(letter) if model is None else model
    net = Network(dt=dt, seed=0)
    pop = net.add_population("neuron", 1, model, init=init)
    n_steps = int(round(T / dt)) + 1
    t = np.arange(n_steps) * dt
    I = current(t)
    net.add_current(pop, t, I, interpolation="previous")
    spikes = net.monitor_spikes(pop)
    mon = net.monitor_state(pop, ["v"])
    net.run(n_steps * dt)
    v = np.asarray(mon.values["v"] if hasattr(mon, "values") else mon["v"]).ravel() + off
    times = np.asarray(mon.times).ravel()
    st = np.asarray(spikes.times)
    k = np.round(st / dt).astype(np.int64)
    v = v.copy()
    # v is sampled at the start of each step; a spike at step k is drawn as a 30 mV
    # peak in place of the reset value at step k + 1 (figure1.m's drawing)
    k = k + 1
    v[k[k < v.size]] = 30.0
    return times, v, I[:times.size], st


def figure1_m(letter):
    """Izhikevich's figure1.m loop for pattern ``letter`` in NumPy: (times, V, I,
    spike_times); u is updated with the new V, spikes when V > 30."""
    name, a, b, c, d, v0, tau, T, current = PATTERNS[letter]
    k1, k2, k3 = K_OVERRIDE.get(letter, (0.04, 5.0, 140.0))
    tspan = np.arange(int(round(T / tau)) + 1) * tau
    I = current(tspan)
    V = float(v0)
    u = -16.0 if letter == "R" else b * V
    VV, st = np.empty(tspan.size), []
    for j, t in enumerate(tspan):
        V = V + tau * (k1 * V * V + k2 * V + k3 - u + I[j])
        if letter == "R":
            u = u + tau * a * (b * (V + 65.0))
        else:
            u = u + tau * a * (b * V - u)
        if V > 30:
            VV[j] = 30.0
            V = c
            u = u + d
            st.append(t)
        else:
            VV[j] = V
    return tspan, VV, I, np.asarray(st)


def _bursts(st, gap=10.0):
    """Groups of spikes separated by ISIs > ``gap`` ms (list of arrays)."""
    if st.size == 0:
        return []
    return np.split(st, np.flatnonzero(np.diff(st) > gap) + 1)


def _oscillation_turns(times, v, t0):
    """Turning points of v after t0 (sign changes of the slope beyond 1e-3 mV)."""
    seg = v[times > t0]
    dv = np.diff(seg)
    dv = dv[np.abs(dv) > 1e-3]
    return int(np.sum(np.diff(np.sign(dv)) != 0))


def _isi(st):
    return np.diff(st)


#: each pattern's signature, as described in Izhikevich 2004 Fig. 1: a predicate of
#: (times, V, I, spike_times). Thresholds are stated in words in the test.
CHECKS = {
    "A": lambda t, v, I, st: st.size >= 4 and st[0] > 10 and
    0.8 < _isi(st)[-1] / _isi(st)[-2] < 1.25,                    # regular, sustained
    "B": lambda t, v, I, st: st.size == 1 and st[0] > 20,          # one spike at onset
    "C": lambda t, v, I, st: len(_bursts(st)) >= 3 and
    all(b.size >= 2 for b in _bursts(st)),                         # repeated bursts
    "D": lambda t, v, I, st: st.size >= 3 and st[0] > 20 and
    len(_bursts(st)) == 1 and st[-1] - st[0] < 50,                 # one burst, then silence
    "E": lambda t, v, I, st: st.size >= 5 and _isi(st)[:2].max() < 5 and
    _isi(st)[-1] > 20,                                             # burst, then tonic
    "F": lambda t, v, I, st: st.size >= 4 and _isi(st)[-1] > 3 * _isi(st)[0],  # adaptation
    "G": lambda t, v, I, st: st.size >= 5 and st[0] > 50 and _isi(st)[0] > 35 and
    _isi(st)[-1] < _isi(st)[0] / 1.5,                              # low-rate onset, rising
    "H": lambda t, v, I, st: st.size >= 5 and st[0] > 30 and _isi(st)[0] < 25,  # onset at a high rate
    "I": lambda t, v, I, st: st.size == 1 and st[0] > 18,          # spike well after the pulse
    "J": lambda t, v, I, st: st.size == 1 and _oscillation_turns(t, v, st[0] + 5) >= 4,
    "K": lambda t, v, I, st: st.size >= 1 and st[0] > 320,         # only the resonant doublet
    "L": lambda t, v, I, st: st.size >= 1 and st[-1] < 40,         # only the close pair
    "M": lambda t, v, I, st: 1 <= st.size <= 2 and st[0] > 25,     # after release of inhibition
    "N": lambda t, v, I, st: st.size >= 3 and st[0] > 25 and len(_bursts(st)) == 1,
    "O": lambda t, v, I, st: st.size >= 1 and st[0] > 80,          # the same pulse: spike only after inhibition
    "P": lambda t, v, I, st: st.size >= 3 and st[0] > 37.5 and st[-1] < 231,  # on by one pulse, off by the next
    "Q": lambda t, v, I, st: st.size == 1 and
    v[(t > st[0] + 1) & (t < st[0] + 10)].max() > v[t < 9].mean() + 5,  # one spike, then a DAP
    "R": lambda t, v, I, st: st.size >= 1 and st[0] > 300,         # slow ramp: none; fast ramp: spike
    "S": lambda t, v, I, st: st.size >= 2 and st[0] > 50 and st[-1] < 250,
    "T": lambda t, v, I, st: st.size >= 4 and st[0] > 50 and st[-1] < 250 and
    _isi(st).min() < 5,                                            # bursts during inhibition
}


def check(letter, trace):
    """Whether ``trace`` = (times, V, I, spike_times) has pattern ``letter``'s signature."""
    t, v, I, st = (np.asarray(x, dtype=float) for x in trace)
    try:
        return bool(CHECKS[letter](t, v, I, st))
    except (IndexError, ValueError, ZeroDivisionError):
        return False


def signature(letter, times, v, I, st):
    """Numbers that characterise a pattern (used by the test and stored as metrics)."""
    from plasticity.results import Undefined
    isi = np.diff(st)
    none = Undefined(f"pattern {letter} did not spike")
    out = {"n_spikes": int(st.size),
           "first_spike_ms": float(st[0]) if st.size else none,
           "last_spike_ms": float(st[-1]) if st.size else none}
    if isi.size:
        out["min_isi_ms"] = float(isi.min())
        out["max_isi_ms"] = float(isi.max())
        out["first_isi_ms"] = float(isi[0])
        out["last_isi_ms"] = float(isi[-1])
    return out


def run(config, recorder=None, seed=1):
    metrics, results = {}, {}
    Config.check(config)
    for letter in config.patterns:
        times, v, I, st = simulate(letter, config.dt_scale)
        ref = figure1_m(letter)
        results[letter] = (times, v, I, st)
        sig = signature(letter, times, v, I, st)
        for k, val in sig.items():
            metrics[f"{k}/{letter}"] = val
        metrics[f"n_spikes_figure1m/{letter}"] = int(ref[3].size)
        metrics[f"signature_ok/{letter}"] = check(letter, (times, v, I, st))
        metrics[f"signature_ok_figure1m/{letter}"] = check(letter, ref)
        if recorder is not None:
            name, a, b, c, d, v0, tau, T, _ = PATTERNS[letter]
            recorder.add_population(letter, "Izhikevich", 1, dict(
                pattern=name, a=a, b=b, c=c, d=d, V0=v0, dt=tau * config.dt_scale,
                T=T), t_start=0.0)
            recorder.append_spikes(letter, st, np.zeros(st.size, np.int64),
                                   t_stop=float(times[-1]))
            recorder.append_state(letter, "v", times, v, units="mV")
            recorder.append_state(letter, "I", times, I, units="model units (mV/ms)")
    if recorder is not None:
        return metrics
    metrics["traces"] = results
    return metrics


def figure(source=None, patterns="ABCDEFGHIJKLMNOPQRST"):
    """The 20 panels (V and, below it, the input current) from a run file, a Run, or
    (``source=None``) by simulating now."""
    from matplotlib.figure import Figure
    traces = {}
    if source is None:
        for letter in patterns:
            traces[letter] = simulate(letter)[:3]
    else:
        from plasticity import results
        r = results.load(source) if isinstance(source, str) else source
        for letter in patterns:
            if letter in r.monitors:
                t, vals = r.state(letter)
                traces[letter] = (t, vals["v"].ravel(), vals["I"].ravel())
    fig = Figure(figsize=(16, 11), layout="constrained")
    axes = fig.subplots(5, 4)
    for a, letter in zip(axes.ravel(), patterns):
        if letter not in traces:
            a.set_axis_off()
            continue
        t, v, I = traces[letter]
        a.plot(t, v, color="k", lw=0.8)
        lo = v.min() - 25
        span = max(float(I.max() - I.min()), 1e-9)
        a.plot(t, lo + 15 * (I - I.min()) / span, color="tab:blue", lw=0.8)
        a.set_title(f"({letter}) {PATTERNS[letter][0]}", fontsize="small")
        a.set_xticks([])
        a.set_yticks([])
    fig.suptitle("Izhikevich 2004 Fig. 1 with plasticity.neurons.Izhikevich "
                 "(black: V; blue: input current, rescaled)")
    return fig


def main(argv=None):
    """The script's entry point: the options and rules of ``plasticity run``."""
    from plasticity.cli import script_main
    return script_main("izhikevich_2003", argv, figure=figure)


if __name__ == "__main__":
    sys.exit(main())
