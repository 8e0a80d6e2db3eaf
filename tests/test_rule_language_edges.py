"""Rule-language edge cases found by the release check.

- The NumPy interpreter computed constants and parameters as Python floats: ``1/0``
  raised ZeroDivisionError, ``10**400`` OverflowError and ``(-A)**0.5`` gave a complex
  number that was stored silently, where the compiled code (C doubles) gives inf/NaN
  and the run stops with SimulationError. Both now follow IEEE float64.
- ``init`` values given as text (an expression of the parameters) failed in
  ``np.asarray(text, float)`` before they were computed; non-numeric values were found
  only at the first run with NumPy's message.
- A delay of 1e12 ms in ``delayed()`` allocated its history (MemoryError).
- A part of a statement reading only parameters and numbers with no finite value
  (``1/0``, ``10**400``, ``log(tau - 20)`` at tau = 20) ran until the first event
  (SimulationError); it is refused when the run starts, as are ``rule.params``
  missing a name of the rule (a NameError in the generated code).
- A long expression (a sum of thousands of terms) ended in RecursionError, or in the
  interpreter's "too many nested parentheses" at ~300 terms while the compiled
  backend took it.
"""
import re

import numpy as np
import pytest

from plasticity import EquationRule, Network, RuleSyntaxError, SimulationError, \
    SynapseMatrix
from plasticity.neurons import LIF
from plasticity.rules.language import MAX_DEPTH

BACKENDS = ["compiled", "numpy"]


def _net(rule, run=2.0):
    net = Network(dt=0.1, seed=1)
    src = net.add_poisson("src", 5, 200.0)
    post = net.add_population("p", 3, LIF())
    net.connect(src, post, SynapseMatrix.all_to_all(5, 3, weight=1.0), "I_syn_ex",
                rule=rule)
    if run:
        net.run(run)
    return net


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("stmt, var", [("A += 0.3\nB = (-A) ** 0.5", "B"),
                                       ("A += 0.3\nB = A / (A - A)", "B")])
def test_non_finite_arithmetic_stops_both_backends_alike(backend, stmt, var):
    rule = EquationRule(model="dA/dt = -A/tau : 1 (event-driven)\nB : 1", on_pre=stmt,
                        params=dict(tau=20.0), backend=backend)
    with pytest.raises(SimulationError, match=rf"non-finite rule variable '{var}' in "
                                              rf"projection 'src_p'"):
        _net(rule)


# release check (qa4): a part of a statement that reads only parameters and numbers
# and has no finite value (1/0, 10**400, 1/(tau - 20) with tau = 20) ran, and the
# run stopped with SimulationError at the first event; it is refused when the run
# starts, before any step, naming the line, the part and the parameters
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("stmt, part, reason", [
    ("A += 1 / 0", "1 / 0", "divide by zero"),
    ("A += 0.3\nB = 10 ** 400 * A", "10 ** 400", "overflow"),
    ("A += 0.3\nB = 1 / (tau - 20) * A", "1 / (tau - 20)", "divide by zero"),
    ("A += log(tau - 20)", "log(tau - 20)", "divide by zero"),
    ("A += sqrt(-tau)", "sqrt(-tau)", "invalid value"),
    ("A += (inf - inf) * A", "inf - inf", "invalid value"),
])
def test_constant_parts_without_a_value_are_refused_before_the_run(backend, stmt, part,
                                                                    reason):
    rule = EquationRule(model="dA/dt = -A/tau : 1 (event-driven)\nB : 1", on_pre=stmt,
                        params=dict(tau=20.0), backend=backend)
    net = _net(rule, run=0)
    with pytest.raises(ValueError, match=rf"on_pre line \d \(.*\): {re.escape(part)} is "
                                         rf"not a number for params .* \({reason}"):
        net.run(1.0)
    assert net.step == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_constant_parts_with_infinite_bounds_or_underflow_run(backend):
    rule = EquationRule(model="dA/dt = -A/tau : 1 (event-driven)",
                        on_pre="A += exp(-1000 / tau) + 1\n"
                               "w = clip(w + eta * A, -w_max, w_max * 2)",
                        params=dict(tau=0.5, eta=1e-3, w_max=np.inf), backend=backend)
    _net(rule)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rule_params_missing_a_name_are_refused_before_the_run(backend):
    rule = EquationRule(model="dA/dt = -A/tau : 1 (event-driven)", on_pre="A += 1",
                        params=dict(tau=20.0), backend=backend)
    net = _net(rule, run=0)
    rule.params = {}
    with pytest.raises(ValueError, match=r"params: \['tau'\] missing"):
        net.run(1.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_init_as_an_expression_of_the_parameters(backend):
    rule = EquationRule(model="B : 1\nC : 1", on_pre="w += 0",
                        params=dict(tau=20.0), init={"B": "2 * tau", "C": "tau * ms"},
                        backend=backend)
    _net(rule, run=0.1)
    np.testing.assert_array_equal(rule["B"], 40.0)
    np.testing.assert_array_equal(rule["C"], 20.0)


@pytest.mark.parametrize("init, exc, match", [
    ({"B": True}, TypeError, r"init of B must be real numbers \(a scalar or an array\) "
                             r"or an expression \(str\), got True"),
    ({"B": [1.0, np.inf]}, ValueError, r"init of B must be finite, got \[1.0, inf\]"),
    ({"B": "2 * ("}, RuleSyntaxError, r"init of B: '2 \* \(' is not an expression"),
    ({"B": None}, TypeError, r"init of B must be real numbers"),
])
def test_bad_init_is_refused_when_the_rule_is_built(init, exc, match):
    with pytest.raises(exc, match=match):
        EquationRule(model="B : 1", on_pre="w += B", init=init)


def test_init_naming_an_unknown_parameter_is_refused_at_connect():
    rule = EquationRule(model="B : 1", on_pre="w += B", params=dict(tau=1.0),
                        init={"B": "2 * taux"})
    with pytest.raises(ValueError, match=r"init of B: '2 \* taux' cannot be computed "
                                         r"from the parameters \(NameError"):
        _net(rule, run=0.1)


def test_rule_item_assignment_before_the_first_run_is_checked():
    rule = EquationRule(model="B : 1", on_pre="w += B")
    with pytest.raises(TypeError, match="init of B must be real numbers"):
        rule["B"] = object()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_delay_too_long_for_memory_is_refused_before_allocating(backend, monkeypatch):
    from plasticity import _memory
    monkeypatch.setattr(_memory, "available_bytes", lambda: 1_000_000)
    rule = EquationRule(
        model="dA/dt = -A/tau : 1 (event-driven)\nA_d = delayed(A, D) : 1",
        on_post="A += 1", on_pre="w += 0.001 * A_d",
        params=dict(tau=20.0, D=1000.0), backend=backend)     # 10001 x 3 doubles: ok
    _net(rule, run=1.0)
    rule2 = EquationRule(
        model="dA/dt = -A/tau : 1 (event-driven)\nA_d = delayed(A, D) : 1",
        on_post="A += 1", on_pre="w += 0.001 * A_d",
        params=dict(tau=20.0, D=1e12), backend=backend)
    with pytest.raises(ValueError, match=r"the delay of A_d \(model line 2\), steps = "
                                         r"10000000000000 needs about"):
        _net(rule2, run=1.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_expression_depth_limit(backend):
    ok = "A += " + " + ".join(["0.001 * A"] * (MAX_DEPTH - 2))
    _net(EquationRule(model="dA/dt = -A/tau : 1 (event-driven)", on_pre=ok,
                      params=dict(tau=20.0), backend=backend), run=1.0)
    for k in (MAX_DEPTH + 1, 300, 5000):
        deep = "A += " + " + ".join(["0.001 * A"] * k)
        with pytest.raises(RuleSyntaxError, match=r"on_pre line 1 .*nested too deeply"):
            EquationRule(model="dA/dt = -A/tau : 1 (event-driven)", on_pre=deep,
                         params=dict(tau=20.0), backend=backend)


def test_expression_depth_counts_substituted_subexpressions():
    half = " + ".join(["0.001 * A"] * (MAX_DEPTH // 2 + 5))
    rule = EquationRule(model=f"dA/dt = -A/tau : 1 (event-driven)\ny = {half} : 1",
                        on_pre=f"A += y + {half}", params=dict(tau=20.0))
    with pytest.raises(RuleSyntaxError, match=r"nested too deeply .*with its "
                                              r"subexpressions substituted"):
        _net(rule, run=0.0)


# release check (qa4): a schedule time beyond the step range (1e300 ms) was cast to
# int64 out of range (undefined: it became a negative step); it is held at 2**62
# steps and never reached, as a spike generator's; times and amounts that are not
# real numbers or of another length, and a gain that is not a number, are clear
# errors (they were NumPy's conversion and broadcast messages)
@pytest.mark.parametrize("backend", BACKENDS)
def test_schedules_beyond_the_step_range_are_never_reached(backend):
    from plasticity import Pair, RewardModulated, STDP, Additive  # noqa: F401
    rule = EquationRule(model="d : 1 (shared)", on_pre="w = clip(w + d, 0, 10)",
                        backend=backend)
    rule.schedule("d", [0.5, 1e300], [1.0, 5.0])
    with np.errstate(all="raise"):      # no invalid cast to int64
        _net(rule)
    assert rule["d"] == 1.0
    reward = RewardModulated(Pair(), Additive(0.0, 10.0), rewards=([1e300], [1.0]))
    with np.errstate(all="raise"):
        _net(reward)
    assert reward.modulator[0] == 0.0


@pytest.mark.parametrize("call, exc, match", [
    (lambda r: r.schedule("d", ["a"], [1.0]), TypeError,
     "schedule of 'd': times must be real numbers"),
    (lambda r: r.schedule("d", [1.0, 2.0], [1.0, 2.0, 3.0]), ValueError,
     r"schedule of 'd': amounts must be one number or one per time \(2\)"),
    (lambda r: r.add_signal("d", "p", gain="x"), TypeError,
     "add_signal: gain must be a real number, got 'x'"),
])
def test_schedule_and_signal_arguments_are_checked(call, exc, match):
    rule = EquationRule(model="d : 1 (shared)", on_pre="w = clip(w + d, 0, 10)")
    with pytest.raises(exc, match=match):
        call(rule)


# release check (qa4): an on_pre statement reading the receptor its own projection
# delivers into (g_e_post with target g_e, v_post with target v) read a value that
# changes with each synapse's delivery within the step (the compiled code runs a
# synapse's statements right after its delivery): it depended on the order of the
# synapses, and the two backends gave different weights and spikes. Refused when
# connected; on_post and on_step (after all arrivals) may read it.
@pytest.mark.parametrize("kw, target", [
    (dict(on_pre="w = clip(w + 1e-2 * g_e_post, 0, 1)"), "g_e"),
    (dict(model="c : 1", on_pre="g_i += w\nc = g_i_post"), "g_i"),
    (dict(on_pre="w = clip(w + 1e-3 * v_post, 0, 10)"), "v"),
])
def test_on_pre_reading_the_receptor_the_projection_delivers_into_is_refused(kw,
                                                                            target):
    from plasticity.neurons import IF, LIFCond
    net = Network(dt=0.1, seed=1)
    src = net.add_poisson("src", 5, 200.0)
    post = net.add_population("p", 3, IF() if target == "v" else LIFCond())
    with pytest.raises(RuleSyntaxError, match=rf"on_pre line \d \(.*\): reads "
                                              rf"'{target}_post', the receptor "
                                              rf"'{target}' projection 'src_p' delivers"):
        net.connect(src, post, SynapseMatrix.all_to_all(5, 3, weight=0.1), target,
                    rule=EquationRule(**kw))


@pytest.mark.parametrize("backend", BACKENDS)
def test_delivering_and_reading_other_variables_is_fine(backend):
    from plasticity.neurons import LIFCond
    net = Network(dt=0.1, seed=1)
    src = net.add_poisson("src", 5, 200.0)
    post = net.add_population("p", 3, LIFCond())
    rule = EquationRule(model="dx/dt = -x / 5 : 1 (event-driven)",
                        on_pre="g_e += w * (1 + x)\nx += 1\n"
                               "w = clip(w + 1e-3 * (v_post + g_i_post), 0, 1)",
                        on_post="w = clip(w + 1e-3 * g_e_post, 0, 1)",
                        backend=backend)
    net.connect(src, post, SynapseMatrix.all_to_all(5, 3, weight=0.1), "g_e", rule=rule)
    net.run(2.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_constant_parts_are_checked_again_when_the_params_change(backend):
    rule = EquationRule(model="A : 1", on_pre="A += 1 / (k - 1)", params=dict(k=2.0),
                        backend=backend)
    net = _net(rule, run=1.0)
    rule.params["k"] = 1.0
    with pytest.raises(ValueError, match=r"1 / \(k - 1\) is not a number for params "
                                         r"\{'k': 1.0\}"):
        net.run(1.0)
    rule.params["k"] = 3.0
    net.run(1.0)


# release check (qa5): initial weights outside the clip bounds of a rule whose every
# write of w clips it were clipped silently at their first update; refused at connect
# and when the first run starts, for both backends; rules without such bounds take
# any weights
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("on_pre, on_post, bounds", [
    ("w = clip(w + eta, 0, w_max)", "", (0.0, 0.5)),
    ("w = clip(w + eta, -w_max, w_max)", "w = clip(w - eta, 0.25, inf)", (0.25, 0.5)),
    ("w = clip(w + eta, 0, w_max * ms / dt)", "", (0.0, 5.0)),     # units and dt
    ("w += eta", "", None),                                        # no clip
    ("w = clip(w + eta, 0, w_max)", "w += eta", None),             # one write unclipped
    ("w = clip(w + eta, 0, v_post)", "", None),                    # not a constant
    ("w = minimum(w + eta, w_max)", "", None),                     # not clip()
])
def test_weights_outside_an_equation_rules_clip_bounds(backend, on_pre, on_post,
                                                       bounds):
    def net_of(weight):
        rule = EquationRule(on_pre=on_pre, on_post=on_post,
                            params=dict(eta=1e-3, w_max=0.5), backend=backend)
        net = Network(dt=0.1, seed=1)
        src = net.add_poisson("src", 5, 200.0)
        post = net.add_population("p", 3, LIF())
        proj = net.connect(src, post, SynapseMatrix.all_to_all(5, 3, weight=weight),
                           "I_syn_ex", rule=rule)
        return net, proj, rule

    if bounds is None:
        net, proj, rule = net_of(10.0)               # any weights: taken
        assert rule.weight_bounds(0.1) is None
        net.run(1.0)
        return
    what = (rf"weights of projection 'src_p' must be within the rule's bounds "
            rf"\(w = clip\(\.\.\., lo, hi\) in on_pre line 1.*\) = \[{bounds[0]}, "
            rf"{bounds[1]}\], got 10.0 \(synapse 0; 15 of 15 outside")
    with pytest.raises(ValueError, match="initial " + what):
        net_of(10.0)
    net, proj, rule = net_of(bounds[1])              # at the bound: taken
    assert rule.weight_bounds(0.1)[:2] == bounds
    proj.weights[:] = 10.0                           # set after connect
    with pytest.raises(ValueError, match="initial " + what):
        net.run(1.0)
    assert net.step == 0
    rule.params["w_max"] = 0.3                       # bounds lowered before the run
    proj.weights[:] = bounds[1]
    with pytest.raises(ValueError, match=r"must be within the rule's bounds"):
        net.run(1.0)
    rule.params["w_max"] = 0.5
    net.run(1.0)
    # between runs weights may leave the bounds (a normalisation, Diehl & Cook): the
    # rule clips them at their next update, by design
    proj.weights[:] = 10.0
    net.run(1.0)


def test_a_restored_run_goes_on_with_weights_past_the_bounds():
    """A run's state (Network.store at step > 0) is no initial state: weights that a
    normalisation put past the rule's bounds between runs (Diehl & Cook) continue
    after restore, as in the uninterrupted run; a state of step 0 is checked."""
    from plasticity import STDP, Additive, Pair

    def make():
        net = Network(dt=0.1, seed=1)
        src = net.add_poisson("src", 5, 200.0)
        post = net.add_population("p", 3, LIF())
        proj = net.connect(src, post, SynapseMatrix.all_to_all(5, 3, weight=0.5),
                           "I_syn_ex", rule=STDP(Pair(), Additive(0.0, 1.0)))
        return net, proj

    net, proj = make()
    at0 = net.store()
    net.run(1.0)
    proj.weights[:] = 3.0                  # past w_max between runs: taken
    state = net.store()
    net.run(1.0)
    net2, proj2 = make()
    net2.restore(state)
    net2.run(1.0)
    np.testing.assert_array_equal(proj2.weights, proj.weights)
    net3, proj3 = make()
    at0["projections"]["src_p"]["weights"][:] = 3.0
    net3.restore(at0)
    with pytest.raises(ValueError, match="initial weights of projection 'src_p'"):
        net3.run(1.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_schedule_calls_add_up_in_time_order(backend):
    # two calls, the second unsorted: the same as one sorted call (a second call
    # used to replace the first silently, and unsorted times were refused, while
    # RewardModulated.schedule_rewards merged both)
    def rule_with(*calls):
        r = EquationRule(model="d : 1 (shared)", on_pre="w = clip(w + 0 * d, 0, 10)",
                         backend=backend)
        for t, a in calls:
            r.schedule("d", t, a)
        return r
    split = rule_with(([0.5, 1.5], [1.0, 2.0]), ([1.0, 0.2], [4.0, 8.0]))
    whole = rule_with(([0.2, 0.5, 1.0, 1.5], [8.0, 1.0, 4.0, 2.0]))
    for r in (split, whole):
        _net(r, run=1.2)
    assert split["d"] == whole["d"] == 13.0
    _net(split, run=0.0)
    split.clear_schedule("d")
    net = _net(split, run=2.0)
    assert split["d"] == 0.0 and net.step == 20
    with pytest.raises(ValueError, match="zz"):
        split.clear_schedule("zz")
