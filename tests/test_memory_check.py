"""plasticity._memory.check: refuses what cannot fit, asks /proc/meminfo only for
totals above _ALWAYS_FITS; Network.run's delay-history estimate goes through it."""
import numpy as np
import pytest

from plasticity import Network, SynapseMatrix, _memory
from plasticity.neurons import LIF


def test_small_totals_do_not_read_meminfo(monkeypatch):
    calls = []
    monkeypatch.setattr(_memory, "available_bytes", lambda: calls.append(1) or 1)
    half = _memory._ALWAYS_FITS // 2
    _memory.check({"a": (3, half), "b": (1, half)})
    assert calls == []
    with pytest.raises(ValueError, match=r"^a = 3 needs about .* more than the 1 B"):
        _memory.check({"a": (3, _memory._ALWAYS_FITS), "b": (1, 1)}, what="")
    assert calls == [1]


def test_check_refuses_the_costliest_part(monkeypatch):
    monkeypatch.setattr(_memory, "available_bytes", lambda: 10 * _memory._ALWAYS_FITS)
    _memory.check({"x": (1, 9 * _memory._ALWAYS_FITS)})
    with pytest.raises(ValueError, match=r"config key 'y' = 7 needs about"):
        _memory.check({"x": (1, 5 * _memory._ALWAYS_FITS),
                       "y": (7, 6 * _memory._ALWAYS_FITS)}, what="config key ")
    monkeypatch.setattr(_memory, "available_bytes", lambda: None)  # unknown: runs
    _memory.check({"x": (1, 100 * _memory._ALWAYS_FITS)})


def test_run_refuses_a_delay_history_that_cannot_fit(monkeypatch):
    net = Network(dt=1.0, seed=0)
    a = net.add_poisson("a", 1000, 5.0)
    b = net.add_population("b", 2, LIF())
    delays = np.zeros(2000, np.int32)
    delays[7] = 3000
    net.connect(a, b, SynapseMatrix.all_to_all(1000, 2, weight=0.1, delay=delays),
                "I_syn_ex")
    # (3000 + 2) steps x 1000 neurons x 12 B = 36 MB > _ALWAYS_FITS: asked, refused
    monkeypatch.setattr(_memory, "available_bytes", lambda: 30 * 10**6)
    with pytest.raises(ValueError, match=r"projection 'a_b': delay \(steps\) = 3000 "
                                         r"needs about 36"):
        net.run(1.0)
    monkeypatch.setattr(_memory, "available_bytes", lambda: 40 * 10**6)
    net.run(1.0)
