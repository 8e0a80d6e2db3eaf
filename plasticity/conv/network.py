"""``SpikingConvNet``: the STDP-trained spiking deep convolutional network of
Kheradpisheh, Ganjtabesh, Thorpe & Masquelier (2018) as a scikit-learn transformer.

    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC
    from plasticity.conv import SpikingConvNet, MNIST_LAYERS

    clf = make_pipeline(SpikingConvNet(layers=MNIST_LAYERS, random_state=0),
                        LinearSVC(C=2.4))
    clf.fit(X_train, y_train)          # X: (n, H, W) or (n, H*W) grayscale images
    clf.score(X_test, y_test)

Layers are dicts: ``{"type": "conv", "maps": F, "size": k, "threshold": th, "k": n_winners,
"radius": r, "pad": p, "n_images": budget}`` and ``{"type": "pool", "size": s, "stride":
st, "pad": p}``. Conv layers are trained one after the other with STDP until the
convergence C_l = mean w(1-w) falls below ``convergence`` or ``n_images`` images have
been presented. The features of an image are, for each map of the last conv layer,
the maximum over positions of its potential at the last time step (that layer's
threshold is infinite at feature extraction; its ``threshold`` is used for training).
``feature_grid`` and ``feature_layer`` change where the maxima are taken and which conv
layer gives them.
"""
import numbers
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted

from ..encoding import check_dog_size, dog_filter, latency_code
from ..progress import Progress
from . import ops

__all__ = ["SpikingConvNet", "MNIST_LAYERS", "CALTECH_LAYERS", "ETH80_LAYERS"]

#: the paper's MNIST architecture (k, radius, padding and budgets are our choices)
MNIST_LAYERS = (
    {"type": "conv", "maps": 30, "size": 5, "threshold": 15.0, "k": 5, "radius": 3,
     "pad": 2, "n_images": 60000},
    {"type": "pool", "size": 2, "stride": 2, "pad": 0},
    {"type": "conv", "maps": 100, "size": 5, "threshold": 10.0, "k": 8, "radius": 1,
     "pad": 2, "n_images": 60000},
)

#: Caltech Faces/Motorbikes architecture of the paper
CALTECH_LAYERS = (
    {"type": "conv", "maps": 4, "size": 5, "threshold": 10.0, "k": 1, "radius": 0,
     "pad": 2, "n_images": 2000},
    {"type": "pool", "size": 7, "stride": 6, "pad": 0},
    {"type": "conv", "maps": 20, "size": 16, "threshold": 60.0, "k": 1, "radius": 0,
     "pad": 0, "n_images": 4000},
    {"type": "pool", "size": 2, "stride": 2, "pad": 0},
    {"type": "conv", "maps": 10, "size": 5, "threshold": 2.0, "k": 1, "radius": 0,
     "pad": 2, "n_images": 4000},
)

#: ETH-80: as Caltech with 400 maps in conv2 and conv3
ETH80_LAYERS = tuple(dict(l, maps=400) if i in (2, 4) else dict(l)
                     for i, l in enumerate(CALTECH_LAYERS))

_CONV_KEYS = {"type", "maps", "size", "threshold", "k", "radius", "pad", "n_images"}
_POOL_KEYS = {"type", "size", "stride", "pad"}


def _check_layers(layers):
    if layers is None:
        layers = MNIST_LAYERS
    if isinstance(layers, dict) or not hasattr(layers, "__iter__"):
        raise ValueError(f"layers must be a sequence of dicts, got {layers!r}")
    out = []
    for i, l in enumerate(layers):
        if not isinstance(l, dict) or l.get("type") not in ("conv", "pool"):
            raise ValueError(f"layer {i}: must be a dict with type 'conv' or 'pool', "
                             f"got {l!r}")
        l = dict(l)
        if l["type"] == "conv":
            bad = set(l) - _CONV_KEYS
            if bad:
                raise ValueError(f"layer {i}: unknown keys {sorted(bad)} (allowed: "
                                 f"{sorted(_CONV_KEYS)})")
            for key in ("maps", "size"):
                if not isinstance(l.get(key), numbers.Integral) or l[key] < 1:
                    raise ValueError(f"layer {i}: {key} must be an integer >= 1, got "
                                     f"{l.get(key)!r}")
            l.setdefault("threshold", 10.0)
            l.setdefault("k", 1)
            l.setdefault("radius", 0)
            l.setdefault("pad", 0)
            l.setdefault("n_images", None)
            if not float(l["threshold"]) > 0:
                raise ValueError(f"layer {i}: threshold must be > 0")
            if int(l["k"]) < 0 or int(l["radius"]) < 0 or int(l["pad"]) < 0:
                raise ValueError(f"layer {i}: k, radius and pad must be >= 0")
        else:
            bad = set(l) - _POOL_KEYS
            if bad:
                raise ValueError(f"layer {i}: unknown keys {sorted(bad)} (allowed: "
                                 f"{sorted(_POOL_KEYS)})")
            if not isinstance(l.get("size"), numbers.Integral) or l["size"] < 1:
                raise ValueError(f"layer {i}: pool size must be an integer >= 1")
            l.setdefault("stride", l["size"])
            l.setdefault("pad", 0)
        out.append(l)
    if not any(l["type"] == "conv" for l in out):
        raise ValueError("layers need at least one conv layer")
    return out


class SpikingConvNet(TransformerMixin, BaseEstimator):
    """STDP-trained spiking convolutional network (Kheradpisheh et al. 2018).

    Parameters
    ----------
    layers : sequence of dict, default MNIST_LAYERS
        The architecture (see the module docstring).
    T : int
        Number of time steps (spike packets) of the latency code.
    dog_size, dog_sigmas : int, (float, float)
        DoG kernel size and (centre, surround) sigmas in pixels.
    dog_on, dog_off : bool
        Use the ON-centre / OFF-centre channels.
    dog_threshold : float
        DoG responses at or below it do not spike (images scaled to [0, 1], DoG kernel
        with peak 1).
    image_shape : (int, int) or None
        Shape of one image when X is given flat (n, H*W); None: square images when the
        number of features is a square, else one row of pixels (1, n_features).
    a_plus, a_minus : float
        Initial STDP amplitudes (a_minus < 0, the paper's sign).
    a_plus_max, lr_double_every : float, int
        Every ``lr_double_every`` training images a_plus doubles (a_minus keeps its
        ratio), up to ``a_plus_max``.
    convergence : float
        Training of a layer stops when C_l = mean w(1-w) < convergence.
    w_mean, w_std : float
        Initial weights ~ N(w_mean, w_std), clipped to [0, 1].
    feature_grid : int
        1 (the paper): each feature is a map's global maximum potential. g > 1: the
        maximum over each cell of a g x g grid of positions (F g^2 features).
    feature_pyramid : bool
        False (the paper): the one grid ``feature_grid``. True: a spatial pyramid, the
        grids 1 x 1, 2 x 2, ..., g x g side by side (F (1 + 4 + ... + g^2) features),
        so that the readout sees both where and whether a feature occurred.
    feature_layer : int or None
        Which conv layer's potentials are the features: None (the paper) the last one;
        k >= 1 the k-th conv layer (``conv{k}``), read with an infinite threshold like
        the last. Layers after it are still trained (their kernels are kept), but do not
        enter the features.
    batch_size : int
        Images encoded / propagated at once.
    threads : int or None
        Threads (>= 1) of training and feature extraction, taken as a
        :class:`plasticity.Network` takes them: None is the environment variable
        ``PLASTICITY_THREADS`` if set, else every core the process may use. Where the
        weights do not change (encoding, the layers below the one being trained,
        feature extraction) the images are shared out over the threads; the layer being
        trained shares each image's output rows. The results are
        identical, bit for bit, for every number of threads. A build without OpenMP
        runs on one thread (with a warning when more were asked for).
    n_jobs : int or None
        Deprecated alias of ``threads`` (-1: all cores); used when ``threads`` is None.
    random_state : int or None
    verbose : int

    Attributes
    ----------
    weights_ : list of ndarray (F, C, kh, kw), one per conv layer
    convergence_ : list of ndarray (n_points, 2): (images presented, C_l) per conv layer
    n_train_images_ : list of int, images presented per conv layer
    train_seconds_, train_cpu_seconds_ : list of float, wall and CPU time per conv layer
    layers_ : the validated layer dicts
    image_shape_ : (H, W); n_features_in_ : H * W; n_features_out_ : maps of the feature
        layer x the grid cells (feature_grid ** 2, or their sum over the pyramid)
    """

    def __init__(self, layers=None, T=30, dog_size=7, dog_sigmas=(1.0, 2.0), dog_on=True,
                 dog_off=True, dog_threshold=0.2, image_shape=None, a_plus=0.004,
                 a_minus=-0.003, a_plus_max=0.15, lr_double_every=500, convergence=0.01,
                 w_mean=0.8, w_std=0.05, feature_grid=1, feature_layer=None,
                 feature_pyramid=False, batch_size=1000, threads=None, n_jobs=None,
                 random_state=None, verbose=0):
        self.layers = layers
        self.T = T
        self.dog_size = dog_size
        self.dog_sigmas = dog_sigmas
        self.dog_on = dog_on
        self.dog_off = dog_off
        self.dog_threshold = dog_threshold
        self.image_shape = image_shape
        self.a_plus = a_plus
        self.a_minus = a_minus
        self.a_plus_max = a_plus_max
        self.lr_double_every = lr_double_every
        self.convergence = convergence
        self.w_mean = w_mean
        self.w_std = w_std
        self.feature_grid = feature_grid
        self.feature_layer = feature_layer
        self.feature_pyramid = feature_pyramid
        self.batch_size = batch_size
        self.threads = threads
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ validation
    def _n_threads(self):
        """The threads of a fit or transform (``threads``, else the deprecated
        ``n_jobs``, else as a Network takes them)."""
        th = self.threads
        if th is None and self.n_jobs is not None:
            warnings.warn("SpikingConvNet(n_jobs=...) is deprecated: use threads=",
                          FutureWarning, stacklevel=3)
            th = None if self.n_jobs == -1 else self.n_jobs
        return ops.n_threads(th)

    def _check_params(self):
        if not isinstance(self.T, numbers.Integral) or not 1 <= self.T <= 32000:
            raise ValueError(f"T must be an integer in [1, 32000], got {self.T!r}")
        if not self.a_plus >= 0:
            raise ValueError(f"a_plus must be >= 0, got {self.a_plus!r}")
        if not self.a_minus <= 0:
            raise ValueError(f"a_minus must be <= 0 (the paper's sign), got {self.a_minus!r}")
        if not isinstance(self.batch_size, numbers.Integral) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {self.batch_size!r}")
        if not isinstance(self.feature_grid, numbers.Integral) or self.feature_grid < 1:
            raise ValueError(f"feature_grid must be an integer >= 1, got {self.feature_grid!r}")
        if not isinstance(self.feature_pyramid, (bool, np.bool_)):
            raise ValueError(f"feature_pyramid must be True or False, got "
                             f"{self.feature_pyramid!r}")
        if not isinstance(self.lr_double_every, numbers.Integral) or self.lr_double_every < 1:
            raise ValueError("lr_double_every must be an integer >= 1")
        layers = _check_layers(self.layers)
        self._feature_conv(layers)            # a bad feature_layer fails before training
        self._threads = self._n_threads()
        return layers

    def _images(self, X, reset):
        X = check_array(X, allow_nd=True, dtype=None, ensure_min_samples=1,
                        ensure_all_finite=True)
        if X.dtype.kind not in "uif":
            X = X.astype(np.float64)
        if X.ndim == 2:
            if not reset and X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} "
                                 f"is expecting {self.n_features_in_} features as input")
            shape = self.image_shape if reset else self.image_shape_
            if shape is None:
                side = int(round(np.sqrt(X.shape[1])))
                shape = (side, side) if side * side == X.shape[1] else (1, X.shape[1])
            shape = tuple(int(s) for s in shape)
            if len(shape) != 2 or shape[0] * shape[1] != X.shape[1]:
                raise ValueError(f"image_shape {shape} does not match {X.shape[1]} features")
            X = X.reshape((X.shape[0],) + shape)
        elif X.ndim != 3:
            raise ValueError(f"X must be (n, H, W) images or (n, H*W), got shape {X.shape}")
        if reset:
            self.image_shape_ = X.shape[1:]
            self.n_features_in_ = int(X.shape[1] * X.shape[2])
        elif X.shape[1:] != tuple(self.image_shape_):
            raise ValueError(f"X has images of shape {X.shape[1:]}, but this network was "
                             f"fitted on {tuple(self.image_shape_)}")
        return X

    # ------------------------------------------------------------------ pipeline
    def encode(self, X):
        """DoG + latency coding of images (n, H, W) -> spike times (n, C, H, W) int16
        (chunks of images on the threads; each image is coded on its own)."""
        s1, s2 = self.dog_sigmas
        nt = self._n_threads()

        def code(a, b):
            r = dog_filter(X[a:b], self.dog_size, s1, s2, self.dog_on, self.dog_off,
                           self.dog_threshold)
            return latency_code(r, self.T, threshold=self.dog_threshold)

        n = X.shape[0]
        step = max(1, min(self.batch_size, -(-n // (4 * nt)) if nt > 1 else n))
        parts = [(a, min(a + step, n)) for a in range(0, n, step)]
        if nt == 1 or len(parts) == 1:
            return np.concatenate([code(a, b) for a, b in parts])
        with ThreadPoolExecutor(min(nt, len(parts))) as ex:
            return np.concatenate(list(ex.map(lambda ab: code(*ab), parts)))

    def _propagate(self, times, layers, weights):
        """Spike times after ``layers`` (inference: thresholds, inhibition, pooling)."""
        ci = 0
        for l in layers:
            if l["type"] == "conv":
                times, _ = ops.conv_forward(times, weights[ci], l["threshold"], self.T,
                                            l["pad"], True, self._threads, internal=True,
                                            potentials=False)
                ci += 1
            else:
                times = ops.pool_first(times, l["size"], l["stride"], l["pad"],
                                       self._threads)
        return times

    # ------------------------------------------------------------------ fit
    def fit(self, X, y=None, *, checkpoint=None, resume=None):
        """Train the conv layers one after the other with STDP on images X.

        Parameters
        ----------
        X : array (n, H, W) or (n, H*W)
        y : ignored
        checkpoint : callable or None
            ``checkpoint(step, state)`` is called at every safe point of the training
            (after each batch of images, including the last of each layer): ``step``
            is the number of images presented so far over all conv layers (an int),
            ``state`` a function that returns the training state (a dict of arrays,
            numbers, strings and lists: the trained layers' weights, the current
            layer's weights, STDP amplitudes and schedule, the random generator, the
            image order, the convergence curve). Call it only when the state is to
            be saved (it copies the weights).
        resume : dict or None
            A ``state()`` saved by ``checkpoint`` from a fit on the same X with the same
            parameters: the training continues from there and ends with the same
            network, bit for bit, as an uninterrupted fit.
        """
        layers = self._check_params()
        X = self._images(X, reset=True)
        self.check_image_shape(X.shape[1:])    # before training, not after
        rng = np.random.default_rng(self.random_state)
        n = X.shape[0]
        enc = self.encode(X)
        C = enc.shape[1]
        wts = []
        self.convergence_, self.n_train_images_, self.train_seconds_ = [], [], []
        self.train_cpu_seconds_ = []
        r = None if resume is None else self._check_resume(resume, layers, n)
        for li, l in enumerate(layers):
            if l["type"] != "conv":
                continue
            F, ks = int(l["maps"]), int(l["size"])
            if r is not None and li < r["layer"]:      # trained before the checkpoint
                ci = len(wts)
                wt = self._resumed_array(r["weights"], f"conv{ci}", (C, ks, ks, F),
                                         np.float32)
                self.convergence_.append(np.asarray(r["convergence"][f"conv{ci}"],
                                                    dtype=np.float64))
                self.n_train_images_.append(int(r["n_train_images"][ci]))
                self.train_seconds_.append(float(r["train_seconds"][ci]))
                self.train_cpu_seconds_.append(float(r["train_cpu_seconds"][ci]))
                wts.append(wt)
                C = F
                continue
            budget = n if l["n_images"] is None else int(l["n_images"])
            ratio = float(self.a_minus) / float(self.a_plus) if self.a_plus > 0 else 0.0
            prev = layers[:li]
            if r is not None and li == r["layer"]:     # the layer the checkpoint was in
                wt = self._resumed_array(r, "wt", (C, ks, ks, F), np.float32).copy()
                rng.bit_generator.state = r["rng"]
                ap, am = float(r["a_plus"]), float(r["a_minus"])
                seen, since = int(r["seen"]), int(r["since"])
                curve = [(int(a), float(c)) for a, c in np.asarray(r["curve"])]
                order = np.asarray(r["order"], dtype=np.int64).copy()
                spent, spent_cpu = float(r["seconds"]), float(r["cpu_seconds"])
                r = None
            else:
                w = np.clip(rng.normal(self.w_mean, self.w_std, (C, ks, ks, F)), 0, 1)
                wt = np.ascontiguousarray(w, dtype=np.float32)
                ap, am = float(self.a_plus), float(self.a_minus)
                seen, curve = 0, [(0, float(np.mean(w * (1 - w))))]
                order = np.empty(0, dtype=np.int64)
                since = 0                      # images since a+ last doubled
                spent = spent_cpu = 0.0
            t0, c0 = time.perf_counter(), time.process_time()
            bar = Progress(budget, initial=seen, desc=f"train conv{li + 1}", unit="image",
                           delay=3.0)

            def state(li=li):
                ci = len(wts)
                return {
                    "layer": li, "step": sum(self.n_train_images_) + seen,
                    "weights": {f"conv{i}": w for i, w in enumerate(wts)},
                    "convergence": {f"conv{i}": c for i, c in
                                    enumerate(self.convergence_[:ci])},
                    "n_train_images": list(self.n_train_images_),
                    "train_seconds": list(self.train_seconds_),
                    "train_cpu_seconds": list(self.train_cpu_seconds_),
                    "wt": wt.copy(), "rng": rng.bit_generator.state,
                    "a_plus": ap, "a_minus": am, "seen": seen, "since": since,
                    "curve": np.array(curve, dtype=np.float64), "order": order.copy(),
                    "seconds": spent + time.perf_counter() - t0,
                    "cpu_seconds": spent_cpu + time.process_time() - c0,
                }
            while seen < budget and curve[-1][1] >= self.convergence:
                if order.size == 0:
                    order = rng.permutation(n)
                m = min(self.lr_double_every - since, budget - seen, order.size)
                idx, order = order[:m], order[m:]
                tin = self._propagate(enc[idx], prev, wts) if prev else enc[idx]
                ops.train_layer(tin, wt, l["threshold"], self.T, l["pad"], l["k"],
                                l["radius"], ap, am, self._threads)
                seen += m
                since += m
                bar.set(seen)
                cl = float(np.mean(wt.astype(np.float64) * (1 - wt)))
                curve.append((seen, cl))
                if since == self.lr_double_every:
                    since = 0
                    ap = min(2 * ap, float(self.a_plus_max))
                    am = ratio * ap
                if self.verbose:
                    print(f"  layer {li} ({F} maps): {seen} images, C_l = {cl:.4f}, "
                          f"a+ = {ap:.4g}, {seen / (time.perf_counter() - t0):.0f} img/s",
                          flush=True)
                if checkpoint is not None:
                    checkpoint(sum(self.n_train_images_) + seen, state)
            bar.close()
            self.train_seconds_.append(spent + time.perf_counter() - t0)
            self.train_cpu_seconds_.append(spent_cpu + time.process_time() - c0)
            self.convergence_.append(np.array(curve, dtype=np.float64))
            self.n_train_images_.append(seen)
            wts.append(wt)
            C = F
        self._wt = wts
        self.layers_ = layers
        self.weights_ = [ops.kernels_external(w) for w in wts]
        ci, _ = self._feature_conv(layers)
        self.n_features_out_ = int(self.weights_[ci].shape[0]) * self._n_cells()
        return self

    @staticmethod
    def _resumed_array(d, key, shape, dtype):
        a = np.asarray(d[key])
        if a.shape != tuple(shape):
            raise ValueError(f"resume: {key} has shape {a.shape}, this network's layer "
                             f"needs {tuple(shape)}: the state is of another network")
        return np.ascontiguousarray(a, dtype=dtype)

    @staticmethod
    def _check_resume(r, layers, n):
        """The resume state, checked against this network and data (ValueError)."""
        if not isinstance(r, dict):
            raise TypeError(f"resume must be a state dict saved by fit's checkpoint, got "
                            f"{type(r).__name__}")
        missing = {"layer", "weights", "convergence", "n_train_images", "train_seconds",
                   "train_cpu_seconds", "wt", "rng", "a_plus", "a_minus", "seen", "since",
                   "curve", "order", "seconds", "cpu_seconds"} - set(r)
        if missing:
            raise ValueError(f"resume: the state lacks {sorted(missing)}")
        li = int(r["layer"])
        if not 0 <= li < len(layers) or layers[li]["type"] != "conv":
            raise ValueError(f"resume: layer {li} is not a conv layer of this network")
        order = np.asarray(r["order"])
        if order.size and (order.min() < 0 or order.max() >= n):
            raise ValueError(f"resume: the image order refers to images beyond the {n} "
                             f"given: the state is of a fit on other data")
        return r

    def _grids(self):
        """The grid sizes whose maxima make the features, in output order."""
        g = int(self.feature_grid)
        return tuple(range(1, g + 1)) if self.feature_pyramid else (g,)

    def _n_cells(self):
        return sum(g * g for g in self._grids())

    # ------------------------------------------------------------------ transform
    def _feature_conv(self, layers):
        """(index among the conv layers, index in ``layers``) of the feature layer;
        raises on a ``feature_layer`` that names no conv layer of ``layers``."""
        convs = [i for i, l in enumerate(layers) if l["type"] == "conv"]
        fl = self.feature_layer
        if fl is None:
            return len(convs) - 1, convs[-1]
        if isinstance(fl, bool) or not isinstance(fl, numbers.Integral) \
                or not 1 <= fl <= len(convs):
            raise ValueError(f"feature_layer must be None (the last conv layer) or an "
                             f"integer in [1, {len(convs)}] (the conv layers), got {fl!r}")
        return int(fl) - 1, convs[int(fl) - 1]

    def check_image_shape(self, image_shape):
        """Raise ValueError where images of ``image_shape`` (H, W) do not fit the
        DoG kernel or the layers (a window larger than its padded input) or ``feature_grid`` has more
        cells per side than the feature layer's maps: what :meth:`fit` would find
        after encoding, found from the shapes alone (an experiment's ``Config.check``
        calls it, before any work)."""
        layers = self._check_params()
        check_dog_size(self.dog_size, image_shape)
        H, W = (int(x) for x in image_shape)
        for i, l in enumerate(layers):
            st = 1 if l["type"] == "conv" else l["stride"]
            Ho, Wo = (ops.out_size(n, l["size"], st, l["pad"]) for n in (H, W))
            if Ho < 1 or Wo < 1:
                raise ValueError(
                    f"layer {i + 1} ({l['type']}): a {l['size']}x{l['size']} window with "
                    f"padding {l['pad']} does not fit its input of {H}x{W} (images of "
                    f"{image_shape[0]}x{image_shape[1]}): the images are too small for "
                    f"this architecture")
            H, W = Ho, Wo
        self._check_grid(layers, image_shape)

    def _check_grid(self, layers, image_shape):
        """Raise if ``feature_grid`` has more cells per side than the feature layer's
        maps (computed from the layer sizes, strides and padding)."""
        _, li = self._feature_conv(layers)
        H, W = image_shape
        for l in layers[:li + 1]:
            st = 1 if l["type"] == "conv" else l["stride"]
            H, W = (ops.out_size(n, l["size"], st, l["pad"]) for n in (H, W))
        if H >= 1 and W >= 1 and not self.feature_grid <= min(H, W):
            raise ValueError(f"feature_grid must be in [1, {min(H, W)}] for feature maps "
                             f"of {H} x {W}, got {self.feature_grid}")

    def _internal(self):
        w = getattr(self, "_wt", None)
        if w is None or len(w) != len(self.weights_):
            w = [ops.kernels_internal(x) for x in self.weights_]
            self._wt = w
        return w

    def transform(self, X):
        """Features (n, maps x cells) of the feature layer (default the last conv
        layer): maxima of its final potentials, with an infinite threshold, over each
        cell of the grid (or of each grid of the pyramid, 1 x 1 first; within a grid,
        map-major, cells row-major)."""
        check_is_fitted(self, "weights_")
        ci, li = self._feature_conv(self.layers_)
        self._check_grid(self.layers_, self.image_shape_)
        X = self._images(X, reset=False)
        self._threads = self._n_threads()
        wts = self._internal()
        out = np.empty((X.shape[0], self.weights_[ci].shape[0] * self._n_cells()))
        for a in range(0, X.shape[0], self.batch_size):
            t = self.encode(X[a:a + self.batch_size])
            t = self._propagate(t, self.layers_[:li], wts[:ci])
            l = self.layers_[li]
            _, v = ops.conv_forward(t, wts[ci], np.inf, self.T, l["pad"], False,
                                    self._threads, internal=True)
            out[a:a + self.batch_size] = np.hstack([ops.grid_max(v, g, self._threads)
                                                    for g in self._grids()])
        return out

    def spike_times(self, X, upto=None):
        """Spike times (n, C, H, W) after the first ``upto`` layers (0: the encoded
        input; None: all layers), with training thresholds and inhibition."""
        check_is_fitted(self, "weights_")
        X = self._images(X, reset=False)
        upto = len(self.layers_) if upto is None else int(upto)
        layers = self.layers_[:upto]
        n_conv = sum(l["type"] == "conv" for l in layers)
        self._threads = self._n_threads()
        return self._propagate(self.encode(X), layers, self._internal()[:n_conv])

    def preferred_stimuli(self, layer=-1, maps=None):
        """Preferred stimulus of each map of conv layer ``layer`` (index among the conv
        layers), back-projected to the input channels: (n_maps, C_in, h, w).

        The map's kernel is carried back through the layers below: through a pooling
        layer each value spreads (maximum) over its window; through a conv layer each
        value weights that layer's kernels (a transposed convolution). For the first
        conv layer it is the kernel itself. Channels are the DoG channels (ON, OFF)."""
        check_is_fitted(self, "weights_")
        conv_pos = [i for i, l in enumerate(self.layers_) if l["type"] == "conv"]
        li = conv_pos[layer]
        ci = conv_pos.index(li)
        W = self.weights_[ci]
        sel = range(W.shape[0]) if maps is None else maps
        out = []
        for f in sel:
            P = W[f].astype(np.float64)
            for l, lay in reversed(list(enumerate(self.layers_[:li]))):
                if lay["type"] == "pool":
                    s, st = lay["size"], lay["stride"]
                    C, h, w = P.shape
                    Q = np.zeros((C, (h - 1) * st + s, (w - 1) * st + s))
                    for i in range(s):
                        for j in range(s):
                            blk = Q[:, i:i + (h - 1) * st + 1:st, j:j + (w - 1) * st + 1:st]
                            np.maximum(blk, P, out=blk)
                    P = Q
                else:
                    K = self.weights_[conv_pos.index(l)].astype(np.float64)
                    _, C, k, _ = K.shape
                    F, h, w = P.shape
                    Q = np.zeros((C, h + k - 1, w + k - 1))
                    for dy in range(k):
                        for dx in range(k):
                            Q[:, dy:dy + h, dx:dx + w] += np.einsum("fyx,fc->cyx", P,
                                                                    K[:, :, dy, dx])
                    P = Q
            out.append(P)
        return np.stack(out)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
