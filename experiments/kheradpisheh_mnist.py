"""Kheradpisheh et al. 2018 on MNIST: STDP-trained spiking conv net + linear SVM.

Kheradpisheh, Ganjtabesh, Thorpe & Masquelier, "STDP-based spiking deep convolutional
neural networks for object recognition", Neural Networks 99 (2018) 56-67. Paper: 98.4 %
on the 10,000 test images.

Architecture (the paper's): ON- and OFF-centre DoG (sigma 1 and 2 px), latency coding
into T = 30 packets; conv1 30 maps 5x5, threshold 15; first-spike pooling 2x2 stride
2; conv2 100 maps 5x5, threshold 10 (for training; infinite at feature extraction);
global max of conv2's final potentials -> 100 features; LinearSVC(C=2.4).

Choices where the paper leaves them open (see docs/conv.md for their measured effect):
- DoG kernel 7x7 normalised to zero mean and peak 1 on images in [0, 1]; responses
  <= dog_threshold (0.05; measured: 0.2 gives 85.1 % and 0.05 87.4 % with global max,
  97.2 % vs 97.4 % with a 2x2 grid, 10,000 images per layer, SVM on 20,000).
- "same" zero padding (2 px) for both conv layers (28x28 -> 28x28 -> 14x14 -> 14x14);
  padding never fires, so it depresses the weights that see it.
- k winners per image and inhibition radius: conv1 k = 5, r = 3; conv2 k = 8, r = 1
  (SpykeTorch's choices).
- Learning rate: a+ = 0.004, a- = -0.003 (ratio -0.75), a+ doubled every
  `lr_double_every` training images up to `a_plus_max`.
- Ties in lateral inhibition and winner selection: the highest potential at the spike
  step, then the lowest index.
- Training budget per layer (`images1`, `images2`), stopping earlier once
  C_l < 0.01 (with this schedule after about 4,000 and 3,500 images).
- The STDP layers may be shown all 60,000 training images (`n_unsup`, the paper's
  choice); fewer only shorten quick runs and tests (the images are encoded up front).

Measured (seed 1, full size, 2-core machine shared with other jobs, 5-6 minutes wall
each): the paper's readout (100 global maxima) gives 87.7 % on the 10,000 test
images; `--set feature_grid=3` (maximum of each map over a 3 x 3 grid of positions,
900 features, same network) gives 98.35 %, and with `--set svm_C=0.1` 98.40 % (paper:
98.4 %). The small config (SMALL) gives 83.4 % in about 45 s.

Why the global maxima fall short (as on Caltech, see kheradpisheh_caltech): conv2's
threshold 10 lets a winner fire after ~12 coincident inputs, and STDP keeps about that
many weights per kernel, so each feature is a small count. A higher conv2 threshold
keeps more (full size, seed 1, ``--set threshold2=T``): T 20 90.21 %, T 30 91.32 %
(92 s wall), against 87.7 % with the paper's 10; with ``--small``, T 50 does not
converge in 3000 images (C_l 0.22) and T 80 never fires (61.6 %). With the 3 x 3 grid it does not help: T 30
98.29 % (``--set threshold2=30 --set feature_grid=3 --set svm_C=0.1``) against 98.40 %.
Standardizing the 900 features before the SVM (``--set svm_standardize=true`` added to
the 98.40 % command; it lifts Caltech and ETH-80, see kheradpisheh_caltech) gives
98.36 % here (3.1 min wall, 2.0 GB peak): on MNIST it changes nothing. The 3 x 3 grid
with another seed: 98.33 % (``--seed 2``), so it sits at the paper's figure, not above.

A spatial pyramid clears it: ``--set feature_grid=4 --set feature_pyramid=true --set
svm_C=0.05`` keeps each map's maxima over the 1 x 1, 2 x 2, 3 x 3 and 4 x 4 grids side
by side (100 x 30 = 3000 features, same network): **98.81 %** with seed 1 and with
seed 2 (train 100 %; 4.5 min wall, 4.7 GB peak; the 70,000 x 3000 float64 features
alone take 1.7 GB).

Run the full size: ``plasticity run kheradpisheh_mnist`` (or ``python
experiments/kheradpisheh_mnist.py``); quick: ``plasticity run kheradpisheh_mnist --small``.
Data: the four MNIST IDX .gz files in $PLASTICITY_DATA/mnist (or ./data/mnist, or
``--set data_dir=...``).
"""
import dataclasses
import sys

import numpy as np

from plasticity.config import field
from plasticity.experiments._common import check_models


@dataclasses.dataclass
class Config:
    T: int = field(30, help="time steps (spike packets) of the latency code", min=1,
                   max=32000)
    dog_size: int = field(7, help="DoG kernel size", units="px", min=1)
    dog_sigma_center: float = field(1.0, help="DoG centre sigma", units="px", gt=0.0)
    dog_sigma_surround: float = field(2.0, help="DoG surround sigma", units="px", gt=0.0)
    dog_threshold: float = field(0.05, help="DoG responses at or below it do not spike",
                                 min=0.0)
    maps1: int = field(30, help="conv1 maps", min=1)
    size1: int = field(5, help="conv1 kernel size", min=1)
    threshold1: float = field(15.0, help="conv1 threshold", gt=0.0)
    k1: int = field(5, help="conv1 winners per image", min=0)
    radius1: int = field(3, help="conv1 inhibition radius", min=0)
    pad1: int = field(2, help="conv1 zero padding", min=0)
    images1: int = field(60000, help="conv1 training budget (images presented)", min=0)
    pool_size: int = field(2, help="pool1 window", min=1)
    pool_stride: int = field(2, help="pool1 stride", min=1)
    maps2: int = field(100, help="conv2 maps", min=1)
    size2: int = field(5, help="conv2 kernel size", min=1)
    threshold2: float = field(10.0, help="conv2 threshold (training)", gt=0.0)
    k2: int = field(8, help="conv2 winners per image", min=0)
    radius2: int = field(1, help="conv2 inhibition radius", min=0)
    pad2: int = field(2, help="conv2 zero padding", min=0)
    images2: int = field(60000, help="conv2 training budget (images presented)", min=0)
    n_unsup: int = field(60000, help="training images the STDP layers are shown (the "
                                     "first n of the shuffled training set; paper: all)",
                         min=1, max=60000)
    a_plus: float = field(0.004, help="initial STDP potentiation amplitude", min=0.0)
    a_minus: float = field(-0.003, help="initial STDP depression amplitude (< 0)", max=0.0)
    a_plus_max: float = field(0.15, help="largest a+ of the schedule", min=0.0)
    lr_double_every: int = field(500, help="a+ doubles every this many images", min=1)
    convergence: float = field(0.01, help="stop training a layer when C_l < this", gt=0.0)
    feature_grid: int = field(1, help="features per map: 1 = global max of the potentials "
                                      "(paper); g = max over each cell of a g x g grid",
                              min=1)
    feature_pyramid: bool = field(False, help="features of all grids 1 x 1 ... g x g side "
                                              "by side (spatial pyramid)")
    n_svm_train: int = field(60000, help="training images for the SVM", min=1, max=60000)
    n_test: int = field(10000, help="test images", min=1, max=10000)
    svm_C: float = field(2.4, help="LinearSVC C", gt=0.0)
    svm_standardize: bool = field(False, help="standardize each feature (training mean "
                                  "and sd) before the SVM; the paper does not say")
    n_jobs: int = field(0, help="threads of training and feature extraction (0: PLASTICITY_THREADS or all cores)", min=0)
    data_dir: str = field("", help="MNIST directory (empty: $PLASTICITY_DATA/mnist or "
                                   "./data/mnist)")

    def check(self):
        """The checks between keys (on the resolved config; see plasticity.experiments):
        MNIST's 28 x 28 images fit the layers and the feature grid (found inside the
        run, after the data was loaded)."""
        check_models("the network", lambda: build(self).check_image_shape((28, 28)))


#: about a minute on 2 cores: 3000 images per layer, SVM on 10,000, all 10,000 tests
SMALL = {"images1": 3000, "images2": 3000, "n_svm_train": 10000}

#: the paper's result, by metric: (value, source); `plasticity report` sets the run
#: beside it
PAPER_VALUES = {
    "accuracy_test": (0.984, "Kheradpisheh et al. 2018, Neural Networks 99:56-67: 98.4 % "
                             "on the MNIST test set"),
}


def memory_estimate(config):
    """What a run needs in memory, by config key (``plasticity run`` checks it first):
    the 70 000 images, the fit's encoded images, a batch through the layers and the
    features (:func:`plasticity.conv.experiment.conv_memory`)."""
    from plasticity._memory import named_after
    from plasticity.conv.experiment import conv_memory
    from plasticity.conv.ops import n_threads
    c = config
    cells = sum(g * g for g in range(1, c.feature_grid + 1)) if c.feature_pyramid \
        else c.feature_grid ** 2
    total = conv_memory(build(c).layers, (28, 28), 1, n_images=70_000, n_fit=c.n_unsup,
                        n_features=c.maps2 * cells, chunk=min(c.lr_double_every, c.n_unsup),
                        threads=n_threads(c.n_jobs or None))
    return named_after(c, total, grow=("n_unsup", "maps1", "maps2", "feature_grid",
                                       "lr_double_every"), shrink=("pool_stride",))


def build(config, seed=1):
    from plasticity.conv import SpikingConvNet
    c = config
    layers = (
        {"type": "conv", "maps": c.maps1, "size": c.size1, "threshold": c.threshold1,
         "k": c.k1, "radius": c.radius1, "pad": c.pad1, "n_images": c.images1},
        {"type": "pool", "size": c.pool_size, "stride": c.pool_stride, "pad": 0},
        {"type": "conv", "maps": c.maps2, "size": c.size2, "threshold": c.threshold2,
         "k": c.k2, "radius": c.radius2, "pad": c.pad2, "n_images": c.images2},
    )
    return SpikingConvNet(layers=layers, T=c.T, dog_size=c.dog_size,
                          dog_sigmas=(c.dog_sigma_center, c.dog_sigma_surround),
                          dog_threshold=c.dog_threshold, a_plus=c.a_plus,
                          a_minus=c.a_minus, a_plus_max=c.a_plus_max,
                          lr_double_every=c.lr_double_every, convergence=c.convergence,
                          feature_grid=c.feature_grid,
                          feature_pyramid=c.feature_pyramid, threads=c.n_jobs or None,
                          random_state=seed)


def find_data(config):
    """MNIST's directory (plasticity run calls it before any work; DatasetError)."""
    from plasticity.datasets import mnist_directory
    return mnist_directory(config.data_dir or None)


def run(config, recorder=None, seed=1, log=None):
    """Run the experiment; returns the headline metrics."""
    from plasticity.conv.experiment import fit_and_evaluate
    from plasticity.datasets import load_mnist
    if recorder is not None:
        seed = recorder.seed
    if log is None:
        log = (lambda *a: None) if recorder is not None and recorder.quiet else \
            (lambda *a: print(*a, file=sys.stderr, flush=True))
    d = config.data_dir or None
    X, y = load_mnist(d, "train")
    Xt, yt = load_mnist(d, "test")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(X))
    X, y = X[perm], y[perm]
    net = build(config, seed)
    n = config.n_svm_train
    m = fit_and_evaluate(net, X[:config.n_unsup], X[:n], y[:n], Xt[:config.n_test], yt[:config.n_test],
                         config.svm_C, standardize=config.svm_standardize,
                         recorder=recorder, log=log)
    m.pop("confusion")
    return m


def print_summary(run):
    """The test accuracy next to the paper's (after ``plasticity run kheradpisheh_mnist``)."""
    m = run.metrics
    print(f"test accuracy {100 * float(m['accuracy_test']):.2f} % (paper 98.4 %), "
          f"{float(run.attrs.get('wall_time_s', float('nan'))):.0f} s; run file {run.path}")


def main(argv=None):
    """The script's entry point: the options and rules of ``plasticity run``."""
    from plasticity.cli import script_main
    return script_main("kheradpisheh_mnist", argv)


if __name__ == "__main__":
    sys.exit(main())
