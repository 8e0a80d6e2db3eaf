"""The MNIST loader: formats, search order, checksums and its error messages."""
import gzip
import os
import shutil
import struct

import numpy as np
import pytest

from plasticity import datasets
from plasticity.datasets import DatasetError, load_mnist

from _data import find_dataset  # noqa: E402

FILES = [spec[part][0] for spec in datasets.MNIST_FILES.values()
         for part in ("images", "labels")]


def find_mnist():
    """A directory with the real MNIST files, or None."""
    return find_dataset("mnist", FILES)


MNIST = find_mnist()
needs_mnist = pytest.mark.skipif(MNIST is None, reason="MNIST files not found "
                                 "(see data/README.md)")


def write_idx(directory, kind, n, rng, corrupt_labels=False):
    """Synthetic IDX .gz files of ``n`` items, as MNIST's layout."""
    spec = datasets.MNIST_FILES[kind]
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    if corrupt_labels:
        labels[0] = 11
    with gzip.open(os.path.join(directory, spec["images"][0]), "wb") as f:
        f.write(struct.pack(">iiii", 2051, n, 28, 28) + images.tobytes())
    with gzip.open(os.path.join(directory, spec["labels"][0]), "wb") as f:
        f.write(struct.pack(">ii", 2049, n) + labels.tobytes())
    return images, labels


@needs_mnist
def test_real_mnist_shapes_and_label_counts():
    x, y = load_mnist(MNIST, "train")
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60000,) and y.dtype == np.uint8
    np.testing.assert_array_equal(np.bincount(y), [5923, 6742, 5958, 6131, 5842, 5421,
                                                   5918, 6265, 5851, 5949])
    assert y[:5].tolist() == [5, 0, 4, 1, 9]  # the well-known first training labels
    x, y = load_mnist(MNIST, "test")
    assert x.shape == (10000, 28, 28)
    np.testing.assert_array_equal(np.bincount(y), [980, 1135, 1032, 1010, 982, 892, 958,
                                                   1028, 974, 1009])
    assert x.max() == 255 and x.min() == 0


@needs_mnist
def test_search_order_env_then_data(tmp_path, monkeypatch):
    monkeypatch.setenv("PLASTICITY_DATA", os.path.dirname(MNIST))
    assert datasets.mnist_directory() in (MNIST, os.path.join(os.path.dirname(MNIST),
                                                              "mnist"))
    # ./data/mnist when the variable is unset
    monkeypatch.delenv("PLASTICITY_DATA")
    os.makedirs(tmp_path / "data" / "mnist")
    for f in FILES:
        os.symlink(os.path.join(MNIST, f), tmp_path / "data" / "mnist" / f)
    monkeypatch.chdir(tmp_path)
    _, y = load_mnist(kind="test")
    assert y.shape == (10000,)


@needs_mnist
def test_changed_file_is_named_with_both_checksums(tmp_path):
    for f in FILES:
        shutil.copy(os.path.join(MNIST, f), tmp_path / f)
    p = tmp_path / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(p.read_bytes())
    raw[-1] ^= 1
    p.write_bytes(bytes(raw))
    with pytest.raises(DatasetError) as e:
        load_mnist(tmp_path, "test")
    msg = str(e.value)
    assert str(p) in msg and "ec29112dd5afa0611ce80d1b7f02629c" in msg
    assert "download it again" in msg
    # the training files are untouched and still load
    assert load_mnist(tmp_path, "train")[1].shape == (60000,)


def test_missing_directory_says_where_it_looked_and_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("PLASTICITY_DATA", raising=False)
    with pytest.raises(DatasetError, match="MNIST not found") as e:
        load_mnist(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(e.value)
    assert "data/README.md" in str(e.value) and "PLASTICITY_DATA" in str(e.value)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError, match="default ./data"):
        load_mnist()


def test_missing_one_file(tmp_path):
    write_idx(str(tmp_path), "test", 3, np.random.default_rng(0))
    os.remove(tmp_path / "t10k-images-idx3-ubyte.gz")
    with pytest.raises(DatasetError, match="t10k-images-idx3-ubyte.gz is missing"):
        load_mnist(tmp_path, "test")


def test_synthetic_files_fail_the_checksum_but_parse_unverified(tmp_path):
    images, labels = write_idx(str(tmp_path), "test", 10000, np.random.default_rng(1))
    with pytest.raises(DatasetError, match="has MD5 .* expected 9fb629c4"):
        load_mnist(tmp_path, "test")
    x, y = load_mnist(tmp_path, "test", verify=False)
    np.testing.assert_array_equal(x, images)
    np.testing.assert_array_equal(y, labels)


def test_bad_header_and_bad_labels(tmp_path):
    write_idx(str(tmp_path), "test", 5, np.random.default_rng(2))  # 5 != 10000 items
    with pytest.raises(DatasetError, match="IDX header"):
        load_mnist(tmp_path, "test", verify=False)
    write_idx(str(tmp_path), "test", 10000, np.random.default_rng(2), corrupt_labels=True)
    with pytest.raises(DatasetError, match="exceed 9"):
        load_mnist(tmp_path, "test", verify=False)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip")
    with pytest.raises(DatasetError, match="not a valid gzip"):
        load_mnist(tmp_path, "test", verify=False)


def test_kind_is_validated():
    with pytest.raises(ValueError, match="kind must be 'train' or 'test', got 'valid'"):
        load_mnist("/", "valid")
