# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Vogels-Sprekeler 2011 and Clopath 2010 written by hand as Cython ``CythonRule``s
(following docs/examples/cython_pair_rule.pyx), the baselines of
benchmarks/rule_language.py. They compute what ``vogels_sprekeler_2011()`` and
``clopath_2010()`` of plasticity.rules.library compute (the benchmark reports the
largest weight difference); weights float64 only.

Compiled at benchmark time (``rule_language.build_cython_rules``), never installed.
"""
from cpython.pycapsule cimport PyCapsule_New
from libc.math cimport INFINITY, exp
from libc.stdint cimport int32_t, int64_t

from plasticity._ext.rules cimport CustomRule

import numpy as np

from plasticity.rules import CythonRule


cdef inline double _decay(double v, int64_t last, int64_t t, double c) noexcept nogil:
    if t == last or v == 0.0:
        return v
    return v * exp(-(<double>(t - last)) * c)


cdef inline double _clip(double w, double lo, double hi) noexcept nogil:
    return lo if w < lo else (hi if w > hi else w)


# ----------------------------------------------------------------------------
# Vogels-Sprekeler: symmetric pre/post traces, a constant depression per pre spike
# ----------------------------------------------------------------------------
cdef struct VSState:
    double* x          # pre trace, value after its last update
    int64_t* x_last
    double* y          # post trace
    int64_t* y_last
    double c           # dt / tau_stdp
    double eta
    double alpha
    double w_min
    double w_max


cdef double _vs_on_pre(void* data, Py_ssize_t syn, Py_ssize_t pre, Py_ssize_t post,
                       double w, int64_t t) noexcept nogil:
    cdef VSState* s = <VSState*>data
    cdef double y = _decay(s.y[post], s.y_last[post], t, s.c)
    return _clip(w + s.eta * (y - s.alpha), s.w_min, s.w_max)


cdef void _vs_after_pre(void* data, Py_ssize_t pre, int64_t t) noexcept nogil:
    cdef VSState* s = <VSState*>data
    s.x[pre] = _decay(s.x[pre], s.x_last[pre], t, s.c) + 1.0
    s.x_last[pre] = t


cdef double _vs_on_post(void* data, Py_ssize_t syn, Py_ssize_t pre, Py_ssize_t post,
                        double w, int64_t t) noexcept nogil:
    cdef VSState* s = <VSState*>data
    cdef double x = _decay(s.x[pre], s.x_last[pre], t, s.c)
    return _clip(w + s.eta * x, s.w_min, s.w_max)


cdef void _vs_after_post(void* data, Py_ssize_t post, int64_t t) noexcept nogil:
    cdef VSState* s = <VSState*>data
    s.y[post] = _decay(s.y[post], s.y_last[post], t, s.c) + 1.0
    s.y_last[post] = t


cdef class _VSKernel:
    cdef VSState state
    cdef CustomRule rule
    cdef object arrays

    def __init__(self, x, x_last, y, y_last, double c, double eta, double alpha,
                 double w_min, double w_max):
        cdef double[::1] xv = x, yv = y
        cdef int64_t[::1] xl = x_last, yl = y_last
        self.arrays = (x, x_last, y, y_last)
        self.state.x = &xv[0]
        self.state.x_last = &xl[0]
        self.state.y = &yv[0]
        self.state.y_last = &yl[0]
        self.state.c = c
        self.state.eta = eta
        self.state.alpha = alpha
        self.state.w_min = w_min
        self.state.w_max = w_max
        self.rule.data = &self.state
        self.rule.on_pre_synapse = _vs_on_pre
        self.rule.after_pre = _vs_after_pre
        self.rule.on_post_synapse = _vs_on_post
        self.rule.after_post = _vs_after_post
        self.rule.on_step = NULL

    def capsule(self):
        return PyCapsule_New(&self.rule, "plasticity.CustomRule", NULL)


class CythonVogelsSprekeler(CythonRule):
    """Vogels-Sprekeler 2011 by hand; parameters as ``vogels_sprekeler_2011``."""

    def __init__(self, eta=1e-4, rho0=3.0, tau_stdp=20.0, w_min=0.0, w_max=10.0):
        self.eta, self.rho0, self.tau_stdp = float(eta), float(rho0), float(tau_stdp)
        self.w_min, self.w_max = float(w_min), float(w_max)
        self.alpha = 2.0 * self.rho0 * 1e-3 * self.tau_stdp

    def bind(self, projection, dt):
        super().bind(projection, dt)
        syn = projection.synapses
        if getattr(self, "x", None) is None or self.x.shape[0] != max(syn.n_pre, 1):
            self.x = np.zeros(max(syn.n_pre, 1))
            self.x_last = np.zeros(max(syn.n_pre, 1), dtype=np.int64)
            self.y = np.zeros(max(syn.n_post, 1))
            self.y_last = np.zeros(max(syn.n_post, 1), dtype=np.int64)
        self._kernel = _VSKernel(self.x, self.x_last, self.y, self.y_last,
                                 dt / self.tau_stdp, self.eta, self.alpha, self.w_min,
                                 self.w_max)

    def capsule(self):
        return self._kernel.capsule()

    def get_state(self):
        return dict(x=self.x, x_last=self.x_last, y=self.y, y_last=self.y_last)

    def parameters(self):
        return dict(rule="CythonVogelsSprekeler", eta=self.eta, rho0=self.rho0,
                    tau_stdp=self.tau_stdp, w_min=self.w_min, w_max=self.w_max)


# ----------------------------------------------------------------------------
# Clopath: x_bar per pre neuron (event-driven), u_minus/u_plus per post neuron
# (exponential Euler from v before the reset), LTD at pre spikes, LTP every step
# ----------------------------------------------------------------------------
cdef struct ClopathState:
    double* x          # x_bar per pre neuron, value after its last update
    int64_t* x_last
    double* u_minus    # per post neuron
    double* u_plus
    const double* v    # the postsynaptic population's v row (before the reset here)
    double* w          # the projection's weights (float64)
    const int64_t* post_ptr
    const int32_t* post_syn
    const int32_t* post_pre
    Py_ssize_t n_post
    const int64_t* indptr
    const int32_t* indices
    Py_ssize_t n_pre
    double c_x         # dt / tau_x
    double inv_tau_x
    double E_minus     # exp(-dt / tau_minus)
    double E_plus
    double A_LTD
    double dt_A_LTP
    double theta_minus
    double theta_plus
    double w_min
    double w_max


cdef double _cl_on_pre(void* data, Py_ssize_t syn, Py_ssize_t pre, Py_ssize_t post,
                       double w, int64_t t) noexcept nogil:
    cdef ClopathState* s = <ClopathState*>data
    cdef double d = s.u_minus[post] - s.theta_minus
    if d <= 0.0:
        return w
    return _clip(w - s.A_LTD * d, s.w_min, s.w_max)


cdef void _cl_after_pre(void* data, Py_ssize_t pre, int64_t t) noexcept nogil:
    cdef ClopathState* s = <ClopathState*>data
    s.x[pre] = _decay(s.x[pre], s.x_last[pre], t, s.c_x) + s.inv_tau_x
    s.x_last[pre] = t


cdef double _cl_on_post(void* data, Py_ssize_t syn, Py_ssize_t pre, Py_ssize_t post,
                        double w, int64_t t) noexcept nogil:
    return w


cdef void _cl_after_post(void* data, Py_ssize_t post, int64_t t) noexcept nogil:
    pass


cdef void _cl_on_step(void* data, int64_t t) noexcept nogil:
    cdef ClopathState* s = <ClopathState*>data
    cdef Py_ssize_t j, q, k, i
    cdef double v, f, up, um
    for j in range(s.n_post):
        v = s.v[j]
        up = s.u_plus[j]
        um = s.u_minus[j]
        f = s.dt_A_LTP * (v - s.theta_plus) * (up - s.theta_minus)
        if v > s.theta_plus and up > s.theta_minus:
            for q in range(s.post_ptr[j], s.post_ptr[j + 1]):
                k = s.post_syn[q]
                i = s.post_pre[q]
                s.w[k] = _clip(s.w[k] + f * _decay(s.x[i], s.x_last[i], t, s.c_x),
                               s.w_min, s.w_max)
        # exponential Euler from t to t + dt (exact for v frozen over the step)
        s.u_minus[j] = v + (um - v) * s.E_minus
        s.u_plus[j] = v + (up - v) * s.E_plus


cdef void _cl_on_step_every_synapse(void* data, int64_t t) noexcept nogil:
    """The same step without the skip: every synapse, every step, in row order (the
    loop the rule language generates), then the per-neuron filters."""
    cdef ClopathState* s = <ClopathState*>data
    cdef Py_ssize_t j, k, i
    cdef double v, up, um, x
    for i in range(s.n_pre):
        x = _decay(s.x[i], s.x_last[i], t, s.c_x)
        for k in range(s.indptr[i], s.indptr[i + 1]):
            j = s.indices[k]
            v = s.v[j]
            up = s.u_plus[j]
            s.w[k] = _clip(s.w[k] + s.dt_A_LTP * x
                           * _clip(v - s.theta_plus, 0.0, INFINITY)
                           * _clip(up - s.theta_minus, 0.0, INFINITY), s.w_min, s.w_max)
    for j in range(s.n_post):
        v = s.v[j]
        s.u_minus[j] = v + (s.u_minus[j] - v) * s.E_minus
        s.u_plus[j] = v + (s.u_plus[j] - v) * s.E_plus


cdef class _ClopathKernel:
    cdef ClopathState state
    cdef CustomRule rule
    cdef object arrays

    def __init__(self, x, x_last, u_minus, u_plus, v, w, post_ptr, post_syn, post_pre,
                 indptr, indices, dict k, bint every_synapse=False):
        cdef double[::1] xv = x, umv = u_minus, upv = u_plus, wv = w
        cdef const double[::1] vv = v
        cdef int64_t[::1] xl = x_last
        cdef const int64_t[::1] pp = post_ptr
        cdef const int32_t[::1] ps = post_syn, pq = post_pre, ix = indices
        cdef const int64_t[::1] ip = indptr
        self.arrays = (x, x_last, u_minus, u_plus, v, w, post_ptr, post_syn, post_pre,
                       indptr, indices)
        self.state.indptr = &ip[0]
        self.state.indices = &ix[0]
        self.state.n_pre = indptr.shape[0] - 1
        self.state.x = &xv[0]
        self.state.x_last = &xl[0]
        self.state.u_minus = &umv[0]
        self.state.u_plus = &upv[0]
        self.state.v = &vv[0]
        self.state.w = &wv[0]
        self.state.post_ptr = &pp[0]
        self.state.post_syn = &ps[0]
        self.state.post_pre = &pq[0]
        self.state.n_post = u_minus.shape[0]
        self.state.c_x = k["c_x"]
        self.state.inv_tau_x = k["inv_tau_x"]
        self.state.E_minus = k["E_minus"]
        self.state.E_plus = k["E_plus"]
        self.state.A_LTD = k["A_LTD"]
        self.state.dt_A_LTP = k["dt_A_LTP"]
        self.state.theta_minus = k["theta_minus"]
        self.state.theta_plus = k["theta_plus"]
        self.state.w_min = k["w_min"]
        self.state.w_max = k["w_max"]
        self.rule.data = &self.state
        self.rule.on_pre_synapse = _cl_on_pre
        self.rule.after_pre = _cl_after_pre
        self.rule.on_post_synapse = _cl_on_post
        self.rule.after_post = _cl_after_post
        self.rule.on_step = _cl_on_step_every_synapse if every_synapse else _cl_on_step

    def capsule(self):
        return PyCapsule_New(&self.rule, "plasticity.CustomRule", NULL)


class CythonClopath(CythonRule):
    """Clopath 2010 by hand; parameters as ``clopath_2010``. The weights must be
    float64 (this kernel writes them directly in ``on_step``).

    ``on_step`` walks the postsynaptic neurons and skips the synapses of a neuron
    whose factor [v - theta_plus]+ [u_plus - theta_minus]+ is 0 (most steps: v is
    below theta_plus); ``every_synapse=True`` visits every synapse every step instead
    (the loop the rule language generates), to separate the algorithm from the code.
    """

    def __init__(self, A_LTD=14e-5, A_LTP=8e-5, theta_minus=-70.6, theta_plus=-45.3,
                 tau_minus=10.0, tau_plus=7.0, tau_x=15.0, w_min=0.0, w_max=3.0,
                 every_synapse=False):
        self.every_synapse = bool(every_synapse)
        self.p = dict(A_LTD=float(A_LTD), A_LTP=float(A_LTP),
                      theta_minus=float(theta_minus), theta_plus=float(theta_plus),
                      tau_minus=float(tau_minus), tau_plus=float(tau_plus),
                      tau_x=float(tau_x), w_min=float(w_min), w_max=float(w_max))

    def bind(self, projection, dt):
        super().bind(projection, dt)
        syn = projection.synapses
        if syn.weights.dtype != np.float64:
            raise ValueError("CythonClopath needs float64 weights")
        p = self.p
        if getattr(self, "x", None) is None or self.x.shape[0] != max(syn.n_pre, 1):
            self.x = np.zeros(max(syn.n_pre, 1))
            self.x_last = np.zeros(max(syn.n_pre, 1), dtype=np.int64)
            self.u_minus = np.full(max(syn.n_post, 1), p["theta_minus"])
            self.u_plus = np.full(max(syn.n_post, 1), p["theta_minus"])
        post = projection.post
        v = post.state[post.model.var_index("v")]
        k = dict(c_x=dt / p["tau_x"], inv_tau_x=1.0 / p["tau_x"],
                 E_minus=np.exp(-dt / p["tau_minus"]), E_plus=np.exp(-dt / p["tau_plus"]),
                 A_LTD=p["A_LTD"], dt_A_LTP=dt * p["A_LTP"],
                 theta_minus=p["theta_minus"], theta_plus=p["theta_plus"],
                 w_min=p["w_min"], w_max=p["w_max"])
        self._kernel = _ClopathKernel(self.x, self.x_last, self.u_minus, self.u_plus, v,
                                      syn.weights, syn.post_ptr, syn.post_syn,
                                      syn.post_pre, syn.indptr, syn.indices, k,
                                      self.every_synapse)

    def capsule(self):
        return self._kernel.capsule()

    def get_state(self):
        return dict(x=self.x, x_last=self.x_last, u_minus=self.u_minus,
                    u_plus=self.u_plus)

    def parameters(self):
        return dict(rule="CythonClopath", **self.p)
