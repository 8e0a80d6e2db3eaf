"""Figures (plasticity/plots.py): rendered headless, checked on their axes data."""
import io

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from plasticity import plots, results, runner  # noqa: E402

from _runfile_utils import TOY  # noqa: E402


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("plots")
    path = runner.run_experiment(TOY, out=str(d), filename="toy.h5", small=True).path
    r = results.load(path)
    yield r
    r.close()


def _render(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"


def test_raster_shows_every_spike(run):
    fig = plots.raster(run)
    _render(fig)
    assert len(fig.axes) == 2  # inputs, outputs
    for ax, pop in zip(fig.axes, sorted(run.populations)):
        t, i = run.spikes(pop)
        xy = ax.collections[0].get_offsets()
        assert np.array_equal(xy[:, 0], t) and np.array_equal(xy[:, 1], i)
    fig = plots.raster(([1.0, 2.0, 3.0], [0, 2, 1]))
    assert np.array_equal(fig.axes[0].collections[0].get_offsets()[:, 1], [0, 2, 1])


def test_rates_are_spike_counts_per_neuron_per_second(run):
    fig = plots.rates(run, "inputs", bin_ms=10.0)
    _render(fig)
    line = fig.axes[0].lines[0]
    t, _ = run.spikes("inputs")
    counts, _ = np.histogram(t, bins=np.arange(0.0, 40.0 + 5.0, 10.0))
    assert np.allclose(line.get_ydata(), counts / (16 * 0.010))
    assert np.allclose(line.get_xdata(), [5.0, 15.0, 25.0, 35.0])


def test_weights_histogram_and_evolution(run):
    fig = plots.weights(run, bins=20)
    _render(fig)
    hist_ax, evo_ax = fig.axes
    final = run.weights("in_to_out", snapshot=None).data
    heights = [p.get_height() for p in hist_ax.patches]
    snaps = [w for _, w in run.iter_snapshots("in_to_out")]
    lo = min(final.min(), min(s.min() for s in snaps))
    hi = max(final.max(), max(s.max() for s in snaps))
    edges = np.linspace(lo, hi, 21)
    assert np.array_equal(heights, np.histogram(final, bins=edges)[0])
    img = evo_ax.images[0].get_array()
    assert img.shape == (20, len(snaps))
    assert np.array_equal(img[:, -1], np.histogram(snaps[-1], bins=edges)[0])
    assert np.allclose(evo_ax.lines[0].get_ydata(), [s.mean() for s in snaps])
    assert np.allclose(evo_ax.lines[0].get_xdata(), run.weight_times("in_to_out"))
    # plain array: histogram only
    fig = plots.weights(np.array([0.0, 0.0, 1.0]), bins=2)
    assert [p.get_height() for p in fig.axes[0].patches] == [2, 1]


def test_bimodal_weights_show_two_peaks():
    rng = np.random.default_rng(1)
    w = np.r_[rng.uniform(0, 0.05, 500), rng.uniform(0.95, 1.0, 500)]
    fig = plots.weights(w, bins=10)
    h = [p.get_height() for p in fig.axes[0].patches]
    assert h[0] + h[-1] == 1000 and sum(h[1:-1]) == 0


def test_receptive_fields_are_the_weight_columns(run):
    fig = plots.receptive_fields(run)
    _render(fig)
    W = run.weights("in_to_out", snapshot=None).toarray()
    imgs = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(imgs) == 4
    for j, img in enumerate(imgs):
        assert np.array_equal(np.asarray(img), W[:, j].reshape(4, 4))
    onoff = np.zeros((2, 2, 3, 3))
    onoff[0, 0] = 1.0  # neuron 0: ON only
    onoff[1, 1] = 0.5  # neuron 1: OFF only
    fig = plots.receptive_fields(onoff)
    rgb0 = fig.axes[0].images[0].get_array()
    rgb1 = fig.axes[1].images[0].get_array()
    assert rgb0.shape == (3, 3, 3) and np.all(rgb0[..., 0] == 1) and np.all(rgb0[..., 2] == 0)
    assert np.all(rgb1[..., 2] == 0.5) and np.all(rgb1[..., 0] == 0)
    with pytest.raises(plots.PlotError, match="not a square"):
        plots.receptive_fields(np.zeros((2, 7)), shape=None)


def test_stdp_window_measured_with_a_pairing_rule():
    def pair_rule(pre, post, a_plus=1.0, a_minus=0.5, tau=20.0):
        """all-to-all pair STDP of one synapse, as a stand-in for a real rule."""
        d = post[:, None] - pre[None, :]
        return np.sum(np.where(d > 0, a_plus * np.exp(-d / tau),
                               np.where(d < 0, -a_minus * np.exp(d / tau), 0.0)))
    dts, dw = plots.measure_stdp_window(pair_rule, [-40.0, -10.0, 10.0, 40.0], n_pairs=5,
                                        rate_hz=1.0)
    assert dw[2] > dw[3] > 0 > dw[0] > dw[1]
    assert dw[2] == pytest.approx(5 * np.exp(-0.5), rel=1e-3)  # 1 Hz: pairs do not interact
    fig = plots.stdp_window((dts, dw))
    _render(fig)
    line = fig.axes[0].lines[-1]
    assert np.array_equal(line.get_xdata(), dts) and np.array_equal(line.get_ydata(), dw)


def test_stdp_window_needs_data(run):
    with pytest.raises(plots.PlotError, match="stdp_window/dt"):
        plots.stdp_window(run)


def test_curves_and_confusion(run):
    fig = plots.accuracy(run)
    _render(fig)
    lines = {l.get_label(): l for l in fig.axes[0].lines}
    assert set(lines) == {"accuracy/train", "accuracy/test"}
    assert np.allclose(lines["accuracy/train"].get_ydata(), run.metrics["accuracy/train"])
    assert np.array_equal(lines["accuracy/train"].get_xdata(), np.arange(1, 6))
    assert fig.axes[0].get_xlabel() == "epoch"
    fig = plots.convergence(run)
    assert np.allclose(fig.axes[0].lines[0].get_ydata(), run.metrics["convergence"])
    fig = plots.confusion(run)
    _render(fig)
    ax = fig.axes[0]
    assert np.array_equal(ax.images[0].get_array(), run.metrics["confusion"])
    assert [t.get_text() for t in ax.texts][:3] == ["8", "2", "0"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    fig = plots.confusion(np.array([[1, 1], [0, 2]]), normalize=True)
    assert np.allclose(fig.axes[0].images[0].get_array(), [[0.5, 0.5], [0, 1]])


def test_missing_data_errors(tmp_path):
    path = str(tmp_path / "empty.h5")
    with results.Recorder(path, experiment="x", config={}, seed=0):
        pass
    with results.load(path) as r:
        for kind, match in [("raster", "no populations"), ("weights", "no projections"),
                            ("receptive-fields", "no projections"),
                            ("accuracy", "no accuracy metrics"),
                            ("convergence", "no convergence metrics"),
                            ("confusion", "no confusion matrix")]:
            with pytest.raises(plots.PlotError, match=match):
                plots.plot(r, kind)
