"""The shipped rules of the rule language against Brian2 2.9 (numpy target, float64).

Each rule's own text (``rule.text``) is given to Brian2 ``Synapses(model=...,
on_pre=..., on_post=...)`` with the rule's parameters in the namespace (Brian2 units
where a parameter has one; ours are ms, mV, nS, pA) and run on the same input spike
trains (``SpikeGeneratorGroup``) as our engine, each rule in a network together with
a built-in ``STDP(Pair(...), Additive(...))`` projection. Postsynaptic spikes must be
identical and weights (and, for the rule owning the delivery, the delivered
conductance) equal to 1e-9 relative. Weights are float64 on both sides. Skipped when
Brian2 is absent.

What the Brian2 side adds to the text, and why (nothing else is changed):

- ``w : 1`` in the model (our ``w`` is the projection's weight, implicit).
- Where the rule does not own the delivery, ``<target>_post += w`` first in
  ``on_pre`` (our engine delivers ``w`` before the rule's ``on_pre``), times ``pA``
  for a current-based receptor.
- Tsodyks-Markram: the rule's ``g_e += ...`` is Brian2's unsuffixed postsynaptic
  name, as is (depression only: u = U is the parameter U, no variable).
- Clopath: ``(event-driven)`` of ``x_bar`` becomes ``(clock-driven)`` and its unit
  ``1`` becomes ``Hz``. Brian2's event-driven variables are current only inside
  ``on_pre``/``on_post`` (a ``run_regularly`` reads the value of the last event,
  undecayed), while ours are decayed to the present wherever they are read; a
  clock-driven linear decay (exponential Euler, exact) is the same function of time.
  The unit: ``x_bar += 1 / tau_x`` with ``tau_x`` a time makes x_bar a rate in Brian2's
  unit checking (the language treats the declared unit as documentation only).
- Clopath's schedule: our clock-driven rule variables are advanced from t to t + dt at
  the end of the projection's step (after ``on_pre``, ``on_post``, ``on_step``), from
  ``v`` as it is before the reset; ``on_step`` runs after the events. In Brian2: the
  ``on_step`` statements are a ``run_regularly`` of the Synapses at
  ``when='resets', order=-2`` and the Synapses' state updater is moved to
  ``when='resets', order=-1`` (both after the threshold and the synaptic events of
  the step, before the neurons' reset). The AdEx neuron: forward Euler for v and the
  adaptation current from the old values, exp at min(v, V_peak) (``clip``), and the
  synaptic current decaying exactly, as a ``run_regularly`` right after the state
  update (``when='groups', order=1``): our AdEx update. ``V_peak`` is -40 mV, not
  0: with 0, forward Euler's spike step overshoots to ~1e6 mV, the rule reads that
  pre-reset v (u_minus jumps by ~1e4 mV), and the ~1e-10 mV by which Brian2's SI
  arithmetic and ours differ before the spike, amplified by the exponential, leave
  weights differing by ~4e-9 relative after 600 ms (both sides correct to rounding;
  the comparison is ill-conditioned). With -40 mV the spike step ends near -36 mV.

- Delayed copies (``x_d = delayed(x, D)``, Clopath's u_minus_d, u_plus_d): the line
  becomes a plain variable ``x_d : volt`` of the Synapses, set every step by a
  ``network_operation`` ring buffer of D + 1 rows (``b2_delays``) after the state
  update: x as it is at the end of the step is stored, x_d becomes the value of D
  steps before the next step.

Measured (this file, ``-s``): spikes identical; largest relative weight difference
below 1e-13 (all four tests).
"""
import numpy as np
import pytest

b2 = pytest.importorskip("brian2")

from plasticity import STDP, Additive, Network, Pair, SynapseMatrix  # noqa: E402
from plasticity.neurons import AdEx, LIFCond  # noqa: E402
from plasticity.rules import (clopath_2010, tsodyks_markram_1997,  # noqa: E402
                              vogels_sprekeler_2011)

pytestmark = pytest.mark.peer

DT = 0.1  # ms
RTOL = 1e-9

NEURON = dict(tau_m=10.0, E_L=-74.0, V_th=-54.0, V_reset=-60.0, E_e=0.0, E_i=-80.0,
              tau_e=5.0, tau_i=10.0)
ADEX = dict(C_m=281.0, g_L=30.0, E_L=-70.6, V_T=-50.4, Delta_T=2.0, tau_w=144.0, a=4.0,
            b=80.5, V_reset=-70.6, V_peak=-40.0, tau_syn_ex=5.0, tau_syn_in=5.0)
PAIR = dict(tau_plus=20.0, tau_minus=20.0, a_plus=6e-4, a_minus=6.3e-4, w_min=0.0,
            w_max=0.06)


def poisson_trains(rng, n, rate_hz, duration_ms):
    """Spike trains as (times_ms, ids), one spike per neuron per step at most."""
    p = rate_hz * DT / 1000.0
    steps = int(round(duration_ms / DT))
    s, i = np.nonzero(rng.random((steps, n)) < p)
    return s * DT, i


def pre_ids(syn):
    return np.repeat(np.arange(syn.n_pre), np.diff(syn.indptr))


def ours_pair(pr=PAIR):
    """The built-in pair rule our side runs beside each rule (``b2_pair`` in Brian2)."""
    return STDP(Pair(pr["tau_plus"], pr["tau_minus"], pr["a_plus"], pr["a_minus"]),
                Additive(pr["w_min"], pr["w_max"]))


# ----------------------------------------------------------------------------
# Brian2 side
# ----------------------------------------------------------------------------
def _b2_prefs():
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = DT * b2.ms


def b2_lifcond(n):
    p = NEURON
    eqs = f"""
    dv/dt = ((({p['E_L']}*mV) - v) + g_e*(({p['E_e']}*mV) - v)
             + g_i*(({p['E_i']}*mV) - v)) / ({p['tau_m']}*ms) : volt
    dg_e/dt = -g_e / ({p['tau_e']}*ms) : 1
    dg_i/dt = -g_i / ({p['tau_i']}*ms) : 1
    """
    G = b2.NeuronGroup(n, eqs, threshold=f"v > {p['V_th']}*mV",
                       reset=f"v = {p['V_reset']}*mV", method="exponential_euler")
    G.v = p["E_L"] * b2.mV
    return G


def b2_adex(n, I_ext):
    """Our AdEx update (neurons.pyx): forward Euler from the old values for v and the
    adaptation current (``w_ad`` here: ``w`` is the synaptic weight in Synapses), exp
    at min(v, V_peak), synaptic currents decaying exactly after the update."""
    p = ADEX
    eqs = """
    dv/dt = (-g_L*(v - E_L) + g_L*Delta_T*exp((clip(v, -1*volt, V_peak) - V_T)/Delta_T)
             - w_ad + I_syn_ex + I_syn_in + I_ext) / C_m : volt
    dw_ad/dt = (a*(v - E_L) - w_ad) / tau_w : amp
    I_syn_ex : amp
    I_syn_in : amp
    I_ext : amp
    """
    u = b2
    ns = dict(C_m=p["C_m"] * u.pF, g_L=p["g_L"] * u.nS, E_L=p["E_L"] * u.mV,
              V_T=p["V_T"] * u.mV, Delta_T=p["Delta_T"] * u.mV, tau_w=p["tau_w"] * u.ms,
              a=p["a"] * u.nS, b=p["b"] * u.pA, V_reset=p["V_reset"] * u.mV,
              V_peak=p["V_peak"] * u.mV, P_ex=np.exp(-DT / p["tau_syn_ex"]),
              P_in=np.exp(-DT / p["tau_syn_in"]))
    G = b2.NeuronGroup(n, eqs, threshold="v >= V_peak", reset="v = V_reset; w_ad += b",
                       method="euler", namespace=ns)
    G.v = p["E_L"] * u.mV
    G.I_ext = I_ext * u.pA
    G.run_regularly("I_syn_ex *= P_ex\nI_syn_in *= P_in", when="groups", order=1)
    return G


def b2_pair(src, dst, syn, target, name, pr=PAIR, unit=""):
    """The built-in pair rule as Brian2 Synapses (tests/test_brian2_crosscheck.py)."""
    S = b2.Synapses(src, dst, """w : 1
        dx1/dt = -x1 / taup : 1 (event-driven)
        dy1/dt = -y1 / taum : 1 (event-driven)""",
                    on_pre=f"""{target}_post += w{unit}
        w = clip(w - am * y1, wmin, wmax)
        x1 += 1""",
                    on_post="""w = clip(w + ap * x1, wmin, wmax)
        y1 += 1""",
                    namespace=dict(taup=pr["tau_plus"] * b2.ms,
                                   taum=pr["tau_minus"] * b2.ms,
                                   ap=pr["a_plus"], am=pr["a_minus"], wmin=pr["w_min"],
                                   wmax=pr["w_max"]), name=name)
    S.connect(i=pre_ids(syn), j=syn.indices.astype(int))
    S.w = syn.weights
    return S


def b2_rule(src, dst, syn, rule, units, deliver=None, model_edit=(), code_edit=(),
            method=None, name="rule"):
    """``rule``'s own text as Brian2 Synapses; ``units`` maps parameters to their Brian2
    unit (a parameter not in it is a plain number); ``deliver``: the delivery statement
    put first in on_pre where the rule does not own the delivery; ``model_edit``:
    (old, new) replacements in the model text, ``code_edit`` in the statements (see
    the module docstring)."""
    text = dict(rule.text)
    for old, new in code_edit:
        hits = [k for k in ("on_pre", "on_post", "on_step") if old in text[k]]
        assert hits, old
        for k in hits:
            text[k] = text[k].replace(old, new)
    model = text["model"]
    for old, new in model_edit:
        assert old in model, old
        model = model.replace(old, new)
    model = "w : 1\n" + model
    on_pre = text["on_pre"]
    if deliver:
        on_pre = deliver + "\n" + on_pre
    ns = {k: v * units.get(k, 1.0) for k, v in rule.params.items()}
    kw = dict(method=method) if method else {}
    S = b2.Synapses(src, dst, model, on_pre=on_pre or None,
                    on_post=text["on_post"] or None, namespace=ns, name=name, **kw)
    S.connect(i=pre_ids(syn), j=syn.indices.astype(int))
    S.w = syn.weights
    for k, v in rule.init.items():
        setattr(S, k, v * units.get(k, 1.0))
    if text["on_step"].strip():
        S.run_regularly(text["on_step"], when="resets", order=-2, name=name + "_step")
        S.state_updater.when = "resets"
        S.state_updater.order = -1
    return S, ns


def b2_delays(S, rule, units):
    """The rule's delayed copies (``x_d = delayed(x, D)``, model_edit'ed to plain
    ``x_d : unit`` variables of ``S``) as a ring buffer of D + 1 rows per copy, in a
    ``network_operation`` after the Synapses' state update of each step
    (``when='resets', order=0``): it stores x as it is now (the value the next step
    starts from) and sets x_d to the value of D steps before the next step, as our
    back ends do (language docstring). Returns the operations (add them to the
    network)."""
    from plasticity.rules.equations import _eval_const
    ops = []
    for name, d in rule.spec.delayed.items():
        D = int(round(_eval_const(d.delay, rule.params, DT) / DT))
        x0 = rule.init.get(d.source, 0.0) * units.get(d.source, 1.0)
        setattr(S, name, x0)
        buf = np.empty((D + 1, len(S)))
        buf[:] = np.asarray(getattr(S, d.source + "_")[:])[None, :]

        def make(src, dst, buf):
            def record(t):
                k = int(round(float(t / b2.ms) / DT))
                buf[(k + 1) % buf.shape[0]] = getattr(S, src + "_")[:]
                getattr(S, dst + "_")[:] = buf[(k + 2) % buf.shape[0]]
            return record
        ops.append(b2.NetworkOperation(make(d.source, name, buf), when="resets",
                                       order=0, name=f"{S.name}_{name}_delay"))
    return ops


def b2_run(objs, duration, G, S_list, state_vars=()):
    sm = b2.SpikeMonitor(G)
    mon = b2.StateMonitor(G, list(state_vars), record=True) if state_vars else None
    net = b2.Network(*objs, sm, *([mon] if mon is not None else []))
    net.run(duration * b2.ms)
    steps = np.round(np.asarray(sm.t / b2.ms) / DT).astype(np.int64)
    out = dict(steps=steps, ids=np.asarray(sm.i), w=[np.asarray(S.w[:]) for S in S_list])
    if mon is not None:
        out["state"] = {v: np.asarray(getattr(mon, v)).T for v in state_vars}
    return out


# ----------------------------------------------------------------------------
# our side
# ----------------------------------------------------------------------------
def ours_run(net, pop, projs, duration, state_vars=()):
    sm = net.monitor_spikes(pop)
    mon = net.monitor_state(pop, list(state_vars)) if state_vars else None
    net.run(duration)
    out = dict(steps=np.round(sm.times / DT).astype(np.int64), ids=np.asarray(sm.ids),
               w=[p.weights.copy() for p in projs])
    if mon is not None:
        out["state"] = {v: np.asarray(mon[v]) for v in state_vars}
    return out


def compare(ours, theirs, min_spikes=10, state_scale=None):
    """Identical spikes (per step, ids within a step in order), weights to RTOL;
    returns the largest relative weight difference."""
    assert ours["steps"].size >= min_spikes, "the output must spike for the test to mean " \
        "anything"
    oa = np.lexsort((ours["ids"], ours["steps"]))
    ob = np.lexsort((theirs["ids"], theirs["steps"]))
    np.testing.assert_array_equal(ours["steps"][oa], theirs["steps"][ob])
    np.testing.assert_array_equal(ours["ids"][oa], theirs["ids"][ob])
    worst = 0.0
    for a, b in zip(ours["w"], theirs["w"]):
        assert a.dtype == np.float64
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=0)
        worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))))
    for k, v in ours.get("state", {}).items():
        np.testing.assert_allclose(v, theirs["state"][k], rtol=RTOL,
                                   atol=RTOL * (state_scale or {}).get(k, 0.0), err_msg=k)
    print(f"spikes {ours['steps'].size} identical; max relative weight difference "
          f"{worst:.2e}")
    return worst


# ----------------------------------------------------------------------------
# Vogels-Sprekeler: inhibitory onto a conductance LIF that fires
# ----------------------------------------------------------------------------
def test_vogels_sprekeler_matches_brian2():
    _b2_prefs()
    T, n_e, n_i, n_out = 1500.0, 300, 100, 4
    rng = np.random.default_rng(11)
    te, ie = poisson_trains(rng, n_e, 15.0, T)
    ti, ii = poisson_trains(rng, n_i, 20.0, T)
    exc = SynapseMatrix.fixed_probability(
        n_e, n_out, 0.6, weight=lambda g, n: g.uniform(0.02, 0.06, n), rng=12,
        dtype=np.float64)
    inh = SynapseMatrix.fixed_probability(
        n_i, n_out, 0.6, weight=lambda g, n: g.uniform(0.0, 0.1, n), rng=13,
        dtype=np.float64)

    def rule():
        return vogels_sprekeler_2011(eta=5e-3, rho0=5.0, w_max=0.5)

    net = Network(dt=DT, seed=0)
    ge = net.add_spike_generator("exc_in", n_e, te, ie)
    gi = net.add_spike_generator("inh_in", n_i, ti, ii)
    out = net.add_population("out", n_out, LIFCond(**NEURON))
    p = net.connect(ge, out, exc.copy(), "g_e", rule=ours_pair(), name="exc")
    q = net.connect(gi, out, inh.copy(), "g_i", rule=rule(), name="inh")
    ours = ours_run(net, out, [p, q], T)

    G = b2_lifcond(n_out)
    Ge = b2.SpikeGeneratorGroup(n_e, ie, te * b2.ms)
    Gi = b2.SpikeGeneratorGroup(n_i, ii, ti * b2.ms)
    Se = b2_pair(Ge, G, exc, "g_e", "exc")
    Si, _ = b2_rule(Gi, G, inh, rule(), dict(tau_stdp=b2.ms), deliver="g_i_post += w",
                    name="inh")
    theirs = b2_run([G, Ge, Gi, Se, Si], T, G, [Se, Si])
    compare(ours, theirs)
    w0 = inh.weights
    assert np.any(ours["w"][1] > w0) and np.any(ours["w"][1] < w0)


# ----------------------------------------------------------------------------
# Tsodyks-Markram: the rule owns the delivery
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["depression", "facilitation"])
def test_tsodyks_markram_matches_brian2(kind):
    _b2_prefs()
    T, n_tm, n_e, n_out = 1200.0, 60, 200, 3
    rng = np.random.default_rng(21)
    tt, it = poisson_trains(rng, n_tm, 30.0, T)
    te, ie = poisson_trains(rng, n_e, 10.0, T)
    if kind == "depression":
        def rule():
            return tsodyks_markram_1997(U=0.5, tau_d=800.0)
        w_tm = (0.2, 0.5)
        edit = []
    else:
        def rule():
            return tsodyks_markram_1997(U=0.03, tau_d=130.0, tau_f=530.0)
        w_tm = (0.1, 0.4)
        edit = []
    tm = SynapseMatrix.fixed_probability(
        n_tm, n_out, 0.7, weight=lambda g, n: g.uniform(*w_tm, n), rng=22,
        dtype=np.float64)
    exc = SynapseMatrix.fixed_probability(
        n_e, n_out, 0.5, weight=lambda g, n: g.uniform(0.01, 0.04, n), rng=23,
        dtype=np.float64)

    net = Network(dt=DT, seed=0)
    gt = net.add_spike_generator("tm_in", n_tm, tt, it)
    ge = net.add_spike_generator("exc_in", n_e, te, ie)
    out = net.add_population("out", n_out, LIFCond(**NEURON))
    q = net.connect(gt, out, tm.copy(), "g_e", rule=rule(), name="tm")
    p = net.connect(ge, out, exc.copy(), "g_e", rule=ours_pair(), name="exc")
    ours = ours_run(net, out, [q, p], T, state_vars=("g_e", "v"))

    G = b2_lifcond(n_out)
    Gt = b2.SpikeGeneratorGroup(n_tm, it, tt * b2.ms)
    Ge = b2.SpikeGeneratorGroup(n_e, ie, te * b2.ms)
    St, _ = b2_rule(Gt, G, tm, rule(), dict(tau_d=b2.ms, tau_f=b2.ms), model_edit=edit,
                    name="tm")
    Se = b2_pair(Ge, G, exc, "g_e", "exc")
    theirs = b2_run([G, Gt, Ge, St, Se], T, G, [St, Se], state_vars=("g_e", "v"))
    theirs["state"]["v"] = theirs["state"]["v"] * 1e3   # volt -> mV
    compare(ours, theirs, state_scale=dict(g_e=1.0, v=100.0))
    assert np.any(ours["w"][1] != exc.weights)   # the pair rule learned


# ----------------------------------------------------------------------------
# Clopath: voltage-based, clock-driven variables, AdEx post
# ----------------------------------------------------------------------------
def test_clopath_matches_brian2():
    _b2_prefs()
    T, n_in, n_e, n_out = 600.0, 50, 100, 3
    rng = np.random.default_rng(31)
    tc, ic = poisson_trains(rng, n_in, 20.0, T)
    te, ie = poisson_trains(rng, n_e, 10.0, T)
    cl = SynapseMatrix.fixed_probability(
        n_in, n_out, 0.7, weight=lambda g, n: g.uniform(40.0, 100.0, n), rng=32,
        dtype=np.float64)
    exc = SynapseMatrix.fixed_probability(
        n_e, n_out, 0.5, weight=lambda g, n: g.uniform(0.0, 40.0, n), rng=33,
        dtype=np.float64)
    pair = dict(PAIR, a_plus=0.4, a_minus=0.42, w_max=40.0)
    I_ext = 500.0

    def rule():
        return clopath_2010(A_LTP=0.05, A_LTD=5e-3, w_max=200.0)

    net = Network(dt=DT, seed=0)
    gc = net.add_spike_generator("cl_in", n_in, tc, ic)
    ge = net.add_spike_generator("exc_in", n_e, te, ie)
    out = net.add_population("out", n_out, AdEx(t_ref=0.0, **ADEX), init={"I_ext": I_ext})
    q = net.connect(gc, out, cl.copy(), "I_syn_ex", rule=rule(), name="cl")
    p = net.connect(ge, out, exc.copy(), "I_syn_ex", rule=ours_pair(pair), name="exc")
    ours = ours_run(net, out, [q, p], T)

    u = b2
    G = b2_adex(n_out, I_ext)
    Gc = b2.SpikeGeneratorGroup(n_in, ic, tc * u.ms)
    Ge = b2.SpikeGeneratorGroup(n_e, ie, te * u.ms)
    units = dict(A_LTD=1 / u.mV, A_LTP=1 / u.mV ** 2, theta_minus=u.mV, theta_plus=u.mV,
                 tau_minus=u.ms, tau_plus=u.ms, tau_x=u.ms, u_minus=u.mV, u_plus=u.mV,
                 delay_u_bars=u.ms)
    r = rule()
    assert set(r.spec.delayed) == {"u_minus_d", "u_plus_d"}   # the delay is on
    Sc, _ = b2_rule(Gc, G, cl, r, units, deliver="I_syn_ex_post += w * pA",
                    model_edit=[(": mV (clock-driven)", ": volt (clock-driven)"),
                                ("dx_bar/dt = -x_bar / tau_x : 1 (event-driven)",
                                 "dx_bar/dt = -x_bar / tau_x : Hz (clock-driven)"),
                                ("u_minus_d = delayed(u_minus, delay_u_bars) : mV",
                                 "u_minus_d : volt"),
                                ("u_plus_d = delayed(u_plus, delay_u_bars) : mV",
                                 "u_plus_d : volt")],
                    code_edit=[("0, inf)", "0*mV, inf*mV)")],
                    method="exponential_euler", name="cl")
    ops = b2_delays(Sc, r, units)
    Se = b2_pair(Ge, G, exc, "I_syn_ex", "exc", pr=pair, unit=" * pA")
    theirs = b2_run([G, Gc, Ge, Sc, Se, *ops], T, G, [Sc, Se])
    compare(ours, theirs, min_spikes=5)
    w = ours["w"][0]
    assert np.any(w > cl.weights) and np.any(w < cl.weights)
    # control: without the delay (Brian2 reading u_minus, u_plus undelayed) the
    # weights differ far beyond the tolerance, so the comparison above can fail
    Gb = b2_adex(n_out, I_ext)
    Gcb = b2.SpikeGeneratorGroup(n_in, ic, tc * u.ms)
    Geb = b2.SpikeGeneratorGroup(n_e, ie, te * u.ms)
    Sb, _ = b2_rule(Gcb, Gb, cl, r, units, deliver="I_syn_ex_post += w * pA",
                    model_edit=[(": mV (clock-driven)", ": volt (clock-driven)"),
                                ("dx_bar/dt = -x_bar / tau_x : 1 (event-driven)",
                                 "dx_bar/dt = -x_bar / tau_x : Hz (clock-driven)"),
                                ("u_minus_d = delayed(u_minus, delay_u_bars) : mV", ""),
                                ("u_plus_d = delayed(u_plus, delay_u_bars) : mV", "")],
                    code_edit=[("0, inf)", "0*mV, inf*mV)"), ("u_minus_d", "u_minus"),
                               ("u_plus_d", "u_plus")],
                    method="exponential_euler", name="cl_undelayed")
    Seb = b2_pair(Geb, Gb, exc, "I_syn_ex", "exc_b", pr=pair, unit=" * pA")
    undelayed = b2_run([Gb, Gcb, Geb, Sb, Seb], T, Gb, [Sb, Seb])
    assert np.max(np.abs(undelayed["w"][0] - w) / np.abs(w)) > 1e3 * RTOL
