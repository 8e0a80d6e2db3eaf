"""_ext/_exp.h's exp (LIFCond's exponential Euler step): the scalar and the AVX-512
forms give the same bits, both equal a NumPy twin of the same operations, and the
error is at most 1 ulp against a long-double reference."""
import math

import numpy as np
import pytest

from plasticity._ext import neurons

INV_LN2 = 1.4426950408889634074
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
SHIFT = 6755399441055744.0
COEFFS = [1.0 / math.factorial(n) for n in range(13, 1, -1)]  # 1/13! .. 1/2!


def exp_twin(x):
    """The algorithm of _exp.h in NumPy float64 (one IEEE operation per ufunc)."""
    x = np.asarray(x, dtype=np.float64)
    lo = ~(x > -745.2)
    hi = x > 709.782712893383973096
    xs = np.where(lo | hi, 0.0, x)
    kd = (xs * INV_LN2 + SHIFT) - SHIFT
    r = (xs - kd * LN2_HI) - kd * LN2_LO
    p = np.full_like(r, COEFFS[0])
    for c in COEFFS[1:]:
        p = c + r * p
    e = 1.0 + (r + (r * r) * p)
    k = kd.astype(np.int64)
    k1 = np.trunc(k / 2).astype(np.int64)  # C's division: toward zero
    pow2 = lambda m: ((m + 1023).astype(np.uint64) << np.uint64(52)).view(np.float64)  # noqa: E731
    out = (e * pow2(k1)) * pow2(k - k1)
    out = np.where(lo, 0.0, out)
    out = np.where(hi, np.inf, out)
    return np.where(np.isnan(x), x, out)


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    parts = [rng.uniform(-5.0, 0.0, 200_000),          # LIFCond's -dt g / C
             rng.uniform(-745.3, 709.9, 200_000),      # the whole range
             rng.uniform(-1e-8, 1e-8, 10_000),
             rng.uniform(-745.2, -708.0, 20_000),      # subnormal results
             rng.uniform(700.0, 709.79, 20_000),
             np.ldexp(rng.uniform(-1, 1, 10_000), rng.integers(-1074, 10, 10_000)),
             np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 709.782712893383973096,
                       np.nextafter(709.782712893383973096, np.inf), -745.2,
                       np.nextafter(-745.2, np.inf), -745.13321910194122, -746.0,
                       5e-324, -5e-324, 1.0, -1.0, math.log(2) / 2, -math.log(2) / 2])]
    return np.concatenate(parts)


def test_scalar_equals_numpy_twin():
    x = _inputs(1)
    np.testing.assert_array_equal(neurons.exp_array(x), exp_twin(x))


def test_vector_form_equals_scalar_form():
    # blocks of 8 take the AVX-512 form (where the CPU has it), the tail the scalar one
    x = _inputs(2)
    for start in range(8):  # every alignment of the special values within a block
        xs = x[start:]
        np.testing.assert_array_equal(neurons.exp_array(xs, vector=True),
                                      neurons.exp_array(xs))


def test_twin_detects_a_changed_operation():
    # the comparison above can fail: one coefficient off in its last bit changes bits
    x = _inputs(3)[:200_000]
    old = COEFFS[-2]
    try:
        COEFFS[-2] = np.nextafter(old, 1.0)
        assert not np.array_equal(exp_twin(x), neurons.exp_array(x))
    finally:
        COEFFS[-2] = old


@pytest.mark.skipif(np.finfo(np.longdouble).nmant <= 52,
                    reason="no extended-precision long double for the reference")
def test_error_is_at_most_one_ulp():
    x = _inputs(4)
    got = neurons.exp_array(x)
    with np.errstate(over="ignore", under="ignore"):
        ref = np.exp(x.astype(np.longdouble))
    normal = np.isfinite(x) & (ref >= np.finfo(np.float64).tiny) & (ref <= np.finfo(np.float64).max)
    ulp = np.abs((got[normal].astype(np.longdouble) - ref[normal])
                 / np.spacing(got[normal]).astype(np.longdouble))
    assert float(ulp.max()) <= 1.0
    assert float(ulp.mean()) < 0.35
    # subnormal results: within one unit of the smallest subnormal
    sub = np.isfinite(x) & (ref < np.finfo(np.float64).tiny) & (ref > 0)
    assert sub.sum() > 1000
    assert float(np.max(np.abs(got[sub] - ref[sub]))) <= 5e-324


def test_special_values():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, -746.0, 710.0, -745.3])
    for vector in (False, True):
        y = neurons.exp_array(np.tile(x, 2), vector=vector)[:8]
        assert np.isnan(y[0])
        assert y[1] == np.inf and y[6] == np.inf
        assert y[2] == 0.0 and y[5] == 0.0 and y[7] == 0.0
        assert y[3] == 1.0 and y[4] == 1.0
