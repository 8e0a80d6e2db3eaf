"""Losses of RSNN tasks: each returns (value, dE/dy) or (value, dE/dz).

``dE/dy`` has the shape of the readout (T, batch, n_out); ``dE/dz`` the shape of the
spikes (T, batch, n_rec). BPTT and e-prop take both.
"""
import numpy as np

from .._validation import check_nonnegative

__all__ = ["mse_loss", "cross_entropy_loss", "rate_regularization", "softmax"]


def mse_loss(y, target):
    """E = 0.5 sum over time, batch and outputs of (y - target)^2 (Bellec et al.)."""
    target = np.asarray(target, dtype=np.float64)
    if target.shape != y.shape:
        target = np.broadcast_to(target, y.shape)
    err = y - target
    return 0.5 * float(np.sum(err ** 2)), err


def softmax(u, axis=-1):
    u = u - u.max(axis=axis, keepdims=True)
    e = np.exp(u)
    return e / e.sum(axis=axis, keepdims=True)


def cross_entropy_loss(y, labels, mask):
    """Mean cross-entropy of softmax(y^t) against ``labels`` (batch,) over the batch and
    the steps where ``mask`` (T,) is true; returns (value, dE/dy)."""
    labels = np.asarray(labels, dtype=np.int64)
    mask = np.asarray(mask, dtype=bool)
    T, B, K = y.shape
    if labels.shape != (B,):
        raise ValueError(f"labels must have shape ({B},), got {labels.shape}")
    if mask.shape != (T,):
        raise ValueError(f"mask must have shape ({T},), got {mask.shape}")
    n = int(mask.sum()) * B
    if n == 0:
        raise ValueError("mask selects no time step")
    p = softmax(y[mask])                     # (Tm, B, K)
    onehot = np.zeros((B, K))
    onehot[np.arange(B), labels] = 1.0
    value = -float(np.sum(np.log(np.maximum(p[:, np.arange(B), labels], 1e-300)))) / n
    grad = np.zeros_like(y)
    grad[mask] = (p - onehot) / n
    return value, grad


def rate_regularization(z, target_rate, coeff, dt=1.0):
    """E_reg = (coeff / 2) sum_j (f_j - f0)^2 with f_j the mean rate of neuron j over
    batch and time in spikes per ms (kHz), f0 = ``target_rate`` in Hz.

    (Bellec's pattern-generation tutorial uses coeff 300 in this form; the
    evidence-accumulation tutorial's ``reg_f sum (f - f0)^2`` is coeff = 2 reg_f.)
    Returns (value, dE/dz).
    """
    check_nonnegative("target_rate", target_rate, "Hz")
    check_nonnegative("coeff", coeff)
    T, B, n = z.shape
    f = z.mean(axis=(0, 1)) / dt
    d = f - target_rate / 1000.0
    value = 0.5 * coeff * float(np.sum(d ** 2))
    grad = np.broadcast_to(coeff * d / (T * B * dt), z.shape).copy()
    return value, grad
