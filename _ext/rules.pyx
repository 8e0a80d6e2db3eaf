# cython: language_level=3
"""Trace-based STDP kernels (private; public classes in plasticity/rules/).

The per-spike kernels are ``cdef inline`` in ``rules.pxd`` so that the engine's loop
inlines them. This module adds the typed parameters object (built by keyword) and
Python entry points used by tests to hold the kernels to their formulas.
"""
from libc.stdint cimport int64_t


import math

#: the timing dependences by (kind, interaction), as the kernels number them
TIMINGS = {
    ("pair", "all-to-all"): TIMING_PAIR_ALL,
    ("pair", "nearest-symmetric"): TIMING_PAIR_NEAREST_SYM,
    ("pair", "nearest-pre-centred"): TIMING_PAIR_NEAREST_PRE,
    ("triplet", "all-to-all"): TIMING_TRIPLET_ALL,
    ("triplet", "nearest"): TIMING_TRIPLET_NEAREST,
}
#: the weight dependences by name
WEIGHT_DEPENDENCES = {
    "additive": WDEP_ADDITIVE,
    "multiplicative": WDEP_MULTIPLICATIVE,
    "power-law": WDEP_POWER_LAW,
    "kheradpisheh": WDEP_WW,
}


cdef class StdpParameters:
    """The parameters of a built-in STDP rule as the compiled kernels read them,
    built by keyword (``plasticity.rules.STDP.kernel_parameters(dt)`` builds one).

    Times in ms; a trace with tau = inf never decays (``c = dt / tau = 0``); the
    amplitudes are magnitudes (rules.pxd).
    """

    def __init__(self, *, str timing, str interaction, str weight_dependence,
                 double a_plus, double a_minus, double a3_plus=0.0, double a3_minus=0.0,
                 double tau_plus, double tau_minus, double tau_x=math.inf,
                 double tau_y=math.inf, double w_min, double w_max, double mu_plus=0.0,
                 double mu_minus=0.0, double dt):
        key = (timing, interaction)
        if key not in TIMINGS:
            raise ValueError(f"(timing, interaction) must be one of {sorted(TIMINGS)}, "
                             f"got {key}")
        if weight_dependence not in WEIGHT_DEPENDENCES:
            raise ValueError(f"weight_dependence must be one of "
                             f"{sorted(WEIGHT_DEPENDENCES)}, got {weight_dependence!r}")
        for name, tau in (("tau_plus", tau_plus), ("tau_minus", tau_minus),
                          ("tau_x", tau_x), ("tau_y", tau_y)):
            if not tau > 0:
                raise ValueError(f"{name} must be > 0 ms, got {tau}")
        if not (dt > 0 and math.isfinite(dt)):
            raise ValueError(f"dt must be finite and > 0 ms, got {dt}")
        if not (math.isfinite(w_min) and math.isfinite(w_max) and w_min < w_max):
            raise ValueError(f"w_min < w_max must be finite, got {w_min}, {w_max}")
        self.p.timing = TIMINGS[key]
        self.p.wdep = WEIGHT_DEPENDENCES[weight_dependence]
        self.p.a_plus = a_plus
        self.p.a_minus = a_minus
        self.p.a3_plus = a3_plus
        self.p.a3_minus = a3_minus
        self.p.c_plus = dt / tau_plus
        self.p.c_minus = dt / tau_minus
        self.p.c_x = dt / tau_x
        self.p.c_y = dt / tau_y
        self.p.w_min = w_min
        self.p.w_max = w_max
        self.p.mu_plus = mu_plus
        self.p.mu_minus = mu_minus
        t = self.p.timing
        self.p.pre_nearest = t == TIMING_PAIR_NEAREST_SYM or t == TIMING_TRIPLET_NEAREST
        self.p.post_nearest = self.p.pre_nearest or t == TIMING_PAIR_NEAREST_PRE
        self.p.pre_reset = t == TIMING_PAIR_NEAREST_PRE
        self.p.triplet = t == TIMING_TRIPLET_ALL or t == TIMING_TRIPLET_NEAREST

    @property
    def c_plus(self):
        """dt / tau_plus: the decay rate per step of the pre trace."""
        return self.p.c_plus

    @property
    def c_minus(self):
        """dt / tau_minus: the decay rate per step of the post trace."""
        return self.p.c_minus

    def asdict(self):
        """The struct's fields by name."""
        return dict(self.p)

    def __repr__(self):
        return f"StdpParameters({self.asdict()})"


def weight_dependence(StdpParameters params not None, const double[::1] w):
    """f+(w) and f-(w) of a rule for each weight (test entry point)."""
    import numpy as np
    cdef StdpParams p = params.p
    cdef Py_ssize_t i, n = w.shape[0]
    fp = np.empty(n)
    fm = np.empty(n)
    cdef double[::1] a = fp, b = fm
    for i in range(n):
        a[i] = f_plus(&p, w[i])
        b[i] = f_minus(&p, w[i])
    return fp, fm


def apply_depress(StdpParameters params not None, double w, double post_o1,
                  double pre_r2):
    """One presynaptic-spike weight update (test entry point)."""
    cdef StdpParams p = params.p
    return depress(&p, w, post_o1, pre_r2)


def apply_potentiate(StdpParameters params not None, double w, double pre_r1,
                     double post_o2):
    """One postsynaptic-spike weight update (test entry point)."""
    cdef StdpParams p = params.p
    return potentiate(&p, w, pre_r1, post_o2)


def decayed(double value, int64_t last, int64_t t, double c):
    """Event-driven trace value at step t (test entry point)."""
    return trace_value(value, last, t, c)
