"""The bad-input corpus (corpus.py): every case raises a specific, named error.

Never a crash in compiled code (risky cases run in a subprocess), never a bare
IndexError/KeyError/AttributeError from deep inside, never a silent NaN (a case that
returns instead of raising fails). Cases the library does not catch properly yet are
``xfail(strict=True)`` with the reason (KNOWN), so the suite documents them and
notices when they are fixed.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from plasticity import results, runner

from _runfile_utils import REPO, TOY, env
from corpus import C, PRELUDE

#: case id -> why it is not caught properly yet (reported to the lead)
KNOWN = {
    # cases found by this suite and since fixed are no longer listed here
}


def _damage(path, dataset):
    """Flip bytes in the middle of the first chunk of ``dataset`` (on disk)."""
    with h5py.File(path, "r") as f:
        info = f[dataset].id.get_chunk_info(0)
        off, size = info.byte_offset, info.size
    with open(path, "r+b") as fh:
        fh.seek(off + size // 2)
        b = fh.read(8)
        fh.seek(off + size // 2)
        fh.write(bytes(x ^ 0xFF for x in b))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("files")
    good = runner.run_experiment(TOY, out=str(d), filename="good.h5", small=True).path
    out = {"good": good}

    def copy(name, edit=None):
        p = str(d / f"{name}.h5")
        shutil.copy(good, p)
        if edit is not None:
            with h5py.File(p, "r+") as f:
                edit(f)
        out[name] = p
        return p

    (d / "text.txt").write_text("hello, I am not HDF5\n")
    out["text"] = str(d / "text.txt")
    (d / "text.h5").write_text("hello, I am not HDF5 either\n")
    out["text_h5"] = str(d / "text.h5")
    (d / "empty.h5").write_bytes(b"")
    out["empty"] = str(d / "empty.h5")
    p = copy("truncated")
    size = os.path.getsize(p)
    with open(p, "r+b") as fh:
        fh.truncate(size // 2)
    copy("newer", lambda f: f.attrs.__setitem__("format_version", 2))
    with h5py.File(d / "plain.h5", "w") as f:
        f["x"] = np.arange(3)
    out["plain_h5"] = str(d / "plain.h5")
    copy("ckpt", lambda f: f.attrs.__setitem__("format", "plasticity-checkpoint"))
    copy("partial", lambda f: f.attrs.__setitem__("status", "failed"))
    copy("no_spikes_group", lambda f: f.__delitem__("spikes"))
    copy("no_timestamps", lambda f: f["spikes/inputs"].__delitem__("timestamps"))
    copy("no_config_json", lambda f: f["config"].__delitem__("json"))

    def bad_json(f):
        del f["config/json"]
        f["config/json"] = "{not json"
    copy("bad_config_json", bad_json)

    def bad_csr(f):
        del f["synapses/in_to_out/indptr"]
        f["synapses/in_to_out/indptr"] = np.array([0, 1], np.int64)
    copy("bad_csr", bad_csr)
    p = copy("corrupt")
    _damage(p, "spikes/inputs/timestamps")
    _damage(p, "synapses/in_to_out/snapshots/weights")
    p = copy("corrupt_csr")  # issue 16: flipped bytes in /synapses/*/data were returned
    _damage(p, "synapses/in_to_out/data")
    # issue 16: well-formed HDF5 whose contents are not a valid run (semantic checks)

    def replace(f, name, value):
        del f[name]
        f[name] = value

    def csr_indices(f):  # a postsynaptic id beyond the shape (n_post = 4)
        ind = f["synapses/in_to_out/indices"][:]
        ind[5] = 7
        replace(f, "synapses/in_to_out/indices", ind)
    copy("csr_indices", csr_indices)

    def csr_indptr(f):  # right length and ends, but decreasing inside
        ip = f["synapses/in_to_out/indptr"][:]
        ip[3], ip[4] = ip[4], ip[3]
        replace(f, "synapses/in_to_out/indptr", ip)
    copy("csr_indptr", csr_indptr)

    def ids_beyond_n(f):  # outputs has n = 4
        ids = f["spikes/outputs/node_ids"][:]
        ids[2] = 4
        replace(f, "spikes/outputs/node_ids", ids)
    copy("ids_beyond_n", ids_beyond_n)
    copy("pop_n0", lambda f: f["populations/outputs"].attrs.__setitem__("n", 0))
    copy("no_headline_metric", lambda f: f["metrics"].__delitem__("test_accuracy"))
    copy("no_metrics_group", lambda f: f.__delitem__("metrics"))
    with h5py.File(d / "sweep_newer.h5", "w") as f:
        f.attrs["format"] = "plasticity-sweep"
        f.attrs["format_version"] = 2
    out["sweep_newer"] = str(d / "sweep_newer.h5")
    with h5py.File(d / "sweep_no_table.h5", "w") as f:
        f.attrs["format"] = "plasticity-sweep"
        f.attrs["format_version"] = 1
    out["sweep_no_table"] = str(d / "sweep_no_table.h5")
    return out


def _judge(id_, etype, mro, msg, expected, pattern):
    """None if the error is the expected one, else what is wrong."""
    if etype is None:
        return "no error was raised (a silent acceptance of a bad input)"
    names = set(expected.split("|"))
    if not names & set(mro):
        return f"raised {etype} ({msg!r}), expected {expected}"
    if not {"ValueError", "TypeError", "SimulationError"} & set(mro):
        return f"raised {etype}, which is neither a ValueError/TypeError nor the " \
               f"SimulationError of a run"
    if not re.search(pattern, msg):
        return f"{etype} message {msg!r} does not match {pattern!r}"
    return None


def _run_in(code, tmp, files):
    ns = {"REPO": REPO, "tmp": str(tmp), "files": files}
    exec(PRELUDE, ns)
    try:
        exec(code, ns)
    except BaseException as e:  # noqa: BLE001 - judged below
        return type(e).__name__, [c.__name__ for c in type(e).__mro__], str(e)
    return None, [], ""


_SUB = """
import json, sys, traceback
REPO, tmp, files = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
exec(PRELUDE)
try:
    exec(CODE)
    out = [None, [], ""]
except BaseException as e:
    out = [type(e).__name__, [c.__name__ for c in type(e).__mro__], str(e)]
print("RESULT " + json.dumps(out))
"""


def _run_sub(code, tmp, files):
    src = f"PRELUDE = {PRELUDE!r}\nCODE = {code!r}\n" + _SUB
    p = subprocess.run([sys.executable, "-c", src, REPO, str(tmp), json.dumps(files)],
                       capture_output=True, text=True, timeout=60, env=env())
    if p.returncode != 0:
        pytest.fail(f"the subprocess died with status {p.returncode} (a crash in compiled "
                    f"code?)\n{p.stderr[-2000:]}")
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return tuple(json.loads(line[len("RESULT "):]))


def _params():
    out = []
    for id_, code, exc, pattern, where in C:
        marks = [pytest.mark.xfail(strict=True, reason=KNOWN[id_])] if id_ in KNOWN else []
        out.append(pytest.param(code, exc, pattern, where, id=id_, marks=marks))
    return out


def test_corpus_is_large_and_covers_every_kind():
    kinds = {id_.split("-")[0] for id_, *_ in C}
    assert {"cfg", "syn", "net", "nrn", "rule", "kern", "file"} <= kinds
    assert len(C) >= 50
    assert len({c[0] for c in C}) == len(C), "duplicate case ids"


@pytest.mark.parametrize("code, exc, pattern, where", _params())
def test_bad_input_gets_a_specific_error(code, exc, pattern, where, tmp_path, files,
                                         request):
    run = _run_sub if where == "sub" else _run_in
    etype, mro, msg = run(code, tmp_path, files)
    problem = _judge(request.node.callspec.id, etype, mro, msg, exc, pattern)
    assert problem is None, problem
