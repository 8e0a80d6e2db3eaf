# cython: language_level=3
"""Compiled kernels of the discrete-time RSNN (private module): the forward pass with
shared (2-D) or per-episode (3-D) weights, the backward recursion of BPTT, the
spike-driven outer products of its gradients and the time filters.

The Python wrappers (``simulate`` in plasticity/rsnn/network.py, ``bptt`` in
plasticity/rsnn/bptt.py) validate every shape and dtype before calling these; the
kernels only re-check what would otherwise corrupt memory. Per element the
operations are those of the NumPy versions, in their order; the sums over neurons
run in another order (spike-driven sums, BLAS), so the last bits of the floats may
differ (tests/test_rsnn_compiled_bptt.py: spikes identical, floats to 1e-12 relative).

Weights are passed as (Bw, n_pre, n_post) with Bw = 1 (shared) or B (one matrix per
batch element).
"""
from libc.math cimport fabs
from libc.string cimport memset
from libc.stdint cimport int32_t, int64_t

import numpy as np


cdef _shape3(str name, arr, Py_ssize_t a, Py_ssize_t b, Py_ssize_t c):
    if arr.shape[0] != a or arr.shape[1] != b or arr.shape[2] != c:
        raise ValueError(f"{name} must have shape ({a}, {b}, {c}), got "
                         f"({arr.shape[0]}, {arr.shape[1]}, {arr.shape[2]})")


# ---------------------------------------------------------------------------
# time filters along axis 0 of a (T, m) array (network.filter_forward / _backward)
# ---------------------------------------------------------------------------
def filter_time(const double[:, ::1] u, double decay, double[:, ::1] out, bint backward):
    """out^t = decay out^{t-1} + u^t (forward) or out^t = decay out^{t+1} + u^t
    (backward); bit for bit the NumPy loop."""
    cdef Py_ssize_t T = u.shape[0], m = u.shape[1], t, k, s
    if out.shape[0] != T or out.shape[1] != m:
        raise ValueError("out must have the shape of u")
    if T == 0 or m == 0:
        return
    with nogil:
        if backward:
            for k in range(m):
                out[T - 1, k] = decay * 0.0 + u[T - 1, k]
            for s in range(T - 2, -1, -1):
                for k in range(m):
                    out[s, k] = decay * out[s + 1, k] + u[s, k]
        else:
            for k in range(m):
                out[0, k] = decay * 0.0 + u[0, k]
            for t in range(1, T):
                for k in range(m):
                    out[t, k] = decay * out[t - 1, k] + u[t, k]


def is_binary(const double[::1] a):
    """Whether every element is 0 or 1 (the spikes of the heaviside network)."""
    cdef Py_ssize_t i, n = a.shape[0]
    cdef double q
    cdef bint ok = True
    with nogil:
        for i in range(n):
            q = a[i]
            if q != 0.0 and q != 1.0:
                ok = False
                break
    return ok


# ---------------------------------------------------------------------------
# forward pass (network.simulate, heaviside spikes)
# ---------------------------------------------------------------------------
def simulate(const double[:, :, ::1] i_in, const double[:, :, ::1] w_rec,
             const double[:, :, ::1] w_out, const double[::1] beta,
             double alpha, double rho, double kappa, double v_th, double gamma,
             int n_ref, double[:, :, ::1] z, double[:, :, ::1] psi,
             double[:, :, ::1] y, double[:, :, ::1] v_rec=None,
             double[:, :, ::1] a_rec=None):
    """T steps of B independent copies; i_in = x W_in (T, B, n) is given; w_rec
    (Bw, n, n), w_out (Bw, n, n_out) with Bw 1 or B. Writes z, psi, y and, if given,
    v_rec, a_rec. Recurrent input and readout are sums over the last step's spikes."""
    cdef Py_ssize_t T = i_in.shape[0], B = i_in.shape[1], n = i_in.shape[2]
    cdef Py_ssize_t n_out = w_out.shape[2], Bw = w_rec.shape[0]
    if Bw != 1 and Bw != B:
        raise ValueError(f"w_rec must hold 1 or {B} matrices, got {Bw}")
    if w_out.shape[0] != Bw:
        raise ValueError("w_rec and w_out must hold the same number of matrices")
    _shape3("w_rec", w_rec, Bw, n, n)
    _shape3("w_out", w_out, Bw, n, n_out)
    if beta.shape[0] != n:
        raise ValueError(f"beta must have length {n}, got {beta.shape[0]}")
    _shape3("z", z, T, B, n)
    _shape3("psi", psi, T, B, n)
    _shape3("y", y, T, B, n_out)
    cdef bint rec_state = v_rec is not None and a_rec is not None
    if rec_state:
        _shape3("v_rec", v_rec, T, B, n)
        _shape3("a_rec", a_rec, T, B, n)
    if n_ref < 0:
        raise ValueError(f"n_ref must be >= 0, got {n_ref}")
    if T == 0 or B == 0 or n == 0:
        return
    cdef double[:, ::1] v = np.zeros((B, n))
    cdef double[:, ::1] a = np.zeros((B, n))
    cdef double[:, ::1] zp = np.zeros((B, n))
    cdef int64_t[:, ::1] ref = np.zeros((B, n), dtype=np.int64)
    cdef int32_t[:, ::1] spk = np.zeros((B, n), dtype=np.int32)
    cdef int64_t[::1] nspk = np.zeros(B, dtype=np.int64)
    cdef double[::1] rec = np.zeros(n)
    cdef double[::1] u = np.zeros(max(n_out, 1))
    cdef double[:, ::1] yp = np.zeros((B, max(n_out, 1)))
    cdef double c_psi = gamma / v_th
    cdef int64_t ref_after = n_ref - 1 if n_ref > 1 else 0
    cdef Py_ssize_t t, b, i, j, k, q, m, wb
    cdef double vj, aj, dist, zj, ps, r
    cdef const double* wr
    cdef bint refr
    with nogil:
        for t in range(T):
            for b in range(B):
                wb = b if Bw > 1 else 0
                # recurrent input z^{t-1} W_rec from the spikes of the last step
                memset(&rec[0], 0, n * sizeof(double))
                for q in range(nspk[b]):
                    wr = &w_rec[wb, spk[b, q], 0]
                    for j in range(n):
                        rec[j] += wr[j]
                m = 0
                for j in range(n):
                    vj = alpha * v[b, j] + i_in[t, b, j]
                    vj = vj + rec[j]
                    vj = vj - v_th * zp[b, j]
                    aj = rho * a[b, j] + zp[b, j]
                    dist = vj - (v_th + beta[j] * aj)
                    refr = ref[b, j] > 0
                    if refr:
                        zj = 0.0
                        ps = 0.0
                    else:
                        zj = 1.0 if dist > 0 else 0.0
                        r = 1.0 - fabs(dist) / v_th
                        # NaN stays NaN; + 0 dist: NaN for an infinite v too (as
                        # network.pseudo_derivative), else the same value
                        ps = c_psi * (0.0 if r < 0.0 else r) + 0.0 * dist
                    if zj != 0.0:
                        ref[b, j] = ref_after
                        spk[b, m] = <int32_t>j
                        m += 1
                    elif ref[b, j] > 0:
                        ref[b, j] -= 1
                    v[b, j] = vj
                    a[b, j] = aj
                    zp[b, j] = zj
                    z[t, b, j] = zj
                    psi[t, b, j] = ps
                    if rec_state:
                        v_rec[t, b, j] = vj
                        a_rec[t, b, j] = aj
                nspk[b] = m
                # readout y^t = kappa y^{t-1} + z^t W_out
                for k in range(n_out):
                    u[k] = 0.0
                for q in range(m):
                    wr = &w_out[wb, spk[b, q], 0]
                    for k in range(n_out):
                        u[k] += wr[k]
                for k in range(n_out):
                    yp[b, k] = kappa * yp[b, k] + u[k]
                    y[t, b, k] = yp[b, k]


# ---------------------------------------------------------------------------
# BPTT: the backward recursion (bptt.py)
# ---------------------------------------------------------------------------
def bptt_recursion(const double[:, :, ::1] direct, dE_dz, const double[:, :, ::1] psi,
                   dE_dpsi, v, a, const double[:, :, ::1] w_rec_T,
                   const double[::1] beta, double alpha, double rho, double v_th,
                   double c_slope, int detach, double[:, :, ::1] delta_v,
                   L_out=None, g_out=None, pg_out=None):
    """Backward from t = T-1 (see bptt.py)::

        L^t = direct^t [+ dE_dz^t] + delta_v^{t+1} (W_rec^T - v_th I)   (by ``detach``:
              0 both terms, 1 without the reset, 2 neither)
        g^t = L^t + delta_a^{t+1};  pg = psi^t g^t [+ dE_dpsi^t slope^t]
        delta_v^t = pg + alpha delta_v^{t+1};  delta_a^t = -beta pg + rho delta_a^{t+1}

    slope^t = c_slope sign(v^t - v_th - beta a^t) where psi^t > 0, else 0.
    ``w_rec_T`` (Bw, n, n): the masked W_rec transposed (row k: the weights onto
    neuron k), Bw 1 or B. The recurrent term r^t = delta_v^{t+1} W_rec^T
    is carried as r^{t-1} = alpha r^t + pg^t W_rec^T, a sum over the non-zero pg
    (pg = 0 wherever psi = 0: outside the window and while refractory), so a step
    costs O(nnz(pg) x n) instead of O(B n^2). Writes delta_v and, if given, L_out,
    g_out and pg_out (all (T, B, n)); returns the number of non-zero pg."""
    cdef Py_ssize_t T = psi.shape[0], B = psi.shape[1], n = psi.shape[2]
    cdef Py_ssize_t Bw = w_rec_T.shape[0]
    _shape3("direct", direct, T, B, n)
    _shape3("delta_v", delta_v, T, B, n)
    if Bw != 1 and Bw != B:
        raise ValueError(f"w_rec_T must hold 1 or {B} matrices, got {Bw}")
    _shape3("w_rec_T", w_rec_T, Bw, n, n)
    if beta.shape[0] != n:
        raise ValueError(f"beta must have length {n}, got {beta.shape[0]}")
    if detach < 0 or detach > 2:
        raise ValueError("detach must be 0, 1 or 2")
    cdef const double[:, :, ::1] dz_v, dpsi_v, v_v, a_v
    cdef double[:, :, ::1] L_v, g_v, pg_v
    cdef bint ret_pg = pg_out is not None
    cdef bint has_dz = dE_dz is not None
    cdef bint has_dpsi = dE_dpsi is not None
    cdef bint ret_L = L_out is not None
    cdef bint ret_g = g_out is not None
    if has_dz:
        dz_v = dE_dz
        _shape3("dE_dz", dz_v, T, B, n)
    if has_dpsi:
        dpsi_v = dE_dpsi
        v_v = v
        a_v = a
        _shape3("dE_dpsi", dpsi_v, T, B, n)
        _shape3("v", v_v, T, B, n)
        _shape3("a", a_v, T, B, n)
    if ret_L:
        L_v = L_out
        _shape3("L_out", L_v, T, B, n)
    if ret_g:
        g_v = g_out
        _shape3("g_out", g_v, T, B, n)
    if ret_pg:
        pg_v = pg_out
        _shape3("pg_out", pg_v, T, B, n)
    if T == 0 or B == 0 or n == 0:
        return 0
    cdef Py_ssize_t nnz = 0
    cdef bint has_alif = False
    cdef Py_ssize_t j
    for j in range(n):
        if beta[j] != 0.0:
            has_alif = True
    cdef double[:, ::1] r = np.zeros((B, n))
    cdef double[:, ::1] da = np.zeros((B, n))
    cdef double[::1] pgb = np.zeros(n)
    cdef Py_ssize_t t, b, k
    cdef double Lj, gj, pg, dist, s, dvn, q
    cdef const double* wr
    cdef double* rb
    cdef bint rec = detach != 2
    with nogil:
        for t in range(T - 1, -1, -1):
            for b in range(B):
                rb = &r[b, 0]
                for j in range(n):
                    Lj = direct[t, b, j]
                    if has_dz:
                        Lj = Lj + dz_v[t, b, j]
                    if t < T - 1:
                        dvn = delta_v[t + 1, b, j]
                        if rec:
                            Lj = Lj + rb[j]
                            if detach == 0:
                                Lj = Lj - v_th * dvn
                    else:
                        dvn = 0.0
                    if has_alif:
                        gj = Lj + da[b, j]
                    else:
                        gj = Lj
                    pg = psi[t, b, j] * gj
                    if has_dpsi:
                        if psi[t, b, j] > 0:
                            dist = v_v[t, b, j] - (v_th + beta[j] * a_v[t, b, j])
                            s = 1.0 if dist > 0 else (-1.0 if dist < 0 else 0.0)
                            pg = pg + dpsi_v[t, b, j] * (c_slope * s)
                        else:
                            pg = pg + dpsi_v[t, b, j] * 0.0
                    pgb[j] = pg
                    if pg != 0.0:
                        nnz += 1
                    if ret_pg:
                        pg_v[t, b, j] = pg
                    delta_v[t, b, j] = pg + alpha * dvn
                    if has_alif:
                        da[b, j] = -beta[j] * pg + rho * da[b, j]
                    if ret_L:
                        L_v[t, b, j] = Lj
                    if ret_g:
                        g_v[t, b, j] = gj
                # r for step t-1: alpha r + pg^t W_rec^T, over the non-zero pg
                if rec and t > 0:
                    for j in range(n):
                        rb[j] = alpha * rb[j]
                    for k in range(n):
                        q = pgb[k]
                        if q != 0.0:
                            wr = &w_rec_T[b if Bw > 1 else 0, k, 0]
                            for j in range(n):
                                rb[j] += q * wr[j]
    return nnz


def pg_input_products(const double[:, :, ::1] pg, const double[:, :, ::1] xbar,
                      const double[:, :, ::1] w_in_T, double alpha, g_in_T=None,
                      dE_dx=None):
    """The input-side products of BPTT over the non-zero pg = delta_v^t -
    alpha delta_v^{t+1} (T, B, n), O(nnz(pg) x n_in) instead of O(T B n n_in):

        g_in_T[b', j, :] += sum_t pg[t, b, j] xbar[t, b, :]   (= sum_t delta_v x^T, with
                            xbar the alpha-filtered input; b' = b or 0 as for spike_outer)
        dE_dx[t, b, :] = q^t = alpha q^{t+1} + sum_j pg[t, b, j] W_in^T[j, :]  (= delta_v^t W_in^T)

    ``w_in_T`` (Bw, n, n_in): W_in transposed, Bw 1 or B."""
    cdef Py_ssize_t T = pg.shape[0], B = pg.shape[1], n = pg.shape[2]
    cdef Py_ssize_t n_in = xbar.shape[2], Bw = w_in_T.shape[0]
    _shape3("xbar", xbar, T, B, n_in)
    if Bw != 1 and Bw != B:
        raise ValueError(f"w_in_T must hold 1 or {B} matrices, got {Bw}")
    _shape3("w_in_T", w_in_T, Bw, n, n_in)
    cdef double[:, :, ::1] g_v, dx_v
    cdef bint do_g = g_in_T is not None
    cdef bint do_x = dE_dx is not None
    cdef Py_ssize_t Bo = 1
    if do_g:
        g_v = g_in_T
        Bo = g_v.shape[0]
        if Bo != 1 and Bo != B:
            raise ValueError(f"g_in_T must hold 1 or {B} matrices, got {Bo}")
        _shape3("g_in_T", g_v, Bo, n, n_in)
    if do_x:
        dx_v = dE_dx
        _shape3("dE_dx", dx_v, T, B, n_in)
    if T == 0 or B == 0 or n == 0 or n_in == 0:
        return
    cdef double[:, ::1] qv = np.zeros((B, n_in))
    cdef Py_ssize_t t, b, j, i
    cdef double q
    cdef const double* src
    cdef double* dst
    cdef double* qb
    with nogil:
        for t in range(T - 1, -1, -1):
            for b in range(B):
                qb = &qv[b, 0]
                if do_x:
                    for i in range(n_in):
                        qb[i] = alpha * qb[i]
                for j in range(n):
                    q = pg[t, b, j]
                    if q == 0.0:
                        continue
                    if do_g:
                        src = &xbar[t, b, 0]
                        dst = &g_v[b if Bo > 1 else 0, j, 0]
                        for i in range(n_in):
                            dst[i] += q * src[i]
                    if do_x:
                        src = &w_in_T[b if Bw > 1 else 0, j, 0]
                        for i in range(n_in):
                            qb[i] += q * src[i]
                if do_x:
                    for i in range(n_in):
                        dx_v[t, b, i] = qb[i]


def spike_outer(const double[:, :, ::1] z, const double[:, :, ::1] d, int shift,
                double[:, :, ::1] out):
    """out[b', i, k] += sum_t z[t, b, i] d[t + shift, b, k] over the non-zero z
    (b' = b with out (B, n_z, m), b' = 0 with out (1, n_z, m)): the outer products of
    the gradients, O(spikes x m) for spike trains."""
    cdef Py_ssize_t T = z.shape[0], B = z.shape[1], nz = z.shape[2], m = d.shape[2]
    cdef Py_ssize_t Bo = out.shape[0]
    if d.shape[0] != T or d.shape[1] != B:
        raise ValueError("z and d must share (T, B)")
    if Bo != 1 and Bo != B:
        raise ValueError(f"out must hold 1 or {B} matrices, got {Bo}")
    _shape3("out", out, Bo, nz, m)
    if shift < 0 or shift > T:
        raise ValueError("shift must be in 0 .. T")
    cdef Py_ssize_t t, b, i, k, ob
    cdef double zi
    cdef const double* dp
    cdef double* op
    with nogil:
        for t in range(T - shift):
            for b in range(B):
                ob = b if Bo > 1 else 0
                dp = &d[t + shift, b, 0]
                for i in range(nz):
                    zi = z[t, b, i]
                    if zi != 0.0:
                        op = &out[ob, i, 0]
                        if zi == 1.0:
                            for k in range(m):
                                op[k] += dp[k]
                        else:
                            for k in range(m):
                                op[k] += zi * dp[k]
