"""Batch operations of convolutional spiking layers, on first-spike-time arrays.

Thin wrappers over the GIL-free kernels in ``plasticity._ext.conv``: they allocate the
outputs and convert layouts; the kernels share the work out over threads (OpenMP:
images in parallel where the weights do not change, each image's output rows in
``train_layer``; the same numbers for any number of threads).
Kernels are given in the usual (F, C, kh, kw) layout; times are int16 (N, C, H, W),
``T`` meaning no spike.
"""
import warnings

import numpy as np

from .._ext import conv as _k
from ..network import available_cores, default_threads
from .._validation import check_int

__all__ = ["conv_forward", "pool_first", "winners", "stdp_update", "train_layer",
           "global_max", "grid_max", "out_size", "stdp_params", "n_threads", "kernels_internal",
           "kernels_external"]


def n_threads(threads=None):
    """Threads to use: ``threads`` (an integer >= 1), or where None as a ``Network``
    takes it (``plasticity.network.default_threads``: ``PLASTICITY_THREADS`` if set,
    else every core the process may use). An upper bound, as a ``Network``'s: at most
    one thread per core the process may use (``available_cores``; the kernels also
    take at most one per image or row), so ``threads=2**31`` is the machine's cores
    (it was an OverflowError in the kernels, and a team of one thread per image
    before that). A build without OpenMP runs on one thread (with a warning when
    more were asked for)."""
    n = default_threads() if threads is None else check_int("threads", threads, 1)
    if n > 1 and not _k.openmp_available():
        warnings.warn(f"plasticity was built without OpenMP: the conv kernels run on 1 "
                      f"thread instead of {n}", RuntimeWarning, stacklevel=3)
        return 1
    return min(n, available_cores())


def kernels_internal(weights):
    """(F, C, kh, kw) -> the kernels' layout (C, kh, kw, F) float32 C-contiguous, a new
    array (never a view of ``weights``: the training kernels update it in place)."""
    return np.transpose(np.asarray(weights, np.float32), (1, 2, 3, 0)).copy(order="C")


def kernels_external(wt):
    """(C, kh, kw, F) -> (F, C, kh, kw)."""
    return np.ascontiguousarray(np.transpose(wt, (3, 0, 1, 2)))


def stdp_params(a_plus, a_minus):
    """The rule library's STDP kernel parameters for the w(1-w) rule on [0, 1].

    ``a_minus`` is the paper's signed depression amplitude (< 0); the rule library
    takes magnitudes: dw = +a_plus w(1-w) (input before or with the winner) or
    -|a_minus| w(1-w)."""
    from ..rules.stdp import STDP, Kheradpisheh, Pair
    rule = STDP(Pair(1.0, 1.0, float(a_plus), abs(float(a_minus))), Kheradpisheh(0.0, 1.0))
    return rule.kernel_parameters(1.0)


_T_MAX = np.iinfo(np.int16).max


def _as_times(times, batch=True):
    """Spike steps as the kernels' int16 array (a batch (N, C, H, W) if ``batch``; one
    image (C, H, W) is made a batch of one). Refused before any work: non-integer or
    non-finite values, and steps outside [0, 32767] (a negative step would index
    before the kernels' time buckets; a step >= T means no spike)."""
    t = np.asarray(times)
    if t.dtype == bool or not (np.issubdtype(t.dtype, np.integer)
                               or np.issubdtype(t.dtype, np.floating)):
        raise TypeError(f"times must be integer spike steps, got dtype {t.dtype}")
    if t.size:
        if np.issubdtype(t.dtype, np.floating):
            bad = ~np.isfinite(t) | (t != np.round(t))
            if bad.any():
                raise ValueError(f"times must be whole spike steps, got "
                                 f"{t.flat[np.flatnonzero(bad)[0]].item()!r}")
        lo, hi = t.min(), t.max()
        if lo < 0 or hi > _T_MAX:
            v = (lo if lo < 0 else hi).item()
            raise ValueError(f"times must lie in [0, {_T_MAX}] (a step >= T: no spike), "
                             f"got {v!r}")
    if batch and t.ndim == 3:
        t = t[None]
    return np.ascontiguousarray(t, dtype=np.int16)


def conv_forward(times, weights, threshold, T, pad=0, inhibit=True, threads=None,
                 internal=False, potentials=True):
    """A conv layer of non-leaky IF neurons over all T steps, for a batch.

    Returns ``(times_out, potentials)`` of shape (N, F, Ho, Wo): first-spike steps
    (T = none; after pointwise lateral inhibition if ``inhibit``) and potentials (at
    the spike step for neurons that fired, otherwise the final potential V(T-1)).
    ``threshold=np.inf`` gives the final potentials of all neurons;
    ``potentials=False`` returns ``(times_out, None)`` (the same times, no array of
    potentials filled). The images are shared out over ``threads`` threads (see
    ``n_threads``)."""
    nt = n_threads(threads)
    tin = _as_times(times)
    wt = np.ascontiguousarray(weights, np.float32) if internal else kernels_internal(weights)
    N, C, H, W = tin.shape
    _, kh, kw, F = wt.shape
    Ho, Wo = _k.out_shape(H, W, kh, kw, pad)
    if Ho < 1 or Wo < 1:
        raise ValueError(f"a {kh}x{kw} kernel with padding {pad} does not fit an input of "
                         f"{H}x{W}: the images are too small for this architecture")
    tout = np.empty((N, F, Ho, Wo), np.int16)
    # potentials=False: (times, None), the same times without filling an array of
    # potentials nobody reads (propagating to a later layer)
    vout = np.empty((N, F, Ho, Wo), np.float32) if potentials else None
    _k.forward(tin, wt, float(threshold), int(T), int(pad), bool(inhibit), tout, vout, nt)
    return tout, vout


def out_size(n, size, stride=1, pad=0):
    """Output length of a window ``size`` sliding by ``stride`` over ``n`` positions
    padded by ``pad`` on each side (a conv layer is stride 1)."""
    return (n + 2 * pad - size) // stride + 1


def pool_first(times, size, stride=None, pad=0, threads=None):
    """First-spike pooling (earliest spike in each window), (N, C, H, W) -> (N, C, Ho, Wo)."""
    nt = n_threads(threads)
    tin = _as_times(times)
    stride = size if stride is None else stride
    N, C, H, W = tin.shape
    Ho, Wo = out_size(H, size, stride, pad), out_size(W, size, stride, pad)
    out = np.empty((N, C, max(Ho, 0), max(Wo, 0)), np.int16)
    _k.pool_first(tin, int(size), int(stride), int(pad), out, nt)
    return out


def winners(times, potentials, T, k, r):
    """k winners of one image's layer output (F, Ho, Wo): (n, 4) int32 rows
    (map, y, x, t), earliest spike first (ties: highest potential, then lowest flat
    index); each winner inhibits its map and a (2r+1)^2 neighbourhood in all maps."""
    return _k.winners(_as_times(times, batch=False),
                      np.ascontiguousarray(potentials, np.float32), int(T), int(k), int(r))


def stdp_update(times_in, weights, win, pad, T, a_plus, a_minus):
    """New kernels (F, C, kh, kw) after the STDP update of winners ``win`` for one
    image's input times (C, H, W) (winners applied one after the other)."""
    wt = kernels_internal(weights)
    _k.stdp_update(_as_times(times_in, batch=False), wt,
                   np.ascontiguousarray(win, np.int32).reshape(-1, 4), int(pad), int(T),
                   stdp_params(a_plus, a_minus))
    return kernels_external(wt)


def train_layer(times, wt, threshold, T, pad, k, r, a_plus, a_minus, threads=None):
    """Present a batch of images (N, C, H, W) one after the other to a conv layer with
    kernels ``wt`` in the internal (C, kh, kw, F) float32 layout, updated in place.
    Returns the number of winners per image. Each image is shared out over ``threads``
    threads (its output rows; see ``n_threads``): the same kernels
    and winners for any number."""
    nt = n_threads(threads)
    tin = _as_times(times)
    nw = np.zeros(tin.shape[0], np.int32)
    _k.train(tin, wt, float(threshold), int(T), int(pad), int(k), int(r),
             stdp_params(a_plus, a_minus), nw, nt)
    return nw


def grid_max(potentials, g, threads=None):
    """Max pooling of potentials (N, F, H, W) over a g x g grid of cells -> (N, F g^2)
    (map-major, cells row-major; the cells split H and W as ``np.array_split`` does).
    g = 1 is the global maximum."""
    if g == 1:
        return global_max(potentials, threads)
    v = np.asarray(potentials)
    if not 1 <= g <= min(v.shape[2], v.shape[3]):
        raise ValueError(f"g must be in [1, {min(v.shape[2], v.shape[3])}] for maps of "
                         f"{v.shape[2]} x {v.shape[3]}, got {g}")
    ey = [c[0] for c in np.array_split(np.arange(v.shape[2]), g)]
    ex = [c[0] for c in np.array_split(np.arange(v.shape[3]), g)]
    m = np.maximum.reduceat(np.maximum.reduceat(v, ey, axis=2), ex, axis=3)
    return m.reshape(m.shape[0], -1)


def global_max(potentials, threads=None):
    """Global max pooling of potentials (N, F, H, W) -> (N, F) float32."""
    nt = n_threads(threads)
    v = np.ascontiguousarray(potentials, np.float32)
    out = np.empty(v.shape[:2], np.float32)
    _k.global_max(v, out, nt)
    return out
