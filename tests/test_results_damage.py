"""A damaged run file (flipped bytes in HDF5's own metadata) is a RunFileError naming
the file from every reader accessor, and a list of problems from ``verify``: never a
bare KeyError, RuntimeError or AttributeError from deep inside h5py.

Release check: a flipped object-header byte made ``Run.spikes`` raise h5py's
``KeyError('Unable to synchronously open object (bad object header version ...)')``,
a damaged link list made ``verify`` raise ``RuntimeError('Link iteration failed')``,
a member h5py could not open (``None`` from ``Group.items()``) an AttributeError in
``Run.populations``, a damaged root attribute table a RuntimeError in ``load``.
"""
import shutil

import h5py
import numpy as np
import pytest

from plasticity.results import RunFileError, load, verify

from test_results import _write_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("damage") / "demo.h5")
    _write_demo(path)
    assert verify(path) == []
    return path


def _read_everything(path):
    with load(path) as run:
        _ = (run.config, run.populations, run.projections, run.monitors, run.metrics,
             run.headline)
        for pop in ("exc",):
            run.spikes(pop)
        for proj in run.projections:
            run.weights(proj)
            run.weight_times(proj)
            list(run.iter_snapshots(proj))
        for m in run.monitors:
            run.state(m)
        dict(run.features)


def _flip(path, offset, n=4):
    with open(path, "r+b") as fh:
        fh.seek(offset)
        b = fh.read(n)
        fh.seek(offset)
        fh.write(bytes(x ^ 0xFF for x in b))


def test_a_damaged_object_header_is_a_run_file_error(demo, tmp_path):
    path = str(tmp_path / "hdr.h5")
    shutil.copy(demo, path)
    with h5py.File(path, "r") as f:
        addr = h5py.h5o.get_info(f["spikes/exc/timestamps"].id).addr
    _flip(path, addr)                    # the object header's version byte and more
    with load(path) as run:
        with pytest.raises(RunFileError, match=r"hdr.h5: cannot read "
                                               r"/spikes/exc/timestamps; the file is "
                                               r"damaged"):
            run.spikes("exc")
    problems = verify(path)
    assert problems and all("hdr.h5" in p for p in problems)


@pytest.mark.parametrize("seed", range(0, 240, 8))
def test_random_damage_never_escapes_as_another_error(demo, tmp_path, seed):
    """Random bytes flipped anywhere (8 trials per case): reading everything either
    works or raises RunFileError; verify returns a list."""
    data0 = open(demo, "rb").read()
    path = str(tmp_path / "rnd.h5")
    for trial in range(seed, seed + 8):
        rng = np.random.default_rng(trial)
        data = bytearray(data0)
        for i in rng.integers(0, len(data), int(rng.integers(1, 30))):
            data[i] ^= int(rng.integers(1, 256))
        with open(path, "wb") as fh:
            fh.write(bytes(data))
        try:
            _read_everything(path)
        except RunFileError:
            pass
        assert isinstance(verify(path), list)


def test_files_are_written_in_the_checksummed_metadata_format(demo, tmp_path):
    """Run files (and checkpoints) use HDF5's 1.8 format: superblock version >= 2,
    object headers and attribute tables with checksums. In the earliest format a
    damaged attribute table crashed the HDF5 library (a segmentation fault in
    ``Run.populations``), which no Python check can catch."""
    with h5py.File(demo, "r") as f:
        assert f.id.get_create_plist().get_version()[0] >= 2
        info = h5py.h5o.get_info(f["populations/exc"].id)
        assert info.hdr.version == 2
