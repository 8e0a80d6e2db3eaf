# Kernels over the CSR-by-pre + post-index layout of SynapseMatrix
# (plasticity/synapses.py; layout in docs/internals.md).
#
# Contract: every kernel assumes its input was validated by SynapseMatrix (Python side)
# before the call: indptr int64 (n_pre+1) starting at 0, non-decreasing, ending at nnz;
# indices int32 (nnz) in [0, n_post); post_ptr int64 (n_post+1); post_syn/post_pre
# int32 (nnz). Nothing here allocates, raises or touches Python objects.
from libc.stdint cimport int32_t, int64_t

ctypedef fused weight_t:
    float
    double

# Counting sort of the CSR structure by column (O(nnz + n_pre + n_post)): fills
# post_ptr (n_post+1), post_syn (synapse ids, ascending per column) and post_pre
# (their row ids). Also the transpose of a CSR structure.
cdef void build_post_index(const int64_t* indptr, const int32_t* indices,
                           Py_ssize_t n_pre, Py_ssize_t n_post,
                           int64_t* post_ptr, int32_t* post_syn,
                           int32_t* post_pre) noexcept nogil

# Diehl & Cook (2015) normalisation: scale the weights onto each post neuron j so that
# they sum to `target` (sums accumulated in double, ascending synapse id); columns
# whose sum is exactly 0 are left untouched. Walks the CSR rows sequentially; `sums` is
# scratch space for n_post doubles.
cdef void normalize_columns(const int64_t* indptr, const int32_t* indices,
                            Py_ssize_t n_pre, Py_ssize_t n_post, weight_t* weights,
                            double target, double* sums) noexcept nogil

# The same on the columns j0 .. j1-1 only (their weights and sums[j0:j1]): the same
# numbers for any split of the columns (threads, each on its own range).
cdef void normalize_columns_range(const int64_t* indptr, const int32_t* indices,
                                  Py_ssize_t n_pre, Py_ssize_t n_post,
                                  weight_t* weights, double target, double* sums,
                                  Py_ssize_t j0, Py_ssize_t j1) noexcept nogil

# The first s with weights[s] not finite, or -1 (blocks tested without a branch per
# value).
cdef int64_t first_nonfinite(const weight_t* w, int64_t n) noexcept nogil
