"""`plasticity report` (issue 20, item 3): one self-contained HTML page per run or sweep.

No browser engine is installed here (none in the venv or on PATH), so the pages are
checked the way a browser would need them: well-formed HTML (every element closed in
order), nothing loaded from elsewhere (no scripts, no links, every image a data: URI),
and every embedded PNG decodes.
"""
import base64
import html.parser
import io
import os

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402

from plasticity import plots, report, results, runner, sweep  # noqa: E402
from plasticity.cli import main  # noqa: E402

from _runfile_utils import TOY  # noqa: E402

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


class _Checker(html.parser.HTMLParser):
    """Collects the problems of a page: unclosed or misnested elements, external
    references, and the images."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.images, self.doctype = [], [], [], None
        self.text = []

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "link", "iframe", "object"):
            self.problems.append(f"<{tag}> in a self-contained page")
        for k in ("src", "href"):
            if k in a and not str(a[k]).startswith("data:"):
                self.problems.append(f"<{tag} {k}={a[k][:40]!r}> loads another file")
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            self.problems.append(f"</{tag}> closes a void element")
        elif not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def check_page(path):
    """Parse a page; returns (text, decoded images); fails on any problem."""
    with open(path, encoding="utf-8") as fh:
        page = fh.read()
    c = _Checker()
    c.feed(page)
    c.close()
    assert c.doctype and c.doctype.lower() == "doctype html", c.doctype
    assert not c.problems, c.problems[:5]
    assert not c.stack, f"unclosed elements: {c.stack}"
    imgs = []
    for src in c.images:
        head, _, data = src.partition(",")
        assert head == "data:image/png;base64", head[:40]
        img = matplotlib.image.imread(io.BytesIO(base64.b64decode(data, validate=True)),
                                      format="png")
        assert img.ndim == 3 and min(img.shape[:2]) > 50 and img[..., :3].std() > 0.01
        imgs.append(img)
    return " ".join(" ".join(c.text).split()), imgs


TOY_PAPER = '''
import os, sys
sys.path.insert(0, {tests!r})
from toy_random_walk import *  # noqa
from toy_random_walk import __doc__  # noqa
PAPER_VALUES = {{"mean_weight": (0.5, "Toy et al. 2024, Fig. 1"),
                 "absent_metric": (1.0, "nowhere")}}
'''


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    exp = d / "toy_paper.py"
    exp.write_text(TOY_PAPER.format(tests=os.path.dirname(TOY)))
    return runner.run_experiment(str(exp), out=str(d), filename="toy.h5", small=True,
                                 sets=["eta=0.2"]).path


def test_run_page_is_valid_and_complete(toy_run, tmp_path, capsys):
    rc = main(["report", toy_run])
    out, err = capsys.readouterr()
    page = toy_run[:-3] + ".html"
    assert rc == 0 and out.strip() == page, err
    text, imgs = check_page(page)
    with results.load(toy_run) as run:
        kinds = [k for k, why in plots.applicable(run).items() if why is None]
        assert len(imgs) == len(kinds) >= 4
        for k in kinds:
            assert f"{k}: {plots.KINDS[k]}" in text
        # every kind that does not apply is listed with its reason
        for k, why in plots.applicable(run).items():
            if why is not None:
                assert why.replace(f"{run.path} ", "").replace(f"{run.path}: ", "")[:40] \
                    in text
        # headline metrics beside the paper's value and its source
        mw = run.metrics["mean_weight"]
        assert "mean_weight" in text and "Toy et al. 2024, Fig. 1" in text
        assert report._compare(mw, 0.5) in text
        assert "Paper values without a metric in this run: absent_metric" in text
        # provenance
        for key in ("plasticity_version", "created", "python_version"):
            assert str(run.attrs[key]) in text
        assert os.path.abspath(toy_run) in text
    # the config with units and help; the changed value is flagged
    assert "eta" in text and "2 values differ from the experiment's defaults" in text
    with open(page, encoding="utf-8") as fh:
        assert '<tr class="changed"><td><code>eta</code>' in fh.read()


def test_report_errors_are_one_line(tmp_path, capsys):
    rc = main(["report", str(tmp_path / "nope.h5")])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "no such run file" in err
    rc = main(["report", str(tmp_path)])
    err = capsys.readouterr().err
    assert rc == 2 and "without a sweep.h5" in err and "Traceback" not in err
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    rc = main(["report", str(junk)])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1


def test_plots_reports_and_analysis_read_sweeps_without_the_executor(tmp_path):
    """Issue 16: the sweep table reader lives in plasticity.results.sweeps, so plotting,
    the report and the analysis helpers read a sweep without importing the sweep
    executor (plasticity.sweep) or Dask."""
    import subprocess
    import sys

    from _runfile_utils import env
    out = str(tmp_path / "sw")
    res = sweep.run_sweep(TOY, ["eta=0.05,0.1"], seeds=1, out=out, small=True, workers=1,
                          quiet=True)
    assert res.n_complete == 2
    code = f"""
import sys
import matplotlib
matplotlib.use("Agg")
import plasticity.plots, plasticity.report, plasticity.analysis
from plasticity.results import sweeps
t = sweeps.load_table({os.path.join(out, "sweep.h5")!r})
assert len(t) == 2 and sweeps.is_sweep_file(t.path)
plasticity.plots.effect(t.path, "eta", t.metric_columns[0])
plasticity.report.report({out!r}, out={str(tmp_path / "sweep.html")!r})
plasticity.analysis.sweep_table({out!r}, as_pandas=False)
bad = sorted(m for m in sys.modules if m == "plasticity.sweep" or m == "dask"
             or m.startswith(("dask.", "distributed")))
print("IMPORTED", bad)
"""
    p = subprocess.run([sys.executable, "-c", code], env=env(), capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "IMPORTED []" in p.stdout, p.stdout
    assert os.path.exists(tmp_path / "sweep.html")


def test_sweep_page_has_the_effect_of_each_key(tmp_path, capsys):
    out = str(tmp_path / "sw")
    res = sweep.run_sweep(TOY, ["eta=0.05,0.1", "rule=additive,multiplicative"], seeds=2,
                          out=out, small=True, workers=1, quiet=True)
    assert res.n_complete == 8
    rc = main(["report", out, "--out", str(tmp_path / "sweep.html")])
    assert rc == 0, capsys.readouterr().err
    text, imgs = check_page(str(tmp_path / "sweep.html"))
    t = sweep.load_table(os.path.join(out, "sweep.h5"))
    numeric = [m for m in t.metric_columns if t.data[m].dtype.kind in "biuf"]
    assert len(imgs) == len(t.param_columns) * len(numeric) == 4
    for x in t.param_columns:
        for y in numeric:
            assert f"{y} against {x}" in text
    # grid keys with their help text
    assert plots.config_label(os.path.abspath(TOY), "eta", width=0) in text
    assert "8 runs: 8 complete" in text
    # the effect figure: error bars over the 2 seeds, x label with the help text
    fig = plots.effect(t, "eta", "mean_weight")
    a = fig.axes[0]
    assert "eta:" in a.get_xlabel() and a.containers, "no error bars"


def test_experiments_declare_paper_values():
    for name, metric in [("song_abbott_2000", "bimodal"), ("diehl_cook_2015", "accuracy"),
                         ("kheradpisheh_mnist", "accuracy_test"),
                         ("pfister_gerstner_2006", "dw/triplet-all-to-all-minimal")]:
        pv = report.paper_values(name)
        assert metric in pv, (name, pv)
        value, source = pv[metric]
        assert isinstance(source, str) and len(source) > 10
