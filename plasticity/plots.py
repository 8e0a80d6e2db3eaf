"""Figures from run files (or plain arrays), as matplotlib ``Figure`` objects.

Every function takes a :class:`plasticity.results.Run` or arrays, and returns a
``matplotlib.figure.Figure`` (built without pyplot, so it works headless and leaves
no global state); save it with ``fig.savefig(path)``. A figure that needs data the
run lacks raises :class:`PlotError` saying what is missing.

Kinds (``plasticity plot RUN KIND``): raster, rates, weights, receptive-fields,
stdp-window, convergence, accuracy, confusion.
"""
import numpy as np

__all__ = ["PlotError", "plot", "raster", "rates", "weights", "receptive_fields",
           "stdp_window", "measure_stdp_window", "convergence", "accuracy", "confusion",
           "effect"]


class PlotError(ValueError):
    """The run lacks the data a figure needs (the message says which)."""


def _figure(nrows=1, ncols=1, *, figsize=None, ax=None, **kw):
    if ax is not None:
        return ax.figure, np.array([ax]).reshape(1, 1)
    from matplotlib.figure import Figure
    fig = Figure(figsize=figsize or (6.4 * ncols ** 0.7, 3.2 + 1.6 * nrows),
                 layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def _is_run(x):
    return hasattr(x, "spikes") and hasattr(x, "weights") and hasattr(x, "metrics")


def _title(run):
    return f"{run.experiment} (seed {run.seed})" if _is_run(run) else None


# ------------------------------------------------------------------------ spikes

def _spike_sources(source, pop):
    """[(name, times, ids, n, (t0, t1))] from a Run or arrays."""
    if _is_run(source):
        pops = source.populations
        if not pops:
            raise PlotError(f"{source.path} has no populations, so no spikes to plot")
        names = [pop] if pop is not None else list(pops)
        out = []
        for name in names:
            if name not in pops:
                raise PlotError(f"{source.path} has no population {name!r}; available: "
                                f"{', '.join(pops)}")
            t, i = source.spikes(name)
            out.append((name, t, i, pops[name]["n"], source.time_range(name)))
        if sum(len(o[1]) for o in out) == 0:
            raise PlotError(f"{source.path}: no spikes were recorded"
                            + (f" for {pop!r}" if pop else ""))
        return out
    t, i = (np.asarray(source[0], dtype=float), np.asarray(source[1]))
    n = int(i.max()) + 1 if i.size else 0
    t1 = float(t.max()) if t.size else 0.0
    return [(pop or "spikes", t, i, n, (0.0, t1))]


def raster(source, pop=None, *, t_range=None, ax=None, max_spikes=1_000_000, markersize=2):
    """Spike raster: node id against time, one panel per population.

    ``source`` is a Run (all populations, or ``pop``) or a ``(times_ms, node_ids)``
    pair. ``t_range=(t0, t1)`` restricts the time window (ms); at most ``max_spikes``
    spikes per population are drawn (evenly thinned beyond that).
    """
    srcs = _spike_sources(source, pop)
    fig, axes = _figure(len(srcs), 1, ax=ax if len(srcs) == 1 else None, sharex=True)
    for a, (name, t, i, n, _) in zip(axes[:, 0], srcs):
        if t_range is not None:
            keep = (t >= t_range[0]) & (t < t_range[1])
            t, i = t[keep], i[keep]
        if t.size > max_spikes:
            sel = np.linspace(0, t.size - 1, max_spikes).astype(np.int64)
            t, i = t[sel], i[sel]
        a.scatter(t, i, s=markersize, marker="|" if t.size < 20000 else ".", c="k",
                  linewidths=0.8)
        a.set_ylabel(f"{name}\nneuron")
        a.set_ylim(-0.5, max(n, 1) - 0.5)
    axes[-1, 0].set_xlabel("time (ms)")
    if _title(source):
        axes[0, 0].set_title(_title(source))
    return fig


def rates(source, pop=None, *, bin_ms=None, ax=None):
    """Population rate (Hz per neuron) in time bins, one line per population.

    ``bin_ms`` defaults to 1/50 of the recording. With arrays, pass a Run-like
    ``(times_ms, node_ids)`` pair; the population size is taken as max id + 1.
    """
    srcs = _spike_sources(source, pop)
    fig, axes = _figure(ax=ax)
    a = axes[0, 0]
    for name, t, i, n, (t0, t1) in srcs:
        if t1 <= t0:
            raise PlotError(f"population {name!r} has no recorded time span (t_stop <= "
                            f"t_start), so rates are undefined")
        width = bin_ms or (t1 - t0) / 50.0
        edges = np.arange(t0, t1 + width * 0.5, width)
        if edges.size < 2:
            edges = np.array([t0, t1])
        counts, edges = np.histogram(t, bins=edges)
        widths_s = np.diff(edges) / 1000.0
        hz = counts / (max(n, 1) * widths_s)
        centres = 0.5 * (edges[:-1] + edges[1:])
        a.plot(centres, hz, label=name, drawstyle="steps-mid")
    a.set_xlabel("time (ms)")
    a.set_ylabel("rate (Hz per neuron)")
    a.legend(loc="best", fontsize="small")
    if _title(source):
        a.set_title(_title(source))
    return fig


# ------------------------------------------------------------------------ weights

def _proj(source, proj):
    projs = source.projections
    if not projs:
        raise PlotError(f"{source.path} has no projections (no /synapses), so no weights "
                        f"to plot")
    if proj is None:
        proj = next((p for p, d in projs.items() if d["n_snapshots"]), next(iter(projs)))
    if proj not in projs:
        raise PlotError(f"{source.path} has no projection {proj!r}; available: "
                        f"{', '.join(projs)}")
    return proj


def _check_finite(values, label, what="weights"):
    """A figure of non-finite weights would be empty or wrong: refuse it, saying which."""
    v = np.asarray(values, dtype=float)
    bad = ~np.isfinite(v)
    if bad.any():
        first = np.flatnonzero(bad.ravel())[0]
        raise PlotError(f"projection {label!r}: {int(bad.sum())} of {v.size} {what} are "
                        f"not finite (the first, index {first}, is {v.ravel()[first]}); "
                        f"only finite weights can be plotted")
    return v


def weights(source, proj=None, *, bins=50, max_columns=200):
    """Weight histogram (final weights) and its evolution over the snapshots.

    ``source`` is a Run (projection ``proj``: default the first with snapshots) or an
    array of weights (then only the histogram), or a tuple ``(final, times,
    snapshots)`` with ``snapshots`` of shape (n_snapshots, nnz). The evolution panel
    is an image: one column per snapshot (at most ``max_columns``), the histogram of
    the weights at that time, with the mean weight drawn over it.
    """
    if _is_run(source):
        proj = _proj(source, proj)
        final = source.weights(proj, snapshot=None).data
        times = source.weight_times(proj)
        idx = np.unique(np.linspace(0, times.size - 1, min(times.size, max_columns))
                        .astype(np.int64)) if times.size else np.zeros(0, np.int64)
        get = lambda k: source.weights(proj, snapshot=int(k)).data  # noqa: E731
        label = proj
    elif isinstance(source, tuple):
        final, times, snaps = (np.asarray(x) for x in source)
        idx = np.arange(times.size)
        get = lambda k: snaps[k]  # noqa: E731
        label = "weights"
    else:
        final, times, idx, get, label = np.asarray(source), np.zeros(0), [], None, "weights"
    final = _check_finite(final, label, "final weights")
    if final.size == 0:
        raise PlotError(f"projection {label!r} has no synapses")
    lo, hi = float(final.min()), float(final.max())
    cols = [_check_finite(get(k), label, f"weights of snapshot {k}") for k in idx] \
        if len(idx) else []
    for c in cols:
        lo, hi = min(lo, float(c.min())), max(hi, float(c.max()))
    if hi <= lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    fig, axes = _figure(1, 2 if cols else 1)
    a = axes[0, 0]
    a.hist(final, bins=edges, color="0.3")
    a.set_xlabel("weight")
    a.set_ylabel("synapses")
    a.set_title(f"{label}: final weights")
    if cols:
        e = axes[0, 1]
        img = np.stack([np.histogram(c, bins=edges)[0] for c in cols], axis=1)
        t = times[np.asarray(idx)]
        dt = (t[-1] - t[0]) / max(len(t) - 1, 1) if len(t) > 1 else 1.0
        e.imshow(img, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest",
                 extent=(t[0] - dt / 2, t[-1] + dt / 2, lo, hi))
        e.plot(t, [c.mean() for c in cols], color="tab:red", label="mean")
        e.set_xlabel("time (ms)")
        e.set_ylabel("weight")
        e.set_title("weight distribution over time")
        e.legend(loc="best", fontsize="small")
    return fig


def receptive_fields(source, proj=None, *, shape=None, neurons=None, max_neurons=36):
    """Each postsynaptic neuron's incoming weights as an image of its input.

    ``source``: a Run (projection ``proj``; the image shape comes from ``shape`` or the
    projection's ``pre_shape`` attribute, else a square input is assumed) or an array
    (n_post, *shape) or (n_post, n_pre) with ``shape``. Inputs of shape (2, H, W) are ON/OFF channels, drawn as colour
    images (ON red, OFF blue).
    """
    if _is_run(source):
        proj = _proj(source, proj)
        info = source.projections[proj]
        n_pre, n_post = info["shape"]
        shape = tuple(shape or info.get("pre_shape") or ())
        if not shape:
            side = int(round(np.sqrt(n_pre)))
            if side * side != n_pre:
                raise PlotError(f"projection {proj!r}: {n_pre} inputs are not a square "
                                f"image; the run lacks a pre_shape attribute, pass shape=")
            shape = (side, side)
        W = source.weights(proj, snapshot=None)
        _check_finite(W.data, proj)
        sel = np.asarray(neurons if neurons is not None else np.arange(min(n_post, max_neurons)))
        fields = W[:, sel].toarray().T.reshape((sel.size,) + shape)
        vmax = float(W.data.max()) if W.nnz else 1.0
    else:
        fields = np.asarray(source, dtype=float)
        if shape is None and fields.ndim == 2:
            side = int(round(np.sqrt(fields.shape[1])))
            if side * side != fields.shape[1]:
                raise PlotError(f"{fields.shape[1]} inputs are not a square image; pass "
                                f"shape=")
            shape = (side, side)
        if shape is not None:
            fields = fields.reshape((fields.shape[0],) + tuple(shape))
        fields = fields[:max_neurons] if neurons is None else fields[np.asarray(neurons)]
        _check_finite(fields, "weights")
        vmax = float(fields.max()) if fields.size else 1.0
    if fields.ndim not in (3, 4):
        raise PlotError(f"receptive fields need 2-D images or ON/OFF (2, H, W) inputs, got "
                        f"fields of shape {fields.shape[1:]}")
    on_off = fields.ndim == 4
    if on_off and fields.shape[1] != 2:
        raise PlotError(f"receptive fields with channels need 2 channels (ON, OFF), got "
                        f"{fields.shape[1]}")
    k = fields.shape[0]
    ncols = int(np.ceil(np.sqrt(k)))
    nrows = int(np.ceil(k / ncols))
    fig, axes = _figure(nrows, ncols, figsize=(1.4 * ncols + 1, 1.4 * nrows + 0.6))
    vmax = vmax if vmax > 0 else 1.0
    for j, a in enumerate(axes.ravel()):
        a.set_xticks([])
        a.set_yticks([])
        if j >= k:
            a.set_axis_off()
            continue
        f = fields[j]
        if on_off:
            rgb = np.zeros(f.shape[1:] + (3,))
            rgb[..., 0] = np.clip(f[0] / vmax, 0, 1)
            rgb[..., 2] = np.clip(f[1] / vmax, 0, 1)
            a.imshow(rgb, interpolation="nearest")
        else:
            a.imshow(f, cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
        a.set_title(str(j if neurons is None else np.asarray(neurons)[j]), fontsize="small")
    fig.suptitle("receptive fields" + (" (ON red, OFF blue)" if on_off else ""))
    return fig


# ------------------------------------------------------------------------ STDP window

def measure_stdp_window(pairing, dts=None, *, n_pairs=60, rate_hz=1.0):
    """Measure an STDP window by simulating pairing protocols with the rule itself.

    For each spike-time difference ``dt = t_post - t_pre`` (ms), ``n_pairs`` pre/post
    pairs are repeated at ``rate_hz`` and ``pairing(pre_times_ms, post_times_ms)`` must
    simulate one synapse under the rule and return its relative weight change. Returns
    ``(dts, dw)`` arrays.
    """
    dts = np.arange(-100.0, 100.1, 5.0) if dts is None else np.asarray(dts, dtype=float)
    if rate_hz <= 0 or n_pairs < 1:
        raise ValueError(f"rate_hz must be > 0 and n_pairs >= 1, got {rate_hz}, {n_pairs}")
    period = 1000.0 / rate_hz
    base = 100.0 + np.abs(dts).max() + period * np.arange(n_pairs)
    dw = np.empty(dts.size)
    for k, d in enumerate(dts):
        pre = base - min(d, 0.0)
        post = pre + d
        dw[k] = float(pairing(pre, post))
    return dts, dw


def stdp_window(source, *, ax=None):
    """Weight change against spike-time difference (t_post - t_pre).

    ``source``: a Run holding metrics ``stdp_window/dt`` and ``stdp_window/dw`` (as
    written by a pairing experiment, e.g. from :func:`measure_stdp_window`), or a
    ``(dts, dw)`` pair.
    """
    if _is_run(source):
        m = source.metrics
        if "stdp_window/dt" not in m or "stdp_window/dw" not in m:
            raise PlotError(f"{source.path} holds no measured STDP window (metrics "
                            f"'stdp_window/dt' and 'stdp_window/dw'); run a pairing "
                            f"experiment, or measure one with "
                            f"plasticity.plots.measure_stdp_window")
        dts, dw = np.asarray(m["stdp_window/dt"]), np.asarray(m["stdp_window/dw"])
        # an experiment may store a published fit evaluated at the same dts
        fit = np.asarray(m["stdp_window/bi_poo_fit"]) if "stdp_window/bi_poo_fit" in m \
            else None
    else:
        dts, dw = (np.asarray(x, dtype=float) for x in source)
        fit = None
    fig, axes = _figure(ax=ax)
    a = axes[0, 0]
    a.axhline(0, color="0.7", lw=0.8)
    a.axvline(0, color="0.7", lw=0.8)
    a.plot(dts, dw, "o-", ms=3, label="measured")
    if fit is not None and fit.shape == dts.shape:
        a.plot(dts, fit, "k--", lw=1, label="Bi & Poo fit")
        a.legend(fontsize="small")
    a.set_xlabel(r"$\Delta t = t_{post} - t_{pre}$ (ms)")
    a.set_ylabel("relative weight change")
    a.set_title("STDP window")
    return fig


# ------------------------------------------------------------------------ curves

def _curves(source, prefix, what):
    if _is_run(source):
        m = source.metrics
        names = [k for k in m if k == prefix or k.startswith(prefix + "/")
                 or (k.startswith(prefix) and "/" not in k)]
        if not names:
            raise PlotError(f"{source.path} has no {what} metrics (names starting with "
                            f"{prefix!r}; found: {', '.join(m) or 'none'})")
        out = []
        for k in names:
            v = np.asarray(m[k], dtype=float)
            at = source.metric_attrs(k)
            x = np.asarray(at["x"], dtype=float) if "x" in at else None
            out.append((k, v, x, at.get("xlabel")))
        return out
    if isinstance(source, dict):
        return [(k, np.asarray(v, dtype=float), None, None) for k, v in source.items()]
    return [(prefix, np.asarray(source, dtype=float), None, None)]


def _curve_figure(source, prefix, what, ylabel, ax, logy=False):
    curves = _curves(source, prefix, what)
    fig, axes = _figure(ax=ax)
    a = axes[0, 0]
    xlabel = None
    for name, v, x, xl in curves:
        if v.ndim == 0:
            a.axhline(float(v), ls="--", lw=1, label=f"{name} = {float(v):.4g}", color="0.4")
            continue
        v = v.ravel()
        x = np.arange(1, v.size + 1) if x is None or x.shape != v.shape else x
        a.plot(x, v, marker="o" if v.size < 30 else None, ms=3, label=name)
        xlabel = xlabel or xl
    if logy and all(np.all(np.asarray(v) > 0) for _, v, _, _ in curves):
        a.set_yscale("log")
    a.set_xlabel(xlabel or "iteration")
    a.set_ylabel(ylabel)
    a.legend(loc="best", fontsize="small")
    if _title(source):
        a.set_title(_title(source))
    return fig


def convergence(source, *, ax=None):
    """Convergence curves: metrics named ``convergence`` or ``convergence/...``.

    (e.g. Kheradpisheh's C_l per layer against training iterations).
    """
    return _curve_figure(source, "convergence", "convergence", "convergence", ax, logy=True)


def accuracy(source, *, ax=None):
    """Accuracy curves: metrics named ``accuracy...`` (arrays as curves, scalars as lines)."""
    return _curve_figure(source, "accuracy", "accuracy", "accuracy", ax)


def confusion(source, *, labels=None, normalize=False, ax=None):
    """Confusion matrix (rows = true class, columns = predicted), with counts.

    ``source``: a Run with metric ``confusion`` (its ``labels`` attribute names the
    classes) or a square array.
    """
    if _is_run(source):
        m = source.metrics
        name = next((k for k in ("confusion", "confusion_matrix") if k in m), None)
        if name is None:
            raise PlotError(f"{source.path} has no confusion matrix (metric 'confusion'); "
                            f"found: {', '.join(m) or 'none'}")
        cm = np.asarray(m[name], dtype=float)
        labels = labels or source.metric_attrs(name).get("labels")
    else:
        cm = np.asarray(source, dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise PlotError(f"a confusion matrix must be square, got shape {cm.shape}")
    if normalize:
        cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1e-300)
    fig, axes = _figure(ax=ax)
    a = axes[0, 0]
    a.imshow(cm, cmap="Blues", interpolation="nearest")
    n = cm.shape[0]
    if n <= 30:
        thresh = cm.max() / 2.0
        for i in range(n):
            for j in range(n):
                a.text(j, i, f"{cm[i, j]:.2f}" if normalize else f"{cm[i, j]:.0f}",
                       ha="center", va="center", fontsize="small",
                       color="white" if cm[i, j] > thresh else "black")
    ticks = np.arange(n)
    a.set_xticks(ticks)
    a.set_yticks(ticks)
    if labels is not None:
        a.set_xticklabels([str(x) for x in labels], rotation=45)
        a.set_yticklabels([str(x) for x in labels])
    a.set_xlabel("predicted")
    a.set_ylabel("true")
    a.set_title("confusion matrix")
    return fig


# ------------------------------------------------------------------------ sweeps

def effect(table, x, y, *, ax=None, spread="std"):
    """A metric against a sweep parameter: mean over seeds, with the spread.

    ``table`` is a :class:`plasticity.sweep.SweepTable` (``sweep.load_table``) or the
    path of a ``sweep.h5``. One line per combination of the other grid parameters;
    the band/error bars are the standard deviation over seeds (``spread="std"``) or
    the min..max range (``spread="range"``); single runs are drawn as dots. Only
    complete runs count.
    """
    from . import sweep as _sweep
    if isinstance(table, (str, bytes)) or hasattr(table, "__fspath__"):
        table = _sweep.load_table(table)
    params, metrics = table.param_columns, table.metric_columns
    if x not in params:
        raise PlotError(f"{table.path}: --x {x!r} is not a grid parameter; grid parameters: "
                        f"{', '.join(params) or 'none'}")
    ycol = y if y in metrics else y.replace("/", ".")
    if ycol not in metrics:
        raise PlotError(f"{table.path}: --y {y!r} is not a numeric headline metric; "
                        f"metrics: {', '.join(metrics) or 'none'}")
    if spread not in ("std", "range"):
        raise PlotError(f"spread must be 'std' or 'range', got {spread!r}")
    d = table.data
    yv = np.asarray(d[ycol])
    if yv.dtype.kind not in "biuf":
        raise PlotError(f"{table.path}: metric {y!r} is not numeric")
    ok = (np.asarray(d["status"]) == "complete") & np.isfinite(yv.astype(float))
    if not ok.any():
        raise PlotError(f"{table.path}: no complete run has a value of {y!r}")
    xv = np.asarray(d[x])
    if xv.dtype.kind not in "biuf":
        xlabels = sorted({str(v) for v in xv[ok]})
        xnum = np.array([xlabels.index(str(v)) if str(v) in xlabels else -1 for v in xv],
                        dtype=float)
    else:
        xlabels, xnum = None, xv.astype(float)
    others = [p for p in params if p != x]
    groups = {}
    for i in np.flatnonzero(ok):
        key = tuple(_sweep._plain(d[p][i]) for p in others)
        groups.setdefault(key, []).append(i)
    fig, axes = _figure(ax=ax)
    a = axes[0, 0]
    for key, idx in groups.items():
        idx = np.asarray(idx)
        xs = np.unique(xnum[idx])
        mean, lo, hi, n = [], [], [], []
        for xx in xs:
            vals = yv[idx][xnum[idx] == xx].astype(float)
            m = vals.mean()
            mean.append(m)
            n.append(vals.size)
            if spread == "std":
                sd = vals.std(ddof=1) if vals.size > 1 else 0.0
                lo.append(m - sd)
                hi.append(m + sd)
            else:
                lo.append(vals.min())
                hi.append(vals.max())
        label = ", ".join(f"{p}={v}" for p, v in zip(others, key)) or None
        line, = a.plot(xs, mean, "o-", label=label)
        if max(n) > 1:
            a.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.25, linewidth=0)
        a.plot(xnum[idx], yv[idx].astype(float), ".", color=line.get_color(), alpha=0.5,
               markersize=4)
    if xlabels is not None:
        a.set_xticks(np.arange(len(xlabels)))
        a.set_xticklabels(xlabels)
    a.set_xlabel(x)
    a.set_ylabel(y)
    seeds = len(np.unique(np.asarray(d["seed"])[ok]))
    a.set_title(f"{table.attrs.get('experiment', '')}: {y} vs {x} (mean "
                f"{'± sd' if spread == 'std' else 'and range'} over {seeds} seed"
                f"{'s' if seeds != 1 else ''})")
    if len(groups) > 1:
        a.legend(fontsize="small")
    return fig


# ------------------------------------------------------------------------ dispatch

def plot(run, kind, *, select=None):
    """The figure ``kind`` of ``run`` (the kinds of ``plasticity plot``)."""
    kinds = {
        "raster": lambda: raster(run, select),
        "rates": lambda: rates(run, select),
        "weights": lambda: weights(run, select),
        "receptive-fields": lambda: receptive_fields(run, select),
        "stdp-window": lambda: stdp_window(run),
        "convergence": lambda: convergence(run),
        "accuracy": lambda: accuracy(run),
        "confusion": lambda: confusion(run),
    }
    if kind not in kinds:
        raise PlotError(f"unknown plot kind {kind!r}; one of {', '.join(kinds)}")
    return kinds[kind]()
