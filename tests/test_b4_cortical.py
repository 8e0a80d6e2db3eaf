"""B4 (benchmarks/b4_cortical.py) at small scale: our side builds the model it says
(in-degrees, no autapses, weights, delays, the STDP projection), runs, and its memory
accounting is consistent. No timing assertions, no NEST (benchmarks only)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import _runfile_utils  # noqa: E402

b4 = pytest.importorskip("benchmarks.b4_cortical")


def test_model_scaling():
    full = b4.model(1.0)
    assert (full["N_E"], full["N_I"], full["K_E"], full["K_I"]) == (64000, 16000, 3000, 750)
    assert full["n_syn"] == 300_000_000 and full["n_stdp"] == 192_000_000
    assert full["I_e"] == pytest.approx(b4.BASE["I_e"])   # no compensation at scale 1
    c = b4.model(0.25)
    assert (c["N_E"], c["K_E"], c["K_I"]) == (16000, 750, 188)
    assert c["J"] == pytest.approx(2 * full["J"])
    # the bias current makes up the mean recurrent input lost at the nominal rate
    per = c["tau_syn"] * c["tau_m"] / c["C_m"] * c["nu0"] * 1e-3
    mu = lambda d: (d["K_E"] - d["g"] * d["K_I"]) * d["J"] * per  # noqa: E731
    assert (c["I_e"] - full["I_e"]) * c["tau_m"] / c["C_m"] == pytest.approx(
        mu(full) - mu(c))
    assert c["a_minus"] == pytest.approx(c["alpha"] * c["lam"] * 2 * c["J"])
    for bad in (0, -0.1, 1.5, "1"):
        with pytest.raises(ValueError, match="scale"):
            b4.model(bad)
    with pytest.raises(ValueError, match="drive must be one of"):
        b4.model(0.1, drive="dc")


def test_isi_stats_match_a_loop():
    rng = np.random.default_rng(3)
    n, T = 7, 1000.0
    times = np.sort(rng.uniform(0, T, 200))
    ids = rng.integers(0, n, 200)
    rate, cv, k = b4._stats(times, ids, n, T)
    assert rate == pytest.approx(200 / n)
    cvs = []
    for i in range(n):
        t = np.sort(times[ids == i])
        if len(t) >= 3:
            isi = np.diff(t)
            cvs.append(isi.std() / isi.mean())
    assert k == len(cvs) and cv == pytest.approx(np.mean(cvs))


@pytest.mark.parametrize("drive", ["input", "sources"])
def test_ours_builds_the_model_and_runs(drive):
    c = b4.model(0.05, duration=300.0, drive=drive)  # below ~0.04 it falls silent
    net, (mE, mI), projs = b4.ours_build(c, threads=1)
    by = {p.name: p for p in projs}
    rec = {"I_I", "I_E", "E_I", "E_E"}
    assert set(by) == (rec if drive == "input" else rec | {"XE_E", "XI_I"})
    NE, NI, KE, KI = c["N_E"], c["N_I"], c["K_E"], c["K_I"]
    d = round(c["delay"] / c["dt"])
    for name, K, n_post, w in (("E_E", KE, NE, c["J"]), ("E_I", KE, NI, c["J"]),
                               ("I_E", KI, NE, -c["g"] * c["J"]),
                               ("I_I", KI, NI, -c["g"] * c["J"])):
        s = by[name].synapses
        assert s.nnz == n_post * K
        assert np.array_equal(np.diff(s.post_ptr), np.full(n_post, K))  # in-degree
        assert s.dtype == np.float32 and s.delays is None and s.delay == d
        assert np.all(s.weights == np.float32(w))
        assert s.nbytes / s.nnz <= 16.0 + 8.0 * (s.n_pre + s.n_post + 2) / s.nnz
    for name in ("E_E", "I_I"):   # no autapses
        s = by[name].synapses
        assert not np.any(s.pre_ids() == s.indices)
    assert by["E_E"].rule is not None and all(
        p.rule is None for p in projs if p.name != "E_E")
    if drive == "sources":   # the external drive: n_ext sources per neuron, one synapse each
        x = by["XE_E"].synapses
        assert x.shape == (NE * c["n_ext"], NE)
        assert np.array_equal(np.bincount(x.indices, minlength=NE),
                              np.full(NE, c["n_ext"]))
        assert not net.poisson_inputs
    else:                    # n_ext Poisson sources of rate_ext per neuron, no synapses
        assert set(net.poisson_inputs) == {"XE", "XI"}
        for name, pop in (("XE", "E"), ("XI", "I")):
            inp = net.poisson_inputs[name]
            assert inp.target is net.populations[pop] and inp.target_var == "I_syn_ex"
            assert inp.N == c["n_ext"] and inp.weight == c["J_ext"]
            assert np.all(inp.rate == c["rate_ext"])
    w0 = by["E_E"].synapses.weights.copy()
    net.run(c["duration"], progress=False)
    rate = len(mE.times) / NE / 0.3
    assert 1.0 < rate < 20.0 and len(mI.times) > 0       # a few Hz
    w1 = by["E_E"].synapses.weights
    assert not np.array_equal(w0, w1)                       # STDP acted
    assert w1.min() >= 0.0 and w1.max() <= c["Wmax"]


def test_benchmark_ours_side_memory_accounting(tmp_path):
    out = tmp_path / "b4.json"
    subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "b4_cortical.py"),
                    "--scale", "0.02", "--threads", "1", "--sides", "ours",
                    "--duration", "100", "--json", str(out)],
                   check=True, cwd=ROOT, env=_runfile_utils.env(), capture_output=True,
                   text=True)
    rows = json.loads(out.read_text())["rows"]
    assert len(rows) == 1
    r = rows[0]
    c = b4.model(0.02)
    assert r["nnz"] == c["n_syn"] and r["rec_nnz"] == c["n_syn"]   # no drive synapses
    assert r["drive"] == "input"
    assert r["bytes_per_synapse"] == pytest.approx(r["matrix_bytes"] / r["nnz"])
    assert 16.0 <= r["bytes_per_synapse"] < 17.0
    # the peaks: the child's own view and the one GNU time / wait4 reports
    assert r["rss_start"] <= r["rss_after_build"] <= r["rss_peak_self"]
    assert r["peak_rss_bytes"] >= 0.9 * r["rss_peak_self"]
    assert r["peak_rss_bytes"] > r["matrix_bytes"]
    assert r["sim_cpu_s"] > 0 and r["build_wall_s"] > 0
    assert np.isfinite(r["rate_E"]) and r["rate_E"] >= 0 and r["threads"] == 1


def test_chunked_mean_std_matches_numpy():
    w = np.random.default_rng(5).uniform(0, 200, 1000).astype(np.float32)
    m, s = b4._mean_std(w, chunk=97)
    assert m == pytest.approx(np.mean(w, dtype=np.float64), rel=1e-12)
    assert s == pytest.approx(np.std(w, dtype=np.float64), rel=1e-9)
