"""Figures from run files (or plain arrays), as matplotlib ``Figure`` objects.

Every function takes a :class:`plasticity.results.Run` or arrays, and returns a
``matplotlib.figure.Figure`` (built without pyplot, so it works headless and leaves
no global state); save it with ``fig.savefig(path)``. A figure that needs data the
run lacks raises :class:`PlotError` saying, in one line, what is missing.

Kinds (``plasticity plot RUN KIND``, see :data:`KINDS`): raster, rates, state,
weights, receptive-fields, stdp-window, convergence, accuracy, confusion, curves.
:func:`applicable` says which of them a run file supports, and why not the others.
Every axis carries its unit; times are in seconds when the run is longer than
:data:`SECONDS_FROM_MS` ms.
"""
import textwrap

import numpy as np

__all__ = ["PlotError", "KINDS", "plot", "applicable", "figures", "raster", "rates",
           "state", "weights", "receptive_fields", "stdp_window", "measure_stdp_window",
           "convergence", "accuracy", "confusion", "curves", "effect", "config_label"]

#: plot kinds of a run file and what each draws
KINDS = {
    "raster": "spike raster, one panel per recorded population",
    "rates": "population rate over time, one panel per recorded population",
    "state": "recorded state traces (voltage, conductances, thresholds, ...)",
    "weights": "weight histogram and its evolution, one row per projection",
    "receptive-fields": "incoming weights of each neuron as an image of its input",
    "stdp-window": "weight change against spike-time difference",
    "convergence": "convergence curves (metrics convergence...)",
    "accuracy": "accuracy curves or values (metrics accuracy...)",
    "confusion": "confusion matrix (metric confusion)",
    "curves": "every other curve among the metrics (losses, errors, rates, ...)",
}

#: recordings longer than this (ms) get time axes in seconds
SECONDS_FROM_MS = 10_000.0


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


def _wrap(text, width=70):
    """Wrap a title so it is not clipped by the figure's edge."""
    return "\n".join(textwrap.wrap(str(text), width)) if text else text


def _time_unit(t_end_ms):
    """``(factor, unit)`` to draw times (ms) up to ``t_end_ms``: seconds for long runs."""
    return (1e-3, "s") if abs(float(t_end_ms)) >= SECONDS_FROM_MS else (1.0, "ms")


def _with_unit(label, units, default="a.u."):
    """``label (units)``; labels that already carry a unit are left alone."""
    label = str(label)
    if "(" in label and label.rstrip().endswith(")"):
        return label
    return f"{label} ({units or default})"


def _attr(run, path, name, default=None):
    """Attribute ``name`` of object ``path`` of a run file (``default`` if absent)."""
    f = getattr(run, "_f", None)
    if f is None or path not in f:
        return default
    v = f[path].attrs.get(name, default)
    return v.decode() if isinstance(v, bytes) else v


# ------------------------------------------------------------------------ spikes

def _recorded(run, name):
    """Whether the spikes of population ``name`` were recorded (over a time span or with
    at least one spike)."""
    if "spikes" not in run._f or name not in run._f["spikes"]:
        return False
    g = run._f["spikes"][name]
    t0, t1 = run.time_range(name)
    n = g["node_ids"].shape[0] if "node_ids" in g else 0
    return t1 > t0 or n > 0


def _spike_sources(source, pop, *, need_span=False):
    """``([(name, times, ids, n, (t0, t1))], skipped)`` from a Run or arrays; ``skipped``
    names the populations whose spikes were not recorded."""
    if _is_run(source):
        pops = source.populations
        if not pops:
            raise PlotError(f"{source.path} has no populations, so no spikes to plot")
        if pop is not None and pop not in pops:
            raise PlotError(f"{source.path} has no population {pop!r}; available: "
                            f"{', '.join(pops)}")
        names = [pop] if pop is not None else list(pops)
        out, skipped = [], []
        for name in names:
            if not _recorded(source, name) or (need_span and
                                               np.diff(source.time_range(name))[0] <= 0):
                skipped.append(name)
                continue
            t, i = source.spikes(name)
            out.append((name, t, i, pops[name]["n"], source.time_range(name)))
        if not out:
            which = f"population {pop!r} were" if pop else \
                f"any population ({', '.join(names)}) were"
            raise PlotError(f"{source.path}: no spikes of {which} recorded (t_stop == "
                            f"t_start and no spikes), so there is nothing to plot")
        return out, skipped
    t, i = (np.asarray(source[0], dtype=float), np.asarray(source[1]))
    n = int(i.max()) + 1 if i.size else 0
    t1 = float(t.max()) if t.size else 0.0
    return [(pop or "spikes", t, i, n, (0.0, t1))], []


def _not_recorded_note(fig, skipped):
    if skipped:
        fig.text(0.01, 0.0, _wrap("not recorded: " + ", ".join(skipped), 110),
                 fontsize="x-small", color="0.4", va="bottom")


def raster(source, pop=None, *, t_range=None, ax=None, max_spikes=1_000_000, markersize=2,
           max_panels=12):
    """Spike raster: node id against time, one panel per population.

    Parameters
    ----------
    source : Run or (times_ms, node_ids)
        A run (every population whose spikes were recorded, or ``pop``) or arrays.
    pop : str, optional
        The population to draw.
    t_range : (float, float), optional
        The time window (ms).
    ax : matplotlib Axes, optional
        Draw into this axes (one population only).
    max_spikes : int
        At most this many spikes per population are drawn (evenly thinned beyond).
    markersize : float
        Marker size.
    max_panels : int
        At most this many populations (a note names the ones left out).

    Returns
    -------
    matplotlib.figure.Figure
    """
    srcs, skipped = _spike_sources(source, pop)
    if len(srcs) > max_panels:
        skipped = skipped + [s[0] for s in srcs[max_panels:]]
        srcs = srcs[:max_panels]
    t_end = max(max(s[4][1], float(s[1].max()) if s[1].size else 0.0) for s in srcs)
    f, unit = _time_unit(t_end)
    fig, axes = _figure(len(srcs), 1, ax=ax if len(srcs) == 1 else None, sharex=True,
                        figsize=(6.4, 1.2 + 1.3 * len(srcs)) if len(srcs) > 2 else None)
    for a, (name, t, i, n, (t0, t1)) in zip(axes[:, 0], srcs):
        if t_range is not None:
            keep = (t >= t_range[0]) & (t < t_range[1])
            t, i = t[keep], i[keep]
        if t.size > max_spikes:
            sel = np.linspace(0, t.size - 1, max_spikes).astype(np.int64)
            t, i = t[sel], i[sel]
        a.scatter(t * f, i, s=markersize, marker="|" if t.size < 20000 else ".", c="k",
                  linewidths=0.8)
        if t.size == 0:
            a.text(0.5, 0.5, "no spikes", transform=a.transAxes, ha="center",
                   va="center", color="0.5")
        if t1 > t0:
            a.set_xlim(t0 * f, t1 * f)
        a.set_ylabel(f"{name}\nneuron (id)")
        a.set_ylim(-0.5, max(n, 1) - 0.5)
    axes[-1, 0].set_xlabel(f"time ({unit})")
    if _title(source):
        axes[0, 0].set_title(_title(source))
    if ax is None:
        _not_recorded_note(fig, skipped)
    return fig


def rates(source, pop=None, *, bin_ms=None, ax=None, max_panels=12):
    """Population rate (Hz per neuron) in time bins, one panel per population.

    Parameters
    ----------
    source : Run or (times_ms, node_ids)
        A run (every population recorded over a time span, or ``pop``) or arrays
        (the population size is then max id + 1).
    pop : str, optional
        The population to draw.
    bin_ms : float, optional
        Bin width (ms); default 1/50 of the recording.
    ax : matplotlib Axes, optional
        Draw into this axes (one population only).
    max_panels : int
        At most this many populations.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if bin_ms is not None and not bin_ms > 0:
        raise ValueError(f"bin_ms must be > 0 ms, got {bin_ms}")
    srcs, skipped = _spike_sources(source, pop, need_span=True)
    if len(srcs) > max_panels:
        skipped = skipped + [s[0] for s in srcs[max_panels:]]
        srcs = srcs[:max_panels]
    f, unit = _time_unit(max(s[4][1] for s in srcs))
    fig, axes = _figure(len(srcs), 1, ax=ax if len(srcs) == 1 else None, sharex=True,
                        figsize=(6.4, 1.2 + 1.3 * len(srcs)) if len(srcs) > 2 else None)
    for a, (name, t, i, n, (t0, t1)) in zip(axes[:, 0], srcs):
        if t1 <= t0:
            raise PlotError(f"population {name!r} has no recorded time span (t_stop <= "
                            f"t_start), so rates are undefined")
        edges, hz = _binned_rate(t, n, t0, t1, bin_ms)
        centres = 0.5 * (edges[:-1] + edges[1:])
        a.plot(centres * f, hz, label=name, drawstyle="steps-mid")
        a.set_ylabel(f"{name}\nrate (Hz)")
        a.set_ylim(bottom=0)
    axes[-1, 0].set_xlabel(f"time ({unit})")
    if _title(source):
        axes[0, 0].set_title(_title(source) + " (per neuron, mean over the population)"
                             if ax is None else _title(source))
    if ax is None:
        _not_recorded_note(fig, skipped)
    return fig


def _binned_rate(times, n, t0, t1, bin_ms=None):
    """``(edges_ms, rate_hz)``: spikes per neuron per second in bins of ``bin_ms``
    (default 1/50 of the span) from ``t0`` to ``t1``; the last bin may be shorter."""
    from .analysis import binned_rate
    r = binned_rate(times, n, t0, t1, bin_ms or (t1 - t0) / 50.0)
    return r.edges, r.rates


# ------------------------------------------------------------------------ state

def state(source, monitor=None, *, variables=None, max_neurons=5, max_monitors=12):
    """Recorded state traces: one row per monitor, one column per variable.

    Parameters
    ----------
    source : Run
        A run with ``/state`` monitors.
    monitor : str, optional
        One monitor, or ``MONITOR/VARIABLE`` for one variable; default every monitor
        (the first ``max_monitors``).
    variables : list of str, optional
        The variables to draw (default all of the monitor's).
    max_neurons : int
        Traces of at most this many neurons per panel.
    max_monitors : int
        At most this many monitors (a note says how many were left out).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not _is_run(source):
        raise PlotError("state traces are drawn from a run file (plasticity.load(path))")
    mons = source.monitors
    if not mons:
        raise PlotError(f"{source.path} has no recorded state (no /state monitors: the "
                        f"experiment recorded no voltages, conductances or thresholds)")
    if monitor is not None and "/" in monitor and monitor not in mons:
        monitor, var = monitor.split("/", 1)
        variables = [var]
    if monitor is not None and monitor not in mons:
        raise PlotError(f"{source.path} has no state monitor {monitor!r}; available: "
                        f"{', '.join(mons)}")
    names = [monitor] if monitor is not None else list(mons)
    left_out = names[max_monitors:]
    names = names[:max_monitors]
    cols = []
    for m in names:
        for v in mons[m]:
            if (variables is None or v in variables) and v not in cols:
                cols.append(v)
    # voltages first (units mV), then the rest in the file's order
    cols.sort(key=lambda v: _attr(source, f"state/{names[0]}/{v}", "units") != "mV")
    if not cols:
        raise PlotError(f"{source.path}: monitor {names[0]!r} has no variable "
                        f"{', '.join(variables or [])}; it has {', '.join(mons[names[0]])}")
    t_end = max(float(source._f["state"][m]["times"][-1]) if
                source._f["state"][m]["times"].shape[0] else 0.0 for m in names)
    f, unit = _time_unit(t_end)
    fig, axes = _figure(len(names), len(cols), sharex="row",
                        figsize=(3.6 * len(cols) + 1.0, 1.0 + 1.5 * len(names)))
    for r, m in enumerate(names):
        g = source._f["state"][m]
        t = g["times"][()]
        ids = g["node_ids"][()] if "node_ids" in g else None
        for c, v in enumerate(cols):
            a = axes[r, c]
            if v not in g:
                a.set_axis_off()
                continue
            y = np.asarray(g[v][()], dtype=float)
            y = y.reshape(y.shape[0], -1)
            k = min(y.shape[1], max_neurons)
            for j in range(k):
                a.plot(t * f, y[:, j], lw=0.8,
                       label=f"neuron {ids[j] if ids is not None else j}" if k > 1 else None)
            units = _attr(source, f"state/{m}/{v}", "units")
            a.set_ylabel(_with_unit(v, units), fontsize="small")
            a.set_xlabel(f"time ({unit})")
            if k > 1 and r == 0:
                a.legend(fontsize="x-small", loc="best")
            a.set_title(f"{m}" + (f" ({k} of {y.shape[1]} neurons)" if y.shape[1] > k
                                  else ""), fontsize="small")
    fig.suptitle(_wrap(f"{_title(source)}: state" + (
        f" (first {len(names)} of {len(names) + len(left_out)} monitors; choose one "
        f"with --select)" if left_out else "")))
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


def weights(source, proj=None, *, bins=50, max_columns=200, max_projections=12):
    """Weight histogram (final weights) and its evolution over the snapshots.

    Parameters
    ----------
    source : Run, array or (final, times, snapshots)
        A run (every projection, one row each, or ``proj``), an array of weights
        (the histogram only), or a tuple with ``snapshots`` of shape
        (n_snapshots, nnz).
    proj : str, optional
        The projection to draw (default: all).
    bins : int
        Histogram bins.
    max_columns : int
        The evolution panel is an image with one column per snapshot (at most this
        many), the histogram of the weights at that time, with the mean drawn over it.
    max_projections : int
        At most this many projections.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if _is_run(source):
        if proj is not None:
            names = [_proj(source, proj)]
        else:
            _proj(source, None)  # raises if there are none
            names = list(source.projections)[:max_projections]
        rows = [_weight_row(source, p, max_columns) for p in names]
    elif isinstance(source, tuple):
        final, times, snaps = (np.asarray(x) for x in source)
        rows = [("weights", final, times, np.arange(times.size),
                 lambda k: snaps[k], None)]  # noqa: E731
    else:
        rows = [("weights", np.asarray(source), np.zeros(0), [], None, None)]
    evolution = any(len(r[3]) for r in rows)
    fig, axes = _figure(len(rows), 2 if evolution else 1,
                        figsize=(9.0 if evolution else 6.4, 1.4 + 2.6 * len(rows)))
    for r, (label, final, times, idx, get, units) in enumerate(rows):
        _weight_panels(axes[r], label, final, times, idx, get, units, bins,
                       len(rows) > 1 or _is_run(source))
    return fig


def _weight_row(run, proj, max_columns):
    final = run.weights(proj, snapshot=None).data
    times = run.weight_times(proj)
    idx = np.unique(np.linspace(0, times.size - 1, min(times.size, max_columns))
                    .astype(np.int64)) if times.size else np.zeros(0, np.int64)
    units = run.projections[proj].get("units") or _attr(run, f"synapses/{proj}", "units")
    return (proj, final, times, idx, lambda k: run.weights(proj, snapshot=int(k)).data,
            units)


def _weight_panels(axrow, label, final, times, idx, get, units, bins, named):
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
    wlabel = _with_unit("weight", units)
    a = axrow[0]
    a.hist(final, bins=edges, color="0.3")
    a.set_xlabel(wlabel)
    a.set_ylabel("synapses (count)")
    a.set_title(f"{label}: final weights" if named else "final weights")
    if cols:
        e = axrow[1]
        img = np.stack([np.histogram(c, bins=edges)[0] for c in cols], axis=1)
        t = np.asarray(times)[np.asarray(idx)]
        f, unit = _time_unit(t[-1])
        dt = (t[-1] - t[0]) / max(len(t) - 1, 1) if len(t) > 1 else 1.0
        e.imshow(img, origin="lower", aspect="auto", cmap="Greys", interpolation="nearest",
                 extent=((t[0] - dt / 2) * f, (t[-1] + dt / 2) * f, lo, hi))
        e.plot(t * f, [c.mean() for c in cols], color="tab:red", label="mean")
        e.set_xlabel(f"time ({unit})")
        e.set_ylabel(wlabel)
        e.set_title("weight distribution over time")
        e.legend(loc="best", fontsize="small")
    elif len(axrow) > 1:
        axrow[1].set_axis_off()
        axrow[1].text(0.5, 0.5, f"{label}: no weight snapshots recorded", ha="center",
                      va="center", color="0.5", transform=axrow[1].transAxes)


# ------------------------------------------------------------------------ images

def _rf_projection(run, proj):
    """``(projection, image shape)`` for receptive fields: ``proj``, or the first
    projection whose input is an image (a ``pre_shape`` attribute, or a square number of
    inputs)."""
    projs = run.projections
    if not projs:
        raise PlotError(f"{run.path} has no projections (no /synapses), so no weights "
                        f"to plot")
    names = [_proj(run, proj)] if proj is not None else list(projs)
    why = []
    for p in names:
        info = projs[p]
        n_pre = info["shape"][0]
        shape = tuple(info.get("pre_shape") or ())
        if shape and len(shape) == 3 and shape[0] != 2:
            why.append(f"{p!r} has {shape[0]} input channels (receptive fields need 1 or "
                       f"2 (ON/OFF))")
            continue
        if not shape:
            side = int(round(np.sqrt(n_pre)))
            if side * side != n_pre:
                why.append(f"{p!r}: {n_pre} inputs are not a square image and it has no "
                           f"pre_shape attribute")
                continue
            shape = (side, side)
        return p, shape
    raise PlotError(f"{run.path}: no projection has image inputs: " + "; ".join(why)
                    + (" (pass shape=)" if proj is not None else ""))


def receptive_fields(source, proj=None, *, shape=None, neurons=None, max_neurons=36):
    """Each postsynaptic neuron's incoming weights as an image of its input.

    ``source``: a Run (projection ``proj``; the image shape comes from ``shape`` or the
    projection's ``pre_shape`` attribute, else a square input is assumed) or an array
    (n_post, *shape) or (n_post, n_pre) with ``shape``. Inputs of shape (2, H, W) are ON/OFF channels, drawn as colour
    images (ON red, OFF blue).
    """
    if _is_run(source):
        if shape is None:
            proj, shape = _rf_projection(source, proj)
        else:
            proj = _proj(source, proj)
        n_pre, n_post = source.projections[proj]["shape"]
        units = source.projections[proj].get("units")
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
        units = None
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
    fig.suptitle(_wrap("receptive fields" + (f" of {proj}" if _is_run(source) else "")
                       + (" (ON red, OFF blue)" if on_off else "")
                       + f"; colour: {_with_unit('weight', units)} from 0 to {vmax:.3g}",
                       40 + 12 * ncols))
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
    a.set_ylabel("weight change (relative)")
    a.set_title("STDP window")
    return fig


# ------------------------------------------------------------------------ curves

def _metric_units(source, name):
    at = source.metric_attrs(name) if _is_run(source) else {}
    return at.get("units")


def _curves(source, prefix, what):
    if _is_run(source):
        m = source.metrics
        names = [k for k in m if k == prefix or k.startswith(prefix + "/")
                 or (k.startswith(prefix) and "/" not in k)]
        names = [k for k in names if np.asarray(m[k]).dtype.kind in "biuf"]
        if not names:
            raise PlotError(f"{source.path} has no {what} metrics (names starting with "
                            f"{prefix!r}; found: {_some(m)})")
        out = []
        for k in names:
            v = np.asarray(m[k], dtype=float)
            at = source.metric_attrs(k)
            x = np.asarray(at["x"], dtype=float) if "x" in at else None
            out.append((k, v, x, at.get("xlabel"), at.get("units")))
        return out
    if isinstance(source, dict):
        return [(k, np.asarray(v, dtype=float), None, None, None) for k, v in source.items()]
    return [(prefix, np.asarray(source, dtype=float), None, None, None)]


def _some(names, k=8):
    names = list(names)
    if not names:
        return "none"
    return ", ".join(names[:k]) + (f", ... ({len(names)} in all)" if len(names) > k else "")


def _curve_figure(source, prefix, what, ylabel, ax, logy=False, default_units=None):
    curves = _curves(source, prefix, what)
    lines = [c for c in curves if c[1].size > 1]
    values = [c for c in curves if c[1].size == 1]
    fig, axes = _figure(ax=ax)
    a = axes[0, 0]
    units = next((c[4] for c in curves if c[4]), default_units)
    if not lines:
        # only single values (e.g. a test accuracy): a bar each, with its value
        names = [c[0] for c in values]
        vals = [float(c[1].ravel()[0]) for c in values]
        y = np.arange(len(vals))
        a.barh(y, vals, color="tab:blue")
        for yy, v in zip(y, vals):
            a.text(v, yy, f" {v:.4g}", va="center", fontsize="small")
        a.set_yticks(y)
        a.set_yticklabels(names)
        a.invert_yaxis()
        a.set_xlabel(_with_unit(ylabel, units))
        a.set_ylabel("metric (name)")
        a.set_xlim(0, max(max(vals) * 1.15, 1e-12) if min(vals) >= 0 else None)
    else:
        xlabel = None
        for name, v, x, xl, _ in lines:
            v = v.ravel()
            x = np.arange(1, v.size + 1) if x is None or x.shape != v.shape else x
            a.plot(x, v, marker="o" if v.size < 30 else None, ms=3, label=name)
            xlabel = xlabel or xl
        for name, v, _, _, _ in values:
            a.axhline(float(v.ravel()[0]), ls="--", lw=1, color="0.4",
                      label=f"{name} = {float(v.ravel()[0]):.4g}")
        if logy and all(np.all(c[1] > 0) for c in lines):
            a.set_yscale("log")
        a.set_xlabel(xlabel or "iteration")
        a.set_ylabel(_with_unit(ylabel, units))
        a.legend(loc="best", fontsize="small")
    if _title(source):
        a.set_title(_title(source))
    return fig


def convergence(source, *, ax=None):
    """Convergence curves: metrics named ``convergence`` or ``convergence/...``.

    (e.g. Kheradpisheh's C_l per layer against training iterations).
    """
    return _curve_figure(source, "convergence", "convergence", "convergence", ax,
                         logy=True, default_units="dimensionless")


def accuracy(source, *, ax=None):
    """Accuracy: metrics named ``accuracy...``; curves as lines (single values then
    dashed), or, when there are only single values, one bar each with its value."""
    return _curve_figure(source, "accuracy", "accuracy", "accuracy", ax,
                         default_units="fraction")


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
    a.set_xlabel("predicted (class)")
    a.set_ylabel("true (class)")
    a.set_title("confusion matrix")
    return fig



#: metric families with a figure of their own (not repeated by ``curves``)
_OWN_KIND = ("stdp_window/", "convergence", "accuracy", "confusion")


def _curve_groups(run):
    """``{group: [(name, values, x, xlabel, ylabel, units)]}``: the 1-D numeric metrics
    of two or more values, grouped by the part of their name before the first '/'."""
    groups = {}
    for k, v in run.metrics.items():
        if k.startswith(_OWN_KIND) or not isinstance(v, np.ndarray):
            continue
        if v.dtype.kind not in "biuf" or v.ndim != 1 or v.size < 2:
            continue
        at = run.metric_attrs(k)
        x = np.asarray(at["x"], dtype=float) if "x" in at else None
        x = x if x is not None and x.shape == v.shape else None
        g = k.split("/", 1)[0]
        groups.setdefault(g, []).append((k, v.astype(float), x, at.get("xlabel"),
                                         at.get("ylabel"), at.get("units")))
    return groups


def curves(source, group=None, *, max_panels=12):
    """Every other curve among the metrics: 1-D numeric metrics (losses, errors,
    rates per iteration, outputs, ...), one panel per name group (the part of the name
    before the first '/'), against the metric's ``x`` attribute or its index.

    Parameters
    ----------
    source : Run
    group : str, optional
        One group (e.g. ``nmse``) or one metric name.
    max_panels : int
        At most this many panels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not _is_run(source):
        raise PlotError("curves are drawn from a run file (plasticity.load(path))")
    groups = _curve_groups(source)
    if not groups:
        raise PlotError(f"{source.path} has no curves among its metrics (1-D numeric "
                        f"metrics of 2 or more values, other than stdp_window, "
                        f"convergence, accuracy and confusion)")
    if group is not None:
        if group in groups:
            groups = {group: groups[group]}
        else:
            hit = [(g, c) for g, cs in groups.items() for c in cs if c[0] == group]
            if not hit:
                raise PlotError(f"{source.path} has no curve or group {group!r}; groups: "
                                f"{_some(groups)}")
            groups = {group: [hit[0][1]]}
    names = list(groups)
    left = names[max_panels:]
    names = names[:max_panels]
    ncols = 1 if len(names) == 1 else 2
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = _figure(nrows, ncols, figsize=(6.0 * ncols, 1.2 + 2.8 * nrows))
    for a, g in zip(axes.ravel(), names):
        xlabel = ylabel = units = None
        for name, v, x, xl, yl, u in groups[g]:
            xx = np.arange(v.size) if x is None else x
            a.plot(xx, v, lw=1, marker="o" if v.size < 30 else None, ms=3,
                   label=name[len(g) + 1:] or name)
            xlabel, ylabel, units = xlabel or xl, ylabel or yl, units or u
        a.set_xlabel(xlabel or "index (sample)")
        a.set_ylabel(_with_unit(ylabel or g, units))
        n = len(groups[g])
        a.set_title(g if n <= 10 else f"{g} ({n} curves; --select one of them)",
                    fontsize="medium")
        if 1 < n <= 10:  # a longer legend would crowd out the axes
            a.legend(fontsize="x-small", loc="best")
    for a in axes.ravel()[len(names):]:
        a.set_axis_off()
    fig.suptitle(_wrap(f"{_title(source)}: curves" + (
        f" (first {len(names)} of {len(names) + len(left)} groups; choose one with "
        f"--select)" if left else "")))
    return fig


# ------------------------------------------------------------------------ sweeps

def config_label(experiment, key, *, width=60):
    """``key: help (units)`` of config key ``key`` of ``experiment`` (its name or an
    :class:`plasticity.experiments.Experiment`), wrapped to ``width`` characters; just
    ``key`` when the experiment or the key is unknown or has no help."""
    try:
        from . import config as _config
        from . import experiments
        exp = experiments.load(experiment) if isinstance(experiment, str) else experiment
        meta = {k: m for k, _, _, m in _config.describe(exp.Config)}.get(key, {})
    except Exception:  # an experiment that cannot be imported: the key alone
        meta = {}
    text = key
    if meta.get("help"):
        text += f": {meta['help']}"
    if meta.get("units"):
        text += f" ({meta['units']})"
    return "\n".join(textwrap.wrap(text, width)) if width else text


def _sweep_metric_units(table, y):
    """The ``units`` attribute of metric ``y`` in the first complete run of a sweep."""
    import os
    from . import results
    d = table.data
    base = os.path.dirname(os.path.abspath(table.path))
    for st, fn in zip(d.get("status", ()), d.get("file", ())):
        if st != "complete" or not fn:
            continue
        try:
            with results.load(os.path.join(base, fn)) as r:
                return r.metric_attrs(y).get("units")
        except Exception:
            return None
    return None


def effect(table, x, y, *, ax=None, spread="std"):
    """A metric against a sweep parameter: mean over seeds, with the spread.

    Parameters
    ----------
    table : SweepTable or path
        A :class:`plasticity.sweep.SweepTable` (``sweep.load_table``) or the path of a
        ``sweep.h5``.
    x : str
        A grid parameter (the x axis, labelled with the config field's help and units).
    y : str
        A numeric headline metric.
    ax : matplotlib Axes, optional
    spread : {"std", "range"}
        Error bars: the standard deviation over seeds, or the min..max range.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    One line per combination of the other grid parameters; single runs are drawn as
    dots. Only complete runs count.
    """
    from .results import sweeps as _sweep
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
        mean, lo, hi = np.asarray(mean), np.asarray(lo), np.asarray(hi)
        line = a.errorbar(xs, mean, yerr=np.vstack([mean - lo, hi - mean])
                          if max(n) > 1 else None, fmt="o-", capsize=3, label=label)[0]
        a.plot(xnum[idx], yv[idx].astype(float), ".", color=line.get_color(), alpha=0.5,
               markersize=4)
    if xlabels is not None:
        a.set_xticks(np.arange(len(xlabels)))
        a.set_xticklabels(xlabels)
    exp = table.attrs.get("experiment", "")
    src = str(table.attrs.get("experiment_source", ""))
    a.set_xlabel(config_label(src if src.endswith(".py") else exp, x) if exp else x)
    units = _sweep_metric_units(table, y)
    a.set_ylabel(_with_unit(y, units, default="as recorded"))
    seeds = len(np.unique(np.asarray(d["seed"])[ok]))
    a.set_title(_wrap(f"{exp}: {y} vs {x} (mean {'± sd' if spread == 'std' else 'and range'}"
                      f" over {seeds} seed{'s' if seeds != 1 else ''})", 60),
                fontsize="medium")
    if len(groups) > 1:
        a.legend(fontsize="small")
    return fig


# ------------------------------------------------------------------------ dispatch

def _kind_functions(run, select):
    return {
        "raster": lambda: raster(run, select),
        "rates": lambda: rates(run, select),
        "state": lambda: state(run, select),
        "weights": lambda: weights(run, select),
        "receptive-fields": lambda: receptive_fields(run, select),
        "stdp-window": lambda: stdp_window(run),
        "convergence": lambda: convergence(run),
        "accuracy": lambda: accuracy(run),
        "confusion": lambda: confusion(run),
        "curves": lambda: curves(run, select),
    }


def plot(run, kind, *, select=None):
    """The figure ``kind`` of ``run`` (the kinds of ``plasticity plot``, :data:`KINDS`).

    Parameters
    ----------
    run : Run
    kind : str
        One of :data:`KINDS`.
    select : str, optional
        The population (raster, rates), monitor (state), projection (weights,
        receptive-fields) or curve group (curves) to draw; default all.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    PlotError
        An unknown kind, or the run lacks the data (the message says which).
    """
    kinds = _kind_functions(run, select)
    if kind not in kinds:
        raise PlotError(f"unknown plot kind {kind!r}; one of {', '.join(kinds)}")
    return kinds[kind]()


def _check(run, kind):
    """Cheap test of whether ``kind`` applies to ``run``; raises PlotError if not."""
    f = run._f
    if kind in ("raster", "rates"):
        pops = list(run.populations)
        if not pops:
            raise PlotError(f"{run.path} has no populations, so no spikes to plot")
        rec = [p for p in pops if _recorded(run, p)]
        if kind == "rates":
            rec = [p for p in rec if np.diff(run.time_range(p))[0] > 0]
        if not rec:
            raise PlotError(f"{run.path}: no spikes of any population ({_some(pops)}) "
                            f"were recorded over a time span, so there is nothing to plot")
    elif kind == "state":
        if not run.monitors:
            raise PlotError(f"{run.path} has no recorded state (no /state monitors)")
    elif kind in ("weights", "receptive-fields"):
        projs = run.projections
        if not projs:
            raise PlotError(f"{run.path} has no projections (no /synapses), so no weights "
                            f"to plot")
        if kind == "receptive-fields":
            _rf_projection(run, None)
    elif kind == "stdp-window":
        if "metrics/stdp_window/dt" not in f or "metrics/stdp_window/dw" not in f:
            raise PlotError(f"{run.path} holds no measured STDP window (metrics "
                            f"'stdp_window/dt' and 'stdp_window/dw')")
    elif kind in ("convergence", "accuracy"):
        _curves(run, kind, kind)
    elif kind == "confusion":
        if not any(k in run.metrics for k in ("confusion", "confusion_matrix")):
            raise PlotError(f"{run.path} has no confusion matrix (metric 'confusion')")
    elif kind == "curves":
        if not _curve_groups(run):
            raise PlotError(f"{run.path} has no curves among its metrics (1-D numeric "
                            f"metrics of 2 or more values, other than stdp_window, "
                            f"convergence, accuracy and confusion)")
    else:
        raise PlotError(f"unknown plot kind {kind!r}; one of {', '.join(KINDS)}")


def applicable(run):
    """Which plot kinds apply to ``run``.

    Parameters
    ----------
    run : Run

    Returns
    -------
    dict
        ``{kind: None}`` for a kind that applies, ``{kind: reason}`` (one line) for one
        that does not, for every kind of :data:`KINDS`.
    """
    out = {}
    for kind in KINDS:
        try:
            _check(run, kind)
            out[kind] = None
        except PlotError as e:
            out[kind] = str(e)
    return out


def figures(run):
    """Yield ``(kind, figure)`` for every kind that applies to ``run``."""
    for kind, why in applicable(run).items():
        if why is None:
            yield kind, plot(run, kind)
