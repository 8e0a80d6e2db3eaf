"""The run file: writing, reading, errors, checkpoints (plasticity/results.py)."""
import json
import os
import re
import shutil

import h5py
import numpy as np
import pytest
import scipy.sparse

from plasticity import results, runner
from plasticity.results import Recorder, RunFileError, load

from _runfile_utils import REPO, TOY, assert_same_run

CFG = {"a": 1, "nested": {"tau": 20.0, "name": "x"}, "lst": [1, 2]}


def _csr(rng, n_pre=6, n_post=5, p=0.5, dtype=np.float32):
    m = scipy.sparse.random_array((n_pre, n_post), density=p, format="csr", rng=rng,
                                  dtype=dtype)
    m.sort_indices()
    return m


def _write_demo(path, rng=None):
    rng = rng or np.random.default_rng(0)
    W = _csr(rng)
    with Recorder(path, experiment="demo", config=CFG, seed=7) as rec:
        rec.add_population("exc", "LIF", 10, {"tau_m": 20.0})
        rec.add_population("inp", "poisson", 6)
        for k in range(3):
            t = np.sort(rng.uniform(100 * k, 100 * (k + 1), 20))
            rec.append_spikes("exc", t, rng.integers(0, 10, 20), t_stop=100.0 * (k + 1))
        rec.set_synapses("inp_to_exc", W.indptr, W.indices, W.data, W.shape, "inp", "exc",
                         rule="stdp_pair_additive", rule_params={"tau_plus": 20.0},
                         pre_shape=(2, 3), units="nS")
        snaps = []
        for k in range(4):
            d = (W.data * (k + 1)).astype(np.float32)
            snaps.append(d)
            rec.append_weight_snapshot("inp_to_exc", 10.0 * k, d)
        rec.append_state("mon", "v", [0.0, 1.0], np.zeros((2, 3)), units="mV")
        rec.append_state("mon", "v", [2.0], np.ones((1, 3)))
        rec.append_state("mon", "g", [0.0, 1.0, 2.0], np.full((3, 3), 2.0))
        rec.metric("accuracy", 0.93, units="1")
        rec.metric("curve/train", np.arange(5.0))
        rec.metric("label", "hello")
        rec.features("feat", np.arange(12.0).reshape(3, 4))
        rec.headline({"accuracy": 0.93})
        assert os.path.exists(path + ".partial") and not os.path.exists(path)
    return W, snaps


def test_roundtrip_all_groups(tmp_path):
    path = str(tmp_path / "demo.h5")
    W, snaps = _write_demo(path)
    assert os.path.exists(path) and not os.path.exists(path + ".partial")
    with load(path) as run:
        assert (run.experiment, run.seed, run.status) == ("demo", 7, "complete")
        assert run.attrs["format"] == "plasticity-run" and run.attrs["format_version"] == 1
        for key in ("plasticity_version", "created", "python_version", "numpy_version",
                    "h5py_version"):
            assert key in run.attrs
        assert run.config == CFG
        assert run.populations["exc"] == {"model": "LIF", "n": 10,
                                          "parameters": {"tau_m": 20.0}}
        t, ids = run.spikes("exc")
        assert t.dtype == np.float64 and ids.dtype == np.int64 and t.shape == (60,)
        assert np.all(np.diff(t) >= 0)
        assert run.time_range("exc") == (0.0, 300.0)
        w_last = run.weights("inp_to_exc")
        assert isinstance(w_last, scipy.sparse.csr_array)
        assert np.array_equal(w_last.toarray(), (W * 4).astype(np.float32).toarray())
        assert np.array_equal(run.weights("inp_to_exc", snapshot=0).data, snaps[0])
        assert np.array_equal(run.weights("inp_to_exc", snapshot=None).toarray(),
                              W.toarray())
        assert np.array_equal(run.weight_times("inp_to_exc"), [0.0, 10.0, 20.0, 30.0])
        proj = run.projections["inp_to_exc"]
        assert proj["shape"] == (6, 5) and proj["rule"] == "stdp_pair_additive"
        assert proj["rule_parameters"] == {"tau_plus": 20.0} and proj["n_snapshots"] == 4
        assert proj["pre_shape"] == (2, 3)
        times, vars_ = run.state("mon")
        assert np.array_equal(times, [0.0, 1.0, 2.0])
        assert np.array_equal(vars_["v"], np.r_[np.zeros((2, 3)), np.ones((1, 3))])
        assert vars_["g"].shape == (3, 3)
        assert run.metrics["accuracy"] == 0.93 and run.metrics["label"] == "hello"
        assert np.array_equal(run.metrics["curve/train"], np.arange(5.0))
        assert run.metric_attrs("accuracy")["units"] == "1"
        assert run.headline == ["accuracy"]
        assert np.array_equal(run.features["feat"], np.arange(12.0).reshape(3, 4))
        with pytest.raises(IndexError, match="4 weight snapshots"):
            run.weights("inp_to_exc", snapshot=4)
    with h5py.File(path) as f:  # layout details of DESIGN.md
        s = f["spikes/exc"]
        assert s.attrs["sorting"] == "by_time" and s.attrs["units"] == "ms"
        assert s["timestamps"].attrs["units"] == "ms"
        g = f["synapses/inp_to_exc"]
        assert g.attrs["encoding-type"] == "csr_matrix"
        assert list(g.attrs["shape"]) == [6, 5] and g.attrs["pre"] == "inp"
        ds = g["snapshots/weights"]
        assert ds.chunks is not None and ds.compression == "gzip"
        assert f["config"].attrs["nested.tau"] == 20.0
        assert json.loads(f["config/json"][()]) == CFG


def test_spikes_are_streamed_not_kept_in_memory(tmp_path):
    path = str(tmp_path / "s.h5")
    rec = Recorder(path, experiment="x", config={}, seed=0)
    rec.add_population("p", "LIF", 100)
    block = 1000
    for k in range(3 * results._BUFFER // block):
        rec.append_spikes("p", np.full(block, float(k)), np.arange(block) % 100)
    on_disk = rec.file["spikes/p/timestamps"].shape[0]
    buffered = rec._app["spikes/p/timestamps"].pending_size
    assert buffered < results._BUFFER  # bounded buffer ...
    assert on_disk >= 2 * results._BUFFER  # ... the rest is in the file already
    rec.close()
    assert load(path).spikes("p").times.shape == (3 * results._BUFFER // block * block,)


def test_unsorted_spikes_are_marked(tmp_path):
    path = str(tmp_path / "u.h5")
    with Recorder(path, experiment="x", config={}, seed=0) as rec:
        rec.add_population("p", "LIF", 3)
        rec.append_spikes("p", [5.0, 6.0], [0, 1])
        rec.append_spikes("p", [1.0], [2])
    with h5py.File(path) as f:
        assert f["spikes/p"].attrs["sorting"] == "none"


def test_failure_keeps_partial_and_never_writes_h5(tmp_path):
    path = str(tmp_path / "f.h5")
    with pytest.raises(ZeroDivisionError):
        with Recorder(path, experiment="x", config={}, seed=0) as rec:
            rec.add_population("p", "LIF", 3)
            1 / 0
    assert not os.path.exists(path)
    assert os.path.exists(path + ".partial")
    with pytest.raises(RunFileError, match="not a complete run"):
        load(path + ".partial")
    with load(path + ".partial", allow_partial=True) as run:
        assert run.status == "failed"
        assert "ZeroDivisionError" in run.attrs["error"]
    with pytest.raises(RunFileError, match="did not finish"):
        load(path)


@pytest.mark.parametrize("call, match", [
    (lambda r: r.append_spikes("nope", [1.0], [0]), "unknown population 'nope'"),
    (lambda r: r.append_spikes("p", [1.0], [3]), "node id 3 out of range"),
    (lambda r: r.append_spikes("p", [np.nan], [0]), "finite"),
    (lambda r: r.append_spikes("p", [1.0, 2.0], [0]), "same length"),
    (lambda r: r.set_synapses("w", [0, 1], [0], [1.0], (2, 2), "p", "p"), "indptr must have"),
    (lambda r: r.set_synapses("w", [0, 1, 1], [5], [1.0], (2, 2), "p", "p"), r"\[0, 2\)"),
    (lambda r: r.set_synapses("w", [0, 1, 0], [0], [1.0], (2, 2), "p", "p"), "non-decreasing"),
    (lambda r: r.append_weight_snapshot("w", 0.0, [1.0]), "unknown projection 'w'"),
    (lambda r: r.add_population("p", "LIF", 4), "already exists"),
    (lambda r: r.add_population("a/b", "LIF", 4), "without '/'"),
    (lambda r: r.append_state("m", "v", [0.0], np.zeros((2, 3))), "values must have shape"),
    # release check (qa4): append_spikes took t_stop = inf or nan, which set_t_stop
    # refuses (a file whose rates() failed with 'Maximum allowed size exceeded');
    # strings ended in NumPy's conversion messages; NaN state times were stored;
    # headline(3) was an AttributeError
    (lambda r: r.append_spikes("p", [1.0], [0], t_stop=np.inf),
     "t_stop of 'p' must be a finite time in ms, got inf"),
    (lambda r: r.append_spikes("p", [1.0], [0], t_stop=np.nan),
     "t_stop of 'p' must be a finite time in ms, got nan"),
    (lambda r: r.append_spikes("p", ["a"], [0]),
     r"spikes of 'p': times_ms must be real numbers, got <U1"),
    (lambda r: r.append_spikes("p", [1.0], ["a"]),
     r"spikes of 'p': node_ids must be integers, got <U1"),
    (lambda r: r.append_state("m", "v", [np.nan], np.zeros((1, 3))),
     r"state m/v: times must be finite \(ms\), got nan"),
    (lambda r: r.headline(3), r"metrics must be a dict of name -> value, got 3 \(int\)"),
    # release check (qa5): a checkpoint's step was int(step): -1 taken (a resume at
    # step -1), 1.5 truncated, True taken as 1, NaN 'cannot convert float NaN to
    # integer'; add_population stored t_start = nan
    (lambda r: r.checkpoint(-1, {}, force=True),
     r"step must be an integer in \[0, inf\], got -1"),
    (lambda r: r.checkpoint(1.5, {}, force=True), r"step must be an integer, got 1.5"),
    (lambda r: r.checkpoint(True, {}, force=True), r"step must be an integer, got True"),
    (lambda r: r.checkpoint(float("nan"), {}, force=True),
     r"step must be an integer, got nan"),
    (lambda r: r.add_population("q", "LIF", 3, t_start=np.nan),
     r"t_start of 'q' must be a finite time in ms, got nan"),
    # node ids < 0 or not one per column were stored as given; strings and shapes
    # ended in NumPy's, int()'s or h5py's messages; pre_shape (-1, -3) was taken (its
    # product is n_pre)
    (lambda r: r.append_state("m", "v", [0.0], np.zeros((1, 2)), node_ids=[-1, 7]),
     r"state m/v: node_ids must be 2 integers >= 0 \(one per column of values\), got "
     r"\[-1, 7\]"),
    (lambda r: r.append_state("m", "v", [0.0], np.zeros((1, 2)), node_ids=[0, 1, 2]),
     r"node_ids must be 2 integers >= 0"),
    (lambda r: r.append_state("m", "v", [0.0], [["a", "b"]]),
     r"state m/v: values must be real numbers, got <U1"),
    (lambda r: r.set_synapses("w", [0, 1, 1, 1], [0], [1.0], ("3", "x"), "p", "p"),
     r"projection 'w': shape must be \(n_pre, n_post\), two integers >= 0, got "
     r"\('3', 'x'\)"),
    (lambda r: r.set_synapses("w", [0, 1, 1, 1], [0], np.ones(1), (3, 3), "p", "p",
                              pre_shape=(-1, -3)),
     r"projection 'w': pre_shape must be sizes >= 1, got \(-1, -3\)"),
    (lambda r: r.add_population("big", "LIF", 10 ** 30),
     r"population 'big': n must be an integer in \[0, 2\*\*63 - 1\]"),
])
def test_writer_validation_names_the_problem(tmp_path, call, match):
    rec = Recorder(str(tmp_path / "v.h5"), experiment="x", config={}, seed=0)
    rec.add_population("p", "LIF", 3)
    with pytest.raises((ValueError, TypeError), match=match):
        call(rec)
    rec.close()


def test_writer_validation_of_snapshots_rule_state_and_the_recorder(tmp_path):
    with pytest.raises(ValueError, match=r"seed must be an integer >= 0, got -1"):
        Recorder(str(tmp_path / "s.h5"), experiment="x", config={}, seed=-1)
    with pytest.raises(ValueError, match=r"checkpoint_every must be >= 0 s or None, got "
                                         r"'5'"):
        Recorder(str(tmp_path / "c.h5"), experiment="x", config={}, checkpoint_every="5")
    rec = Recorder(str(tmp_path / "v.h5"), experiment="x", config={}, seed=0)
    rec.add_population("p", "LIF", 3)
    rec.set_synapses("w", [0, 1, 2, 2], [0, 1], np.ones(2, np.float32), (3, 3), "p", "p")
    with pytest.raises(ValueError, match=r"time_ms of the weight snapshot of 'w' must be "
                                         r"a finite time in ms, got 'x'"):
        rec.append_weight_snapshot("w", "x", np.ones(2))
    with pytest.raises(TypeError, match=r"weight snapshot of 'w': data must be real "
                                        r"numbers"):
        rec.append_weight_snapshot("w", 1.0, ["a", "b"])
    with pytest.raises(TypeError, match=r"rule state w/u: values must be real numbers"):
        rec.append_rule_state("w", "u", [0.0], [["a", "b"]])
    assert "state" not in rec.file or "m" not in rec.file["state"]
    rec.close()


def test_synapse_structure_cannot_change(tmp_path):
    rec = Recorder(str(tmp_path / "v.h5"), experiment="x", config={}, seed=0)
    rec.set_synapses("w", [0, 1, 1], [0], np.array([1.0]), (2, 2), "p", "p")
    rec.set_synapses("w", [0, 1, 1], [0], np.array([2.0]), (2, 2), "p", "p")  # update ok
    with pytest.raises(ValueError, match="not the structure"):
        rec.set_synapses("w", [0, 0, 1], [0], np.array([2.0]), (2, 2), "p", "p")
    rec.close()
    assert load(str(tmp_path / "v.h5")).weights("w", snapshot=None).data.tolist() == [2.0]


# ------------------------------------------------------------------ reader errors

def test_reader_errors_are_clear(tmp_path):
    good = str(tmp_path / "good.h5")
    _write_demo(good)
    txt = tmp_path / "notes.h5"
    txt.write_text("hello")
    with pytest.raises(RunFileError, match="not an HDF5 file"):
        load(str(txt))
    other = str(tmp_path / "other.h5")
    with h5py.File(other, "w") as f:
        f["x"] = 1
    with pytest.raises(RunFileError, match="not a plasticity run file"):
        load(other)
    trunc = str(tmp_path / "trunc.h5")
    data = open(good, "rb").read()
    open(trunc, "wb").write(data[: len(data) // 2])
    with pytest.raises(RunFileError, match="damaged or truncated"):
        load(trunc)
    newer = str(tmp_path / "newer.h5")
    shutil.copy(good, newer)
    with h5py.File(newer, "r+") as f:
        f.attrs["format_version"] = 2
    with pytest.raises(RunFileError, match="format version 2, newer"):
        load(newer)
    broken = str(tmp_path / "broken.h5")
    shutil.copy(good, broken)
    with h5py.File(broken, "r+") as f:
        del f["spikes/exc/node_ids"]
        del f["populations"]
    with pytest.raises(RunFileError, match="/populations is missing"):
        load(broken)
    with h5py.File(broken, "r+") as f:
        f.create_group("populations")
    with load(broken) as run:
        with pytest.raises(RunFileError, match="spikes/exc/node_ids is missing"):
            run.spikes("exc")
    with load(good) as run:
        with pytest.raises(RunFileError, match="available: exc, inp"):
            run.spikes("nope")
        with pytest.raises(RunFileError, match="no projection 'x'"):
            run.weights("x")
        with pytest.raises(RunFileError, match="no state monitor"):
            run.state("x")
    with pytest.raises(RunFileError, match="no such run file"):
        load(str(tmp_path / "missing.h5"))
    for e in (RunFileError("x"),):
        assert isinstance(e, ValueError)


# ------------------------------------------------------------------ checkpoints

def test_checkpoint_state_roundtrip_and_atomic_file(tmp_path):
    path = str(tmp_path / "c.h5")
    rng = np.random.default_rng(3)
    rng.random(5)
    state = {"w": np.arange(4, dtype=np.float32), "step": 12, "x": 0.1 + 0.2,
             "name": "abc", "none": None, "flag": True, "curve": [0.5, 1e-300],
             "rng": rng.bit_generator.state, "nested": {"v": np.ones((2, 2)), "k": 3},
             "scalar": np.float64(2.5)}
    rec = Recorder(path, experiment="x", config={"a": 1}, seed=5, checkpoint_every=None)
    assert rec.checkpoint(12, state) is False  # not due: interval None
    assert rec.checkpoint(12, lambda: state, force=True) is True
    assert os.path.exists(path + ".ckpt") and not os.path.exists(path + ".ckpt.tmp")
    rec.fail(RuntimeError("boom"))
    with pytest.raises(RunFileError, match="checkpoint, not a run file"):
        load(path + ".ckpt")
    rec2 = Recorder(path, experiment="x", config={"a": 1}, seed=5, resume=True, quiet=True)
    got = rec2.resume_state()
    assert rec2.resume_step == 12
    assert got["rng"] == state["rng"]
    r2 = np.random.default_rng()
    r2.bit_generator.state = got["rng"]
    assert r2.random() == rng.random()
    assert got["w"].dtype == np.float32 and np.array_equal(got["w"], state["w"])
    assert got["x"] == state["x"] and got["curve"] == state["curve"]
    assert got["none"] is None and got["flag"] is True and got["name"] == "abc"
    assert np.array_equal(got["nested"]["v"], np.ones((2, 2))) and got["nested"]["k"] == 3
    assert got["scalar"] == 2.5
    rec2.close()
    assert not os.path.exists(path + ".ckpt")
    with pytest.raises(TypeError, match="cannot store"):
        r = Recorder(str(tmp_path / "d.h5"), experiment="x", config={}, seed=0)
        r.checkpoint(0, {"obj": object()}, force=True)


def _toy_interrupted(tmp_path, monkeypatch, at, **kw):
    monkeypatch.setenv("TOY_INTERRUPT_AT", str(at))
    with pytest.raises(KeyboardInterrupt):
        runner.run_experiment(TOY, out=str(tmp_path), filename="run.h5",
                              checkpoint_every=0, **kw)
    monkeypatch.delenv("TOY_INTERRUPT_AT")
    assert not os.path.exists(tmp_path / "run.h5")
    with load(str(tmp_path / "run.h5.partial"), allow_partial=True) as run:
        assert run.status == "interrupted"


def test_resume_in_process_equals_uninterrupted(tmp_path, monkeypatch):
    ref = runner.run_experiment(TOY, out=str(tmp_path / "ref"), filename="run.h5").path
    out = tmp_path / "int"
    _toy_interrupted(out, monkeypatch, 129)  # writes a snapshot
    o = runner.run_experiment(TOY, out=str(out), filename="run.h5", resume=True)
    assert o.resumed_from == 129
    assert_same_run(o.path, ref)
    assert load(o.path).attrs["resumed"] == 1


def test_resume_refuses_other_config_and_starts_afresh(tmp_path, monkeypatch):
    out = tmp_path / "x"
    _toy_interrupted(out, monkeypatch, 50)
    o = runner.run_experiment(TOY, out=str(out), filename="run.h5", resume=True,
                              sets=["n_steps=120"])
    assert o.resumed_from is None
    assert any("different config" in n for n in o.notes)
    ref = runner.run_experiment(TOY, out=str(tmp_path / "ref"), filename="run.h5",
                                sets=["n_steps=120"]).path
    assert_same_run(o.path, ref)


def test_resume_with_damaged_partial_starts_afresh(tmp_path, monkeypatch):
    out = tmp_path / "x"
    _toy_interrupted(out, monkeypatch, 25, small=True)
    with open(out / "run.h5.partial", "r+b") as fh:
        fh.seek(0)
        fh.write(b"\0" * 4096)
    o = runner.run_experiment(TOY, out=str(out), filename="run.h5", resume=True, small=True)
    assert o.resumed_from is None and any("damaged" in n for n in o.notes)
    ref = runner.run_experiment(TOY, out=str(tmp_path / "ref"), filename="run.h5",
                                small=True).path
    assert_same_run(o.path, ref)


# ------------------------------------------------------------------ docs/run-file.md

DOC = os.path.join(REPO, "docs", "run-file.md")


def test_docs_example_runs_with_h5py_and_numpy_only(tmp_path, monkeypatch):
    src = open(DOC).read()
    m = re.search(r"<!-- example -->\s*```python\n(.*?)```", src, re.S)
    assert m, "docs/run-file.md lacks the marked example"
    code = m.group(1)
    imports = set(re.findall(r"^\s*(?:import|from)\s+([\w.]+)", code, re.M))
    assert imports <= {"h5py", "numpy"}, imports
    runner.run_experiment(TOY, out=str(tmp_path), filename="run.h5", small=True)
    monkeypatch.chdir(tmp_path)
    ns = {}
    exec(compile(code, "run-file.md", "exec"), ns)
    with load(str(tmp_path / "run.h5")) as run:
        pop = next(iter(run.populations))
        assert np.array_equal(ns["times"], run.spikes(pop).times)
        proj = next(iter(run.projections))
        assert np.array_equal(ns["W"], run.weights(proj).toarray())


def test_docs_name_every_object_and_attribute(tmp_path):
    runner.run_experiment(TOY, out=str(tmp_path), filename="run.h5", small=True)
    text = open(DOC).read()
    placeholders = {"spikes": "<population>", "populations": "<population>",
                    "synapses": "<projection>", "state": "<monitor>", "metrics": "<name>",
                    "features": "<name>"}
    missing = []
    with h5py.File(tmp_path / "run.h5") as f:
        names = []
        f.visititems(lambda n, o: names.append((n, o)))
        for n, o in [("", f)] + names:
            parts = n.split("/") if n else []
            if parts and parts[0] in placeholders and len(parts) > 1:
                parts[1] = placeholders[parts[0]]
                if parts[0] in ("metrics", "features"):
                    parts = parts[:2]
                if parts[0] == "state" and len(parts) > 2 and parts[2] not in (
                        "times", "node_ids"):
                    parts[2] = "<variable>"
            doc_path = "/" + "/".join(parts)
            if doc_path not in text:
                missing.append(doc_path)
            for a in o.attrs:
                if parts[:1] == ["config"] and a != "json":
                    continue  # flat config keys
                if parts[:1] in (["metrics"], ["features"]):
                    continue  # free-form
                if f"`{a}`" not in text:
                    missing.append(f"{doc_path} attribute {a}")
    assert not missing, missing


def test_docs_example_on_the_song_run_file_gives_rates_over_the_simulated_time(
        tmp_path, monkeypatch):
    """The README's main job: /spikes/* t_stop is the end of the simulated interval
    (not the last spike), so the docs example's rates are finite and unbiased."""
    src = open(DOC).read()
    code = re.search(r"<!-- example -->\s*```python\n(.*?)```", src, re.S).group(1)
    duration = 3000.0
    runner.run_experiment("song_abbott_2000", out=str(tmp_path), filename="run.h5",
                          sets=[f"duration={duration}", "snapshot_interval=1000.0"])
    monkeypatch.chdir(tmp_path)
    ns = {}
    exec(compile(code, "run-file.md", "exec"), ns)
    assert ns["pop"] == "neuron"
    assert np.all(np.isfinite(ns["rates"])) and ns["rates"].sum() > 0
    with h5py.File(tmp_path / "run.h5", "r") as f:
        g = f["spikes/neuron"]
        assert g.attrs["t_stop"] == duration
        assert g["timestamps"][-1] < duration
        assert ns["rates"][0] == g["timestamps"].shape[0] / (duration / 1000.0)


# ------------------------------------------------------------------ rule state
def test_rule_state_roundtrip_validation_and_verify(tmp_path):
    path = str(tmp_path / "rs.h5")
    W = _csr(np.random.default_rng(4))
    rng = np.random.default_rng(5)
    x_syn = rng.random((3, W.nnz))
    u_pre = rng.random((3, W.shape[0]))
    with Recorder(path, experiment="x", config={}, seed=0) as rec:
        rec.set_synapses("inp_to_exc", W.indptr, W.indices, W.data, W.shape, "inp", "exc")
        rec.append_rule_state("inp_to_exc", "x", [0.0, 1.0], x_syn[:2], units="1")
        rec.append_rule_state("inp_to_exc", "x", [2.0], x_syn[2:])
        rec.append_rule_state("inp_to_exc", "u", [0.0, 1.0, 2.0], u_pre, where="pre")
        for call, match in [
            (lambda: rec.append_rule_state("nope", "x", [0.0], x_syn[:1]),
             "unknown projection 'nope'"),
            (lambda: rec.append_rule_state("inp_to_exc", "y", [0.0], u_pre[:1]),
             rf"'syn' values must have {W.nnz} columns, got {W.shape[0]}"),
            (lambda: rec.append_rule_state("inp_to_exc", "y", [0.0], u_pre[:1],
                                           where="neuron"),
             r"where must be one of \['syn', 'pre', 'post', 'shared'\], got 'neuron'"),
            (lambda: rec.append_rule_state("inp_to_exc", "u", [3.0], x_syn[:1]),
             r"rule state inp_to_exc/u is stored per 'pre', got where='syn'"),
            (lambda: rec.append_rule_state("inp_to_exc", "x", [5.0, 6.0], x_syn[:1]),
             "values must have shape"),
            (lambda: rec.append_rule_state("inp_to_exc", "times", [3.0], x_syn[:1]),
             "reserved")]:
            with pytest.raises(ValueError, match=match):
                call()
    assert results.verify(path) == []
    with load(path) as run:
        assert run.projections["inp_to_exc"]["rule_variables"] == ["u", "x"]
        t, values, where = run.rule_state("inp_to_exc")
        np.testing.assert_array_equal(t, [0.0, 1.0, 2.0])
        np.testing.assert_array_equal(values["x"], x_syn)
        np.testing.assert_array_equal(values["u"], u_pre)
        assert where == {"x": "syn", "u": "pre"}
    # a dataset of the wrong width is reported
    with h5py.File(path, "r+") as f:
        g = f["synapses/inp_to_exc/rule_state"]
        del g["u"]
        g.create_dataset("u", data=np.zeros((3, 2)))
        g["u"].attrs["where"] = "pre"
    problems = results.verify(path)
    assert len(problems) == 1 and "rule_state/u has shape (3, 2), expected (3, 6)" in \
        problems[0]
