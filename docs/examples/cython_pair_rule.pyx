# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Pair-based all-to-all STDP with hard bounds, written as a user's Cython rule.

Build it with ``cythonize`` and ``include_path=[plasticity.get_include()]`` (see
docs/writing-rules.md); the engine then calls these functions inside its compiled
loop, without the GIL. It computes what the built-in
``STDP(Pair(...), Additive(...))`` computes, which the tests check.
"""
from cpython.pycapsule cimport PyCapsule_New
from libc.math cimport exp
from libc.stdint cimport int64_t

from plasticity._ext.rules cimport CustomRule

import numpy as np

from plasticity.rules import CythonRule


cdef struct PairState:
    double* x          # pre trace per presynaptic neuron (value after its last update)
    int64_t* x_last    # step of that update
    double* y          # post trace per postsynaptic neuron
    int64_t* y_last
    double c_plus      # dt / tau_plus
    double c_minus     # dt / tau_minus
    double a_plus
    double a_minus
    double w_min
    double w_max


cdef inline double _trace(double v, int64_t last, int64_t t, double c) noexcept nogil:
    return v * exp(-(t - last) * c)


cdef inline double _clip(PairState* s, double w) noexcept nogil:
    return s.w_min if w < s.w_min else (s.w_max if w > s.w_max else w)


cdef double _on_pre_synapse(void* data, Py_ssize_t syn, Py_ssize_t pre, Py_ssize_t post,
                            double w, int64_t t) noexcept nogil:
    cdef PairState* s = <PairState*>data
    cdef double y = _trace(s.y[post], s.y_last[post], t, s.c_minus)
    if y == 0.0:
        return w
    return _clip(s, w - s.a_minus * y)


cdef void _after_pre(void* data, Py_ssize_t pre, int64_t t) noexcept nogil:
    cdef PairState* s = <PairState*>data
    s.x[pre] = _trace(s.x[pre], s.x_last[pre], t, s.c_plus) + 1.0
    s.x_last[pre] = t


cdef double _on_post_synapse(void* data, Py_ssize_t syn, Py_ssize_t pre, Py_ssize_t post,
                             double w, int64_t t) noexcept nogil:
    cdef PairState* s = <PairState*>data
    cdef double x = _trace(s.x[pre], s.x_last[pre], t, s.c_plus)
    if x == 0.0:
        return w
    return _clip(s, w + s.a_plus * x)


cdef void _after_post(void* data, Py_ssize_t post, int64_t t) noexcept nogil:
    cdef PairState* s = <PairState*>data
    s.y[post] = _trace(s.y[post], s.y_last[post], t, s.c_minus) + 1.0
    s.y_last[post] = t


cdef class _Kernel:
    """Owns the C structs; the arrays they point into are the rule's."""
    cdef PairState state
    cdef CustomRule rule
    cdef object arrays

    def __init__(self, x, x_last, y, y_last, double c_plus, double c_minus,
                 double a_plus, double a_minus, double w_min, double w_max):
        cdef double[::1] xv = x, yv = y
        cdef int64_t[::1] xl = x_last, yl = y_last
        self.arrays = (x, x_last, y, y_last)
        self.state.x = &xv[0]
        self.state.x_last = &xl[0]
        self.state.y = &yv[0]
        self.state.y_last = &yl[0]
        self.state.c_plus = c_plus
        self.state.c_minus = c_minus
        self.state.a_plus = a_plus
        self.state.a_minus = a_minus
        self.state.w_min = w_min
        self.state.w_max = w_max
        self.rule.data = &self.state
        self.rule.on_pre_synapse = _on_pre_synapse
        self.rule.after_pre = _after_pre
        self.rule.on_post_synapse = _on_post_synapse
        self.rule.after_post = _after_post
        self.rule.on_step = NULL

    def capsule(self):
        return PyCapsule_New(&self.rule, "plasticity.CustomRule", NULL)


class CythonPairSTDP(CythonRule):
    """Pair STDP (all-to-all, additive, hard bounds) compiled by the user."""

    def __init__(self, tau_plus=20.0, tau_minus=20.0, a_plus=0.01, a_minus=0.0105,
                 w_min=0.0, w_max=1.0):
        if tau_plus <= 0 or tau_minus <= 0:
            raise ValueError(f"tau_plus and tau_minus must be > 0 ms, got {tau_plus}, "
                             f"{tau_minus}")
        self.tau_plus, self.tau_minus = float(tau_plus), float(tau_minus)
        self.a_plus, self.a_minus = float(a_plus), float(a_minus)
        self.w_min, self.w_max = float(w_min), float(w_max)

    def bind(self, projection, dt):
        super().bind(projection, dt)
        syn = projection.synapses
        if getattr(self, "x", None) is None or self.x.shape[0] != syn.n_pre:
            self.x = np.zeros(max(syn.n_pre, 1))
            self.x_last = np.zeros(max(syn.n_pre, 1), dtype=np.int64)
            self.y = np.zeros(max(syn.n_post, 1))
            self.y_last = np.zeros(max(syn.n_post, 1), dtype=np.int64)
        self._kernel = _Kernel(self.x, self.x_last, self.y, self.y_last,
                               dt / self.tau_plus, dt / self.tau_minus, self.a_plus,
                               self.a_minus, self.w_min, self.w_max)

    def capsule(self):
        return self._kernel.capsule()

    def get_state(self):
        return dict(x=self.x, x_last=self.x_last, y=self.y, y_last=self.y_last)

    def parameters(self):
        return dict(rule="CythonPairSTDP", tau_plus=self.tau_plus,
                    tau_minus=self.tau_minus, a_plus=self.a_plus, a_minus=self.a_minus,
                    w_min=self.w_min, w_max=self.w_max)
