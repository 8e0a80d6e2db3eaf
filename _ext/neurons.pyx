# cython: language_level=3
"""Compiled neuron updates (private; the public classes are in plasticity/neurons.py).

Every model is a pair of ``noexcept nogil`` functions over the (n_vars, n) state block:
``_<model>_update`` (integrate one step, threshold) and ``_<model>_reset``. Model ids
are the ``MODEL_*`` constants below and must agree with ``model_id`` in
plasticity/neurons.py.
"""
from libc.math cimport isfinite
from libc.stdint cimport int32_t

MODEL_LIF = 0

# ---------------------------------------------------------------------------
# Current-based LIF with exponential synaptic currents (exact integration,
# Rotter & Diesmann 1999).
# vars:   0 v (mV), 1 I_syn_ex (pA), 2 I_syn_in (pA), 3 I_ext (pA), 4 refractory (steps left)
# params: 0 E_L, 1 V_th, 2 V_reset, 3 ref_steps, 4 P_vv = exp(-dt/tau_m),
#         5 P_v_ext = R (1 - P_vv), 6 P_ex = exp(-dt/tau_ex), 7 P_v_ex,
#         8 P_in = exp(-dt/tau_in), 9 P_v_in
# ---------------------------------------------------------------------------
cdef Py_ssize_t _lif_update(double* s, Py_ssize_t n, const double* p,
                            int32_t* spikes) noexcept nogil:
    cdef double* v = s
    cdef double* i_ex = s + n
    cdef double* i_in = s + 2 * n
    cdef double* i_ext = s + 3 * n
    cdef double* ref = s + 4 * n
    cdef double E_L = p[0], V_th = p[1], P_vv = p[4], P_vext = p[5]
    cdef double P_ex = p[6], P_vex = p[7], P_in = p[8], P_vin = p[9]
    cdef Py_ssize_t i, count = 0
    cdef double vi
    for i in range(n):
        if ref[i] > 0.0:
            ref[i] -= 1.0
            vi = v[i]
        else:
            vi = E_L + (v[i] - E_L) * P_vv + i_ext[i] * P_vext \
                + i_ex[i] * P_vex + i_in[i] * P_vin
            v[i] = vi
        i_ex[i] *= P_ex
        i_in[i] *= P_in
        if not isfinite(vi):
            return -1 - i
        if vi >= V_th and ref[i] <= 0.0:
            spikes[count] = <int32_t>i
            count += 1
    return count


cdef void _lif_reset(double* s, Py_ssize_t n, const double* p,
                     const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil:
    cdef Py_ssize_t k, i
    for k in range(n_spikes):
        i = spikes[k]
        s[i] = p[2]
        s[4 * n + i] = p[3]


cdef Py_ssize_t neuron_update(int model, double* state, Py_ssize_t n,
                              const double* params, int32_t* spikes) noexcept nogil:
    if model == 0:
        return _lif_update(state, n, params, spikes)
    return 0


cdef void neuron_reset(int model, double* state, Py_ssize_t n, const double* params,
                       const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil:
    if model == 0:
        _lif_reset(state, n, params, spikes, n_spikes)


def update(int model, double[:, ::1] state, const double[::1] params):
    """Advance a population by one step (Python entry point, for tests).

    Returns the ids of the neurons that crossed threshold.
    """
    import numpy as np
    cdef Py_ssize_t n = state.shape[1]
    cdef int32_t[::1] buf = np.empty(max(n, 1), dtype=np.int32)
    cdef Py_ssize_t c
    with nogil:
        c = neuron_update(model, &state[0, 0], n, &params[0], &buf[0])
    if c < 0:
        raise FloatingPointError(f"non-finite state at flat index {-1 - c}")
    return np.asarray(buf[:c]).copy()


def reset(int model, double[:, ::1] state, const double[::1] params,
          const int32_t[::1] spikes):
    """Apply the after-spike reset to ``spikes`` (Python entry point, for tests)."""
    if spikes.shape[0] == 0:
        return
    with nogil:
        neuron_reset(model, &state[0, 0], state.shape[1], &params[0],
                     &spikes[0], spikes.shape[0])
