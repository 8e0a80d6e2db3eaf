"""The one check of a CSR matrix by presynaptic neuron (issue 16).

Used by :class:`plasticity.SynapseMatrix` (construction), :meth:`Recorder.set_synapses`
(writing a run file) and the run-file reader (``Run.weights``, ``verify``), so that a
malformed matrix is described the same way wherever it is met: the array, the first
offending position and value, and what is allowed (as SciPy's ``check_format``).
Pure NumPy; order and uniqueness within rows are checked by ``SynapseMatrix`` only
(run files may hold any valid CSR).
"""
import numpy as np

__all__ = ["check_csr"]


def _int_dtype(name, a):
    if a.dtype == np.bool_ or a.dtype.kind not in "iu":
        raise TypeError(f"{name} must have an integer dtype, got {a.dtype}")


def check_csr(indptr, indices, shape, *, weights=None, max_nnz=None):
    """Check ``(indptr, indices[, weights])`` as a CSR matrix of ``shape`` (n_pre, n_post).

    ``indptr`` and ``indices`` are 1-D ndarrays (``weights`` too, when given);
    ``shape`` a pair of integers >= 0. Raises ``TypeError`` (dtype) or ``ValueError``
    (anything else) whose message names the array, the first bad position and value,
    and what is allowed, e.g. ``indices must be in [0, n_post) = [0, 3), got
    indices[1]=3``. Callers prefix the message with what they are checking.
    Nothing is returned or cast.
    """
    n_pre, n_post = (int(s) for s in shape)
    if n_pre < 0 or n_post < 0:
        raise ValueError(f"shape must be (n_pre, n_post) >= 0, got {(n_pre, n_post)}")
    for name, a in (("indptr", indptr), ("indices", indices)):
        if a.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got an array of shape {a.shape}")
    _int_dtype("indptr", indptr)
    if indptr.shape[0] != n_pre + 1:
        raise ValueError(f"indptr must have length n_pre + 1 = {n_pre + 1}, "
                         f"got {indptr.shape[0]}")
    if indptr[0] != 0:
        raise ValueError(f"indptr[0] must be 0, got {indptr[0]}")
    nnz = indices.shape[0]
    if max_nnz is not None and nnz >= max_nnz:
        raise ValueError(f"nnz (len(indices)) must be < 2**31-1 = {max_nnz} (synapse ids "
                         f"are int32), got {nnz}")
    if n_pre > 0:
        dec = np.flatnonzero(indptr[1:] < indptr[:-1])
        if dec.size:
            p = int(dec[0]) + 1
            raise ValueError(f"indptr must be non-decreasing: indptr[{p}]={indptr[p]} < "
                             f"indptr[{p - 1}]={indptr[p - 1]}")
    if indptr[-1] != nnz:
        raise ValueError(f"indptr[-1] must equal len(indices) = {nnz}, got {indptr[-1]}")
    if nnz or indices.dtype.kind in "iub":
        _int_dtype("indices", indices)
    if nnz:
        lo, hi = indices.min(), indices.max()
        if lo < 0 or hi >= n_post:
            bad = int(np.flatnonzero((indices < 0) | (indices >= n_post))[0])
            raise ValueError(f"indices must be in [0, n_post) = [0, {n_post}), got "
                             f"indices[{bad}]={indices[bad]}")
    if weights is not None:
        if weights.ndim != 1 or weights.shape[0] != nnz:
            raise ValueError(f"weights must have the same length as indices ({nnz}), "
                             f"got {weights.shape[0] if weights.ndim == 1 else weights.shape}")
