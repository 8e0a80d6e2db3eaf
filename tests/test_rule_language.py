"""The rule language: errors in a rule's text, the compiled code against the plain NumPy
interpreter of the same text (random networks and randomly generated rules), the
built-in pair rule against the same rule written in the language, shared signals,
store/restore, the compile cache and a missing compiler."""
import os
import subprocess

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plasticity import Additive, Network, Pair, SimulationError, STDP, SynapseMatrix
from plasticity.neurons import IF, LIF, AdEx, LIFCond
from plasticity.rules import (EquationRule, RuleSyntaxError, clopath_2010,
                              tsodyks_markram_1997, vogels_sprekeler_2011)
from plasticity.rules import _codegen

PAIR = dict(
    model="""
    dApre/dt = -Apre / tau_plus : 1 (event-driven)
    dApost/dt = -Apost / tau_minus : 1 (event-driven)
    """,
    on_pre="""
    w = clip(w - a_minus * Apost, w_min, w_max)
    Apre += 1
    """,
    on_post="""
    w = clip(w + a_plus * Apre, w_min, w_max)
    Apost += 1
    """,
    params=dict(tau_plus=16.8, tau_minus=33.7, a_plus=1e-4, a_minus=1.05e-4, w_min=0.0,
                w_max=0.01))


def as_backend(rule, backend):
    rule.backend = backend
    rule.compiled = backend == "compiled"
    return rule


def make_rule(factory, backend):
    return as_backend(factory(), backend)


# ----------------------------------------------------------------------------
# errors in the text, before anything runs
# ----------------------------------------------------------------------------
_U = "du/dt = (v_post - u) / 5 : mV (clock-driven)"

ERRORS = [
    # (kwargs, words the message must contain)
    (dict(on_pre="w += a * Apos", params=dict(a=1.0)), ["on_pre line 1", "'Apos'"]),
    (dict(on_pre="tau = 3", params=dict(tau=1.0)), ["on_pre line 1", "'tau'",
                                                   "read-only", "parameter"]),
    (dict(on_post="v_post = 3"), ["on_post line 1", "'v_post'", "read-only"]),
    (dict(on_pre="v += w"), ["on_pre line 1", "'v'", "read-only"]),
    (dict(model="dx/dt = -x**2 / tau : 1 (event-driven)", params=dict(tau=5.0)),
     ["model line 1", "event-driven", "x", "linear"]),
    (dict(model="dx/dt = -x / tau : 1 (event-driven)", params=dict(tau=5.0),
          on_pre="x = exp(x) + foo(x)"), ["on_pre line 1", "'foo'"]),
    (dict(model="dx/dt = -x / tau : 1 (event-driven)\ndy/dt = x - y : 1 (event-driven)",
          params=dict(tau=5.0)), ["model line 2", "'x'", "clock-driven"]),
    (dict(model="x : 1 (summed)"), ["model line 1", "summed"]),
    (dict(model="x = w * 2"), ["model line 1", "unit"]),
    (dict(model="x : furlong"), ["model line 1", "furlong"]),
    (dict(model="x : 1\nx : 1"), ["model line 2", "'x'", "twice"]),
    (dict(model="dx/dt = -x / tau : 1", params=dict(tau=1.0)),
     ["model line 1", "event-driven", "clock-driven"]),
    (dict(on_pre="w +== 1"), ["on_pre line 1", "not a statement"]),
    (dict(on_pre="w = (1"), ["on_pre line 1"]),
    (dict(on_pre="w = [1][0]"), ["on_pre line 1", "not allowed"]),
    (dict(on_pre="g_e = w"), ["on_pre line 1", "'g_e'", "+="]),
    (dict(on_post="g_e += w"), ["on_post line 1", "'g_e'", "on_pre"]),
    (dict(model="d : 1 (shared)", on_pre="d = w"), ["model line 1", "shared", "'w'"]),
    (dict(model="x : 1 (pre)", on_post="x += 1"), ["model line 1", "x", "pre"]),
    (dict(on_pre="w = t_pre"), ["on_pre line 1", "spike source"]),
    (dict(on_pre="w = 1", params=dict(exp=2.0)), ["params", "'exp'", "reserved"]),
    # release check (qa4): a parameter named like a neuron's variable (v_post) hid
    # the neuron's variable silently (a declared variable of that name is refused)
    (dict(on_pre="w = v_post", params=dict(v_post=2.0)), ["params", "'v_post'",
                                                          "hide", "'v'"]),
    (dict(on_pre="w = g_e_post * 2", params=dict(g_e_post=2.0)), ["params",
                                                                 "'g_e_post'", "hide"]),
    (dict(on_pre="w = a", params=dict(a=float("nan"))), ["params", "a", "number"]),
    # release check (qa5): a parameter or variable named like a unit shadowed it in
    # every expression (20*ms was 20 times the parameter), as Brian2 refuses
    (dict(on_pre="w += 2 * ms", params=dict(ms=5.0)), ["params", "parameter 'ms' is a "
                                                       "unit", "rename"]),
    (dict(on_pre="w += mV", params=dict(mV=5.0)), ["params", "'mV' is a unit"]),
    (dict(model="Hz : 1", on_pre="w += Hz"), ["model line 1", "variable 'Hz' is a unit"]),
    (dict(model="dsecond/dt = -second / 10 : 1 (clock-driven)"),
     ["model line 1", "'second' is a unit"]),
    (dict(model="nS = 2 * w : 1", on_pre="w += nS"),
     ["model line 1", "subexpression 'nS' is a unit"]),
    (dict(model="x_post : 1"), ["model line 1", "_post"]),
    (dict(model="x : 1 (fast)"), ["model line 1", "fast"]),
    (dict(model="dé/dt = -é / 10 : 1 (event-driven)"), ["model line 1", "'é'", "ASCII"]),
    (dict(model="__idx__ : 1"), ["model line 1", "'__idx__'", "valid name"]),
    (dict(on_pre="w = k", params={"ké": 1.0}), ["params", "'ké'", "ASCII"]),
    (dict(on_pre="w = __seed__"), ["on_pre line 1", "'__seed__'"]),
    # delayed copies
    (dict(model=_U, on_pre="w += delayed(u, 1*ms)"), ["on_pre line 1", "delayed()",
                                                      "model line"]),
    (dict(model="u_d = delayed(u, 1*ms) : mV"), ["model line 1", "delayed(u",
                                                 "source"]),
    (dict(model=_U + "\nu_d = delayed(u) : mV"), ["model line 2", "two arguments"]),
    (dict(model=_U + "\nu_d = delayed(u, v_post) : mV"), ["model line 2", "'v_post'",
                                                         "parameters"]),
    (dict(model=_U + "\nu_d = delayed(u, 1*ms) : mV (post)"), ["model line 2", "flags"]),
    (dict(model=_U + "\nu_d = delayed(u, 1*ms) : mV", on_post="u_d = 1"),
     ["on_post line 1", "'u_d'", "read-only", "delayed copy"]),
    (dict(model="x : 1\nx_d = delayed(x, 1*ms) : 1", on_pre="x += w"),
     ["model line 2", "delayed(x", "per synapse", "per postsynaptic neuron"]),
    (dict(model="x : 1 (shared)\nx_d = delayed(x, 1*ms) : 1"),
     ["model line 2", "shared", "per postsynaptic neuron"]),
    (dict(model=_U + "\nu_d = delayed(u, 1*ms) : mV\nu_d : 1"),
     ["model line 3", "'u_d'", "twice"]),
]


@pytest.mark.parametrize("kwargs,words", ERRORS)
def test_rule_errors_name_the_line_and_the_name(kwargs, words):
    net = Network(dt=0.1)
    pre = net.add_poisson("pre", 3, rates=10.0)
    post = net.add_population("post", 2, LIFCond())
    with pytest.raises((RuleSyntaxError, ValueError)) as info:
        rule = EquationRule(**kwargs)
        net.connect(pre, post, SynapseMatrix.all_to_all(3, 2, weight=0.1), target="g_e",
                    rule=rule)
    msg = str(info.value)
    for w in words:
        assert w in msg, (w, msg)


@pytest.mark.parametrize("delay", ["0.25*ms", "-1*ms", "d", "inf*ms"])
def test_a_delay_must_be_a_whole_number_of_steps(delay):
    """The delay of a delayed copy: >= 0 and a whole number of steps of dt, checked
    before the run (the message names the line, the copy and dt)."""
    rule = EquationRule(model=_U + f"\nu_d = delayed(u, {delay}) : mV",
                        on_pre="w = clip(w + 1e-3 * u_d, 0, 1)", params=dict(d=0.05))
    net = Network(dt=0.1)
    pre = net.add_poisson("pre", 3, rates=10.0)
    post = net.add_population("post", 2, LIFCond())
    net.connect(pre, post, SynapseMatrix.all_to_all(3, 2, weight=0.1), target="g_e",
                rule=rule)
    with pytest.raises(ValueError, match="model line 2.*u_d.*whole number of steps of "
                                         "dt = 0.1"):
        net.run(1.0)
    assert net.t == 0.0


def _delay_probe(D, backend):
    """A ramp c = t (ms) per postsynaptic neuron and an event-driven trace A (+1 at
    each postsynaptic spike), read D steps delayed in on_pre, on_post and a gated
    on_step; returns the rule after 300 ms."""
    text = dict(
        model=f"""
        dc/dt = 1 : 1 (clock-driven)
        dA/dt = -A / 10 : 1 (event-driven)
        c_d = delayed(c, {D} * dt_)  : 1
        A_d = delayed(A, {D} * dt_) : 1
        got : 1
        gotA : 1
        acc : 1
        seen : 1 (post)
        """,
        on_pre="got = c_d\ngotA = A_d",
        on_post="A += 1\nseen = c_d",
        on_step="acc += 1e-3 * c_d * A_d",
        params=dict(dt_=0.1))
    rule = as_backend(EquationRule(**text), backend)
    net = Network(dt=0.1, seed=1)
    pre = net.add_poisson("pre", 8, rates=40.0)
    post = net.add_population("post", 3, LIFCond(), init={"I_ext": [24.0, 30.0, 36.0]})
    net.connect(pre, post, SynapseMatrix.all_to_all(8, 3, weight=0.02), target="g_e",
                rule=rule)
    net.run(300.0)
    return rule


def test_a_delayed_copy_reads_the_value_of_D_steps_ago():
    """``x_d = delayed(x, D)`` is x as it was at the start of the step D steps
    earlier (its initial value before that): with a ramp c = t, c_d read in on_pre
    and on_post is c - D dt (>= 0); D = 0 reads the value at the start of this step;
    compiled = interpreter (every read place, an event-driven source too)."""
    D = 30
    now = _delay_probe(0, "compiled")
    late = _delay_probe(D, "compiled")
    assert late.state["hist:c_d"].shape == (D + 1, 3)
    for name in ("got", "seen"):
        a, b = now.state["val:" + name], late.state["val:" + name]
        assert np.all(a > 100.0), name     # the probe ran and read late values
        np.testing.assert_allclose(b, a - D * 0.1, rtol=0, atol=1e-9, err_msg=name)
    assert np.any(now.state["val:gotA"] != late.state["val:gotA"])
    for D_ in (0, D):
        a, b = _delay_probe(D_, "compiled"), _delay_probe(D_, "numpy")
        assert set(a.state) == set(b.state)
        for k in a.state:
            np.testing.assert_allclose(a.state[k], b.state[k], rtol=1e-12, atol=1e-12,
                                       err_msg=f"D={D_} {k}")
    assert np.ptp(late.state["val:acc"]) > 0


def test_rule_that_delivers_must_match_the_target():
    net = Network(dt=0.1)
    pre = net.add_poisson("pre", 3, rates=10.0)
    post = net.add_population("post", 2, LIFCond())
    with pytest.raises(ValueError, match="delivers to .*'g_e'.*target is 'g_i'"):
        net.connect(pre, post, SynapseMatrix.all_to_all(3, 2, weight=0.1), target="g_i",
                    rule=tsodyks_markram_1997())


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="on_pre must be a string"):
        EquationRule(on_pre=3)
    with pytest.raises(ValueError, match="backend"):
        EquationRule(backend="gpu")
    with pytest.raises(RuleSyntaxError, match="init: 'y' is not a variable"):
        EquationRule(model="x : 1", init={"y": 1.0})
    with pytest.raises(ValueError, match="step_every must be > 0"):
        EquationRule(step_every=-1.0)
    with pytest.raises(TypeError, match=r"params must map parameter names to numbers, "
                                        r"got \[1, 2\] \(list\)"):
        EquationRule(on_pre="w += 0", params=[1, 2])


# ----------------------------------------------------------------------------
# the language against the built-in rule
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("delay", [0, 7])
def test_pair_rule_in_the_language_equals_the_builtin(delay):
    def run(rule):
        net = Network(dt=0.1, seed=5)
        inp = net.add_poisson("inp", 800, rates=15.0)
        out = net.add_population("out", 4, LIFCond())
        syn = SynapseMatrix.fixed_probability(800, 4, 0.8, weight=0.008,
                                              rng=np.random.default_rng(1), delay=delay)
        proj = net.connect(inp, out, syn, target="g_e", rule=rule)
        sp = net.monitor_spikes(out)
        net.run(3000.0)
        return sp.times, sp.ids, proj.synapses.weights.copy()

    p = PAIR["params"]
    a = run(STDP(Pair(p["tau_plus"], p["tau_minus"], p["a_plus"], p["a_minus"]),
                 Additive(p["w_min"], p["w_max"])))
    b = run(EquationRule(**PAIR))
    assert a[0].size > 100
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2], b[2])


# ----------------------------------------------------------------------------
# compiled code against the NumPy interpreter
# ----------------------------------------------------------------------------
def _network(rule_factory, backend, *, delay="none", dtype=np.float32, post="lifcond",
             T=400.0, seed=0, target="g_e", n_pre=40, n_post=6, weight=0.03, drive=0.0,
             static=None):
    rng = np.random.default_rng(seed)
    net = Network(dt=0.1, seed=seed)
    times = np.sort(rng.uniform(0, T, 8 * n_pre)).round(1)
    ids = rng.integers(0, n_pre, times.size)
    key = np.unique(np.round(times / 0.1).astype(np.int64) * n_pre + ids)
    times, ids = (key // n_pre) * 0.1, key % n_pre
    pre = net.add_spike_generator("pre", n_pre, times, ids)
    if post == "adex":
        out = net.add_population("out", n_post, AdEx(), init={"I_ext": 650.0})
    elif post == "lif":
        out = net.add_population("out", n_post, LIF(), init={"I_ext": 300.0})
    else:
        out = net.add_population("out", n_post, LIFCond(), init={"I_ext": drive})
    d = {"none": None, "one": 5,
         "per-synapse": None}[delay]
    syn = SynapseMatrix.fixed_probability(n_pre, n_post, 0.6, weight=weight, rng=rng,
                                          dtype=dtype, delay=d)
    if delay == "per-synapse":
        syn = SynapseMatrix(syn.indptr, syn.indices, syn.weights, syn.shape,
                            delay=rng.integers(0, 25, syn.nnz))
    if static is not None:      # a static projection onto g_e, delivered before
        net.connect(pre, out, SynapseMatrix.fixed_probability(
            n_pre, n_post, 0.5, weight=static, rng=np.random.default_rng(seed + 1)),
            target="g_e", name="static")
    rule = as_backend(rule_factory(), backend)
    proj = net.connect(pre, out, syn, target=target, rule=rule)
    sp = net.monitor_spikes(out)
    net.run(T)
    return sp, proj, rule


def _compare(factory, **kw):
    a_sp, a_proj, a_rule = _network(factory, "compiled", **kw)
    b_sp, b_proj, b_rule = _network(factory, "numpy", **kw)
    np.testing.assert_array_equal(a_sp.times, b_sp.times)
    np.testing.assert_array_equal(a_sp.ids, b_sp.ids)
    np.testing.assert_allclose(a_proj.synapses.weights, b_proj.synapses.weights,
                               rtol=1e-12, atol=1e-12)
    assert set(a_rule.state) == set(b_rule.state)
    for k in a_rule.state:
        np.testing.assert_allclose(a_rule.state[k], b_rule.state[k], rtol=1e-12,
                                   atol=1e-12, err_msg=k)
    return a_sp, a_proj, a_rule


DRIVE = 30.0   # mV of injected drive: the LIFCond neurons fire at tens of Hz


def _vs():
    return vogels_sprekeler_2011(eta=5e-3, rho0=5.0, w_max=0.5)


def _tm():
    return tsodyks_markram_1997(U=0.3, tau_d=150.0, tau_f=400.0)


@pytest.mark.parametrize("delay", ["none", "one", "per-synapse"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shipped_rules_compiled_equal_the_interpreter(delay, dtype):
    sp, proj, rule = _compare(_vs, delay=delay, dtype=dtype, weight=0.05, target="g_i",
                              drive=DRIVE)
    assert sp.times.size > 10 and np.ptp(proj.synapses.weights) > 0
    sp, proj, rule = _compare(_tm, delay=delay, dtype=dtype, weight=0.5)
    assert sp.times.size > 10 and np.ptp(rule.state["val:x"]) > 0


def test_clopath_compiled_equals_the_interpreter():
    sp, proj, rule = _compare(lambda: clopath_2010(A_LTP=8e-3, A_LTD=1e-3, w_max=200.0),
                              post="adex", target="I_syn_ex", weight=80.0, T=300.0)
    assert sp.times.size > 5
    w = proj.synapses.weights
    assert np.any(w > 80.0) and np.any(w < 80.0)   # both LTP and LTD happened


def test_rules_read_the_membrane_before_the_reset():
    """A rule reading v in on_post sees the spike's depolarisation (IF: v >= V_th),
    not the reset value."""
    rule = EquationRule(model="vmax : 1 (post)", on_post="vmax = v_post")
    net = Network(dt=0.1)
    pre = net.add_spike_generator("pre", 1, [1.0, 2.0, 3.0], [0, 0, 0])
    model = IF(V_th=10.0, V_reset=0.0)
    out = net.add_population("out", 1, model)
    net.connect(pre, out, SynapseMatrix.all_to_all(1, 1, weight=12.0), target="v",
                rule=rule)
    sp = net.monitor_spikes(out)
    net.run(10.0)
    assert sp.times.size == 3
    assert rule["vmax"][0] >= 10.0


@pytest.mark.parametrize("kw", [
    dict(on_post="w += eta * g_e_post"),
    dict(on_step="w = clip(w + 1e-3 * eta * (g_e_post - g_i_post), 0, 1)"),
    dict(on_post="w = clip(w + eta * g_i_post, 0, 1)", target="g_i"),
    dict(on_pre="w = clip(w + eta * g_e_post, 0, 1)", target="g_i"),
    dict(model="dz/dt = (g_e_post - z) / 5 : 1 (clock-driven)",
         on_post="w = clip(w + eta * z, 0, 1)"),
    # a receptor written in on_pre, read in on_step of the same step
    dict(model="dx/dt = (1 - x) / 50 : 1 (event-driven)",
         on_pre="g_e += w * x\nx -= 0.3 * x",
         on_step="w = clip(w + 1e-3 * eta * g_e_post, 0, 1)"),
], ids=["on_post", "on_step", "on_post-own-target", "on_pre-other", "clock", "stp"])
def test_receptors_read_alike_in_both_backends(kw):
    """Both backends read a receptor (g_e_post, g_i_post) as it is at the projection's
    turn in the step: after its own and the earlier projections' deliveries, before
    the resets (docs/writing-rules.md: on_post and on_step run after all arrivals).
    The NumPy backend read a copy taken before the deliveries (other spikes, other
    weights); here a static projection onto g_e is delivered before the rule's."""
    kw = dict(kw)
    target = kw.pop("target", "g_e")
    factory = lambda: EquationRule(params=dict(eta=1e-3), **kw)  # noqa: E731
    sp, proj, rule = _compare(factory, static=0.02, target=target, drive=DRIVE,
                              T=300.0)
    w = proj.synapses.weights
    assert sp.times.size > 50
    assert np.ptp(w) > 0 or np.all((w != np.float32(0.03)) & (w != 1.0))


@pytest.mark.parametrize("kw", [
    dict(on_post="w = clip(w + eta * (g_e_pre + v_pre + 70), 0, 1)"),
    dict(model="dx/dt = (1 - x) / 50 : 1 (event-driven)",
         on_pre="g_e += w * x\nx -= 0.3 * x",
         on_step="w = clip(w + eta * (g_e_pre - g_e_post), 0, 1)"),
], ids=["pre-vars", "stp-pre-is-post"])
def test_recurrent_rules_read_alike_in_both_backends(kw):
    """A recurrent projection (pre is post) after a feed-forward one: the presynaptic
    neurons' variables too are read at the projection's turn, with its own receptor
    writes in (g_e_pre is g_e_post's population); spikes identical, weights to
    1e-12, as _compare."""
    def run(backend):
        net = Network(dt=0.1, seed=0)
        inp = net.add_poisson("inp", 30, 40.0)
        out = net.add_population("out", 12, LIFCond(), init={"I_ext": 20.0})
        net.connect(inp, out, SynapseMatrix.fixed_probability(
            30, 12, 0.5, weight=0.03, rng=np.random.default_rng(2)), target="g_e")
        rule = EquationRule(params=dict(eta=1e-4), backend=backend, **kw)
        proj = net.connect(out, out, SynapseMatrix.fixed_probability(
            12, 12, 0.5, weight=0.02, rng=np.random.default_rng(3), allow_self=False),
            target="g_e", rule=rule, name="rec")
        sp = net.monitor_spikes(out)
        net.run(300.0)
        return sp, proj
    a_sp, a_proj = run("compiled")
    b_sp, b_proj = run("numpy")
    assert a_sp.times.size > 100
    np.testing.assert_array_equal(a_sp.times, b_sp.times)
    np.testing.assert_array_equal(a_sp.ids, b_sp.ids)
    np.testing.assert_allclose(a_proj.synapses.weights, b_proj.synapses.weights,
                               rtol=1e-12, atol=1e-12)
    assert np.any(a_proj.synapses.weights != np.float32(0.02))     # it learned


# ----------------------------------------------------------------------------
# randomly generated rules
# ----------------------------------------------------------------------------
_TERMS = st.sampled_from(["Apre", "Apost", "x", "w", "c", "0.5", "v_post / 100",
                          "clip(Apre - Apost, -1, 1)", "exp(-Apost)", "(Apre > 0.5)",
                          "t / 1000", "abs(x - 0.3)"])


@st.composite
def random_rule(draw):
    def expr():
        a, b = draw(_TERMS), draw(_TERMS)
        op = draw(st.sampled_from(["+", "-", "*"]))
        return f"{a} {op} {b}"
    tau1 = draw(st.floats(2.0, 50.0))
    tau2 = draw(st.floats(2.0, 50.0))
    amp = draw(st.floats(1e-4, 1e-2))
    pre_inc = draw(st.sampled_from(["Apre += 1", "Apre = 1", "Apre += 0.5 * (1 - Apre)"]))
    post_inc = draw(st.sampled_from(["Apost += 1", "Apost = 1", "Apost += x"]))
    model = f"""
    dApre/dt = -Apre / {tau1!r} : 1 (event-driven)
    dApost/dt = -Apost / tau2 : 1 (event-driven)
    dx/dt = (0.2 - x) / 20 : 1 ({draw(st.sampled_from(['event-driven', 'clock-driven']))})
    c : 1 (shared)
    """
    pre = [f"w = clip(w + eta * ({expr()}), 0, 1)", pre_inc]
    if draw(st.booleans()):
        pre.append(f"x = clip(x + 0.1 * ({expr()}), -2, 2)")
    if draw(st.booleans()):
        pre.reverse()
    post = [f"w = clip(w + eta * ({expr()}), 0, 1)", post_inc]
    if draw(st.booleans()):
        post.reverse()
    step = ""
    if draw(st.booleans()):
        step = "c = c * 0.99\nw = clip(w + 1e-5 * (Apre - c), 0, 1)"
    return dict(model=model, on_pre="\n".join(pre), on_post="\n".join(post),
                on_step=step, params=dict(tau2=tau2, eta=amp), init={"x": 0.2, "c": 1.0})


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(random_rule(), st.sampled_from(["none", "one", "per-synapse"]),
       st.sampled_from([np.float32, np.float64]))
def test_random_rules_compiled_equal_the_interpreter(kw, delay, dtype):
    _compare(lambda: EquationRule(**kw), delay=delay, dtype=dtype, T=200.0,
             weight=0.05)


# ----------------------------------------------------------------------------
# shared signals, between runs, store/restore
# ----------------------------------------------------------------------------
REWARD = dict(
    model="""
    dApre/dt = -Apre / 20 : 1 (event-driven)
    dApost/dt = -Apost / 20 : 1 (event-driven)
    dc/dt = -c / 200 : 1 (clock-driven)
    dd/dt = -d / 50 : 1 (clock-driven, shared)
    """,
    on_pre="c -= 0.5 * Apost\nApre += 1",
    on_post="c += Apre\nApost += 1",
    on_step="w = clip(w + 1e-5 * c * d, 0, 1)")


def _reward_net(backend, rewards=True, signal=True):
    net = Network(dt=0.1, seed=2)
    pre = net.add_poisson("pre", 50, rates=20.0)
    dop = net.add_poisson("dop", 10, rates=5.0)
    out = net.add_population("out", 3, LIFCond())
    rule = as_backend(EquationRule(**REWARD), backend)
    if rewards:
        rule.schedule("d", [50.0, 120.0, 300.0], [1.0, 0.5, 2.0])
    if signal:
        rule.add_signal("d", dop, 0.1)
    proj = net.connect(pre, out, SynapseMatrix.all_to_all(50, 3, weight=0.05),
                       target="g_e", rule=rule)
    return net, proj, rule


@pytest.mark.parametrize("rewards,signal", [(True, False), (False, True), (True, True)])
def test_shared_signals_compiled_equal_the_interpreter(rewards, signal):
    out = []
    for backend in ("compiled", "numpy"):
        net, proj, rule = _reward_net(backend, rewards, signal)
        net.run(400.0)
        out.append((proj.synapses.weights.copy(), rule["d"]))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-12, atol=1e-14)
    assert out[0][1] == pytest.approx(out[1][1], rel=1e-12)
    assert np.ptp(out[0][0]) > 0


def test_no_reward_no_learning_and_rewards_between_runs():
    net, proj, rule = _reward_net("compiled", rewards=False, signal=False)
    w0 = proj.synapses.weights.copy()
    net.run(200.0)
    np.testing.assert_array_equal(proj.synapses.weights, w0)   # d = 0: no change
    rule["d"] = 1.0                                             # a reward between runs
    net.run(100.0)
    assert not np.array_equal(proj.synapses.weights, w0)


def test_store_restore_continues_exactly():
    net, proj, rule = _reward_net("compiled")
    net.run(150.0)
    state = net.store()
    net.run(200.0)
    w_a, c_a = proj.synapses.weights.copy(), rule["c"].copy()
    net.restore(state)
    net.run(200.0)
    np.testing.assert_array_equal(proj.synapses.weights, w_a)
    np.testing.assert_array_equal(rule["c"], c_a)


@pytest.mark.parametrize("backend", ["compiled", "numpy"])
def test_store_restore_continues_exactly_with_a_delayed_copy(backend):
    """The ring buffer of a delayed copy is rule state: stored, restored in place
    (the compiled code keeps its pointer), and the run continues bit for bit."""
    rule = as_backend(clopath_2010(A_LTP=8e-3, A_LTD=1e-3, w_max=200.0), backend)
    net = Network(dt=0.1, seed=2)
    pre = net.add_poisson("pre", 30, rates=30.0)
    out = net.add_population("out", 3, AdEx(), init={"I_ext": 650.0})
    proj = net.connect(pre, out, SynapseMatrix.all_to_all(30, 3, weight=80.0,
                                                          dtype=np.float64),
                       target="I_syn_ex", rule=rule)
    net.run(100.0)
    state = net.store()
    net.run(100.0)
    w_a, h_a = proj.synapses.weights.copy(), rule.state["hist:u_plus_d"].copy()
    net.restore(state)
    net.run(100.0)
    np.testing.assert_array_equal(proj.synapses.weights, w_a)
    np.testing.assert_array_equal(rule.state["hist:u_plus_d"], h_a)
    assert np.ptp(h_a) > 1.0


def test_nonfinite_rule_state_names_the_variable():
    rule = EquationRule(model="dx/dt = x / 0.5 : 1 (clock-driven)", init={"x": 1.0},
                        on_pre="w = w")
    net = Network(dt=0.1)
    pre = net.add_poisson("pre", 2, rates=10.0)
    out = net.add_population("out", 1, LIFCond())
    net.connect(pre, out, SynapseMatrix.all_to_all(2, 1, weight=0.01), target="g_e",
                rule=rule)
    with pytest.raises(SimulationError, match="rule variable 'x'"):
        net.run(1000.0)     # x = exp(t / 0.5 ms) overflows at ~355 ms


# ----------------------------------------------------------------------------
# compilation: the cache and a missing compiler
# ----------------------------------------------------------------------------
def _tiny_net(rule):
    net = Network(dt=0.1, seed=0)
    pre = net.add_poisson("pre", 2, rates=10.0)
    out = net.add_population("out", 1, LIFCond())
    net.connect(pre, out, SynapseMatrix.all_to_all(2, 1, weight=0.01), target="g_e",
                rule=rule)
    return net


def test_compiled_rules_are_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("PLASTICITY_CACHE", str(tmp_path))
    monkeypatch.setattr(_codegen, "_LOADED", {})
    kw = dict(PAIR, params=dict(PAIR["params"], a_plus=3e-4))
    _tiny_net(EquationRule(**kw)).run(10.0)
    files = list((tmp_path / "rules").glob("rule_*.so"))
    assert len(files) == 1

    def no_compiler(*a, **k):
        raise AssertionError("the compiler ran for a cached rule")
    monkeypatch.setattr(_codegen, "_LOADED", {})
    monkeypatch.setattr(subprocess, "run", no_compiler)
    # other parameter values, same text: the same compiled code
    _tiny_net(EquationRule(**dict(kw, params=dict(kw["params"], a_plus=1e-4)))).run(10.0)
    assert len(list((tmp_path / "rules").glob("rule_*.so"))) == 1


def test_missing_compiler_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PLASTICITY_CACHE", str(tmp_path))
    monkeypatch.setattr(_codegen, "_LOADED", {})
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    rule = EquationRule(**dict(PAIR, params=dict(PAIR["params"], w_max=0.02)),
                        on_step="w = w * 1.0")
    with pytest.raises(_codegen.CompilerNotFound, match="install one"):
        _tiny_net(rule).run(10.0)
    # the NumPy interpreter runs without one
    rule = EquationRule(**PAIR, backend="numpy")
    _tiny_net(rule).run(10.0)


def test_python_rules_can_read_the_state_before_the_reset():
    from plasticity.rules import Rule

    class Probe(Rule):
        reads_state_before_reset = True
        seen = []

        def on_post(self, step, post):
            v = self.post_state_before_reset()[self.projection.post.model.var_index("v")]
            self.seen.extend(v[post].tolist())

    net = Network(dt=0.1)
    pre = net.add_spike_generator("pre", 1, [1.0, 2.0], [0, 0])
    out = net.add_population("out", 1, IF(V_th=10.0, V_reset=0.0))
    net.connect(pre, out, SynapseMatrix.all_to_all(1, 1, weight=12.0), target="v",
                rule=Probe())
    net.run(5.0)
    assert len(Probe.seen) == 2 and min(Probe.seen) >= 10.0
    assert out["v"][0] < 10.0      # while the state itself was reset


def test_the_docs_rules_build_and_run():
    """The rule-language examples of docs/writing-rules.md run as written."""
    root = os.path.join(os.path.dirname(__file__), "..")
    with open(os.path.join(root, "docs", "writing-rules.md")) as f:
        doc = f.read().split("## 1. The rule language")[1].split("### The text")[0]
    blocks = [b.split("```")[0] for b in doc.split("```python")[1:]]
    assert len(blocks) == 3
    net = Network(dt=0.1)
    inh = net.add_poisson("inh", 5, rates=20.0)
    inp = net.add_poisson("inp", 5, rates=20.0)
    exc = net.add_population("exc", 2, LIFCond())
    adex_pop = net.add_population("adex_pop", 2, AdEx())
    scope = {"net": net, "inh": inh, "exc": exc, "inp": inp, "adex_pop": adex_pop}
    for k, code in enumerate(blocks):
        scope["syn"] = SynapseMatrix.all_to_all(5, 2, weight=[0.1, 0.1, 50.0][k])
        exec(compile(code, "writing-rules.md", "exec"), scope)
        assert sum(1 for line in code.strip().splitlines()
                   if not line.startswith("net.connect")) <= (15 if k == 0 else 25)
    net.connect(inp, exc, SynapseMatrix.all_to_all(5, 2, weight=0.1), target="g_e",
                rule=scope["stp"], name="stp")
    net.run(50.0)
    assert scope["stp"]["x"].min() < 1.0


def test_post_ordered_weights_in_long_runs_equal_the_interpreter():
    """Runs of >= 5000 steps keep the weights in post-synaptic order (another code
    variant); the numbers stay the interpreter's."""
    from plasticity import network
    assert network._POST_ORDER_MIN_STEPS <= 6000
    rule = _vs()
    sp, proj, rule = _compare(_vs, T=600.0, weight=0.05, target="g_i", drive=DRIVE,
                              delay="one")
    assert rule.post_ordered_weights
    assert sp.times.size > 10 and np.ptp(proj.synapses.weights) > 0


def _builtin_rules():
    from plasticity.rules import Kheradpisheh, Multiplicative, PowerLaw, Triplet
    timings = [Pair(16.8, 33.7, 1e-4, 1.05e-4, interaction=i) for i in Pair.interactions]
    timings += [Triplet(interaction=i, a2_plus=2e-5, a3_plus=6e-5, a2_minus=7e-5,
                        a3_minus=2e-5) for i in Triplet.interactions]
    weights = [Additive(0.0, 0.01), Multiplicative(0.0, 0.01),
               PowerLaw(0.0, 0.01, mu_plus=0.4, mu_minus=0.6), Kheradpisheh(0.0, 0.01)]
    return [(t, w) for t in timings for w in weights]


@pytest.mark.parametrize("timing,weight", _builtin_rules(),
                         ids=lambda x: getattr(x, "interaction", type(x).__name__))
def test_builtin_rules_written_in_the_language_give_the_same_numbers(timing, weight):
    """Every timing x weight dependence of the built-in family, written in the
    language (STDP.to_equation_rule), gives the built-in kernel's numbers bit for bit,
    over a run long enough for post-ordered weights, with a delay."""
    def run(rule, delays):
        net = Network(dt=0.1, seed=4)
        inp = net.add_poisson("inp", 800, rates=15.0)
        out = net.add_population("out", 3, LIFCond())
        syn = SynapseMatrix.fixed_probability(800, 3, 0.8, weight=0.0,
                                              rng=np.random.default_rng(2), delay=delays)
        syn.weights[:] = np.random.default_rng(3).uniform(0.006, 0.01, syn.nnz)
        proj = net.connect(inp, out, syn, target="g_e", rule=rule)
        sp = net.monitor_spikes(out)
        net.run(700.0)
        return sp.times, proj.synapses.weights.copy()

    for delays in (3, None):
        a = run(STDP(timing, weight), delays)
        b = run(STDP(timing, weight).to_equation_rule(), delays)
        assert a[0].size > 20
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_a_rule_object_serves_one_projection():
    """Rules hold per-projection state: a second live projection is refused, a new
    network (the old one gone) starts from fresh state."""
    rule = STDP(Pair(), Additive(0.0, 1.0))

    def net_with(rule):
        net = Network(dt=0.1, seed=1)
        pre = net.add_poisson("pre", 20, rates=50.0)
        out = net.add_population("out", 2, LIFCond())
        net.connect(pre, out, SynapseMatrix.all_to_all(20, 2, weight=0.5), target="g_e",
                    rule=rule)
        return net, pre, out

    net, pre, out = net_with(rule)
    with pytest.raises(ValueError, match="already the rule of projection 'pre_out'"):
        net.connect(pre, out, SynapseMatrix.all_to_all(20, 2, weight=0.5),
                    target="g_i", rule=rule, name="second")
    net.run(300.0)
    assert rule.x1.max() > 0
    net2, _, _ = net_with(rule)           # another network takes it over: fresh state
    assert getattr(rule, "_shape", None) is None
    with pytest.raises(ValueError, match="connected to projection 'pre_out' of another"):
        net.run(10.0)
    fresh = STDP(Pair(), Additive(0.0, 1.0))
    net3, _, _ = net_with(fresh)
    net2.run(300.0)
    net3.run(300.0)
    np.testing.assert_array_equal(rule.x1, fresh.x1)


def test_setting_an_event_driven_variable_between_runs():
    """Setting one trace between runs keeps the others' values (they share the
    'last update' step); the set value decays from now on."""
    def build():
        rule = EquationRule(**PAIR)
        net = Network(dt=0.1, seed=3)
        pre = net.add_poisson("pre", 30, rates=40.0)
        out = net.add_population("out", 2, LIFCond())
        net.connect(pre, out, SynapseMatrix.all_to_all(30, 2, weight=0.005), target="g_e",
                    rule=rule)
        return net, rule
    net_a, a = build()
    net_b, b = build()
    net_a.run(50.0)
    net_b.run(50.0)
    a["Apost"] = a["Apost"]           # a no-op, at another step than the last update
    net_a.run(50.0)
    net_b.run(50.0)
    np.testing.assert_allclose(a["Apre"], b["Apre"], rtol=1e-12)
    np.testing.assert_allclose(a["Apost"], b["Apost"], rtol=1e-12)
    a["Apre"] = 2.0
    np.testing.assert_array_equal(a["Apre"], 2.0)        # the value now
    mon = net_a.monitor_spikes("pre")
    net_a.run(5.0)
    no_spike = np.bincount(mon.ids, minlength=30) == 0   # inputs that did not fire since
    expected = 2.0 * np.exp(-5.0 / PAIR["params"]["tau_plus"])
    np.testing.assert_allclose(a["Apre"][no_spike], expected, rtol=1e-12)
    assert no_spike.any()


@pytest.mark.parametrize("owns", [False, True])
def test_no_input_onto_a_held_v_while_refractory(owns):
    """IF neurons hold v while refractory: a rule's delivery onto v (the engine's, or
    the rule's own statement) is dropped then, as the built-in delivery does, in the
    compiled code and in the interpreter alike."""
    def run(backend):
        rule = EquationRule(on_pre="v += w" if owns else "w = w")
        rule = as_backend(rule, backend)
        net = Network(dt=0.1)
        pre = net.add_spike_generator("pre", 1, np.arange(1.0, 30.0, 0.3),
                                      np.zeros(97, dtype=int))
        out = net.add_population("out", 1, IF(V_th=10.0, V_reset=0.0, t_ref=2.0))
        net.connect(pre, out, SynapseMatrix.all_to_all(1, 1, weight=3.0), target="v",
                    rule=rule)
        st = net.monitor_state(out, "v")
        sp = net.monitor_spikes(out)
        net.run(30.0)
        return st["v"][:, 0], sp.times

    def static():
        net = Network(dt=0.1)
        pre = net.add_spike_generator("pre", 1, np.arange(1.0, 30.0, 0.3),
                                      np.zeros(97, dtype=int))
        out = net.add_population("out", 1, IF(V_th=10.0, V_reset=0.0, t_ref=2.0))
        net.connect(pre, out, SynapseMatrix.all_to_all(1, 1, weight=3.0), target="v")
        st = net.monitor_state(out, "v")
        sp = net.monitor_spikes(out)
        net.run(30.0)
        return st["v"][:, 0], sp.times

    ref_v, ref_t = static()
    assert ref_t.size >= 3
    for backend in ("compiled", "numpy"):
        v, t = run(backend)
        np.testing.assert_array_equal(t, ref_t)
        np.testing.assert_array_equal(v, ref_v)


def test_infinite_parameters_serve_as_bounds():
    rule = EquationRule(on_pre="w = clip(w + 1, 0, w_max)", params=dict(w_max=np.inf))
    net = _tiny_net(rule)
    net.run(1000.0)       # 2 inputs at 10 Hz: about 20 arrivals
    assert np.all(np.isfinite(net.projections["pre_out"].synapses.weights))
    assert net.projections["pre_out"].synapses.weights.max() > 1.0


NOISY = dict(
    model="""
    dApre/dt = -Apre / 20 : 1 (event-driven)
    noise : 1 (shared)
    z : 1
    """,
    on_pre="w = clip(w + 1e-3 * (rand() - 0.5) + 1e-4 * Apre, 0, 1)\nApre += 1",
    on_post="w = clip(w + 1e-3 * randn() * rand(), 0, 1)\nnoise += randn()",
    on_step="z += 0.1 * randn() * sqrt(dt)")


def test_random_numbers_are_the_same_in_both_back_ends_and_reproducible():
    out = []
    for backend in ("compiled", "numpy", "compiled"):
        rule = as_backend(EquationRule(**NOISY), backend)
        net = Network(dt=0.1, seed=11)
        pre = net.add_poisson("pre", 40, rates=30.0)
        post = net.add_population("post", 3, LIFCond(), init={"I_ext": DRIVE})
        proj = net.connect(pre, post, SynapseMatrix.all_to_all(40, 3, weight=0.5),
                           target="g_e", rule=rule)
        net.run(200.0)
        out.append((proj.synapses.weights.copy(), rule["z"].copy(), rule["noise"]))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-12, atol=1e-15)
    assert out[0][2] == pytest.approx(out[1][2], rel=1e-12)
    np.testing.assert_array_equal(out[0][0], out[2][0])      # same seed: same bits
    # z is a random walk of 2000 steps of N(0, 0.01 dt): sd sqrt(2000 * 0.001) = 1.4
    assert 0.2 < np.std(out[0][1]) < 4.0
    # another network seed: other numbers
    rule = EquationRule(**NOISY)
    net = Network(dt=0.1, seed=12)
    pre = net.add_poisson("pre", 40, rates=30.0)
    post = net.add_population("post", 3, LIFCond(), init={"I_ext": DRIVE})
    net.connect(pre, post, SynapseMatrix.all_to_all(40, 3, weight=0.5), target="g_e",
                rule=rule)
    net.run(200.0)
    assert not np.allclose(rule["z"], out[0][1])


def test_random_number_distributions():
    from plasticity.rules._interpreter import _rand, _randn
    idx = np.arange(200000)
    u = _rand(123, 7, idx, 0)
    g = _randn(123, 7, idx, 1)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002
    assert abs(g.mean()) < 0.01 and abs(g.var() - 1.0) < 0.02
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01       # neighbours independent
    assert abs(np.corrcoef(_rand(123, 7, idx, 0), _rand(123, 8, idx, 0))[0, 1]) < 0.01


@pytest.mark.parametrize("kwargs,words", [
    (dict(model="dx/dt = -x / 10 + randn() : 1 (clock-driven)"), ["model line 1",
                                                                  "statements"]),
    (dict(model="y = rand() : 1", on_pre="w = y"), ["model line 1", "subexpressions"]),
    (dict(on_pre="w = rand(3)"), ["on_pre line 1", "rand() takes 0"]),
])
def test_random_numbers_only_in_statements(kwargs, words):
    with pytest.raises(RuleSyntaxError) as info:
        EquationRule(**kwargs)
    for w in words:
        assert w in str(info.value)


def test_post_gate_skips_only_zero_changes():
    """Clopath's on_step change is gated by its postsynaptic factors (zero on most
    steps, then skipped); written so that no gate is found, the same rule gives the
    same weights (all weights inside the bounds)."""
    gated = clopath_2010(A_LTP=8e-3, A_LTD=1e-3, w_max=200.0)
    text = dict(gated.text)
    text["on_step"] = text["on_step"].replace("w = clip(w + dt", "w = clip(0 + w + dt")
    plain = lambda: EquationRule(**text, params=gated.params, init=gated.init)  # noqa

    a = _network(lambda: clopath_2010(A_LTP=8e-3, A_LTD=1e-3, w_max=200.0), "compiled",
                 post="adex", target="I_syn_ex", weight=80.0, T=300.0)
    b = _network(plain, "compiled", post="adex", target="I_syn_ex", weight=80.0, T=300.0)
    assert a[2]._res.post_gates(a[2]._res.blocks["on_step"]) is not None
    assert b[2]._res.post_gates(b[2]._res.blocks["on_step"]) is None
    np.testing.assert_array_equal(a[0].times, b[0].times)
    np.testing.assert_allclose(a[1].synapses.weights, b[1].synapses.weights, rtol=1e-12)


@pytest.mark.parametrize("delay", [None, 4])
def test_reading_the_presynaptic_neuron(delay):
    """v_pre (the presynaptic neuron's membrane, this step, before its reset) and a
    clock-driven per-presynaptic filter of it, compiled = interpreter."""
    text = dict(model="dvf/dt = (v_pre - vf) / 5 : mV (clock-driven)",
                on_pre="w = clip(w + 1e-4 * (v_pre + 70) + 1e-5 * vf, 0, 10)",
                on_post="w = clip(w - 1e-4 * (vf + 70), 0, 10)")
    out = []
    for backend in ("compiled", "numpy"):
        rule = as_backend(EquationRule(**text), backend)
        net = Network(dt=0.1, seed=3)
        drive = net.add_poisson("drive", 50, rates=30.0)
        pre = net.add_population("pre", 8, LIFCond(), init={"I_ext": np.linspace(18, 30, 8)})
        post = net.add_population("post", 3, LIFCond(), init={"I_ext": 22.0})
        net.connect(drive, pre, SynapseMatrix.all_to_all(50, 8, weight=0.05),
                    target="g_e")
        proj = net.connect(pre, post, SynapseMatrix.all_to_all(8, 3, weight=1.0,
                                                               delay=delay),
                           target="g_e", rule=rule)
        sp = net.monitor_spikes(post)
        net.run(300.0)
        out.append((sp.times.copy(), proj.synapses.weights.copy(), rule["vf"].copy()))
    assert rule.spec.variables["vf"].where == "pre"
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-12)
    np.testing.assert_allclose(out[0][2], out[1][2], rtol=1e-12)
    assert np.ptp(out[0][1]) > 0


def test_post_ordered_weights_with_a_shared_variable():
    """A rule with a shared variable whose long runs keep the weights in post order:
    the post-order index and the shared schedule's position are different arrays
    (the code once handed the engine the latter for the former)."""
    text = dict(
        model="""dApre/dt = -Apre / 20 : 1 (event-driven)
                 dApost/dt = -Apost / 20 : 1 (event-driven)
                 d : 1 (shared)""",
        on_pre="w = clip(w - 1e-3 * Apost * (1 + d), 0, 1)\nApre += 1",
        on_post="w = clip(w + 1e-3 * Apre, 0, 1)\nApost += 1",
        on_step="d = d * 0.999")

    def make():
        rule = EquationRule(**text, init={"d": 0.5})
        rule.schedule("d", [100.0, 300.0], [1.0, 2.0])
        return rule
    sp, proj, rule = _compare(make, T=600.0, weight=0.05, target="g_i", drive=DRIVE)
    assert rule.post_ordered_weights
    assert sp.times.size > 10 and np.ptp(proj.synapses.weights) > 0


def test_a_rule_is_resolved_and_generated_once_per_projection(monkeypatch):
    """Networks run in many short pieces (a sample at a time): the rule's text is
    resolved and its C generated at the first run only."""
    from plasticity.rules import language
    calls = {"resolve": 0, "generate": 0}
    real_resolve, real_generate = language.Resolved.__init__, _codegen.generate

    def counting_resolve(self, *a, **k):
        calls["resolve"] += 1
        real_resolve(self, *a, **k)

    def counting_generate(*a, **k):
        calls["generate"] += 1
        return real_generate(*a, **k)
    monkeypatch.setattr(language.Resolved, "__init__", counting_resolve)
    monkeypatch.setattr(_codegen, "generate", counting_generate)
    net = _tiny_net(EquationRule(**PAIR))
    for _ in range(5):
        net.run(1.0)
    assert calls == {"resolve": 1, "generate": 1}
