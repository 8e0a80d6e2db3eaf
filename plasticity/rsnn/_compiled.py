"""Compiled forward pass and online e-prop of the RSNN.

:func:`forward_compiled` returns what ``RSNN.forward`` returns (heaviside spikes only),
through the compiled kernel of ``simulate`` (``_ext/rsnn_kernels.pyx``; also per-episode
3-D weights, and the compiled ``bptt``: the default for spike trains, see
``network.set_default_method``). :func:`eprop_online_compiled` (``_ext/eprop.pyx``)
accumulates what the online e-prop of :mod:`plasticity.rsnn.eprop` accumulates,
forward in time with per-synapse state, O(batch x synapses) per step. Both are checked
against the NumPy versions (tests/test_rsnn_compiled.py: spikes identical, floats to
1e-12 relative); summation orders differ, so the last bits may.
"""
import numpy as np

from .._ext import eprop as _k
from .network import RSNN, simulate

__all__ = ["forward_compiled", "eprop_online_compiled"]


def _c64(a):
    return np.ascontiguousarray(a, dtype=np.float64)


def _check_net(net):
    if not isinstance(net, RSNN):
        raise TypeError(f"net must be an RSNN, got {type(net).__name__}")


def forward_compiled(net, x, *, record_state=False):
    """Simulate ``net`` on inputs ``x`` (T, batch, n_in) in compiled code: the same
    :class:`~plasticity.rsnn.Trace` as ``net.forward(x, record_state=record_state)``
    (heaviside spikes), always through the compiled kernel of ``simulate`` whatever
    the default method."""
    _check_net(net)
    x = net.check_input(x)
    return simulate(net.params, net.w_in, net.w_rec, net.w_out, x,
                    record_state=record_state, method="compiled")


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
