# cython: language_level=3
"""Compiled neuron updates (private; the public classes are in plasticity/neurons.py).

Every model is a pair of ``noexcept nogil`` functions over the (n_vars, n) state block:
``_<model>_update`` (integrate one step, threshold) and ``_<model>_reset``. Model ids
are the ``MODEL_*`` constants below and must agree with ``model_id`` in
plasticity/neurons.py; the parameter layout of each model is documented above its
functions and must agree with its ``packed_params``.

Conventions shared by all models
--------------------------------
* Every update computes the new values of all variables from the old ones (as Brian2's
  state updaters), then tests the threshold on the new values.
* Refractoriness (models with a ``refractory`` row, Brian2's semantics): the reset sets
  the counter to R = floor(t_ref/dt + 1e-3), the whole steps Brian2's ``timestep``
  counts (``not_refractory = timestep(t - lastspike, dt) >= timestep(t_ref, dt)``;
  t_ref 0.18, 0.26, 0.36, 1.55 ms at dt 0.1 ms give 1, 2, 3, 15 steps, measured with
  Brian2 2.9). Each update first decrements a positive counter; while it is still > 0
  the membrane is not integrated (held) and no spike is emitted. So after a spike at
  step s, the update of step s+R integrates again and may spike: the minimum
  inter-spike interval is R steps. Other variables (synaptic currents, conductances,
  adaptation) keep evolving.
* Input onto a held membrane is discarded, as Brian2 does (its ``(unless refractory)``
  flag makes every write to v conditional on ``not_refractory``): models whose v is a
  receptor (IF, ALIF) restore ``v = V_reset`` at the start of an update whose counter
  was still > 0 after the previous step, i.e. when the neuron was refractory during
  the step in which the input arrived. The dynamics and spikes are Brian2's; the
  discarded jump is visible only in a state recorded at the end of that step.
* ``neuron_update_range`` updates neurons i0 .. i1-1 only (the engine's threads each
  own a contiguous range; a neuron's update reads and writes only its own column).
* After updating neuron i every row is checked; the first non-finite value (lowest row
  k) makes the update return ``-1 - (k*n + i)``.
"""
from libc.math cimport isfinite, exp, expm1, fabs
from libc.stdint cimport int32_t
import numpy as np

# An AVX-512 form of the LIFCond update (8 neurons per instruction, exp included:
# _exp.h's pl_exp, whose scalar and vector forms give the same bits): the same IEEE
# operations in the same order per neuron as _lifcond_core, so the same numbers. A block with a non-finite
# value is left to the scalar loop (which reports it). Used where the CPU has
# AVX-512F/VL/DQ (checked at run time; simd() turns it off).
cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #include "_exp.h"
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && __GNUC__ >= 9
    #include <immintrin.h>
    static int pl_neurons_avx512_ok(void) {
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
            && __builtin_cpu_supports("avx512dq");
    }
    /* neurons i0 .. (at most) i1-1 in blocks of 8; returns the spike count and sets
       *done to the first neuron not updated (a partial block, or a block with a
       non-finite value: the scalar loop continues there) */
    __attribute__((target("avx512f,avx512vl,avx512dq")))
    static Py_ssize_t pl_lifcond_simd(double* s, Py_ssize_t n, Py_ssize_t i0,
            Py_ssize_t i1, const double* p, int32_t* spikes, Py_ssize_t* done) {
        double* v = s; double* ge = s + n; double* gi = s + 2 * n;
        double* th = s + 3 * n; double* ie = s + 4 * n; double* ref = s + 5 * n;
        const __m512d E_L = _mm512_set1_pd(p[0]), V_th = _mm512_set1_pd(p[1]);
        const __m512d mdt = _mm512_set1_pd(-p[4]), E_e = _mm512_set1_pd(p[5]);
        const __m512d E_i = _mm512_set1_pd(p[6]), P_e = _mm512_set1_pd(p[7]);
        const __m512d P_i = _mm512_set1_pd(p[8]), P_th = _mm512_set1_pd(p[9]);
        const __m512d P_leak = _mm512_set1_pd(p[11]), one = _mm512_set1_pd(1.0);
        const __m512d M_e = _mm512_set1_pd(p[12]), M_i = _mm512_set1_pd(p[13]);
        const __m512d z = _mm512_setzero_pd(), inf = _mm512_set1_pd(INFINITY);
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        Py_ssize_t i = i0, count = 0;
        for (; i + 8 <= i1; i += 8) {
            __m512d r = _mm512_loadu_pd(ref + i), vv = _mm512_loadu_pd(v + i);
            __m512d a = _mm512_loadu_pd(ge + i), b = _mm512_loadu_pd(gi + i);
            __m512d c = _mm512_loadu_pd(ie + i), t = _mm512_loadu_pd(th + i);
            __m512d g, vinf, vl, vn, chk, ce, ci;
            __mmask8 held, zero, need, spk;
            r = _mm512_mask_sub_pd(r, _mm512_cmp_pd_mask(r, z, _CMP_GT_OQ), r, one);
            held = _mm512_cmp_pd_mask(r, z, _CMP_GT_OQ);
            ce = _mm512_mul_pd(a, M_e);     /* the conductances held over the step */
            ci = _mm512_mul_pd(b, M_i);
            zero = _mm512_cmp_pd_mask(ce, z, _CMP_EQ_OQ) & _mm512_cmp_pd_mask(ci, z, _CMP_EQ_OQ)
                 & _mm512_cmp_pd_mask(c, z, _CMP_EQ_OQ);
            need = (__mmask8)(~held & ~zero);
            vl = _mm512_add_pd(E_L, _mm512_mul_pd(_mm512_sub_pd(vv, E_L), P_leak));
            vn = vv;
            if (need) {
                g = _mm512_add_pd(_mm512_add_pd(one, ce), ci);
                vinf = _mm512_div_pd(_mm512_add_pd(_mm512_add_pd(_mm512_add_pd(E_L,
                    _mm512_mul_pd(ce, E_e)), _mm512_mul_pd(ci, E_i)), c), g);
                /* every lane: the ones not needed are replaced below */
                vn = _mm512_add_pd(vinf, _mm512_mul_pd(_mm512_sub_pd(vv, vinf),
                                                       pl_exp8(_mm512_mul_pd(mdt, g))));
            }
            vn = _mm512_mask_blend_pd(zero, vn, vl);
            vv = _mm512_mask_blend_pd(held, vn, vv);
            a = _mm512_mul_pd(a, P_e);
            b = _mm512_mul_pd(b, P_i);
            t = _mm512_mul_pd(t, P_th);
            chk = _mm512_add_pd(_mm512_add_pd(_mm512_add_pd(_mm512_add_pd(vv, a), b), t), c);
            /* isfinite: |x| < inf (false for NaN and +-inf) */
            if (_mm512_cmp_pd_mask(_mm512_abs_pd(chk), inf, _CMP_LT_OQ) != 0xFF)
                break;
            _mm512_storeu_pd(ref + i, r);
            _mm512_storeu_pd(v + i, vv);
            _mm512_storeu_pd(ge + i, a);
            _mm512_storeu_pd(gi + i, b);
            _mm512_storeu_pd(th + i, t);
            spk = (__mmask8)(~held & _mm512_cmp_pd_mask(vv, _mm512_add_pd(V_th, t),
                                                        _CMP_GT_OQ));
            if (spk) {
                _mm256_mask_compressstoreu_epi32(spikes + count, spk,
                    _mm256_add_epi32(lane, _mm256_set1_epi32((int)i)));
                count += __builtin_popcount(spk);
            }
        }
        *done = i;
        return count;
    }
    /* pl_exp8 over an array (tests compare it with pl_exp); returns the count done */
    __attribute__((target("avx512f,avx512vl,avx512dq")))
    static Py_ssize_t pl_exp_array_simd(const double* x, double* out, Py_ssize_t n) {
        Py_ssize_t i = 0;
        for (; i + 8 <= n; i += 8) _mm512_storeu_pd(out + i, pl_exp8(_mm512_loadu_pd(x + i)));
        return i;
    }
    #else
    static Py_ssize_t pl_exp_array_simd(const double* x, double* out, Py_ssize_t n) {
        return 0;
    }
    static int pl_neurons_avx512_ok(void) { return 0; }
    static Py_ssize_t pl_lifcond_simd(double* s, Py_ssize_t n, Py_ssize_t i0,
            Py_ssize_t i1, const double* p, int32_t* spikes, Py_ssize_t* done) {
        *done = i0;
        return 0;
    }
    #endif
    """
    int pl_neurons_avx512_ok() noexcept nogil
    double pl_exp(double x) noexcept nogil
    Py_ssize_t pl_exp_array_simd(const double* x, double* out, Py_ssize_t n) noexcept nogil
    Py_ssize_t pl_lifcond_simd(double* s, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t i1,
                               const double* p, int32_t* spikes,
                               Py_ssize_t* done) noexcept nogil

cdef int _simd = pl_neurons_avx512_ok()


def exp_array(x, vector=False):
    """``_exp.h``'s exp of every element of ``x`` (float64; a copy): ``vector=True``
    computes whole blocks of 8 with the AVX-512 form where the CPU has it (the rest by
    the scalar form), else every element by the scalar form. For tests: both forms
    must give the same bits."""
    cdef const double[::1] xv = np.ascontiguousarray(x, dtype=np.float64).ravel()
    out = np.empty(xv.shape[0], dtype=np.float64)
    cdef double[::1] o = out
    cdef Py_ssize_t i = 0, n = xv.shape[0]
    cdef bint vec = bool(vector)
    with nogil:
        if vec and pl_neurons_avx512_ok() and n > 0:
            i = pl_exp_array_simd(&xv[0], &o[0], n)
        while i < n:
            o[i] = pl_exp(xv[i])
            i += 1
    return out.reshape(np.shape(x))


def simd(enabled=None):
    """Whether the AVX-512 form of the LIFCond update is used (the same numbers as the
    scalar loop); ``simd(False)`` turns it off, ``simd(True)`` on where the CPU has
    AVX-512. Returns the setting in force (``plasticity._ext.engine.simd`` sets it
    too)."""
    global _simd
    if enabled is not None:
        _simd = 1 if (bool(enabled) and pl_neurons_avx512_ok()) else 0
    return bool(_simd)

MODEL_LIF = 0
MODEL_LIF_COND = 1
MODEL_IF = 2
MODEL_ALIF = 3
MODEL_IZHIKEVICH = 4
MODEL_ADEX = 5
MODEL_HH = 6
MODEL_RESONATE_AND_FIRE = 7
MODEL_ADEX_CLOPATH = 8
MODEL_LIF_ALPHA = 9
MODEL_LIF_COND_ALPHA = 10
MODEL_ADEX_COND = 11
MODEL_ADEX_COND_ALPHA = 12
MODEL_HH_TRAUB = 13
cdef enum:
    _N_MODELS = 14

# number of state rows and of packed parameters of each model (index = model id)
cdef Py_ssize_t[_N_MODELS] _N_VARS
_N_VARS[:] = [5, 6, 3, 6, 4, 6, 7, 3, 8, 7, 8, 6, 8, 8]
N_VARS = tuple(_N_VARS[k] for k in range(_N_MODELS))
cdef Py_ssize_t[_N_MODELS] _N_PARAMS
_N_PARAMS[:] = [10, 14, 4, 12, 11, 14, 11, 7, 20, 14, 18, 16, 18, 17]
N_PARAMS = tuple(_N_PARAMS[k] for k in range(_N_MODELS))


cdef inline Py_ssize_t _nonfinite_from(const double* s, Py_ssize_t n, Py_ssize_t i,
                                       Py_ssize_t k0, Py_ssize_t k1) noexcept nogil:
    """As :func:`_nonfinite` for rows k0 .. k1-1 (the same error code)."""
    cdef Py_ssize_t k
    for k in range(k0, k1):
        if not isfinite(s[k * n + i]):
            return -1 - (k * n + i)
    return 0


cdef inline Py_ssize_t _nonfinite(const double* s, Py_ssize_t n, Py_ssize_t i,
                                  Py_ssize_t n_rows) noexcept nogil:
    """0 if all rows of neuron i are finite, else -1 - (k*n + i) for the first bad k."""
    return _nonfinite_from(s, n, i, 0, n_rows)


cdef inline void _reset(double* s, Py_ssize_t n, const int32_t* spikes,
                        Py_ssize_t n_spikes, double v_reset, Py_ssize_t jump_row,
                        double jump, Py_ssize_t ref_row, double ref_steps) noexcept nogil:
    """The common after-spike reset: v (row 0) = v_reset, row ``jump_row`` += jump
    (adaptation, threshold), row ``ref_row`` = refractory steps; -1 skips a row."""
    cdef Py_ssize_t k, i
    for k in range(n_spikes):
        i = spikes[k]
        s[i] = v_reset
        if jump_row >= 0:
            s[jump_row * n + i] += jump
        if ref_row >= 0:
            s[ref_row * n + i] = ref_steps


cdef inline void _discard_held_input(double* v, const double* ref,
                                     double v_reset) noexcept nogil:
    """v = v_reset if the neuron was refractory during the previous step: a synaptic
    jump onto v delivered in that step is discarded (Brian2's conditional write)."""
    if ref[0] > 0.0:
        v[0] = v_reset


cdef inline bint _refractory_step(double* ref) noexcept nogil:
    """Count down the refractory counter; True while the membrane is held."""
    if ref[0] > 0.0:
        ref[0] -= 1.0
    return ref[0] > 0.0


cdef inline void _alpha_step(double* g, double* y, double P,
                             double P_gy) noexcept nogil:
    """One exact step of an alpha-shaped synapse, the linear pair
    ``dg/dt = (e/tau) y - g/tau``, ``dy/dt = -y/tau``: ``g' = P g + P_gy y``,
    ``y' = P y`` with ``P = exp(-dt/tau)``, ``P_gy = (e dt/tau) P``. A jump w of y
    (the receptor) gives ``g(t) = w (e t/tau) exp(-t/tau)``, peaking at w at t = tau
    (NEST's and PyNN's convention: the weight is the peak)."""
    g[0] = P * g[0] + P_gy * y[0]
    y[0] = P * y[0]


# ---------------------------------------------------------------------------
# 0. Current-based LIF with exponential synaptic currents (exact integration,
# Rotter & Diesmann 1999).
# vars:   0 v (mV), 1 I_syn_ex (pA), 2 I_syn_in (pA), 3 I_ext (pA), 4 refractory (steps left)
# params: 0 E_L, 1 V_th, 2 V_reset, 3 ref_steps, 4 P_vv = exp(-dt/tau_m),
#         5 P_v_ext = R (1 - P_vv), 6 P_ex = exp(-dt/tau_ex), 7 P_v_ex,
#         8 P_in = exp(-dt/tau_in), 9 P_v_in
# 9. The same with alpha-shaped currents (NEST's iaf_psc_alpha): I_syn_x and y_x are
# the alpha pair (_alpha_step, exact), y_x the receptor; v is exact for it too.
# vars:   0..4 as model 0, 5 y_ex (pA), 6 y_in (pA)
# params: 0..9 as model 0 (P_ex, P_in also decay y), 10 P_Iy_ex = (e dt/tau_ex) P_ex,
#         11 P_vy_ex (y_ex(0) -> v(dt)), 12 P_Iy_in, 13 P_vy_in
# ---------------------------------------------------------------------------
cdef inline Py_ssize_t _lif_core(double* s, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t i1,
                                 const double* p, int32_t* spikes,
                                 bint alpha) noexcept nogil:
    """The LIF update; ``alpha``: the synaptic currents are alpha-shaped (model 9)."""
    cdef double* v = s
    cdef double* i_ex = s + n
    cdef double* i_in = s + 2 * n
    cdef double* i_ext = s + 3 * n
    cdef double* ref = s + 4 * n
    cdef double* y_ex = s + 5 * n
    cdef double* y_in = s + 6 * n
    cdef double E_L = p[0], V_th = p[1], P_vv = p[4], P_vext = p[5]
    cdef double P_ex = p[6], P_vex = p[7], P_in = p[8], P_vin = p[9]
    cdef double P_Iy_ex = 0.0, P_vy_ex = 0.0, P_Iy_in = 0.0, P_vy_in = 0.0
    cdef Py_ssize_t i, bad, count = 0
    cdef bint held
    if alpha:
        P_Iy_ex, P_vy_ex, P_Iy_in, P_vy_in = p[10], p[11], p[12], p[13]
    for i in range(i0, i1):
        held = _refractory_step(&ref[i])
        if not held:
            v[i] = E_L + (v[i] - E_L) * P_vv + i_ext[i] * P_vext \
                + i_ex[i] * P_vex + i_in[i] * P_vin
            if alpha:
                v[i] = v[i] + y_ex[i] * P_vy_ex + y_in[i] * P_vy_in
        if alpha:
            _alpha_step(&i_ex[i], &y_ex[i], P_ex, P_Iy_ex)
            _alpha_step(&i_in[i], &y_in[i], P_in, P_Iy_in)
        else:
            i_ex[i] *= P_ex
            i_in[i] *= P_in
        bad = _nonfinite(s, n, i, 4)
        if alpha and not bad:
            bad = _nonfinite_from(s, n, i, 5, 7)
        if bad:
            return bad
        if not held and v[i] >= V_th:
            spikes[count] = <int32_t>i
            count += 1
    return count


cdef Py_ssize_t _lif_update(double* s, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t i1,
                            const double* p,
                            int32_t* spikes) noexcept nogil:
    return _lif_core(s, n, i0, i1, p, spikes, False)


cdef Py_ssize_t _lif_alpha_update(double* s, Py_ssize_t n, Py_ssize_t i0,
                                  Py_ssize_t i1, const double* p,
                                  int32_t* spikes) noexcept nogil:
    return _lif_core(s, n, i0, i1, p, spikes, True)


cdef void _lif_reset(double* s, Py_ssize_t n, const double* p,
                     const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil:
    _reset(s, n, spikes, n_spikes, p[2], -1, 0.0, 4, p[3])


# ---------------------------------------------------------------------------
# 1. Conductance-based LIF, conductances in units of the leak conductance, optional
# adaptive threshold theta (Diehl & Cook 2015). Exponential Euler as Brian2's
# ``exponential_euler``: v is linear in v with g_e, g_i, I_ext frozen over the step.
# vars:   0 v (mV), 1 g_e (1), 2 g_i (1), 3 theta (mV), 4 I_ext (mV), 5 refractory
# params: 0 E_L, 1 V_th, 2 V_reset, 3 ref_steps, 4 dt/tau_m, 5 E_e, 6 E_i,
#         7 P_e = exp(-dt/tau_e), 8 P_i = exp(-dt/tau_i), 9 P_theta = exp(-dt/tau_theta),
#         10 theta_plus, 11 P_leak = exp(-dt/tau_m), 12 M_e, 13 M_i: the factors from
#         a conductance's start value to the value held over the step (1.0, or its
#         exact mean tau/dt (1 - P): LIFCond's conductance_step)
# 10. The same with alpha-shaped conductances (NEST's iaf_cond_alpha synapses): g_x and
# y_x are the alpha pair (_alpha_step, exact), y_x the receptor; v as model 1 with
# each conductance held at its exact mean over the step (A_g g + A_y y) instead of its
# value at the start (an alpha conductance rises within a step: second order).
# vars:   0..5 as model 1, 6 y_e (1), 7 y_i (1)
# params: 0..11 as model 1, 12 P_gy_e = (e dt/tau_e) P_e, 13 P_gy_i,
#         14 A_g_e, 15 A_y_e, 16 A_g_i, 17 A_y_i (the step means)
# ---------------------------------------------------------------------------
cdef inline Py_ssize_t _lifcond_core(double* s, Py_ssize_t n, Py_ssize_t i0,
                                     Py_ssize_t i1, const double* p, int32_t* spikes,
                                     bint alpha) noexcept nogil:
    """The LIFCond update; ``alpha``: the conductances are alpha-shaped (model 10)."""
    cdef double* v = s
    cdef double* ge = s + n
    cdef double* gi = s + 2 * n
    cdef double* theta = s + 3 * n
    cdef double* i_ext = s + 4 * n
    cdef double* ref = s + 5 * n
    cdef double* y_e = s + 6 * n
    cdef double* y_i = s + 7 * n
    cdef double E_L = p[0], V_th = p[1], dt_tau = p[4], E_e = p[5], E_i = p[6]
    cdef double P_e = p[7], P_i = p[8], P_th = p[9], P_leak = p[11]
    cdef double P_gy_e = 0.0, P_gy_i = 0.0
    cdef double A_g_e = 0.0, A_y_e = 0.0, A_g_i = 0.0, A_y_i = 0.0
    cdef double g, v_inf, ce, ci
    cdef Py_ssize_t i, bad, count = 0
    cdef bint held
    cdef double M_e = 1.0, M_i = 1.0
    if alpha:
        P_gy_e, P_gy_i = p[12], p[13]
        A_g_e, A_y_e, A_g_i, A_y_i = p[14], p[15], p[16], p[17]
    else:
        M_e, M_i = p[12], p[13]
    for i in range(i0, i1):
        held = _refractory_step(&ref[i])
        if not held:
            # the conductances held over the step: their values at its start, or, for
            # alpha synapses, their exact means over it
            if alpha:
                ce = A_g_e * ge[i] + A_y_e * y_e[i]
                ci = A_g_i * gi[i] + A_y_i * y_i[i]
            else:
                # x * 1.0 is x exactly: the default keeps Brian2's numbers bit for bit
                ce = ge[i] * M_e
                ci = gi[i] * M_i
            if ce == 0.0 and ci == 0.0 and i_ext[i] == 0.0:
                # the same numbers without the exp: g = 1, v_inf = E_L
                v[i] = E_L + (v[i] - E_L) * P_leak
            else:
                g = 1.0 + ce + ci
                v_inf = (E_L + ce * E_e + ci * E_i + i_ext[i]) / g
                v[i] = v_inf + (v[i] - v_inf) * pl_exp(-dt_tau * g)
        if alpha:
            _alpha_step(&ge[i], &y_e[i], P_e, P_gy_e)
            _alpha_step(&gi[i], &y_i[i], P_i, P_gy_i)
        else:
            ge[i] *= P_e
            gi[i] *= P_i
        theta[i] *= P_th
        # one test for the common case; search the rows only when it fails
        if not isfinite(v[i] + ge[i] + gi[i] + theta[i] + i_ext[i]):
            bad = _nonfinite(s, n, i, 5)
            if bad:
                return bad
        if alpha:
            bad = _nonfinite_from(s, n, i, 6, 8)
            if bad:
                return bad
        if not held and v[i] > V_th + theta[i]:
            spikes[count] = <int32_t>i
            count += 1
    return count


cdef Py_ssize_t _lifcond_update(double* s, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t i1,
                                const double* p,
                                int32_t* spikes) noexcept nogil:
    cdef Py_ssize_t done = i0, count = 0, rest
    if _simd and i1 - i0 >= 8:
        count = pl_lifcond_simd(s, n, i0, i1, p, spikes, &done)
        if done >= i1:
            return count
    rest = _lifcond_core(s, n, done, i1, p, spikes + count, False)
    return rest if rest < 0 else count + rest


cdef Py_ssize_t _lifcond_alpha_update(double* s, Py_ssize_t n, Py_ssize_t i0,
                                      Py_ssize_t i1, const double* p,
                                      int32_t* spikes) noexcept nogil:
    return _lifcond_core(s, n, i0, i1, p, spikes, True)


cdef void _lifcond_reset(double* s, Py_ssize_t n, const double* p,
                         const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil:
    _reset(s, n, spikes, n_spikes, p[2], 3, p[10], 5, p[3])


# ---------------------------------------------------------------------------
# 2. Non-leaky integrate-and-fire (exact for piecewise-constant I_ext).
# vars:   0 v (mV), 1 I_ext (pA), 2 refractory
# params: 0 V_th, 1 V_reset, 2 ref_steps, 3 dt/C_m
# ---------------------------------------------------------------------------
cdef Py_ssize_t _if_update(double* s, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t i1,
                           const double* p,
                           int32_t* spikes) noexcept nogil:
    cdef double* v = s
    cdef double* i_ext = s + n
    cdef double* ref = s + 2 * n
    cdef double V_th = p[0], V_reset = p[1], dt_C = p[3]
    cdef Py_ssize_t i, bad, count = 0
    cdef bint held
    for i in range(i0, i1):
        _discard_held_input(&v[i], &ref[i], V_reset)
        held = _refractory_step(&ref[i])
        if not held:
            v[i] += i_ext[i] * dt_C
        bad = _nonfinite(s, n, i, 2)
        if bad:
            return bad
        if not held and v[i] >= V_th:
            spikes[count] = <int32_t>i
            count += 1
    return count


cdef void _if_reset(double* s, Py_ssize_t n, const double* p,
                    const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil:
    _reset(s, n, spikes, n_spikes, p[1], -1, 0.0, 2, p[2])


# ---------------------------------------------------------------------------
# 3. Adaptive-threshold LIF (ALIF, Bellec et al. 2018): the LIF above plus a threshold
# A = V_th + beta * a, a decays exactly with tau_a and jumps by 1 at each spike.
# vars:   0 v, 1 a (1), 2 I_syn_ex, 3 I_syn_in, 4 I_ext, 5 refractory
# params: 0..9 as the LIF, 10 beta (mV), 11 P_a = exp(-dt/tau_a)
# ---------------------------------------------------------------------------
cdef Py_ssize_t _alif_update(double* s, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t i1,
                             const double* p,
                             int32_t* spikes) noexcept nogil:
    cdef double* v = s
    cdef double* a = s + n
    cdef double* i_ex = s + 2 * n
    cdef double* i_in = s + 3 * n
    cdef double* i_ext = s + 4 * n
    cdef double* ref = s + 5 * n
    cdef double E_L = p[0], V_th = p[1], P_vv = p[4], P_vext = p[5]
    cdef double P_ex = p[6], P_vex = p[7], P_in = p[8], P_vin = p[9]
    cdef double beta = p[10], P_a = p[11], V_reset = p[2]
    cdef Py_ssize_t i, bad, count = 0
    cdef bint held
    for i in range(i0, i1):
        _discard_held_input(&v[i], &ref[i], V_reset)
        held = _refractory_step(&ref[i])
        if not held:
            v[i] = E_L + (v[i] - E_L) * P_vv + i_ext[i] * P_vext \
                + i_ex[i] * P_vex + i_in[i] * P_vin
        a[i] *= P_a
        i_ex[i] *= P_ex
        i_in[i] *= P_in
        bad = _nonfinite(s, n, i, 5)
        if bad:
            return bad
        if not held and v[i] >= V_th + beta * a[i]:
            spikes[count] = <int32_t>i
            count += 1
    return count


cdef void _alif_reset(double* s, Py_ssize_t n, const double* p,
                      const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil:
    _reset(s, n, spikes, n_spikes, p[2], 1, 1.0, 5, p[3])


# ---------------------------------------------------------------------------
# 4. Izhikevich (2003), forward Euler from the old values.
# vars:   0 v (mV), 1 u, 2 I_syn, 3 I_ext (model units, mV/ms)
# params: 0 dt, 1 a, 2 b, 3 c, 4 d, 5 k1 (0.04), 6 k2 (5), 7 k3 (140), 8 v_peak,
#         9 P_syn (exp(-dt/tau_syn), 0 for a one-step pulse)
# ---------------------------------------------------------------------------
cdef Py_ssize_t _izh_update(double* s, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t i1,
                            const double* p,
                            int32_t* spikes) noexcept nogil:
    cdef double* v = s
    cdef double* u = s + n
    cdef double* i_syn = s + 2 * n
    cdef double* i_ext = s + 3 * n
    cdef double dt = p[0], a = p[1], b = p[2], k1 = p[5], k2 = p[6], k3 = p[7]
    cdef double v_peak = p[8], P_syn = p[9]
    cdef bint semi_implicit = p[10] != 0.0
    cdef double vo, uo
    cdef Py_ssize_t i, bad, count = 0
    for i in range(i0, i1):
        vo = v[i]
        uo = u[i]
        v[i] = vo + dt * (k1 * vo * vo + k2 * vo + k3 - uo + i_syn[i] + i_ext[i])
        if semi_implicit:   # u from the new v, as Izhikevich's figure1.m
            u[i] = uo + dt * (a * (b * v[i] - uo))
        else:
            u[i] = uo + dt * (a * (b * vo - uo))
        i_syn[i] *= P_syn
        bad = _nonfinite(s, n, i, 4)
        if bad:
            return bad
        if v[i] >= v_peak:
            spikes[count] = <int32_t>i
            count += 1
    return count


cdef void _izh_reset(double* s, Py_ssize_t n, const double* p,
                     const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil:
    _reset(s, n, spikes, n_spikes, p[3], 1, p[4], -1, 0.0)


# ---------------------------------------------------------------------------
# 5. AdEx (Brette & Gerstner 2005), forward Euler from the old values, the exponential
# evaluated at min(v, V_peak) (as NEST); exponential synaptic currents decay exactly.
# vars:   0 v (mV), 1 w (pA), 2 I_syn_ex, 3 I_syn_in, 4 I_ext (pA), 5 refractory
# params: 0 dt, 1 C_m, 2 g_L, 3 E_L, 4 V_T, 5 Delta_T, 6 tau_w, 7 a, 8 b, 9 V_reset,
#         10 V_peak, 11 ref_steps, 12 P_ex, 13 P_in
# ---------------------------------------------------------------------------
cdef inline double _adex_drive(double vo, double wo, double V_T, double g_L,
                              double E_L, double D_T, double V_peak) noexcept nogil:
    """-g_L (v - E_L) + g_L Delta_T exp((min(v, V_peak) - V_T)/Delta_T) - w: the AdEx
    membrane drive before the currents (the exponential at min(v, V_peak), as NEST);
    the callers add the currents in the same order, so the sum is the same.
    Delta_T = 0 (AdExCond only): no exponential term, as NEST."""
    cdef double ve = vo if vo < V_peak else V_peak
    if D_T == 0.0:
        return -g_L * (vo - E_L) - wo
    return -g_L * (vo - E_L) + g_L * D_T * exp((ve - V_T) / D_T) - wo


cdef inline double _adex_w(double vo, double wo, double dt, double a, double E_L,
                           double tau_w) noexcept nogil:
    """Forward Euler of tau_w dw/dt = a (v - E_L) - w from the old values."""
    return wo + dt * ((a * (vo - E_L) - wo) / tau_w)


cdef Py_ssize_t _adex_update(double* s, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t i1,
                             const double* p,
                             int32_t* spikes) noexcept nogil:
    cdef double* v = s
    cdef double* w = s + n
    cdef double* i_ex = s + 2 * n
    cdef double* i_in = s + 3 * n
    cdef double* i_ext = s + 4 * n
    cdef double* ref = s + 5 * n
    cdef double dt = p[0], C_m = p[1], g_L = p[2], E_L = p[3], V_T = p[4]
    cdef double D_T = p[5], tau_w = p[6], a = p[7], V_peak = p[10]
    cdef double P_ex = p[12], P_in = p[13]
    cdef double vo, wo
    cdef Py_ssize_t i, bad, count = 0
    cdef bint held
    for i in range(i0, i1):
        held = _refractory_step(&ref[i])
        vo = v[i]
        wo = w[i]
        if not held:
            v[i] = vo + dt * ((_adex_drive(vo, wo, V_T, g_L, E_L, D_T, V_peak)
                               + i_ex[i] + i_in[i] + i_ext[i]) / C_m)
        w[i] = _adex_w(vo, wo, dt, a, E_L, tau_w)
        i_ex[i] *= P_ex
        i_in[i] *= P_in
        bad = _nonfinite(s, n, i, 5)
        if bad:
            return bad
        if not held and v[i] >= V_peak:
            spikes[count] = <int32_t>i
            count += 1
    return count


cdef void _adex_reset(double* s, Py_ssize_t n, const double* p,
                      const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil:
    _reset(s, n, spikes, n_spikes, p[9], 1, p[8], 5, p[11])


# ---------------------------------------------------------------------------
# 11. Conductance-based AdEx (NEST's aeif_cond_exp): the AdEx above with conductances
# g_e, g_i (nS) driving towards E_e, E_i, exponential (11) or alpha-shaped (12, NEST's
# aeif_cond_alpha) and exact; v and w forward Euler from the old values as model 5
# (_adex_drive, _adex_w). The update that detects a spike sets v = V_peak (forward
# Euler's spike step overshoots V_peak, by up to the exponential's cap times dt/C_m);
# the reset is model 5's. Delta_T = 0 (allowed here): no exponential term and the
# threshold (p[10]) is V_T, as NEST.
# vars:   0 v (mV), 1 w (pA), 2 g_e (nS), 3 g_i (nS), 4 I_ext (pA), 5 refractory,
#         (12 only) 6 y_e (nS), 7 y_i (nS)
# params: 0..11 as model 5, 12 P_e = exp(-dt/tau_e), 13 P_i, 14 E_e, 15 E_i,
#         (12 only) 16 P_gy_e = (e dt/tau_e) P_e, 17 P_gy_i
# ---------------------------------------------------------------------------
cdef inline Py_ssize_t _adexcond_core(double* s, Py_ssize_t n, Py_ssize_t i0,
                                      Py_ssize_t i1, const double* p, int32_t* spikes,
                                      bint alpha) noexcept nogil:
    cdef double* v = s
    cdef double* w = s + n
    cdef double* ge = s + 2 * n
    cdef double* gi = s + 3 * n
    cdef double* i_ext = s + 4 * n
    cdef double* ref = s + 5 * n
    cdef double* y_e = s + 6 * n
    cdef double* y_i = s + 7 * n
    cdef double dt = p[0], C_m = p[1], g_L = p[2], E_L = p[3], V_T = p[4]
    cdef double D_T = p[5], tau_w = p[6], a = p[7], V_peak = p[10]
    cdef double P_e = p[12], P_i = p[13], E_e = p[14], E_i = p[15]
    cdef double P_gy_e = 0.0, P_gy_i = 0.0
    cdef double vo, wo
    cdef Py_ssize_t i, bad, count = 0
    cdef bint held
    if alpha:
        P_gy_e, P_gy_i = p[16], p[17]
    for i in range(i0, i1):
        held = _refractory_step(&ref[i])
        vo = v[i]
        wo = w[i]
        if not held:
            v[i] = vo + dt * ((_adex_drive(vo, wo, V_T, g_L, E_L, D_T, V_peak)
                               - ge[i] * (vo - E_e) - gi[i] * (vo - E_i)
                               + i_ext[i]) / C_m)
        w[i] = _adex_w(vo, wo, dt, a, E_L, tau_w)
        if alpha:
            _alpha_step(&ge[i], &y_e[i], P_e, P_gy_e)
            _alpha_step(&gi[i], &y_i[i], P_i, P_gy_i)
        else:
            ge[i] *= P_e
            gi[i] *= P_i
        bad = _nonfinite(s, n, i, 5)
        if alpha and not bad:
            bad = _nonfinite_from(s, n, i, 6, 8)
        if bad:
            return bad
        if not held and v[i] >= V_peak:
            spikes[count] = <int32_t>i
            count += 1
            v[i] = V_peak   # not forward Euler's overshoot
    return count


cdef Py_ssize_t _adexcond_update(double* s, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t i1,
                                 const double* p,
                                 int32_t* spikes) noexcept nogil:
    return _adexcond_core(s, n, i0, i1, p, spikes, False)


cdef Py_ssize_t _adexcond_alpha_update(double* s, Py_ssize_t n, Py_ssize_t i0,
                                       Py_ssize_t i1, const double* p,
                                       int32_t* spikes) noexcept nogil:
    return _adexcond_core(s, n, i0, i1, p, spikes, True)


# ---------------------------------------------------------------------------
# 6. Hodgkin-Huxley (1952), squid-axon constants, rest near -65 mV (as NEST
# hh_psc_alpha). Gating variables: Rush-Larsen (exact for frozen v); v: exponential
# Euler with the conductances and currents frozen over the step (Brian2's
# exponential_euler). Spike = upward crossing of V_spike; no reset.
# vars:   0 v (mV), 1 m, 2 h, 3 n, 4 I_syn_ex, 5 I_syn_in, 6 I_ext (pA)
# params: 0 dt, 1 C_m, 2 g_Na, 3 g_K, 4 g_L, 5 E_Na, 6 E_K, 7 E_L, 8 V_spike,
#         9 P_ex, 10 P_in
# ---------------------------------------------------------------------------
cdef inline double _vtrap(double x, double y) noexcept nogil:
    """x / (exp(x/y) - 1), continuous at x = 0 (value y)."""
    if fabs(x) < 1e-9 * y:
        return y - 0.5 * x
    return x / expm1(x / y)


cdef inline double _rush_larsen(double x, double alpha, double beta,
                                double dt) noexcept nogil:
    cdef double r = alpha + beta
    cdef double x_inf = alpha / r
    return x_inf + (x - x_inf) * exp(-dt * r)


cdef inline double _cond_exp_euler(double vo, double drive, double g, double dt,
                                   double C_m) noexcept nogil:
    """Exponential Euler of C_m dv/dt = drive - g v, drive and g frozen over dt:
    v_inf + (v - v_inf) exp(-dt g / C_m) with v_inf = drive / g (exact while the
    conductances are constant; both Hodgkin-Huxley models)."""
    cdef double v_inf = drive / g
    return v_inf + (vo - v_inf) * exp(-dt * g / C_m)


cdef Py_ssize_t _hh_update(double* s, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t i1,
                           const double* p,
                           int32_t* spikes) noexcept nogil:
    cdef double* v = s
    cdef double* m = s + n
    cdef double* h = s + 2 * n
    cdef double* nn = s + 3 * n
    cdef double* i_ex = s + 4 * n
    cdef double* i_in = s + 5 * n
    cdef double* i_ext = s + 6 * n
    cdef double dt = p[0], C_m = p[1], g_Na = p[2], g_K = p[3], g_L = p[4]
    cdef double E_Na = p[5], E_K = p[6], E_L = p[7], V_spike = p[8]
    cdef double P_ex = p[9], P_in = p[10]
    cdef double vo, mo, ho, no, gna, gk, g
    cdef Py_ssize_t i, bad, count = 0
    for i in range(i0, i1):
        vo = v[i]
        mo = m[i]
        ho = h[i]
        no = nn[i]
        gna = g_Na * mo * mo * mo * ho
        gk = g_K * no * no * no * no
        g = gna + gk + g_L
        v[i] = _cond_exp_euler(vo, gna * E_Na + gk * E_K + g_L * E_L + i_ex[i]
                               + i_in[i] + i_ext[i], g, dt, C_m)
        m[i] = _rush_larsen(mo, 0.1 * _vtrap(-(vo + 40.0), 10.0),
                            4.0 * exp(-(vo + 65.0) / 18.0), dt)
        h[i] = _rush_larsen(ho, 0.07 * exp(-(vo + 65.0) / 20.0),
                            1.0 / (1.0 + exp(-(vo + 35.0) / 10.0)), dt)
        nn[i] = _rush_larsen(no, 0.01 * _vtrap(-(vo + 55.0), 10.0),
                             0.125 * exp(-(vo + 65.0) / 80.0), dt)
        i_ex[i] *= P_ex
        i_in[i] *= P_in
        bad = _nonfinite(s, n, i, 7)
        if bad:
            return bad
        if vo < V_spike and v[i] >= V_spike:
            spikes[count] = <int32_t>i
            count += 1
    return count


cdef void _hh_reset(double* s, Py_ssize_t n, const double* p,
                    const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil:
    pass  # no reset: the spike is the upward crossing of V_spike


# ---------------------------------------------------------------------------
# 7. Resonate-and-fire (Izhikevich 2001): dz/dt = (b + i omega) z + I_ext, exact for
# piecewise-constant I_ext: z' = P z + Q I_ext, P = exp(lambda dt), Q = (P - 1)/lambda.
# vars:   0 x, 1 y, 2 I_ext
# params: 0 Re P, 1 Im P, 2 Re Q, 3 Im Q, 4 a_thresh, 5 x_reset, 6 y_reset
# ---------------------------------------------------------------------------
cdef Py_ssize_t _rf_update(double* s, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t i1,
                           const double* p,
                           int32_t* spikes) noexcept nogil:
    cdef double* x = s
    cdef double* y = s + n
    cdef double* i_ext = s + 2 * n
    cdef double Pr = p[0], Pi = p[1], Qr = p[2], Qi = p[3], a_thresh = p[4]
    cdef double xo, yo
    cdef Py_ssize_t i, bad, count = 0
    for i in range(i0, i1):
        xo = x[i]
        yo = y[i]
        x[i] = Pr * xo - Pi * yo + Qr * i_ext[i]
        y[i] = Pi * xo + Pr * yo + Qi * i_ext[i]
        bad = _nonfinite(s, n, i, 3)
        if bad:
            return bad
        if y[i] >= a_thresh:
            spikes[count] = <int32_t>i
            count += 1
    return count


cdef void _rf_reset(double* s, Py_ssize_t n, const double* p,
                    const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil:
    cdef Py_ssize_t k, i
    for k in range(n_spikes):
        i = spikes[k]
        s[i] = p[5]
        s[n + i] = p[6]


# ---------------------------------------------------------------------------
# 8. AdEx of Clopath et al. (2010) (NEST's aeif_psc_delta_clopath): the AdEx above
# plus an adaptive threshold V_T (set to V_T_max at a spike, relaxes to V_T_rest), a
# spike afterdepolarising current z (set to I_sp at a spike, decays with tau_z) and
# the held spike (v = V_clamp for R_c steps, w frozen meanwhile), then v = V_reset and
# R_r refractory steps. v and w: forward Euler from the old values (the exponential
# at min(v, V_peak) and the old V_T); z, V_T and the synaptic currents decay exactly.
# One counter (row 7) holds R_c + R_r steps from the spike: clamped while it is
# > R_r; the update that brings it from R_r + 1 to R_r sets v = V_reset (then
# integrates, if R_r = 0). Input onto v during a held step is discarded. With a
# clamp, the update that detects the spike already sets v = V_clamp (what a rule
# reading v before the reset sees, as NEST's Clopath history), the reset repeats it.
# vars:   0 v (mV), 1 w (pA), 2 z (pA), 3 V_T (mV), 4 I_syn_ex, 5 I_syn_in,
#         6 I_ext (pA), 7 refractory (steps left, clamp + t_ref)
# params: 0 dt, 1 C_m, 2 g_L, 3 E_L, 4 V_T_rest, 5 Delta_T, 6 tau_w, 7 a, 8 b,
#         9 V_reset, 10 V_peak, 11 R_r, 12 P_ex, 13 P_in, 14 P_z = exp(-dt/tau_z),
#         15 P_VT = exp(-dt/tau_V_T), 16 I_sp, 17 V_T_max, 18 V_clamp, 19 R_c
# ---------------------------------------------------------------------------
cdef Py_ssize_t _adexc_update(double* s, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t i1,
                              const double* p,
                              int32_t* spikes) noexcept nogil:
    cdef double* v = s
    cdef double* w = s + n
    cdef double* z = s + 2 * n
    cdef double* vt = s + 3 * n
    cdef double* i_ex = s + 4 * n
    cdef double* i_in = s + 5 * n
    cdef double* i_ext = s + 6 * n
    cdef double* ref = s + 7 * n
    cdef double dt = p[0], C_m = p[1], g_L = p[2], E_L = p[3], VT_rest = p[4]
    cdef double D_T = p[5], tau_w = p[6], a = p[7], V_reset = p[9], V_peak = p[10]
    cdef double R_r = p[11], P_ex = p[12], P_in = p[13], P_z = p[14], P_vt = p[15]
    cdef double V_clamp = p[18], R_c = p[19]
    cdef double vo, wo, r_old
    cdef Py_ssize_t i, bad, count = 0
    cdef bint held, clamped
    for i in range(i0, i1):
        r_old = ref[i]
        if r_old > 0.0:
            # held during the previous step: input onto v is discarded
            v[i] = V_clamp if r_old > R_r else V_reset
            ref[i] = r_old - 1.0
            if r_old > R_r and ref[i] <= R_r:
                v[i] = V_reset          # the end of the held spike
        clamped = ref[i] > R_r
        held = ref[i] > 0.0
        vo = v[i]
        wo = w[i]
        if not held:
            v[i] = vo + dt * ((_adex_drive(vo, wo, vt[i], g_L, E_L, D_T, V_peak)
                               + z[i] + i_ex[i] + i_in[i] + i_ext[i]) / C_m)
        if not clamped:
            w[i] = _adex_w(vo, wo, dt, a, E_L, tau_w)
        z[i] *= P_z
        vt[i] = VT_rest + (vt[i] - VT_rest) * P_vt
        i_ex[i] *= P_ex
        i_in[i] *= P_in
        bad = _nonfinite(s, n, i, 7)
        if bad:
            return bad
        if not held and v[i] >= V_peak:
            spikes[count] = <int32_t>i
            count += 1
            if R_c > 0.0:
                v[i] = V_clamp   # what a reader sees before the reset: the held spike
    return count


cdef void _adexc_reset(double* s, Py_ssize_t n, const double* p,
                       const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil:
    cdef Py_ssize_t k, i
    cdef double R_c = p[19]
    for k in range(n_spikes):
        i = spikes[k]
        s[i] = p[18] if R_c > 0.0 else p[9]     # V_clamp, or V_reset without a clamp
        s[n + i] += p[8]                        # w += b
        s[2 * n + i] = p[16]                    # z = I_sp
        s[3 * n + i] = p[17]                    # V_T = V_T_max
        s[7 * n + i] = R_c + p[11]              # clamp + refractory steps


# ---------------------------------------------------------------------------
# 13. Hodgkin-Huxley of Traub & Miles (1991) as NEST's hh_cond_exp_traub (PyNN's
# HH_cond_exp): rates of V = v - V_T, exponential synaptic conductances (nS).
# K substeps of hs = dt/K: the gating variables Rush-Larsen from the substep's
# old v, then v exponential Euler with the new gating variables and the synaptic
# conductances at the substep's midpoint (g exp(-hs/(2 tau))); the conductances
# then decay exactly by exp(-hs/tau). Spike as NEST: not refractory, v >= V_T + 30
# and v below its value at the start of the step (the peak has passed). The reset
# only starts the refractory count (v is not clamped): as NEST's r, each update
# decrements a positive count instead of testing for a spike.
# vars:   0 v (mV), 1 m, 2 h, 3 n, 4 g_ex (nS), 5 g_in (nS), 6 I_ext (pA),
#         7 refractory (steps left)
# params: 0 hs = dt/K, 1 C_m, 2 g_Na, 3 g_K, 4 g_L, 5 E_Na, 6 E_K, 7 E_L, 8 V_T,
#         9 E_ex, 10 E_in, 11 exp(-hs/tau_ex), 12 exp(-hs/tau_in),
#         13 exp(-hs/(2 tau_ex)), 14 exp(-hs/(2 tau_in)), 15 K, 16 ref_steps
# ---------------------------------------------------------------------------
cdef inline void _traub_rates(double V, double* r) noexcept nogil:
    """alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n (1/ms) at V = v - V_T."""
    r[0] = 0.32 * _vtrap(13.0 - V, 4.0)
    r[1] = 0.28 * _vtrap(V - 40.0, 5.0)
    r[2] = 0.128 * exp((17.0 - V) / 18.0)
    r[3] = 4.0 / (1.0 + exp((40.0 - V) / 5.0))
    r[4] = 0.032 * _vtrap(15.0 - V, 5.0)
    r[5] = 0.5 * exp((10.0 - V) / 40.0)


cdef Py_ssize_t _hht_update(double* s, Py_ssize_t n, Py_ssize_t i0, Py_ssize_t i1,
                            const double* p,
                            int32_t* spikes) noexcept nogil:
    cdef double* v = s
    cdef double* m = s + n
    cdef double* h = s + 2 * n
    cdef double* nn = s + 3 * n
    cdef double* ge = s + 4 * n
    cdef double* gi = s + 5 * n
    cdef double* i_ext = s + 6 * n
    cdef double* ref = s + 7 * n
    cdef double hs = p[0], C_m = p[1], g_Na = p[2], g_K = p[3], g_L = p[4]
    cdef double E_Na = p[5], E_K = p[6], E_L = p[7], V_T = p[8], E_ex = p[9]
    cdef double E_in = p[10], P_ex = p[11], P_in = p[12], H_ex = p[13], H_in = p[14]
    cdef int K = <int>p[15]
    cdef double r[6]
    cdef double u_old, vo, mo, ho, no, gna, gk, gex, gin
    cdef Py_ssize_t i, bad, count = 0
    cdef int k
    for i in range(i0, i1):
        u_old = v[i]
        vo = u_old
        mo = m[i]
        ho = h[i]
        no = nn[i]
        for k in range(K):
            _traub_rates(vo - V_T, r)
            mo = _rush_larsen(mo, r[0], r[1], hs)
            ho = _rush_larsen(ho, r[2], r[3], hs)
            no = _rush_larsen(no, r[4], r[5], hs)
            gna = g_Na * mo * mo * mo * ho
            gk = g_K * no * no * no * no
            gex = ge[i] * H_ex
            gin = gi[i] * H_in
            vo = _cond_exp_euler(vo, gna * E_Na + gk * E_K + g_L * E_L + gex * E_ex
                                 + gin * E_in + i_ext[i],
                                 gna + gk + g_L + gex + gin, hs, C_m)
            ge[i] *= P_ex
            gi[i] *= P_in
        v[i] = vo
        m[i] = mo
        h[i] = ho
        nn[i] = no
        bad = _nonfinite(s, n, i, 7)
        if bad:
            return bad
        if ref[i] > 0.0:
            ref[i] -= 1.0
        elif vo >= V_T + 30.0 and vo < u_old:
            spikes[count] = <int32_t>i
            count += 1
    return count


cdef void _hht_reset(double* s, Py_ssize_t n, const double* p,
                     const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil:
    cdef Py_ssize_t k
    for k in range(n_spikes):
        s[7 * n + spikes[k]] = p[16]      # refractory count only; v is not reset


# ---------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------
cdef Py_ssize_t neuron_update(int model, double* state, Py_ssize_t n,
                              const double* params, int32_t* spikes) noexcept nogil:
    return neuron_update_range(model, state, n, 0, n, params, spikes)


cdef Py_ssize_t neuron_update_range(int model, double* state, Py_ssize_t n,
                                    Py_ssize_t i0, Py_ssize_t i1, const double* params,
                                    int32_t* spikes) noexcept nogil:
    if model == 0:
        return _lif_update(state, n, i0, i1, params, spikes)
    elif model == 1:
        return _lifcond_update(state, n, i0, i1, params, spikes)
    elif model == 2:
        return _if_update(state, n, i0, i1, params, spikes)
    elif model == 3:
        return _alif_update(state, n, i0, i1, params, spikes)
    elif model == 4:
        return _izh_update(state, n, i0, i1, params, spikes)
    elif model == 5:
        return _adex_update(state, n, i0, i1, params, spikes)
    elif model == 6:
        return _hh_update(state, n, i0, i1, params, spikes)
    elif model == 7:
        return _rf_update(state, n, i0, i1, params, spikes)
    elif model == 8:
        return _adexc_update(state, n, i0, i1, params, spikes)
    elif model == 9:
        return _lif_alpha_update(state, n, i0, i1, params, spikes)
    elif model == 10:
        return _lifcond_alpha_update(state, n, i0, i1, params, spikes)
    elif model == 11:
        return _adexcond_update(state, n, i0, i1, params, spikes)
    elif model == 12:
        return _adexcond_alpha_update(state, n, i0, i1, params, spikes)
    elif model == 13:
        return _hht_update(state, n, i0, i1, params, spikes)
    return 0


cdef void neuron_reset(int model, double* state, Py_ssize_t n, const double* params,
                       const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil:
    if model == 0:
        _lif_reset(state, n, params, spikes, n_spikes)
    elif model == 1:
        _lifcond_reset(state, n, params, spikes, n_spikes)
    elif model == 2:
        _if_reset(state, n, params, spikes, n_spikes)
    elif model == 3:
        _alif_reset(state, n, params, spikes, n_spikes)
    elif model == 4:
        _izh_reset(state, n, params, spikes, n_spikes)
    elif model == 5:
        _adex_reset(state, n, params, spikes, n_spikes)
    elif model == 6:
        _hh_reset(state, n, params, spikes, n_spikes)
    elif model == 7:
        _rf_reset(state, n, params, spikes, n_spikes)
    elif model == 8:
        _adexc_reset(state, n, params, spikes, n_spikes)
    elif model == 9:
        _lif_reset(state, n, params, spikes, n_spikes)        # the same rows
    elif model == 10:
        _lifcond_reset(state, n, params, spikes, n_spikes)
    elif model == 11 or model == 12:
        _adex_reset(state, n, params, spikes, n_spikes)
    elif model == 13:
        _hht_reset(state, n, params, spikes, n_spikes)


def _check(int model, double[:, ::1] state, const double[::1] params):
    if model < 0 or model >= _N_MODELS:
        raise ValueError(f"unknown neuron model id {model}")
    if state.shape[0] != _N_VARS[model]:
        raise ValueError(f"state must have {_N_VARS[model]} rows for model {model}, "
                         f"got {state.shape[0]}")
    if params.shape[0] != _N_PARAMS[model]:
        raise ValueError(f"params must have {_N_PARAMS[model]} values for model "
                         f"{model}, got {params.shape[0]}")


def update(int model, double[:, ::1] state, const double[::1] params):
    """Advance a population by one step (Python entry point, for tests).

    Returns the ids of the neurons that crossed threshold; raises FloatingPointError
    naming the flat index ``k*n + i`` of the first non-finite value.
    """
    import numpy as np
    _check(model, state, params)
    cdef Py_ssize_t n = state.shape[1]
    cdef int32_t[::1] buf = np.empty(max(n, 1), dtype=np.int32)
    cdef Py_ssize_t c
    if n == 0:
        return np.empty(0, dtype=np.int32)
    with nogil:
        c = neuron_update(model, &state[0, 0], n, &params[0], &buf[0])
    if c < 0:
        raise FloatingPointError(f"non-finite state at flat index {-1 - c}")
    return np.asarray(buf[:c]).copy()


def update_raw(int model, double[:, ::1] state, const double[::1] params):
    """As :func:`update` but return the raw count / negative error code."""
    import numpy as np
    _check(model, state, params)
    cdef Py_ssize_t n = state.shape[1]
    cdef int32_t[::1] buf = np.empty(max(n, 1), dtype=np.int32)
    cdef Py_ssize_t c
    if n == 0:
        return 0
    with nogil:
        c = neuron_update(model, &state[0, 0], n, &params[0], &buf[0])
    return c


def reset(int model, double[:, ::1] state, const double[::1] params,
          const int32_t[::1] spikes):
    """Apply the after-spike reset to ``spikes`` (Python entry point, for tests)."""
    _check(model, state, params)
    if spikes.shape[0] == 0:
        return
    cdef Py_ssize_t k
    for k in range(spikes.shape[0]):
        if spikes[k] < 0 or spikes[k] >= state.shape[1]:
            raise ValueError(f"spikes must be neuron ids in [0, {state.shape[1]}), got "
                             f"{spikes[k]} at position {k}")
    with nogil:
        neuron_reset(model, &state[0, 0], state.shape[1], &params[0],
                     &spikes[0], spikes.shape[0])
