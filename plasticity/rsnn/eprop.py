"""e-prop (Bellec et al. 2020, Nature Communications 11:3625).

Eligibility vectors and traces, for a synapse i -> j (pre activity ``pre_i^t`` is x_i^t
for an input synapse and z_i^{t-1} for a recurrent one)::

    eps_v_ji^t     = alpha eps_v_ji^{t-1} + pre_i^t                  (= zbar_i^t)
    eps_a_ji^{t+1} = psi_j^t eps_v_ji^t + (rho - beta_j psi_j^t) eps_a_ji^t,  eps_a^0 = 0
    e_ji^t         = psi_j^t (eps_v_ji^t - beta_j eps_a_ji^t)         (LIF: psi_j^t zbar_i^t)

and the gradient estimate::

    dE/dW_ji = sum_t L_task_j^t Fkappa(e_ji)^t + L_raw_j^t e_ji^t

with Fkappa(e)^t = kappa Fkappa(e)^{t-1} + e^t (the readout filter), the task learning
signal L_task^t = (dE/dy^t) B^T (B = W_out: symmetric feedback, a fixed random B:
random feedback), and L_raw the signals that act on the unfiltered trace (the
firing-rate regulariser's dE/dz, or a given learning signal: the hook of a
learning-signal generator, or BPTT's L for the exact factorisation check).
The readout weights get their exact gradient sum_t z^t (x) Y^t.

Three implementations give the same numbers (to rounding; tested):

- ``method="online"``: forward in time, per-synapse eligibility state, O(batch x
  synapses) per step; what a neuromorphic or online implementation does.
- ``method="adjoint"`` (default, for training): the same sums reordered; one backward
  recursion over O(n_rec) per step (the adjoint of the eligibility-vector dynamics)
  and one matrix product per weight matrix. No information flows from the network's
  future into a weight update that the online form would not also use.
- ``method="compiled"``: the online form in compiled code (``_ext/eprop.pyx``, via
  :mod:`plasticity.rsnn._compiled`), same numbers to rounding.
"""
import numpy as np

from .._validation import check_in, check_nonnegative
from .network import filter_backward, shift_prev

__all__ = ["EProp", "eprop_gradients", "eligibility_traces"]

METHODS = ("adjoint", "online", "compiled")


def _signals(net, trace, dE_dy, dE_dz, feedback, learning_signal):
    p = net.params
    T, B, n = trace.z.shape
    if learning_signal is not None:
        L_task = None
        L_raw = np.asarray(learning_signal, dtype=np.float64)
        if L_raw.shape != trace.z.shape:
            raise ValueError(f"learning_signal must have shape {trace.z.shape}, "
                             f"got {L_raw.shape}")
    else:
        fb = np.asarray(feedback, dtype=np.float64)
        if fb.shape != (n, p.n_out):
            raise ValueError(f"feedback matrix must have shape {(n, p.n_out)}, got {fb.shape}")
        L_task = (dE_dy.reshape(T * B, p.n_out) @ fb.T).reshape(T, B, n)
        L_raw = None
    if dE_dz is not None:
        L_raw = dE_dz if L_raw is None else L_raw + dE_dz
    return L_task, L_raw


def _readout_grad(net, trace, dE_dy):
    p = net.params
    T, B, n = trace.z.shape
    Y = filter_backward(dE_dy, p.kappa)
    return trace.z.reshape(T * B, n).T @ Y.reshape(T * B, p.n_out)


def _adjoint(net, trace, L_task, L_raw):
    p = net.params
    psi = trace.psi
    T, B, n = psi.shape
    lam = np.zeros((T, B, n))
    if L_task is not None:
        lam += filter_backward(L_task, p.kappa)
    if L_raw is not None:
        lam += L_raw
    u = lam * psi
    if p.n_alif > 0:
        beta = p.beta_vec
        w = np.empty_like(u)
        M = np.zeros((B, n))            # M^{t+1}: coefficient of eps_a^{t+1}
        for t in range(T - 1, -1, -1):
            w[t] = u[t] + psi[t] * M
            M = -beta * u[t] + (p.rho - beta * psi[t]) * M
    else:
        w = u
    W = filter_backward(w, p.alpha).reshape(T * B, n)
    g_in = trace.x.reshape(T * B, p.n_in).T @ W
    g_rec = (shift_prev(trace.z).reshape(T * B, n).T @ W) * p.rec_mask
    return g_in, g_rec


class _OnlineTraces:
    """Forward-in-time eligibility state of one weight matrix (batch, n_pre, n_post)."""

    def __init__(self, B, n_pre, n, p):
        self.p = p
        self.beta = p.beta_vec
        self.eps_v = np.zeros((B, n_pre))           # alpha is shared: eps_v_ji = zbar_i
        self.eps_a = np.zeros((B, n_pre, n))
        self.filt = np.zeros((B, n_pre, n))
        self.grad = np.zeros((n_pre, n))

    def step(self, pre, psi, L_task, L_raw):
        p = self.p
        self.eps_v = p.alpha * self.eps_v + pre
        ev = self.eps_v[:, :, None]
        e = psi[:, None, :] * (ev - self.beta * self.eps_a)
        if L_task is not None:
            self.filt = p.kappa * self.filt + e
            self.grad += np.einsum("bj,bij->ij", L_task, self.filt)
        if L_raw is not None:
            self.grad += np.einsum("bj,bij->ij", L_raw, e)
        self.eps_a = psi[:, None, :] * ev + (p.rho - self.beta * psi[:, None, :]) * self.eps_a
        return e


def _online(net, trace, L_task, L_raw):
    p = net.params
    T, B, n = trace.z.shape
    tin = _OnlineTraces(B, p.n_in, n, p)
    trec = _OnlineTraces(B, n, n, p)
    z_prev = np.zeros((B, n))
    for t in range(T):
        lt = None if L_task is None else L_task[t]
        lr = None if L_raw is None else L_raw[t]
        tin.step(trace.x[t], trace.psi[t], lt, lr)
        trec.step(z_prev, trace.psi[t], lt, lr)
        z_prev = trace.z[t]
    return tin.grad, trec.grad * p.rec_mask


def eprop_gradients(net, trace, dE_dy, dE_dz=None, *, feedback=None,
                    learning_signal=None, method="adjoint"):
    """e-prop gradient estimates for ``net``'s weights from a forward ``trace``.

    Parameters
    ----------
    dE_dy : array (T, B, n_out)
        Output errors (the loss derivative with respect to the readout).
    dE_dz : array (T, B, n_rec), optional
        Direct derivative with respect to the spikes (rate regulariser); it multiplies
        the unfiltered eligibility trace.
    feedback : array (n_rec, n_out), optional
        The feedback matrix B (default: W_out, symmetric e-prop).
    learning_signal : array (T, B, n_rec), optional
        Use this learning signal (on the unfiltered trace) instead of the feedback
        of the output errors: the hook of a learning-signal generator.
    method : "adjoint", "online" or "compiled"
        "compiled" is the online form in compiled code.
    """
    check_in("method", method, METHODS)
    dE_dy = np.asarray(dE_dy, dtype=np.float64)
    if dE_dy.shape != trace.y.shape:
        raise ValueError(f"dE_dy must have shape {trace.y.shape}, got {dE_dy.shape}")
    if feedback is None:
        feedback = net.w_out
    L_task, L_raw = _signals(net, trace, dE_dy, dE_dz, feedback, learning_signal)
    if method == "compiled":
        from ._compiled import eprop_online_compiled as fn
    else:
        fn = _adjoint if method == "adjoint" else _online
    g_in, g_rec = fn(net, trace, L_task, L_raw)
    return {"w_in": g_in, "w_rec": g_rec, "w_out": _readout_grad(net, trace, dE_dy)}


def eligibility_traces(net, trace):
    """The full eligibility traces e^t for the input and recurrent synapses, shapes
    (T, B, n_in, n_rec) and (T, B, n_rec, n_rec) (for small networks and plots)."""
    p = net.params
    T, B, n = trace.z.shape
    tin = _OnlineTraces(B, p.n_in, n, p)
    trec = _OnlineTraces(B, n, n, p)
    e_in = np.empty((T, B, p.n_in, n))
    e_rec = np.empty((T, B, n, n))
    z_prev = np.zeros((B, n))
    for t in range(T):
        e_in[t] = tin.step(trace.x[t], trace.psi[t], None, None)
        e_rec[t] = trec.step(z_prev, trace.psi[t], None, None) * p.rec_mask
        z_prev = trace.z[t]
    return e_in, e_rec


class EProp:
    """e-prop learning for an :class:`RSNN`.

    Parameters
    ----------
    net : RSNN
    feedback : "symmetric", "random", "adaptive" or an array (n_rec, n_out)
        Symmetric: B = W_out (its current value at each update); random: a fixed
        B ~ N(0, feedback_scale^2 / n_rec), drawn once from ``seed``; adaptive
        (Bellec et al. 2020, "adaptive e-prop"): B starts as the random one and is
        learned with the readout's own update, dB = dW_out, both with the weight decay
        ``decay`` (dE/dB = dE/dW_out + decay B, dE/dW_out += decay W_out), so that
        B - W_out shrinks by (1 - lr decay) per SGD step: include :meth:`parameters`
        in what the optimiser updates.
    learning_signal : callable, optional
        ``learning_signal(net, trace, dE_dy) -> (T, B, n_rec)``: a learning-signal
        generator that replaces the feedback of the output errors.
    decay : float
        Weight decay of W_out and B in adaptive e-prop (ignored otherwise).
    """

    def __init__(self, net, feedback="symmetric", *, seed=None, feedback_scale=1.0,
                 learning_signal=None, method="adjoint", decay=0.0):
        self.net = net
        self.method = check_in("method", method, METHODS)
        self.decay = check_nonnegative("decay", decay)
        n, k = net.params.n_rec, net.params.n_out
        if isinstance(feedback, str):
            check_in("feedback", feedback, ("symmetric", "random", "adaptive"))
            self.kind = feedback
            if feedback in ("random", "adaptive"):
                check_nonnegative("feedback_scale", feedback_scale)
                rng = seed if isinstance(seed, np.random.Generator) \
                    else np.random.default_rng(seed)
                self.B = rng.standard_normal((n, k)) * feedback_scale / np.sqrt(n)
            else:
                self.B = None
        else:
            self.kind = "given"
            self.B = np.array(feedback, dtype=np.float64)
            if self.B.shape != (n, k):
                raise ValueError(f"feedback must have shape {(n, k)}, got {self.B.shape}")
        if learning_signal is not None and not callable(learning_signal):
            raise TypeError("learning_signal must be callable(net, trace, dE_dy)")
        self.learning_signal = learning_signal

    def feedback_matrix(self):
        return self.net.w_out if self.B is None else self.B

    def parameters(self):
        """What the optimiser must update besides the network's weights: the learned
        feedback matrix of adaptive e-prop (``{"feedback": B}``), else nothing."""
        return {"feedback": self.B} if self.kind == "adaptive" else {}

    def gradients(self, trace, dE_dy, dE_dz=None):
        ls = None
        if self.learning_signal is not None:
            ls = self.learning_signal(self.net, trace, dE_dy)
        g = eprop_gradients(self.net, trace, dE_dy, dE_dz,
                            feedback=self.feedback_matrix(), learning_signal=ls,
                            method=self.method)
        if self.kind == "adaptive":
            g["feedback"] = g["w_out"] + self.decay * self.B
            g["w_out"] = g["w_out"] + self.decay * self.net.w_out
        return g
