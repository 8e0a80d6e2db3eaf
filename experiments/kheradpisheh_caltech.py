"""Kheradpisheh et al. 2018 on Caltech-101 Faces vs Motorbikes: 3-layer STDP conv net.

Paper: 99.1 +- 0.2 % (5 random splits of 200 training images per class, the rest for
testing). Architecture (the paper's): ON-centre DoG 7x7; conv1 4 maps 5x5, threshold
10; first-spike pool 7x7 stride 6; conv2 20 maps 16x16, threshold 60; pool 2x2 stride
2; conv3 10 maps 5x5, threshold 2 (infinite at feature extraction); global max -> 10
features; LinearSVC(C=1.0); images rescaled to 160 px height.

One deliberate departure: conv3's training threshold is 10, not the paper's 2. The
threshold sets how many coincident inputs a kernel keeps: a winner fires as soon as its
potential reaches it, STDP then potentiates the inputs that fired by then and depresses
the rest, so with threshold 2 each conv3 kernel converges to 2-6 weights near 1 (of
500), and its feature (the map's maximum potential) is a count below 6. With 10 the
kernels keep 12-20 weights and the features separate better. Paired over the same
splits and networks (``--set threshold3=T``, 5 splits each, ~3 min):
seed 1: 95.82 +- 1.01 % (T 10) against 93.83 +- 2.14 % (T 2); seed 2: 94.24 +- 2.92 %
against 93.09 +- 3.01 % (per split 96.5/95.4/97.5/92.1/89.7 vs 96.0/95.1/94.2/92.6/87.5);
T 5: 95.44 %, T 20: 94.86 % (seed 1). ``--set threshold3=2`` restores the paper's.

Where the information is: conv3 loses it. ``feature_layer=2`` reads conv2's final
potentials instead (the same trained network; conv3 is still trained and stored), and
``feature_grid=g`` keeps the maxima over a g x g grid of positions. 5 splits each
(``--seed S --set feature_layer=2 ...``, ~2.5 min; +- is the sd over splits):

| readout | seed 1 | seed 2 |
|---|---|---|
| conv3 global max (the paper's; defaults) | 95.82 +- 1.01 % | 94.24 +- 2.92 % |
| conv2 global max (20 features) | 95.92 +- 1.21 % | |
| conv2, 2 x 2 grid (80) | 97.53 +- 0.54 % | |
| conv2, 3 x 3 grid (180) | 98.58 +- 0.48 % | |
| conv2, 4 x 4 grid (320) | 98.46 +- 0.57 % | |
| conv2, 2 x 2 grid, + OFF-centre DoG (``dog_off=true``) | 98.30 +- 0.66 % | |
| conv2, 3 x 3 grid, + OFF-centre DoG | **98.87 +- 0.26 %** | **98.49 +- 0.31 %** |
| the same with ``dog_threshold=0.05`` | 97.91 +- 0.60 % | |
| the same (DoG 0.1) with ``svm_C=0.1`` / ``threshold2=40`` / ``k2=8`` | 98.85 / 98.75 / 98.70 % | |
| conv2, 3 x 3 grid, + OFF, standardized features (``svm_standardize=true``) | **99.45 +- 0.25 %** | **99.42 +- 0.23 %** |

The best (2.8 min, 0.84 GB peak; per split 99.40 / 99.64 / 99.76 / 99.40 / 99.04 and
99.28 / 99.64 / 99.64 / 99.04 / 99.52, train 100 %)::

    plasticity run kheradpisheh_caltech --seed S --set feature_layer=2 \
        --set feature_grid=3 --set dog_off=true --set svm_standardize=true

reaches the paper's 99.1 +- 0.2 % with conv2's 180 potentials instead of the paper's 10
conv3 maxima; the paper's own readout stays 2.6-5 points below. ``svm_standardize``
centres each feature and divides it by its sd over the training images before the
LinearSVC: unscaled, the features with large potentials set the margin, and a smaller
or larger C alone does not do it (``svm_C=0.1``: 98.85 %, above). Standardizing the
paper's conv3 maxima does not help (same networks, seed 1, ``--set dog_off=true``
with and without ``--set svm_standardize=true``: 96.45 +- 1.20 % against
96.52 +- 1.17 %). The defaults keep the paper's readout.

Choices where the paper leaves them open, and what they did (one split, seed 1, conv
budgets 2000/3000/3000 images, threshold2 40 and threshold3 2 unless said):
- images resized to 160 x 250 (both categories are about 1.5-1.6 times wider than
  high; <= 5 % aspect change), grayscale; DoG sigmas 1 and 2 px, the image extended by
  reflection at its border (zero padding turns every image border into a strong early
  edge, and conv2/conv3 then learn the frame: with it 0.5 was the best threshold, 88.7 %);
- dog_threshold 0.1 on the peak-1 DoG of images in [0, 1] (about 19 % of the pixels
  spike): 0.1 gives 95.9 %, 0.2 94.0 %, 0.3 82.6 %, 0.5 33.9 % (too few spikes reach
  conv3);
- "same" padding in conv1 and conv3, none in conv2;
- winners: conv1 k 4, r 10; conv2 k 4, r 2; conv3 k 2, r 1 (k = 1 in every layer:
  45.7 %, with the zero-padded DoG);
- learning-rate schedule as the MNIST experiment with a+ doubling every 200 images;
  each layer trained on the 400 training images (repeated) for its budget or until
  C_l < 0.01;
- the paper's threshold2 60 gives 91.5 %, 40 gives 94.0 % (dog_threshold 0.2); the 20
  global maxima of conv2 alone (dropping conv3) reached 96.0 % with the zero-padded DoG.
Full size (5 splits, ``--seed 1``), all with threshold3 2: threshold2 60, dog_threshold 0.1
93.83 +- 2.14 %; ``--set threshold2=40`` 93.23 +- 2.24 % (an earlier note gave
93.69 +- 0.39 % for it: the split-to-split spread is about 2 points, so single-split
differences below ~3 points are noise); threshold2 60 with dog_threshold 0.2:
92.05 +- 1.30 % (2.8 min). Paper: 99.1 %.

Why the features fall short with threshold3 2, measured on split 1 (``--set n_splits=1
--set threshold3=2``, 20 s each, 94.5 %): the 10 features (each conv3 map's maximum
potential, stored in the run file under /features) stay below 5.6 with a median of 2.0,
since each conv3 kernel keeps only 2-6 weights above 0.5 (the run file's
/synapses/conv3): 10 such coarse numbers are not linearly separable on the training
images either (train 97.25 %). With threshold3 10, the same split: 96.28 %, kernels with
12-20 weights above 0.5, features up to 18. The rest of this paragraph used
threshold3 2. The paper's competition taken literally, one winner per map (``k2=20 k3=10``), gives 88.8 % (r 1: 85.4 %);
a_plus_max 0.05 / 0.02: 96.2 / 95.4 %; a+ doubling every 1000 images: 94.2 %;
the OFF channel: 93.0 %; threshold2 30 / 20: 90.2 / 88.5 %; a fixed small rate
(a+ 0.0004 or 0.001, no doubling, as one public reimplementation) does not converge
in 4000 images (C_l 0.15-0.2) and gives 62-68 %.
`feature_grid` > 1 keeps a g x g grid of maxima per map instead of the paper's global
maximum (3: 94.7 % with threshold3 2; 2: 95.17 +- 1.31 % over 5 splits with
threshold3 10, no better than the global maxima). With threshold3 10 (5 splits, seed
1): a_plus_max 0.05 95.75 +- 1.73 %, threshold2 40 93.81 +- 2.36 %.

Quick: ``plasticity run kheradpisheh_caltech --small``; full: ``plasticity run
kheradpisheh_caltech``. Data: $PLASTICITY_DATA/caltech101/{Faces,Motorbikes}/*.jpg.
"""
import dataclasses
import sys

import numpy as np

from plasticity.config import field
from plasticity.experiments._common import check_models


@dataclasses.dataclass
class NetworkConfig:
    """The keys of the network, its training and the readout, which
    ``kheradpisheh_eth80`` shares (its images and splits are its own: a key it would
    inherit and not use would silently do nothing)."""
    T: int = field(30, help="time steps of the latency code", min=1, max=32000)
    dog_size: int = field(7, help="DoG kernel size", units="px", min=1)
    dog_off: bool = field(False, help="add the OFF-centre DoG channel (the paper: ON only)")
    dog_threshold: float = field(0.1, help="DoG responses at or below it do not spike",
                                 min=0.0)
    maps1: int = field(4, min=1)
    threshold1: float = field(10.0, gt=0.0)
    k1: int = field(4, help="conv1 winners per image", min=0)
    radius1: int = field(10, help="conv1 inhibition radius", min=0)
    images1: int = field(2000, help="conv1 training budget (images)", min=0)
    maps2: int = field(20, min=1)
    threshold2: float = field(60.0, gt=0.0)
    k2: int = field(4, help="conv2 winners per image", min=0)
    radius2: int = field(2, help="conv2 inhibition radius", min=0)
    images2: int = field(4000, help="conv2 training budget (images)", min=0)
    maps3: int = field(10, min=1)
    threshold3: float = field(10.0, help="conv3 training threshold (paper: 2; see the "
                                         "docstring)", gt=0.0)
    k3: int = field(2, help="conv3 winners per image", min=0)
    radius3: int = field(1, help="conv3 inhibition radius", min=0)
    images3: int = field(4000, help="conv3 training budget (images)", min=0)
    a_plus: float = field(0.004, min=0.0)
    a_minus: float = field(-0.003, max=0.0)
    a_plus_max: float = field(0.15, min=0.0)
    lr_double_every: int = field(200, min=1)
    convergence: float = field(0.01, gt=0.0)
    feature_grid: int = field(1, help="1: global max (paper); g: g x g grid of maxima",
                              min=1)
    feature_pyramid: bool = field(False, help="features of all grids 1 x 1 ... g x g side "
                                              "by side (spatial pyramid)")
    feature_layer: int = field(0, help="0: the last conv layer's potentials (paper); k: "
                                       "conv k's", min=0, max=3)
    n_splits: int = field(5, help="random train/test splits (mean accuracy)", min=1)
    svm_C: float = field(1.0, gt=0.0)
    svm_standardize: bool = field(False, help="standardize each feature (training mean "
                                  "and sd) before the SVM; the paper does not say")
    n_jobs: int = field(0, help="threads of training and feature extraction (0: PLASTICITY_THREADS or all cores)", min=0)


@dataclasses.dataclass
class Config(NetworkConfig):
    height: int = field(160, help="image height after resizing", units="px", min=8)
    width: int = field(250, help="image width after resizing", units="px", min=8)
    n_train_per_class: int = field(200, min=1)
    data_dir: str = field("", help="directory with Faces/ and Motorbikes/ (empty: "
                                   "$PLASTICITY_DATA/caltech101 or ./data/caltech101)")

    def check(self):
        """The checks between keys (on the resolved config; see plasticity.experiments):
        the training images per category leave test images of each (the draw of a
        split failed inside the run); images of height x width fit the layers and the
        feature grid (found inside the run)."""
        smallest = min(CATEGORY_SIZES, key=CATEGORY_SIZES.get)
        n = CATEGORY_SIZES[smallest]
        if self.n_train_per_class >= n:
            raise ValueError(f"config key 'n_train_per_class' must be < {n} (the images "
                             f"of the smallest category, {smallest}: test images of each "
                             f"must remain), got {self.n_train_per_class}")
        check_models("the network", lambda: build(self, 1).check_image_shape(
            (self.height, self.width)))


SMALL = {"images1": 800, "images2": 800, "images3": 800, "n_splits": 1,
         "lr_double_every": 100}

LABELS = ("Faces", "Motorbikes")


def layers(c):
    """The layer dicts of a config (used by kheradpisheh_eth80 too)."""
    return (
        {"type": "conv", "maps": c.maps1, "size": 5, "threshold": c.threshold1, "k": c.k1,
         "radius": c.radius1, "pad": 2, "n_images": c.images1},
        {"type": "pool", "size": 7, "stride": 6, "pad": 0},
        {"type": "conv", "maps": c.maps2, "size": 16, "threshold": c.threshold2,
         "k": c.k2, "radius": c.radius2, "pad": 0, "n_images": c.images2},
        {"type": "pool", "size": 2, "stride": 2, "pad": 0},
        {"type": "conv", "maps": c.maps3, "size": 5, "threshold": c.threshold3, "k": c.k3,
         "radius": c.radius3, "pad": 2, "n_images": c.images3},
    )


#: the Caltech 101 images of LABELS (435 faces, 798 motorbikes)
CATEGORY_SIZES = {"Faces": 435, "Motorbikes": 798}
N_IMAGES = sum(CATEGORY_SIZES.values())


def memory_estimate(config, n_images=N_IMAGES, image_shape=None, n_fit=None):
    """What a run needs in memory, by config key (``plasticity run`` checks it first):
    the images, the fit's encoded training set, a batch through the layers and the
    features (:func:`plasticity.conv.experiment.conv_memory`). ``kheradpisheh_eth80``
    uses it with its own images."""
    from plasticity._memory import named_after
    from plasticity.conv.experiment import conv_memory
    from plasticity.conv.ops import n_threads
    c = config
    shape = (c.height, c.width) if image_shape is None else image_shape
    cells = sum(g * g for g in range(1, c.feature_grid + 1)) if c.feature_pyramid \
        else c.feature_grid ** 2
    convs = [l for l in layers(c) if l["type"] == "conv"]
    maps = convs[(c.feature_layer or len(convs)) - 1]["maps"]
    if n_fit is None:
        n_fit = min(n_images, len(LABELS) * c.n_train_per_class)
    total = conv_memory(layers(c), shape, 2 if c.dog_off else 1, n_images=n_images,
                        n_fit=n_fit, n_features=maps * cells, batch=200,
                        chunk=min(c.lr_double_every, n_fit),
                        threads=n_threads(c.n_jobs or None))
    grow = ("maps1", "maps2", "maps3", "feature_grid", "lr_double_every")
    if image_shape is None:
        grow = ("height", "width", "n_train_per_class") + grow
    return named_after(c, total, grow=grow)


def build(c, seed):
    from plasticity.conv import SpikingConvNet
    return SpikingConvNet(layers=layers(c), T=c.T, dog_size=c.dog_size,
                          dog_sigmas=(1.0, 2.0), dog_on=True, dog_off=c.dog_off,
                          dog_threshold=c.dog_threshold, a_plus=c.a_plus,
                          a_minus=c.a_minus, a_plus_max=c.a_plus_max,
                          lr_double_every=c.lr_double_every, convergence=c.convergence,
                          feature_grid=c.feature_grid, feature_pyramid=c.feature_pyramid,
                          feature_layer=c.feature_layer or None, threads=c.n_jobs or None,
                          random_state=seed, batch_size=200)


def budget(layer, n):
    """Training images a conv layer may be shown: its budget, or the n images."""
    return n if layer.get("n_images") is None else int(layer["n_images"])


def evaluate_splits(config, X, y, splits, recorder, seed, log, labels):
    """Fit/evaluate on each (train_idx, test_idx); the last split is recorded.

    Each split's fit checkpoints (with the accuracies of the splits before it); a
    resumed run continues in the split of its checkpoint."""
    from plasticity.conv.experiment import fit_and_evaluate, fit_checkpoints
    accs, last, first = [], None, 0
    resumed = recorder.resume_state() if recorder is not None else None
    if resumed is not None:     # a checkpoint of split `split`'s fit: the earlier
        first = int(resumed["split"])         # splits' accuracies are in it
        accs = [float(a) for a in resumed["accs"]]
    n_max = max(len(tr) for tr, _ in splits)   # steps: splits one after the other
    per_split = sum(budget(l, n_max) for l in layers(config) if l["type"] == "conv")
    for s, (tr, te) in enumerate(splits):
        if s < first:
            continue
        log(f"split {s + 1}/{len(splits)}: {len(tr)} train, {len(te)} test")
        net = build(config, seed + s)
        rec = recorder if s == len(splits) - 1 else None
        ck = fit_checkpoints(recorder, extra={"split": s, "accs": list(accs)},
                             offset=s * per_split, resume=s == first)
        last = fit_and_evaluate(net, X[tr], X[tr], y[tr], X[te], y[te], config.svm_C,
                                standardize=config.svm_standardize, recorder=rec,
                                labels=labels, log=log, fit_kwargs=ck)
        accs.append(last["accuracy_test"])
    last.pop("confusion")
    m = dict(last, accuracy_test=float(np.mean(accs)),
             accuracy_test_std=float(np.std(accs)), accuracy_splits=np.array(accs))
    log(f"test accuracy over {len(accs)} splits: {100 * np.mean(accs):.2f} +- "
        f"{100 * np.std(accs):.2f} %")
    if recorder is not None:
        recorder.metric("accuracy_splits", np.array(accs))
        recorder.metric("accuracy_test_std", float(np.std(accs)))
        recorder.headline({"accuracy_test": float(np.mean(accs)),
                           "accuracy_test_std": float(np.std(accs))})
    return m


def _log(recorder):
    if recorder is not None and recorder.quiet:
        return lambda *a: None
    return lambda *a: print(*a, file=sys.stderr, flush=True)


def find_data(config):
    """The Caltech-101 directory with LABELS (plasticity run calls it before any
    work; DatasetError)."""
    from plasticity.datasets import caltech_directory
    return caltech_directory(config.data_dir or None, LABELS)


def run(config, recorder=None, seed=1, log=None):
    from plasticity.datasets import load_caltech
    if recorder is not None:
        seed = recorder.seed
    log = log or _log(recorder)
    X, y, _ = load_caltech(config.data_dir or None, LABELS, config.height, config.width)
    rng = np.random.default_rng(seed)
    splits = []
    for _ in range(config.n_splits):
        tr = np.concatenate([rng.choice(np.flatnonzero(y == c), config.n_train_per_class,
                                        replace=False) for c in range(len(LABELS))])
        te = np.setdiff1d(np.arange(len(y)), tr)
        splits.append((rng.permutation(tr), te))
    m = evaluate_splits(config, X, y, splits, recorder, seed, log, LABELS)
    return {k: v for k, v in m.items() if np.ndim(v) == 0}



def main(argv=None):
    """The script's entry point: the options and rules of ``plasticity run``."""
    from plasticity.cli import script_main
    return script_main("kheradpisheh_caltech", argv)


if __name__ == "__main__":
    sys.exit(main())
