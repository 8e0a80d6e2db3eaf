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

Two optional extras serve the outer loop of one-shot learning (where E depends on a
first trial's pseudo-derivatives through a weight update, and on the network's input
through a second network): ``dE_dpsi`` (T, B, n_rec), a direct derivative with respect
to psi^t, enters as psi'(v - A) dE/dpsi^t beside psi^t g^t in delta_v and delta_a; and
``return_input_grad`` returns dE/dx^t = delta_v^t W_in^T.

``detach`` removes paths from the backward pass, as tf.stop_gradient in the reference
implementation: ``"reset"`` drops the reset term (-v_th z^{t-1}), ``"z"`` drops both
the reset and the recurrent term (then BPTT equals e-prop with symmetric feedback).

Two implementations (``method``): ``"numpy"`` (a Python loop over the steps) and
``"compiled"`` (``_ext/rsnn_kernels.pyx``: the recursion in a ``nogil`` loop, with
the recurrent term delta_v^{t+1} W_rec^T carried as r^{t-1} = alpha r^t + (psi^t
g^t) W_rec^T, a sum over the neurons inside the psi window; Y W_out^T, x^T delta_v
and delta_v W_in^T by BLAS (NumPy's); the spike-side outer products z^T delta_v and
z^T Y summed over the spikes). The default (``"auto"``, see ``network.set_default_method``) is the
compiled one for spike trains (z in {0, 1}) and NumPy for the smooth test network.
Equal to rounding (tests/test_rsnn_compiled_bptt.py).
"""
import numpy as np

from .._validation import check_in
from .network import (_c64, _kernels, _stack, batched_matmul, filter_backward,
                      filter_forward, matvec, pseudo_derivative_slope, resolve_method,
                      shift_prev)

__all__ = ["bptt"]

#: the compiled BPTT forms x^T delta_v and delta_v W_in^T over the non-zero
#: pg^t = delta_v^t - alpha delta_v^{t+1} (= psi^t g^t [+ dE/dpsi^t psi'^t]: zero
#: outside the psi window) when at most this fraction is non-zero (then
#: x^T delta_v = xbar^T pg, xbar the alpha-filtered input), else by BLAS
PG_DENSITY_MAX = 0.1


def bptt(net, trace, dE_dy, dE_dz=None, *, detach="none", return_signals=False,
         weights=None, per_episode=False, dE_dpsi=None, return_input_grad=False,
         method=None):
    """Gradients of E with respect to ``net``'s weights.

    Parameters
    ----------
    net : RSNN
        Gives the parameters, and the weights unless ``weights`` is given.
    trace : Trace
        The forward pass (with ``record_state=True`` when ``dE_dpsi`` is given).
    dE_dy, dE_dz : arrays
        Direct derivatives with respect to the readout and the spikes.
    weights : dict, optional
        The weights the trace was simulated with (shared 2-D or per batch element 3-D,
        as :meth:`RSNN.forward`).
    per_episode : bool
        Return the gradients per batch element (batch first) instead of their sum.
    dE_dpsi : array (T, B, n_rec), optional
        Direct derivative with respect to the pseudo-derivatives.
    return_input_grad : bool
        Also return ``dE_dx`` (T, B, n_in).
    method : "numpy", "compiled", "auto" or None
        None: the default (``network.set_default_method``, initially "auto": compiled
        when the trace's spikes are 0/1, else NumPy).

    Returns a dict w_in, w_rec, w_out; with ``return_signals`` also ``L`` (the
    learning signal above, (T, B, n_rec)) and ``dE_dz_total`` (g^t).
    """
    check_in("detach", detach, ("none", "reset", "z"))
    p = net.params
    w = net.weights if weights is None else net._check_batched(weights, trace.z.shape[1])
    w_in, w_rec, w_out = w["w_in"], w["w_rec"], w["w_out"]
    x, z, psi = trace.x, trace.z, trace.psi
    T, B, n = z.shape
    dE_dy = np.asarray(dE_dy, dtype=np.float64)
    if dE_dy.shape != trace.y.shape:
        raise ValueError(f"dE_dy must have shape {trace.y.shape}, got {dE_dy.shape}")
    extra = None
    if dE_dpsi is not None:
        dE_dpsi = np.asarray(dE_dpsi, dtype=np.float64)
        if dE_dpsi.shape != z.shape:
            raise ValueError(f"dE_dpsi must have shape {z.shape}, got {dE_dpsi.shape}")
        if trace.v is None:
            raise ValueError("dE_dpsi needs the membrane potentials: simulate with "
                             "record_state=True")
    if _use_compiled(method, trace, p):
        return _bptt_compiled(p, trace, w_in, w_rec, w_out, dE_dy, dE_dz, dE_dpsi, detach,
                              return_signals, per_episode, return_input_grad)
    if dE_dpsi is not None:
        dist = trace.v - (p.v_th + p.beta_vec * trace.a)
        extra = dE_dpsi * pseudo_derivative_slope(psi, dist, p.v_th, p.gamma)
    Y = filter_backward(dE_dy, p.kappa)
    if w_out.ndim == 2:
        direct = (Y.reshape(T * B, p.n_out) @ w_out.T).reshape(T, B, n)
    else:
        direct = np.einsum("tbk,bjk->tbj", Y, w_out)
    if dE_dz is not None:
        direct = direct + dE_dz
    alpha, rho, v_th = p.alpha, p.rho, p.v_th
    beta = p.beta_vec
    has_alif = p.n_alif > 0
    w_rec_T = np.swapaxes(w_rec * p.rec_mask, -1, -2)
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
                L = L + matvec(dv_next, w_rec_T) - v_th * dv_next
            elif detach == "reset":
                L = L + matvec(dv_next, w_rec_T)
        g = L + da_next if has_alif else L
        pg = psi[t] * g
        if extra is not None:
            pg = pg + extra[t]
        dv = pg + alpha * dv_next
        if has_alif:
            da_next = -beta * pg + rho * da_next
        delta_v[t] = dv
        dv_next = dv
        if return_signals:
            L_all[t] = L
            g_all[t] = g
    if per_episode:
        grads = {
            "w_in": np.einsum("tbi,tbj->bij", x, delta_v),
            "w_rec": np.einsum("tbi,tbj->bij", shift_prev(z), delta_v) * p.rec_mask,
            "w_out": np.einsum("tbj,tbk->bjk", z, Y),
        }
    else:
        dv2 = delta_v.reshape(T * B, n)
        grads = {
            "w_in": x.reshape(T * B, p.n_in).T @ dv2,
            "w_rec": (shift_prev(z).reshape(T * B, n).T @ dv2) * p.rec_mask,
            "w_out": z.reshape(T * B, n).T @ Y.reshape(T * B, p.n_out),
        }
    if return_signals:
        grads["L"] = L_all
        grads["dE_dz_total"] = g_all
    if return_input_grad:
        if w_in.ndim == 2:
            grads["dE_dx"] = (delta_v.reshape(T * B, n) @ w_in.T).reshape(T, B, p.n_in)
        else:
            grads["dE_dx"] = np.einsum("tbj,bij->tbi", delta_v, w_in)
    return grads


def _use_compiled(method, trace, p):
    """Validate the trace's shapes and resolve ``method`` to compiled or not."""
    z = trace.z
    if np.ndim(z) != 3 or z.shape[2] != p.n_rec:
        raise ValueError(f"trace.z must have shape (T, B, n_rec={p.n_rec}), got "
                         f"{np.shape(z)}")
    T, B, n = z.shape
    for name, arr, shape in (("x", trace.x, (T, B, p.n_in)), ("psi", trace.psi, z.shape),
                             ("y", trace.y, (T, B, p.n_out))):
        if np.shape(arr) != shape:
            raise ValueError(f"trace.{name} must have shape {shape}, got {np.shape(arr)}")
    if resolve_method(method) != "compiled":
        return False
    if method == "compiled":
        return True
    # a default choice: the compiled kernels for spike trains, NumPy for the smooth
    # spike function of the gradient tests
    return bool(_kernels().is_binary(np.ascontiguousarray(z, dtype=np.float64).reshape(-1)))


def _bptt_compiled(p, trace, w_in, w_rec, w_out, dE_dy, dE_dz, dE_dpsi, detach,
                   return_signals, per_episode, return_input_grad):
    k = _kernels()
    x, z, psi = _c64(trace.x), _c64(trace.z), _c64(trace.psi)
    T, B, n = z.shape
    if dE_dz is not None:
        dE_dz = _c64(dE_dz)
        if dE_dz.shape != z.shape:
            raise ValueError(f"dE_dz must have shape {z.shape}, got {dE_dz.shape}")
    v = a = None
    if dE_dpsi is not None:
        dE_dpsi, v, a = _c64(dE_dpsi), _c64(trace.v), _c64(trace.a)
        if v.shape != z.shape or a.shape != z.shape:
            raise ValueError(f"trace.v and trace.a must have shape {z.shape}")
    w_in = np.asarray(w_in, dtype=np.float64)
    Y = filter_backward(_c64(dE_dy), p.kappa)
    direct = _c64(batched_matmul(Y, np.swapaxes(np.asarray(w_out, dtype=np.float64), -1, -2)))
    wm_T = _c64(np.swapaxes(_stack(w_rec) * p.rec_mask, -1, -2))
    delta_v = np.empty((T, B, n))
    pg = np.empty((T, B, n))
    L_all = np.empty((T, B, n)) if return_signals else None
    g_all = np.empty((T, B, n)) if return_signals else None
    nnz = k.bptt_recursion(direct, dE_dz, psi, dE_dpsi, v, a, wm_T, _c64(p.beta_vec),
                           p.alpha, p.rho, p.v_th, -(p.gamma / p.v_th ** 2),
                           ("none", "reset", "z").index(detach), delta_v, L_all, g_all, pg)
    Bo = B if per_episode else 1
    g_rec = np.zeros((Bo, n, n))
    g_out = np.zeros((Bo, n, p.n_out))
    k.spike_outer(z, delta_v, 1, g_rec)
    k.spike_outer(z, Y, 0, g_out)
    dE_dx = None
    if nnz <= PG_DENSITY_MAX * pg.size:
        # few neurons inside the psi window: the input-side products over them
        g_in_T = np.zeros((Bo, n, p.n_in))
        if return_input_grad:
            dE_dx = np.empty((T, B, p.n_in))
        k.pg_input_products(pg, filter_forward(x, p.alpha),
                            _c64(np.swapaxes(_stack(w_in), -1, -2)), p.alpha, g_in_T, dE_dx)
        g_in = np.ascontiguousarray(np.swapaxes(g_in_T, -1, -2))
        if not per_episode:
            g_in = g_in[0]
    elif per_episode:
        g_in = np.matmul(x.transpose(1, 2, 0), delta_v.transpose(1, 0, 2))
    else:
        g_in = x.reshape(T * B, p.n_in).T @ delta_v.reshape(T * B, n)
    if per_episode:
        grads = {"w_in": g_in, "w_rec": g_rec * p.rec_mask, "w_out": g_out}
    else:
        grads = {"w_in": g_in, "w_rec": g_rec[0] * p.rec_mask, "w_out": g_out[0]}
    if return_signals:
        grads["L"] = L_all
        grads["dE_dz_total"] = g_all
    if return_input_grad:
        if dE_dx is None:
            dE_dx = batched_matmul(delta_v, np.swapaxes(w_in, -1, -2))
        grads["dE_dx"] = dE_dx
    return grads
