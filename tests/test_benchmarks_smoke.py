"""Smoke test of the benchmark scripts: our side of each, in quick mode, in-process.

No timing assertions (benchmarks are never timed tests) and no Brian2 (except one
``peer`` test of ``threads.py --brian2``, skipped without Brian2 and g++): this only
checks that the benchmark models build, run and behave (B1's neuron fires, B2's
outputs fire at 20-60 Hz at gmax 0.015, B3's excitatory neurons spike and learn) and
that threads.py reports what it measured.
"""
import os
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

b1 = pytest.importorskip("benchmarks.b1_song")
b2 = pytest.importorskip("benchmarks.b2_scaled")
b3 = pytest.importorskip("benchmarks.b3_diehl_cook")


def test_b1_song_quick_output_fires_and_weights_move():
    c = dict(b1.CONFIG, **b1.QUICK)
    r = b1.ours_run(c)
    assert r["nnz"] == 1000
    assert 5.0 < r["out_rate_hz"] < 150.0
    assert r["sim_cpu_s"] >= 0.0 and r["build_s"] >= 0.0
    # initial U[0, gmax): about 10% in each edge bin; STDP has started to move them
    assert 0.0 < r["frac_near_0"] < 1.0 and 0.0 < r["frac_near_gmax"] < 1.0


def test_b2_scaled_quick_outputs_fire_near_40_hz():
    c = dict(b2.CONFIG, **b2.QUICK)
    r = b2.ours_run(c)
    assert abs(r["nnz"] - 1_000_000) < 5_000
    assert 20.0 <= r["out_rate_hz"] <= 60.0


def test_b3_diehl_cook_quick_excitatory_neurons_spike():
    c = dict(b3.CONFIG, n_samples=1, n_warmup=1)
    r = b3.ours_run(c)
    assert r["exc_spikes_per_sample"] > 0
    assert r["theta_mean_mV"] > 0.0          # the adaptive threshold moved
    # weights were normalised to column sums 78 (mean 78/784) before the sample
    assert r["w_mean"] == pytest.approx(78.0 / 784, rel=0.05)


def test_b3_images_are_digit_like():
    imgs, source = b3.load_images(3)
    assert imgs.shape == (3, 784) and imgs.dtype == np.uint8
    assert source in ("MNIST", "random strokes")
    assert imgs.max() > 200 and (imgs == 0).mean() > 0.5


rl = pytest.importorskip("benchmarks.rule_language")


def test_rule_language_pair_quick_equals_the_builtin():
    """B1 in quick mode: the pair rule written in the language gives the built-in's
    run (same output rate, same mean weight)."""
    c = dict(rl.case_configs(quick=True)["b1"], duration=500.0)
    a = rl.run_case("b1", c, "built-in")
    b = rl.run_case("b1", c, "language")
    assert a["nnz"] == b["nnz"] == 1000
    assert a["out_rate_hz"] == b["out_rate_hz"] > 0
    assert b["w_mean"] == pytest.approx(a["w_mean"], rel=1e-12)
    assert b["sim_cpu_s"] >= 0.0 and b["build_s"] >= 0.0


def test_rule_language_hand_written_baselines_equal_the_language(tmp_path):
    """The Cython baselines compile and compute what the library's rules compute."""
    pytest.importorskip("Cython")
    d = str(tmp_path / "cython")
    rl.build_cython_rules(d)
    cfg = rl.case_configs(quick=True)
    c = dict(cfg["vs"], duration=100.0)
    a = rl.run_case("vs", c, "Cython by hand", d)
    b = rl.run_case("vs", c, "language", d)
    assert a["out_rate_hz"] == b["out_rate_hz"] > 0
    assert b["w_mean"] == pytest.approx(a["w_mean"], rel=1e-12)
    c = dict(cfg["clopath"], duration=100.0)
    runs = [rl.run_case("clopath", c, v, d)
            for v in ("Cython by hand", "language", "Cython, every synapse")]
    assert runs[0]["out_rate_hz"] > 0
    for r in runs[1:]:
        assert r["out_rate_hz"] == runs[0]["out_rate_hz"]
        assert r["w_mean"] == pytest.approx(runs[0]["w_mean"], rel=1e-12)


def test_rule_language_compile_case_reports_times(tmp_path, monkeypatch):
    monkeypatch.setenv("PLASTICITY_CACHE", str(tmp_path / "a"))
    r = rl.compile_case("vogels_sprekeler", second_cache=str(tmp_path / "b"))
    assert r["code_s"] > 0 and r["first_run_s"] > 0 and r["c_lines"] > 20
    assert os.listdir(tmp_path / "b" / "rules")     # compiled into the second cache


th = pytest.importorskip("benchmarks.threads")


def _threads_json(tmp_path, *args):
    out = tmp_path / "threads.json"
    assert th.main(["--skip-b3", "--repeats", "1", "--json", str(out), *args]) == 0
    import json
    info, b2res = json.loads(out.read_text())
    return info, b2res


@pytest.mark.parametrize("ms, post_ordered", [(500.0, True), (100.0, False)])
def test_threads_b2_small_states_the_engine_path(tmp_path, ms, post_ordered):
    # 5,000 steps (500 ms at dt 0.1) is the threshold of the post-ordered weights
    info, r = _threads_json(tmp_path, "--synapses", "2e4", "--b2-ms", str(ms),
                            "--threads", "1,2")
    assert r["steps_per_run"] == round(ms / 0.1)
    assert r["post_ordered_weights"] is post_ordered
    assert abs(r["nnz"] - 20_000) < 1_000 and r["n_out"] == 20
    assert set(r["median_s"]) == {"ours 1", "ours 2"}
    assert all(v > 0 for v in r["median_s"].values())
    assert "brian2_over_ours" not in r


def test_threads_rejects_bad_thread_list():
    with pytest.raises(SystemExit):
        th.main(["--threads", "0,2", "--skip-b3"])


@pytest.mark.slow
@pytest.mark.peer
def test_threads_brian2_side_runs_and_is_compared(tmp_path):
    from benchmarks import common
    if not common.brian2_available():
        pytest.skip("brian2 or g++ not available")
    info, r = _threads_json(tmp_path, "--synapses", "2e4", "--b2-ms", "20",
                            "--threads", "1", "--brian2")
    assert set(r["median_s"]) == {"ours 1", "brian2 1"}
    assert r["median_s"]["brian2 1"] > 0
    assert r["brian2_over_ours"]["1"] == pytest.approx(
        r["median_s"]["brian2 1"] / r["median_s"]["ours 1"], rel=0.01)
    assert r["brian2"]["1"]["peak_rss_mb"] > 0


def test_run_overhead_parts_add_up_and_are_put_back():
    from benchmarks import run_overhead
    from plasticity import network as nw
    before = (nw.Network.__dict__["_build"], nw.PoissonGroup.__dict__["rates"])
    med = run_overhead.main(["--repeats", "1", "--threads", "1,2"])
    assert (nw.Network.__dict__["_build"], nw.PoissonGroup.__dict__["rates"]) == before
    for n in (1, 2):
        m = med[n]
        assert m["_build"] > 0 and m["_check_engine_arrays"] > 0 and m["normalize"] > 0
        assert m["steps + rest of run"] > 0
        parts = sum(m[p] for p in run_overhead.PARTS) + m["normalize"] + m["rates"]
        assert m["serial"] == pytest.approx(parts)
        assert m["serial"] + m["steps + rest of run"] <= m["sample"] * 1.0001
