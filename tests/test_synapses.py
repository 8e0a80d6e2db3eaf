"""SynapseMatrix: compiled kernels against NumPy references, builders, round trips,
validation messages. Layout contract: docs/internals.md."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

from plasticity._ext import synapses as _k
from plasticity.synapses import MAX_NNZ, SynapseMatrix as SM


# ---------------------------------------------------------------------------
# helpers and NumPy references
# ---------------------------------------------------------------------------
def random_csr(rng, n_pre, n_post, density, dtype=np.float32):
    """(indptr int64, indices int32, weights) of a random valid CSR structure."""
    mask = rng.random((n_pre, n_post)) < density
    rows, cols = np.nonzero(mask)
    indptr = np.zeros(n_pre + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_pre), out=indptr[1:])
    w = rng.normal(size=rows.size).astype(dtype)
    return indptr, cols.astype(np.int32), w


def ref_post_index(indptr, indices, n_post):
    pre = np.repeat(np.arange(indptr.size - 1), np.diff(indptr))
    order = np.argsort(indices, kind="stable")
    ptr = np.zeros(n_post + 1, np.int64)
    np.cumsum(np.bincount(indices, minlength=n_post), out=ptr[1:])
    return ptr, order.astype(np.int32), pre[order].astype(np.int32)


def ref_normalize(indices, weights, n_post, target):
    w64 = weights.astype(np.float64)
    # bincount adds in ascending synapse order, like the kernel
    colsum = np.bincount(indices, weights=w64, minlength=n_post)
    scale = np.ones(n_post)
    nz = colsum != 0
    scale[nz] = target / colsum[nz]
    return (w64 * scale[indices]).astype(weights.dtype)


def ref_first_unordered(indptr, indices):
    for i in range(indptr.size - 1):
        for s in range(indptr[i] + 1, indptr[i + 1]):
            if indices[s] <= indices[s - 1]:
                return s
    return -1


def assert_layout(m):
    """Every structural invariant of docs/internals.md, checked independently."""
    assert m.indptr.dtype == np.int64 and m.indptr.shape == (m.n_pre + 1,)
    assert m.indices.dtype == np.int32 and m.post_syn.dtype == np.int32
    assert m.post_pre.dtype == np.int32 and m.post_ptr.dtype == np.int64
    assert m.weights.dtype in (np.float32, np.float64)
    for a in (m.indptr, m.indices, m.weights, m.post_ptr, m.post_syn, m.post_pre):
        assert a.flags.c_contiguous
    assert m.indptr[0] == 0 and m.indptr[-1] == m.nnz
    assert np.all(np.diff(m.indptr) >= 0)
    if m.nnz:
        assert m.indices.min() >= 0 and m.indices.max() < m.n_post
    pre = m.pre_ids()
    starts = np.r_[True, pre[1:] != pre[:-1]] if m.nnz else np.zeros(0, bool)
    assert np.all(np.diff(m.indices.astype(np.int64))[~starts[1:]] > 0)
    ptr, syn, ppre = ref_post_index(m.indptr, m.indices, m.n_post)
    np.testing.assert_array_equal(m.post_ptr, ptr)
    np.testing.assert_array_equal(m.post_syn, syn)
    np.testing.assert_array_equal(m.post_pre, ppre)


# ---------------------------------------------------------------------------
# compiled kernels vs references
# ---------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(n_pre=st.integers(0, 30), n_post=st.integers(0, 30),
       density=st.floats(0, 1), seed=st.integers(0, 2**32 - 1))
def test_post_index_matches_reference(n_pre, n_post, density, seed):
    indptr, indices, w = random_csr(np.random.default_rng(seed), n_pre, n_post, density)
    ptr, syn, pre = _k._build_post_index(indptr, indices, n_post)
    rptr, rsyn, rpre = ref_post_index(indptr, indices, n_post)
    np.testing.assert_array_equal(ptr, rptr)
    np.testing.assert_array_equal(syn, rsyn)
    np.testing.assert_array_equal(pre, rpre)
    # and it is what the class stores
    m = SM(indptr, indices, w, (n_pre, n_post))
    np.testing.assert_array_equal(m.post_syn, rsyn)


def test_post_index_large_random():
    rng = np.random.default_rng(7)
    indptr, indices, w = random_csr(rng, 400, 300, 0.2)
    m = SM(indptr, indices, w, (400, 300))
    assert_layout(m)
    # every synapse appears exactly once in the post index
    np.testing.assert_array_equal(np.sort(m.post_syn), np.arange(m.nnz))
    np.testing.assert_array_equal(m.indices[m.post_syn],
                                  np.repeat(np.arange(300), np.diff(m.post_ptr)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(8))
def test_normalize_columns_matches_reference(dtype, seed):
    rng = np.random.default_rng(seed)
    n_pre, n_post = rng.integers(1, 60, size=2)
    indptr, indices, w = random_csr(rng, n_pre, n_post, rng.random(), dtype)
    w = np.abs(w)
    if w.size:
        w[indices == indices[0]] = 0.0  # a column summing to zero stays untouched
    target = float(rng.uniform(0.5, 100))
    m = SM(indptr, indices, w.copy(), (n_pre, n_post))
    expected = ref_normalize(indices, w, n_post, target)
    m.normalize_columns(target)
    np.testing.assert_array_equal(m.weights, expected)
    colsum = np.bincount(indices, weights=m.weights.astype(np.float64),
                         minlength=n_post)
    orig = np.bincount(indices, weights=w.astype(np.float64), minlength=n_post)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(colsum[orig != 0], target, rtol=rtol)
    assert np.all(colsum[orig == 0] == 0)
    assert m.weights.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_columns_contiguous_rows_match_reference(dtype):
    # rows that are one contiguous run of columns (walked without the indirection:
    # whole rows, runs starting past column 0, single synapses) mixed with rows that
    # have gaps and empty rows, and a zero column inside a run: bit for bit the
    # reference (column sums in ascending synapse order)
    rng = np.random.default_rng(21)
    n_post = 157
    rows = []
    for i in range(90):
        kind = i % 5
        if kind == 0:
            cols = np.arange(n_post)
        elif kind == 1:
            a = rng.integers(0, n_post)
            cols = np.arange(a, rng.integers(a + 1, n_post + 1))
        elif kind == 2:
            cols = np.sort(rng.choice(n_post, rng.integers(2, n_post), replace=False))
            if cols[-1] - cols[0] == cols.size - 1:      # make sure it has a gap
                cols = np.delete(cols, cols.size // 2)
        elif kind == 3:
            cols = np.array([rng.integers(0, n_post)])
        else:
            cols = np.array([], dtype=np.int64)
        rows.append(cols)
    indptr = np.zeros(len(rows) + 1, np.int64)
    indptr[1:] = np.cumsum([r.size for r in rows])
    indices = np.concatenate(rows).astype(np.int32)
    w = rng.uniform(0.0, 1.0, indices.size).astype(dtype)
    # a column summing to 0 inside runs (left untouched, not scaled by 0)
    col = np.flatnonzero(indices == 77)
    assert col.size >= 2
    w[col] = 0.0
    w[col[0]], w[col[-1]] = 0.25, -0.25
    target = 78.0
    m = SM(indptr, indices, w.copy(), (len(rows), n_post))
    expected = ref_normalize(indices, w, n_post, target)
    # the kernel itself: normalize_columns refuses the mixed-sign column first
    _k._normalize_columns(m.indptr, m.indices, m.n_post, m.weights, target)
    np.testing.assert_array_equal(m.weights, expected)
    np.testing.assert_array_equal(m.weights[col], w[col])
    with pytest.raises(ValueError, match="onto post neuron 77 have both signs"):
        SM(indptr, indices, w.copy(), (len(rows), n_post)).normalize_columns(target)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_columns_refuses_what_is_not_a_normalisation(dtype):
    """Refused before any weight changes, naming the column: weights of both signs
    onto a neuron (a sum near 0 made inf weights), a target of the other sign than
    a column's weights (flipped them silently), a target beyond the dtype (inf
    weights). Columns of one sign each, of either sign, scale as before."""
    W = np.array([[1.0, -2.0, 0.0], [3.0, -1.0, 0.0]])
    m = SM.from_dense(W, mask=np.ones_like(W, bool), dtype=dtype)
    before = m.weights.copy()
    with pytest.raises(ValueError, match=r"target must have the sign of the weights it "
                                         r"scales, got 1.0 for the negative weights "
                                         r"onto post neuron 1 \(1 of 3 columns so\)"):
        m.normalize_columns(1.0)
    with pytest.raises(ValueError, match=r"got -1.0 for the positive weights onto post "
                                         r"neuron 0"):
        m.normalize_columns(-1.0)
    with pytest.raises(ValueError, match=r"target must be != 0 .* got 0.0"):
        m.normalize_columns(0.0)            # was silently no change at all
    np.testing.assert_array_equal(m.weights, before)
    pos = SM.from_dense(np.abs(W), mask=np.ones_like(W, bool), dtype=dtype)
    with pytest.raises(ValueError, match=r"got -78.0 for the positive weights onto post "
                                         r"neuron 0 \(2 of 3 columns so\)"):
        pos.normalize_columns(-78.0)
    mixed = SM.from_dense([[1.0, 2.0], [-1.0 + 1e-6, 3.0]], dtype=dtype)
    w0 = mixed.weights.copy()
    with pytest.raises(ValueError, match=r"onto post neuron 0 have both signs .* 1 of 2 "
                                         r"columns so"):
        mixed.normalize_columns(78.0)
    np.testing.assert_array_equal(mixed.weights, w0)      # untouched
    if dtype == np.float32:                 # float64: any finite target fits
        with pytest.raises(ValueError, match=r"target must be within the float32 "
                                             r"weights' range .* got 1e\+39"):
            pos.normalize_columns(1e39)
    # one sign per column, both signs in the matrix: each scaled to the target's sign
    neg = SM.from_dense(-np.abs(W), mask=np.ones_like(W, bool), dtype=dtype)
    neg.normalize_columns(-2.0)
    np.testing.assert_allclose(np.bincount(neg.indices, neg.weights)[:2], -2.0,
                               rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("threads", [2, 3, 7])
def test_normalize_columns_on_threads_identical(dtype, threads, monkeypatch):
    """Each thread on its own range of columns (rows contiguous, gapped, cut by the
    ranges anywhere): bit for bit the one-thread numbers and the reference."""
    import plasticity.synapses as synapses_module
    monkeypatch.setattr(synapses_module, "_PAR_MIN", 1)     # threads even here
    rng = np.random.default_rng(threads)
    n_pre, n_post = 70, 61
    rows = []
    for i in range(n_pre):
        if i % 3 == 0:
            a = rng.integers(0, n_post)
            rows.append(np.arange(a, rng.integers(a + 1, n_post + 1)))
        elif i % 3 == 1:
            rows.append(np.sort(rng.choice(n_post, rng.integers(0, n_post),
                                           replace=False)))
        else:
            rows.append(np.arange(n_post))
    indptr = np.zeros(n_pre + 1, np.int64)
    indptr[1:] = np.cumsum([r.size for r in rows])
    indices = np.concatenate(rows).astype(np.int32)
    w = rng.uniform(0.0, 1.0, indices.size).astype(dtype)
    one = SM(indptr, indices, w.copy(), (n_pre, n_post))
    many = SM(indptr, indices, w.copy(), (n_pre, n_post))
    one.normalize_columns(78.0)
    many.normalize_columns(78.0, threads=threads)
    np.testing.assert_array_equal(many.weights, one.weights)
    np.testing.assert_array_equal(many.weights, ref_normalize(indices, w, n_post, 78.0))
    with pytest.raises(ValueError, match="threads must be"):
        many.normalize_columns(78.0, threads=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_first_nonfinite_on_threads(dtype, monkeypatch):
    import plasticity.synapses as synapses_module
    monkeypatch.setattr(synapses_module, "_PAR_MIN", 1)
    rng = np.random.default_rng(5)
    w = rng.normal(size=3001).astype(dtype)
    for threads in (1, 2, 3, 7):
        assert synapses_module.first_nonfinite(w, threads) == -1
        for pos in (0, 428, 429, 1500, 3000):
            v = w.copy()
            v[pos] = np.nan
            v[rng.integers(pos, v.size, 4)] = np.inf      # later ones: not reported
            assert synapses_module.first_nonfinite(v, threads) == pos


def test_normalize_columns_diehl_cook_example():
    W = np.array([[1.0, 0.0, 0.0], [3.0, 0.0, 2.0]])
    m = SM.from_dense(W, mask=np.array([[1, 1, 0], [1, 0, 1]], bool), dtype=np.float64)
    m.normalize_columns(78.0)
    np.testing.assert_array_equal(m.to_dense(), [[19.5, 0, 0], [58.5, 0, 78.0]])
    with pytest.raises(ValueError, match="target must be finite, got nan"):
        m.normalize_columns(float("nan"))


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(st.integers(0, 9), max_size=6), max_size=6))
def test_check_order_kernel_matches_reference(rows):
    indptr = np.zeros(len(rows) + 1, np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    indices = np.array([v for r in rows for v in r], np.int32)
    assert _k._check_order(indptr, indices) == ref_first_unordered(indptr, indices)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_check_finite_kernel_matches_reference(dtype):
    rng = np.random.default_rng(3)
    for _ in range(30):
        w = rng.normal(size=rng.integers(0, 40)).astype(dtype)
        for pos in rng.integers(0, max(w.size, 1), size=rng.integers(0, 3)):
            if w.size:
                w[pos] = rng.choice([np.nan, np.inf, -np.inf])
        bad = np.flatnonzero(~np.isfinite(w))
        assert _k._check_finite(w) == (bad[0] if bad.size else -1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_check_finite_kernel_blocks(dtype):
    # arrays of several of the kernel's blocks (1024 values, tested without a branch
    # per value): the first non-finite value at and around block edges, with later
    # ones after it; the extremes of the finite range are finite
    rng = np.random.default_rng(4)
    info = np.finfo(dtype)
    base = rng.normal(size=5000).astype(dtype)
    base[[10, 1500, 4999]] = [info.max, -info.max, info.tiny / 4]   # max, subnormal
    base[20] = -0.0
    assert _k._check_finite(base) == -1
    for pos in (0, 1, 1022, 1023, 1024, 1025, 2047, 2048, 3071, 4095, 4096, 4999):
        for bad in (np.nan, np.inf, -np.inf):
            w = base.copy()
            w[pos] = bad
            later = rng.integers(pos, w.size, size=3)
            w[later] = rng.choice([np.nan, np.inf, -np.inf], size=3)
            assert _k._check_finite(w) == pos
            assert _k._check_finite(w[pos + 1:]) == (np.flatnonzero(
                ~np.isfinite(w[pos + 1:]))[:1].tolist() or [-1])[0]
    # a NaN with a payload, and the smallest non-finite bit patterns
    bits = np.uint64 if dtype == np.float64 else np.uint32
    exp_mask = 0x7FF0000000000000 if dtype == np.float64 else 0x7F800000
    for pattern in (exp_mask | 1, exp_mask, exp_mask | (1 << (info.bits - 1))):
        w = base.copy()
        w.view(bits)[3000] = bits(pattern)
        assert _k._check_finite(w) == 3000


def test_max_delay_is_cached_per_delays_array():
    d = np.array([3, 0, 9, 2], np.int32)
    m = SM.from_dense(np.ones((2, 2)), dtype=np.float64, delay=d)
    assert m._max_delay() == 9 == m._max_delay()
    c = m.copy()
    assert c._max_delay() == 9
    m2 = SM.from_dense(np.ones((2, 2)), dtype=np.float64,
                       delay=np.array([1, 4, 0, 2], np.int32))
    assert m2._max_delay() == 4
    empty = SM.from_dense(np.zeros((2, 2)), dtype=np.float64)
    empty._delays = np.zeros(0, np.int32)      # no synapses: 0
    assert empty._max_delay() == 0


@pytest.mark.parametrize("allow_self", [True, False])
def test_csr_from_flat_kernel_matches_reference(allow_self):
    rng = np.random.default_rng(11)
    for _ in range(20):
        n_pre, n_post = rng.integers(1, 20, size=2)
        flat = np.flatnonzero(rng.random(n_pre * n_post) < 0.3).astype(np.int64)
        indptr, indices = _k._csr_from_flat(flat, n_pre, n_post, allow_self)
        i, j = flat // n_post, flat % n_post
        keep = (i != j) | allow_self
        np.testing.assert_array_equal(indices, j[keep])
        np.testing.assert_array_equal(
            indptr, np.r_[0, np.cumsum(np.bincount(i[keep], minlength=n_pre))])


# ---------------------------------------------------------------------------
# constructor, attributes
# ---------------------------------------------------------------------------
def test_small_example_and_attributes():
    m = SM([0, 2, 3], [0, 2, 1], [0.5, 1.0, 2.0], shape=(2, 3))
    assert m.shape == (2, 3) and m.n_pre == 2 and m.n_post == 3 and m.nnz == 3
    assert m.dtype == np.float32
    assert m.post_ptr.tolist() == [0, 1, 2, 3]
    assert m.post_syn.tolist() == [0, 2, 1] and m.post_pre.tolist() == [0, 1, 0]
    assert m.pre_ids().tolist() == [0, 0, 1] and m.pre_ids().dtype == np.int32
    assert m.delays is None and m.delay == 0
    np.testing.assert_array_equal(m.to_dense(), [[0.5, 0, 1.0], [0, 2.0, 0]])
    assert "nnz=3" in repr(m)


def test_dtype_rules():
    w64 = np.array([1.0, 2.0])
    assert SM([0, 2], [0, 1], w64, (1, 2)).dtype == np.float64
    assert SM([0, 2], [0, 1], w64, (1, 2), dtype=np.float32).dtype == np.float32
    assert SM([0, 2], [0, 1], w64.astype(np.float16), (1, 2)).dtype == np.float32
    assert SM([0, 2], [0, 1], [1.0, 2.0], (1, 2)).dtype == np.float32


def test_int_widths_cast_when_values_fit():
    m = SM(np.array([0, 1, 2], np.uint8), np.array([1, 0], np.int64),
           np.array([1.0, 2.0], np.float32), (2, 2))
    assert m.indptr.dtype == np.int64 and m.indices.dtype == np.int32
    with pytest.raises(ValueError, match=r"indices must be in \[0, n_post\) = \[0, 2\), "
                                         r"got indices\[1\]=4294967296"):
        SM([0, 1, 2], np.array([1, 2**32], np.int64), [1.0, 2.0], (2, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nbytes_is_16_bytes_per_synapse(dtype):
    m = SM.fixed_probability(100, 80, 0.2, rng=0, dtype=dtype)
    per_syn = 16 if dtype == np.float32 else 20
    assert m.nbytes == per_syn * m.nnz + 8 * (101 + 81)
    md = SM.fixed_probability(100, 80, 0.2, rng=0, dtype=dtype,
                              delay=np.arange(m.nnz) % 3)
    assert md.nbytes == m.nbytes + 4 * m.nnz


def test_copy_is_deep():
    m = SM.fixed_probability(20, 20, 0.3, rng=1)
    c = m.copy()
    c.weights[:] = 5
    assert not np.any(m.weights == 5)
    for name in SM._STRUCTURE[:-1]:
        assert not np.shares_memory(getattr(m, name), getattr(c, name)), name
        assert not getattr(c, name).flags.writeable, name
    md = SM.one_to_one(4, delay=[1, 2, 3, 4])
    cd = md.copy()
    assert not np.shares_memory(md.delays, cd.delays) and cd.delay == -1


# ---------------------------------------------------------------------------
# delays
# ---------------------------------------------------------------------------
def test_delays():
    m = SM.one_to_one(4, delay=3)
    assert m.delays is None and m.delay == 3
    m = SM.one_to_one(4, delay=np.int16(2))
    assert m.delays is None and m.delay == 2
    assert SM.one_to_one(4, delay=np.array(5)).delay == 5
    assert SM.one_to_one(4, delay=2.0).delay == 2
    m = SM.one_to_one(4, delay=np.full(4, 2, np.int64))  # equal values collapse
    assert m.delays is None and m.delay == 2
    m = SM.one_to_one(4, delay=np.array([1.0, 2.0, 0.0, 5.0]))  # whole floats ok
    assert m.delays.dtype == np.int32 and m.delays.tolist() == [1, 2, 0, 5]
    assert m.delay == -1
    m = SM.one_to_one(0, delay=np.zeros(0, np.int32))
    assert m.delays is None and m.delay == 0
    m = SM([0, 1, 2], [0, 1], [1.0, 1.0], (2, 2), delay=[4, 7])
    assert m.delays.tolist() == [4, 7] and m.delay == -1


@pytest.mark.parametrize("delay, exc, msg", [
    (-1, ValueError, r"delay must be a whole number of steps in \[0, 2147483647\], "
                     r"got -1"),
    (1.5, ValueError, "delay must be a whole number of steps >= 0, got 1.5"),
    ("2", TypeError, "delay must be an integer number of steps"),
    ([1, -2, 3], ValueError, r"delay must be in \[0, 2147483647\] steps, "
                             r"got delay\[1\]=-2"),
    ([1.0, 2.5, 3.0], ValueError, r"delay must hold whole numbers of steps, "
                                  r"got delay\[1\]=2.5"),
    ([1, 2], ValueError, r"one entry per synapse \(nnz=3\), got length 2"),
    (np.ones((3, 1), int), ValueError, r"1-D array of nnz=3 integers, got an array "
                                       r"of shape \(3, 1\)"),
    (np.array([True, False, True]), TypeError, "delay array must have an integer "
                                               "dtype \\(steps\\), got bool"),
])
def test_delay_errors(delay, exc, msg):
    with pytest.raises(exc, match=msg):
        SM.one_to_one(3, delay=delay)


def test_delay_callable_in_the_builders_that_draw():
    draw = lambda r, n: r.integers(0, 40, n)   # noqa: E731
    m = SM.fixed_probability(50, 30, 0.2, weight=lambda r, n: r.random(n), rng=5,
                             delay=draw)
    # drawn after the weights, from the same generator
    r = np.random.default_rng(5)
    ref = SM.fixed_probability(50, 30, 0.2, weight=lambda r, n: r.random(n), rng=r)
    np.testing.assert_array_equal(m.indices, ref.indices)
    np.testing.assert_array_equal(m.weights, ref.weights)
    assert m.delays.tolist() == r.integers(0, 40, m.nnz).tolist()
    assert SM.fixed_indegree(20, 10, 4, rng=1, delay=draw).delays.shape == (40,)
    assert SM.all_to_all(3, 4, rng=2, delay=lambda r, n: np.full(n, 3)).delay == 3
    with pytest.raises(TypeError, match=r"delay is a callable .* rng must be given"):
        SM.one_to_one(3, delay=draw)
    with pytest.raises(ValueError, match=r"delay callable must return an array of "
                                         r"shape \(4,\)"):
        SM.one_to_one(4, rng=0, delay=lambda r, n: np.ones(n + 1, int))
    with pytest.raises(ValueError, match=r"delay\[0\]=-1"):
        SM.one_to_one(2, rng=0, delay=lambda r, n: -np.ones(n, int))
    with pytest.raises(TypeError, match="delay must be an integer number of steps"):
        SM.from_dense(np.eye(2), delay=draw)    # no generator there


def test_delay_setter_names_per_synapse_delays_at_construction():
    m = SM.one_to_one(3)
    with pytest.raises(TypeError, match=r"one whole number of steps >= 0, shared by "
                                        r"every synapse.*delay=f\(rng, size\)"):
        m.delay = np.arange(3)


# ---------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------
def test_from_dense_and_mask():
    W = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]])
    m = SM.from_dense(W)
    assert_layout(m)
    assert m.dtype == np.float64 and m.nnz == 3
    np.testing.assert_array_equal(m.to_dense(), W)
    mask = np.array([[True, True, False], [False, False, True]])
    mm = SM.from_dense(W, mask=mask, dtype=np.float32)
    assert mm.nnz == 3 and mm.indices.tolist() == [0, 1, 2]
    assert mm.weights.tolist() == [0.0, 1.5, -1.0]  # weight 0 kept under the mask
    mb = SM.from_dense(np.eye(3, dtype=bool))
    assert mb.dtype == np.float32 and mb.indices.tolist() == [0, 1, 2]


@pytest.mark.parametrize("seed", range(5))
def test_from_dense_to_dense_round_trip(seed):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(rng.integers(0, 30), rng.integers(0, 30)))
    W[rng.random(W.shape) < 0.6] = 0
    m = SM.from_dense(W)
    assert_layout(m)
    np.testing.assert_array_equal(m.to_dense(), W)
    assert m.nnz == np.count_nonzero(W)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_scipy_round_trip_bit_exact(dtype, seed):
    rng = np.random.default_rng(seed)
    m = SM.fixed_probability(50, 40, 0.2, rng=rng, weight=lambda r, n: r.normal(size=n),
                             dtype=dtype)
    m.weights[::7] = 0.0          # explicit zeros must survive
    m.weights[1::7] = -0.0
    m.weights[2::7] = np.finfo(dtype).tiny / 4  # subnormal
    S = m.to_scipy()
    assert isinstance(S, sp.csr_array) and S.shape == m.shape
    m2 = SM.from_scipy(S)
    assert m2.dtype == dtype
    np.testing.assert_array_equal(m2.indptr, m.indptr)
    np.testing.assert_array_equal(m2.indices, m.indices)
    uint = np.uint32 if dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(m2.weights.view(uint), m.weights.view(uint))
    assert m2.indptr.dtype == np.int64 and m2.indices.dtype == np.int32
    # to_scipy copies: changing the result leaves the matrix alone
    S.data[:] = 123
    assert not np.any(m.weights == 123)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "dok", "bsr", "dia"])
@pytest.mark.parametrize("kind", ["array", "matrix"])
def test_from_scipy_all_formats(fmt, kind):
    rng = np.random.default_rng(5)
    W = rng.normal(size=(13, 9))
    W[rng.random(W.shape) < 0.7] = 0
    cls = getattr(sp, f"{fmt}_{kind}")
    S = cls(W)
    m = SM.from_scipy(S)
    assert_layout(m)
    np.testing.assert_array_equal(m.to_dense(), W)
    assert m.dtype == np.float64
    assert SM.from_scipy(S, dtype=np.float32).dtype == np.float32


def test_from_scipy_keeps_explicit_zeros_and_sums_duplicates():
    # coo with duplicates and an explicit zero
    S = sp.coo_array((np.array([1.0, 2.0, 0.0, 4.0]),
                      (np.array([0, 0, 1, 1]), np.array([2, 2, 0, 1]))), shape=(2, 3))
    m = SM.from_scipy(S)
    assert m.indptr.tolist() == [0, 1, 3]
    assert m.indices.tolist() == [2, 0, 1]
    assert m.weights.tolist() == [3.0, 0.0, 4.0]
    # csr with unsorted indices, duplicates and an explicit zero
    C = sp.csr_array((np.array([1.0, 0.0, 5.0, 2.0]), np.array([2, 0, 2, 1]),
                      np.array([0, 3, 4])), shape=(2, 3))
    m = SM.from_scipy(C)
    assert m.indices.tolist() == [0, 2, 1] and m.weights.tolist() == [0.0, 6.0, 2.0]
    assert C.data.tolist() == [1.0, 0.0, 5.0, 2.0]  # input left as it was
    # csc explicit zero
    D = sp.csc_matrix((np.array([0.0, 1.0]), np.array([1, 0]), np.array([0, 1, 2])),
                      shape=(2, 2))
    m = SM.from_scipy(D)
    assert m.indptr.tolist() == [0, 1, 2] and m.weights.tolist() == [1.0, 0.0]
    # integer data becomes float32; data is copied
    I = sp.csr_array(np.array([[0, 3], [1, 0]], np.int64))
    mi = SM.from_scipy(I)
    assert mi.dtype == np.float32 and mi.weights.tolist() == [3.0, 1.0]
    F = sp.csr_array(np.array([[0, 3.0]], np.float32))
    mf = SM.from_scipy(F)
    mf.weights[0] = 7
    assert F.data[0] == 3.0


def test_fixed_probability_structure_and_statistics():
    n_pre, n_post, p = 300, 200, 0.1
    m = SM.fixed_probability(n_pre, n_post, p, rng=42)
    assert_layout(m)
    N = n_pre * n_post
    sd = np.sqrt(N * p * (1 - p))
    assert abs(m.nnz - N * p) < 5 * sd
    # row degrees are Binomial(n_post, p): check mean and variance
    deg = np.diff(m.indptr)
    assert abs(deg.mean() - n_post * p) < 5 * np.sqrt(n_post * p * (1 - p) / n_pre)
    assert 0.7 < deg.var() / (n_post * p * (1 - p)) < 1.3
    cdeg = np.diff(m.post_ptr)
    assert 0.7 < cdeg.var() / (n_pre * p * (1 - p)) < 1.3
    # self-connections allowed: about p * min(n_pre, n_post) of them
    n_self = int(np.sum(m.pre_ids() == m.indices))
    assert abs(n_self - 200 * p) < 5 * np.sqrt(200 * p * (1 - p))
    m2 = SM.fixed_probability(n_pre, n_post, p, rng=42, allow_self=False)
    assert not np.any(m2.pre_ids() == m2.indices)


def test_fixed_probability_each_pair_is_bernoulli():
    n_pre, n_post, p, reps = 4, 5, 0.3, 3000
    counts = np.zeros((n_pre, n_post))
    nnz = np.zeros(reps)
    rng = np.random.default_rng(0)
    for r in range(reps):
        m = SM.fixed_probability(n_pre, n_post, p, rng=rng)
        counts += m.to_dense() != 0
        nnz[r] = m.nnz
    sd = np.sqrt(p * (1 - p) / reps)
    assert np.all(np.abs(counts / reps - p) < 5 * sd)
    N = n_pre * n_post
    assert 0.85 < nnz.var() / (N * p * (1 - p)) < 1.15


def test_fixed_probability_edge_values():
    assert SM.fixed_probability(10, 7, 0.0, rng=0).nnz == 0
    full = SM.fixed_probability(10, 7, 1.0, rng=0)
    np.testing.assert_array_equal(full.to_dense(), np.ones((10, 7)))
    nos = SM.fixed_probability(6, 6, 1.0, rng=0, allow_self=False)
    np.testing.assert_array_equal(nos.to_dense(), 1 - np.eye(6))
    assert SM.fixed_probability(0, 5, 0.5, rng=0).shape == (0, 5)
    assert SM.fixed_probability(5, 0, 0.5, rng=0).nnz == 0
    # many chunks: tiny p over a large pair space
    m = SM.fixed_probability(20000, 20000, 1e-6, rng=3)
    assert_layout(m)
    assert abs(m.nnz - 400) < 5 * 20


@pytest.mark.parametrize("n_pairs, p", [(1000, 0.05), (500, 0.5), (300, 0.9),
                                         (200, 1.0), (50, 0.01)])
def test_geometric_skipping_is_chunk_independent(n_pairs, p):
    whole = SM._geometric_pairs(np.random.default_rng(4), n_pairs, p)
    for chunk in (1, 3, 17):
        parts = SM._geometric_pairs(np.random.default_rng(4), n_pairs, p,
                                    max_chunk=chunk)
        np.testing.assert_array_equal(parts, whole)
    assert whole.dtype == np.int64 and np.all(np.diff(whole) > 0)
    assert whole.size == 0 or (whole[0] >= 0 and whole[-1] < n_pairs)
    if p == 1.0:
        np.testing.assert_array_equal(whole, np.arange(n_pairs))


def _arrays(m):
    return [m.indptr, m.indices, m.weights] + ([] if m.delays is None else [m.delays])


@pytest.mark.parametrize("build", [
    lambda rng: SM.fixed_probability(60, 50, 0.2, rng=rng,
                                     weight=lambda r, n: r.uniform(0, 1, n)),
    lambda rng: SM.fixed_indegree(60, 50, 7, rng=rng,
                                  weight=lambda r, n: r.uniform(0, 1, n)),
    lambda rng: SM.fixed_indegree(60, 50, 40, rng=rng, allow_self=False,
                                  weight=lambda r, n: r.uniform(0, 1, n)),
    lambda rng: SM.all_to_all(6, 5, rng=rng, weight=lambda r, n: r.uniform(0, 1, n)),
])
def test_same_seed_same_arrays_different_seed_different(build):
    a, b, c = build(123), build(np.random.default_rng(123)), build(124)
    for x, y in zip(_arrays(a), _arrays(b)):
        np.testing.assert_array_equal(x, y)
    assert any(x.shape != y.shape or not np.array_equal(x, y)
               for x, y in zip(_arrays(a), _arrays(c)))


@pytest.mark.parametrize("k, allow_self", [(5, True), (5, False), (30, True),
                                            (39, False), (40, True), (0, True)])
def test_fixed_indegree_structure(k, allow_self):
    m = SM.fixed_indegree(40, 60, k, rng=9, allow_self=allow_self)
    assert_layout(m)
    assert np.all(np.diff(m.post_ptr) == k)
    assert m.nnz == 60 * k
    if not allow_self:
        assert not np.any(m.pre_ids() == m.indices)
    if k == 40:
        np.testing.assert_array_equal(m.to_dense(), np.ones((40, 60)))


@pytest.mark.parametrize("k, allow_self", [(2, True), (2, False), (6, True), (6, False)])
def test_fixed_indegree_is_uniform(k, allow_self):
    # n_pre = 9: k = 2 takes the rejection path, k = 6 the random-key path
    n_pre, n_post, reps = 9, 4, 1500
    counts = np.zeros((n_pre, n_post))
    rng = np.random.default_rng(1)
    for _ in range(reps):
        counts += SM.fixed_indegree(n_pre, n_post, k, rng=rng,
                                    allow_self=allow_self).to_dense()
    cand = np.full((n_pre, n_post), n_pre, float)
    if not allow_self:
        cand[:, :n_pre] -= 1
        cand[np.arange(n_post), np.arange(n_post)] = np.inf
    q = k / cand
    freq = counts / reps
    sd = np.sqrt(q * (1 - q) / reps) + 1e-12
    assert np.all(np.abs(freq - q) < 5 * sd)
    if not allow_self:
        assert np.all(counts[np.arange(n_post), np.arange(n_post)] == 0)


def test_one_to_one_and_all_to_all():
    m = SM.one_to_one(5, weight=np.arange(5.0))
    assert_layout(m)
    np.testing.assert_array_equal(m.to_dense(), np.diag(np.arange(5.0)))
    a = SM.all_to_all(3, 4, weight=2.0)
    assert_layout(a)
    np.testing.assert_array_equal(a.to_dense(), np.full((3, 4), 2.0))
    b = SM.all_to_all(4, 3, allow_self=False, weight=np.arange(9.0))
    assert_layout(b)
    expected = np.ones((4, 3), bool)
    expected[np.arange(3), np.arange(3)] = False
    present = np.zeros((4, 3), bool)
    present[b.pre_ids(), b.indices] = True
    np.testing.assert_array_equal(present, expected)
    np.testing.assert_array_equal(b.weights, np.arange(9.0))  # synapse order
    assert b.to_dense()[0, 2] == 1.0 and b.to_dense()[3, 2] == 8.0
    assert SM.all_to_all(0, 3).nnz == 0 and SM.one_to_one(0).nnz == 0


def test_weight_forms():
    s = SM.one_to_one(3, weight=0.5, dtype=np.float64)
    assert s.weights.tolist() == [0.5] * 3 and s.dtype == np.float64
    arr = np.array([1.0, 2.0, 3.0], np.float32)
    a = SM.one_to_one(3, weight=arr)
    a.weights[0] = 9
    assert arr[0] == 1.0  # builders own their arrays
    f = SM.one_to_one(3, weight=lambda rng, n: rng.normal(1, 0.1, n), rng=5)
    g = SM.one_to_one(3, weight=lambda rng, n: rng.normal(1, 0.1, n), rng=5)
    np.testing.assert_array_equal(f.weights, g.weights)
    assert len(set(f.weights.tolist())) == 3


@pytest.mark.parametrize("weight, rng, exc, msg", [
    (np.ones(4), None, ValueError, r"weight array must be 1-D with one entry per "
                                   r"synapse \(nnz=3\), got shape \(4,\)"),
    (float("inf"), None, ValueError, "weight must be finite, got inf"),
    (1e300, None, ValueError, "weight must be finite in float32, got 1e\\+300"),
    (np.array([1.0, np.nan, 2.0]), None, ValueError,
     r"weight must be finite, got weight\[1\]=nan"),
    (np.array([1j, 2, 3]), None, TypeError, "weight must have a real .* got complex128"),
    ("a", None, TypeError, "weight must be a real number, got 'a'"),
    (lambda r, n: r.random(n + 1), 0, ValueError,
     r"weight callable must return an array of shape \(3,\), got shape \(4,\)"),
    (lambda r, n: np.full(n, np.nan), 0, ValueError,
     r"weight must be finite \(returned by the callable\), got weight\[0\]=nan"),
    (lambda r, n: r.random(n), None, TypeError, "weight is a callable .* rng must be "
                                                "given"),
])
def test_weight_errors(weight, rng, exc, msg):
    with pytest.raises(exc, match=msg):
        SM.one_to_one(3, weight=weight, rng=rng)


# ---------------------------------------------------------------------------
# validation errors of the constructor
# ---------------------------------------------------------------------------
GOOD = dict(indptr=[0, 2, 3], indices=[0, 2, 1], weights=[0.5, 1.0, 2.0], shape=(2, 3))


def make(**kw):
    args = dict(GOOD, **kw)
    extra = {k: args.pop(k) for k in ("delay", "dtype", "check") if k in args}
    return SM(args["indptr"], args["indices"], args["weights"], args["shape"], **extra)


def test_good_input_builds():
    assert_layout(make())


@pytest.mark.parametrize("kw, exc, msg", [
    (dict(shape=(2, 3, 1)), ValueError, r"shape must be a pair \(n_pre, n_post\), "
                                        r"got 3 values"),
    (dict(shape=5), TypeError, "shape must be a pair"),
    (dict(shape=(-2, 3)), ValueError, r"shape\[0\] \(n_pre\) must be an integer in "
                                      r"\[0, 2147483647\], got -2"),
    (dict(shape=(2, 2.5)), TypeError, r"shape\[1\] \(n_post\) must be an integer, "
                                      r"got 2.5"),
    (dict(indptr=[0.0, 2.0, 3.0]), TypeError, "indptr must have an integer dtype, "
                                              "got float64"),
    (dict(indptr=[[0, 2, 3]]), ValueError, r"indptr must be 1-D, got an array of "
                                           r"shape \(1, 3\)"),
    (dict(indptr=[0, 3]), ValueError, "indptr must have length n_pre \\+ 1 = 3, got 2"),
    (dict(indptr=[1, 2, 3]), ValueError, r"indptr\[0\] must be 0, got 1"),
    (dict(indptr=[0, 2, 4]), ValueError, r"indptr\[-1\] must equal len\(indices\) = 3, "
                                         r"got 4"),
    (dict(indptr=[0, 2, 1, 3], shape=(3, 3)), ValueError,
     r"indptr must be non-decreasing: indptr\[2\]=1 < indptr\[1\]=2"),
    (dict(indices=[0.0, 2.0, 1.0]), TypeError, "indices must have an integer dtype, "
                                               "got float64"),
    (dict(indices=np.array([True, False, True])), TypeError,
     "indices must have an integer dtype, got bool"),
    (dict(indices=[0, 3, 1]), ValueError, r"indices must be in \[0, n_post\) = "
                                          r"\[0, 3\), got indices\[1\]=3"),
    (dict(indices=[0, 2, -1]), ValueError, r"got indices\[2\]=-1"),
    (dict(indices=[2, 0, 1]), ValueError, r"indices must be sorted within each row: "
                                          r"row 0 has indices\[1\]=0 after 2"),
    (dict(indices=[1, 1, 1]), ValueError, r"indices must be unique within each row: "
                                          r"row 0 has indices\[1\]=1 twice"),
    (dict(indices=[[0, 2, 1]]), ValueError, "indices must be 1-D"),
    (dict(weights=[1, 2, 3]), TypeError, "weights must have a floating dtype "
                                         r"\(float32 or float64\), got int64"),
    (dict(weights=np.ones(3, complex)), TypeError, "weights must have a floating "
                                                   ".* got complex128"),
    (dict(weights=np.array([1.0, 2.0, None])), TypeError, "got object"),
    (dict(weights=[1.0, 2.0]), ValueError, r"weights must have the same length as "
                                           r"indices \(3\), got 2"),
    (dict(weights=[1.0, np.nan, 2.0]), ValueError, r"weights must be finite, got "
                                                   r"weights\[1\]=nan"),
    (dict(weights=np.array([1.0, 2.0, 1e300]), dtype=np.float32), ValueError,
     r"weights must be finite in float32 \(weights\[2\]=1e\+300 overflows "
     r"on conversion\), got weights\[2\]=inf"),
    (dict(weights=np.ones((3, 1))), ValueError, "weights must be 1-D"),
    (dict(dtype=np.int32), ValueError, "dtype must be float32 or float64, got int32"),
    (dict(dtype="nonsense"), TypeError, "dtype must be float32 or float64, got "
                                        "'nonsense'"),
    (dict(delay=-3), ValueError, "delay must be a whole number of steps in"),
    (dict(delay=[1, 2]), ValueError, r"one entry per synapse \(nnz=3\)"),
])
def test_constructor_errors(kw, exc, msg):
    with pytest.raises(exc, match=msg):
        make(**kw)


def test_unsorted_row_reported_with_row_and_position():
    indptr = np.array([0, 2, 4, 4, 7], np.int64)
    indices = np.array([0, 1, 3, 5, 1, 4, 2], np.int32)
    with pytest.raises(ValueError, match=r"row 3 has indices\[6\]=2 after 4"):
        SM(indptr, indices, np.ones(7), (4, 6))


def test_check_false_skips_content_checks_but_not_range():
    m = make(indices=[2, 0, 1], check=False)  # unsorted: accepted without checks
    assert m.nnz == 3
    m = make(weights=[1.0, np.nan, 2.0], check=False)
    assert np.isnan(m.weights[1])
    with pytest.raises(ValueError, match=r"got indices\[1\]=7"):
        make(indices=[0, 7, 1], check=False)


def test_constructor_uses_matching_weights_without_copy_but_owns_the_structure():
    w = np.array([0.5, 1.0, 2.0], np.float32)
    ind = np.array([0, 2, 1], np.int32)
    ptr = np.array([0, 2, 3], np.int64)
    m = SM(ptr, ind, w, (2, 3))
    assert m.weights is w
    # the structure is frozen, so it is never the caller's (still writeable) array
    assert not np.shares_memory(m.indices, ind) and not np.shares_memory(m.indptr, ptr)
    assert ind.flags.writeable and ptr.flags.writeable


# ---------------------------------------------------------------------------
# validation errors of the builders
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("call, exc, msg", [
    (lambda: SM.fixed_probability(5, 5, 1.5, rng=0), ValueError,
     r"p must be in \[0.0, 1.0\], got 1.5"),
    (lambda: SM.fixed_probability(5, 5, -0.1, rng=0), ValueError, "p must be in"),
    (lambda: SM.fixed_probability(5, 5, float("nan"), rng=0), ValueError,
     "p must be finite"),
    (lambda: SM.fixed_probability(-1, 5, 0.5, rng=0), ValueError,
     r"n_pre must be an integer in \[0, 2147483647\], got -1"),
    (lambda: SM.fixed_probability(5, 5, 0.5, rng=None), TypeError,
     "rng must be an int seed or a numpy.random.Generator, got None"),
    (lambda: SM.fixed_probability(5, 5, 0.5, rng=np.random.RandomState(0)), TypeError,
     "rng must be an int seed or a numpy.random.Generator"),
    (lambda: SM.fixed_probability(5, 5, 0.5, rng=-1), ValueError,
     "rng must be a non-negative int seed"),
    (lambda: SM.fixed_probability(100000, 100000, 0.5, rng=0), ValueError,
     r"expected synapses; nnz must be < 2\*\*31-1"),
    (lambda: SM.fixed_indegree(5, 5, 6, rng=0), ValueError,
     r"k must be in \[0, n_pre\] = \[0, 5\], got 6"),
    (lambda: SM.fixed_indegree(5, 5, 5, rng=0, allow_self=False), ValueError,
     r"k must be in \[0, n_pre - 1 \(allow_self=False\)\] = \[0, 4\], got 5"),
    (lambda: SM.fixed_indegree(5, 5, -1, rng=0), ValueError, "got -1"),
    (lambda: SM.fixed_indegree(5, 5, 2.0, rng=0), TypeError,
     "k must be an integer, got 2.0"),
    (lambda: SM.fixed_indegree(100000, 100000, 30000, rng=0), ValueError,
     r"nnz = n_post \* k = 100000 \* 30000 must be < 2\*\*31-1 = 2147483647"),
    (lambda: SM.all_to_all(50000, 50000), ValueError,
     r"nnz = n_pre \* n_post must be < 2\*\*31-1 = 2147483647 .*got 2500000000"),
    (lambda: SM.one_to_one(-3), ValueError, "n must be an integer in"),
    (lambda: SM.one_to_one(3, dtype=np.float16), ValueError,
     "dtype must be float32 or float64, got float16"),
    (lambda: SM.from_dense(np.ones(3)), ValueError,
     r"W must be 2-D \(n_pre, n_post\), got shape \(3,\)"),
    (lambda: SM.from_dense(np.array([[1.0, np.inf]])), ValueError,
     r"W must be finite, got W\[0, 1\]=inf"),
    (lambda: SM.from_dense(np.ones((2, 2)), mask=np.ones((2, 2))), TypeError,
     "mask must be a boolean array, got dtype float64"),
    (lambda: SM.from_dense(np.ones((2, 2)), mask=np.ones((2, 3), bool)), ValueError,
     r"mask must have the shape of W \(2, 2\), got \(2, 3\)"),
    (lambda: SM.from_dense(np.ones((2, 2), complex)), TypeError,
     "W must have a real dtype"),
    (lambda: SM.from_dense(sp.eye(3)), TypeError, "use SynapseMatrix.from_scipy"),
    (lambda: SM.from_scipy(np.eye(3)), TypeError,
     "S must be a scipy.sparse array or matrix, got ndarray"),
    (lambda: SM.from_scipy(sp.coo_array(np.ones(3))), ValueError,
     r"S must be 2-D, got 1-D with shape \(3,\)"),
    (lambda: SM.from_scipy(sp.csr_array(np.eye(2) * 1j)), TypeError,
     "S must have real data"),
    (lambda: SM.from_scipy(sp.csr_array(np.array([[np.nan, 1.0]]))), ValueError,
     r"S.data must be finite in float64, got S.data\[0\]=nan"),
    (lambda: SM.from_scipy(sp.csr_array(np.array([[1e300, 1.0]])), dtype=np.float32),
     ValueError, r"S.data must be finite in float32, got S.data\[0\]=inf"),
])
def test_builder_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_max_nnz_constant():
    assert MAX_NNZ == 2**31 - 1
