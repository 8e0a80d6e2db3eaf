"""Neuron models: parameter validation and packing over the compiled updates.

Each model class validates its parameters at construction, names its state variables
(``variables``), the variables that accept synaptic input (``receptors``), and packs
its parameters, including the dt-dependent propagators, into the float64 vector the
compiled update reads (``packed_params(dt)``). Times in ms, potentials in mV,
currents in pA, capacitances in pF, conductances in nS.

Models (``model_id``: class, integrator):
0 :class:`LIF` exact; 1 :class:`LIFCond` exponential Euler (Brian2's); 2 :class:`IF`
exact; 3 :class:`ALIF` exact; 4 :class:`Izhikevich` forward Euler; 5 :class:`AdEx`
forward Euler; 6 :class:`HodgkinHuxley` exponential Euler (Rush-Larsen); 7
:class:`ResonateAndFire` exact; 8 :class:`AdExClopath` forward Euler (the AdEx of
Clopath et al. 2010: adaptive threshold, spike afterdepolarisation, held spike); 9
:class:`LIFAlpha` exact; 10 :class:`LIFCondAlpha` exponential Euler; 11
:class:`AdExCond` forward Euler; 12 :class:`AdExCondAlpha` forward Euler; 13
:class:`HodgkinHuxleyTraub` exponential Euler (Rush-Larsen) in substeps (NEST's
``hh_cond_exp_traub``, PyNN's ``HH_cond_exp``).

Alpha-shaped synapses (models 9, 10, 12) are the linear pair ``dg/dt = (e/tau) y -
g/tau``, ``dy/dt = -y/tau``, integrated exactly (a propagator per step); the receptor
is ``y``, so a weight w gives ``g(t) = w (e t/tau) exp(-t/tau)``, which peaks at w
at ``t = tau`` (NEST's ``iaf_psc_alpha``, ``iaf_cond_alpha``, ``aeif_cond_alpha``
and PyNN's convention: the weight is the peak).

Refractoriness follows Brian2 2.9: after a spike at step s, v stays at ``V_reset`` for
R = floor(t_ref/dt + 1e-3) steps (Brian2's ``timestep(t_ref, dt)``: whole steps, so
t_ref 0.18, 0.26, 0.36, 1.55 ms at dt 0.1 ms are 1, 2, 3, 15 steps), the update of step
s+R integrates again; the shortest inter-spike interval is R steps. Synaptic input onto
v (the ``v`` receptor of IF and ALIF) arriving while the neuron is refractory is
discarded, as Brian2 discards writes to an ``(unless refractory)`` variable.
"""
import math

import numpy as np

from ._alloc import aligned_empty
from ._ext import neurons as _neurons_ext
from ._validation import Revalidated, check_nonnegative, check_positive, check_finite

__all__ = ["NeuronModel", "LIF", "LIFCond", "IF", "ALIF", "Izhikevich", "AdEx",
           "AdExClopath", "HodgkinHuxley", "ResonateAndFire", "LIFAlpha",
           "LIFCondAlpha", "AdExCond", "AdExCondAlpha", "HodgkinHuxleyTraub",
           "MODELS"]


class NeuronModel(Revalidated):
    """Base class of the built-in neuron models.

    A model's parameters read as attributes (``model.tau_m``); assigning one
    (``model.tau_m = 15.0``) is checked by the constructor, as at construction, and
    takes effect at the next run of the networks that use the model.

    Subclasses set ``model_id`` (matching ``_ext/neurons.pyx``), ``variables``,
    ``receptors``, ``integrator`` and implement ``packed_params`` and ``initial``.
    """

    model_id = -1
    variables = ()
    receptors = ()
    #: how the subthreshold dynamics are integrated
    integrator = "exact"
    #: the variable holding the external (injected) current, if any
    current_variable = "I_ext"
    #: allowed values of state variables beyond finiteness: name -> (low, high,
    #: whole); the refractory counter counts whole steps down to 0 (2**53: beyond it
    #: a step's decrement is lost), gating variables are probabilities
    domains = {"refractory": (0.0, 2.0 ** 53, True),
               "m": (0.0, 1.0, False), "h": (0.0, 1.0, False), "n": (0.0, 1.0, False)}

    def check_state_values(self, var, values, what):
        """A ValueError naming ``what``, the first neuron and its value where
        ``values`` of variable ``var`` are outside the variable's domain."""
        dom = self.domains.get(var) if var in self.variables else None
        if dom is None:
            return
        lo, hi, whole = dom
        v = np.asarray(values, dtype=np.float64)
        bad = (v < lo) | (v > hi)
        if whole:
            bad |= v != np.floor(v)
        if np.any(bad):
            k = int(np.flatnonzero(bad)[0])
            kind = "whole numbers of steps" if whole else "values"
            raise ValueError(f"{what} must be {kind} in [{lo:g}, {hi:g}] for "
                             f"{type(self).__name__}, got {v.flat[k]} (neuron {k})")

    def var_index(self, name):
        """Row of variable ``name`` in the (n_vars, n) state block."""
        try:
            return self.variables.index(name)
        except ValueError:
            raise ValueError(f"{type(self).__name__} has no variable {name!r}; "
                             f"variables are {list(self.variables)}") from None

    def receptor_index(self, name):
        """Row of receptor variable ``name`` (a target for synaptic input)."""
        if name not in self.receptors:
            raise ValueError(f"target must be one of {list(self.receptors)} for "
                             f"{type(self).__name__}, got {name!r}")
        return self.variables.index(name)

    def packed_params(self, dt):  # pragma: no cover - abstract
        raise NotImplementedError

    def initial(self):
        """Initial value of each variable (dict name -> float)."""
        raise NotImplementedError

    def initial_state(self, n):
        """(n_vars, n) float64 state block at rest."""
        init = self.initial()
        state = aligned_empty((len(self.variables), n))
        for k, name in enumerate(self.variables):
            state[k] = init.get(name, 0.0)
        return state

    def parameters(self):
        """The model's parameters as a dict (stored in run files)."""
        return dict(self._params)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"


def _ref_steps(t_ref, dt):
    """The refractory steps R (stored as float in the params), counted as Brian2 does.

    Brian2 2.9 holds a neuron while ``timestep(t - lastspike, dt) < timestep(t_ref,
    dt)`` with ``timestep(x, dt) = int64((x + 1e-3 dt) / dt)``: whole steps, with a
    small tolerance so that multiples of dt are not lost to rounding. So R =
    floor(t_ref/dt + 1e-3): t_ref 0.18, 0.26, 0.36, 1.55 ms at dt 0.1 ms give 1, 2, 3,
    15 steps (measured with Brian2, tests/test_neurons_brian2.py).
    """
    return float(math.floor((t_ref + 1e-3 * dt) / dt))


def _check_dt(dt):
    return check_positive("dt", dt, "ms")


def _check_euler_step(name, tau, dt, got=None):
    """A linear decay of time constant ``tau`` (ms) integrated by forward Euler at step
    ``dt`` keeps ``1 - dt / tau`` of its distance to the fixed point per step: a step
    longer than ``tau`` overshoots the fixed point (a sign flip each step), one longer
    than ``2 tau`` diverges (``tau_w = 1e-12`` ms: a non-finite w within a few steps,
    a SimulationError in the run). Refused here, where ``dt`` is known, before any
    step. Exactly integrated decays (``_decay``) have no such bound: a tiny tau there
    is a decay to the fixed point within one step."""
    if not tau >= dt:
        got = f"{tau:g} ms" if got is None else got
        raise ValueError(f"{name} must be >= dt = {dt} ms (forward Euler: a step longer "
                         f"than the time constant overshoots the fixed point, two steps "
                         f"diverge), got {got}")


def _check_adex_steps(p, dt):
    """The AdEx family's forward-Euler decays: w (tau_w) and the leak of v (C_m / g_L;
    the exponential and the conductances add to it, input-dependent)."""
    _check_euler_step("tau_w", p["tau_w"], dt)
    _check_euler_step("C_m / g_L (the membrane time constant)", p["C_m"] / p["g_L"], dt,
                      got=f"{p['C_m'] / p['g_L']:g} ms (C_m = {p['C_m']} pF, g_L = "
                          f"{p['g_L']} nS)")


#: the largest forward-Euler step of v that the AdEx family's V_peak may allow (mV):
#: far from DBL_MAX, so that the step's other terms cannot overflow it either
_ADEX_MAX_STEP = 1e300


def _check_adex_peak(p, dt, V_T, V_T_name="V_T"):
    """The exponential is evaluated at ``min(v, V_peak)``: its largest forward-Euler
    step, ``dt g_L Delta_T exp((V_peak - V_T) / Delta_T) / C_m`` from just below
    V_peak, must be finite (V_peak = 1e30 mV: exp overflowed, a non-finite v at the
    first spike, a SimulationError in the run). Refused with the step, before any;
    the limit is mV thousands above any model's V_peak."""
    scale = dt * p["g_L"] * p["Delta_T"] / p["C_m"]
    limit = V_T + p["Delta_T"] * (math.log(_ADEX_MAX_STEP) - math.log(scale))
    if not p["V_peak"] <= limit:
        raise ValueError(
            f"V_peak must be <= {V_T_name} + Delta_T ln(1e300 C_m / (dt g_L Delta_T)) = "
            f"{limit:.6g} mV at dt = {dt} ms (forward Euler's step of v below V_peak, "
            f"dt g_L Delta_T exp((V_peak - {V_T_name}) / Delta_T) / C_m, must be "
            f"finite), got {p['V_peak']}")


def _check_tau_or_inf(name, value, unit="ms"):
    """A time constant > 0, or ``math.inf`` (no decay)."""
    if isinstance(value, (int, float, np.floating, np.integer)) and \
            not isinstance(value, (bool, np.bool_)) and value == math.inf:
        return math.inf
    return check_positive(name, value, unit)


def _decay(dt, tau):
    return 0.0 if tau == 0 else math.exp(-dt / tau)


def _psc_propagator(dt, tau_m, tau_s, C_m):
    """Contribution of an exponential current I(0) to v(dt) (Rotter & Diesmann 1999).

    ``tau_m tau_s / (C_m (tau_s - tau_m)) (exp(-dt/tau_s) - exp(-dt/tau_m))``, written as
    ``exp(-dt/tau_m) expm1(r dt) / (r C_m)`` with ``r = 1/tau_m - 1/tau_s`` so that it
    stays accurate when ``tau_s`` is close to ``tau_m`` (limit ``dt exp(-dt/tau_m) / C_m``).
    """
    if tau_s <= 0:
        return 0.0
    r = 1.0 / tau_m - 1.0 / tau_s
    if r == 0.0:
        return dt / C_m * math.exp(-dt / tau_m)
    if r * dt > 700.0:
        # tau_m far below dt (1e-12 ms): expm1 overflows (an OverflowError when the
        # network started); the difference of the two decays is exact enough there
        return (math.exp(-dt / tau_s) - math.exp(-dt / tau_m)) / (r * C_m)
    return math.exp(-dt / tau_m) * math.expm1(r * dt) / (r * C_m)


def _alpha_propagators(dt, tau_s):
    """(P, P_gy) of one exact step of the alpha pair ``dg/dt = (e/tau) y - g/tau``,
    ``dy/dt = -y/tau``: ``g(dt) = P g + P_gy y``, ``y(dt) = P y``, with
    ``P = exp(-dt/tau)`` and ``P_gy = (e dt / tau) P``."""
    P = math.exp(-dt / tau_s)
    return P, math.e * dt / tau_s * P


def _alpha_means(dt, tau_s):
    """(A_g, A_y): the alpha pair's mean of g over a step, ``A_g g + A_y y`` from its
    values at the start: ``(1/dt) int_0^dt g``, with ``x = dt/tau``,
    ``A_g = (1 - e^-x) / x`` and ``A_y = e (1 - e^-x (1 + x)) / x``."""
    x = dt / tau_s
    em1 = -math.expm1(-x)                      # 1 - e^-x
    return em1 / x, math.e * (em1 - x * math.exp(-x)) / x


def _alpha_psc_propagator(dt, tau_m, tau_s, C_m):
    """Contribution of the alpha pair's ``y(0)`` to v(dt) of a LIF
    (``C_m dv/dt = -C_m (v - E_L)/tau_m + I``, I the pair's current from y alone,
    ``I(t) = y (e t/tau_s) exp(-t/tau_s)``):

    ``(e / (tau_s C_m)) exp(-dt/tau_m) dt^2 f(r dt)``, ``r = 1/tau_m - 1/tau_s``,
    ``f(x) = (x e^x - (e^x - 1)) / x^2 = sum_{k>=2} (k-1)/k! x^(k-2)``, by its series
    for ``|x| < 0.5`` (no cancellation when tau_s is close to tau_m; limit 1/2).
    """
    x = (1.0 / tau_m - 1.0 / tau_s) * dt
    if abs(x) < 0.5:
        f, term, k = 0.0, 0.5, 2      # term = x^(k-2) / k!
        while k < 30:
            f += (k - 1) * term
            k += 1
            term *= x / k
    elif x > 700.0:
        # tau_m far below dt: e^x overflows; exp(-dt/tau_m) e^x = exp(-dt/tau_s)
        return math.e / (tau_s * C_m) * dt * dt * (
            math.exp(-dt / tau_s) * (x - 1.0) + math.exp(-dt / tau_m)) / (x * x)
    else:
        f = (x * math.exp(x) - math.expm1(x)) / (x * x)
    return math.e / (tau_s * C_m) * math.exp(-dt / tau_m) * dt * dt * f


def _check_below(name, value, other_name, other, unit="mV"):
    """``value`` (already validated) must be < ``other``."""
    if not value < other:
        raise ValueError(f"{name} must be < {other_name} ({other} {unit}), got {value}")
    return value




class LIF(NeuronModel):
    """Current-based leaky integrate-and-fire neuron with exponential synaptic currents.

    .. math::

        C_m \\frac{dv}{dt} = -\\frac{C_m}{\\tau_m}(v - E_L) + I_{syn,ex} + I_{syn,in}
                            + I_{ext}, \\qquad
        \\frac{dI_{syn,x}}{dt} = -\\frac{I_{syn,x}}{\\tau_{syn,x}}

    Integrated exactly for piecewise-constant ``I_ext`` (Rotter & Diesmann 1999;
    ``integrator = "exact"``). A spike is emitted when ``v >= V_th``; then
    ``v = V_reset``. Synaptic weights are current jumps in pA onto ``I_syn_ex`` /
    ``I_syn_in``; ``I_ext`` (pA) is the injected current.

    Refractoriness (Brian2's semantics): after a spike at step s the membrane potential
    stays at ``V_reset`` for R = floor(t_ref/dt + 1e-3) steps, the whole steps Brian2
    counts (t_ref 0.26 ms at dt 0.1 ms is 2 steps, not 3): it is not integrated and no
    spike is emitted; the update of step s+R integrates again, so the shortest
    inter-spike interval is R steps. The other variables keep evolving.

    Parameters
    ----------
    tau_m : float
        Membrane time constant (ms), > 0.
    C_m : float
        Membrane capacitance (pF), > 0.
    E_L, V_th, V_reset : float
        Resting, threshold and reset potentials (mV), ``V_reset < V_th``.
    t_ref : float
        Refractory period (ms), >= 0.
    tau_syn_ex, tau_syn_in : float
        Synaptic current time constants (ms), > 0.
    """

    model_id = 0
    variables = ("v", "I_syn_ex", "I_syn_in", "I_ext", "refractory")
    receptors = ("I_syn_ex", "I_syn_in")
    integrator = "exact"

    def __init__(self, tau_m=10.0, C_m=250.0, E_L=-70.0, V_th=-55.0, V_reset=-70.0,
                 t_ref=2.0, tau_syn_ex=2.0, tau_syn_in=2.0):
        self._params = dict(
            tau_m=check_positive("tau_m", tau_m, "ms"),
            C_m=check_positive("C_m", C_m, "pF"),
            E_L=check_finite("E_L", E_L), V_th=check_finite("V_th", V_th),
            V_reset=check_finite("V_reset", V_reset),
            t_ref=check_nonnegative("t_ref", t_ref, "ms"),
            tau_syn_ex=check_positive("tau_syn_ex", tau_syn_ex, "ms"),
            tau_syn_in=check_positive("tau_syn_in", tau_syn_in, "ms"),
        )
        _check_below("V_reset", self._params["V_reset"], "V_th", self._params["V_th"])

    def initial(self):
        return {"v": self._params["E_L"]}

    def packed_params(self, dt):
        dt = _check_dt(dt)
        p = self._params
        P_vv = math.exp(-dt / p["tau_m"])
        R = p["tau_m"] / p["C_m"]
        return np.array([
            p["E_L"], p["V_th"], p["V_reset"], _ref_steps(p["t_ref"], dt),
            P_vv, -R * math.expm1(-dt / p["tau_m"]),
            math.exp(-dt / p["tau_syn_ex"]),
            _psc_propagator(dt, p["tau_m"], p["tau_syn_ex"], p["C_m"]),
            math.exp(-dt / p["tau_syn_in"]),
            _psc_propagator(dt, p["tau_m"], p["tau_syn_in"], p["C_m"]),
        ], dtype=np.float64)


class LIFAlpha(LIF):
    """Current-based LIF neuron with alpha-shaped synaptic currents (NEST's
    ``iaf_psc_alpha``, PyNN's ``IF_curr_alpha``).

    .. math::

        C_m \\frac{dv}{dt} = -\\frac{C_m}{\\tau_m}(v - E_L) + I_{syn,ex} + I_{syn,in}
                            + I_{ext}, \\qquad
        \\frac{dI_{syn,x}}{dt} = \\frac{e}{\\tau_{syn,x}} y_x
            - \\frac{I_{syn,x}}{\\tau_{syn,x}}, \\quad
        \\frac{dy_x}{dt} = -\\frac{y_x}{\\tau_{syn,x}}

    The receptors are ``y_ex``, ``y_in`` (pA): a weight w (pA) gives the current
    ``w (e t/tau_syn) exp(-t/tau_syn)``, which peaks at w at ``t = tau_syn`` (NEST
    adds ``e w / tau_syn`` to its ``dI_syn``; ``y = dI_syn tau_syn / e``). The linear
    system (v, I_syn, y) is integrated exactly for piecewise-constant ``I_ext``
    (``integrator = "exact"``, as NEST), with the propagator from y to v written so
    that it stays accurate when ``tau_syn`` is close to ``tau_m``. Threshold, reset
    and refractoriness as :class:`LIF`.

    Parameters
    ----------
    tau_m, C_m, E_L, V_th, V_reset, t_ref, tau_syn_ex, tau_syn_in : float
        As :class:`LIF` (ms, pF, mV); the synaptic time constants are the times to
        peak of the alpha currents.
    """

    model_id = 9
    variables = LIF.variables + ("y_ex", "y_in")
    receptors = ("y_ex", "y_in")
    integrator = "exact"

    def packed_params(self, dt):
        p = self._params
        lif = super().packed_params(dt)
        return np.concatenate([lif, [
            _alpha_propagators(dt, p["tau_syn_ex"])[1],
            _alpha_psc_propagator(dt, p["tau_m"], p["tau_syn_ex"], p["C_m"]),
            _alpha_propagators(dt, p["tau_syn_in"])[1],
            _alpha_psc_propagator(dt, p["tau_m"], p["tau_syn_in"], p["C_m"])]])


class LIFCond(NeuronModel):
    """Conductance-based LIF neuron, conductances relative to the leak conductance.

    As Brian2's ``examples/synapses/STDP.py`` (Song, Miller & Abbott 2000) and Diehl &
    Cook (2015) write it:

    .. math::

        \\tau_m \\frac{dv}{dt} = (E_L - v) + g_e (E_e - v) + g_i (E_i - v) + I_{ext},
        \\qquad \\frac{dg_e}{dt} = -\\frac{g_e}{\\tau_e}, \\quad
        \\frac{dg_i}{dt} = -\\frac{g_i}{\\tau_i}, \\quad
        \\frac{d\\theta}{dt} = -\\frac{\\theta}{\\tau_\\theta}

    ``g_e``, ``g_i`` are dimensionless (units of the leak conductance) and are the
    receptors (weights are dimensionless conductance jumps); ``I_ext`` is in mV (the
    injected current times the membrane resistance, ``R I``).

    Integrator ``"exponential_euler"``, exactly as Brian2's ``exponential_euler``: with
    ``g_e, g_i, I_ext`` frozen at their old values, v's equation is ``dv/dt = A + B v``
    and ``v_new = -A/B + (v + A/B) exp(B dt)``, i.e. ``v_new = v_inf + (v - v_inf)
    exp(-(1 + g_e + g_i) dt / tau_m)`` with ``v_inf = (E_L + g_e E_e + g_i E_i +
    I_ext) / (1 + g_e + g_i)``; the conductances and theta decay exactly. This is exact
    between input events while the conductances are constant and first order (local
    error O(dt^2)) while they decay. The exponential is the library's own
    (``_ext/_exp.h``: at most 1 ulp from the exact value, the same bits on every CPU
    and in the vectorised update); Brian2 calls the C library's, so the two agree to
    rounding, not bit for bit.

    Spike when ``v > V_th + theta`` (strict, as Brian2's ``v > vt``); reset
    ``v = V_reset``, ``theta += theta_plus`` (Diehl & Cook's homeostatic adaptive
    threshold; ``theta_plus = 0`` disables it).

    Refractoriness (Brian2's semantics): after a spike at step s the membrane potential
    stays at ``V_reset`` for R = floor(t_ref/dt + 1e-3) steps, the whole steps Brian2
    counts (t_ref 0.26 ms at dt 0.1 ms is 2 steps, not 3): it is not integrated and no
    spike is emitted; the update of step s+R integrates again, so the shortest
    inter-spike interval is R steps. The other variables keep evolving.

    Parameters
    ----------
    tau_m : float
        Membrane time constant (ms), > 0.
    E_L, V_th, V_reset : float
        Resting potential, base threshold and reset potential (mV);
        ``V_reset < V_th + theta_init``.
    E_e, E_i : float
        Excitatory and inhibitory reversal potentials (mV).
    tau_e, tau_i : float
        Conductance time constants (ms), > 0.
    t_ref : float
        Refractory period (ms), >= 0.
    theta_plus : float
        Threshold increment at each spike (mV), >= 0.
    tau_theta : float
        Decay time constant of theta (ms), > 0, or ``math.inf`` (no decay).
    theta_init : float
        Initial value of theta (mV), >= 0.
    conductance_step : {"start", "mean"}
        Which value of ``g_e``, ``g_i`` is held over a step in v's update. ``"start"``
        (default): the value at the step's start, exactly Brian2's
        ``exponential_euler`` (the Brian2 cross-checks rely on it). ``"mean"``: the
        exact mean of the decaying conductance over the step, ``g tau/dt (1 -
        exp(-dt/tau))``, which removes the first-order lag of the start value: a
        conductance decays within the step, and holding its start value overdrives v
        (at dt 0.1 ms with tau 5 ms, 1% more conductance per step, and a Song 2000
        network fires ~10% more than NEST's ``iaf_cond_exp``, which integrates with
        adaptive RKF45). The PyNN backend's ``IF_cond_exp`` uses ``"mean"``.
    """

    model_id = 1
    variables = ("v", "g_e", "g_i", "theta", "I_ext", "refractory")
    receptors = ("g_e", "g_i")
    integrator = "exponential_euler"

    def __init__(self, tau_m=10.0, E_L=-74.0, V_th=-54.0, V_reset=-60.0, E_e=0.0,
                 E_i=-70.0, tau_e=5.0, tau_i=5.0, t_ref=0.0, theta_plus=0.0,
                 tau_theta=math.inf, theta_init=0.0, conductance_step="start"):
        if conductance_step not in ("start", "mean"):
            raise ValueError(
                f"conductance_step={conductance_step!r}: allowed are 'start' (Brian2's "
                "exponential Euler) and 'mean' (the conductance's exact mean over the step)")
        self._params = dict(
            tau_m=check_positive("tau_m", tau_m, "ms"),
            E_L=check_finite("E_L", E_L), V_th=check_finite("V_th", V_th),
            V_reset=check_finite("V_reset", V_reset),
            E_e=check_finite("E_e", E_e), E_i=check_finite("E_i", E_i),
            tau_e=check_positive("tau_e", tau_e, "ms"),
            tau_i=check_positive("tau_i", tau_i, "ms"),
            t_ref=check_nonnegative("t_ref", t_ref, "ms"),
            theta_plus=check_nonnegative("theta_plus", theta_plus, "mV"),
            tau_theta=_check_tau_or_inf("tau_theta", tau_theta),
            theta_init=check_nonnegative("theta_init", theta_init, "mV"),
            conductance_step=conductance_step,
        )
        p = self._params
        _check_below("V_reset", p["V_reset"], "V_th + theta_init",
                     p["V_th"] + p["theta_init"])

    def initial(self):
        return {"v": self._params["E_L"], "theta": self._params["theta_init"]}

    def packed_params(self, dt):
        dt = _check_dt(dt)
        p = self._params
        return np.array([
            p["E_L"], p["V_th"], p["V_reset"], _ref_steps(p["t_ref"], dt),
            dt / p["tau_m"], p["E_e"], p["E_i"],
            math.exp(-dt / p["tau_e"]), math.exp(-dt / p["tau_i"]),
            math.exp(-dt / p["tau_theta"]), p["theta_plus"],
            # exp(-(dt/tau_m) * 1.0): the membrane factor without input, with the
            # kernel's exp, as the kernel would compute it
            float(_neurons_ext.exp_array(np.array([-(dt / p["tau_m"]) * 1.0]))[0]),
            # the factors from a conductance's start value to the value held over the
            # step (1.0: the start value itself, bit for bit)
            _step_mean_factor(p.get("conductance_step", "start"), dt, p["tau_e"]),
            _step_mean_factor(p.get("conductance_step", "start"), dt, p["tau_i"]),
        ], dtype=np.float64)


def _step_mean_factor(conductance_step, dt, tau):
    """``g`` times this is the conductance held over a step (see LIFCond)."""
    if conductance_step == "start":
        return 1.0
    return -math.expm1(-dt / tau) * tau / dt


class LIFCondAlpha(LIFCond):
    """Conductance-based LIF neuron with alpha-shaped conductances (the synapses of
    NEST's ``iaf_cond_alpha``, PyNN's ``IF_cond_alpha``), conductances relative to
    the leak conductance as :class:`LIFCond`.

    .. math::

        \\frac{dg_x}{dt} = \\frac{e}{\\tau_x} y_x - \\frac{g_x}{\\tau_x}, \\quad
        \\frac{dy_x}{dt} = -\\frac{y_x}{\\tau_x}, \\qquad x \\in \\{e, i\\}

    The receptors are ``y_e``, ``y_i`` (dimensionless, units of the leak
    conductance): a weight w gives ``g(t) = w (e t/tau) exp(-t/tau)``, peaking at w at
    ``t = tau``. The pairs (g, y) are integrated exactly; v by :class:`LIFCond`'s
    exponential Euler with one change: each conductance is held over the step at its
    exact mean over the step (from the pair's values at its start) instead of its
    value at the start. An alpha conductance rises from 0 within the step after its
    input, and the start value lags it: against NEST's ``iaf_cond_alpha`` (adaptive
    RKF45), one cell, PSPs of ~12 mV from tau_syn_E = 0.3 ms conductances, the start
    value gives v 0.24 mV off at dt 0.1, the mean 0.00014 mV
    (benchmarks/pynn_vs_nest.py; the error is second order in dt, first order with
    the start value). Threshold, reset, the adaptive threshold theta and
    refractoriness as :class:`LIFCond`.

    Parameters
    ----------
    tau_m, E_L, V_th, V_reset, E_e, E_i, tau_e, tau_i, t_ref, theta_plus, tau_theta
        As :class:`LIFCond` (and ``theta_init``); ``tau_e``, ``tau_i`` are the times
        to peak (ms).
    """

    model_id = 10
    variables = LIFCond.variables + ("y_e", "y_i")
    receptors = ("y_e", "y_i")
    integrator = "exponential_euler"

    def __init__(self, tau_m=10.0, E_L=-74.0, V_th=-54.0, V_reset=-60.0, E_e=0.0,
                 E_i=-70.0, tau_e=5.0, tau_i=5.0, t_ref=0.0, theta_plus=0.0,
                 tau_theta=math.inf, theta_init=0.0):
        # an alpha conductance is always held at its exact mean over the step
        super().__init__(tau_m, E_L, V_th, V_reset, E_e, E_i, tau_e, tau_i, t_ref,
                         theta_plus, tau_theta, theta_init)
        del self._params["conductance_step"]

    def packed_params(self, dt):
        p = self._params
        # model 1's first 12 parameters, then the alpha pair's (its own 12..17)
        return np.concatenate([super().packed_params(dt)[:12], [
            _alpha_propagators(dt, p["tau_e"])[1], _alpha_propagators(dt, p["tau_i"])[1]],
            _alpha_means(dt, p["tau_e"]), _alpha_means(dt, p["tau_i"])])


class IF(NeuronModel):
    """Non-leaky (perfect) integrate-and-fire neuron.

    .. math:: C_m \\frac{dv}{dt} = I_{ext}

    integrated exactly for piecewise-constant ``I_ext`` (pA): ``v += I_ext dt / C_m``
    (``integrator = "exact"``). Synaptic input is an instantaneous jump of ``v`` (the
    receptor ``v``, weights in mV); a jump arriving while the neuron is refractory is
    discarded, as in Brian2. A spike is emitted when ``v >= V_th``; then
    ``v = V_reset``. The initial potential is ``V_reset``.

    Refractoriness (Brian2's semantics): after a spike at step s the membrane potential
    stays at ``V_reset`` for R = floor(t_ref/dt + 1e-3) steps, the whole steps Brian2
    counts (t_ref 0.26 ms at dt 0.1 ms is 2 steps, not 3): it is not integrated and no
    spike is emitted; the update of step s+R integrates again, so the shortest
    inter-spike interval is R steps. The other variables keep evolving.

    Parameters
    ----------
    C_m : float
        Membrane capacitance (pF), > 0.
    V_th, V_reset : float
        Threshold and reset potentials (mV), ``V_reset < V_th``.
    t_ref : float
        Refractory period (ms), >= 0.
    """

    model_id = 2
    variables = ("v", "I_ext", "refractory")
    receptors = ("v",)
    integrator = "exact"

    def __init__(self, C_m=250.0, V_th=10.0, V_reset=0.0, t_ref=0.0):
        self._params = dict(
            C_m=check_positive("C_m", C_m, "pF"),
            V_th=check_finite("V_th", V_th), V_reset=check_finite("V_reset", V_reset),
            t_ref=check_nonnegative("t_ref", t_ref, "ms"),
        )
        _check_below("V_reset", self._params["V_reset"], "V_th", self._params["V_th"])

    def initial(self):
        return {"v": self._params["V_reset"]}

    def packed_params(self, dt):
        dt = _check_dt(dt)
        p = self._params
        return np.array([p["V_th"], p["V_reset"], _ref_steps(p["t_ref"], dt),
                         dt / p["C_m"]], dtype=np.float64)


class ALIF(NeuronModel):
    """LIF neuron with an adaptive threshold (Bellec et al. 2018, LSNN).

    The membrane is the current-based :class:`LIF` (exponential synaptic currents,
    exact integration); the threshold is

    .. math::

        A = V_{th} + \\beta a, \\qquad \\frac{da}{dt} = -\\frac{a}{\\tau_a},
        \\qquad a \\leftarrow a + 1 \\text{ at each spike}

    with ``a`` decaying exactly (``integrator = "exact"``). Jump convention: ``a``
    increases by 1 at each spike (as e-prop, Bellec et al. 2020: a^{t+1} = rho a^t +
    z^t), so the threshold rises by ``beta`` mV; the LSNN 2018 convention
    ``a += (1 - rho)`` corresponds to ``beta_2018 (1 - rho)`` here. A spike is emitted
    when ``v >= V_th + beta a`` (``a`` after this step's decay); then
    ``v = V_reset`` and ``a += 1``. Receptors: the currents ``I_syn_ex``,
    ``I_syn_in`` (pA) or an instantaneous jump of ``v`` (mV); a jump of ``v`` arriving
    while the neuron is refractory is discarded, as in Brian2.

    Refractoriness (Brian2's semantics): after a spike at step s the membrane potential
    stays at ``V_reset`` for R = floor(t_ref/dt + 1e-3) steps, the whole steps Brian2
    counts (t_ref 0.26 ms at dt 0.1 ms is 2 steps, not 3): it is not integrated and no
    spike is emitted; the update of step s+R integrates again, so the shortest
    inter-spike interval is R steps. The other variables keep evolving.

    Parameters
    ----------
    tau_m, C_m, E_L, V_th, V_reset, t_ref, tau_syn_ex, tau_syn_in : float
        As :class:`LIF`.
    beta : float
        Threshold increase per unit of ``a`` (mV), >= 0.
    tau_a : float
        Adaptation time constant (ms), > 0.
    """

    model_id = 3
    variables = ("v", "a", "I_syn_ex", "I_syn_in", "I_ext", "refractory")
    receptors = ("I_syn_ex", "I_syn_in", "v")
    integrator = "exact"

    def __init__(self, tau_m=20.0, C_m=250.0, E_L=-70.0, V_th=-60.0, V_reset=-70.0,
                 t_ref=2.0, tau_syn_ex=2.0, tau_syn_in=2.0, beta=1.8, tau_a=700.0):
        self._lif = LIF(tau_m=tau_m, C_m=C_m, E_L=E_L, V_th=V_th, V_reset=V_reset,
                        t_ref=t_ref, tau_syn_ex=tau_syn_ex, tau_syn_in=tau_syn_in)
        self._params = dict(self._lif._params,
                            beta=check_nonnegative("beta", beta, "mV"),
                            tau_a=check_positive("tau_a", tau_a, "ms"))

    def initial(self):
        return {"v": self._params["E_L"]}

    def packed_params(self, dt):
        p = self._params
        return np.concatenate([self._lif.packed_params(dt),
                               [p["beta"], math.exp(-dt / p["tau_a"])]])


class Izhikevich(NeuronModel):
    """Izhikevich (2003) simple model.

    .. math::

        \\frac{dv}{dt} = k_1 v^2 + k_2 v + k_3 - u + I_{syn} + I_{ext}, \\qquad
        \\frac{du}{dt} = a (b v - u)

    (``k1, k2, k3 = 0.04, 5, 140`` in the paper; Izhikevich's figure1.m uses 0.04, 4.1,
    108 for Class 1 excitability and the integrator). A spike is emitted when
    ``v >= v_peak`` (30 mV); then ``v = c``, ``u += d``. No refractory period.

    Integrator ``"euler"`` (default): forward Euler with the step dt, all right-hand
    sides from the old values (as Brian2's ``euler``); local error O(dt^2), global
    error O(dt). ``"semi_implicit_euler"``: the same step for v, then u from the new v,
    as Izhikevich's own figure1.m (2004) does; several of its 20 firing patterns
    (rebound spike and burst, bistability, DAP, inhibition-induced spiking and
    bursting) depend on that ordering at the published step sizes.

    Currents are in the model's units (mV/ms, ``C = 1``). ``I_ext`` is the injected
    current; the receptor ``I_syn`` is a synaptic current that enters the next update
    and then decays by ``exp(-dt/tau_syn)``, or is cleared after that one update when
    ``tau_syn = 0`` (a one-step pulse, as the 2003 network code); the receptor ``v``
    is an instantaneous jump (mV).

    Parameters
    ----------
    a, b, c, d : float
        The model's parameters (regular spiking: 0.02, 0.2, -65, 8); a may be
        negative (inhibition-induced spiking in Izhikevich 2004 uses a = -0.02).
    k1, k2, k3 : float
        Coefficients of the quadratic (0.04, 5, 140); k1 > 0.
    v_peak : float
        Spike cut-off (mV), > c.
    tau_syn : float
        Decay time constant of ``I_syn`` (ms), >= 0 (0 = one-step pulse).
    v_init : float
        Initial v (mV); u starts at ``b v_init``.
    integrator : {"euler", "semi_implicit_euler"}
        See above.
    """

    model_id = 4
    variables = ("v", "u", "I_syn", "I_ext")
    receptors = ("I_syn", "v")
    integrator = "euler"

    def __init__(self, a=0.02, b=0.2, c=-65.0, d=8.0, k1=0.04, k2=5.0, k3=140.0,
                 v_peak=30.0, tau_syn=0.0, v_init=-65.0, integrator="euler"):
        if integrator not in ("euler", "semi_implicit_euler"):
            raise ValueError("integrator must be 'euler' or 'semi_implicit_euler', got "
                             f"{integrator!r}")
        self.integrator = integrator
        self._params = dict(
            a=check_finite("a", a), b=check_finite("b", b),
            c=check_finite("c", c), d=check_finite("d", d),
            k1=check_positive("k1", k1, "1/(mV ms)"), k2=check_finite("k2", k2),
            k3=check_finite("k3", k3), v_peak=check_finite("v_peak", v_peak),
            tau_syn=check_nonnegative("tau_syn", tau_syn, "ms"),
            v_init=check_finite("v_init", v_init),
        )
        _check_below("c", self._params["c"], "v_peak", self._params["v_peak"])

    def initial(self):
        p = self._params
        return {"v": p["v_init"], "u": p["b"] * p["v_init"]}

    def packed_params(self, dt):
        dt = _check_dt(dt)
        p = self._params
        if p["a"] > 0:      # u relaxes to b v with time constant 1 / a, by Euler
            _check_euler_step("1 / a (the recovery variable's time constant)",
                              1.0 / p["a"], dt, got=f"a = {p['a']} / ms")
        return np.array([dt, p["a"], p["b"], p["c"], p["d"], p["k1"], p["k2"], p["k3"],
                         p["v_peak"], _decay(dt, p["tau_syn"]),
                         float(self.integrator == "semi_implicit_euler")],
                        dtype=np.float64)

    def parameters(self):
        return dict(self._params, integrator=self.integrator)


class AdEx(NeuronModel):
    """Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005).

    .. math::

        C_m \\frac{dv}{dt} = -g_L (v - E_L) + g_L \\Delta_T
            e^{(\\min(v, V_{peak}) - V_T)/\\Delta_T} - w + I_{syn,ex} + I_{syn,in}
            + I_{ext}, \\qquad
        \\tau_w \\frac{dw}{dt} = a (v - E_L) - w

    with exponential synaptic currents ``dI_syn_x/dt = -I_syn_x / tau_syn_x`` (the
    receptors, weights in pA). A spike is emitted when ``v >= V_peak``; then
    ``v = V_reset``, ``w += b``.

    Integrator ``"euler"``: forward Euler with the step dt, all right-hand sides from
    the old values (local error O(dt^2), global O(dt)); the synaptic currents decay
    exactly. The exponential is evaluated at ``min(v, V_peak)`` (as NEST's aeif models)
    so it cannot overflow; below ``V_peak`` this is the plain equation. dt = 0.1 ms is
    coarse for the spike upstroke; use a smaller dt where spike timing matters.

    Refractoriness (Brian2's semantics): after a spike at step s the membrane potential
    stays at ``V_reset`` for R = floor(t_ref/dt + 1e-3) steps, the whole steps Brian2
    counts (t_ref 0.26 ms at dt 0.1 ms is 2 steps, not 3): it is not integrated and no
    spike is emitted; the update of step s+R integrates again, so the shortest
    inter-spike interval is R steps. The other variables keep evolving.

    Parameters
    ----------
    C_m : float
        Membrane capacitance (pF), > 0.
    g_L : float
        Leak conductance (nS), > 0.
    E_L, V_T, V_reset : float
        Leak reversal, threshold slope factor midpoint and reset potentials (mV).
    Delta_T : float
        Slope factor (mV), > 0.
    tau_w : float
        Adaptation time constant (ms), > 0.
    a : float
        Subthreshold adaptation (nS).
    b : float
        Spike-triggered adaptation (pA).
    V_peak : float
        Spike cut-off (mV), > V_T and > V_reset.
    t_ref : float
        Refractory period (ms), >= 0.
    tau_syn_ex, tau_syn_in : float
        Synaptic current time constants (ms), > 0.
    """

    model_id = 5
    variables = ("v", "w", "I_syn_ex", "I_syn_in", "I_ext", "refractory")
    receptors = ("I_syn_ex", "I_syn_in")
    integrator = "euler"

    def __init__(self, C_m=281.0, g_L=30.0, E_L=-70.6, V_T=-50.4, Delta_T=2.0,
                 tau_w=144.0, a=4.0, b=80.5, V_reset=-70.6, V_peak=0.0, t_ref=0.0,
                 tau_syn_ex=5.0, tau_syn_in=5.0):
        self._params = dict(
            C_m=check_positive("C_m", C_m, "pF"), g_L=check_positive("g_L", g_L, "nS"),
            E_L=check_finite("E_L", E_L), V_T=check_finite("V_T", V_T),
            Delta_T=check_positive("Delta_T", Delta_T, "mV"),
            tau_w=check_positive("tau_w", tau_w, "ms"),
            a=check_finite("a", a), b=check_finite("b", b),
            V_reset=check_finite("V_reset", V_reset),
            V_peak=check_finite("V_peak", V_peak),
            t_ref=check_nonnegative("t_ref", t_ref, "ms"),
            tau_syn_ex=check_positive("tau_syn_ex", tau_syn_ex, "ms"),
            tau_syn_in=check_positive("tau_syn_in", tau_syn_in, "ms"),
        )
        p = self._params
        _check_below("V_T", p["V_T"], "V_peak", p["V_peak"])
        _check_below("V_reset", p["V_reset"], "V_peak", p["V_peak"])

    def initial(self):
        return {"v": self._params["E_L"]}

    def packed_params(self, dt):
        dt = _check_dt(dt)
        p = self._params
        _check_adex_steps(p, dt)
        if getattr(self, "_exponential", True):   # AdExCond with Delta_T = 0: none
            _check_adex_peak(p, dt, p["V_T"])
        return np.array([dt, p["C_m"], p["g_L"], p["E_L"], p["V_T"], p["Delta_T"],
                         p["tau_w"], p["a"], p["b"], p["V_reset"], p["V_peak"],
                         _ref_steps(p["t_ref"], dt), math.exp(-dt / p["tau_syn_ex"]),
                         math.exp(-dt / p["tau_syn_in"])], dtype=np.float64)


class AdExCond(NeuronModel):
    """Conductance-based adaptive exponential integrate-and-fire neuron (Brette &
    Gerstner 2005; NEST's ``aeif_cond_exp``, PyNN's ``EIF_cond_exp_isfa_ista``).

    .. math::

        C_m \\frac{dv}{dt} = -g_L (v - E_L) + g_L \\Delta_T
            e^{(\\min(v, V_{peak}) - V_T)/\\Delta_T} - w - g_e (v - E_e)
            - g_i (v - E_i) + I_{ext}, \\qquad
        \\tau_w \\frac{dw}{dt} = a (v - E_L) - w

    with exponential conductances ``dg_x/dt = -g_x / tau_x`` (the receptors ``g_e``,
    ``g_i``, in nS; weights are conductance jumps in nS).

    Integrator ``"euler"``: v and w by forward Euler from the old values, exactly as
    :class:`AdEx` (the same code: the exponential at ``min(v, V_peak)``), with the
    conductance currents at the old v; the conductances decay exactly. A spike is
    emitted when ``v >= V_peak``; the update that detects it sets ``v = V_peak``:
    near the spike the exponential makes forward Euler's step overshoot V_peak (by
    ``dt g_L Delta_T exp((V_peak - V_T)/Delta_T) / C_m`` at most, ~4 mV with PyNN's
    defaults, V_peak = -40 mV, but ~2e9 mV with V_peak = 0 mV), and a reader of v
    before the reset (a voltage-based rule) sees V_peak instead. Then ``v =
    V_reset``, ``w += b``. NEST integrates this model with adaptive RKF45 and finds
    the crossing within the step; here the spike time is on the step grid and the
    upstroke's error is O(dt): use a smaller dt where spike timing matters.

    Refractoriness as :class:`AdEx`: v held at V_reset for R = floor(t_ref/dt + 1e-3)
    steps, w and the conductances evolving (NEST's aeif models also hold v at V_reset
    while refractory).

    ``Delta_T = 0`` is allowed, as NEST: no exponential term (a LIF with adaptation)
    and the spike threshold is ``V_T`` instead of ``V_peak`` (then ``V_reset < V_T``).

    Parameters
    ----------
    C_m, g_L, E_L, V_T, tau_w, a, b, V_reset, V_peak, t_ref
        As :class:`AdEx` (pF, nS, mV, ms, pA).
    Delta_T : float
        Slope factor (mV), >= 0 (0: see above).
    E_e, E_i : float
        Excitatory and inhibitory reversal potentials (mV).
    tau_e, tau_i : float
        Conductance time constants (ms), > 0.
    """

    model_id = 11
    variables = ("v", "w", "g_e", "g_i", "I_ext", "refractory")
    receptors = ("g_e", "g_i")
    integrator = "euler"

    def __init__(self, C_m=281.0, g_L=30.0, E_L=-70.6, V_T=-50.4, Delta_T=2.0,
                 tau_w=144.0, a=4.0, b=80.5, V_reset=-70.6, V_peak=0.0, t_ref=0.0,
                 E_e=0.0, E_i=-80.0, tau_e=5.0, tau_i=5.0):
        syn = dict(E_e=check_finite("E_e", E_e), E_i=check_finite("E_i", E_i),
                   tau_e=check_positive("tau_e", tau_e, "ms"),
                   tau_i=check_positive("tau_i", tau_i, "ms"))
        Delta_T = check_nonnegative("Delta_T", Delta_T, "mV")
        # AdEx validates the rest (its Delta_T must be > 0: 0 is handled here)
        self._adex = AdEx(C_m=C_m, g_L=g_L, E_L=E_L, V_T=V_T, Delta_T=Delta_T or 1.0,
                          tau_w=tau_w, a=a, b=b, V_reset=V_reset, V_peak=V_peak,
                          t_ref=t_ref, tau_syn_ex=syn["tau_e"], tau_syn_in=syn["tau_i"])
        self._params = {k: v for k, v in self._adex._params.items()
                        if not k.startswith("tau_syn")}
        self._params.update(syn, Delta_T=Delta_T)
        self._adex._exponential = Delta_T > 0   # its Delta_T 1.0 stands in for none
        if Delta_T == 0:
            _check_below("V_reset", self._params["V_reset"], "V_T (Delta_T = 0)",
                         self._params["V_T"])

    def initial(self):
        return {"v": self._params["E_L"]}

    def packed_params(self, dt):
        # AdEx's vector: its P_ex, P_in (12, 13) are exp(-dt/tau_e), exp(-dt/tau_i)
        p = self._params
        packed = np.concatenate([self._adex.packed_params(dt), [p["E_e"], p["E_i"]]])
        if p["Delta_T"] == 0:
            packed[5] = 0.0           # no exponential term
            packed[10] = p["V_T"]     # the threshold is V_T (NEST)
        return packed


class AdExCondAlpha(AdExCond):
    """:class:`AdExCond` with alpha-shaped conductances (NEST's ``aeif_cond_alpha``,
    PyNN's ``EIF_cond_alpha_isfa_ista``).

    .. math::

        \\frac{dg_x}{dt} = \\frac{e}{\\tau_x} y_x - \\frac{g_x}{\\tau_x}, \\quad
        \\frac{dy_x}{dt} = -\\frac{y_x}{\\tau_x}, \\qquad x \\in \\{e, i\\}

    The receptors are ``y_e``, ``y_i`` (nS): a weight w gives ``g(t) = w (e t/tau)
    exp(-t/tau)``, peaking at w at ``t = tau``; the pairs are integrated exactly, v
    and w as :class:`AdExCond`.

    Parameters
    ----------
    As :class:`AdExCond`; ``tau_e``, ``tau_i`` are the times to peak (ms).
    """

    model_id = 12
    variables = AdExCond.variables + ("y_e", "y_i")
    receptors = ("y_e", "y_i")
    integrator = "euler"

    def packed_params(self, dt):
        p = self._params
        return np.concatenate([super().packed_params(dt), [
            _alpha_propagators(dt, p["tau_e"])[1], _alpha_propagators(dt, p["tau_i"])[1]]])


class AdExClopath(NeuronModel):
    """AdEx neuron of Clopath, Büsing, Vasilaki & Gerstner (2010), as NEST's
    ``aeif_psc_delta_clopath``: adaptive threshold, spike afterdepolarisation and a
    held (2 ms) spike.

    .. math::

        C_m \\frac{dv}{dt} = -g_L (v - E_L) + g_L \\Delta_T
            e^{(\\min(v, V_{peak}) - V_T)/\\Delta_T} - w + z + I_{syn,ex} + I_{syn,in}
            + I_{ext}, \\qquad
        \\tau_w \\frac{dw}{dt} = a (v - E_L) - w, \\\\
        \\tau_z \\frac{dz}{dt} = -z, \\qquad
        \\tau_{V_T} \\frac{dV_T}{dt} = V_{T,rest} - V_T

    with exponential synaptic currents ``dI_syn_x/dt = -I_syn_x / tau_syn_x`` (weights
    in pA) and, as the paper's and NEST's neuron (psc_delta), the receptor ``v``: an
    instantaneous jump of v (weights in mV).

    Spike when ``v >= V_peak`` (not held); then ``v = V_clamp`` for ``t_clamp`` (the
    spike itself: the paper's filtered voltages see it), ``w += b``, ``z = I_sp``
    (set, not added), ``V_T = V_T_max`` (set). While clamped, v and w are frozen; z,
    V_T and the currents keep decaying. At ``t_clamp`` after the spike ``v = V_reset``
    and the neuron is refractory for ``t_ref`` more (v held at V_reset, w evolving).
    ``t_clamp = 0``: no held spike, the reset is to V_reset at once (then with
    ``I_sp = 0`` and ``V_T_max = V_T_rest`` the model is :class:`AdEx`).

    In steps of dt (Brian2's whole steps, R_c = floor(t_clamp/dt + 1e-3), R_r likewise
    for t_ref; a counter ``refractory`` holds R_c + R_r): after a spike at step s, v
    is V_clamp at the ends of steps s .. s+R_c-1 (the update of step s already sets it,
    so a rule reading v before the reset sees V_clamp, as NEST's Clopath history); the
    update of step s+R_c sets v = V_reset and integrates from it if t_ref = 0, else v
    stays at V_reset through step s+R_c+R_r-1. Input onto v arriving while the neuron
    is held is discarded (the engine does not deliver it; a direct jump is undone at
    the next update), as NEST and Brian2.

    Integrator ``"euler"``: v and w forward Euler from the old values (local error
    O(dt^2), global O(dt)), with the exponential at ``min(v, V_peak)`` and the old
    V_T; z, V_T and the synaptic currents decay exactly (they are linear and
    uncoupled). dt = 0.1 ms is coarse for the spike upstroke (NEST integrates this
    model with adaptive RKF45; the authors' MATLAB code uses forward Euler at 1 ms).

    Defaults: the paper's visual-cortex neuron as NEST's ``aeif_psc_delta_clopath``
    and the authors' MATLAB code (ModelDB 144566, aEIF.m) give it; the paper's own
    table was not read here, so each value names its source.

    Parameters
    ----------
    C_m : float
        Membrane capacitance (pF), > 0: 281 (NEST, authors' code).
    g_L : float
        Leak conductance (nS), > 0: 30 (NEST, authors' code).
    E_L : float
        Leak reversal (mV): -70.6 (NEST, authors' code).
    V_T_rest : float
        Resting threshold (mV), < V_peak: -50.4 (NEST, authors' code).
    V_T_max : float
        Threshold right after a spike (mV), >= V_T_rest: -30.4 (authors' code:
        V_T_rest + 20 mV; Larisch's ReScience reimplementation). NEST's default is
        +30.4 mV (UNVERIFIED which the paper states; NEST's sign looks like a typo).
    tau_V_T : float
        Threshold relaxation time constant (ms), > 0: 50 (NEST, authors' code).
    Delta_T : float
        Slope factor (mV), > 0: 2 (NEST, authors' code).
    tau_w : float
        Adaptation time constant (ms), > 0: 144 (NEST, authors' code).
    a : float
        Subthreshold adaptation (nS): 4 (NEST, authors' code).
    b : float
        Spike-triggered adaptation (pA): 0.0805, the value the authors' code
        (ModelDB 144566, aEIF.m, units pF/nS/mV/ms/pA) adds to w and NEST's Clopath
        pairing example uses. Brette & Gerstner's 0.0805 nA (NEST's default 80.5 pA)
        would be the same number in nA; with it the Sjöström pairing fit worsens
        (chi^2 22 vs 8.9 in experiments/clopath_2010.py). (Was 0.805 here, a slip.)
    I_sp : float
        Afterdepolarising current set at a spike (pA), >= 0: 400 (NEST, authors' code).
    tau_z : float
        Its decay time constant (ms), > 0: 40 (NEST, authors' code).
    V_reset : float
        Potential after the held spike (mV), < V_peak: -49.6 = E_L + 21 mV (NEST's
        Clopath examples; the authors' code E_L + 15 + 6.0984 = -49.50 mV).
    V_peak : float
        Spike detection (mV), > V_T_rest and > V_reset: 20 (the authors' code; NEST's
        default 33).
    V_clamp : float
        Membrane potential during the spike (mV): 33 (NEST; the authors' code holds
        29.4 then 32.86 mV, 1 ms each).
    t_clamp : float
        Duration of the held spike (ms), >= 0: 2 (NEST, authors' code).
    t_ref : float
        Refractory period after the held spike (ms), >= 0: 0 (NEST's default).
    tau_syn_ex, tau_syn_in : float
        Synaptic current time constants (ms), > 0 (the paper's synapses are the ``v``
        receptor).
    """

    model_id = 8
    variables = ("v", "w", "z", "V_T", "I_syn_ex", "I_syn_in", "I_ext", "refractory")
    receptors = ("I_syn_ex", "I_syn_in", "v")
    integrator = "euler"

    def __init__(self, C_m=281.0, g_L=30.0, E_L=-70.6, V_T_rest=-50.4, V_T_max=-30.4,
                 tau_V_T=50.0, Delta_T=2.0, tau_w=144.0, a=4.0, b=0.0805, I_sp=400.0,
                 tau_z=40.0, V_reset=-49.6, V_peak=20.0, V_clamp=33.0, t_clamp=2.0,
                 t_ref=0.0, tau_syn_ex=5.0, tau_syn_in=5.0):
        self._params = dict(
            C_m=check_positive("C_m", C_m, "pF"), g_L=check_positive("g_L", g_L, "nS"),
            E_L=check_finite("E_L", E_L), V_T_rest=check_finite("V_T_rest", V_T_rest),
            V_T_max=check_finite("V_T_max", V_T_max),
            tau_V_T=check_positive("tau_V_T", tau_V_T, "ms"),
            Delta_T=check_positive("Delta_T", Delta_T, "mV"),
            tau_w=check_positive("tau_w", tau_w, "ms"),
            a=check_finite("a", a), b=check_finite("b", b),
            I_sp=check_nonnegative("I_sp", I_sp, "pA"),
            tau_z=check_positive("tau_z", tau_z, "ms"),
            V_reset=check_finite("V_reset", V_reset),
            V_peak=check_finite("V_peak", V_peak),
            V_clamp=check_finite("V_clamp", V_clamp),
            t_clamp=check_nonnegative("t_clamp", t_clamp, "ms"),
            t_ref=check_nonnegative("t_ref", t_ref, "ms"),
            tau_syn_ex=check_positive("tau_syn_ex", tau_syn_ex, "ms"),
            tau_syn_in=check_positive("tau_syn_in", tau_syn_in, "ms"),
        )
        p = self._params
        _check_below("V_T_rest", p["V_T_rest"], "V_peak", p["V_peak"])
        _check_below("V_reset", p["V_reset"], "V_peak", p["V_peak"])
        if not p["V_T_max"] >= p["V_T_rest"]:
            raise ValueError(f"V_T_max must be >= V_T_rest ({p['V_T_rest']} mV), got "
                             f"{p['V_T_max']}")

    def initial(self):
        return {"v": self._params["E_L"], "V_T": self._params["V_T_rest"]}

    def packed_params(self, dt):
        dt = _check_dt(dt)
        p = self._params
        _check_adex_steps(p, dt)
        # the threshold relaxes to V_T_rest from above: there the exponential is largest
        _check_adex_peak(p, dt, p["V_T_rest"], "V_T_rest")
        return np.array([dt, p["C_m"], p["g_L"], p["E_L"], p["V_T_rest"], p["Delta_T"],
                         p["tau_w"], p["a"], p["b"], p["V_reset"], p["V_peak"],
                         _ref_steps(p["t_ref"], dt), math.exp(-dt / p["tau_syn_ex"]),
                         math.exp(-dt / p["tau_syn_in"]), math.exp(-dt / p["tau_z"]),
                         math.exp(-dt / p["tau_V_T"]), p["I_sp"], p["V_T_max"],
                         p["V_clamp"], _ref_steps(p["t_clamp"], dt)], dtype=np.float64)


def _hh_rates(v):
    """(alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n) in 1/ms at v (mV)."""
    def vtrap(x, y):
        return y - 0.5 * x if abs(x) < 1e-9 * y else x / math.expm1(x / y)
    return (0.1 * vtrap(-(v + 40.0), 10.0), 4.0 * math.exp(-(v + 65.0) / 18.0),
            0.07 * math.exp(-(v + 65.0) / 20.0), 1.0 / (1.0 + math.exp(-(v + 35.0) / 10.0)),
            0.01 * vtrap(-(v + 55.0), 10.0), 0.125 * math.exp(-(v + 65.0) / 80.0))


class HodgkinHuxley(NeuronModel):
    """Hodgkin-Huxley (1952) squid-axon neuron, rest near -65 mV.

    .. math::

        C_m \\frac{dv}{dt} = -g_{Na} m^3 h (v - E_{Na}) - g_K n^4 (v - E_K)
            - g_L (v - E_L) + I_{syn,ex} + I_{syn,in} + I_{ext}, \\qquad
        \\frac{dx}{dt} = \\alpha_x(v)(1 - x) - \\beta_x(v) x, \\; x \\in \\{m, h, n\\}

    with (v in mV, rates in 1/ms; as NEST's ``hh_psc_alpha`` and Brian2's HH examples)
    ``alpha_m = 0.1 (v+40) / (1 - exp(-(v+40)/10))``, ``beta_m = 4 exp(-(v+65)/18)``,
    ``alpha_h = 0.07 exp(-(v+65)/20)``, ``beta_h = 1 / (1 + exp(-(v+35)/10))``,
    ``alpha_n = 0.01 (v+55) / (1 - exp(-(v+55)/10))``, ``beta_n = 0.125
    exp(-(v+65)/80)``. Exponential synaptic currents (pA) are the receptors.

    Integrator ``"exponential_euler"`` (Rush-Larsen): each gating variable is advanced
    exactly with its rates frozen at the old v, ``x_new = x_inf + (x - x_inf)
    exp(-(alpha + beta) dt)``; v is advanced exactly with the conductances and currents
    frozen at their old values (Brian2's ``exponential_euler``). Local error O(dt^2),
    global error O(dt); unconditionally stable.

    A spike is the upward crossing of ``V_spike`` (0 mV) during a step
    (``v_old < V_spike <= v_new``); there is no reset and no refractory clamp: the
    action potential itself provides the refractoriness.

    Parameters
    ----------
    C_m : float
        Membrane capacitance (pF), > 0.
    g_Na, g_K, g_L : float
        Peak sodium, potassium and leak conductances (nS), > 0.
    E_Na, E_K, E_L : float
        Reversal potentials (mV).
    V_spike : float
        Spike-detection potential (mV).
    tau_syn_ex, tau_syn_in : float
        Synaptic current time constants (ms), > 0.
    """

    model_id = 6
    variables = ("v", "m", "h", "n", "I_syn_ex", "I_syn_in", "I_ext")
    receptors = ("I_syn_ex", "I_syn_in")
    integrator = "exponential_euler"

    def __init__(self, C_m=100.0, g_Na=12000.0, g_K=3600.0, g_L=30.0, E_Na=50.0,
                 E_K=-77.0, E_L=-54.402, V_spike=0.0, tau_syn_ex=0.2, tau_syn_in=2.0):
        self._params = dict(
            C_m=check_positive("C_m", C_m, "pF"),
            g_Na=check_positive("g_Na", g_Na, "nS"), g_K=check_positive("g_K", g_K, "nS"),
            g_L=check_positive("g_L", g_L, "nS"),
            E_Na=check_finite("E_Na", E_Na), E_K=check_finite("E_K", E_K),
            E_L=check_finite("E_L", E_L), V_spike=check_finite("V_spike", V_spike),
            tau_syn_ex=check_positive("tau_syn_ex", tau_syn_ex, "ms"),
            tau_syn_in=check_positive("tau_syn_in", tau_syn_in, "ms"),
        )

    def initial(self):
        v = -65.0
        am, bm, ah, bh, an, bn = _hh_rates(v)
        return {"v": v, "m": am / (am + bm), "h": ah / (ah + bh), "n": an / (an + bn)}

    def packed_params(self, dt):
        dt = _check_dt(dt)
        p = self._params
        return np.array([dt, p["C_m"], p["g_Na"], p["g_K"], p["g_L"], p["E_Na"],
                         p["E_K"], p["E_L"], p["V_spike"],
                         math.exp(-dt / p["tau_syn_ex"]),
                         math.exp(-dt / p["tau_syn_in"])], dtype=np.float64)


def _traub_rates(V):
    """(alpha_m, beta_m, alpha_h, beta_h, alpha_n, beta_n) in 1/ms at V = v - V_T (mV),
    Traub & Miles as NEST's ``hh_cond_exp_traub``."""
    def vtrap(x, y):
        return y - 0.5 * x if abs(x) < 1e-9 * y else x / math.expm1(x / y)
    return (0.32 * vtrap(13.0 - V, 4.0), 0.28 * vtrap(V - 40.0, 5.0),
            0.128 * math.exp((17.0 - V) / 18.0), 4.0 / (1.0 + math.exp((40.0 - V) / 5.0)),
            0.032 * vtrap(15.0 - V, 5.0), 0.5 * math.exp((10.0 - V) / 40.0))


class HodgkinHuxleyTraub(NeuronModel):
    """Hodgkin-Huxley neuron of Traub & Miles (1991) with exponential synaptic
    conductances, as NEST's ``hh_cond_exp_traub`` (PyNN's ``HH_cond_exp``; the
    neuron of the COBAHH benchmark of Brette et al. 2007).

    .. math::

        C_m \\frac{dv}{dt} = -g_{Na} m^3 h (v - E_{Na}) - g_K n^4 (v - E_K)
            - g_L (v - E_L) - g_{ex} (v - E_{ex}) - g_{in} (v - E_{in}) + I_{ext},
        \\\\
        \\frac{dx}{dt} = \\alpha_x(V)(1 - x) - \\beta_x(V) x, \\; x \\in \\{m, h, n\\},
        \\qquad \\frac{dg_{ex}}{dt} = -\\frac{g_{ex}}{\\tau_{syn,ex}}, \\quad
        \\frac{dg_{in}}{dt} = -\\frac{g_{in}}{\\tau_{syn,in}}

    with ``V = v - V_T`` (mV; rates in 1/ms): ``alpha_m = 0.32 (13 - V) / (exp((13 -
    V)/4) - 1)``, ``beta_m = 0.28 (V - 40) / (exp((V - 40)/5) - 1)``, ``alpha_h =
    0.128 exp((17 - V)/18)``, ``beta_h = 4 / (1 + exp((40 - V)/5))``, ``alpha_n =
    0.032 (15 - V) / (exp((15 - V)/5) - 1)``, ``beta_n = 0.5 exp((10 - V)/40)``.
    The receptors ``g_ex``, ``g_in`` (nS) jump by the weight; ``I_ext`` (pA) is the
    injected current.

    Integrator ``"exponential_euler"`` in K = ceil(dt / max_substep) substeps of h =
    dt/K (K = 4 at dt 0.1 ms): in each, the gating variables advance exactly with
    their rates frozen at the substep's old v (Rush-Larsen), then v advances exactly
    with those new gating variables, the synaptic conductances at the substep's
    midpoint and ``I_ext`` frozen (exponential Euler, as :class:`HodgkinHuxley`);
    the conductances decay exactly. Unconditionally stable, first order. Measured
    against a tight-tolerance reference (DOP853, rtol 1e-10) with a 500 pA current
    for 200 ms at dt 0.1 ms: the 17 spikes at the same steps with K = 16, within
    0.2 ms with K = 4, within 2 ms with K = 1 (tests/test_neurons.py checks K = 4).
    NEST integrates with adaptive RKF45 (tolerance 1e-3).

    Spikes as NEST: a spike is emitted at the end of a step where ``v >= V_T + 30``
    mV and ``v`` is below its value at the start of the step (the peak has just
    passed) unless the neuron is refractory. The spike only starts the refractory
    count of R = floor(t_ref/dt + 1e-3) steps (v is neither reset nor clamped): as
    NEST's counter, each of the next R updates decrements it instead of testing for
    a spike. t_ref must outlast the falling flank of the action potential or one
    action potential gives several spikes (NEST's default 2 ms).

    Parameters (NEST's defaults and units)
    ----------
    C_m : float
        Membrane capacitance (pF), > 0.
    g_Na, g_K : float
        Peak sodium and potassium conductances (nS), >= 0.
    g_L : float
        Leak conductance (nS), > 0.
    E_Na, E_K, E_L : float
        Reversal potentials (mV).
    V_T : float
        Voltage offset of the rate functions (mV); -63 mV puts the threshold near
        -50 mV.
    E_ex, E_in : float
        Reversal potentials of the excitatory and inhibitory conductances (mV).
    tau_syn_ex, tau_syn_in : float
        Decay time constants of the synaptic conductances (ms), > 0.
    t_ref : float
        Refractory period of the spike detection (ms), >= 0.
    max_substep : float
        Longest integration substep (ms), > 0.
    """

    model_id = 13
    variables = ("v", "m", "h", "n", "g_ex", "g_in", "I_ext", "refractory")
    receptors = ("g_ex", "g_in")
    integrator = "exponential_euler"

    def __init__(self, C_m=200.0, g_Na=20000.0, g_K=6000.0, g_L=10.0, E_Na=50.0,
                 E_K=-90.0, E_L=-60.0, V_T=-63.0, E_ex=0.0, E_in=-80.0, tau_syn_ex=5.0,
                 tau_syn_in=10.0, t_ref=2.0, max_substep=0.025):
        self._params = dict(
            C_m=check_positive("C_m", C_m, "pF"),
            g_Na=check_nonnegative("g_Na", g_Na, "nS"),
            g_K=check_nonnegative("g_K", g_K, "nS"),
            g_L=check_positive("g_L", g_L, "nS"),
            E_Na=check_finite("E_Na", E_Na), E_K=check_finite("E_K", E_K),
            E_L=check_finite("E_L", E_L), V_T=check_finite("V_T", V_T),
            E_ex=check_finite("E_ex", E_ex), E_in=check_finite("E_in", E_in),
            tau_syn_ex=check_positive("tau_syn_ex", tau_syn_ex, "ms"),
            tau_syn_in=check_positive("tau_syn_in", tau_syn_in, "ms"),
            t_ref=check_nonnegative("t_ref", t_ref, "ms"),
            max_substep=check_positive("max_substep", max_substep, "ms"),
        )

    def initial(self):
        """v = E_L, the gating variables at their steady state there (as NEST)."""
        p = self._params
        am, bm, ah, bh, an, bn = _traub_rates(p["E_L"] - p["V_T"])
        return {"v": p["E_L"], "m": am / (am + bm), "h": ah / (ah + bh),
                "n": an / (an + bn)}

    def substeps(self, dt):
        """K, the substeps per step of ``dt``."""
        dt = _check_dt(dt)
        return max(1, math.ceil(dt / self._params["max_substep"] - 1e-9))

    def packed_params(self, dt):
        dt = _check_dt(dt)
        p = self._params
        K = self.substeps(dt)
        if K > 10000:
            raise ValueError(f"max_substep = {p['max_substep']} ms gives {K} substeps per "
                             f"step of dt = {dt} ms; at most 10000 are allowed")
        hs = dt / K
        return np.array([hs, p["C_m"], p["g_Na"], p["g_K"], p["g_L"], p["E_Na"],
                         p["E_K"], p["E_L"], p["V_T"], p["E_ex"], p["E_in"],
                         math.exp(-hs / p["tau_syn_ex"]), math.exp(-hs / p["tau_syn_in"]),
                         math.exp(-hs / (2.0 * p["tau_syn_ex"])),
                         math.exp(-hs / (2.0 * p["tau_syn_in"])), float(K),
                         _ref_steps(p["t_ref"], dt)], dtype=np.float64)


class ResonateAndFire(NeuronModel):
    """Resonate-and-fire neuron (Izhikevich 2001).

    .. math:: \\frac{dz}{dt} = (b + i\\omega) z + I_{ext}, \\qquad z = x + i y

    integrated exactly for piecewise-constant real ``I_ext`` (``integrator =
    "exact"``): ``z_new = P z + Q I_ext`` with ``P = exp(lambda dt)``,
    ``Q = (P - 1) / lambda``, ``lambda = b + i omega``. A spike is emitted when
    ``y >= a_thresh``; then ``z = x_reset + i y_reset``. Receptors: instantaneous jumps
    of ``x`` (a brief input pulse, as in the paper) or ``y``. Units are the model's
    (x, y dimensionless, I_ext in 1/ms); omega is the angular frequency (rad/ms), so
    the resonant inter-pulse interval is ``2 pi / omega``.

    Parameters
    ----------
    b : float
        Damping rate (1/ms), < 0.
    omega : float
        Angular frequency (rad/ms), > 0.
    a_thresh : float
        Spike threshold on y, > y_reset.
    x_reset, y_reset : float
        The reset point z_reset.
    """

    model_id = 7
    variables = ("x", "y", "I_ext")
    receptors = ("x", "y")
    integrator = "exact"

    def __init__(self, b=-0.1, omega=2 * math.pi * 0.01, a_thresh=1.0, x_reset=0.0,
                 y_reset=0.0):
        self._params = dict(
            b=check_finite("b", b), omega=check_positive("omega", omega, "rad/ms"),
            a_thresh=check_finite("a_thresh", a_thresh),
            x_reset=check_finite("x_reset", x_reset),
            y_reset=check_finite("y_reset", y_reset),
        )
        if not self._params["b"] < 0:
            raise ValueError(f"b must be < 0 1/ms, got {b}")
        _check_below("y_reset", self._params["y_reset"], "a_thresh",
                     self._params["a_thresh"], unit="")

    def initial(self):
        return {}

    def packed_params(self, dt):
        dt = _check_dt(dt)
        p = self._params
        lam = complex(p["b"], p["omega"])
        P = np.exp(lam * dt)
        Q = np.expm1(lam * dt) / lam
        return np.array([P.real, P.imag, Q.real, Q.imag, p["a_thresh"], p["x_reset"],
                         p["y_reset"]], dtype=np.float64)


#: the built-in models by name
MODELS = {cls.__name__: cls for cls in (LIF, LIFCond, IF, ALIF, Izhikevich, AdEx,
                                        HodgkinHuxley, ResonateAndFire, AdExClopath,
                                        LIFAlpha, LIFCondAlpha, AdExCond, AdExCondAlpha,
                                        HodgkinHuxleyTraub)}
