"""One self-contained HTML page about a run or a sweep (``plasticity report``).

The page needs nothing but a browser: figures are embedded as base64 PNG, the style
sheet is inline, there are no scripts and no links to other files. A run's page has
its provenance, the config (with each field's units and help), the headline metrics
beside the paper's values where the experiment declares them (a module-level
``PAPER_VALUES = {metric: (value, source)}``), every figure of
:func:`plasticity.plots.applicable` (and the experiment's own ``figure``, if it has
one), the kinds that do not apply and why, and the other metrics. A sweep's page has
its provenance, the grid (keys with their help), the effect of each grid key on each
numeric headline metric (mean over seeds, error bars), and the table of runs.
"""
import base64
import html
import io
import math
import os

import numpy as np

__all__ = ["ReportError", "report", "run_report", "sweep_report", "paper_values"]

#: figures of a page are drawn at this resolution
DPI = 80


class ReportError(ValueError):
    """The report cannot be made (the message says why)."""


def _e(x):
    return html.escape(str(x), quote=True)


def _fmt(v, digits=6):
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.{digits}g}"
    if isinstance(v, np.ndarray):
        if v.ndim == 0:
            return _fmt(v[()], digits)
        if v.size <= 12 and v.ndim == 1:
            return "[" + ", ".join(_fmt(x, 4) for x in v) + "]"
        return f"array {v.shape} {v.dtype}"
    if isinstance(v, (list, tuple)):
        return _fmt(np.asarray(v), digits) if v and all(
            isinstance(x, (int, float)) for x in v) else str(v)
    return str(v)


def _png(fig):
    """A figure as an ``<img>`` with its PNG inline (base64)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def _table(header, rows, cls=None):
    c = f' class="{cls}"' if cls else ""
    out = [f"<table{c}>", "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header)
           + "</tr></thead>", "<tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{x}</td>" for x in r) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
.summary { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left;
         vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.changed { background: #fff6d8; }
.note { color: #666; font-size: 0.9em; }
figure { margin: 1em 0; }
figcaption { font-weight: bold; margin-bottom: 0.3em; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
code { background: #f5f5f5; padding: 0 0.2em; }
"""


def _page(title, body):
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + body + "\n</body>\n</html>\n")


def _experiment(name, source=None):
    """The experiment's :class:`Experiment` (by name, else from ``source``, the
    ``experiment_source`` of a run file when it is a ``.py`` file), or None."""
    from . import experiments
    for what in (name, source if source and str(source).endswith(".py") else None):
        if not what:
            continue
        try:
            return experiments.load(what)
        except Exception:
            continue
    return None


def _why(run, text):
    """A reason without the run file's path in front (the page is about that file)."""
    for pre in (f"{run.path}: ", f"{run.path} "):
        if text.startswith(pre):
            return text[len(pre):]
    return text


def paper_values(experiment):
    """``{metric: (value, source)}`` the experiment declares (its ``PAPER_VALUES``).

    Parameters
    ----------
    experiment : str or Experiment
        The experiment's name (or loaded experiment).

    Returns
    -------
    dict
        Empty when the experiment declares none or cannot be loaded.
    """
    exp = _experiment(experiment) if isinstance(experiment, str) else experiment
    pv = getattr(getattr(exp, "module", None), "PAPER_VALUES", None) or {}
    out = {}
    for k, v in dict(pv).items():
        if not (isinstance(v, tuple) and len(v) == 2):
            raise ReportError(f"experiment {getattr(exp, 'name', experiment)!r}: "
                              f"PAPER_VALUES[{k!r}] must be a (value, source) tuple, got "
                              f"{v!r}")
        out[k] = v
    return out


# ------------------------------------------------------------------------ run page

def _provenance(attrs, path):
    keys = [("file", os.path.abspath(path)), ("experiment", attrs.get("experiment")),
            ("experiment source", attrs.get("experiment_source")),
            ("seed", attrs.get("seed")), ("status", attrs.get("status")),
            ("created", attrs.get("created")), ("finished", attrs.get("finished")),
            ("wall time (s)", attrs.get("wall_time_s")),
            ("resumed", attrs.get("resumed")), ("run id", attrs.get("run_id")),
            ("plasticity", attrs.get("plasticity_version")),
            ("git commit", attrs.get("git_commit")),
            ("Python", attrs.get("python_version")), ("NumPy", attrs.get("numpy_version")),
            ("h5py", attrs.get("h5py_version")), ("HDF5", attrs.get("hdf5_version")),
            ("format", f"{attrs.get('format')} v{attrs.get('format_version')}")]
    return _table(["", "value"], [[_e(k), _e(_fmt(v))] for k, v in keys if v is not None])


def _config_rows(exp, cfg):
    """Rows (key, value, default, units, help) of a config dict, flagged when the value
    differs from the experiment's default."""
    from .config import describe, to_flat
    flat = to_flat(cfg)
    meta = {}
    if exp is not None:
        try:
            meta = {k: (d, m) for k, d, _, m in describe(exp.Config)}
        except Exception:
            meta = {}
    rows, changed = [], []
    for k, v in flat.items():
        d, m = meta.get(k, (None, {}))
        differs = k in meta and _plain(d) != _plain(v)
        if differs:
            changed.append(k)
        rows.append((k, v, d if k in meta else "", m.get("units", ""), m.get("help", ""),
                     differs))
    return rows, changed


def _plain(v):
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _config_section(exp, cfg):
    rows, changed = _config_rows(exp, cfg)
    body = []
    for k, v, d, units, help_, differs in rows:
        cls = ' class="changed"' if differs else ""
        body.append(f"<tr{cls}><td><code>{_e(k)}</code></td><td class=\"num\">"
                    f"{_e(_fmt(v))}</td><td class=\"num\">{_e(_fmt(d))}</td>"
                    f"<td>{_e(units)}</td><td>{_e(help_)}</td></tr>")
    note = (f'<p class="note">Highlighted: {len(changed)} value'
            f'{"s differ" if len(changed) != 1 else " differs"} from the experiment\'s '
            f"defaults "
            f"(the paper's values): {_e(', '.join(changed))}.</p>") if changed else \
        '<p class="note">Every value is the experiment\'s default (the paper\'s).</p>'
    return ("<table><thead><tr><th>key</th><th>value</th><th>default</th><th>units</th>"
            "<th>help</th></tr></thead><tbody>\n" + "\n".join(body)
            + "\n</tbody></table>\n" + note), changed


def _compare(ours, paper):
    """Text of the difference between our value and the paper's."""
    try:
        if isinstance(paper, bool) or isinstance(ours, (bool, np.bool_)):
            return "agrees" if bool(ours) == bool(paper) else "differs"
        a = np.asarray(ours, dtype=float)
        b = np.asarray(paper, dtype=float)
        if a.shape != b.shape:
            return f"shapes differ ({a.shape} vs {b.shape})"
        if a.ndim == 0:
            d = float(a - b)
            rel = f", {100 * d / abs(float(b)):+.1f} %" if float(b) != 0 else ""
            return f"{d:+.4g}{rel}"
        return f"max |difference| {float(np.max(np.abs(a - b))):.4g}"
    except (TypeError, ValueError):
        return "agrees" if ours == paper else "differs"


def _metrics_section(run, paper, changed):
    metrics = run.metrics
    head = [k for k in run.headline if k in metrics]
    rows = []
    for k in list(dict.fromkeys(head + [k for k in paper if k in metrics])):
        v = metrics[k]
        units = run.metric_attrs(k).get("units", "")
        if k in paper:
            pv, src = paper[k]
            rows.append([f"<code>{_e(k)}</code>", f'<span class="num">{_e(_fmt(v))}</span>',
                         _e(units), _e(_fmt(np.asarray(pv) if isinstance(pv, list) else pv)),
                         _e(_compare(v, pv)), _e(src)])
        else:
            rows.append([f"<code>{_e(k)}</code>", f'<span class="num">{_e(_fmt(v))}</span>',
                         _e(units), "", "", ""])
    missing = [k for k in paper if k not in metrics]
    out = _table(["metric", "this run", "units", "paper", "difference", "paper source"],
                 rows) if rows else "<p>The run reported no headline metrics.</p>"
    if paper and changed:
        out += (f'<p class="note">The paper\'s values are for the experiment\'s default '
                f"config; this run changed {_e(', '.join(changed))}, so differences are "
                f"expected.</p>")
    if missing:
        out += (f'<p class="note">Paper values without a metric in this run: '
                f"{_e(', '.join(missing))}.</p>")
    if not paper:
        out += '<p class="note">The experiment declares no paper values (PAPER_VALUES).</p>'
    return out


def _other_metrics(run):
    metrics = run.metrics
    head = set(run.headline)
    rows = [[f"<code>{_e(k)}</code>", _e(_fmt(v)), _e(run.metric_attrs(k).get("units", ""))]
            for k, v in metrics.items() if k not in head]
    if not rows:
        return ""
    return ("<h2>Other metrics</h2>\n<details><summary>" + f"{len(rows)} metrics"
            + "</summary>\n" + _table(["metric", "value", "units"], rows)
            + "\n</details>")


def _figures_section(run, exp):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from . import plots
    parts, skipped = [], []
    for kind, why in plots.applicable(run).items():
        if why is not None:
            skipped.append((kind, why))
            continue
        try:
            fig = plots.plot(run, kind)
        except plots.PlotError as e:
            skipped.append((kind, str(e)))
            continue
        parts.append(f"<figure><figcaption>{_e(kind)}: {_e(plots.KINDS[kind])}"
                     f"</figcaption>{_png(fig)}</figure>")
    own = getattr(getattr(exp, "module", None), "figure", None)
    if own is not None:
        try:
            fig = own(run.path)
            if isinstance(fig, Figure) or hasattr(fig, "savefig"):
                parts.append(f"<figure><figcaption>the experiment's own figure "
                             f"(<code>{_e(exp.name)}.figure</code>)</figcaption>"
                             f"{_png(fig)}</figure>")
        except Exception as e:  # the page still has the generic figures
            skipped.append(("experiment figure", f"{type(e).__name__}: {e}"))
    out = "\n".join(parts) or "<p>No figure applies to this run.</p>"
    if skipped:
        out += "\n<h3>Figures that do not apply</h3>\n" + _table(
            ["kind", "why not"], [[_e(k), _e(_why(run, w))] for k, w in skipped])
    return out


def run_report(path):
    """The HTML page of run file ``path`` (a complete run, or a ``.partial``).

    Parameters
    ----------
    path : str
        The run file.

    Returns
    -------
    str
        The page.
    """
    from . import results
    with results.load(path, allow_partial=True) as run:
        exp = _experiment(run.experiment, run.attrs.get("experiment_source"))
        paper = paper_values(exp) if exp is not None else {}
        summary = exp.summary if exp is not None else ""
        cfg_html, changed = _config_section(exp, run.config)
        body = [f"<h1>{_e(run.experiment)} <small>seed {_e(run.seed)}</small></h1>",
                f'<p class="summary">{_e(summary)}</p>' if summary else ""]
        if run.status != "complete":
            body.append(f'<p class="note">Status: {_e(run.status)}'
                        + (f" ({_e(run.attrs['error'])})" if "error" in run.attrs else "")
                        + "</p>")
        body += ["<h2>Headline metrics</h2>", _metrics_section(run, paper, changed),
                 "<h2>Figures</h2>", _figures_section(run, exp),
                 "<h2>Config</h2>", cfg_html,
                 "<h2>Provenance</h2>", _provenance(run.attrs, path),
                 _other_metrics(run)]
        return _page(f"{run.experiment} seed {run.seed}", "\n".join(b for b in body if b))


# ------------------------------------------------------------------------ sweep page

def _sweep_file(path):
    p = os.fspath(path)
    if os.path.isdir(p):
        p = os.path.join(p, "sweep.h5")
        if not os.path.isfile(p):
            raise ReportError(f"{path} is a directory without a sweep.h5, so not a sweep "
                              f"directory (give a run file, a sweep.h5 or a sweep "
                              f"directory)")
    return p


def sweep_report(path, *, max_figures=40):
    """The HTML page of a sweep (its directory or its ``sweep.h5``).

    Parameters
    ----------
    path : str
        The sweep directory or ``sweep.h5``.
    max_figures : int
        At most this many effect figures (grid keys x numeric metrics).

    Returns
    -------
    str
        The page.
    """
    import matplotlib
    matplotlib.use("Agg")
    from . import plots
    from .results import sweeps as sweep
    p = _sweep_file(path)
    table = sweep.load_table(p)
    a = table.attrs
    name = a.get("experiment", "")
    exp = _experiment(name, a.get("experiment_source")) if name else None
    d = table.data
    status = np.asarray(d.get("status", []))
    params, metrics = table.param_columns, table.metric_columns
    numeric = [m for m in metrics if np.asarray(d[m]).dtype.kind in "biuf"]
    body = [f"<h1>Sweep of {_e(name)}</h1>",
            f'<p class="summary">{_e(exp.summary)}</p>' if exp is not None else "",
            f"<p>{len(table)} runs: {int((status == 'complete').sum())} complete, "
            f"{int((status == 'failed').sum())} failed, "
            f"{int((status == 'pending').sum())} pending; seeds {_e(a.get('seeds'))}.</p>"]
    rows = []
    for c in table.columns:
        if c["kind"] != "param":
            continue
        vals = sorted({_fmt(v) for v in d[c["name"]]})
        rows.append([f"<code>{_e(c['key'])}</code>", _e(", ".join(vals)),
                     _e(plots.config_label(exp, c["key"], width=0) if exp is not None
                        else c["key"])])
    body += ["<h2>Grid</h2>", _table(["key", "values", "meaning"], rows)]
    figs, skipped = [], []
    for x in params:
        for y in numeric:
            if len(figs) >= max_figures:
                skipped.append((f"{y} vs {x}", f"more than {max_figures} figures"))
                continue
            try:
                figs.append(f"<figure><figcaption>{_e(y)} against {_e(x)}</figcaption>"
                            f"{_png(plots.effect(table, x, y))}</figure>")
            except plots.PlotError as e:
                skipped.append((f"{y} vs {x}", str(e)))
    body += ["<h2>Effect of each grid key</h2>",
             '<p class="note">Mean over seeds; error bars: standard deviation over seeds; '
             "dots: single runs. One line per combination of the other grid keys.</p>",
             "\n".join(figs) or "<p>No numeric headline metric to plot.</p>"]
    if skipped:
        body.append(_table(["figure", "why not"], [[_e(k), _e(w)] for k, w in skipped]))
    names = [c["name"] for c in table.columns if c["name"] not in ("file", "skipped")]
    runs = [[_e(_fmt(v)) if not isinstance(v, float) or not math.isnan(v) else ""
             for v in (r[n] for n in names)] for r in table.rows()]
    body += ["<h2>Runs</h2>", _table(names, runs)]
    prov = [(k, v) for k, v in a.items() if k not in ("format", "grid")]
    body += ["<h2>Provenance</h2>",
             _table(["", "value"], [[_e("file"), _e(os.path.abspath(p))]]
                    + [[_e(k), _e(_fmt(v))] for k, v in prov])]
    return _page(f"sweep of {name}", "\n".join(b for b in body if b))


# ------------------------------------------------------------------------ entry point

def report(path, out=None):
    """Write the report of a run file or a sweep (directory or ``sweep.h5``).

    Parameters
    ----------
    path : str
        A run file, a ``sweep.h5`` or a sweep directory.
    out : str, optional
        The HTML file (default: the run file with ``.html``, or ``report.html`` in the
        sweep directory).

    Returns
    -------
    str
        The path written.
    """
    from .results import sweeps as sweep
    p = os.fspath(path)
    is_sweep = os.path.isdir(p) or sweep.is_sweep_file(p)
    if is_sweep:
        page = sweep_report(p)
        if out is None:
            out = os.path.join(p if os.path.isdir(p) else os.path.dirname(p) or ".",
                               "report.html")
    else:
        page = run_report(p)
        if out is None:
            base = p[:-len(".partial")] if p.endswith(".partial") else p
            out = (base[:-3] if base.endswith(".h5") else base) + ".html"
    d = os.path.dirname(os.path.abspath(out))
    os.makedirs(d, exist_ok=True)
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(page)
    os.replace(tmp, out)
    return out
