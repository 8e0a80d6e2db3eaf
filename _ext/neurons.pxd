# Neuron state updates, called by the compiled engine (engine.pyx).
#
# Contract (see docs/internals.md):
#   state  : (n_vars, n) C-contiguous float64, variable k of neuron i at state[k*n + i]
#   params : float64 vector packed by the Python model class (plasticity/neurons.py),
#            including dt-dependent propagators precomputed before the run
#   neuron_update advances all n neurons by one step, detects threshold crossings,
#   writes the spiking ids (ascending) into `spikes` and returns their count; it returns
#   -1 - (k*n + i) for the first non-finite state value (variable k, neuron i).
#   neuron_update_range does the same for neurons i0 .. i1-1 only (spikes from
#   spikes[0], error codes still -1 - (k*n + i) with the global i).
#   neuron_reset applies the after-spike reset to the given neurons (called after the
#   synaptic events of the step, as in Brian2's schedule).
from libc.stdint cimport int32_t, int64_t

cdef Py_ssize_t neuron_update(int model, double* state, Py_ssize_t n,
                              const double* params, int32_t* spikes) noexcept nogil

cdef Py_ssize_t neuron_update_range(int model, double* state, Py_ssize_t n,
                                    Py_ssize_t i0, Py_ssize_t i1, const double* params,
                                    int32_t* spikes) noexcept nogil

cdef void neuron_reset(int model, double* state, Py_ssize_t n, const double* params,
                       const int32_t* spikes, Py_ssize_t n_spikes) noexcept nogil
