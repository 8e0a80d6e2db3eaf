"""PyNN's standard cell, synapse and current-source types on our models.

The PyNN objects keep their parameters in PyNN's units (ms, mV, nA, nF, uS, Hz):
the translations PyNN sees are identities, and the conversion to our models (ms, mV,
pA, pF, nS or conductances relative to the leak) happens once per engine group, in
:func:`native_model` (tested per parameter in tests/test_pynn.py).
"""
import math

import numpy as np
from pyNN.standardmodels import build_translations, cells, electrodes, synapses
from pyNN.standardmodels import StandardCurrentSource
from pyNN.standardmodels.base import check_weights as pynn_check_weights
from pyNN.parameters import ParameterSpace, Sequence

from .. import neurons as _neurons

__all__ = ["IF_curr_exp", "IF_cond_exp", "IF_curr_alpha", "IF_cond_alpha",
           "EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista", "Izhikevich",
           "HH_cond_exp", "SpikeSourcePoisson", "SpikeSourceArray", "SpikeSourceGamma",
           "SpikeSourcePoissonRefractory", "SimpleStochasticSynapse", "PointNeuron",
           "StaticSynapse", "STDPMechanism", "SpikePairRule", "Vogels2011Rule",
           "AdditiveWeightDependence", "MultiplicativeWeightDependence",
           "AdditivePotentiationMultiplicativeDepression", "GutigWeightDependence",
           "TsodyksMarkramSynapse", "DCSource", "StepCurrentSource", "ACSource",
           "NoisyCurrentSource", "native_model"]


def _identity(cls):
    return build_translations(*[(n, n) for n in cls.default_parameters])


def _identity_state(cls):
    return build_translations(*[(n, n) for n in cls.default_initial_values])


def _standard(base, state=False):
    """``base`` with identity translations (its parameters, and its state variables
    where ``state``), under its own name."""
    ns = dict(__doc__=base.__doc__, __module__=__name__, __qualname__=base.__name__,
              translations=_identity(base))
    if state:
        ns["state_variable_translations"] = _identity_state(base)
    return type(base.__name__, (base,), ns)


# ----------------------------------------------------------------- cell types
IF_curr_exp = _standard(cells.IF_curr_exp, state=True)
IF_cond_exp = _standard(cells.IF_cond_exp, state=True)
IF_curr_alpha = _standard(cells.IF_curr_alpha, state=True)
IF_cond_alpha = _standard(cells.IF_cond_alpha, state=True)
EIF_cond_exp_isfa_ista = _standard(cells.EIF_cond_exp_isfa_ista, state=True)
EIF_cond_alpha_isfa_ista = _standard(cells.EIF_cond_alpha_isfa_ista, state=True)
Izhikevich = _standard(cells.Izhikevich, state=True)
HH_cond_exp = _standard(cells.HH_cond_exp, state=True)
SpikeSourcePoisson = _standard(cells.SpikeSourcePoisson)
SpikeSourceArray = _standard(cells.SpikeSourceArray)
SpikeSourceGamma = _standard(cells.SpikeSourceGamma)
# alpha is real here (our GammaGroup; NEST's gamma_sup_generator takes whole numbers):
# PyNN's default 2 would make it an int parameter, truncating 2.5 to 2 and failing
# on inf with an OverflowError in lazyarray before any check of ours
SpikeSourceGamma.default_parameters = dict(cells.SpikeSourceGamma.default_parameters,
                                           alpha=2.0)
SpikeSourcePoissonRefractory = _standard(cells.SpikeSourcePoissonRefractory)


class PointNeuron:
    """Not available: PyNN's composed point neuron (a neuron with named receptors of
    their own kinetics, NEST's ``*_multisynapse`` models). Our neuron models have two
    fixed receptors (excitatory, inhibitory); see docs/pynn.md."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            "PointNeuron (named receptors with their own kinetics) is not supported by "
            "plasticity.pynn: its neuron models have two fixed receptors, excitatory "
            "and inhibitory; use a standard cell type (IF_cond_exp, IF_curr_alpha, ...)")


class NativeInfo:
    """How one engine group maps PyNN's units onto the model's."""

    def __init__(self, model, current_scale, receptors, state, recordable):
        self.model = model
        #: PyNN current (nA) -> the model's current variable
        self.current_scale = current_scale
        #: receptor_type -> (target variable, weight scale)
        self.receptors = receptors
        #: PyNN state variable -> (model variable, scale): model = PyNN * scale
        self.state = state
        self.recordable = recordable


#: IF_cond_exp's LIFCond(conductance_step=...): "mean" is NEST's iaf_cond_exp within
#: a step; "start" would be Brian2's exponential Euler (our core default)
CONDUCTANCE_STEP = "mean"


#: NEST's time grid: tics per ms (its default), in which it rounds t_ref and dt
NEST_TICS_PER_MS = 1000


def nest_refractory_steps(tau_refrac, dt):
    """The steps NEST holds V_m at V_reset after a spike: t_ref rounded up to whole
    steps of dt, as NEST's ``Time(Time::ms(t_ref)).get_steps()`` counts them in tics
    (iaf_psc_exp/alpha, iaf_cond_exp/alpha, aeif_cond_exp/alpha; measured with NEST
    3: t_ref 0.05, 0.14, 0.15, 1.55, 2.0 ms at dt 0.1 ms hold 1, 2, 2, 16, 20 steps,
    the shortest inter-spike interval is one step more)."""
    tics = round(tau_refrac * NEST_TICS_PER_MS)
    step = round(dt * NEST_TICS_PER_MS)
    return -(-tics // step)


def native_t_ref(tau_refrac, dt):
    """Our models' ``t_ref`` for PyNN's ``tau_refrac``, so that v is held as NEST
    holds it (pyNN.nest is PyNN's reference backend). NEST holds V_m for the R =
    :func:`nest_refractory_steps` steps after the spike's step; our neuron models
    count as Brian2 (plasticity.neurons._ref_steps: the update of step s + R'
    integrates again after a spike at step s), one step less for the same time, so
    they get R + 1 steps: t_ref = (R + 1) dt. (It was tau_refrac: at 2 ms and dt
    0.1 ms, held 19 steps against NEST's 20, each interval one step shorter.)"""
    return (nest_refractory_steps(tau_refrac, dt) + 1) * dt


def _cond_lif(p, dt):
    """LIFCond's/LIFCondAlpha's parameters from IF_cond_*'s (PyNN units)."""
    return dict(tau_m=p["tau_m"], E_L=p["v_rest"], V_th=p["v_thresh"],
                V_reset=p["v_reset"], E_e=p["e_rev_E"], E_i=p["e_rev_I"],
                tau_e=p["tau_syn_E"], tau_i=p["tau_syn_I"],
                t_ref=native_t_ref(p["tau_refrac"], dt))


def native_model(name, p, dt):
    """Our model for PyNN cell type ``name`` with scalar parameters ``p`` (PyNN
    units) at time step ``dt`` (ms: the refractory period is counted in its steps,
    :func:`native_t_ref`), and the unit conversions (:class:`NativeInfo`)."""
    # alpha synapses: the weight (the peak) goes to the second variable y of the pair
    alpha = "alpha" in name
    if name in ("IF_curr_exp", "IF_curr_alpha"):
        model = (_neurons.LIFAlpha if alpha else _neurons.LIF)(
            tau_m=p["tau_m"], C_m=p["cm"] * 1000.0, E_L=p["v_rest"], V_th=p["v_thresh"],
            V_reset=p["v_reset"], t_ref=native_t_ref(p["tau_refrac"], dt),
            tau_syn_ex=p["tau_syn_E"],
            tau_syn_in=p["tau_syn_I"])
        ex, inh = ("y_ex", "y_in") if alpha else ("I_syn_ex", "I_syn_in")
        return NativeInfo(model, 1000.0,
                          {"excitatory": (ex, 1000.0), "inhibitory": (inh, 1000.0)},
                          {"v": ("v", 1.0), "isyn_exc": ("I_syn_ex", 1000.0),
                           "isyn_inh": ("I_syn_in", 1000.0)}, ("v",))
    if name in ("IF_cond_exp", "IF_cond_alpha"):
        # conductances relative to the leak g_L = cm / tau_m (uS); I_ext is R I (mV)
        R = p["tau_m"] / p["cm"]   # ms / nF = MOhm = 1 / uS
        # both hold each conductance at its exact mean over the step (LIFCond's
        # conductance_step): NEST integrates iaf_cond_exp/alpha to RKF45 precision
        model = (_neurons.LIFCondAlpha(**_cond_lif(p, dt)) if alpha
                 else _neurons.LIFCond(**_cond_lif(p, dt),
                                       conductance_step=CONDUCTANCE_STEP))
        ex, inh = ("y_e", "y_i") if alpha else ("g_e", "g_i")
        return NativeInfo(model, R, {"excitatory": (ex, R), "inhibitory": (inh, R)},
                          {"v": ("v", 1.0), "gsyn_exc": ("g_e", R),
                           "gsyn_inh": ("g_i", R)}, ("v", "gsyn_exc", "gsyn_inh"))
    if name in ("EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista"):
        # pA, pF, nS: nA, nF, uS times 1000; g_L = cm / tau_m; a is in nS in both
        model = (_neurons.AdExCondAlpha if alpha else _neurons.AdExCond)(
            C_m=p["cm"] * 1000.0, g_L=p["cm"] * 1000.0 / p["tau_m"], E_L=p["v_rest"],
            V_T=p["v_thresh"], Delta_T=p["delta_T"], tau_w=p["tau_w"], a=p["a"],
            b=p["b"] * 1000.0, V_reset=p["v_reset"], V_peak=p["v_spike"],
            t_ref=native_t_ref(p["tau_refrac"], dt), E_e=p["e_rev_E"], E_i=p["e_rev_I"],
            tau_e=p["tau_syn_E"], tau_i=p["tau_syn_I"])
        ex, inh = ("y_e", "y_i") if alpha else ("g_e", "g_i")
        return NativeInfo(model, 1000.0,
                          {"excitatory": (ex, 1000.0), "inhibitory": (inh, 1000.0)},
                          {"v": ("v", 1.0), "w": ("w", 1000.0),
                           "gsyn_exc": ("g_e", 1000.0), "gsyn_inh": ("g_i", 1000.0)},
                          ("v", "w", "gsyn_exc", "gsyn_inh"))
    if name == "Izhikevich":
        # NEST's izhikevich: I_e (pA) enters dv/dt (mV/ms) as is; weights (nA -> pA)
        # are jumps of v in mV
        model = _neurons.Izhikevich(a=p["a"], b=p["b"], c=p["c"], d=p["d"],
                                    v_peak=30.0, tau_syn=0.0)
        return NativeInfo(model, 1000.0, {"excitatory": ("v", 1000.0),
                                          "inhibitory": ("v", 1000.0)},
                          {"v": ("v", 1.0), "u": ("u", 1.0)}, ("v", "u"))
    if name == "HH_cond_exp":
        # NEST's hh_cond_exp_traub (pyNN.nest's mapping), its t_ref (2 ms: PyNN has
        # none); uS -> nS, nF -> pF, nA -> pA
        model = _neurons.HodgkinHuxleyTraub(
            C_m=p["cm"] * 1000.0, g_Na=p["gbar_Na"] * 1000.0, g_K=p["gbar_K"] * 1000.0,
            g_L=p["g_leak"] * 1000.0, E_Na=p["e_rev_Na"], E_K=p["e_rev_K"],
            E_L=p["e_rev_leak"], V_T=p["v_offset"], E_ex=p["e_rev_E"],
            E_in=p["e_rev_I"], tau_syn_ex=p["tau_syn_E"], tau_syn_in=p["tau_syn_I"],
            t_ref=2.0)
        return NativeInfo(model, 1000.0, {"excitatory": ("g_ex", 1000.0),
                                          "inhibitory": ("g_in", 1000.0)},
                          {"v": ("v", 1.0), "gsyn_exc": ("g_ex", 1000.0),
                           "gsyn_inh": ("g_in", 1000.0), "m": ("m", 1.0),
                           "h": ("h", 1.0), "n": ("n", 1.0)},
                          ("v", "gsyn_exc", "gsyn_inh"))
    raise NotImplementedError(f"cell type {name} has no native model in plasticity.pynn")


# -------------------------------------------------------------- synapse types
def check_finite_connections(name, values):
    """A connection parameter (``weight``, ``delay``: a scalar or one value per
    connection) must be finite: else PyNN's InvalidParameterValueError (a
    ValueError) naming it, the value and the connection."""
    from pyNN import errors
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise errors.InvalidParameterValueError(
            f"{name} must be a finite number, got {values!r}") from None
    bad = ~np.isfinite(v)
    if np.any(bad):
        k = int(np.flatnonzero(bad.ravel())[0])
        where = f" (connection {k})" if v.ndim else ""
        raise errors.InvalidParameterValueError(
            f"{name} must be a finite number, got {float(v.ravel()[k])}{where}")


def _check_weights(weights, projection):
    # finite first: PyNN's sign check calls a NaN weight "not positive"
    check_finite_connections("weight", weights)
    pynn_check_weights(weights, projection)


class _MinDelay:
    """Our synapse types' shared parts: the minimum delay of our simulator state,
    and the connector's checks of each connection's parameters (PyNN's, after a
    finiteness check of the weight)."""
    parameter_checks = {"weight": _check_weights}

    def _get_minimum_delay(self):
        from . import simulator
        return simulator.state.min_delay


class StaticSynapse(_MinDelay, synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = _identity(synapses.StaticSynapse)   # weight, delay


class TsodyksMarkramSynapse(_MinDelay, synapses.TsodyksMarkramSynapse):
    __doc__ = synapses.TsodyksMarkramSynapse.__doc__
    translations = _identity(synapses.TsodyksMarkramSynapse)  # + U, tau_rec, tau_facil


class SimpleStochasticSynapse(_MinDelay, synapses.SimpleStochasticSynapse):
    __doc__ = synapses.SimpleStochasticSynapse.__doc__
    translations = _identity(synapses.SimpleStochasticSynapse)   # weight, delay, p


#: synapse parameters that may differ between the connections of a projection:
#: per-synapse variables of the rule, set from the connections after connect
PER_CONNECTION = {"SimpleStochasticSynapse": ("p",)}


def check_dendritic_delay_fraction(value):
    """``dendritic_delay_fraction`` as a float array (a scalar or one value per
    connection): each a finite number in [0, 1], else PyNN's
    InvalidParameterValueError (a ValueError) naming the value."""
    from pyNN import errors
    if isinstance(value, (bool, np.bool_)):
        raise errors.InvalidParameterValueError(
            f"dendritic_delay_fraction must be a number in [0, 1], got {value!r}")
    try:
        f = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise errors.InvalidParameterValueError(
            f"dendritic_delay_fraction must be a number in [0, 1], got {value!r}") from None
    bad = ~((f >= 0) & (f <= 1))       # NaN too
    if np.any(bad):
        raise errors.InvalidParameterValueError(
            "dendritic_delay_fraction must be in [0, 1] (the part of the delay in the "
            "dendrite: 0 axonal, 1 dendritic as NEST), got "
            f"{float(f.ravel()[np.flatnonzero(bad.ravel())[0]])}")
    return f


class STDPMechanism(_MinDelay, synapses.STDPMechanism):
    """PyNN's STDPMechanism (below). On plasticity.pynn ``dendritic_delay_fraction``
    f (PyNN's default 1, NEST's semantics) is honoured by every timing and weight
    dependence: with a delay d the synapse sees the presynaptic spike (1 - f) d
    after its emission and the postsynaptic spike f d after it (our engine, whose
    delays are axonal: the rule sees the post spikes 2 f d late, ``post_delay``);
    2 f d must be a multiple of dt (f = 0, 0.5 and 1 always are). The PSC reaches
    the soma d after the spike whatever f (static synapses: f has no effect).

    """ + (synapses.STDPMechanism.__doc__ or "")
    base_translations = build_translations(
        ("weight", "weight"), ("delay", "delay"),
        ("dendritic_delay_fraction", "dendritic_delay_fraction"))

    def __init__(self, timing_dependence=None, weight_dependence=None,
                 voltage_dependence=None, dendritic_delay_fraction=1.0,
                 weight=0.0, delay=None):
        # PyNN only asserts; the check here names the value (before anything is set)
        f = float(check_dendritic_delay_fraction(dendritic_delay_fraction))
        super().__init__(timing_dependence, weight_dependence, voltage_dependence, f,
                         weight, delay)


AdditiveWeightDependence = _standard(synapses.AdditiveWeightDependence)
MultiplicativeWeightDependence = _standard(synapses.MultiplicativeWeightDependence)
AdditivePotentiationMultiplicativeDepression = _standard(
    synapses.AdditivePotentiationMultiplicativeDepression)
GutigWeightDependence = _standard(synapses.GutigWeightDependence)
SpikePairRule = _standard(synapses.SpikePairRule)
Vogels2011Rule = _standard(synapses.Vogels2011Rule)


def native_rule(synapse_type, params, scale, target, post_delay=0.0):
    """Our rule for a PyNN synapse type with homogeneous parameters ``params`` (PyNN
    units), weights scaled by ``scale`` onto ``target``; None for a static synapse.
    ``post_delay`` (ms): how late the rule sees the postsynaptic spikes
    (``STDP(post_delay=...)``, ``EquationRule(post_delay=...)``: how PyNN's
    dendritic_delay_fraction is run; :meth:`Projection._post_delays`).

    PyNN's (and NEST's) STDP amplitudes are relative to w_max: additive
    ``dw = A_plus w_max``; multiplicative ``dw+ = A_plus (w_max - w)``, ``dw- = A_minus
    (w - w_min)``; Guetig ``dw+ = A_plus (w_max - w_min) (1 - u)^mu_plus``;
    additive potentiation, multiplicative depression ``dw- = A_minus w``.
    """
    from ..rules import STDP, Additive, Multiplicative, Pair, PowerLaw, EquationRule
    from ..rules.library import tsodyks_markram_1997, vogels_sprekeler_2011
    if isinstance(synapse_type, synapses.StaticSynapse):
        return None
    if isinstance(synapse_type, synapses.SimpleStochasticSynapse):
        # each spike is transmitted with probability p (per connection: the rule's
        # per-synapse variable p, set by the projection); rand() is the rule
        # language's counter-based stream, seeded from the network's seed
        return EquationRule(model="p : 1", on_pre=f"{target} += w * (rand() < p)",
                            name="pynn_simple_stochastic_synapse")
    if isinstance(synapse_type, synapses.TsodyksMarkramSynapse):
        tau_f = params["tau_facil"]
        return tsodyks_markram_1997(U=params["U"], tau_d=params["tau_rec"],
                                    tau_f=tau_f if tau_f > 0 else None, receptor=target)
    if not isinstance(synapse_type, synapses.STDPMechanism):
        raise NotImplementedError(f"synapse type {type(synapse_type).__name__} is not "
                                  "supported by plasticity.pynn")
    if synapse_type.voltage_dependence is not None:
        raise NotImplementedError("STDPMechanism with a voltage dependence is not "
                                  "supported by plasticity.pynn")
    td, wd = synapse_type.timing_dependence, synapse_type.weight_dependence
    w_min, w_max = params["w_min"] * scale, params["w_max"] * scale
    if isinstance(td, synapses.Vogels2011Rule):
        if not isinstance(wd, synapses.AdditiveWeightDependence):
            raise NotImplementedError("Vogels2011Rule is supported with "
                                      "AdditiveWeightDependence only")
        return vogels_sprekeler_2011(eta=params["eta"] * scale, rho0=params["rho"],
                                     tau_stdp=params["tau"], w_min=w_min, w_max=w_max,
                                     post_delay=post_delay)
    if not isinstance(td, synapses.SpikePairRule):
        raise NotImplementedError(f"timing dependence {type(td).__name__} is not "
                                  "supported by plasticity.pynn")
    Ap, Am = params["A_plus"], params["A_minus"]
    tp, tm = params["tau_plus"], params["tau_minus"]
    if isinstance(wd, synapses.AdditiveWeightDependence):
        return STDP(Pair(tau_plus=tp, tau_minus=tm, a_plus=Ap * w_max, a_minus=Am * w_max),
                    Additive(w_min=w_min, w_max=w_max), post_delay=post_delay)
    if isinstance(wd, synapses.MultiplicativeWeightDependence):
        r = w_max - w_min
        return STDP(Pair(tau_plus=tp, tau_minus=tm, a_plus=Ap * r, a_minus=Am * r),
                    Multiplicative(w_min=w_min, w_max=w_max), post_delay=post_delay)
    if isinstance(wd, synapses.GutigWeightDependence):
        r = w_max - w_min
        return STDP(Pair(tau_plus=tp, tau_minus=tm, a_plus=Ap * r, a_minus=Am * r),
                    PowerLaw(w_min=w_min, w_max=w_max, mu_plus=params["mu_plus"],
                             mu_minus=params["mu_minus"]), post_delay=post_delay)
    if isinstance(wd, synapses.AdditivePotentiationMultiplicativeDepression):
        # no built-in weight dependence has dw- proportional to w (not w - w_min):
        # written in the rule language
        return EquationRule(
            model="""
            dr1/dt = -r1 / tau_plus : 1 (event-driven)
            do1/dt = -o1 / tau_minus : 1 (event-driven)
            """,
            on_pre="""
            w = clip(w - A_minus * w * o1, w_min, w_max)
            r1 += 1
            """,
            on_post="""
            w = clip(w + A_plus * w_max * r1, w_min, w_max)
            o1 += 1
            """,
            params=dict(tau_plus=tp, tau_minus=tm, A_plus=Ap, A_minus=Am, w_min=w_min,
                        w_max=w_max),
            name="pynn_additive_potentiation_multiplicative_depression",
            post_delay=post_delay)
    raise NotImplementedError(f"weight dependence {type(wd).__name__} is not supported "
                              "by plasticity.pynn")


# ------------------------------------------------------------ current sources
class _CurrentSource(StandardCurrentSource):
    """Parameters kept in PyNN units; the waveform is evaluated by the simulator
    before each run (:meth:`values`)."""

    def __init__(self, **parameters):
        super().__init__(**parameters)
        from . import simulator
        self._params = {}
        self._recorded = None   # record(): [(steps, amplitudes)]
        self._rec_from = 0
        self.cells = []   # (base population, base index)
        ps = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        ps.update(**parameters)
        self.set_native_parameters(ps)
        simulator.state.current_sources.append(self)
        self._rng = np.random.default_rng(simulator.state.seed_for("noise"))

    def get_native_parameters(self):
        return ParameterSpace(dict(self._params))

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        for name, value in parameters.items():
            if isinstance(value, Sequence):
                value = np.asarray(value.value, dtype=float)
            self._params[name] = value
        from . import simulator
        simulator.state.dirty_currents = True

    def inject_into(self, cell_list):
        from .simulator import base_of
        for cell in cell_list:
            if not cell.celltype.injectable:
                raise TypeError("Can't inject current into a spike source.")
            self.cells.append(base_of(cell))
        from . import simulator
        simulator.state.dirty_currents = True

    def record(self):
        """Record the current this source injects (nA), one sample per time step
        from now on; :meth:`get_data` returns it as a Neo signal. The sample at t
        is the amplitude over the step [t, t + dt) (the membrane responds from
        t + dt on), as pyNN.nest's; the last is the one at the current time."""
        from . import simulator
        if self._recorded is None:
            self._recorded = []                 # (steps, amplitudes (nA))
            self._rec_from = simulator.state.step if simulator.state.net is not None else 0

    def _record_segment(self, k0, k1, dt):
        """Called by the simulator for every run segment [k0, k1) (steps)."""
        if self._recorded is None or k1 <= k0:
            return
        steps = np.arange(max(k0, self._rec_from), k1)
        if steps.size:
            self._recorded.append((steps, np.asarray(self._amplitude_at(steps * dt),
                                                     dtype=float)))

    def _reset_recording(self):
        if self._recorded is not None:
            self._recorded = []
            self._rec_from = 0

    def _get_data(self):
        from . import simulator
        if self._recorded is None:
            raise ValueError(f"{type(self).__name__}.get_data(): the current was not "
                             "recorded; call record() before running")
        dt = simulator.state.dt
        now = simulator.state.step if simulator.state.net is not None else 0
        steps = [s for s, _ in self._recorded] + [np.array([now])]
        values = [v for _, v in self._recorded] + [
            np.atleast_1d(np.asarray(self._amplitude_at(np.array([now * dt])), float))]
        steps, values = np.concatenate(steps), np.concatenate(values)
        keep = steps >= self._rec_from
        steps, first = np.unique(steps[keep], return_index=True)
        return steps * dt, values[keep][first]

    def _breakpoints(self, t0, t1, dt):
        """Times in [t0, t1) where the amplitude may change."""
        raise NotImplementedError

    def _amplitude_at(self, times):
        raise NotImplementedError


class DCSource(_CurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = _identity(electrodes.DCSource)

    def _breakpoints(self, t0, t1, dt):
        return [self._params["start"], self._params["stop"]]

    def _amplitude_at(self, times):
        p = self._params
        return np.where((times >= p["start"] - 1e-9) & (times < p["stop"] - 1e-9),
                        p["amplitude"], 0.0)


class StepCurrentSource(_CurrentSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = _identity(electrodes.StepCurrentSource)

    def set_native_parameters(self, parameters):
        super().set_native_parameters(parameters)
        from . import simulator
        t = np.atleast_1d(np.asarray(self._params.get("times", []), dtype=float))
        a = np.atleast_1d(np.asarray(self._params.get("amplitudes", []), dtype=float))
        if t.size != a.size:
            raise ValueError(f"times and amplitudes must have the same length, got "
                             f"{t.size} and {a.size}")
        if np.any(t < 0):
            raise ValueError(f"StepCurrentSource times must be >= 0 ms, got {t}")
        if np.any(np.diff(t) <= 0):
            raise ValueError(f"StepCurrentSource times must increase, got {t}")
        # on the time grid; of several times in one step the last amplitude holds
        dt = simulator.state.dt
        steps = np.rint(t / dt).astype(np.int64)
        keep = np.append(steps[1:] != steps[:-1], True) if steps.size else steps.astype(bool)
        self._params["times"] = steps[keep] * dt
        self._params["amplitudes"] = a[keep]

    def _breakpoints(self, t0, t1, dt):
        return list(np.atleast_1d(self._params["times"]))

    def _amplitude_at(self, times):
        t = np.atleast_1d(np.asarray(self._params["times"], float))
        a = np.atleast_1d(np.asarray(self._params["amplitudes"], float))
        if t.size == 0:
            return np.zeros_like(times)
        k = np.searchsorted(t, times + 1e-9, side="right") - 1
        return np.where(k >= 0, a[np.maximum(k, 0)], 0.0)


class ACSource(_CurrentSource, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__
    translations = _identity(electrodes.ACSource)

    def _breakpoints(self, t0, t1, dt):
        p = self._params
        lo, hi = max(t0, p["start"]), min(t1, p["stop"])
        pts = [p["start"], p["stop"]]
        if hi > lo:
            pts.extend(np.arange(round(lo / dt), round(hi / dt)) * dt)
        return pts

    def _amplitude_at(self, times):
        p = self._params
        on = (times >= p["start"] - 1e-9) & (times < p["stop"] - 1e-9)
        value = p["offset"] + p["amplitude"] * np.sin(
            2 * math.pi * p["frequency"] * (times - p["start"]) / 1000.0
            + p["phase"] * math.pi / 180.0)
        return np.where(on, value, 0.0)


class NoisyCurrentSource(_CurrentSource, electrodes.NoisyCurrentSource):
    __doc__ = electrodes.NoisyCurrentSource.__doc__
    translations = _identity(electrodes.NoisyCurrentSource)

    def _grid(self, t1):
        p = self._params
        stop = min(p["stop"], t1)
        n = max(int(math.ceil((stop - p["start"]) / p["dt"] - 1e-9)), 0)
        grid = p["start"] + p["dt"] * np.arange(n)
        cache = self.__dict__.get("_noise", np.zeros(0))
        if cache.size < n:
            extra = self._rng.normal(p["mean"], p["stdev"], n - cache.size)
            self._noise = cache = np.concatenate([cache, extra])
        return grid, cache[:n]

    def _breakpoints(self, t0, t1, dt):
        grid, _ = self._grid(t1)
        return list(grid) + [self._params["stop"]]

    def _amplitude_at(self, times):
        p = self._params
        grid, noise = self._grid(float(np.max(times)) + p["dt"] if times.size else 0.0)
        on = (times >= p["start"] - 1e-9) & (times < p["stop"] - 1e-9)
        if grid.size == 0:
            return np.zeros_like(times)
        k = np.clip(np.searchsorted(grid, times + 1e-9, side="right") - 1, 0, grid.size - 1)
        return np.where(on, noise[k], 0.0)
