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
import glob
import gzip
import hashlib
import io
import os
import re
import zipfile

import numpy as np

__all__ = ["DatasetError", "load_mnist", "mnist_directory", "MNIST_FILES", "load_caltech",
           "load_eth80", "load_omniglot", "omniglot_characters", "load_omniglot_runs",
           "dataset_directory",
           "caltech_directory", "eth80_directory", "omniglot_directory",
           "ETH80_CATEGORIES"]

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


# ----------------------------------------------------------------------------- images
# Caltech-101 category folders of JPEGs, the ETH-80 PNG tree, the Omniglot zips. Each
# loader reads from the ``directory`` argument, else ``$PLASTICITY_DATA/<name>`` (or
# ``$PLASTICITY_DATA`` itself), else ``./data/<name>``; images are uint8 grayscale.

def dataset_directory(name, directory=None, probe=None):
    """The directory holding dataset ``name``: ``directory``, else
    ``$PLASTICITY_DATA/name`` (or ``$PLASTICITY_DATA``), else ``./data/name``.
    ``probe(path)`` tells whether a candidate holds the dataset."""
    cands = []
    if directory is not None:
        cands = [os.fspath(directory), os.path.join(os.fspath(directory), name)]
    else:
        env = os.environ.get("PLASTICITY_DATA")
        if env:
            cands += [os.path.join(env, name), env]
        cands.append(os.path.join("data", name))
    for c in cands:
        if os.path.isdir(c) and (probe is None or probe(c)):
            return c
    raise DatasetError(f"dataset {name!r} not found (looked in: {', '.join(cands)}); pass "
                       f"directory=..., or set PLASTICITY_DATA; see data/README.md")


def caltech_directory(directory=None, categories=("Faces", "Motorbikes")):
    """The Caltech-101 directory holding ``categories`` (dataset_directory's search);
    DatasetError where none does."""
    return dataset_directory("caltech101", directory,
                             probe=lambda p: all(os.path.isdir(os.path.join(p, c))
                                                 for c in categories))


def eth80_directory(directory=None):
    """The ETH-80 directory (dataset_directory's search); DatasetError where none."""
    return dataset_directory("eth80", directory,
                             probe=lambda p: os.path.isdir(os.path.join(p, "apple")))


def omniglot_directory(directory=None, zip_name="images_background_small1"):
    """The Omniglot directory holding ``zip_name + '.zip'`` (dataset_directory's
    search); DatasetError where none does."""
    return dataset_directory("omniglot", directory,
                             probe=lambda p: os.path.isfile(os.path.join(p, zip_name +
                                                                         ".zip")))


def _resize_gray(path_or_file, size):
    from PIL import Image
    with Image.open(path_or_file) as im:
        im = im.convert("L")
        if size is not None and im.size != (size[1], size[0]):
            im = im.resize((size[1], size[0]), Image.LANCZOS)
        return np.asarray(im, dtype=np.uint8)


def load_caltech(directory=None, categories=("Faces", "Motorbikes"), height=160,
                 width=250):
    """Caltech-101 categories as (N, height, width) uint8 grayscale, labels (index in
    ``categories``) and the file paths. Images are resized to ``height`` x ``width``
    (default 160 x 250: the paper's 160 px height; Faces are about 1.5 and Motorbikes
    about 1.6 times wider than high, so a common width of 250 distorts the aspect by
    at most 5 %). ``height=None`` keeps the original size (then a list is returned)."""
    d = caltech_directory(directory, categories)
    imgs, labels, paths = [], [], []
    for li, cat in enumerate(categories):
        files = sorted(glob.glob(os.path.join(d, cat, "*.jpg")))
        if not files:
            raise DatasetError(f"no JPEG files in {os.path.join(d, cat)}")
        for f in files:
            try:
                imgs.append(_resize_gray(f, None if height is None else (height, width)))
            except Exception as e:
                raise DatasetError(f"cannot read {f}: {e}") from None
            labels.append(li)
            paths.append(f)
    X = imgs if height is None else np.stack(imgs)
    return X, np.asarray(labels, dtype=np.int64), paths


_ETH = re.compile(r"^([a-z]+)(\d+)-(\d+)-(\d+)\.png$")
ETH80_CATEGORIES = ("apple", "car", "cow", "cup", "dog", "horse", "pear", "tomato")


def load_eth80(directory=None, size=None, categories=ETH80_CATEGORIES):
    """ETH-80: images (3280, H, W) uint8, category labels (index in ``categories``,
    default all 8 of ``ETH80_CATEGORIES``), object instance numbers (10 per category,
    as in the file names) and (tilt, pan) per image. ``size`` = (H, W) resizes
    (default: as stored, 128 x 128)."""
    d = eth80_directory(directory)
    imgs, labels, inst, views = [], [], [], []
    for li, cat in enumerate(categories):
        files = sorted(glob.glob(os.path.join(d, cat, "*", "*.png")))
        if not files:
            raise DatasetError(f"no PNG files under {os.path.join(d, cat)}")
        for f in files:
            m = _ETH.match(os.path.basename(f))
            if not m:
                continue
            imgs.append(_resize_gray(f, size))
            labels.append(li)
            inst.append(int(m.group(2)))
            views.append((int(m.group(3)), int(m.group(4))))
    return (np.stack(imgs), np.asarray(labels, dtype=np.int64),
            np.asarray(inst, dtype=np.int64), np.asarray(views, dtype=np.int64))


def _omniglot_character(member):
    """The "alphabet/character" of an Omniglot zip member (None: not an image)."""
    if not member.endswith(".png"):
        return None
    return "/".join(member.split("/")[-3:-1])


def omniglot_characters(directory=None, which="images_background_small1"):
    """The "alphabet/character" names of one Omniglot zip, sorted, from its index
    alone (no image is read: what a config check can afford)."""
    path = os.path.join(omniglot_directory(directory, which), which + ".zip")
    try:
        with zipfile.ZipFile(path) as z:
            members = z.namelist()
    except (OSError, zipfile.BadZipFile) as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
    return sorted({k for k in map(_omniglot_character, members) if k is not None})


def load_omniglot(directory=None, which="images_background_small1"):
    """One Omniglot zip (e.g. ``images_background_small1``): images (N, 105, 105) uint8
    (strokes = 255), character labels (0..K-1) and the "alphabet/character" names."""
    d = omniglot_directory(directory, which)
    path = os.path.join(d, which + ".zip")
    imgs, labels, names, index = [], [], [], {}
    with zipfile.ZipFile(path) as z:
        for n in sorted(z.namelist()):
            key = _omniglot_character(n)
            if key is None:
                continue
            if key not in index:
                index[key] = len(names)
                names.append(key)
            with z.open(n) as fh:
                a = _resize_gray(io.BytesIO(fh.read()), None)
            imgs.append(255 - a)   # strokes are black on white in the files
            labels.append(index[key])
    return np.stack(imgs), np.asarray(labels, dtype=np.int64), names


_RUN_LINE = re.compile(r"^run(\d+)/test/item(\d+)\.png\s+run(\d+)/training/class(\d+)\.png$")


def load_omniglot_runs(directory=None, which="all_runs"):
    """Lake et al.'s 20 official 20-way one-shot classification runs (``all_runs.zip``).

    Each run has 20 training images (one per class, ``runNN/training/classKK.png``),
    20 test images (``runNN/test/itemKK.png``) and the answer key
    ``runNN/class_labels.txt`` (lines "runNN/test/itemKK.png runNN/training/classJJ.png").
    The images come from the Omniglot *evaluation* alphabets, not the background ones.

    Parameters
    ----------
    directory : str or path-like, optional
        Where ``all_runs.zip`` is (or its ``omniglot/`` subdirectory); default
        ``$PLASTICITY_DATA/omniglot`` (or ``$PLASTICITY_DATA``), else ``./data/omniglot``.
    which : str
        The zip's name without ``.zip``.

    Returns
    -------
    train : ndarray, shape (n_runs, 20, 105, 105), uint8
        Training images (strokes = 255), ``train[r, k]`` = ``class{k+1:02d}.png``.
    test : ndarray, shape (n_runs, 20, 105, 105), uint8
        Test images, ``test[r, i]`` = ``item{i+1:02d}.png``.
    labels : ndarray, shape (n_runs, 20), int64
        ``labels[r, i]`` = the index k of the training image of test item i's class.
    """
    d = omniglot_directory(directory, which)
    path = os.path.join(d, which + ".zip")
    try:
        z = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as e:
        raise DatasetError(f"cannot read {path}: {e}") from None
    with z:
        names = set(z.namelist())
        runs = sorted({n.split("/")[0] for n in names
                       if re.match(r"^run\d+/class_labels\.txt$", n)})
        if not runs:
            raise DatasetError(f"{path} holds no runNN/class_labels.txt")

        def img(n):
            if n not in names:
                raise DatasetError(f"{path}: {n} is missing")
            with z.open(n) as fh:
                return 255 - _resize_gray(io.BytesIO(fh.read()), None)

        train, test, labels = [], [], []
        for run in runs:
            lines = [ln.strip() for ln in
                     z.read(run + "/class_labels.txt").decode("ascii").splitlines()
                     if ln.strip()]
            lab = {}
            for ln in lines:
                m = _RUN_LINE.match(ln)
                if not m or "run" + m.group(1) != run or m.group(1) != m.group(3):
                    raise DatasetError(f"{path}: {run}/class_labels.txt: unexpected "
                                       f"line {ln!r}")
                lab[int(m.group(2)) - 1] = int(m.group(4)) - 1
            n = len(lab)
            if sorted(lab) != list(range(n)) or not all(0 <= v < n for v in lab.values()):
                raise DatasetError(f"{path}: {run}/class_labels.txt does not list items "
                                   f"1..{n} with classes 1..{n}")
            train.append(np.stack([img(f"{run}/training/class{k + 1:02d}.png")
                                   for k in range(n)]))
            test.append(np.stack([img(f"{run}/test/item{i + 1:02d}.png")
                                  for i in range(n)]))
            labels.append([lab[i] for i in range(n)])
    return np.stack(train), np.stack(test), np.asarray(labels, dtype=np.int64)
