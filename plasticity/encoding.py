"""Input coding for time-to-first-spike networks: difference-of-Gaussian filters and
intensity-to-latency coding (Kheradpisheh et al. 2018, section 2.1).

A spike wave is stored as first-spike times: an int16 array (N, C, H, W) whose value
is the time step 0 .. T-1 of each neuron's single spike, or T for "never fires". The
paper's cumulative wave of T packets, shape (T, C, H, W), is ``spike_wave(times, T)``
(``S[t] = times <= t``).

Example::

    from plasticity.encoding import dog_filter, latency_code
    on_off = dog_filter(images)                 # (N, 2, H, W), ON and OFF responses
    times = latency_code(on_off, T=30)           # (N, 2, H, W) int16, 30 = no spike
"""
import numpy as np

__all__ = ["dog_kernel", "check_dog_size", "dog_filter", "latency_code", "spike_wave", "to_float_images"]


def dog_kernel(size=7, sigma_center=1.0, sigma_surround=2.0):
    """ON-centre difference-of-Gaussian kernel (size x size), zero mean, peak 1
    (the normalisation SpykeTorch uses). Its negative is the OFF-centre kernel."""
    size = int(size)
    if size < 1 or size % 2 == 0:
        raise ValueError(f"DoG size must be a positive odd integer, got {size}")
    if not (sigma_center > 0 and sigma_surround > 0):
        raise ValueError("DoG sigmas must be > 0")
    h = size // 2
    y, x = np.mgrid[-h:h + 1, -h:h + 1].astype(np.float64)
    r2 = x * x + y * y
    g1 = np.exp(-r2 / (2 * sigma_center ** 2)) / (2 * np.pi * sigma_center ** 2)
    g2 = np.exp(-r2 / (2 * sigma_surround ** 2)) / (2 * np.pi * sigma_surround ** 2)
    k = g1 - g2
    k -= k.mean()
    m = np.abs(k).max()
    return k / m if m > 0 else k


def check_dog_size(size, image_shape):
    """Raise ValueError where a DoG kernel of ``size`` is wider than images of
    ``image_shape`` (H, W): beyond the image it would correlate only the border's
    reflections, and scipy's correlate ran out of memory (dog_size = 301 on 160 x 250
    images: a MemoryError inside the run). :func:`dog_filter` and
    :meth:`plasticity.conv.SpikingConvNet.check_image_shape` call it."""
    H, W = (int(x) for x in image_shape)
    if int(size) > min(H, W):
        raise ValueError(f"dog_size must be <= the images' smaller side ({min(H, W)} px "
                         f"of {H} x {W}), got {size}")


def to_float_images(X):
    """Images as float64 in [0, 1] (uint8 images are divided by 255)."""
    X = np.asarray(X)
    if X.dtype == np.uint8:
        return X.astype(np.float64) / 255.0
    return X.astype(np.float64, copy=False)


def dog_filter(images, size=7, sigma_center=1.0, sigma_surround=2.0, on=True, off=True,
               threshold=0.0, mode="reflect"):
    """ON/OFF DoG responses of grayscale images (N, H, W) -> (N, C, H, W) float64,
    C = on + off, negative parts and values below ``threshold`` set to 0.

    Images are correlated with the kernel ("same" size); ``mode`` extends the image
    beyond its border (scipy.ndimage modes; the default "reflect" gives no response
    along the border of a uniform image, whereas "constant" zero padding makes every
    bright border a strong edge). uint8 images are scaled to [0, 1].
    """
    from scipy.ndimage import correlate
    X = to_float_images(images)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise ValueError(f"images must be (N, H, W), got shape {X.shape}")
    if not (on or off):
        raise ValueError("at least one of on/off must be true")
    k = dog_kernel(size, sigma_center, sigma_surround)
    check_dog_size(size, X.shape[1:])
    resp = correlate(X, k[None], mode=mode, cval=0.0)
    chans = []
    if on:
        chans.append(resp)
    if off:
        chans.append(-resp)
    out = np.stack(chans, axis=1)
    out[out < max(threshold, 0.0)] = 0.0
    out[out < 0] = 0.0
    return out


def latency_code(intensities, T=30, threshold=0.0):
    """Intensity-to-latency coding: (N, C, H, W) non-negative values -> first-spike
    times (N, C, H, W) int16 in 0 .. T-1, T = no spike.

    Per image, the inputs with value > ``threshold`` fire, in decreasing order of value
    (latency = 1 / intensity; equal values in flat-index order), grouped in rank order
    into T packets of equal size (sizes differ by at most one): the input of rank i
    among n firing inputs fires at step floor(i T / n).
    """
    A = np.asarray(intensities, dtype=np.float64)
    if A.ndim == 3:
        A = A[None]
    if A.ndim != 4:
        raise ValueError(f"intensities must be (N, C, H, W), got shape {A.shape}")
    T = int(T)
    if not 1 <= T <= 32000:
        raise ValueError(f"T must be in [1, 32000], got {T}")
    N = A.shape[0]
    flat = A.reshape(N, -1)
    M = flat.shape[1]
    order = np.argsort(-flat, axis=1, kind="stable")
    n = (flat > threshold).sum(axis=1)                       # firing inputs per image
    rank = np.arange(M)[None, :]
    t_sorted = (rank * T) // np.maximum(n, 1)[:, None]
    t_sorted = np.where(rank < n[:, None], t_sorted, T).astype(np.int16)
    times = np.empty((N, M), dtype=np.int16)
    np.put_along_axis(times, order, t_sorted, axis=1)
    return times.reshape(A.shape)


def spike_wave(times, T):
    """Cumulative spike wave (T, C, H, W) bool of one image's times (C, H, W)
    (or (T, N, C, H, W) of a batch): S[t] = times <= t."""
    times = np.asarray(times)
    t = np.arange(int(T)).reshape((-1,) + (1,) * times.ndim)
    return times[None] <= t
