"""Backpropagation through time with the pseudo-derivative (hand-written backward pass).

With ``dE/dy`` (T, B, n_out) and the direct ``dE/dz`` (T, B, n_rec; e.g. the rate
regulariser), going backward from t = T-1 with delta_v^T = delta_a^T = 0::

    Y^t      = dE/dy^t + kappa Y^{t+1}                       (total dE/dy^t)
    L^t      = Y^t W_out^T + dE/dz^t + delta_v^{t+1} (W_rec^T - v_th I)
    g^t      = L^t + delta_a^{t+1}                            (total dE/dz^t)
    delta_v^t = psi^t g^t + alpha delta_v^{t+1}
    delta_a^t = -beta psi^t g^t + rho delta_a^{t+1}
    dE/dW_in = sum_t x^t (x) delta_v^t,  dE/dW_rec = sum_t z^{t-1} (x) delta_v^t,
    dE/dW_out = sum_t z^t (x) Y^t.

``L^t`` is the learning signal of e-prop's exact factorisation (Bellec et al. 2020,
eq. 1): the derivative of E with respect to the spike z_j^t through every path except
the neuron's own threshold adaptation, which e-prop carries in the eligibility trace.

``detach`` removes paths from the backward pass, as tf.stop_gradient in the reference
implementation: ``"reset"`` drops the reset term (-v_th z^{t-1}), ``"z"`` drops both
the reset and the recurrent term (then BPTT equals e-prop with symmetric feedback).
"""
import numpy as np

from .._validation import check_in
from .network import filter_backward, shift_prev

__all__ = ["bptt"]


def bptt(net, trace, dE_dy, dE_dz=None, *, detach="none", return_signals=False):
    """Gradients of E with respect to ``net``'s weights.

    Returns a dict w_in, w_rec, w_out; with ``return_signals`` also ``L`` (the
    learning signal above, (T, B, n_rec)) and ``dE_dz_total`` (g^t).
    """
    check_in("detach", detach, ("none", "reset", "z"))
    p = net.params
    x, z, psi = trace.x, trace.z, trace.psi
    T, B, n = z.shape
    dE_dy = np.asarray(dE_dy, dtype=np.float64)
    if dE_dy.shape != trace.y.shape:
        raise ValueError(f"dE_dy must have shape {trace.y.shape}, got {dE_dy.shape}")
    Y = filter_backward(dE_dy, p.kappa)
    direct = (Y.reshape(T * B, p.n_out) @ net.w_out.T).reshape(T, B, n)
    if dE_dz is not None:
        direct = direct + dE_dz
    alpha, rho, v_th = p.alpha, p.rho, p.v_th
    beta = p.beta_vec
    has_alif = p.n_alif > 0
    w_rec_T = net.w_rec.T
    dv_next = np.zeros((B, n))
    da_next = np.zeros((B, n))
    delta_v = np.empty((T, B, n))
    if return_signals:
        L_all = np.empty((T, B, n))
        g_all = np.empty((T, B, n))
    for t in range(T - 1, -1, -1):
        L = direct[t]
        if t < T - 1:
            if detach == "none":
                L = L + dv_next @ w_rec_T - v_th * dv_next
            elif detach == "reset":
                L = L + dv_next @ w_rec_T
        g = L + da_next if has_alif else L
        pg = psi[t] * g
        dv = pg + alpha * dv_next
        if has_alif:
            da_next = -beta * pg + rho * da_next
        delta_v[t] = dv
        dv_next = dv
        if return_signals:
            L_all[t] = L
            g_all[t] = g
    dv2 = delta_v.reshape(T * B, n)
    grads = {
        "w_in": x.reshape(T * B, p.n_in).T @ dv2,
        "w_rec": (shift_prev(z).reshape(T * B, n).T @ dv2) * p.rec_mask,
        "w_out": z.reshape(T * B, n).T @ Y.reshape(T * B, p.n_out),
    }
    if return_signals:
        grads["L"] = L_all
        grads["dE_dz_total"] = g_all
    return grads
