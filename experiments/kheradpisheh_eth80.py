"""Kheradpisheh et al. 2018 on ETH-80: 8 object categories, 3-layer STDP conv net.

Paper: 82.8 % (5 object instances per category for training, the other 5 for
testing; all 41 views of each object). Architecture: as kheradpisheh_caltech, with
400 maps in conv2 and conv3 (400 features); LinearSVC(C=1.0). Images as distributed
in ../shared/data/eth80: 128 x 128 grayscale.

Choices: as kheradpisheh_caltech (see its docstring) except: DoG ON + OFF, threshold
0.05 (0.1 before the measurements below); conv2 threshold 40 (paper 60); 16 winners
per image in conv2 (r 1) and conv3 (r 0), since with 400 maps and 4 winners each map
learns from few images and conv3 does not converge (C_l 0.2 after 6000 images);
conv3 threshold 2, the paper's (unlike kheradpisheh_caltech; 10 measured the same
here). The instance split is random per category (`n_splits` random splits, mean
accuracy reported).

The defaults, 5 splits, seed 1 (``--set n_splits=5``, 3.5 min): 68.26 +- 1.55 % (sd
over splits; 67.44 / 66.40 / 70.98 / 68.72 / 67.74; train 98.4 % on the last split).

Measured with DoG threshold 0.1 (one split, seed 1; add ``--set dog_threshold=0.1`` to
each command to reproduce): DoG 0.15 / k 4: 48.9 %; DoG 0.1 / k 4: 60.3 %; DoG 0.1 /
k 16: 62.9 %; + OFF channel: 64.0 % (train 96.8 %: the features overfit the training
objects). Zero-padded DoG (border artefacts), DoG 0.15 + OFF: 60.6 %. Regularising the
readout does not close the gap: ``--set svm_C=...`` 0.001 / 0.01 / 0.1 / 1: test 64.5 /
66.6 / 65.8 / 64.0 % (train 80.0 / 87.7 / 92.7 / 96.8 %). ``--set threshold3=10``
(see kheradpisheh_caltech): 63.6 %. The 400 global maxima of conv3 do not carry what
separates new objects of a category.

conv2 does carry it. With 128 x 128 images conv3's map is 3 x 3, and its kernels see at
most a few dozen conv2 spikes (one per conv2 position after lateral inhibition, 6 x 6
positions); conv3 keeps little of what conv2 knew. Reading conv2's final potentials
instead (``--set feature_layer=2``, same network), still with DoG 0.1, ``svm_C=0.01``,
one split, seed 1: global max (400 features) 76.95 %; ``feature_grid=2`` (1600)
80.49 % (``svm_C=1``: 80.49 %; the paper's ``threshold2=60``: 80.61 %; ``k2=4
radius2=2``: 79.94 %; ``a_plus_max=0.05``: 80.43 %); ``feature_grid=3`` 76.89 %; 3
splits (``n_splits=3``): 81.02 +- 0.62 % (train 100 %). A lower DoG threshold helps
both readouts. conv2, 2 x 2 grid, svm_C 0.01, one split: ``dog_threshold`` 0.02 /
0.05 / 0.1 / 0.15: 79.02 / 81.59 / 80.49 / 76.46 %. The paper's readout: 67.44 % with
0.05 against 64.0 % with 0.1, hence the default 0.05. The best, 5 splits each::

    plasticity run kheradpisheh_eth80 --seed S --set feature_layer=2 \
        --set feature_grid=2 --set svm_C=0.01 --set n_splits=5

seed 1: 82.78 +- 1.10 % (81.59 / 83.78 / 82.26 / 81.89 / 84.39); seed 2: 85.02 +-
1.37 % (86.40 / 82.93 / 84.45 / 86.65 / 84.70); 3.6-3.8 min each, 0.8 GB peak. The
mean of the 10 splits, 83.9 %, reaches the paper's 82.8 %, with conv2's potentials
(1600 features) instead of the paper's 400 conv3 maxima. Standardizing the features
before the SVM (``--set svm_standardize=true`` added to the command above; see
kheradpisheh_caltech) raises it to 84.04 +- 1.76 % (seed 1; 81.89 / 85.18 / 83.48 /
82.80 / 86.83) and 86.38 +- 1.39 % (seed 2; 88.60 / 84.45 / 85.67 / 87.07 / 86.10),
85.2 % over the 10 splits (3.6-3.9 min each, 0.78 GB peak).

Quick: ``plasticity run kheradpisheh_eth80 --small``; full: ``plasticity run
kheradpisheh_eth80``. Data: $PLASTICITY_DATA/eth80/<category>/<object>/*.png.
"""
import dataclasses
import sys

import numpy as np

from plasticity.config import field
from plasticity.experiments import kheradpisheh_caltech as _cal
from plasticity.experiments._common import check_models


@dataclasses.dataclass
class Config(_cal.NetworkConfig):
    # (not kheradpisheh_caltech's Config: its height, width and n_train_per_class
    # would be keys that do nothing here; the images are used as stored)
    maps2: int = field(400, min=1)
    maps3: int = field(400, min=1)
    dog_threshold: float = field(0.05, help="DoG responses at or below it do not spike",
                                 min=0.0)
    dog_off: bool = field(True, help="add the OFF-centre DoG channel")
    threshold2: float = field(40.0, gt=0.0)
    threshold3: float = field(2.0, help="conv3 training threshold (the paper's; 10 "
                                        "measured the same here)", gt=0.0)
    k2: int = field(16, help="conv2 winners per image", min=0)
    radius2: int = field(1, help="conv2 inhibition radius", min=0)
    k3: int = field(16, help="conv3 winners per image", min=0)
    radius3: int = field(0, help="conv3 inhibition radius", min=0)
    n_train_instances: int = field(5, help="object instances per category for training",
                                   min=1, max=9)
    n_splits: int = field(1, help="random instance splits (mean accuracy)", min=1)
    images1: int = field(3000, help="conv1 training budget (images)", min=0)
    images2: int = field(6000, help="conv2 training budget (images)", min=0)
    images3: int = field(6000, help="conv3 training budget (images)", min=0)
    data_dir: str = field("", help="ETH-80 directory (empty: $PLASTICITY_DATA/eth80 or "
                                   "./data/eth80)")

    def check(self):
        """The checks between keys (on the resolved config; see plasticity.experiments):
        ETH-80's images (IMAGE_SHAPE) fit the layers and the feature grid (found inside
        the run, after the data was loaded)."""
        check_models("the network", lambda: _cal.build(self, 1).check_image_shape(
            IMAGE_SHAPE))


SMALL = {"maps2": 50, "maps3": 50, "images1": 500, "images2": 500, "images3": 500,
         "lr_double_every": 100}


#: ETH-80: 3280 images of 128 x 128 (the size of the files, used as stored)
N_IMAGES, IMAGE_SHAPE = 3280, (128, 128)


def memory_estimate(config):
    """What a run needs in memory, by config key (``plasticity run`` checks it first):
    ``kheradpisheh_caltech``'s estimate for ETH-80's images (a fit on the training
    instances, 10 per category)."""
    n_fit = N_IMAGES * min(1.0, config.n_train_instances / 10)
    return _cal.memory_estimate(config, n_images=N_IMAGES, image_shape=IMAGE_SHAPE,
                                n_fit=n_fit)


def find_data(config):
    """The ETH-80 directory (plasticity run calls it before any work; DatasetError)."""
    from plasticity.datasets import eth80_directory
    return eth80_directory(config.data_dir or None)


def run(config, recorder=None, seed=1, log=None):
    from plasticity.datasets import ETH80_CATEGORIES, load_eth80
    if recorder is not None:
        seed = recorder.seed
    log = log or _cal._log(recorder)
    X, y, inst, _ = load_eth80(config.data_dir or None)
    rng = np.random.default_rng(seed)
    splits = []
    for _ in range(config.n_splits):
        tr = []
        for c in range(len(ETH80_CATEGORIES)):
            objs = np.unique(inst[y == c])
            pick = rng.choice(objs, config.n_train_instances, replace=False)
            tr.append(np.flatnonzero((y == c) & np.isin(inst, pick)))
        tr = np.concatenate(tr)
        te = np.setdiff1d(np.arange(len(y)), tr)
        splits.append((rng.permutation(tr), te))
    m = _cal.evaluate_splits(config, X, y, splits, recorder, seed, log, ETH80_CATEGORIES)
    return {k: v for k, v in m.items() if np.ndim(v) == 0}



def main(argv=None):
    """The script's entry point: the options and rules of ``plasticity run``."""
    from plasticity.cli import script_main
    return script_main("kheradpisheh_eth80", argv)


if __name__ == "__main__":
    sys.exit(main())
