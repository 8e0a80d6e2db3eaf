"""`plasticity inspect --verify RUN.h5` (issue 16): reads every dataset (Fletcher-32
checksums) and checks the contents (CSR against its shape, node ids against the
population's n, headline metrics present); one line per problem, exit 1 on damage,
0 when the file is whole. The damaged files are the corpus's (test_bad_inputs.files).
"""
import os
import shutil

import h5py
import pytest

from plasticity import cli, results

from test_bad_inputs import _damage, files  # noqa: F401 - the module-scoped fixture

DAMAGED = [
    ("corrupt", r"/spikes/inputs/timestamps is damaged \(checksum"),
    ("corrupt", r"/synapses/in_to_out/snapshots/weights is damaged"),
    ("corrupt_csr", r"/synapses/in_to_out/data is damaged"),
    ("bad_csr", r"/synapses/in_to_out is not a valid CSR matrix.*indptr must have length "
                r"n_pre \+ 1 = 17, got 2"),
    ("csr_indices", r"indices must be in \[0, n_post\) = \[0, 4\), got indices\[5\]=7"),
    ("csr_indptr", r"indptr must be non-decreasing"),
    ("ids_beyond_n", r"/spikes/outputs/node_ids\[2\]=4 is not a neuron of population"),
    ("pop_n0", r"/spikes/outputs/node_ids holds 13 spikes but population 'outputs' has n=0"),
    ("no_headline_metric", r"headline metric 'test_accuracy' .* /metrics/test_accuracy is "
                           r"missing"),
    ("no_metrics_group", r"headline metric 'mean_weight'"),
    ("no_timestamps", r"/spikes/inputs/timestamps is missing"),
    ("bad_config_json", r"/config/json is not valid JSON"),
    ("truncated", r"damaged or truncated|not an HDF5"),
    ("newer", r"format version 2"),
    ("text", r"not an HDF5 file"),
]


def _verify(path, capsys):
    rc = cli.main(["inspect", "--verify", path])
    out, err = capsys.readouterr()
    return rc, [ln for ln in out.splitlines() if ln], err


def test_a_whole_run_file_verifies(files, capsys):  # noqa: F811
    rc, lines, err = _verify(files["good"], capsys)
    assert rc == 0, lines
    assert lines == [f"{files['good']}: ok (every dataset read, checksums and contents "
                     f"checked)"]
    assert results.verify(files["good"]) == []


@pytest.mark.parametrize("name, pattern", DAMAGED, ids=[f"{n}-{i}" for i, (n, _) in
                                                      enumerate(DAMAGED)])
def test_damage_is_reported_one_line_per_problem(files, capsys, name, pattern):  # noqa: F811
    import re
    rc, lines, err = _verify(files[name], capsys)
    assert rc == 1, (lines, err)
    assert lines and all(ln.startswith(files[name]) for ln in lines), lines
    assert any(re.search(pattern, ln) for ln in lines), lines
    assert "Traceback" not in err


def test_every_problem_is_listed(files, tmp_path, capsys):  # noqa: F811
    """Several kinds of damage in one file: one line each, nothing stops at the first."""
    p = str(tmp_path / "many.h5")
    shutil.copy(files["ids_beyond_n"], p)
    _damage(p, "synapses/in_to_out/data")
    with h5py.File(p, "r+") as f:
        del f["metrics/test_accuracy"]
    rc, lines, _ = _verify(p, capsys)
    assert rc == 1
    text = "\n".join(lines)
    for pat in ("/synapses/in_to_out/data is damaged", "/spikes/outputs/node_ids\\[2\\]=4",
                "headline metric 'test_accuracy'"):
        assert any(__import__("re").search(pat, ln) for ln in lines), text


def test_a_missing_file_is_a_usage_error(tmp_path, capsys):
    rc = cli.main(["inspect", "--verify", os.path.join(str(tmp_path), "nope.h5")])
    assert rc == 2
    assert "no such run file" in capsys.readouterr().err
