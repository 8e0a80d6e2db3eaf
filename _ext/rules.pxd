# Trace-based STDP kernels: timing dependence x weight dependence.
#
# Sign convention: a_plus, a_minus >= 0 are magnitudes (weight units); potentiation
# adds a_plus * f_plus(u) * (timing term), depression subtracts a_minus * f_minus(u) *
# (timing term), with u = (w - w_min) / (w_max - w_min) and f dimensionless; the result
# is clipped to [w_min, w_max]. Traces are per neuron (or per synapse where a rule
# needs it), event-driven: value after the last update + the step of that update,
# decayed on read (Morrison, Diesmann & Gerstner 2008).
from libc.math cimport exp, pow
from libc.stdint cimport int32_t, int64_t

# timing dependences
cdef enum:
    TIMING_PAIR_ALL = 0          # pair, all-to-all
    TIMING_PAIR_NEAREST_SYM = 1  # pair, nearest symmetric (traces set to 1)
    TIMING_PAIR_NEAREST_PRE = 2  # pair, nearest pre-centred (per-synapse pre trace)
    TIMING_TRIPLET_ALL = 3       # Pfister & Gerstner 2006, all-to-all
    TIMING_TRIPLET_NEAREST = 4   # Pfister & Gerstner 2006, nearest-spike

# weight dependences
cdef enum:
    WDEP_ADDITIVE = 0        # f = 1 (hard bounds by clipping)
    WDEP_MULTIPLICATIVE = 1  # f+ = 1 - u, f- = u (soft bounds)
    WDEP_POWER_LAW = 2       # f+ = (1 - u)^mu_plus, f- = u^mu_minus (Guetig et al. 2003)
    WDEP_WW = 3              # f+ = f- = u (1 - u) (Kheradpisheh et al. 2018)

ctypedef struct StdpParams:
    int timing
    int wdep
    double a_plus      # pair / triplet A2+
    double a_minus     # pair / triplet A2-
    double a3_plus     # triplet A3+ (0 for pair rules)
    double a3_minus    # triplet A3- (0 for pair rules)
    double c_plus      # dt / tau_plus   (pre trace r1)
    double c_minus     # dt / tau_minus  (post trace o1)
    double c_x         # dt / tau_x      (pre trace r2, triplet)
    double c_y         # dt / tau_y      (post trace o2, triplet)
    double w_min
    double w_max
    double mu_plus
    double mu_minus
    int pre_nearest    # pre traces set to 1 at a spike instead of incremented
    int post_nearest   # post traces set to 1 at a spike instead of incremented
    int pre_reset      # pre trace reset to 0 after a post spike used it (pre-centred)
    int triplet        # slow traces in use


cdef inline double trace_value(double value, int64_t last, int64_t t, double c) noexcept nogil:
    """Value at step t of a trace last updated (to `value`) at step `last`."""
    if t == last or value == 0.0:
        return value
    return value * exp(-(<double>(t - last)) * c)


cdef inline double trace_bump(double value, int64_t last, int64_t t, double c,
                              int nearest) noexcept nogil:
    """Value after a spike at step t: decay then +1 (all-to-all) or set to 1 (nearest)."""
    if nearest:
        return 1.0
    return trace_value(value, last, t, c) + 1.0


cdef inline double unit_weight(const StdpParams* p, double w) noexcept nogil:
    """u = (w - w_min) / (w_max - w_min), clipped to [0, 1]."""
    cdef double u = (w - p.w_min) / (p.w_max - p.w_min)
    if u < 0.0:
        return 0.0
    if u > 1.0:
        return 1.0
    return u


cdef inline double f_plus(const StdpParams* p, double w) noexcept nogil:
    cdef double u
    if p.wdep == WDEP_ADDITIVE:
        return 1.0
    u = unit_weight(p, w)
    if p.wdep == WDEP_MULTIPLICATIVE:
        return 1.0 - u
    if p.wdep == WDEP_POWER_LAW:
        return pow(1.0 - u, p.mu_plus)
    return u * (1.0 - u)


cdef inline double f_minus(const StdpParams* p, double w) noexcept nogil:
    cdef double u
    if p.wdep == WDEP_ADDITIVE:
        return 1.0
    u = unit_weight(p, w)
    if p.wdep == WDEP_MULTIPLICATIVE:
        return u
    if p.wdep == WDEP_POWER_LAW:
        return pow(u, p.mu_minus)
    return u * (1.0 - u)


cdef inline double clip_weight(const StdpParams* p, double w) noexcept nogil:
    if w < p.w_min:
        return p.w_min
    if w > p.w_max:
        return p.w_max
    return w


cdef inline double dw_depress(const StdpParams* p, double w, double post_o1,
                              double pre_r2_before) noexcept nogil:
    """Change at a presynaptic spike: -f-(w) o1 (A2- + A3- r2(before the spike))."""
    return -f_minus(p, w) * post_o1 * (p.a_minus + p.a3_minus * pre_r2_before)


cdef inline double dw_potentiate(const StdpParams* p, double w, double pre_r1,
                                 double post_o2_before) noexcept nogil:
    """Change at a postsynaptic spike: +f+(w) r1 (A2+ + A3+ o2(before the spike))."""
    return f_plus(p, w) * pre_r1 * (p.a_plus + p.a3_plus * post_o2_before)


cdef inline double depress(const StdpParams* p, double w, double post_o1,
                           double pre_r2_before) noexcept nogil:
    """Weight after a presynaptic spike, clipped to [w_min, w_max]."""
    return clip_weight(p, w + dw_depress(p, w, post_o1, pre_r2_before))


cdef inline double potentiate(const StdpParams* p, double w, double pre_r1,
                              double post_o2_before) noexcept nogil:
    """Weight after a postsynaptic spike, clipped to [w_min, w_max]."""
    return clip_weight(p, w + dw_potentiate(p, w, pre_r1, post_o2_before))


# The parameters cross from Python by name: StdpParameters(timing="pair",
# interaction="all-to-all", weight_dependence="additive", a_plus=..., dt=...) holds
# the struct the kernels read (rules.pyx; the enums above are exported there as
# TIMINGS and WEIGHT_DEPENDENCES, never mirrored in Python).
cdef class StdpParameters:
    cdef StdpParams p


# ----------------------------------------------------------------------------
# User rules written in Cython (docs/writing-rules.md). A rule module fills a
# CustomRule with its functions and hands it over in a PyCapsule named
# "plasticity.CustomRule"; the engine calls the functions inside its nogil loop.
# ----------------------------------------------------------------------------
ctypedef double (*synapse_fn)(void* data, Py_ssize_t syn, Py_ssize_t pre,
                              Py_ssize_t post, double w, int64_t t) noexcept nogil
ctypedef void (*neuron_fn)(void* data, Py_ssize_t neuron, int64_t t) noexcept nogil
ctypedef void (*step_fn)(void* data, int64_t t) noexcept nogil

ctypedef struct CustomRule:
    void* data                  # the rule's own state (owned by the rule object)
    synapse_fn on_pre_synapse   # a presynaptic spike reached synapse syn (after the
                                # weight was delivered): return the new weight
    neuron_fn after_pre         # once per arriving presynaptic neuron, after its synapses
    synapse_fn on_post_synapse  # postsynaptic neuron spiked: return the new weight
    neuron_fn after_post        # once per postsynaptic spike, after its synapses
    step_fn on_step             # once per step, after the events (may be NULL)
