"""The first experiment: Song, Miller & Abbott 2000 gives a bimodal weight distribution."""
import importlib.util
import os

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def load_experiment():
    path = os.path.join(HERE, "..", "experiments", "song_abbott_2000.py")
    spec = importlib.util.spec_from_file_location("song_abbott_2000", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_weights_become_bimodal():
    song = load_experiment()
    m = song.run(song.Config(duration=100_000.0), seed=3)
    assert m["bimodal"], m
    # competition: a sizeable fraction at each bound, few in the middle
    assert m["fraction_near_gmax"] > 0.1 and m["fraction_near_zero"] > 0.15
    assert 1.0 < m["output_rate_hz"] < 60.0


def test_without_depression_dominance_the_weights_do_not_split():
    """Control: with A- < A+ potentiation wins everywhere; the test above can fail."""
    song = load_experiment()
    m = song.run(song.Config(duration=50_000.0, depression_ratio=0.8), seed=3)
    assert not m["bimodal"]
    assert m["fraction_near_gmax"] > 0.9


def test_same_seed_same_weights():
    song = load_experiment()
    a = song.build(song.Config(), seed=5)
    b = song.build(song.Config(), seed=5)
    for net, _, _ in (a, b):
        net.run(2000.0)
    np.testing.assert_array_equal(a[1].weights, b[1].weights)
