"""Compiled forward pass and online e-prop of the RSNN (kernels in ``_ext/eprop.pyx``).

:func:`forward_compiled` returns what ``RSNN.forward`` returns (heaviside spikes only);
:func:`eprop_online_compiled` what the online e-prop of :mod:`plasticity.rsnn.eprop`
accumulates, forward in time with per-synapse state, O(batch x synapses) per step.
Both are checked against the NumPy versions (tests/test_rsnn_compiled.py: spikes
identical, floats to 1e-12 relative); summation orders differ (spike-driven sums
instead of dense products), so the last bits may.

The general compiled forward pass (per-episode 3-D weights too) and compiled BPTT are
``simulate(..., method="compiled")`` / ``bptt(..., method="compiled")`` (kernels in
``_ext/rsnn_kernels.pyx``; the default for spike trains, see
``network.set_default_method``).
"""
import numpy as np

from .._ext import eprop as _k
from ..errors import SimulationError
from .network import RSNN, Trace

__all__ = ["forward_compiled", "eprop_online_compiled"]


def _c64(a):
    return np.ascontiguousarray(a, dtype=np.float64)


def _check_net(net):
    if not isinstance(net, RSNN):
        raise TypeError(f"net must be an RSNN, got {type(net).__name__}")


def forward_compiled(net, x, *, record_state=False):
    """Simulate ``net`` on inputs ``x`` (T, batch, n_in) in compiled code.

    The same equations and the same :class:`~plasticity.rsnn.Trace` as
    ``net.forward(x, record_state=record_state)`` (heaviside spikes; the smooth spike
    function of the gradient tests is NumPy-only). The input current x W_in is one
    matrix product; the recurrent input and the readout are summed over the spikes.
    """
    _check_net(net)
    x = net.check_input(x)
    p = net.params
    T, B, _ = x.shape
    n = p.n_rec
    i_in = _c64((x.reshape(T * B, p.n_in) @ net.w_in).reshape(T, B, n))
    z = np.empty((T, B, n))
    psi = np.empty((T, B, n))
    y = np.empty((T, B, p.n_out))
    v = np.empty((T, B, n)) if record_state else None
    a = np.empty((T, B, n)) if record_state else None
    _k.rsnn_forward(i_in, _c64(net.w_rec), _c64(net.w_out), _c64(p.beta_vec),
                    p.alpha, p.rho, p.kappa, p.v_th, p.gamma, p.n_ref, z, psi, y, v, a)
    if not np.all(np.isfinite(psi)):
        raise SimulationError("RSNN: non-finite membrane potential (weights too large?)")
    return Trace(x, z, psi, y, v, a)


def eprop_online_compiled(net, trace, L_task, L_raw):
    """(g_in, g_rec) of the online e-prop form from the learning signals L_task (on the
    kappa-filtered traces) and L_raw (on the raw traces), each (T, B, n_rec) or None."""
    _check_net(net)
    p = net.params
    z = _c64(trace.z)
    T, B, n = z.shape
    x = _c64(trace.x)
    if x.shape != (T, B, p.n_in):
        raise ValueError(f"trace.x must have shape {(T, B, p.n_in)}, got {x.shape}")
    psi = _c64(trace.psi)
    if psi.shape != z.shape:
        raise ValueError(f"trace.psi must have shape {z.shape}, got {psi.shape}")
    L_task = None if L_task is None else _c64(L_task)
    L_raw = None if L_raw is None else _c64(L_raw)
    for name, L in (("L_task", L_task), ("L_raw", L_raw)):
        if L is not None and L.shape != z.shape:
            raise ValueError(f"{name} must have shape {z.shape}, got {L.shape}")
    g_in = np.zeros((p.n_in, n))
    g_rec = np.zeros((n, n))
    _k.eprop_online(x, z, psi, L_task, L_raw, _c64(p.beta_vec), p.alpha, p.rho, p.kappa,
                    g_in, g_rec)
    return g_in, g_rec * p.rec_mask
