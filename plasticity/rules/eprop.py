"""e-prop (Bellec et al. 2020) as a plasticity rule of the core engine.

:class:`EPropRule` sits on a projection into a population of :class:`~plasticity.LIF`
or :class:`~plasticity.ALIF` neurons and keeps the eligibility traces of e-prop online,
in the engine's compiled loop (``_ext/eprop.pyx``, a ``CustomRule``). With ``t`` the
step and ``i -> j`` a synapse:

- ``zbar_i^t`` (per presynaptic neuron): the derivative of the postsynaptic membrane
  potential ``v_j^t`` with respect to ``w_ji``, ignoring the reset and the refractory
  hold (as e-prop ignores the reset). It is the presynaptic spike train filtered by the
  neuron's own exact propagators: for the receptor ``"v"`` (a jump of v, ALIF)
  ``zbar^t = P_vv (zbar^{t-1} + s^{t-1})`` with ``P_vv = exp(-dt/tau_m)`` and
  ``s^{t-1}`` the spikes arriving at step t-1; for a current receptor
  (``"I_syn_ex"``/``"I_syn_in"``, exponential currents) a second variable
  ``Ibar^t = P_syn (Ibar^{t-1} + s^{t-1})`` feeds
  ``zbar^t = P_vv zbar^{t-1} + P_vsyn (Ibar^{t-1} + s^{t-1})`` (the PSC propagators of
  the neuron model, so ``zbar`` is in mV/pA).
- ``psi_j^t = (gamma / width) max(0, 1 - |v_j^t - A_j^t| / width)``: the
  pseudo-derivative, from the membrane potential after this step's integration and
  before the reset (the value the threshold was tested on), ``A = V_th`` (LIF) or
  ``V_th + beta a_j^t`` (ALIF, ``a`` after this step's decay), ``width = V_th - E_L``
  by default; 0 while the neuron is refractory.
- ALIF adaptation eligibility vector (per synapse), from ``a^{t+1} = P_a (a^t + z^t)``:
  ``eps_a^{t+1} = P_a (psi^t zbar^t + (1 - beta psi^t) eps_a^t)``, ``eps_a^0 = 0``.
- eligibility trace ``e_ji^t = psi_j^t (zbar_i^t - beta eps_a_ji^t)`` (LIF:
  ``psi_j^t zbar_i^t``), optionally low-pass filtered by the readout's
  ``kappa = exp(-dt/tau_out)``: ``ebar^t = kappa ebar^{t-1} + e^t``.
- weight change ``dw_ji = -eta L_j^t e_ji^t`` (or ``ebar``) at every step
  (``update="step"``, clipped to [w_min, w_max]), or the sum ``grad_ji = sum_t L_j^t
  e_ji^t`` kept in :attr:`EPropRule.grad` and applied by :meth:`EPropRule.apply`
  (``update="accumulate"``; the weights stay fixed during the run).

The learning signal ``L`` (per postsynaptic neuron) is an array (T, n_post) whose row
t is used at network step t (steps >= T: no signal), or a callable
``learning_signal(step, spikes) -> (n_post,)`` called after each step with the ids of
the postsynaptic neurons that spiked at that step (e.g. a random or symmetric
projection of an output error). The array form runs entirely in compiled code; the
callable form runs the network one step at a time (the traces stay compiled; only the
signal comes from Python).

Differences from the discrete-time RSNN of :mod:`plasticity.rsnn`: the core engine's
neurons integrate exactly in continuous time with step dt, reset to ``V_reset`` (not
by subtraction) and hold v during the refractory period, input spikes act through
exponential synaptic currents (or jumps of v), and ``a`` jumps by 1 after the spike
(``a^{t+1} = P_a (a^t + z^t)``, not ``rho a^t + z^t``). The traces above are the
e-prop eligibility traces of these dynamics; psi has units 1/mV.

Per-step cost: O(n_pre + n_post) for the neuron traces, plus, per synapse, O(1) for
ALIF neurons or with the kappa filter, and otherwise only for the synapses onto
neurons with a non-zero psi and signal.
"""
import numbers

import numpy as np

from .._validation import check_finite, check_in, check_nonnegative, check_positive
from .base import CythonRule

__all__ = ["EPropRule"]


class EPropRule(CythonRule):
    """e-prop on a projection into LIF or ALIF neurons (see the module docstring).

    Parameters
    ----------
    learning_signal : array (T, n_post) or callable
        ``L_j^t``: row t is used at network step t (none after the last row); or
        ``learning_signal(step, spikes) -> array (n_post,)`` evaluated after each step
        (``spikes``: ids of the postsynaptic neurons that spiked at ``step``).
    eta : float
        Learning rate (>= 0): dw = -eta L e.
    update : {"step", "accumulate"}
        Change the weights at every step, or accumulate ``grad`` (per synapse, in
        synapse order) for :meth:`apply` at the end of a run.
    gamma : float
        Dampening factor of the pseudo-derivative (0.3, Bellec et al. 2020).
    psi_width : float, optional
        Half-width of psi (mV); default ``V_th - E_L`` of the postsynaptic model.
    tau_out : float, optional
        Filter the traces with kappa = exp(-dt/tau_out) (ms); default: no filter.
    w_min, w_max : float
        Bounds of the weights (``update="step"`` and :meth:`apply`).
    """

    def __init__(self, learning_signal, eta=1e-3, *, update="step", gamma=0.3,
                 psi_width=None, tau_out=None, w_min=-np.inf, w_max=np.inf):
        if callable(learning_signal):
            self.signal_fn = learning_signal
            self.signal = None
            self.compiled = False   # the network runs step by step and calls on_step
        else:
            sig = np.array(learning_signal, dtype=np.float64)
            if sig.ndim != 2:
                raise ValueError("learning_signal must be an array (T, n_post) or a "
                                 f"callable, got an array of shape {sig.shape}")
            if not np.all(np.isfinite(sig)):
                raise ValueError("learning_signal must be finite")
            self.signal = np.ascontiguousarray(sig)
            self.signal_fn = None
        self.eta = check_nonnegative("eta", eta)
        self.update = check_in("update", update, ("step", "accumulate"))
        self.gamma = check_positive("gamma", gamma)
        self.psi_width = None if psi_width is None else check_positive(
            "psi_width", psi_width, "mV")
        self.tau_out = None if tau_out is None else check_positive("tau_out", tau_out, "ms")
        if not all(isinstance(w, numbers.Real) and not isinstance(w, bool)
                   for w in (w_min, w_max)):
            raise TypeError(f"w_min and w_max must be real numbers, got {w_min!r}, "
                            f"{w_max!r}")
        if not float(w_min) <= float(w_max):   # also rejects NaN
            raise ValueError(f"w_min and w_max must satisfy w_min <= w_max, got "
                             f"{w_min!r}, {w_max!r}")
        self.w_min, self.w_max = float(w_min), float(w_max)
        self._spikes = np.zeros(0, dtype=np.int64)

    # ------------------------------------------------------------------ binding
    def bind(self, projection, dt):
        from ..neurons import ALIF, LIF
        from .._ext.eprop import EPropKernel
        super().bind(projection, dt)
        post, syn = projection.post, projection.synapses
        model = post.model
        if not isinstance(model, (LIF, ALIF)):
            raise TypeError(f"EPropRule needs a population of LIF or ALIF neurons, "
                            f"{post.name!r} is {type(model).__name__}")
        target = projection.target
        p = model.packed_params(dt)
        alif = isinstance(model, ALIF)
        if target == "v":
            current, P_syn, P_vsyn = False, 0.0, 0.0
        elif target == "I_syn_ex":
            current, P_syn, P_vsyn = True, p[6], p[7]
        elif target == "I_syn_in":
            current, P_syn, P_vsyn = True, p[8], p[9]
        else:  # pragma: no cover - the models have no other receptors
            raise ValueError(f"EPropRule cannot use the receptor {target!r}")
        n_pre, n_post, nnz = syn.n_pre, syn.n_post, syn.nnz
        if self.signal is not None and self.signal.shape[1] != n_post:
            raise ValueError(f"learning_signal must have n_post = {n_post} columns, got "
                             f"{self.signal.shape[1]}")
        mp = model.parameters()
        width = self.psi_width if self.psi_width is not None else mp["V_th"] - mp["E_L"]
        if not width > 0:
            raise ValueError(f"psi_width must be > 0 mV; the default V_th - E_L is {width}")
        shapes = dict(ev=n_pre, ei=n_pre, arr=n_pre, psi=n_post, grad=nnz,
                      eps_a=nnz if alif else 0, filt=nnz if self.tau_out else 0)
        if getattr(self, "_shapes", None) != shapes:
            for k, n in shapes.items():
                setattr(self, k, np.zeros(max(n, 1)))
            self.pending = np.full(1, -1, dtype=np.int64)
            self._shapes = shapes
        kappa = float(np.exp(-dt / self.tau_out)) if self.tau_out else 0.0
        self._kernel = EPropKernel(
            syn, syn.weights, post.state, model.var_index("v"),
            model.var_index("a") if alif else -1, model.var_index("refractory"),
            mp["V_th"], mp["beta"] if alif else 0.0, p[11] if alif else 1.0,
            self.gamma, width, current, p[4], P_syn, P_vsyn, self.ev, self.ei, self.arr,
            self.eps_a if alif else None, self.filt if self.tau_out else None, kappa,
            self.psi, self.signal, None if self.compiled else self.pending, self.eta,
            self.update == "accumulate", self.grad, self.w_min, self.w_max)

    def forget_state(self):
        self._shapes = None

    def capsule(self):
        return self._kernel.capsule()

    # ------------------------------------------------------ callable signal path
    def on_post(self, step, post):
        self._spikes = post

    def on_step(self, step):
        if self.compiled:
            return
        spikes, self._spikes = self._spikes, np.zeros(0, dtype=np.int64)
        sig = np.ascontiguousarray(self.signal_fn(step, spikes), dtype=np.float64)
        n_post = self.synapses.n_post
        if sig.shape != (n_post,):
            raise ValueError(f"learning_signal({step}, spikes) must return shape "
                             f"({n_post},), got {sig.shape}")
        if not np.all(np.isfinite(sig)):
            raise ValueError(f"learning_signal({step}, spikes) returned non-finite values")
        self._kernel.synapse_phase(sig)

    # ---------------------------------------------------------------- updates
    def apply(self, eta=None):
        """Apply the accumulated change ``w = clip(w - eta * grad)`` and clear ``grad``
        (``update="accumulate"``)."""
        if not hasattr(self, "projection"):
            raise RuntimeError("the rule is not bound to a projection yet (run the "
                               "network first)")
        eta = self.eta if eta is None else check_finite("eta", eta)
        syn = self.synapses
        nnz = syn.nnz
        w = syn.weights
        new = np.clip(w.astype(np.float64) - eta * self.grad[:nnz], self.w_min, self.w_max)
        w[:] = new.astype(w.dtype)
        self.grad[:] = 0.0

    @property
    def gradient(self):
        """The accumulated sum_t L e per synapse (synapse order), a copy."""
        return self.grad[:self.synapses.nnz].copy()

    # ---------------------------------------------------------------- state
    def get_state(self):
        d = dict(ev=self.ev, ei=self.ei, arr=self.arr, psi=self.psi, grad=self.grad,
                 eps_a=self.eps_a, filt=self.filt, pending=self.pending)
        return d

    def parameters(self):
        d = dict(rule="EPropRule", eta=self.eta, update=self.update, gamma=self.gamma,
                 psi_width=self.psi_width, tau_out=self.tau_out, w_min=self.w_min,
                 w_max=self.w_max,
                 learning_signal="callable" if self.signal is None else "array")
        return {k: v for k, v in d.items() if v is not None}
