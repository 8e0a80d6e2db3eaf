"""Discrete-time recurrent networks of LIF and ALIF neurons (Bellec et al. 2020).

Equations (dt = 1 step; neuron j, time step t = 0 .. T-1; all states start at 0 and
z^{-1} = 0)::

    v_j^t = alpha v_j^{t-1} + sum_i W^rec_ij z_i^{t-1} + sum_i W^in_ij x_i^t - v_th z_j^{t-1}
    a_j^t = rho a_j^{t-1} + z_j^{t-1}                (ALIF; LIF neurons have beta = 0)
    A_j^t = v_th + beta_j a_j^t
    z_j^t = H(v_j^t - A_j^t)          (0 while refractory)
    psi_j^t = (gamma / v_th) max(0, 1 - |v_j^t - A_j^t| / v_th)   (0 while refractory)
    y_k^t = kappa y_k^{t-1} + sum_j W^out_jk z_j^t

with alpha = exp(-dt / tau_m), rho = exp(-dt / tau_a), kappa = exp(-dt / tau_out).
Weight matrices are stored (pre, post) as the rest of the library (CSR by presynaptic
neuron): ``w_in`` (n_in, n_rec), ``w_rec`` (n_rec, n_rec), ``w_out`` (n_rec, n_out).
The LIF neurons come first (indices 0 .. n_lif-1), then the ALIF neurons.

Refractoriness as in the reference implementation of Bellec et al.: after a spike at
step t the neuron cannot spike at steps t+1 .. t+n_ref-1, so the shortest interval
between two spikes is ``n_ref`` steps (``n_ref`` 0 or 1: no refractoriness).

Arrays are time-major: inputs ``x`` (T, batch, n_in), recorded variables
(T, batch, n).

The small step functions (:func:`neuron_step`, :func:`readout_step`) are pure:
``(state, input, constants) -> new state`` (the Norse style); :class:`RSNN` wraps them.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from typing import NamedTuple, Optional

import numpy as np

from .._validation import check_int, check_in, check_positive, check_nonnegative

__all__ = ["RSNNParams", "RSNN", "RSNNState", "Trace", "neuron_step", "readout_step",
           "spike_function", "pseudo_derivative", "pseudo_derivative_slope", "simulate",
           "matvec", "default_method", "set_default_method"]

SPIKE_FUNCTIONS = ("heaviside", "smooth")

#: ``method`` of :func:`simulate` and :func:`~plasticity.rsnn.bptt`: "auto" (compiled
#: kernels where they apply: heaviside spikes; else NumPy), "numpy", "compiled"
METHODS = ("auto", "numpy", "compiled")
_DEFAULT_METHOD = ["auto"]


def set_default_method(method):
    """Set the method :func:`simulate`, ``RSNN.forward`` and ``bptt`` use when called
    without ``method`` (initially ``"auto"``); returns the previous one."""
    check_in("method", method, METHODS)
    old = _DEFAULT_METHOD[0]
    _DEFAULT_METHOD[0] = method
    return old


@contextlib.contextmanager
def default_method(method):
    """Context manager: :func:`set_default_method` inside the block (e.g. to run
    code that does not pass ``method``, such as ``OneShotLearning.episode``, on the
    NumPy kernels)."""
    old = set_default_method(method)
    try:
        yield
    finally:
        _DEFAULT_METHOD[0] = old


def _kernels():
    """The compiled module ``plasticity._ext.rsnn_kernels``, or None if not built."""
    try:
        from .._ext import rsnn_kernels
    except ImportError:  # pragma: no cover
        return None
    return rsnn_kernels


def resolve_method(method, spike_fn="heaviside"):
    """"numpy" or "compiled" for a call with ``method`` (None: the default)."""
    explicit = method is not None
    if method is None:
        method = _DEFAULT_METHOD[0]
    check_in("method", method, METHODS)
    if method == "auto" or (method == "compiled" and not explicit):   # a default
        ok = spike_fn == "heaviside" and _kernels() is not None
        return "compiled" if ok else "numpy"
    if method == "compiled" and spike_fn != "heaviside":
        raise ValueError("method='compiled' supports spike_fn='heaviside' only (the "
                         "smooth spike function is NumPy-only)")
    return method


@dataclasses.dataclass(frozen=True)
class RSNNParams:
    """Parameters of an RSNN of ``n_lif`` LIF and ``n_alif`` ALIF neurons.

    Parameters
    ----------
    n_in, n_lif, n_alif, n_out : int
        Input channels, LIF neurons, ALIF neurons (after the LIF ones), readouts.
    tau_m : float
        Membrane time constant (ms).
    tau_a : float
        Threshold-adaptation time constant of the ALIF neurons (ms).
    beta : float
        Threshold-adaptation strength of the ALIF neurons (LIF: 0).
    v_th : float
        Baseline threshold (also the reset by subtraction and the psi width).
    n_ref : int
        Refractory period in steps (shortest inter-spike interval; 0 = none).
    gamma : float
        Dampening factor of the pseudo-derivative (0.3 in Bellec et al. 2020).
    tau_out : float
        Readout time constant (ms).
    dt : float
        Time step (ms).
    autapses : bool
        Whether the diagonal of ``w_rec`` may be non-zero (default: no self-connection).
    """
    n_in: int
    n_lif: int
    n_alif: int = 0
    n_out: int = 1
    tau_m: float = 20.0
    tau_a: float = 2000.0
    beta: float = 1.8
    v_th: float = 0.6
    n_ref: int = 0
    gamma: float = 0.3
    tau_out: float = 20.0
    dt: float = 1.0
    autapses: bool = False

    def __post_init__(self):
        check_int("n_in", self.n_in, 1)
        check_int("n_lif", self.n_lif, 0)
        check_int("n_alif", self.n_alif, 0)
        if self.n_lif + self.n_alif < 1:
            raise ValueError(f"n_lif + n_alif must be >= 1, got {self.n_lif} + {self.n_alif}")
        check_int("n_out", self.n_out, 1)
        check_positive("tau_m", self.tau_m, "ms")
        check_positive("tau_a", self.tau_a, "ms")
        check_nonnegative("beta", self.beta)
        check_positive("v_th", self.v_th)
        check_int("n_ref", self.n_ref, 0)
        check_positive("gamma", self.gamma)
        check_positive("tau_out", self.tau_out, "ms")
        check_positive("dt", self.dt, "ms")
        check_in("autapses", self.autapses, (True, False))
        # The gradient through the adaptation (e-prop's eps_a, BPTT's delta_a) is
        # carried from step to step by rho - beta psi, psi in [0, gamma / v_th]: where
        # that leaves [-1, 1] it grows geometrically over near-threshold steps (tau_a =
        # 1e-12 ms with eprop_evidence_accumulation's beta, lsg_beta = 1e30: gradients
        # overflowed in the optimiser). rho = exp(-dt / tau_a) is exact: a tiny tau_a
        # alone is legal.
        if self.n_alif and self.beta * self.gamma / self.v_th > 1.0 + self.rho:
            raise ValueError(
                f"beta gamma / v_th must be <= 1 + rho = 1 + exp(-dt / tau_a) = "
                f"{1.0 + self.rho:.6g} (the adaptation's gradient factor rho - beta psi, "
                f"psi up to gamma / v_th, within [-1, 1]), got beta = {self.beta:g}, "
                f"gamma = {self.gamma:g}, v_th = {self.v_th:g}, tau_a = {self.tau_a:g} ms: "
                f"{self.beta * self.gamma / self.v_th:.6g}")

    @property
    def n_rec(self):
        return self.n_lif + self.n_alif

    @property
    def alpha(self):
        return math.exp(-self.dt / self.tau_m)

    @property
    def rho(self):
        return math.exp(-self.dt / self.tau_a)

    @property
    def kappa(self):
        return math.exp(-self.dt / self.tau_out)

    @property
    def beta_vec(self):
        """beta per neuron: 0 for the LIF neurons, ``beta`` for the ALIF neurons."""
        b = np.zeros(self.n_rec)
        b[self.n_lif:] = self.beta
        return b

    @property
    def rec_mask(self):
        """1 where a recurrent synapse may exist (0 on the diagonal without autapses)."""
        m = np.ones((self.n_rec, self.n_rec))
        if not self.autapses:
            np.fill_diagonal(m, 0.0)
        return m


class RSNNState(NamedTuple):
    """State of the recurrent layer at one step (arrays of shape (batch, n_rec))."""
    v: np.ndarray
    a: np.ndarray
    z: np.ndarray
    ref: np.ndarray  # int: remaining refractory steps


class Trace(NamedTuple):
    """A forward pass: everything BPTT and e-prop need, time-major (T, batch, ...)."""
    x: np.ndarray          # inputs (T, B, n_in)
    z: np.ndarray          # spikes (T, B, n_rec)
    psi: np.ndarray        # pseudo-derivatives (T, B, n_rec)
    y: np.ndarray          # readout (T, B, n_out)
    v: Optional[np.ndarray] = None   # membrane (T, B, n_rec) if recorded
    a: Optional[np.ndarray] = None   # adaptation (T, B, n_rec) if recorded


def _smooth_q(u):
    """Integral of max(0, 1 - |s|) from -inf to u (0 .. 1, C^1)."""
    u = np.clip(u, -1.0, 1.0)
    return np.where(u < 0, 0.5 * (1 + u) ** 2, 1 - 0.5 * (1 - u) ** 2)


def pseudo_derivative(v_minus_thr, v_th, gamma):
    """psi = (gamma / v_th) max(0, 1 - |v - A| / v_th); NaN where v - A is not finite.

    (An infinite v gave psi = 0, so that the non-finite check of the forward pass,
    which reads psi, never saw it; ``+ 0 (v - A)`` adds -0 or +0, which changes no
    value, where it is finite, and NaN where it is not.)"""
    with np.errstate(invalid="ignore"):   # 0 inf = NaN: intended, reported by callers
        nan_where_infinite = 0.0 * v_minus_thr
    return ((gamma / v_th) * np.maximum(0.0, 1.0 - np.abs(v_minus_thr) / v_th)
            + nan_where_infinite)


def pseudo_derivative_slope(psi, v_minus_thr, v_th, gamma):
    """d psi / d(v - A): -(gamma / v_th^2) sign(v - A) where psi > 0, else 0 (outside
    the window and while refractory, where psi is held at 0)."""
    return np.where(psi > 0, -(gamma / v_th ** 2) * np.sign(v_minus_thr), 0.0)


def matvec(u, w):
    """u (batch, n_pre) times the weights: ``w`` (n_pre, n_post) shared by the batch,
    or (batch, n_pre, n_post), one matrix per batch element (an episode's own weights
    after a one-shot update)."""
    if w.ndim == 2:
        return u @ w
    return np.matmul(u[:, None, :], w)[:, 0, :]


def spike_function(v_minus_thr, v_th, gamma, kind="heaviside"):
    """Spikes H(v - A) (``"heaviside"``), or, as a test aid, the smooth function
    gamma Q((v - A) / v_th) whose derivative is exactly the pseudo-derivative
    (``"smooth"``), so that finite differences of the smooth network check BPTT."""
    if kind == "heaviside":
        return (v_minus_thr > 0).astype(np.float64)
    return gamma * _smooth_q(v_minus_thr / v_th)


def neuron_step(state, i_in, w_rec, p, beta_vec, spike_fn="heaviside"):
    """One step of the recurrent layer (pure function).

    ``state`` holds v, a, z, ref of step t-1; ``i_in`` = x^t W^in (batch, n_rec);
    ``w_rec`` (n, n) or one matrix per batch element (batch, n, n).
    Returns (new state, psi^t).
    """
    v = p.alpha * state.v + i_in + matvec(state.z, w_rec) - p.v_th * state.z
    a = p.rho * state.a + state.z
    dist = v - (p.v_th + beta_vec * a)
    refractory = state.ref > 0
    z = spike_function(dist, p.v_th, p.gamma, spike_fn)
    z[refractory] = 0.0
    psi = pseudo_derivative(dist, p.v_th, p.gamma)
    psi[refractory] = 0.0
    # the refractory counter follows the hard threshold crossing (also in smooth mode)
    fired = (dist > 0) & ~refractory
    ref = np.where(fired, max(p.n_ref - 1, 0), np.maximum(state.ref - 1, 0))
    return RSNNState(v, a, z, ref), psi


def readout_step(y, z, w_out, kappa):
    """y^t = kappa y^{t-1} + z^t W^out (pure function)."""
    return kappa * y + z @ w_out


def _as_params(p):
    if not isinstance(p, RSNNParams):
        raise TypeError(f"params must be an RSNNParams, got {type(p).__name__}")
    return p


class RSNN:
    """A recurrent spiking network with a leaky readout.

    Parameters
    ----------
    params : RSNNParams
    w_in, w_rec, w_out : array, optional
        Initial weights ((pre, post) layout). Missing ones are drawn from
        N(0, 1 / n_pre) times ``scale_in`` / ``scale_rec`` / ``scale_out``.
    seed : int or numpy Generator
        Random state of the weight initialisation.
    """

    def __init__(self, params, w_in=None, w_rec=None, w_out=None, *, seed=None,
                 scale_in=1.0, scale_rec=1.0, scale_out=1.0):
        self.params = p = _as_params(params)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        for name, val in (("scale_in", scale_in), ("scale_rec", scale_rec),
                          ("scale_out", scale_out)):
            check_nonnegative(name, val)
        n = p.n_rec
        if w_in is None:
            w_in = rng.standard_normal((p.n_in, n)) * scale_in / math.sqrt(p.n_in)
        if w_rec is None:
            w_rec = rng.standard_normal((n, n)) * scale_rec / math.sqrt(n)
        if w_out is None:
            w_out = rng.standard_normal((n, p.n_out)) * scale_out / math.sqrt(n)
        self.w_in = self._check_w("w_in", w_in, (p.n_in, n))
        self.w_rec = self._check_w("w_rec", w_rec, (n, n)) * p.rec_mask
        self.w_out = self._check_w("w_out", w_out, (n, p.n_out))

    @staticmethod
    def _check_w(name, w, shape):
        w = np.array(w, dtype=np.float64, copy=True)
        if w.shape != shape:
            raise ValueError(f"{name} must have shape {shape}, got {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError(f"{name} must be finite")
        return w

    @property
    def weights(self):
        """The trainable weights as a dict name -> array (the arrays themselves)."""
        return {"w_in": self.w_in, "w_rec": self.w_rec, "w_out": self.w_out}

    def copy(self):
        return RSNN(self.params, self.w_in, self.w_rec, self.w_out)

    def initial_state(self, batch):
        n = self.params.n_rec
        zeros = np.zeros((batch, n))
        return RSNNState(zeros, zeros.copy(), zeros.copy(), np.zeros((batch, n), np.int64))

    def check_input(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 2:
            x = x[:, None, :]
        if x.ndim != 3 or x.shape[2] != self.params.n_in:
            raise ValueError(f"x must have shape (T, batch, n_in={self.params.n_in}), "
                             f"got {x.shape}")
        if x.shape[0] < 1:
            raise ValueError("x must have at least one time step")
        return x

    def forward(self, x, *, record_state=False, spike_fn="heaviside", weights=None,
                method=None):
        """Simulate the network on inputs ``x`` (T, batch, n_in); returns a Trace.

        ``weights`` (dict w_in / w_rec / w_out) replaces the network's own; each may
        be shared (2-D) or one matrix per batch element (3-D, batch first).
        ``method``: as :func:`simulate` (default: compiled for heaviside spikes)."""
        check_in("spike_fn", spike_fn, SPIKE_FUNCTIONS)
        x = self.check_input(x)
        w = self.weights if weights is None else self._check_batched(weights, x.shape[1])
        return simulate(self.params, w["w_in"], w["w_rec"], w["w_out"], x,
                        record_state=record_state, spike_fn=spike_fn, method=method)

    def _check_batched(self, weights, batch):
        p = self.params
        out = dict(self.weights)
        shapes = {"w_in": (p.n_in, p.n_rec), "w_rec": (p.n_rec, p.n_rec),
                  "w_out": (p.n_rec, p.n_out)}
        for k, v in weights.items():
            if k not in shapes:
                raise ValueError(f"weights: unknown key {k!r}; allowed: {sorted(shapes)}")
            v = np.asarray(v, dtype=np.float64)
            if v.shape not in (shapes[k], (batch,) + shapes[k]):
                raise ValueError(f"weights[{k!r}] must have shape {shapes[k]} or "
                                 f"{(batch,) + shapes[k]}, got {v.shape}")
            out[k] = v
        return out


def _check_sim_args(p, w_in, w_rec, w_out, x):
    """Shapes of simulate's arguments (ValueError before any work)."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != p.n_in:
        raise ValueError(f"x must have shape (T, batch, n_in={p.n_in}), got {x.shape}")
    B = x.shape[1]
    for name, w, shape in (("w_in", w_in, (p.n_in, p.n_rec)),
                           ("w_rec", w_rec, (p.n_rec, p.n_rec)),
                           ("w_out", w_out, (p.n_rec, p.n_out))):
        if np.shape(w) not in (shape, (B,) + shape):
            raise ValueError(f"{name} must have shape {shape} or {(B,) + shape}, got "
                             f"{np.shape(w)}")


def _c64(a):
    return np.ascontiguousarray(a, dtype=np.float64)


def _stack(w):
    """A weight as (Bw, pre, post) float64 C-contiguous: Bw = 1 for a shared matrix."""
    w = _c64(w)
    return w[None] if w.ndim == 2 else w


def batched_matmul(x, w):
    """x (T, B, n_pre) times w (n_pre, n_post) or (B, n_pre, n_post) -> (T, B, n_post),
    by BLAS (one product for a shared matrix, one per batch element otherwise)."""
    T, B, k = x.shape
    if w.ndim == 2:
        return (x.reshape(T * B, k) @ w).reshape(T, B, w.shape[1])
    return _c64(np.matmul(x.transpose(1, 0, 2), w).transpose(1, 0, 2))


def simulate(p, w_in, w_rec, w_out, x, *, record_state=False, spike_fn="heaviside",
             method=None):
    """The forward pass of :class:`RSNN` as a function of the parameters and weights
    (each weight shared, 2-D, or per batch element, 3-D); returns a :class:`Trace`.

    ``method``: ``"numpy"`` (a Python loop over the steps of :func:`neuron_step`),
    ``"compiled"`` (``_ext/rsnn_kernels.pyx``: x W_in by BLAS, then a ``nogil`` loop
    with spike-driven recurrent input and readout; heaviside spikes only), ``"auto"``
    (compiled for heaviside spikes, else NumPy) or None (the default set by
    :func:`set_default_method`, initially ``"auto"``). Both give the same spikes and
    floats to rounding (tests/test_rsnn_compiled_bptt.py)."""
    check_in("spike_fn", spike_fn, SPIKE_FUNCTIONS)
    _check_sim_args(p, w_in, w_rec, w_out, x)
    # an overflow is reported below, naming its step (a diverging training's weights
    # overflow here, and NumPy's RuntimeWarnings said nothing more)
    with np.errstate(over="ignore", invalid="ignore"):
        if resolve_method(method, spike_fn) == "compiled":
            tr = _simulate_compiled(p, w_in, w_rec, w_out, x, record_state)
        else:
            tr = _simulate_numpy(p, w_in, w_rec, w_out, x, record_state, spike_fn)
    _check_trace(p, tr)
    return tr


def _simulate_numpy(p, w_in, w_rec, w_out, x, record_state, spike_fn):
    T, B, _ = x.shape
    n = p.n_rec
    if w_in.ndim == 2:
        i_in = (x.reshape(T * B, p.n_in) @ w_in).reshape(T, B, n)
    else:
        i_in = np.einsum("tbi,bij->tbj", x, w_in)
    if w_rec.ndim == 3:
        w_rec = w_rec * p.rec_mask
    z_rec = np.empty((T, B, n))
    psi_rec = np.empty((T, B, n))
    v_rec = np.empty((T, B, n)) if record_state else None
    a_rec = np.empty((T, B, n)) if record_state else None
    beta_vec = p.beta_vec
    zeros = np.zeros((B, n))
    state = RSNNState(zeros, zeros.copy(), zeros.copy(), np.zeros((B, n), np.int64))
    for t in range(T):
        state, psi = neuron_step(state, i_in[t], w_rec, p, beta_vec, spike_fn)
        z_rec[t] = state.z
        psi_rec[t] = psi
        if record_state:
            v_rec[t] = state.v
            a_rec[t] = state.a
    if w_out.ndim == 2:
        u = (z_rec.reshape(T * B, n) @ w_out).reshape(T, B, p.n_out)
    else:
        u = np.einsum("tbj,bjk->tbk", z_rec, w_out)
    return Trace(x, z_rec, psi_rec, filter_forward(u, p.kappa), v_rec, a_rec)


def _check_trace(p, tr):
    """Raise a SimulationError naming the first step (then episode, neuron) whose
    pseudo-derivative, a function of the membrane potential (:func:`pseudo_derivative`:
    NaN for an infinite v), is not finite; then the same for the readout."""
    from ..errors import SimulationError
    for arr, what in ((tr.psi, "membrane potential"), (tr.y, "readout")):
        if np.all(np.isfinite(arr)):
            continue
        t, b, j = np.unravel_index(int(np.flatnonzero(~np.isfinite(arr))[0]), arr.shape)
        if arr is tr.psi:
            who = f"neuron {j} ({f'LIF {j}' if j < p.n_lif else f'ALIF {j - p.n_lif}'})"
        else:
            who = f"output {j}"
        raise SimulationError(
            f"RSNN: non-finite {what} at step {t} (t = {t * p.dt:g} ms, of {arr.shape[0]} "
            f"steps), episode {b} of the batch, {who}: weights too large?")


def _simulate_compiled(p, w_in, w_rec, w_out, x, record_state):
    from .._ext import rsnn_kernels as _k
    x = np.asarray(x, dtype=np.float64)
    T, B, _ = x.shape
    n = p.n_rec
    i_in = _c64(batched_matmul(x, np.asarray(w_in, dtype=np.float64)))
    w_rec = np.asarray(w_rec, dtype=np.float64)
    if w_rec.ndim == 3:
        w_rec = w_rec * p.rec_mask
    z = np.empty((T, B, n))
    psi = np.empty((T, B, n))
    y = np.empty((T, B, p.n_out))
    v = np.empty((T, B, n)) if record_state else None
    a = np.empty((T, B, n)) if record_state else None
    wr, wo = _stack(w_rec), _stack(w_out)
    if wr.shape[0] != wo.shape[0]:          # one shared, the other per episode
        wr = np.ascontiguousarray(np.broadcast_to(wr, (B,) + wr.shape[1:]))
        wo = np.ascontiguousarray(np.broadcast_to(wo, (B,) + wo.shape[1:]))
    _k.simulate(i_in, wr, wo, _c64(p.beta_vec), p.alpha, p.rho, p.kappa, p.v_th,
                p.gamma, p.n_ref, z, psi, y, v, a)
    return Trace(x, z, psi, y, v, a)


def _filter_compiled(u, decay, backward):
    """The compiled filter for a float64 C-contiguous u with at least one step (bit
    for bit the loop below), else None (also under ``default_method("numpy")``)."""
    if _DEFAULT_METHOD[0] == "numpy" or not (isinstance(u, np.ndarray) and u.dtype == np.float64 and u.ndim >= 1
            and u.shape[0] > 0 and u.flags.c_contiguous and u.size > 0):
        return None
    try:
        decay = float(decay)
    except TypeError:
        return None
    _k = _kernels()
    if _k is None:  # pragma: no cover
        return None
    out = np.empty_like(u)
    T = u.shape[0]
    _k.filter_time(u.reshape(T, -1), decay, out.reshape(T, -1), backward)
    return out


def filter_forward(u, decay):
    """F^t = decay F^{t-1} + u^t along axis 0."""
    out = _filter_compiled(u, decay, False)
    if out is not None:
        return out
    out = np.empty_like(u)
    acc = np.zeros_like(u[0])
    for t in range(u.shape[0]):
        acc = decay * acc + u[t]
        out[t] = acc
    return out


def filter_backward(u, decay):
    """G^t = u^t + decay G^{t+1} along axis 0 (the adjoint of :func:`filter_forward`)."""
    out = _filter_compiled(u, decay, True)
    if out is not None:
        return out
    out = np.empty_like(u)
    acc = np.zeros_like(u[0])
    for t in range(u.shape[0] - 1, -1, -1):
        acc = decay * acc + u[t]
        out[t] = acc
    return out


def shift_prev(z):
    """z^{t-1} along axis 0 (zeros at t = 0)."""
    out = np.zeros_like(z)
    out[1:] = z[:-1]
    return out
