"""Analysis helpers on Run and sweeps (issue 20, item 4), and docs/run-file.md's
examples run on a real (Song) run file."""
import os
import re

import h5py
import numpy as np
import pytest

import plasticity
from plasticity import analysis, results, runner, sweep
from plasticity.results import RunFileError

from _runfile_utils import REPO, TOY

DOC = os.path.join(REPO, "docs", "run-file.md")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    d = tmp_path_factory.mktemp("analysis")
    path = runner.run_experiment(TOY, out=str(d), filename="toy.h5", small=True).path
    with results.load(path) as r:
        yield r


@pytest.fixture(scope="module")
def song_dir(tmp_path_factory):
    """A 3 s Song run (run.h5) and a sweep of two durations (sweeps/song)."""
    d = tmp_path_factory.mktemp("song")
    runner.run_experiment("song_abbott_2000", out=str(d), filename="run.h5",
                          sets=["duration=3000.0", "snapshot_interval=500.0"])
    res = sweep.run_sweep("song_abbott_2000", ["duration=1000.0,2000.0"], seeds=2,
                          out=str(d / "sweeps" / "song"), workers=1, quiet=True,
                          sets=["snapshot_interval=500.0"])
    assert res.n_complete == 4
    return d


def test_spike_table_as_record_array(toy):
    tab = toy.spike_table(as_pandas=False)
    assert isinstance(tab, np.recarray)
    assert tab.dtype.names == ("population", "node_id", "time_ms")
    for pop in toy.populations:
        s = toy.spikes(pop)
        mine = tab[tab.population == pop]
        assert np.array_equal(mine.time_ms, s.times)
        assert np.array_equal(mine.node_id, s.node_ids)
    one = toy.spike_table("outputs", as_pandas=False)
    assert set(one.population) == {"outputs"} and len(one) == toy.spikes("outputs").times.size
    with pytest.raises(RunFileError, match="no population 'nope'"):
        toy.spike_table("nope")


def test_spike_table_as_dataframe(toy):
    pd = pytest.importorskip("pandas")
    df = toy.spike_table()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == ["population", "node_id",
                                                                  "time_ms"]
    assert (df.population == "inputs").sum() == toy.spikes("inputs").times.size


def test_rates_are_spike_counts_per_neuron_per_second(toy):
    t, i = toy.spikes("inputs")
    n = toy.populations["inputs"]["n"]
    t0, t1 = toy.time_range("inputs")
    r = toy.rates("inputs", 10.0)
    counts, _ = np.histogram(t, bins=np.arange(t0, t1 + 5.0, 10.0))
    assert np.allclose(r.rates, counts / (n * 0.010))
    assert np.allclose(r.times, np.arange(t0, t1, 10.0) + 5.0)
    mean = toy.rates("inputs")
    assert mean.rates.shape == (1,)
    assert mean.rates[0] == pytest.approx(t.size / (n * (t1 - t0) / 1000.0))
    per = toy.rates("inputs", 10.0, per_neuron=True).rates
    assert per.shape == (r.rates.size, n) and np.allclose(per.mean(axis=1), r.rates)
    assert np.allclose(per.sum(axis=0) * 0.010, np.bincount(i, minlength=n))
    # a bin that does not divide the interval: the last bin is shorter
    odd = toy.rates("inputs", 15.0)
    assert odd.edges[-1] == t1 and np.all(np.diff(odd.edges) > 0)
    with pytest.raises(ValueError, match="bin_ms must be a number > 0 ms, got 0"):
        toy.rates("inputs", 0)


# release check (qa4): a tiny bin allocated its bins (1e-9 ms over the run: a
# MemoryError of terabytes), a bin given as text was NumPy's ufunc message, a file
# whose t_stop is inf gave 'Maximum allowed size exceeded', a file whose t_start is
# after t_stop said 't_stop == t_start', and load(3) Python's fspath message
def test_rates_refuse_bins_that_do_not_fit_and_bad_recorded_intervals(toy, tmp_path):
    with pytest.raises(ValueError, match=r"bin_ms = 1e-09 needs about .* of memory"):
        toy.rates("inputs", 1e-9)
    with pytest.raises(TypeError, match=r"bin_ms must be a number > 0 ms, got 'x' "
                                        r"\(str\)"):
        toy.rates("inputs", "x")
    import shutil
    import h5py
    for k, (attr, value, match) in enumerate([
            ("t_stop", np.inf, "has no valid attribute t_stop .*, got inf"),
            ("t_start", 1e9, r"not recorded \(t_start = 1e\+09 ms, t_stop = ")]):
        p = str(tmp_path / f"bad{k}.h5")
        shutil.copy(toy.path, p)
        with h5py.File(p, "r+") as f:
            f["spikes/inputs"].attrs[attr] = value
        with results.load(p) as run:
            with pytest.raises(RunFileError, match=match):
                run.rates("inputs", 10.0)
    with pytest.raises(TypeError, match=r"path must be a run file's path .*got 3 "
                                        r"\(int\)"):
        results.load(3)


def test_rates_of_an_unrecorded_population_say_so(song_dir):
    with results.load(str(song_dir / "run.h5")) as run:
        with pytest.raises(RunFileError, match="'inputs' were not recorded"):
            run.rates("inputs")


def test_weight_history(toy):
    h = toy.weight_history("in_to_out")
    snaps = [w for _, w in toy.iter_snapshots("in_to_out")]
    assert np.array_equal(h.times, toy.weight_times("in_to_out"))
    assert h.weights.shape == (len(snaps), snaps[0].size)
    assert np.array_equal(h.weights[3], snaps[3])
    dense = toy.weights("in_to_out", snapshot=-1).toarray()
    assert np.array_equal(dense[h.pre, h.post], h.weights[-1])


def test_scalar_metrics(toy):
    s = toy.scalar_metrics()
    assert s and all(isinstance(v, (bool, int, float, str)) for v in s.values())
    arrays = [k for k, v in toy.metrics.items() if np.ndim(v) > 0 and np.size(v) > 1]
    assert arrays and not set(arrays) & set(s)


def test_sweep_as_one_table(song_dir):
    tab = plasticity.load_sweep(str(song_dir / "sweeps" / "song"), as_pandas=False)
    assert len(tab) == 4
    names = tab.dtype.names
    assert names[:3] == ("run", "seed", "status") and "duration" in names
    assert "output_rate_hz" in names
    assert sorted(set(tab.duration)) == [1000.0, 2000.0] and set(tab.seed) == {0, 1}
    full = analysis.sweep_table(str(song_dir / "sweeps" / "song" / "sweep.h5"),
                                all_metrics=True, as_pandas=False)
    assert len(full.dtype.names) >= len(names)
    for row in full:
        with results.load(os.path.join(str(song_dir / "sweeps" / "song"), row.file)) as r:
            assert row.output_rate_hz == pytest.approx(r.metrics["output_rate_hz"])


def _block(marker):
    src = open(DOC).read()
    m = re.search(rf"<!-- {marker} -->\s*```python\n(.*?)```", src, re.S)
    assert m, f"docs/run-file.md lacks the block marked {marker}"
    return m.group(1)


def test_docs_one_liners_run_on_a_song_run_file(song_dir, monkeypatch):
    code = _block("analysis")
    lines = [ln for ln in code.splitlines() if ln.strip() and not ln.startswith(
        ("import", "from"))]
    assert all(len(ln) <= 95 for ln in lines), [ln for ln in lines if len(ln) > 95]
    monkeypatch.chdir(song_dir)
    ns = {}
    exec(compile(code, "run-file.md", "exec"), ns)
    with h5py.File(song_dir / "run.h5", "r") as f:
        n_spikes = f["spikes/neuron/timestamps"].shape[0]
    assert ns["mean_hz"] == pytest.approx(n_spikes / 3.0)
    assert ns["hz"].size == 6 and np.isclose(ns["hz"].mean(), ns["mean_hz"])
    assert ns["mean_w"].shape == ns["history"].times.shape
    assert len(ns["sweep"]) == 4 and ns["counts"].sum() == 1000
    assert "output_rate_hz" in ns["scalars"]


def test_docs_h5py_example_gives_the_loaders_rate(song_dir, monkeypatch):
    """The h5py-only example and run.rates agree on a real run file."""
    code = _block("example")
    monkeypatch.chdir(song_dir)
    ns = {}
    exec(compile(code, "run-file.md", "exec"), ns)
    with results.load(str(song_dir / "run.h5")) as run:
        assert ns["pop"] == "neuron"
        per = run.rates("neuron", per_neuron=True).rates[0]
        assert np.allclose(ns["rates"], per) and per.sum() > 0
        assert np.isclose(ns["rates"].mean(), run.rates("neuron").rates[0])
