# cython: language_level=3
"""Compiled kernels of SynapseMatrix (private; the public class is
plasticity.synapses.SynapseMatrix, layout in docs/internals.md).

All validation happens in Python before these are called. The ``_``-prefixed ``def``
functions are thin wrappers that only release the GIL around the ``noexcept nogil``
loops; their typed-memoryview signatures reject wrong dtypes as a last line of defence.
"""
from libc.math cimport isfinite
from libc.stdint cimport int32_t, int64_t

import numpy as np


# ---------------------------------------------------------------------------
# nogil kernels (declared in synapses.pxd for other Cython modules)
# ---------------------------------------------------------------------------
cdef void build_post_index(const int64_t* indptr, const int32_t* indices,
                           Py_ssize_t n_pre, Py_ssize_t n_post,
                           int64_t* post_ptr, int32_t* post_syn,
                           int32_t* post_pre) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef int64_t s, pos, nnz = indptr[n_pre]
    for j in range(n_post + 1):
        post_ptr[j] = 0
    # in-degree of each column, shifted by one
    for s in range(nnz):
        post_ptr[indices[s] + 1] += 1
    for j in range(n_post):
        post_ptr[j + 1] += post_ptr[j]
    # scatter, using post_ptr[j] as the write cursor of column j; rows are visited in
    # ascending order, so each column receives ascending synapse ids
    for i in range(n_pre):
        for s in range(indptr[i], indptr[i + 1]):
            j = indices[s]
            pos = post_ptr[j]
            post_ptr[j] = pos + 1
            post_syn[pos] = <int32_t>s
            post_pre[pos] = <int32_t>i
    # the cursors now hold the column ends: shift right by one
    for j in range(n_post, 0, -1):
        post_ptr[j] = post_ptr[j - 1]
    post_ptr[0] = 0


cdef void normalize_columns(const int64_t* indptr, const int32_t* indices,
                            Py_ssize_t n_pre, Py_ssize_t n_post, weight_t* weights,
                            double target, double* sums) noexcept nogil:
    normalize_columns_range(indptr, indices, n_pre, n_post, weights, target, sums, 0,
                            n_post)


cdef void normalize_columns_range(const int64_t* indptr, const int32_t* indices,
                                  Py_ssize_t n_pre, Py_ssize_t n_post,
                                  weight_t* weights, double target, double* sums,
                                  Py_ssize_t j0, Py_ssize_t j1) noexcept nogil:
    # Two sequential passes over the CSR rows (the weights are in row order, so the
    # column-wise walk through post_syn would be scattered). Rows are visited in
    # ascending order, so every column sum is accumulated over ascending synapse ids,
    # the order of the definition: the same numbers as a column-by-column walk, and
    # for any split of the columns into ranges (threads: each its own columns). A row
    # whose indices are one contiguous run (dense rows: all-to-all) is walked without
    # the indirection, which the compiler vectorises (each column still gets one
    # addition per row, in row order: the same numbers).
    cdef Py_ssize_t i, j
    cdef int64_t s, lo, hi
    for j in range(j0, j1):
        sums[j] = 0.0
    for i in range(n_pre):
        _cols(indptr, indices, i, j0, j1, &lo, &hi)
        if hi > lo and indices[hi - 1] - indices[lo] == hi - 1 - lo:
            _add_run(sums + indices[lo], weights + lo, hi - lo)
        else:
            for s in range(lo, hi):
                sums[indices[s]] += <double>weights[s]
    for j in range(j0, j1):
        sums[j] = target / sums[j] if sums[j] != 0.0 else 0.0
    for i in range(n_pre):
        _cols(indptr, indices, i, j0, j1, &lo, &hi)
        if hi > lo and indices[hi - 1] - indices[lo] == hi - 1 - lo:
            _scale_run(weights + lo, sums + indices[lo], hi - lo)
        else:
            for s in range(lo, hi):
                j = indices[s]
                if sums[j] != 0.0:
                    weights[s] = <weight_t>(<double>weights[s] * sums[j])


cdef inline void _cols(const int64_t* indptr, const int32_t* indices, Py_ssize_t i,
                       Py_ssize_t j0, Py_ssize_t j1, int64_t* lo,
                       int64_t* hi) noexcept nogil:
    """[lo, hi): the synapses of row i onto columns j0 .. j1-1 (indices ascending in
    a row): the whole row, arithmetic on a contiguous row, else binary searches."""
    cdef int64_t a = indptr[i], b = indptr[i + 1], m, l, h
    cdef int64_t first
    if a == b or (j0 <= indices[a] and indices[b - 1] < j1):
        lo[0] = a
        hi[0] = b
        return
    first = indices[a]
    if indices[b - 1] - first == b - 1 - a:          # contiguous: first .. first+b-a-1
        lo[0] = a + min(max(j0 - first, 0), b - a)
        hi[0] = a + min(max(j1 - first, 0), b - a)
        return
    for m in range(2):
        l = a
        h = b
        while l < h:
            if indices[l + (h - l) // 2] < (j0 if m == 0 else j1):
                l = l + (h - l) // 2 + 1
            else:
                h = l + (h - l) // 2
        if m == 0:
            lo[0] = l
        else:
            hi[0] = l


cdef inline void _add_run(double* sums, const weight_t* w, Py_ssize_t n) noexcept nogil:
    """sums[k] += w[k], k < n (one contiguous row of normalize_columns)."""
    cdef Py_ssize_t k
    for k in range(n):
        sums[k] += <double>w[k]


cdef inline void _scale_run(weight_t* w, const double* f, Py_ssize_t n) noexcept nogil:
    """w[k] *= f[k] where f[k] != 0, k < n (one contiguous row of
    normalize_columns)."""
    cdef Py_ssize_t k
    for k in range(n):
        if f[k] != 0.0:
            w[k] = <weight_t>(<double>w[k] * f[k])


cdef int64_t _first_unordered(const int64_t* indptr, const int32_t* indices,
                              Py_ssize_t n_pre) noexcept nogil:
    """First synapse s whose index is <= its predecessor's in the same row, or -1."""
    cdef Py_ssize_t i
    cdef int64_t s
    for i in range(n_pre):
        for s in range(indptr[i] + 1, indptr[i + 1]):
            if indices[s] <= indices[s - 1]:
                return s
    return -1


# Non-finiteness of a block of values without a branch per value: the exponent bits
# of a value are all ones exactly for inf and NaN, and adding one unit of the lowest
# exponent bit to them then carries into the sign bit (integer and/add/or: vectorised
# by the compiler; the double/float compare form is not).
cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* one loop, compiled for AVX-512, AVX2 and the baseline, chosen at load time
       (integer tests of the exponent bits: the same answer in every form) */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 8
    #define PL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
    #else
    #define PL_CLONES
    #endif
    PL_CLONES static int pl_block_nonfinite_f64(const double* w, int64_t n) {
        uint64_t acc = 0, u;
        int64_t s;
        for (s = 0; s < n; s++) {
            memcpy(&u, w + s, 8);
            acc |= (u & 0x7FF0000000000000ULL) + 0x0010000000000000ULL;
        }
        return (int)(acc >> 63);
    }
    PL_CLONES static int pl_block_nonfinite_f32(const float* w, int64_t n) {
        uint32_t acc = 0, u;
        int64_t s;
        for (s = 0; s < n; s++) {
            memcpy(&u, w + s, 4);
            acc |= (u & 0x7F800000U) + 0x00800000U;
        }
        return (int)(acc >> 31);
    }
    """
    int pl_block_nonfinite_f64(const double* w, int64_t n) noexcept nogil
    int pl_block_nonfinite_f32(const float* w, int64_t n) noexcept nogil


cdef enum:
    FINITE_BLOCK = 1024


cdef int64_t first_nonfinite(const weight_t* w, int64_t n) noexcept nogil:
    """First s with w[s] not finite, or -1. Blocks of FINITE_BLOCK values are tested
    without a branch per value (pl_block_nonfinite_*), and only a block that fails is
    searched value by value: the weights are checked before and after every run,
    serial work between the threaded steps."""
    cdef int64_t s, b = 0, e
    cdef int bad
    while b < n:
        e = min(b + FINITE_BLOCK, n)
        if weight_t is float:
            bad = pl_block_nonfinite_f32(w + b, e - b)
        else:
            bad = pl_block_nonfinite_f64(w + b, e - b)
        if bad:
            for s in range(b, e):
                if not isfinite(w[s]):
                    return s
        b = e
    return -1


cdef int64_t _flat_to_csr(const int64_t* flat, int64_t n_flat, int64_t n_pre,
                          int64_t n_post, bint allow_self, int64_t* indptr,
                          int32_t* indices) noexcept nogil:
    """Ascending flat pair ids (i * n_post + j) -> CSR; drops i == j unless allow_self.

    Returns the number of synapses written.
    """
    cdef int64_t k, p, i, j, nnz = 0
    for i in range(n_pre + 1):
        indptr[i] = 0
    for k in range(n_flat):
        p = flat[k]
        i = p // n_post
        j = p - i * n_post
        if not allow_self and i == j:
            continue
        indices[nnz] = <int32_t>j
        nnz += 1
        indptr[i + 1] += 1
    for i in range(n_pre):
        indptr[i + 1] += indptr[i]
    return nnz


# ---------------------------------------------------------------------------
# Python-callable wrappers (private)
# ---------------------------------------------------------------------------
def _build_post_index(const int64_t[::1] indptr, const int32_t[::1] indices,
                      Py_ssize_t n_post):
    """Return (post_ptr int64, post_syn int32, post_pre int32) by counting sort."""
    cdef Py_ssize_t n_pre = indptr.shape[0] - 1
    cdef Py_ssize_t nnz = indices.shape[0]
    post_ptr = np.empty(n_post + 1, dtype=np.int64)
    post_syn = np.empty(nnz, dtype=np.int32)
    post_pre = np.empty(nnz, dtype=np.int32)
    cdef int64_t[::1] pp = post_ptr
    cdef int32_t[::1] ps = post_syn
    cdef int32_t[::1] pr = post_pre
    cdef int32_t dummy = 0
    cdef const int32_t* ind = &indices[0] if nnz > 0 else &dummy
    cdef int32_t* ps_p = &ps[0] if nnz > 0 else &dummy
    cdef int32_t* pr_p = &pr[0] if nnz > 0 else &dummy
    with nogil:
        build_post_index(&indptr[0], ind, n_pre, n_post, &pp[0], ps_p, pr_p)
    return post_ptr, post_syn, post_pre


def _normalize_columns(const int64_t[::1] indptr, const int32_t[::1] indices,
                       Py_ssize_t n_post, weight_t[::1] weights, double target):
    """In place: scale each column of ``weights`` to sum to ``target``."""
    cdef Py_ssize_t n_pre = indptr.shape[0] - 1
    if weights.shape[0] == 0:
        return
    cdef double[::1] sums = np.empty(max(n_post, 1))
    with nogil:
        normalize_columns(&indptr[0], &indices[0], n_pre, n_post, &weights[0], target,
                          &sums[0])


def _check_order(const int64_t[::1] indptr, const int32_t[::1] indices):
    """Position of the first index not strictly greater than its row predecessor, or -1."""
    cdef Py_ssize_t n_pre = indptr.shape[0] - 1
    cdef int64_t pos
    if indices.shape[0] == 0:
        return -1
    with nogil:
        pos = _first_unordered(&indptr[0], &indices[0], n_pre)
    return pos


def _check_finite(const weight_t[::1] weights):
    """Position of the first non-finite weight, or -1."""
    cdef int64_t pos, n = weights.shape[0]
    if n == 0:
        return -1
    with nogil:
        pos = first_nonfinite(&weights[0], n)
    return pos


def _csr_from_flat(const int64_t[::1] flat, int64_t n_pre, int64_t n_post,
                   bint allow_self):
    """(indptr int64, indices int32) from ascending unique flat pair ids."""
    cdef int64_t n_flat = flat.shape[0], nnz
    indptr = np.empty(n_pre + 1, dtype=np.int64)
    indices = np.empty(n_flat, dtype=np.int32)
    cdef int64_t[::1] ip = indptr
    cdef int32_t[::1] ind = indices
    cdef int32_t dummy = 0
    cdef const int64_t* fl = &flat[0] if n_flat > 0 else NULL
    cdef int32_t* ind_p = &ind[0] if n_flat > 0 else &dummy
    with nogil:
        nnz = _flat_to_csr(fl, n_flat, n_pre, n_post, allow_self, &ip[0], ind_p)
    if nnz < n_flat:
        indices = indices[:nnz].copy()
    return indptr, indices
