"""Neuron models: parameter validation and packing over the compiled updates.

Each model class validates its parameters at construction, names its state variables
(``variables``), the variables that accept synaptic input (``receptors``), and packs
its parameters, including the dt-dependent propagators, into the float64 vector the
compiled update reads (``packed_params(dt)``). Times in ms, potentials in mV,
currents in pA, capacitances in pF, conductances in nS.
"""
import math

import numpy as np

from ._validation import check_nonnegative, check_positive, check_finite

__all__ = ["NeuronModel", "LIF"]


class NeuronModel:
    """Base class of the built-in neuron models.

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
        state = np.empty((len(self.variables), n), dtype=np.float64)
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
    return float(int(round(t_ref / dt)))


def _psc_propagator(dt, tau_m, tau_s, C_m):
    """Contribution of an exponential current I(0) to v(dt) (Rotter & Diesmann 1999)."""
    if tau_s <= 0:
        return 0.0
    if abs(tau_m - tau_s) < 1e-12 * tau_m:
        return dt / C_m * math.exp(-dt / tau_m)
    return (tau_m * tau_s / (C_m * (tau_s - tau_m))
            * (math.exp(-dt / tau_s) - math.exp(-dt / tau_m)))


class LIF(NeuronModel):
    """Current-based leaky integrate-and-fire neuron with exponential synaptic currents.

    ``C_m dv/dt = -(C_m / tau_m)(v - E_L) + I_syn_ex + I_syn_in + I_ext``,
    ``dI_syn_x/dt = -I_syn_x / tau_syn_x``; integrated exactly (Rotter & Diesmann 1999).
    A spike is emitted when ``v >= V_th``; then ``v = V_reset`` and v is clamped for
    ``t_ref`` ms. Synaptic weights are current jumps in pA onto ``I_syn_ex`` /
    ``I_syn_in``.

    Parameters
    ----------
    tau_m : float, membrane time constant (ms), > 0
    C_m : float, membrane capacitance (pF), > 0
    E_L, V_th, V_reset : float, resting, threshold and reset potentials (mV)
    t_ref : float, refractory period (ms), >= 0
    tau_syn_ex, tau_syn_in : float, synaptic current time constants (ms), > 0
    """

    model_id = 0
    variables = ("v", "I_syn_ex", "I_syn_in", "I_ext", "refractory")
    receptors = ("I_syn_ex", "I_syn_in")

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
        if self._params["V_reset"] >= self._params["V_th"]:
            raise ValueError(f"V_reset must be < V_th ({V_th} mV), got {V_reset}")

    def initial(self):
        return {"v": self._params["E_L"]}

    def packed_params(self, dt):
        p = self._params
        P_vv = math.exp(-dt / p["tau_m"])
        R = p["tau_m"] / p["C_m"]
        return np.array([
            p["E_L"], p["V_th"], p["V_reset"], _ref_steps(p["t_ref"], dt),
            P_vv, R * (1.0 - P_vv),
            math.exp(-dt / p["tau_syn_ex"]),
            _psc_propagator(dt, p["tau_m"], p["tau_syn_ex"], p["C_m"]),
            math.exp(-dt / p["tau_syn_in"]),
            _psc_propagator(dt, p["tau_m"], p["tau_syn_in"], p["C_m"]),
        ], dtype=np.float64)
