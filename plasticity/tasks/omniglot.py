"""N-way 1-shot Omniglot episodes for one-shot learning with recurrent SNNs.

The data side of the one-shot Omniglot experiment (Scherr, Stöckl & Maass 2020; issue
6): the Omniglot "minimal" background sets (Lake, Salakhutdinov & Tenenbaum 2015),
split by *alphabet* into meta-train and meta-test, N-way 1-shot episodes, spike or
current encodings of the images over time, and the baselines every learner is
compared with (pixel nearest neighbour; Lake's 20 official 20-way runs).

- :class:`OmniglotTasks`: loads ``images_background_small1.zip`` and
  ``images_background_small2.zip`` (the 8 distinct alphabets, 242 characters x 20
  drawers; Greek and Latin are in both zips and are kept once), downsamples once by
  area averaging, splits alphabets, samples :class:`Episode` s.
- :func:`stack_episodes`: batches of episodes.
- :func:`encode_images`, :func:`encode_episode`: time-major (T, batch, n) inputs.
- :func:`nearest_neighbour`, :func:`evaluate_episodes`, :func:`mean_confidence_interval`,
  :func:`lake_runs`, :func:`pixel_baselines`.
- :func:`fit_stdp_features` and :meth:`OmniglotTasks.transformed`: the images replaced
  by the features of an STDP-trained spiking conv net (Kheradpisheh et al. 2018,
  :mod:`plasticity.conv`) fitted without labels on the meta-train images only.

Measure the baselines with ``python -m plasticity.tasks.omniglot --baselines``.
See docs/omniglot.md.
"""
import argparse
import os
import sys
from typing import NamedTuple

import numpy as np

from .._validation import check_in, check_int, check_nonnegative, check_positive
from ..datasets import (DatasetError, load_omniglot, load_omniglot_runs,
                        omniglot_characters, omniglot_directory)

__all__ = ["OmniglotTasks", "Episode", "EncodedEpisode", "EvalResult", "BACKGROUND_ZIPS",
           "stack_episodes",
           "downsample_area", "preprocess_images", "encode_images", "encode_episode",
           "nearest_neighbour", "evaluate_episodes", "mean_confidence_interval",
           "lake_runs", "pixel_baselines", "OMNIGLOT_CONV_LAYERS", "fit_stdp_features"]

#: The two background zips read by default (the "minimal" background sets).
BACKGROUND_ZIPS = ("images_background_small1", "images_background_small2")
_SPLITS = ("train", "test")
_RAW_CACHE = {}       # (zip paths + mtimes) -> (raw uint8 (C, 20, 105, 105), names)


def _check_normalize(normalize):
    if normalize not in (None, "max"):
        raise ValueError(f"normalize must be None or 'max', got {normalize!r}")
    return normalize


def _rng(rng):
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


# --------------------------------------------------------------------- preprocessing
def _area_matrix(n_in, n_out):
    """(n_out, n_in) matrix averaging input pixels over each output pixel's area."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    j = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0.0, None)
    return overlap / (n_in / n_out)


def downsample_area(images, size):
    """Downsample square images by area averaging (exact for any ratio).

    Parameters
    ----------
    images : array_like, shape (..., H, H)
        Images (any real dtype); H >= ``size``.
    size : int
        Output side length.

    Returns
    -------
    ndarray, shape (..., size, size), float64
        Each output pixel is the mean of the input over its area (fractional pixels
        at the borders weighted by their overlap), so the mean intensity is kept.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim < 2 or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"images must have shape (..., H, H) (square), got "
                         f"{images.shape}")
    H = images.shape[-1]
    size = check_int("size", size, 1, H)
    if size == H:
        return images.copy()
    A = _area_matrix(H, size)
    return A @ images @ A.T


def _center(images):
    """Shift each image (integer pixels, zero fill) so that its intensity centroid
    is at the image centre; blank images are left as they are."""
    out = np.zeros_like(images)
    H, W = images.shape[-2:]
    yy, xx = np.arange(H, dtype=np.float64), np.arange(W, dtype=np.float64)
    for i, im in enumerate(images):
        m = im.sum(dtype=np.float64)
        if m <= 0:
            out[i] = im
            continue
        cy = (im.sum(1) @ yy) / m
        cx = (im.sum(0) @ xx) / m
        dy, dx = int(round((H - 1) / 2 - cy)), int(round((W - 1) / 2 - cx))
        src_y = slice(max(0, -dy), min(H, H - dy))
        dst_y = slice(max(0, dy), min(H, H + dy))
        src_x = slice(max(0, -dx), min(W, W - dx))
        dst_x = slice(max(0, dx), min(W, W + dx))
        out[i, dst_y, dst_x] = im[src_y, src_x]
    return out


def preprocess_images(images, size=28, center=False, normalize=None):
    """Omniglot images (strokes = 255) -> float32 in [0, 1] at ``size`` x ``size``.

    Parameters
    ----------
    images : array_like, shape (n, H, H), uint8
        Strokes = 255, background = 0 (as :func:`plasticity.datasets.load_omniglot`).
    size : int
        Output side (area averaging, :func:`downsample_area`).
    center : bool
        Shift each image (at full resolution, before downsampling) so that its ink
        centroid is at the centre.
    normalize : {None, "max"}
        ``"max"``: scale each image so that its brightest pixel is 1.

    Returns
    -------
    ndarray, shape (n, size, size), float32, values in [0, 1]
    """
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images must have shape (n, H, W), got {images.shape}")
    _check_normalize(normalize)
    x = images.astype(np.float64) / 255.0
    if center:
        x = _center(x)
    x = downsample_area(x, size)
    if normalize == "max":
        mx = x.reshape(len(x), -1).max(1)
        x = x / np.where(mx > 0, mx, 1.0)[:, None, None]
    return np.clip(x, 0.0, 1.0).astype(np.float32)


# -------------------------------------------------------------------------- episodes
class Episode(NamedTuple):
    """One N-way K=1-shot episode (or a batch of them, with a leading batch axis).

    ``support_x`` (N, D) float32: one image per class, in presentation order;
    ``support_y`` (N,) int64: its labels, a random permutation of 0..N-1 (so the
    presentation position says nothing about the label); ``query_x`` (N*Q, D) and
    ``query_y`` (N*Q,): Q images per class from other drawers, in random order;
    ``classes`` (N,) int64: ``classes[k]`` = the split's class index with label k.
    """
    support_x: np.ndarray
    support_y: np.ndarray
    query_x: np.ndarray
    query_y: np.ndarray
    classes: np.ndarray


def _load_background(directory, zips):
    """Deduplicated raw images (C, n_drawers, 105, 105) uint8 and names, cached."""
    paths = []
    for z in zips:
        d = omniglot_directory(directory, z)
        p = os.path.abspath(os.path.join(d, z + ".zip"))
        paths.append((p, os.stat(p).st_mtime_ns))
    key = tuple(paths)
    if key in _RAW_CACHE:
        return _RAW_CACHE[key]
    chars, names = [], []
    seen = {}
    for (p, _), z in zip(paths, zips):
        imgs, labels, nm = load_omniglot(os.path.dirname(p), z)
        for li, name in enumerate(nm):
            block = imgs[labels == li]
            if name in seen:
                if not np.array_equal(chars[seen[name]], block):
                    raise DatasetError(f"character {name!r} is in two zips with "
                                       f"different images ({p})")
                continue
            seen[name] = len(names)
            names.append(name)
            chars.append(block)
    counts = {len(c) for c in chars}
    if len(counts) != 1:
        raise DatasetError(f"Omniglot characters must all have the same number of "
                           f"drawers, got counts {sorted(counts)}")
    order = sorted(range(len(names)), key=lambda i: names[i])
    raw = np.stack([chars[i] for i in order])
    names = [names[i] for i in order]
    if len(_RAW_CACHE) >= 2:
        _RAW_CACHE.pop(next(iter(_RAW_CACHE)))
    _RAW_CACHE[key] = (raw, names)
    return raw, names


def _held_out(alphabets, n_test_alphabets, split_seed, test_alphabets):
    """The held-out (meta-test) alphabets of the sorted ``alphabets``: see
    :class:`OmniglotTasks`."""
    n_alpha = len(alphabets)
    if test_alphabets is not None:
        if isinstance(test_alphabets, str):
            test_alphabets = [test_alphabets]
        bad = [a for a in test_alphabets if a not in alphabets]
        if bad or not test_alphabets or len(set(test_alphabets)) >= n_alpha:
            raise ValueError(f"test_alphabets must be 1..{n_alpha - 1} distinct names "
                             f"from {list(alphabets)}, got {list(test_alphabets)}")
        return set(test_alphabets)
    n_test_alphabets = check_int("n_test_alphabets", n_test_alphabets, 1, n_alpha - 1)
    split_seed = check_int("split_seed", split_seed, 0)
    perm = np.random.default_rng(split_seed).permutation(n_alpha)
    return {alphabets[i] for i in perm[:n_test_alphabets]}


def split_classes(directory=None, *, n_test_alphabets=2, split_seed=0,
                  test_alphabets=None, rotations=False, zips=BACKGROUND_ZIPS):
    """``{"train": n, "test": n}``: the classes of each split of the
    :class:`OmniglotTasks` of these arguments (the largest ``n_way`` each can draw),
    from the zips' indexes alone, without reading an image: a config check knows
    before any work whether its episodes fit the data."""
    names = sorted({n for z in zips for n in omniglot_characters(directory, z)})
    char_alpha = [n.split("/")[0] for n in names]
    test = _held_out(tuple(sorted(set(char_alpha))), n_test_alphabets, split_seed,
                     test_alphabets)
    n_test = sum(a in test for a in char_alpha)
    n_train = len(names) - n_test
    return {"train": n_train * (4 if rotations else 1), "test": n_test}


class OmniglotTasks:
    """N-way 1-shot episodes from the Omniglot background alphabets, split by alphabet.

    Parameters
    ----------
    directory : str or path-like, optional
        Where the zips are (or its ``omniglot/`` subdirectory); default
        ``$PLASTICITY_DATA/omniglot`` (or ``$PLASTICITY_DATA``), else ``./data/omniglot``.
    size : int
        Side of the downsampled images (area averaging from 105); D = size**2.
    center, normalize :
        Preprocessing options, see :func:`preprocess_images` (default off).
    n_test_alphabets : int
        How many whole alphabets are held out for meta-testing.
    split_seed : int
        The held-out alphabets are the first ``n_test_alphabets`` of
        ``default_rng(split_seed).permutation`` of the sorted alphabet names. With the
        defaults (2, seed 0): meta-test = Greek, Korean (64 characters); meta-train =
        Balinese, Early_Aramaic, Japanese_(katakana), Latin, Sanskrit, Tagalog
        (178 characters).
    test_alphabets : sequence of str, optional
        Name the held-out alphabets explicitly (overrides the two above).
    rotations : bool
        Augment the meta-train split with each character rotated by 90, 180 and 270
        degrees as new classes (4x the classes; Santoro et al. 2016, Vinyals et al.
        2016). A rotated copy counts as its own alphabet (e.g. ``Latin@90``) for
        within-alphabet episodes. The meta-test split is never augmented.
    zips : sequence of str
        The zip names (without ``.zip``) to read; default :data:`BACKGROUND_ZIPS`.

    Attributes
    ----------
    alphabets : tuple of str
        All alphabet names, sorted.
    train_alphabets, test_alphabets : tuple of str
    names : list of str
        "alphabet/character" of every character (sorted).
    images : ndarray, shape (n_characters, n_drawers, size, size), float32
        The preprocessed images of every character, in [0, 1].
    n_drawers : int
        Images per character (20).
    """

    def __init__(self, directory=None, size=28, *, center=False, normalize=None,
                 n_test_alphabets=2, split_seed=0, test_alphabets=None, rotations=False,
                 zips=BACKGROUND_ZIPS):
        size = check_int("size", size, 1, 105)
        _check_normalize(normalize)
        if isinstance(zips, str) or len(zips) == 0:
            raise ValueError(f"zips must be a non-empty sequence of zip names, got "
                             f"{zips!r}")
        raw, names = _load_background(directory, tuple(zips))
        self.size, self.center, self.normalize = size, bool(center), normalize
        self.rotations = bool(rotations)
        self.names = names
        self.n_drawers = raw.shape[1]
        char_alpha = [n.split("/")[0] for n in names]
        self.alphabets = tuple(sorted(set(char_alpha)))
        test = _held_out(self.alphabets, n_test_alphabets, split_seed, test_alphabets)
        self.test_alphabets = tuple(a for a in self.alphabets if a in test)
        self.train_alphabets = tuple(a for a in self.alphabets if a not in test)
        C, R = raw.shape[:2]
        self.images = preprocess_images(raw.reshape(C * R, *raw.shape[2:]), size,
                                        center, normalize).reshape(C, R, size, size)
        self._char_alpha = np.array([self.alphabets.index(a) for a in char_alpha])
        self._split = {}
        for split, alph in (("train", self.train_alphabets), ("test", self.test_alphabets)):
            idx = np.flatnonzero(np.isin(self._char_alpha,
                                         [self.alphabets.index(a) for a in alph]))
            imgs = self.images[idx]
            cls_names = [names[i] for i in idx]
            groups = [char_alpha[i] for i in idx]
            if split == "train" and self.rotations:
                rot = [np.rot90(imgs, k, axes=(2, 3)) for k in (1, 2, 3)]
                imgs = np.concatenate([imgs] + rot)
                cls_names = cls_names + [f"{n}@{90 * k}" for k in (1, 2, 3)
                                         for n in cls_names]
                groups = groups + [f"{g}@{90 * k}" for k in (1, 2, 3) for g in groups]
            imgs = np.ascontiguousarray(imgs.reshape(len(imgs), R, size * size))
            gnames = sorted(set(groups))
            gid = np.array([gnames.index(g) for g in groups], dtype=np.int64)
            self._split[split] = {"x": imgs, "names": cls_names, "group": gid,
                                  "groups": gnames}

    # ------------------------------------------------------------------ inspection
    @property
    def n_inputs(self):
        """D, the length of an input vector: size**2 for images, the number of
        features after :meth:`transformed`."""
        return int(self._split["train"]["x"].shape[-1])

    def transformed(self, fn, unit_range=False):
        """A copy whose input vectors are ``fn(images)`` instead of the pixels.

        ``fn`` maps images (n, size, size) float32 to features (n, D'); it is applied
        once to each split's images (rotated copies included). Episodes drawn from the
        copy with the same generator state are the same episodes (classes, drawers,
        order), so a baseline on the pixels and a learner on the features see the
        same tasks. ``images`` stays the pixels.

        With ``unit_range`` every vector is divided by one constant, the maximum over
        the meta-train split (kept as ``feature_scale``), and clipped to [0, 1] (only
        held-out values can exceed it): the range the intensity encoders take. Apply
        the same map to other images with ``np.clip(fn(x) / feature_scale, 0, 1)``."""
        raw = {}
        for split, s in self._split.items():
            x = s["x"]
            C, R = x.shape[:2]
            f = np.asarray(fn(x.reshape(C * R, self.size, self.size)))
            if f.ndim != 2 or f.shape[0] != C * R:
                raise ValueError(f"fn must map ({C * R}, {self.size}, {self.size}) images "
                                 f"to a 2-d (n, D) array, got shape {f.shape}")
            raw[split] = f.reshape(C, R, -1)
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out.feature_scale = 1.0
        if unit_range:       # scaled in fn's precision, then stored as float32
            out.feature_scale = max(float(raw["train"].max()), 1e-12)
            raw = {k: np.clip(f / out.feature_scale, 0.0, 1.0) for k, f in raw.items()}
        out._split = {k: dict(s, x=np.ascontiguousarray(raw[k], dtype=np.float32))
                      for k, s in self._split.items()}
        return out

    def _get(self, split):
        check_in("split", split, _SPLITS)
        return self._split[split]

    def class_images(self, split):
        """The images of every class of ``split``: (n_classes, n_drawers, D) float32
        (a view; do not modify)."""
        return self._get(split)["x"]

    def class_names(self, split):
        """ "alphabet/character" (``@90`` etc. for rotated copies) per class."""
        return list(self._get(split)["names"])

    def n_classes(self, split):
        """Number of classes in ``split`` (rotated copies included)."""
        return len(self._get(split)["names"])

    def counts(self):
        """{split: {"alphabets": n, "characters": n, "classes": n, "images": n}}."""
        out = {}
        for split, alph in (("train", self.train_alphabets), ("test", self.test_alphabets)):
            n_char = int(np.isin(self._char_alpha,
                                 [self.alphabets.index(a) for a in alph]).sum())
            n_cls = self.n_classes(split)
            out[split] = {"alphabets": len(alph), "characters": n_char,
                          "classes": n_cls, "images": n_cls * self.n_drawers}
        return out

    # -------------------------------------------------------------------- sampling
    def sample_episode(self, split, n_way=5, n_query=1, rng=None, within_alphabet=False):
        """One N-way 1-shot episode.

        Parameters
        ----------
        split : {"train", "test"}
            Meta-train or held-out (meta-test) alphabets.
        n_way : int
            N distinct classes, labelled by a random permutation of 0..N-1.
        n_query : int
            Q query images per class, from drawers other than the support image's
            (1 <= Q <= n_drawers - 1).
        rng : numpy.random.Generator or int or None
            The randomness; same generator state = same episode, bit for bit.
        within_alphabet : bool
            Draw all N classes from one alphabet (as Lake's runs), chosen uniformly
            among the split's alphabets with at least N classes; default: across the
            whole split.

        Returns
        -------
        Episode
        """
        s = self._get(split)
        n_cls = len(s["names"])
        n_way = check_int("n_way", n_way, 2, n_cls)
        n_query = check_int("n_query", n_query, 1, self.n_drawers - 1)
        rng = _rng(rng)
        if within_alphabet:
            sizes = np.bincount(s["group"], minlength=len(s["groups"]))
            ok = np.flatnonzero(sizes >= n_way)
            if len(ok) == 0:
                raise ValueError(f"n_way={n_way} with within_alphabet=True needs an "
                                 f"alphabet with >= {n_way} classes in split {split!r}; "
                                 f"the largest has {sizes.max()}")
            g = ok[rng.integers(len(ok))]
            pool = np.flatnonzero(s["group"] == g)
            classes = pool[rng.choice(len(pool), n_way, replace=False)]
        else:
            classes = rng.choice(n_cls, n_way, replace=False)
        classes = classes.astype(np.int64)
        drawers = np.stack([rng.permutation(self.n_drawers)[:1 + n_query]
                            for _ in range(n_way)])               # (N, 1 + Q)
        labels = np.arange(n_way, dtype=np.int64)                  # label k <-> classes[k]
        order = rng.permutation(n_way)                             # presentation order
        x = s["x"]
        support_x = x[classes[order], drawers[order, 0]]
        support_y = labels[order]
        q_cls = np.repeat(labels, n_query)
        q_drw = drawers[:, 1:].reshape(-1)
        qo = rng.permutation(n_way * n_query)
        query_x = x[classes[q_cls[qo]], q_drw[qo]]
        return Episode(support_x, support_y, query_x, q_cls[qo], classes)

    def episodes(self, split, n_episodes, n_way=5, n_query=1, seed=0,
                 within_alphabet=False):
        """A list of ``n_episodes`` episodes from ``default_rng(seed)`` (or a given
        Generator); see :meth:`sample_episode`."""
        n_episodes = check_int("n_episodes", n_episodes, 1)
        rng = _rng(seed)
        return [self.sample_episode(split, n_way, n_query, rng, within_alphabet)
                for _ in range(n_episodes)]

    def sample_batch(self, split, batch_size, n_way=5, n_query=1, rng=None,
                     within_alphabet=False):
        """``batch_size`` independent episodes stacked along a leading axis:
        support_x (B, N, D), support_y (B, N), query_x (B, N*Q, D), query_y (B, N*Q),
        classes (B, N). Equal to stacking ``batch_size`` calls of
        :meth:`sample_episode` with the same generator."""
        batch_size = check_int("batch_size", batch_size, 1)
        rng = _rng(rng)
        eps = [self.sample_episode(split, n_way, n_query, rng, within_alphabet)
               for _ in range(batch_size)]
        return Episode(*(np.stack(f) for f in zip(*eps)))


def stack_episodes(episodes, batch_size=None):
    """Stack unbatched episodes into batched ones (leading axis B).

    Parameters
    ----------
    episodes : sequence of Episode
        All with the same N, Q and D.
    batch_size : int, optional
        Episodes per batch (the last batch may be smaller); default: all in one.

    Returns
    -------
    list of Episode
        Each with support_x (B, N, D), support_y (B, N), query_x (B, N*Q, D), ...
    """
    episodes = list(episodes)
    if not episodes:
        raise ValueError("episodes must not be empty")
    bs = len(episodes) if batch_size is None else check_int("batch_size", batch_size, 1)
    shapes = {tuple(np.shape(f) for f in e) for e in episodes}
    if len(shapes) != 1:
        raise ValueError(f"episodes must all have the same shapes, got {sorted(shapes)}")
    return [Episode(*(np.stack(f) for f in zip(*episodes[i:i + bs])))
            for i in range(0, len(episodes), bs)]


# -------------------------------------------------------------------------- encoding
def encode_images(images, t_present=50, t_gap=0, mode="poisson", max_rate=200.0,
                  amplitude=1.0, dt=1.0, rng=None, dtype=np.float32):
    """Present images one after another as time-major input (T, batch, D).

    Each image is shown for ``t_present`` steps, followed by ``t_gap`` silent steps.

    Parameters
    ----------
    images : array_like, shape (K, D) or (B, K, D)
        Pixel intensities in [0, 1] (K images per sequence, B sequences).
    t_present : int
        Steps per presentation (1 ms steps at ``dt=1``).
    t_gap : int
        Silent steps after each presentation.
    mode : {"poisson", "current"}
        ``"poisson"``: channel d spikes (value 1) at each step with probability
        ``image[d] * max_rate * dt / 1000`` (independent Bernoulli, i.e. Poisson in
        the limit of small dt); ``"current"``: the analog value
        ``amplitude * image[d]`` at every step of the presentation.
    max_rate : float
        Rate (Hz) of a pixel of intensity 1 in ``"poisson"`` mode;
        ``max_rate * dt / 1000`` must be <= 1.
    amplitude : float
        Scale of the ``"current"`` mode.
    dt : float
        Step (ms).
    rng : numpy.random.Generator or int or None
        Randomness of the spikes (``"poisson"``); same seed = same spikes.
    dtype : numpy dtype
        Of the returned array (float32 default; float64 for :class:`RSNN` inputs if
        you want no conversion).

    Returns
    -------
    x : ndarray, shape (K * (t_present + t_gap), B, D)
        B = 1 for a (K, D) input.
    windows : ndarray, shape (K, 2), int64
        ``[start, stop)`` steps of each presentation.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 2:
        images = images[None]
    if images.ndim != 3 or images.shape[1] == 0:
        raise ValueError(f"images must have shape (K, D) or (B, K, D) with K >= 1, got "
                         f"{np.shape(images)}")
    if not np.all(np.isfinite(images)) or images.min() < 0 or images.max() > 1:
        raise ValueError(f"images must be intensities in [0, 1], got values in "
                         f"[{np.nanmin(images)}, {np.nanmax(images)}]")
    t_present = check_int("t_present", t_present, 1)
    t_gap = check_int("t_gap", t_gap, 0)
    check_in("mode", mode, ("poisson", "current"))
    dt = check_positive("dt", dt, "ms")
    B, K, D = images.shape
    period = t_present + t_gap
    starts = np.arange(K, dtype=np.int64) * period
    windows = np.stack([starts, starts + t_present], 1)
    x = np.zeros((K, period, B, D), dtype=dtype)
    if mode == "poisson":
        max_rate = check_nonnegative("max_rate", max_rate, "Hz")
        pmax = max_rate * dt / 1000.0
        if pmax > 1:
            raise ValueError(f"max_rate * dt / 1000 must be <= 1 (a spike probability "
                             f"per step), got max_rate={max_rate} Hz, dt={dt} ms")
        p = np.transpose(images, (1, 0, 2)) * pmax                  # (K, B, D)
        u = _rng(rng).random((K, t_present, B, D))
        x[:, :t_present] = u < p[:, None]
    else:
        amplitude = check_positive("amplitude", amplitude)
        x[:, :t_present] = amplitude * np.transpose(images, (1, 0, 2))[:, None]
    return x.reshape(K * period, B, D), windows


class EncodedEpisode(NamedTuple):
    """Time-major inputs of one episode (or batch of episodes); see
    :func:`encode_episode`."""
    x_support: np.ndarray        # (T_s, B, D)
    label_support: np.ndarray    # (T_s, B, N) one-hot of the shown label while shown
    support_windows: np.ndarray  # (N, 2) [start, stop) steps
    x_query: np.ndarray          # (T_q, B, D)
    query_windows: np.ndarray    # (N*Q, 2)
    support_y: np.ndarray        # (B, N)
    query_y: np.ndarray          # (B, N*Q)


def encode_episode(episode, t_present=50, t_gap=0, mode="poisson", max_rate=200.0,
                   amplitude=1.0, dt=1.0, rng=None, t_present_query=None,
                   t_gap_query=None, dtype=np.float32):
    """Encode an :class:`Episode` (or a batch from :meth:`OmniglotTasks.sample_batch`).

    The support images are presented one after another (``x_support``), with the
    one-hot label of the image on screen in ``label_support`` (for the learning-signal
    generator only; zeros in the gaps); the queries follow as a separate sequence
    (``x_query``), so that the learner's one weight update can sit between the two.
    Concatenate ``x_support`` and ``x_query`` along axis 0 for one continuous run.

    Parameters
    ----------
    episode : Episode
        Unbatched (support_x (N, D)) or batched (support_x (B, N, D)).
    t_present, t_gap, mode, max_rate, amplitude, dt, dtype :
        As :func:`encode_images`, for the support presentations.
    t_present_query, t_gap_query : int, optional
        For the query presentations (default: as the support).
    rng : numpy.random.Generator or int or None
        Randomness of the spikes (support first, then queries).

    Returns
    -------
    EncodedEpisode
        ``support_y`` and ``query_y`` always with a batch axis (B, ...).
    """
    sx = np.asarray(episode.support_x)
    sy = np.asarray(episode.support_y)
    qx = np.asarray(episode.query_x)
    qy = np.asarray(episode.query_y)
    if sx.ndim == 2:
        sx, sy, qx, qy = sx[None], sy[None], qx[None], qy[None]
    if sx.ndim != 3 or sy.shape != sx.shape[:2] or qx.ndim != 3 or qy.shape != qx.shape[:2]:
        raise ValueError(f"episode must hold support_x (N, D) or (B, N, D), support_y "
                         f"(N,) or (B, N) and queries alike, got shapes {sx.shape}, "
                         f"{sy.shape}, {qx.shape}, {qy.shape}")
    rng = _rng(rng)
    tq = t_present if t_present_query is None else t_present_query
    gq = t_gap if t_gap_query is None else t_gap_query
    xs, ws = encode_images(sx, t_present, t_gap, mode, max_rate, amplitude, dt, rng, dtype)
    xq, wq = encode_images(qx, tq, gq, mode, max_rate, amplitude, dt, rng, dtype)
    B, N = sy.shape
    if sy.min() < 0 or sy.max() >= N:
        raise ValueError(f"support_y must hold labels 0..{N - 1}, got {np.unique(sy)}")
    lab = np.zeros((xs.shape[0], B, N), dtype=dtype)
    onehot = np.eye(N, dtype=dtype)[sy]                       # (B, N, N)
    for k, (a, b) in enumerate(ws):
        lab[a:b] = onehot[:, k][None]
    return EncodedEpisode(xs, lab, ws, xq, wq, sy.astype(np.int64), qy.astype(np.int64))


# ------------------------------------------------------------------------- baselines
def nearest_neighbour(support_x, support_y, query_x, metric="euclidean"):
    """1-nearest-neighbour labels of the queries.

    Parameters
    ----------
    support_x : array_like, shape (N, D)
    support_y : array_like, shape (N,)
    query_x : array_like, shape (M, D)
    metric : {"euclidean", "cosine"}
        Ties go to the first support image in order.

    Returns
    -------
    ndarray, shape (M,)
        The label of each query's nearest support image.
    """
    check_in("metric", metric, ("euclidean", "cosine"))
    s = np.asarray(support_x, dtype=np.float64)
    q = np.asarray(query_x, dtype=np.float64)
    if s.ndim != 2 or q.ndim != 2 or s.shape[1] != q.shape[1]:
        raise ValueError(f"support_x (N, D) and query_x (M, D) must be 2-d with the same "
                         f"D, got {s.shape} and {q.shape}")
    if metric == "euclidean":
        d = (q * q).sum(1)[:, None] - 2 * q @ s.T + (s * s).sum(1)[None, :]
    else:
        sn = s / np.maximum(np.linalg.norm(s, axis=1), 1e-12)[:, None]
        qn = q / np.maximum(np.linalg.norm(q, axis=1), 1e-12)[:, None]
        d = -(qn @ sn.T)
    return np.asarray(support_y)[np.argmin(d, axis=1)]


class EvalResult(NamedTuple):
    """Accuracy over episodes: mean of the per-episode accuracies, the half width of
    its confidence interval (Student t over episodes), the interval and the
    per-episode accuracies."""
    accuracy: float
    ci95: float
    ci_low: float
    ci_high: float
    per_episode: np.ndarray

    def __str__(self):
        return (f"{100 * self.accuracy:.1f}% +- {100 * self.ci95:.1f}% "
                f"(n={len(self.per_episode)})")


def mean_confidence_interval(values, level=0.95):
    """Mean and half width of its two-sided ``level`` confidence interval
    (Student t with n - 1 degrees of freedom; half width 0 for n = 1).

    Use it over episodes, or over the mean accuracies of seeds (n = 5: t = 2.78)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError("values must not be empty")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    m = float(v.mean())
    if v.size == 1:
        return m, 0.0
    from scipy import stats
    t = float(stats.t.ppf(0.5 + level / 2, v.size - 1))
    return m, t * float(v.std(ddof=1)) / np.sqrt(v.size)


def evaluate_episodes(predict_fn, episodes, level=0.95):
    """Accuracy of ``predict_fn`` over episodes, with a confidence interval.

    Parameters
    ----------
    predict_fn : callable
        ``predict_fn(episode) -> predicted query labels`` (shape of ``query_y``); sees
        the whole :class:`Episode` but must not use ``query_y`` (nor ``classes``).
    episodes : iterable of Episode
        Single episodes, or batched ones (``query_y`` (B, N*Q), e.g. from
        :meth:`OmniglotTasks.sample_batch` or :func:`stack_episodes`), each row
        counting as one episode.
    level : float
        Of the confidence interval (the field is called ``ci95`` whatever the level).

    Returns
    -------
    EvalResult
    """
    acc = []
    for ep in episodes:
        pred = np.asarray(predict_fn(ep))
        qy = np.asarray(ep.query_y)
        if pred.shape != qy.shape:
            raise ValueError(f"predict_fn must return one label per query, shape "
                             f"{qy.shape}, got {pred.shape}")
        if qy.ndim == 1:
            acc.append(float(np.mean(pred == qy)))
        else:
            acc.extend(np.mean(pred == qy, axis=-1).astype(np.float64).ravel().tolist())
    if not acc:
        raise ValueError("episodes must not be empty")
    acc = np.asarray(acc)
    m, h = mean_confidence_interval(acc, level)
    return EvalResult(m, h, m - h, m + h, acc)


def lake_runs(directory=None, size=28, center=False, normalize=None):
    """Lake et al.'s 20 official 20-way 1-shot runs (``all_runs.zip``) as episodes.

    Images are preprocessed as :class:`OmniglotTasks` does (same ``size``,
    ``center``, ``normalize``). In each episode, the support images are the run's
    ``class01..class20`` with labels 0..19 in that order and the queries its
    ``item01..item20`` (one per class) with the answer key's labels; ``classes`` is
    0..19. The images come from the *evaluation* alphabets (none of the background
    alphabets), 105 x 105 as the rest of Omniglot.

    Returns
    -------
    list of Episode
    """
    train, test, labels = load_omniglot_runs(directory)
    R, N = train.shape[:2]
    tr = preprocess_images(train.reshape(R * N, *train.shape[2:]), size, center, normalize)
    te = preprocess_images(test.reshape(R * N, *test.shape[2:]), size, center, normalize)
    tr, te = tr.reshape(R, N, -1), te.reshape(R, N, -1)
    y = np.arange(N, dtype=np.int64)
    return [Episode(tr[r], y.copy(), te[r], labels[r].copy(), y.copy()) for r in range(R)]


def _omniglot_conv_layers():
    from ..conv import MNIST_LAYERS
    return tuple(dict(l, n_images=6000) if l["type"] == "conv" else dict(l)
                 for l in MNIST_LAYERS)


#: The conv net of :func:`fit_stdp_features`: the MNIST architecture of Kheradpisheh et
#: al. 2018 (:data:`plasticity.conv.MNIST_LAYERS`) for 28 px characters, 6000 images
#: per layer (``n_images``, each layer's STDP budget)
OMNIGLOT_CONV_LAYERS = _omniglot_conv_layers()


def fit_stdp_features(images, *, grid=2, n_images=6000, dog_threshold=0.05,
                      random_state=0, threads=None):
    """An STDP-trained spiking conv net fitted without labels on ``images``.

    The network is :data:`OMNIGLOT_CONV_LAYERS` (ON/OFF DoG, latency code, two IF conv
    layers with winner-take-all STDP, :class:`plasticity.conv.SpikingConvNet`); its
    features are the maxima of the last layer's potentials over a ``grid`` x ``grid``
    grid of each map (``feature_grid``), 100 grid**2 of them. Fit it on meta-train
    images only: nothing of the held-out alphabets may reach it.

    Parameters
    ----------
    images : array_like, shape (n, H, W) or (..., H, W)
        Characters in [0, 1], strokes bright (as :class:`OmniglotTasks` stores them).
    grid : int
        Grid of maxima per map (1: the paper's global maximum).
    n_images : int
        STDP budget of each conv layer (images; fewer if it converges first).
    dog_threshold : float
        DoG responses at or below it do not spike.
    random_state : int
    threads : int or None
        Threads of the net (None: as a :class:`plasticity.Network` takes them).

    Returns
    -------
    SpikingConvNet
        Fitted; ``net.transform(images)`` gives (n, 100 grid**2) features.
    """
    from ..conv import SpikingConvNet
    images = np.asarray(images, dtype=np.float64)
    if images.ndim < 3:
        raise ValueError(f"images must be (n, H, W), got shape {images.shape}")
    images = images.reshape(-1, *images.shape[-2:])
    layers = tuple(dict(l, n_images=int(n_images)) if l["type"] == "conv" else dict(l)
                   for l in OMNIGLOT_CONV_LAYERS)
    net = SpikingConvNet(layers=layers, dog_threshold=dog_threshold, feature_grid=grid,
                         random_state=random_state, threads=threads)
    return net.fit(images)


def pixel_baselines(tasks=None, n_episodes=1000, seed=0, n_query=1, ways=(5, 20),
                    metrics=("euclidean", "cosine"), directory=None, lake=True):
    """Pixel 1-nearest-neighbour accuracies on held-out episodes and Lake's runs.

    Returns a list of dicts (task, metric, accuracy, ci95, n_episodes). Held-out
    episodes are sampled with ``tasks.episodes("test", n_episodes, n_way, n_query,
    seed)`` (across alphabets, and within one alphabet as Lake's runs).
    """
    if tasks is None:
        tasks = OmniglotTasks(directory)
    rows = []
    for within in (False, True):
        for n_way in ways:
            eps = tasks.episodes("test", n_episodes, n_way, n_query, seed, within)
            for metric in metrics:
                r = evaluate_episodes(lambda e, m=metric: nearest_neighbour(
                    e.support_x, e.support_y, e.query_x, m), eps)
                rows.append({"task": f"held-out {n_way}-way"
                             + (" within-alphabet" if within else ""),
                             "metric": metric, "accuracy": r.accuracy, "ci95": r.ci95,
                             "n_episodes": len(eps)})
    if lake:
        eps = lake_runs(directory, tasks.size, tasks.center, tasks.normalize)
        for metric in metrics:
            r = evaluate_episodes(lambda e, m=metric: nearest_neighbour(
                e.support_x, e.support_y, e.query_x, m), eps)
            rows.append({"task": "Lake's 20 runs, 20-way", "metric": metric,
                         "accuracy": r.accuracy, "ci95": r.ci95, "n_episodes": len(eps)})
    return rows


def main(argv=None):
    """``python -m plasticity.tasks.omniglot --baselines``: print the split and the
    pixel-NN baselines."""
    ap = argparse.ArgumentParser(prog="python -m plasticity.tasks.omniglot",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--baselines", action="store_true",
                    help="measure the pixel 1-NN baselines")
    ap.add_argument("--directory", default=None, help="where the Omniglot zips are")
    ap.add_argument("--size", type=int, nargs="+", default=[28],
                    help="image side(s) after downsampling (default 28)")
    ap.add_argument("--center", action="store_true")
    ap.add_argument("--normalize", choices=["max"], default=None)
    ap.add_argument("--episodes", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=1, help="queries per class")
    ap.add_argument("--seed", type=int, default=0, help="episode seed")
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--n-test-alphabets", type=int, default=2)
    a = ap.parse_args(argv)
    for size in a.size:
        t = OmniglotTasks(a.directory, size, center=a.center, normalize=a.normalize,
                          n_test_alphabets=a.n_test_alphabets, split_seed=a.split_seed)
        c = t.counts()
        print(f"size {size}x{size}, center={a.center}, normalize={a.normalize}")
        print(f"  meta-train: {', '.join(t.train_alphabets)} ({c['train']['characters']} "
              f"characters)")
        print(f"  meta-test:  {', '.join(t.test_alphabets)} ({c['test']['characters']} "
              f"characters)")
        if not a.baselines:
            continue
        print(f"  pixel 1-NN, {a.episodes} episodes, {a.queries} query/class, seed "
              f"{a.seed} (95% CI over episodes):")
        for r in pixel_baselines(t, a.episodes, a.seed, a.queries, directory=a.directory):
            print(f"    {r['task']:<34} {r['metric']:<9} {100 * r['accuracy']:5.1f}% "
                  f"+- {100 * r['ci95']:4.1f}%  (n={r['n_episodes']})")
    return 0


if __name__ == "__main__":   # pragma: no cover
    sys.exit(main())
