"""Izhikevich 2004 Fig. 1: each of the 20 firing patterns has its signature."""
import os

import numpy as np
import pytest
from _runfile_utils import experiment_module

HERE = os.path.dirname(os.path.abspath(__file__))


izh = experiment_module("izhikevich_2003")
LETTERS = list(izh.PATTERNS)


def test_there_are_twenty_patterns():
    assert LETTERS == list("ABCDEFGHIJKLMNOPQRST")


@pytest.mark.parametrize("letter", LETTERS)
def test_figure1m_transcription_has_each_signature(letter):
    """The NumPy transcription of figure1.m shows every pattern (validates the
    protocols and the signature checks themselves)."""
    assert izh.check(letter, izh.figure1_m(letter))


@pytest.mark.parametrize("letter", LETTERS)
def test_library_model_has_each_signature(letter):
    """The library's Izhikevich model (semi-implicit Euler, as figure1.m) run by the
    engine with injected currents shows every pattern."""
    assert izh.check(letter, izh.simulate(letter))


@pytest.mark.parametrize("letter", list("PQST"))
def test_these_patterns_need_figure1m_ordering(letter):
    """Control: with plain forward Euler (u from the old v) these patterns are lost at
    figure1.m's step sizes, so the integrator choice above matters."""
    model, init, off = izh.make_model(letter)
    model.integrator = "euler"
    assert not izh.check(letter, izh.simulate(letter, model=(model, init, off)))


def test_checks_discriminate_between_patterns():
    """Control: a signature check is not passed by most other patterns' traces, so
    passing it says something (single-spike patterns share some features)."""
    traces = {k: izh.figure1_m(k) for k in LETTERS}
    for k in LETTERS:
        others = [o for o in LETTERS if o != k and izh.check(k, traces[o])]
        assert len(others) <= 7, (k, others)


def test_controls_without_the_decisive_input():
    """Rebound needs the inhibition; the resonator needs the resonant doublet; the
    integrator needs the close pair; threshold variability needs the preceding
    inhibition: without them, no spike."""
    t = np.arange(0, 400, 0.25)
    for letter, current in [
            ("M", lambda t: np.zeros_like(t)),
            ("K", lambda t: izh._pulses(t, [40.0, 60.0, 280.0], 4.0, 0.65)),
            ("L", lambda t: izh._pulses(t, [70.0, 80.0], 2.0, 9.0)),
            ("O", lambda t: izh._pulses(t, [10.0, 80.0], 5.0, 1.0))]:
        spec = list(izh.PATTERNS[letter])
        spec[-1] = current
        old = izh.PATTERNS[letter]
        izh.PATTERNS[letter] = tuple(spec)
        try:
            assert izh.figure1_m(letter)[3].size == 0, letter
            assert izh.simulate(letter)[3].size == 0, letter
        finally:
            izh.PATTERNS[letter] = old


def test_library_follows_figure1m_where_the_orders_agree():
    """Tonic spiking and Class 1: same spike count as figure1.m, times within 2 ms."""
    for letter in "AG":
        lib, ref = izh.simulate(letter)[3], izh.figure1_m(letter)[3]
        assert lib.size == ref.size
        assert np.abs(lib - ref).max() < 2.0


def test_accommodation_variant_is_the_published_equation():
    """The shifted-voltage variant of R equals figure1.m's u' = a b (V + 65) with
    figure1.m's update order, computed here directly."""
    t, v, I, st = izh.simulate("R")
    V, u, a, b, tau = -65.0, -16.0, 0.02, 1.0, 0.5
    out = []
    for j in range(t.size):
        Vn = V + tau * (0.04 * V * V + 5 * V + 140 - u + I[j])
        u = u + tau * a * b * (Vn + 65.0)   # semi-implicit, as figure1.m
        V = Vn
        if V >= 30:
            V, u = -55.0, u + 4.0
            out.append(30.0)
        else:
            out.append(V)
    # the monitor samples v at the start of a step: v[j + 1] is the state after update j
    np.testing.assert_allclose(v[1:], out[:-1], atol=1e-4)
