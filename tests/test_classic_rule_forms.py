"""Issue 17 item 6, the classics on the new footing: the triplet rules of
pfister_gerstner_2006 written in the rule language (``rule_form = "language"``,
``STDP.to_equation_rule``) give the built-in kernels' numbers bit for bit. (Song 2000:
tests/test_song_abbott_2000.py.)"""
import os

import numpy as np
from _runfile_utils import experiment_module

HERE = os.path.dirname(os.path.abspath(__file__))


def test_pfister_gerstner_triplet_rules_in_the_language_bit_for_bit():
    pg = experiment_module("pfister_gerstner_2006")
    runs = {form: pg.run(pg.Config(frequencies=[0.1, 20.0, 50.0], n_pairs=30,
                                   rule_form=form))
            for form in ("kernel", "language")}
    a, b = runs["kernel"], runs["language"]
    assert set(a["curves"]) == set(b["curves"]) and len(a["curves"]) == 6
    for name in a["curves"]:
        assert np.abs(a["curves"][name]).max() > 0.01, name   # the rules do something
        np.testing.assert_array_equal(a["curves"][name], b["curves"][name], err_msg=name)
    assert a["post_spike_time_error_ms"] == b["post_spike_time_error_ms"] == 0.0
    assert b["max_error_vs_reference"] < 1e-9
