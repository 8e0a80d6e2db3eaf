"""One-shot learning with a learning-signal generator (Scherr, Stoeckl & Maass 2020).

A *learner* RSNN (LIF neurons) and a *learning-signal generator* (LSG, an RSNN of LIF
and ALIF neurons) take part in every episode of a new task:

1. Training trial: the learner runs on its input ``x1``; the LSG sees the learner's
   input, a task signal ``s1`` (the target, or the label) and the learner's spikes, and
   its readout emits a learning signal L_j^t for every learner neuron j.
2. Exactly one weight update of the learner's plastic weights, local and e-prop-like::

       dW_ji = -eta sum_t L_j^t e_ji^t,   e_ji^t = psi_j^t zbar_i^t

   with zbar the alpha-filtered presynaptic activity (x_i^t for an input synapse,
   z_i^{t-1} for a recurrent one): the e-prop eligibility trace of a LIF synapse.
3. Test trial with the updated weights on ``x2``; its loss E is what the outer loop
   minimises.

The outer loop (learning to learn) optimises the LSG's weights and the learner's
initial weights (input, recurrent and readout) over many episodes of new tasks, by
BPTT *through the inner update* (:meth:`OneShotLearning.episode` with
``order="full"``): E depends on the LSG's weights through L, and on the learner's
initial weights directly (the test trial runs with W + dW) and through the training
trial (psi, zbar and the spikes the LSG sees). With ``order="first"`` the training
trial's activity is treated as a constant (no gradient through psi, zbar and the
LSG's view of the learner): cheaper, one backward pass fewer, and biased.

The gradient is hand-written (see :func:`plasticity.rsnn.bptt` for the backward pass
of one network) and checked against central finite differences of the whole episode
(smooth spike function, ``tests/test_rsnn_oneshot.py``).

Baselines of the paper use the same inner update with ad hoc signals:
:meth:`OneShotLearning.eprop_signal` gives e-prop's L = (dE1/dy^t) B^T of the
training trial's own loss (B = W_out: symmetric, or a fixed random B), filtered as in
e-prop (the readout filter kappa moved onto the signal: sum_t L^t Fkappa(e)^t =
sum_t (Fkappa^T L)^t e^t).
"""
from __future__ import annotations

import numpy as np

from .._validation import check_in, check_nonnegative
from .bptt import bptt
from .losses import rate_regularization
from .network import RSNN, filter_backward, filter_forward, shift_prev

__all__ = ["OneShotLearning", "one_shot_update", "presynaptic_traces"]


def _outer(a, b):
    """sum_t a[t, b, i] b[t, b, j] -> (B, i, j), as a batched BLAS product."""
    return np.matmul(a.transpose(1, 2, 0), b.transpose(1, 0, 2))


def _apply(a, w):
    """a[t, b, i] w[b, i, j] -> (T, B, j), as a batched BLAS product."""
    return np.matmul(a.transpose(1, 0, 2), w).transpose(1, 0, 2)

PLASTIC = ("w_in", "w_rec")


def presynaptic_traces(params, trace, plastic=PLASTIC):
    """zbar of the plastic weights' presynaptic side: the alpha-filtered input
    (``"w_in"``) and the alpha-filtered z^{t-1} (``"w_rec"``), each (T, B, n_pre)."""
    out = {}
    if "w_in" in plastic:
        out["w_in"] = filter_forward(trace.x, params.alpha)
    if "w_rec" in plastic:
        out["w_rec"] = filter_forward(shift_prev(trace.z), params.alpha)
    return out


def one_shot_update(params, trace, L, eta, plastic=PLASTIC, pre=None):
    """The inner update dW = -eta sum_t L^t e^t for each episode of the batch.

    Parameters
    ----------
    params : RSNNParams
        The learner's parameters (LIF neurons only).
    trace : Trace
        The learner's training trial (x, z, psi).
    L : array (T, B, n_rec)
        Learning signals.
    eta : float
        Learning rate of the inner update.
    plastic : tuple of "w_in", "w_rec"
    pre : dict, optional
        :func:`presynaptic_traces` of ``trace``, if already computed.

    Returns
    -------
    dict
        ``"w_in"`` (B, n_in, n_rec) and/or ``"w_rec"`` (B, n_rec, n_rec).
    """
    if pre is None:
        pre = presynaptic_traces(params, trace, plastic)
    M = L * trace.psi
    out = {k: -eta * _outer(pre[k], M) for k in plastic}
    if "w_rec" in out:
        out["w_rec"] *= params.rec_mask
    return out


class OneShotLearning:
    """A learner, a learning-signal generator and their episodes.

    Parameters
    ----------
    learner : RSNN
        LIF neurons only (``n_alif == 0``): the inner update uses the LIF eligibility
        trace.
    lsg : RSNN or None
        Its inputs are, concatenated in this order, the learner's input (if
        ``lsg_sees`` has ``"input"``), the task signal (``"task"``) and the learner's
        spikes (``"activity"``); its ``n_out`` must equal the learner's ``n_rec``.
        None: no LSG (baselines with given learning signals).
    eta : float
        Inner learning rate.
    plastic : tuple
        Learner weights changed by the inner update (``"w_in"``, ``"w_rec"``).
    lsg_sees : tuple
        Subset of ``("input", "task", "activity")``.
    reg_rate, reg_coeff : float
        Firing-rate regularisation (target Hz, coefficient; see
        :func:`rate_regularization`) of the learner (both trials) and the LSG.
    detach : str
        Passed to :func:`bptt` for every backward pass.
    """

    def __init__(self, learner, lsg=None, *, eta=1e-4, plastic=PLASTIC,
                 lsg_sees=("input", "task", "activity"), reg_rate=10.0, reg_coeff=0.0,
                 detach="none"):
        if not isinstance(learner, RSNN):
            raise TypeError(f"learner must be an RSNN, got {type(learner).__name__}")
        if learner.params.n_alif != 0:
            raise ValueError("learner must have LIF neurons only (n_alif = 0), got "
                             f"n_alif = {learner.params.n_alif}")
        self.learner = learner
        self.lsg = lsg
        self.eta = check_nonnegative("eta", eta)
        plastic = tuple(plastic)
        for k in plastic:
            check_in("plastic", k, PLASTIC)
        self.plastic = plastic
        lsg_sees = tuple(lsg_sees)
        for k in lsg_sees:
            check_in("lsg_sees", k, ("input", "task", "activity"))
        self.lsg_sees = lsg_sees
        self.reg_rate = check_nonnegative("reg_rate", reg_rate, "Hz")
        self.reg_coeff = check_nonnegative("reg_coeff", reg_coeff)
        self.detach = check_in("detach", detach, ("none", "reset", "z"))
        if lsg is not None:
            if not isinstance(lsg, RSNN):
                raise TypeError(f"lsg must be an RSNN or None, got {type(lsg).__name__}")
            if lsg.params.n_out != learner.params.n_rec:
                raise ValueError(f"lsg.params.n_out must equal the learner's n_rec "
                                 f"({learner.params.n_rec}), got {lsg.params.n_out}")

    # ---- parameters seen by the outer loop --------------------------------------
    def parameters(self):
        """The outer loop's parameters: a dict of the arrays themselves."""
        out = {f"learner.{k}": v for k, v in self.learner.weights.items()}
        if self.lsg is not None:
            out.update({f"lsg.{k}": v for k, v in self.lsg.weights.items()})
        return out

    def lsg_input(self, x1, s1, z1):
        parts = []
        if "input" in self.lsg_sees:
            parts.append(x1)
        if "task" in self.lsg_sees:
            parts.append(s1)
        if "activity" in self.lsg_sees:
            parts.append(z1)
        u = np.concatenate(parts, axis=2)
        if self.lsg is not None and u.shape[2] != self.lsg.params.n_in:
            raise ValueError(f"the LSG sees {u.shape[2]} channels ({', '.join(self.lsg_sees)})"
                             f" but lsg.params.n_in = {self.lsg.params.n_in}")
        return u

    def _reg(self, z):
        if self.reg_coeff == 0:
            return 0.0, None
        return rate_regularization(z, self.reg_rate, self.reg_coeff)

    def eprop_signal(self, trace1, dE1_dy, feedback):
        """e-prop's learning signal for the inner update: (dE1/dy) B^T moved through
        the readout filter (``feedback`` (n_rec, n_out), e.g. W_out or a random B)."""
        T, B, k = dE1_dy.shape
        L = (dE1_dy.reshape(T * B, k) @ np.asarray(feedback).T).reshape(T, B, -1)
        return filter_backward(L, self.learner.params.kappa)

    # ---- one episode ------------------------------------------------------------
    def episode(self, x1, s1, x2, loss_fn, *, learning_signal=None, order="full",
                grad=True, spike_fn="heaviside", eta=None):
        """Run a batch of episodes (training trial, one update, test trial).

        Parameters
        ----------
        x1, x2 : array (T, B, n_in)
            The learner's input in the training and the test trial.
        s1 : array (T, B, n_task) or None
            The task signal the LSG sees in the training trial.
        loss_fn : callable
            ``loss_fn(y2) -> (E, dE/dy2)`` of the test trial's readout.
        learning_signal : callable, optional
            ``learning_signal(trace1) -> L`` (T, B, n_rec) replaces the LSG (baselines).
        order : "full" or "first"
            Outer gradient through the inner update and the training trial (full),
            or without the training trial's activity (first).
        grad : bool
            Compute the outer gradient.
        eta : float, optional
            Inner learning rate of this call (default: the instance's ``eta``; 0 gives
            the test trial without an update).

        Returns
        -------
        dict
            ``loss`` (test loss E), ``reg`` (regulariser values), ``trace1``,
            ``trace2``, ``L``, ``dW`` and, with ``grad``, ``grads`` (keys as
            :meth:`parameters`) and ``dE_dL`` (the gradient with respect to the
            learning signals, also for a given ``learning_signal``).
        """
        check_in("order", order, ("full", "first"))
        eta = self.eta if eta is None else check_nonnegative("eta", eta)
        learner, lsg = self.learner, self.lsg
        p = learner.params
        x1 = learner.check_input(x1)
        x2 = learner.check_input(x2)
        tr1 = learner.forward(x1, record_state=grad and order == "full", spike_fn=spike_fn)
        trL = None
        if learning_signal is not None:
            L = np.asarray(learning_signal(tr1), dtype=np.float64)
            if L.shape != tr1.z.shape:
                raise ValueError(f"learning_signal must return shape {tr1.z.shape}, "
                                 f"got {L.shape}")
        else:
            if lsg is None:
                raise ValueError("no LSG: give learning_signal")
            u = self.lsg_input(x1, s1, tr1.z)
            trL = lsg.forward(u, spike_fn=spike_fn)
            L = trL.y
        pre = presynaptic_traces(p, tr1, self.plastic)
        dW = one_shot_update(p, tr1, L, eta, self.plastic, pre)
        w2 = {k: learner.weights[k] + dW[k] for k in dW}
        tr2 = learner.forward(x2, weights=w2, spike_fn=spike_fn)
        E, dE_dy2 = loss_fn(tr2.y)
        reg_vals = {}
        r1, dr1 = self._reg(tr1.z)
        r2, dr2 = self._reg(tr2.z)
        reg_vals["learner"] = r1 + r2
        drL = None
        if trL is not None:
            rL, drL = self._reg(trL.z)
            reg_vals["lsg"] = rL
        out = {"loss": float(E), "reg": reg_vals, "trace1": tr1, "trace2": tr2, "L": L,
               "dW": dW, "lsg_trace": trL}
        if not grad:
            return out

        grads = {f"learner.{k}": np.zeros_like(v) for k, v in learner.weights.items()}
        if lsg is not None:
            grads.update({f"lsg.{k}": np.zeros_like(v) for k, v in lsg.weights.items()})
        w2_full = dict(learner.weights)
        w2_full.update(w2)
        G2 = bptt(learner, tr2, dE_dy2, dr2, detach=self.detach, weights=w2_full,
                  per_episode=True)
        for k in ("w_in", "w_rec", "w_out"):
            grads[f"learner.{k}"] += G2[k].sum(axis=0)
        # dE/dM, M = L psi1: the update is dW[b] = -eta zbar^T M for each plastic W
        dM = np.zeros_like(L)
        for k in self.plastic:
            dM += -eta * _apply(pre[k], G2[k])
        out["dE_dL"] = dL = dM * tr1.psi
        dz1 = None
        if trL is not None:
            GL = bptt(lsg, trL, dL, drL, detach=self.detach,
                      return_input_grad=order == "full" and "activity" in self.lsg_sees)
            for k in ("w_in", "w_rec", "w_out"):
                grads[f"lsg.{k}"] += GL[k]
            if "dE_dx" in GL:
                dz1 = GL["dE_dx"][:, :, -p.n_rec:].copy()
        if order == "full":
            dz1 = np.zeros_like(tr1.z) if dz1 is None else dz1
            if "w_rec" in self.plastic:
                M = L * tr1.psi
                dzbar = -eta * _apply(M, np.swapaxes(G2["w_rec"] * p.rec_mask, 1, 2))
                dzprev = filter_backward(dzbar, p.alpha)   # dE/dz^{t-1} at index t
                dz1[:-1] += dzprev[1:]
            if dr1 is not None:
                dz1 += dr1
            G1 = bptt(learner, tr1, np.zeros_like(tr1.y), dz1, detach=self.detach,
                      dE_dpsi=dM * L)
            for k in ("w_in", "w_rec", "w_out"):
                grads[f"learner.{k}"] += G1[k]
        out["grads"] = grads
        return out
