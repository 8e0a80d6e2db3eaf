"""Datasets in their standard published file formats, read from a directory you choose.

For now: MNIST (LeCun, Cortes & Burges), the four original IDX ``.gz`` files.

Where the files are looked for, in order: the ``directory`` argument, the environment
variable ``PLASTICITY_DATA`` (a directory holding ``mnist/`` or the MNIST files
themselves), then ``./data`` (the same). See ``data/README.md`` for where to get them.
Every file is checked against the published checksum before it is used, so a
truncated download or a different file is an error naming the file, not a wrong
result.

    >>> from plasticity.datasets import load_mnist
    >>> images, labels = load_mnist(kind="test")   # (10000, 28, 28) uint8, (10000,) uint8
"""
import gzip
import hashlib
import os

import numpy as np

__all__ = ["DatasetError", "load_mnist", "mnist_directory", "MNIST_FILES"]

#: MNIST file names per kind, with their published MD5 (yann.lecun.com / the PyTorch
#: and TensorFlow mirrors) and SHA-256 checksums, number of items and IDX magic.
MNIST_FILES = {
    "train": {
        "images": ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                   "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        "labels": ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432",
                   "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        "n": 60000,
    },
    "test": {
        "images": ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3",
                   "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        "labels": ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c",
                   "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        "n": 10000,
    },
}

_HOWTO = ("place the four original MNIST files (train-images-idx3-ubyte.gz, "
          "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
          "t10k-labels-idx1-ubyte.gz, as distributed by "
          "https://ossci-datasets.s3.amazonaws.com/mnist/ or "
          "https://storage.googleapis.com/cvdf-datasets/mnist/) in that directory, "
          "pass directory=..., or set PLASTICITY_DATA; see data/README.md")


class DatasetError(OSError):
    """A dataset file that is missing, damaged, or not the published one."""


def _candidates(directory):
    """Directories to look in, as (path, where-it-came-from)."""
    if directory is not None:
        d = os.fspath(directory)
        return [(d, "directory argument"), (os.path.join(d, "mnist"), "directory argument")]
    env = os.environ.get("PLASTICITY_DATA")
    if env:
        return [(os.path.join(env, "mnist"), "$PLASTICITY_DATA"), (env, "$PLASTICITY_DATA")]
    return [(os.path.join("data", "mnist"), "default ./data"), ("data", "default ./data")]


def mnist_directory(directory=None):
    """The directory that holds the MNIST files (see the module docstring).

    Raises :class:`DatasetError` listing where it looked and how to fix it.
    """
    cands = _candidates(directory)
    probe = MNIST_FILES["test"]["labels"][0]
    for d, _ in cands:
        if os.path.isfile(os.path.join(d, probe)) or \
                os.path.isfile(os.path.join(d, MNIST_FILES["train"]["labels"][0])):
            return d
    looked = ", ".join(os.path.abspath(d) for d, _ in cands)
    raise DatasetError(f"MNIST not found: no {probe} in {looked} (given by the "
                       f"{cands[0][1]}); {_HOWTO}")


def _checked_bytes(path, md5, sha256):
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DatasetError(f"MNIST file {path} is missing: {_HOWTO}") from None
    got = hashlib.md5(raw).hexdigest()
    if got != md5:
        raise DatasetError(
            f"MNIST file {path} has MD5 {got}, expected {md5} (SHA-256 {sha256}): the file "
            f"is truncated, damaged or not the original; download it again (keep it "
            f"gzipped, do not decompress it): {_HOWTO}")
    return raw


def _parse_idx(raw, path, magic, n):
    try:
        data = gzip.decompress(raw)
    except (OSError, EOFError) as e:
        raise DatasetError(f"MNIST file {path} is not a valid gzip file ({e})") from None
    head_len = 16 if magic == 2051 else 8
    head = np.frombuffer(data[:head_len], dtype=">i4")
    if head.size < 2 or head[0] != magic or head[1] != n:
        raise DatasetError(f"MNIST file {path}: IDX header {head.tolist()} is not that of "
                           f"a file of {n} items (magic {magic})")
    shape = (n,) + tuple(int(x) for x in head[2:])
    arr = np.frombuffer(data, dtype=np.uint8, offset=head_len)
    if arr.size != int(np.prod(shape)):
        raise DatasetError(f"MNIST file {path}: {arr.size} bytes of data, expected "
                           f"{int(np.prod(shape))}")
    return arr.reshape(shape)


def load_mnist(directory=None, kind="train", *, verify=True):
    """MNIST images and labels.

    Parameters
    ----------
    directory : str or path-like, optional
        Directory holding the four original ``.gz`` files (or a ``mnist/``
        subdirectory with them). Default: ``$PLASTICITY_DATA`` (or its ``mnist/``),
        else ``./data`` (or ``./data/mnist``).
    kind : {'train', 'test'}
        The 60,000 training or the 10,000 test images.
    verify : bool, default True
        Check each file's MD5 against the published one (about 30 ms for the
        training images).

    Returns
    -------
    images : ndarray of uint8, shape (n, 28, 28)
        Pixel intensities 0..255 (0 = background), read-only.
    labels : ndarray of uint8, shape (n,)
        Digits 0..9, read-only.

    Raises
    ------
    DatasetError
        A file is missing, its checksum differs from the published one (the message
        names the file and both checksums), or it is not a valid IDX file.
    """
    if kind not in MNIST_FILES:
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}")
    d = mnist_directory(directory)
    spec = MNIST_FILES[kind]
    out = []
    for part, magic in (("images", 2051), ("labels", 2049)):
        name, md5, sha = spec[part]
        path = os.path.join(d, name)
        if verify:
            raw = _checked_bytes(path, md5, sha)
        else:
            try:
                with open(path, "rb") as f:
                    raw = f.read()
            except FileNotFoundError:
                raise DatasetError(f"MNIST file {path} is missing: {_HOWTO}") from None
        out.append(_parse_idx(raw, path, magic, spec["n"]))
    images, labels = out
    if labels.max() > 9:
        raise DatasetError(f"MNIST labels in {os.path.join(d, spec['labels'][0])} "
                           f"exceed 9")
    return images, labels
