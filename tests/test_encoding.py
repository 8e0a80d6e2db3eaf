"""DoG filters and intensity-to-latency coding against plain NumPy references."""
import numpy as np
import pytest

from plasticity.encoding import dog_filter, dog_kernel, latency_code, spike_wave

import conv_reference as R


def test_dog_kernel_zero_mean_peak_one_centre_positive():
    k = dog_kernel(7, 1.0, 2.0)
    assert k.shape == (7, 7)
    assert abs(k.mean()) < 1e-12
    assert k[3, 3] == pytest.approx(1.0)
    assert np.allclose(k, k.T) and np.allclose(k, k[::-1])
    with pytest.raises(ValueError):
        dog_kernel(6)


def test_dog_filter_matches_direct_correlation():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (2, 9, 11)).astype(np.uint8)
    k = dog_kernel(5, 1.0, 2.0)
    out = dog_filter(img, 5, 1.0, 2.0, threshold=0.1, mode="constant")
    x = np.pad(img / 255.0, ((0, 0), (2, 2), (2, 2)))
    ref = np.zeros((2, 9, 11))
    for dy in range(5):
        for dx in range(5):
            ref += k[dy, dx] * x[:, dy:dy + 9, dx:dx + 11]
    on, off = ref.copy(), -ref
    on[on < 0.1] = 0
    off[off < 0.1] = 0
    assert out.shape == (2, 2, 9, 11)
    assert np.allclose(out[:, 0], on) and np.allclose(out[:, 1], off)
    # ON and OFF never both respond at one pixel
    assert not np.any((out[:, 0] > 0) & (out[:, 1] > 0))


def test_dog_filter_uniform_image_has_no_border_response():
    img = np.full((1, 12, 12), 200, np.uint8)
    assert np.all(dog_filter(img, 7) < 1e-9)
    assert dog_filter(img, 7, mode="constant").max() > 0.5   # zero padding: borders


@pytest.mark.parametrize("T", [1, 4, 30])
def test_latency_code_matches_reference(T):
    rng = np.random.default_rng(T)
    vals = rng.random((5, 2, 6, 7))
    vals[vals < 0.4] = 0.0
    vals[0, 0, 0, :3] = 0.9          # ties: flat-index order
    times = latency_code(vals, T)
    assert times.dtype == np.int16 and times.shape == vals.shape
    for i in range(5):
        assert np.array_equal(times[i], R.latency_code(vals[i], T))


def test_latency_code_properties():
    rng = np.random.default_rng(1)
    vals = rng.random((3, 2, 8, 8))
    vals[vals < 0.5] = 0
    T = 7
    times = latency_code(vals, T)
    for v, t in zip(vals, times):
        fired = t < T
        assert np.array_equal(fired, v > 0)              # exactly the positive inputs
        sizes = np.bincount(t[fired], minlength=T)
        assert sizes.max() - sizes.min() <= 1            # T equal-size packets
        # stronger inputs never fire later (latency = 1 / intensity)
        f = v[fired]
        tt = t[fired]
        o = np.argsort(-f, kind="stable")
        assert np.all(np.diff(tt[o]) >= 0)
    wave = spike_wave(times[0], T)
    assert wave.shape == (T, 2, 8, 8)
    assert np.all(wave[1:] >= wave[:-1])                 # cumulative
    assert np.array_equal(wave[-1], times[0] < T)


def test_latency_code_empty_image():
    t = latency_code(np.zeros((1, 2, 3, 3)), 5)
    assert np.all(t == 5)


def test_a_dog_kernel_wider_than_the_images_is_refused():
    """Beyond the image it correlates only reflections (and scipy's correlate ran out
    of memory: kheradpisheh_caltech dog_size = 301 on 160 x 250 images)."""
    with pytest.raises(ValueError, match=r"dog_size must be <= the images' smaller side "
                                         r"\(8 px of 8 x 12\), got 9"):
        dog_filter(np.zeros((1, 8, 12)), size=9)
    assert dog_filter(np.zeros((1, 8, 12)), size=7).shape == (1, 2, 8, 12)
