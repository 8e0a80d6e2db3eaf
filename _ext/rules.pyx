# cython: language_level=3
"""Trace-based STDP kernels (private; public classes in plasticity/rules/).

The per-spike kernels are ``cdef inline`` in ``rules.pxd`` so that the engine's loop
inlines them. This module adds the unpacking of the parameter vector and
Python entry points used by tests to hold the kernels to their formulas.
"""
from libc.stdint cimport int64_t


cdef StdpParams unpack_stdp(const double* v) noexcept nogil:
    cdef StdpParams p
    p.timing = <int>v[0]
    p.wdep = <int>v[1]
    p.a_plus = v[2]
    p.a_minus = v[3]
    p.a3_plus = v[4]
    p.a3_minus = v[5]
    p.c_plus = v[6]
    p.c_minus = v[7]
    p.c_x = v[8]
    p.c_y = v[9]
    p.w_min = v[10]
    p.w_max = v[11]
    p.mu_plus = v[12]
    p.mu_minus = v[13]
    p.pre_nearest = p.timing == TIMING_PAIR_NEAREST_SYM or p.timing == TIMING_TRIPLET_NEAREST
    p.post_nearest = p.pre_nearest or p.timing == TIMING_PAIR_NEAREST_PRE
    p.pre_reset = p.timing == TIMING_PAIR_NEAREST_PRE
    p.triplet = p.timing == TIMING_TRIPLET_ALL or p.timing == TIMING_TRIPLET_NEAREST
    return p


def _check_packed(const double[::1] packed):
    if packed.shape[0] != STDP_NPARAMS:
        raise ValueError(f"packed must hold the {STDP_NPARAMS} values of STDP.pack(dt), "
                         f"got {packed.shape[0]}")
    if packed[1] < 0 or packed[1] > 3 or packed[0] < 0 or packed[0] > 4:
        raise ValueError(f"packed has an unknown timing ({packed[0]}) or weight "
                         f"dependence ({packed[1]}) id")


def weight_dependence(const double[::1] packed, const double[::1] w):
    """f+(w) and f-(w) of a packed rule for each weight (test entry point)."""
    import numpy as np
    _check_packed(packed)
    cdef StdpParams p = unpack_stdp(&packed[0])
    cdef Py_ssize_t i, n = w.shape[0]
    fp = np.empty(n)
    fm = np.empty(n)
    cdef double[::1] a = fp, b = fm
    for i in range(n):
        a[i] = f_plus(&p, w[i])
        b[i] = f_minus(&p, w[i])
    return fp, fm


def apply_depress(const double[::1] packed, double w, double post_o1, double pre_r2):
    """One presynaptic-spike weight update (test entry point)."""
    _check_packed(packed)
    cdef StdpParams p = unpack_stdp(&packed[0])
    return depress(&p, w, post_o1, pre_r2)


def apply_potentiate(const double[::1] packed, double w, double pre_r1, double post_o2):
    """One postsynaptic-spike weight update (test entry point)."""
    _check_packed(packed)
    cdef StdpParams p = unpack_stdp(&packed[0])
    return potentiate(&p, w, pre_r1, post_o2)


def decayed(double value, int64_t last, int64_t t, double c):
    """Event-driven trace value at step t (test entry point)."""
    return trace_value(value, last, t, c)
