"""A rule-language rule whose state becomes non-finite stops the run naming where.

- The NumPy interpreter runs step by step and is checked after every step: the
  message names that step ("at step 54"; it said "between steps 54 and 55").
- The compiled code runs segments of up to 20000 steps and is checked after each: the
  message names the steps of the segment, first and last, that the check after the
  last found it, and how to get the step (the NumPy backend, or run() one dt at a
  time). It said "between steps 0 and 400", which read as steps 0 to 400 where the
  rule had run steps 0 to 399. (Naming the step there needs a test at every store of
  the generated loops, or a replay of the segment from a copy of the whole state
  taken before every segment; the first cost 3-12 % of a run's CPU time, measured,
  and is not made.)
- A long run (>= 5000 steps) keeps the weights of a rule that changes w at
  postsynaptic spikes in post-synaptic order; the check then returned early when
  those weights were finite, and the rule's variables were never checked: a
  non-finite one went unreported to the end of the run.
"""
import numpy as np
import pytest

from plasticity import EquationRule, Network, SimulationError, SynapseMatrix
from plasticity.neurons import LIF


def _run(rule, steps=400, threads=None):
    net = Network(dt=0.1, seed=3, **({"threads": threads} if threads else {}))
    src = net.add_poisson("src", 20, 50.0)
    post = net.add_population("p", 4, LIF())
    proj = net.connect(src, post, SynapseMatrix.all_to_all(20, 4, weight=1.0),
                       "I_syn_ex", rule=rule)
    net.run(steps * 0.1)
    return net, proj


def _first_nth_spike(n):
    """The first step at which a presynaptic neuron of _run's network spikes for the
    n-th time (the same seed: the same Poisson trains)."""
    net = Network(dt=0.1, seed=3)
    src = net.add_poisson("src", 20, 50.0)
    mon = net.monitor_spikes(src)
    net.run(600.0)
    steps = [np.sort(np.round(mon.times[mon.ids == i] / 0.1).astype(int)) for i in range(20)]
    return min(s[n - 1] for s in steps if s.size >= n)


# A counts a synapse's presynaptic spikes; B becomes inf at a neuron's third spike and
# stays so (inf + anything finite), w at its second
RULES = {
    "B": dict(model="A : 1\nB : 1", on_pre="A += 1\nB = B + 1 / (A - 3)"),
    "w": dict(model="A : 1", on_pre="A += 1\nw = w + 1 / (A - 2)"),
}
WHAT = {"B": "rule variable 'B'", "w": "weight"}


@pytest.mark.parametrize("var", sorted(RULES))
def test_the_numpy_backend_names_the_step(var):
    want = _first_nth_spike(3 if var == "B" else 2)
    rule = EquationRule(**RULES[var], backend="numpy")
    with pytest.raises(SimulationError, match=rf"non-finite {WHAT[var]} in projection "
                                              rf"'src_p' \(.*\) at step {want} "
                                              rf"\(t = {want * 0.1:g} ms\)$"):
        _run(rule)


SEGMENT = (r"in one of steps {a} to {b} \(t = {ta:g} to {tb:g} ms\): found by the check "
           r"after step {b}; compiled rules are checked once per run segment, not per "
           r"step \(EquationRule\(backend='numpy'\), or run\(\) one dt at a time, names "
           r"the step\)")


@pytest.mark.parametrize("threads", [1, 2])
def test_the_compiled_backend_names_the_steps_of_the_segment(threads):
    want = _first_nth_spike(3)
    assert 0 < want <= 399
    rule = EquationRule(**RULES["B"])
    where = SEGMENT.format(a=0, b=399, ta=0, tb=39.9)
    with pytest.raises(SimulationError, match=r"non-finite rule variable 'B' in "
                                              r"projection 'src_p' \(index \d+\) "
                                              + where + "$"):
        _run(rule, threads=threads)
    # one dt at a time, each run() is a segment of one step: the step itself
    net = Network(dt=0.1, seed=3, threads=threads)
    src = net.add_poisson("src", 20, 50.0)
    post = net.add_population("p", 4, LIF())
    net.connect(src, post, SynapseMatrix.all_to_all(20, 4, weight=1.0), "I_syn_ex",
                rule=EquationRule(**RULES["B"]))
    with pytest.raises(SimulationError, match=rf"\(index \d+\) at step {want} "
                                              rf"\(t = {want * 0.1:g} ms\)$"):
        for _ in range(400):
            net.run(0.1)


@pytest.mark.parametrize("backend, threads", [("compiled", 1), ("compiled", 2),
                                              ("numpy", None)])
def test_rule_variables_of_post_ordered_weights_are_checked(backend, threads):
    want = _first_nth_spike(20)
    rule = EquationRule(model="A : 1\nB : 1", on_pre="A += 1\nB = B + 1 / (A - 20)",
                        on_post="w = clip(w + 0.001, 0, 2)", backend=backend)
    where = (rf"at step {want} " if backend == "numpy"
             else SEGMENT.format(a=0, b=5999, ta=0, tb=599.9))
    with pytest.raises(SimulationError, match=rf"non-finite rule variable 'B' in "
                                              rf"projection 'src_p' \(index \d+\) {where}"):
        _run(rule, steps=6000, threads=threads)
    if backend == "compiled":
        assert rule.post_ordered_weights      # the path that skipped the check


# release check (qa4): a compiled rule whose weight became inf delivered it at the
# next spike; the engine stopped on the neuron's v and the message named only the
# population, not the projection whose weights caused it (the NumPy backend, checked
# after every step, named the weights): it names both now
@pytest.mark.parametrize("threads", [1, 2])
def test_a_non_finite_neuron_names_the_non_finite_weights_of_its_segment_too(threads):
    rule = EquationRule(on_pre="w *= 1e100")
    with pytest.raises(SimulationError, match=r"non-finite v in population 'p' \(neuron "
                                              r"\d\) at step \d+ .*; also non-finite "
                                              r"weight in projection 'src_p' \(synapse "
                                              r"\d+\) in one of steps 0 to (\d+) "
                                              r"\(t = 0 to [\d.]+ ms\): found by the "
                                              r"check after step \1;"):
        _run(rule, threads=threads)


def test_a_non_finite_neuron_alone_is_named_alone():
    net = Network(dt=0.1, seed=3, threads=1)
    post = net.add_population("p", 4, LIF())
    net.add_callback(lambda n, step: post.state.__setitem__(
        (0, 2), np.inf) if step == 5 else None)
    with pytest.raises(SimulationError, match=r"non-finite v in population 'p' \(neuron "
                                              r"2\) at step 6 \(t = 0.6 ms\)$"):
        net.run(1.0)
