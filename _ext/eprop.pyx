# cython: language_level=3
"""Compiled e-prop (Bellec et al. 2020), forward in time (private module).

Two groups of kernels:

1. The online e-prop accumulation of the discrete-time RSNN of ``plasticity.rsnn``
   (``eprop_online``): the same equations, in the same order of floating-point
   operations where it matters, as ``eprop_gradients(..., method="online")``; the
   Python wrapper is in ``plasticity/rsnn/_compiled.py`` and validates everything
   before the kernel runs. The e-prop state is per synapse and per batch element:
   O(batch x synapses) per step. (The RSNN's compiled forward pass is in
   ``rsnn_kernels.pyx``.)

2. The kernel of ``plasticity.rules.EPropRule``, an e-prop rule of the core engine: a
   ``CustomRule`` (``rules.pxd``) whose ``on_step`` keeps, per presynaptic neuron, the
   derivative of the postsynaptic membrane with respect to the weight (the presynaptic
   spikes filtered by the neuron's exact propagators) and, per synapse, the ALIF
   adaptation eligibility vector and the kappa-filtered trace. Equations in
   plasticity/rules/eprop.py.
"""
from cpython.pycapsule cimport PyCapsule_New
from libc.math cimport fabs
from libc.stdint cimport int32_t, int64_t
from libc.string cimport memset

from plasticity._ext.rules cimport CustomRule

import numpy as np


cdef _check3(str name, double[:, :, ::1] arr, Py_ssize_t T, Py_ssize_t B, Py_ssize_t k):
    if arr.shape[0] != T or arr.shape[1] != B or arr.shape[2] != k:
        raise ValueError(f"{name} must have shape ({T}, {B}, {k}), got "
                         f"({arr.shape[0]}, {arr.shape[1]}, {arr.shape[2]})")


# ---------------------------------------------------------------------------
# 1. Online e-prop accumulation (plasticity/rsnn/eprop.py, _OnlineTraces)
# ---------------------------------------------------------------------------
cdef void _online_step(const double* pre, Py_ssize_t B, Py_ssize_t n_pre, Py_ssize_t n,
                       const double* psi, const double* lt, const double* lr,
                       const double* beta, const Py_ssize_t* alif, Py_ssize_t n_alif,
                       double alpha, double rho, double kappa,
                       double* ev, double* eps_a, double* filt, double* grad,
                       double* e) noexcept nogil:
    """One step of one weight matrix: pre (B, n_pre), psi/lt/lr (B, n) (lt, lr may be
    NULL), ev (B, n_pre), eps_a (B, n_pre, n_alif) over the ALIF neurons ``alif``,
    filt (B, n_pre, n) (NULL without lt), grad (n_pre, n), e (n) scratch.
    Branch-free inner loops (vectorised by the compiler); per element the operations
    of the NumPy form, in its order."""
    cdef Py_ssize_t b, i, j, k, o, oa
    cdef double evi, ps, ea, f
    cdef const double* psb
    cdef const double* ltb
    cdef const double* lrb
    cdef double* g
    cdef double* fr
    for b in range(B):
        psb = psi + b * n
        ltb = lt + b * n if lt != NULL else NULL
        lrb = lr + b * n if lr != NULL else NULL
        for i in range(n_pre):
            evi = alpha * ev[b * n_pre + i] + pre[b * n_pre + i]
            ev[b * n_pre + i] = evi
            g = grad + i * n
            for j in range(n):
                e[j] = psb[j] * evi
            if n_alif:
                oa = (b * n_pre + i) * n_alif
                for k in range(n_alif):
                    j = alif[k]
                    ps = psb[j]
                    ea = eps_a[oa + k]
                    e[j] = ps * (evi - beta[j] * ea)
                    eps_a[oa + k] = ps * evi + (rho - beta[j] * ps) * ea
            if ltb != NULL:
                fr = filt + (b * n_pre + i) * n
                for j in range(n):
                    f = kappa * fr[j] + e[j]
                    fr[j] = f
                    g[j] += ltb[j] * f
            if lrb != NULL:
                for j in range(n):
                    g[j] += lrb[j] * e[j]


def eprop_online(const double[:, :, ::1] x, const double[:, :, ::1] z,
                 const double[:, :, ::1] psi, L_task, L_raw, const double[::1] beta,
                 double alpha, double rho, double kappa, double[:, ::1] g_in,
                 double[:, ::1] g_rec):
    """Accumulate the e-prop gradients of W_in and W_rec into g_in (n_in, n) and g_rec
    (n, n) (not masked); L_task, L_raw: (T, B, n) float64 C-contiguous or None."""
    cdef Py_ssize_t T = z.shape[0], B = z.shape[1], n = z.shape[2], n_in = x.shape[2]
    if x.shape[0] != T or x.shape[1] != B or psi.shape[0] != T or psi.shape[1] != B \
            or psi.shape[2] != n:
        raise ValueError("x, z and psi must share (T, B) and z, psi their shape")
    if beta.shape[0] != n:
        raise ValueError(f"beta must have length {n}, got {beta.shape[0]}")
    if g_in.shape[0] != n_in or g_in.shape[1] != n or g_rec.shape[0] != n \
            or g_rec.shape[1] != n:
        raise ValueError("g_in must be (n_in, n) and g_rec (n, n)")
    cdef const double[:, :, ::1] lt_v
    cdef const double[:, :, ::1] lr_v
    cdef const double* lt0 = NULL
    cdef const double* lr0 = NULL
    if L_task is not None:
        lt_v = L_task
        if lt_v.shape[0] != T or lt_v.shape[1] != B or lt_v.shape[2] != n:
            raise ValueError(f"L_task must have shape ({T}, {B}, {n})")
        lt0 = &lt_v[0, 0, 0]
    if L_raw is not None:
        lr_v = L_raw
        if lr_v.shape[0] != T or lr_v.shape[1] != B or lr_v.shape[2] != n:
            raise ValueError(f"L_raw must have shape ({T}, {B}, {n})")
        lr0 = &lr_v[0, 0, 0]
    cdef Py_ssize_t j
    alif_idx = np.flatnonzero(np.asarray(beta) != 0.0).astype(np.intp)
    cdef Py_ssize_t na = alif_idx.shape[0]
    cdef Py_ssize_t[::1] alif_v = np.concatenate([alif_idx, np.zeros(1, np.intp)])
    cdef bint alif = na > 0
    cdef double[::1] ebuf = np.zeros(n)
    cdef double[::1] ev_in = np.zeros(max(B * n_in, 1))
    cdef double[::1] ev_rec = np.zeros(max(B * n, 1))
    cdef double[::1] zprev = np.zeros(max(B * n, 1))
    cdef double[::1] ea_in, ea_rec, f_in, f_rec
    cdef double* ea_in_p = NULL
    cdef double* ea_rec_p = NULL
    cdef double* f_in_p = NULL
    cdef double* f_rec_p = NULL
    if alif:
        ea_in = np.zeros(max(B * n_in * na, 1))
        ea_rec = np.zeros(max(B * n * na, 1))
        ea_in_p = &ea_in[0]
        ea_rec_p = &ea_rec[0]
    if lt0 != NULL:
        f_in = np.zeros(max(B * n_in * n, 1))
        f_rec = np.zeros(max(B * n * n, 1))
        f_in_p = &f_in[0]
        f_rec_p = &f_rec[0]
    cdef Py_ssize_t t, step = B * n
    cdef const double* ltt
    cdef const double* lrt
    cdef const double* zt
    if T == 0 or B == 0:
        return
    with nogil:
        for t in range(T):
            ltt = lt0 + t * step if lt0 != NULL else NULL
            lrt = lr0 + t * step if lr0 != NULL else NULL
            _online_step(&x[t, 0, 0], B, n_in, n, &psi[t, 0, 0], ltt, lrt, &beta[0],
                         &alif_v[0], na, alpha, rho, kappa, &ev_in[0], ea_in_p, f_in_p,
                         &g_in[0, 0], &ebuf[0])
            _online_step(&zprev[0], B, n, n, &psi[t, 0, 0], ltt, lrt, &beta[0],
                         &alif_v[0], na, alpha, rho, kappa, &ev_rec[0], ea_rec_p, f_rec_p,
                         &g_rec[0, 0], &ebuf[0])
            zt = &z[t, 0, 0]
            for j in range(step):
                zprev[j] = zt[j]


# ---------------------------------------------------------------------------
# 2. EPropRule: e-prop as a CustomRule of the core engine
# ---------------------------------------------------------------------------
cdef struct EPState:
    Py_ssize_t n_pre
    Py_ssize_t n_post
    const int64_t* post_ptr
    const int32_t* post_syn
    const int32_t* post_pre
    float* w32
    double* w64
    # postsynaptic population state (n_vars, n_post), rows of v, a (-1: LIF), refractory
    const double* state
    Py_ssize_t row_v
    Py_ssize_t row_a
    Py_ssize_t row_ref
    double V_th
    double beta
    double P_a
    double c_psi       # gamma / width
    double width
    # receptor propagators: current receptor (P_vv, P_syn, P_vsyn), or jump of v
    int current
    double P_vv
    double P_syn
    double P_vsyn
    # per presynaptic neuron: dv/dw, dI/dw, arrivals of this step
    double* ev
    double* ei
    double* arr
    # per synapse, post order: adaptation eligibility vector, kappa-filtered trace
    double* eps_a
    double* filt
    double kappa
    # per postsynaptic neuron: psi of the current step
    double* psi
    # learning signal (T, n_post) or NULL (supplied per step from Python)
    const double* L
    int64_t L_T
    int64_t* pending   # [0]: step whose synapse phase awaits its signal, -1 if none
    # update
    double eta
    int accumulate
    double* grad       # per synapse (synapse order): sum_t L e
    double w_min
    double w_max


cdef void _ep_after_pre(void* data, Py_ssize_t pre, int64_t t) noexcept nogil:
    (<EPState*>data).arr[pre] += 1.0


cdef double _ep_identity(void* data, Py_ssize_t syn, Py_ssize_t pre, Py_ssize_t post,
                         double w, int64_t t) noexcept nogil:
    return w


cdef void _ep_nothing(void* data, Py_ssize_t post, int64_t t) noexcept nogil:
    pass


cdef void _ep_neuron_phase(EPState* s) noexcept nogil:
    """Advance the per-neuron eligibility (dv/dw of this step) and compute psi."""
    cdef Py_ssize_t i, j
    cdef double d, r
    cdef Py_ssize_t n = s.n_post
    if s.current:
        for i in range(s.n_pre):
            s.ev[i] = s.ev[i] * s.P_vv + s.ei[i] * s.P_vsyn
            s.ei[i] = s.ei[i] * s.P_syn
    else:
        for i in range(s.n_pre):
            s.ev[i] = s.ev[i] * s.P_vv
    for j in range(n):
        if s.state[s.row_ref * n + j] > 0.0:
            s.psi[j] = 0.0
            continue
        d = s.state[s.row_v * n + j] - s.V_th
        if s.row_a >= 0:
            d = s.state[s.row_v * n + j] - (s.V_th + s.beta * s.state[s.row_a * n + j])
        r = 1.0 - fabs(d) / s.width
        s.psi[j] = s.c_psi * r if r > 0.0 else 0.0


cdef inline void _ep_change(EPState* s, Py_ssize_t syn, double lj, double tr) noexcept nogil:
    cdef double w
    if s.accumulate:
        s.grad[syn] += lj * tr
        return
    if s.w64 != NULL:
        w = s.w64[syn] - s.eta * (lj * tr)
    else:
        w = <double>s.w32[syn] - s.eta * (lj * tr)
    if w < s.w_min:
        w = s.w_min
    elif w > s.w_max:
        w = s.w_max
    if s.w64 != NULL:
        s.w64[syn] = w
    else:
        s.w32[syn] = <float>w


cdef void _ep_synapse_phase(EPState* s, const double* L) noexcept nogil:
    """Traces of this step, weight change (or gradient) with the signal L (n_post)
    (NULL: no signal), ALIF eligibility vectors for the next step; then the
    presynaptic arrivals of this step enter the per-neuron eligibility."""
    cdef Py_ssize_t j, q, i, q0, q1
    cdef double lj, ps, e, ea, f, evi
    cdef bint alif = s.eps_a != NULL
    cdef bint filt = s.filt != NULL
    for j in range(s.n_post):
        lj = L[j] if L != NULL else 0.0
        ps = s.psi[j]
        q0 = s.post_ptr[j]
        q1 = s.post_ptr[j + 1]
        if not alif and not filt:
            if ps == 0.0 or lj == 0.0:
                continue
            for q in range(q0, q1):
                e = ps * s.ev[s.post_pre[q]]
                if e != 0.0:
                    _ep_change(s, s.post_syn[q], lj, e)
            continue
        for q in range(q0, q1):
            evi = s.ev[s.post_pre[q]]
            if alif:
                ea = s.eps_a[q]
                e = ps * (evi - s.beta * ea)
                s.eps_a[q] = s.P_a * (ps * evi + (1.0 - s.beta * ps) * ea)
            else:
                e = ps * evi
            if filt:
                f = s.kappa * s.filt[q] + e
                s.filt[q] = f
                e = f
            if lj != 0.0 and e != 0.0:
                _ep_change(s, s.post_syn[q], lj, e)
    if s.current:
        for i in range(s.n_pre):
            if s.arr[i] != 0.0:
                s.ei[i] += s.arr[i]
                s.arr[i] = 0.0
    else:
        for i in range(s.n_pre):
            if s.arr[i] != 0.0:
                s.ev[i] += s.arr[i]
                s.arr[i] = 0.0


cdef void _ep_on_step(void* data, int64_t t) noexcept nogil:
    cdef EPState* s = <EPState*>data
    _ep_neuron_phase(s)
    if s.pending != NULL:
        # learning signal from Python after this step (EPropRule.on_step)
        s.pending[0] = t
        return
    if s.L != NULL and t >= 0 and t < s.L_T:
        _ep_synapse_phase(s, s.L + t * s.n_post)
    else:
        _ep_synapse_phase(s, NULL)


cdef class EPropKernel:
    """Owns the CustomRule and its state struct; every array it points into belongs
    to the rule object (or the network) and is kept alive here."""
    cdef EPState st
    cdef CustomRule rule
    cdef object keep

    def __init__(self, synapses, weights, state, Py_ssize_t row_v, Py_ssize_t row_a,
                 Py_ssize_t row_ref, double V_th, double beta, double P_a, double gamma,
                 double width, bint current, double P_vv, double P_syn, double P_vsyn,
                 ev, ei, arr, eps_a, filt, double kappa, psi, L, pending, double eta,
                 bint accumulate, grad, double w_min, double w_max):
        cdef const int64_t[::1] pp = synapses.post_ptr
        cdef const int32_t[::1] ps = synapses.post_syn
        cdef const int32_t[::1] pr = synapses.post_pre
        cdef double[:, ::1] stv = state
        cdef double[::1] evv = ev, eiv = ei, arrv = arr, psiv = psi, gv = grad
        cdef double[::1] eav, fv
        cdef const double[:, ::1] Lv
        cdef int64_t[::1] pend
        cdef float[::1] w32
        cdef double[::1] w64
        n_post = stv.shape[1]
        if pp.shape[0] != n_post + 1:
            raise ValueError("post_ptr does not match the postsynaptic population")
        if width <= 0.0:
            raise ValueError(f"psi width must be > 0 mV, got {width}")
        self.keep = (synapses, weights, state, ev, ei, arr, eps_a, filt, psi, L, pending,
                     grad)
        memset(&self.st, 0, sizeof(EPState))
        self.st.n_pre = synapses.n_pre
        self.st.n_post = n_post
        self.st.post_ptr = &pp[0]
        self.st.post_syn = &ps[0] if ps.shape[0] else NULL
        self.st.post_pre = &pr[0] if pr.shape[0] else NULL
        if weights.dtype == np.float64:
            w64 = weights
            self.st.w64 = &w64[0] if w64.shape[0] else NULL
        else:
            w32 = weights
            self.st.w32 = &w32[0] if w32.shape[0] else NULL
        self.st.state = &stv[0, 0]
        self.st.row_v, self.st.row_a, self.st.row_ref = row_v, row_a, row_ref
        self.st.V_th, self.st.beta, self.st.P_a = V_th, beta, P_a
        self.st.width = width
        self.st.c_psi = gamma / width
        self.st.current = current
        self.st.P_vv, self.st.P_syn, self.st.P_vsyn = P_vv, P_syn, P_vsyn
        self.st.ev, self.st.ei, self.st.arr = &evv[0], &eiv[0], &arrv[0]
        self.st.psi = &psiv[0]
        if eps_a is not None:
            eav = eps_a
            self.st.eps_a = &eav[0]
        if filt is not None:
            fv = filt
            self.st.filt = &fv[0]
        self.st.kappa = kappa
        if L is not None:
            Lv = L
            if Lv.shape[1] != n_post:
                raise ValueError(f"learning signal must have {n_post} columns, "
                                 f"got {Lv.shape[1]}")
            self.st.L = &Lv[0, 0] if Lv.shape[0] else NULL
            self.st.L_T = Lv.shape[0]
        if pending is not None:
            pend = pending
            self.st.pending = &pend[0]
        self.st.eta = eta
        self.st.accumulate = accumulate
        self.st.grad = &gv[0]
        self.st.w_min, self.st.w_max = w_min, w_max
        self.rule.data = &self.st
        self.rule.on_pre_synapse = _ep_identity
        self.rule.after_pre = _ep_after_pre
        self.rule.on_post_synapse = _ep_identity
        self.rule.after_post = _ep_nothing
        self.rule.on_step = _ep_on_step

    def capsule(self):
        return PyCapsule_New(&self.rule, "plasticity.CustomRule", NULL)

    def synapse_phase(self, signal):
        """Run the synapse phase of the pending step with ``signal`` (n_post,) float64
        C-contiguous, or None for no signal."""
        cdef const double[::1] sv
        cdef const double* p = NULL
        if self.st.pending == NULL or self.st.pending[0] < 0:
            raise RuntimeError("no step awaits a learning signal")
        if signal is not None:
            sv = signal
            if sv.shape[0] != self.st.n_post:
                raise ValueError(f"learning signal must have length {self.st.n_post}, "
                                 f"got {sv.shape[0]}")
            p = &sv[0]
        with nogil:
            _ep_synapse_phase(&self.st, p)
            self.st.pending[0] = -1
