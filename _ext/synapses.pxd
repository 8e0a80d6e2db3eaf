# Kernels over the CSR-by-pre + post-index layout of SynapseMatrix
# (plasticity/synapses.py; layout in docs/internals.md).
from libc.stdint cimport int32_t, int64_t

ctypedef fused weight_t:
    float
    double
