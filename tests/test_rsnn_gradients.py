"""BPTT and e-prop of plasticity.rsnn checked against an independent reverse-mode
autodiff of the unrolled graph, finite differences, and each other."""
import numpy as np
import pytest

from plasticity.rsnn import (RSNN, RSNNParams, bptt, eligibility_traces, eprop_gradients,
                             mse_loss, rate_regularization)
from plasticity.tasks import frozen_poisson

# ------------------------------------------------------------------ a tiny tape autodiff
# Written independently of plasticity.rsnn: a generic reverse-mode accumulation over
# array nodes; the network is unrolled here from the equations of the issue.


class Node:
    def __init__(self, val, parents=()):
        self.val = np.asarray(val, dtype=np.float64)
        self.parents = list(parents)  # (node, vjp)


def const(x):
    return Node(x)


def add(*nodes):
    return Node(sum(n.val for n in nodes), [(n, lambda g: g) for n in nodes])


def scale(a, c):
    return Node(a.val * c, [(a, lambda g: g * c)])


def matmul(a, w):
    return Node(a.val @ w.val, [(a, lambda g: g @ w.val.T), (w, lambda g: a.val.T @ g)])


def spike(d, v_th, gamma, refractory):
    ok = ~refractory
    z = ((d.val > 0) & ok).astype(np.float64)
    psi = (gamma / v_th) * np.maximum(0.0, 1 - np.abs(d.val) / v_th) * ok
    return Node(z, [(d, lambda g: g * psi)])


def sum_sq(a, c=0.5):
    return Node(c * np.sum(a.val ** 2), [(a, lambda g: g * 2 * c * a.val)])


def mean_over_batch(a):
    B = a.val.shape[0]
    return Node(a.val.mean(axis=0), [(a, lambda g: np.broadcast_to(g / B, a.val.shape))])


def backward(out):
    order, seen = [], set()

    def visit(n):
        if id(n) in seen:
            return
        seen.add(id(n))
        for p, _ in n.parents:
            visit(p)
        order.append(n)
    visit(out)
    grads = {id(out): np.ones_like(out.val)}
    for n in reversed(order):
        g = grads.get(id(n))
        if g is None:
            continue
        for p, vjp in n.parents:
            grads[id(p)] = grads.get(id(p), 0.0) + vjp(g)
    return grads


def tape_loss_and_grads(p, w_in, w_rec, w_out, x, target, reg=0.0, f0=0.0,
                        detach=None):
    """E = 0.5 sum (y - target)^2 + reg/2 sum_j (rate_j - f0)^2 by the tape."""
    T, B, _ = x.shape
    n = p.n_rec
    Win, Wrec, Wout = const(w_in), const(w_rec * p.rec_mask), const(w_out)
    alpha, rho, kappa = np.exp(-1 / p.tau_m), np.exp(-1 / p.tau_a), np.exp(-1 / p.tau_out)
    beta = np.r_[np.zeros(p.n_lif), np.full(p.n_alif, p.beta)]
    v = const(np.zeros((B, n)))
    a = const(np.zeros((B, n)))
    z = const(np.zeros((B, n)))
    y = const(np.zeros((B, p.n_out)))
    ref = np.zeros((B, n), dtype=int)
    losses, zsum = [], None
    for t in range(T):
        z_syn = const(z.val) if detach in ("z",) else z
        z_reset = const(z.val) if detach in ("z", "reset") else z
        v = add(scale(v, alpha), matmul(const(x[t]), Win), matmul(z_syn, Wrec),
                scale(z_reset, -p.v_th))
        a = add(scale(a, rho), z)
        d = add(v, scale(a, -beta), const(np.full((B, n), -p.v_th)))
        refr = ref > 0
        z = spike(d, p.v_th, p.gamma, refr)
        fired = (d.val > 0) & ~refr
        ref = np.where(fired, max(p.n_ref - 1, 0), np.maximum(ref - 1, 0))
        y = add(scale(y, kappa), matmul(z, Wout))
        losses.append(sum_sq(add(y, const(-target[t]))))
        zsum = z if zsum is None else add(zsum, z)
    total = add(*losses)
    if reg:
        rate = scale(mean_over_batch(zsum), 1.0 / T)
        total = add(total, sum_sq(add(rate, const(np.full(n, -f0 / 1000))), 0.5 * reg))
    g = backward(total)
    return float(total.val), {"w_in": g[id(Win)], "w_rec": g[id(Wrec)] * p.rec_mask,
                              "w_out": g[id(Wout)]}


# ------------------------------------------------------------------------------ setup

def make(n_lif=3, n_alif=3, n_ref=2, seed=0, T=30, B=2, scale_rec=1.0, n_out=2):
    p = RSNNParams(n_in=4, n_lif=n_lif, n_alif=n_alif, n_out=n_out, tau_m=20.0,
                   tau_a=60.0, beta=0.4, v_th=0.5, n_ref=n_ref, tau_out=15.0)
    net = RSNN(p, seed=seed, scale_in=4.0, scale_rec=scale_rec)
    rng = np.random.default_rng(seed + 100)
    x = frozen_poisson(T, p.n_in, 300.0, batch=B, rng=rng)
    target = rng.standard_normal((T, B, n_out))
    return p, net, x, target


def our_grads(net, x, target, reg=0.0, f0=0.0, detach="none", spike_fn="heaviside",
              signals=False):
    tr = net.forward(x, spike_fn=spike_fn)
    E, dy = mse_loss(tr.y, target)
    dz = None
    if reg:
        R, dz = rate_regularization(tr.z, f0, reg)
        E += R
    g = bptt(net, tr, dy, dz, detach=detach, return_signals=signals)
    return E, g, tr, dy, dz


def rel(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


CASES = [dict(n_lif=4, n_alif=0, n_ref=0), dict(n_lif=3, n_alif=3, n_ref=2),
         dict(n_lif=0, n_alif=5, n_ref=3)]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("detach", ["none", "reset", "z"])
def test_bptt_equals_independent_reverse_accumulation(case, detach):
    p, net, x, target = make(**case)
    E, g, tr, _, _ = our_grads(net, x, target, reg=3.0, f0=20.0, detach=detach)
    assert tr.z.sum() > 5, "the test network must spike"
    E2, g2 = tape_loss_and_grads(p, net.w_in, net.w_rec, net.w_out, x, target, 3.0,
                                 20.0, None if detach == "none" else detach)
    assert abs(E - E2) < 1e-12 * abs(E2)
    for k in g2:
        assert rel(g[k], g2[k]) < 1e-12, k


@pytest.mark.parametrize("case", CASES)
def test_bptt_matches_finite_differences_of_the_smoothed_network(case):
    """With z = gamma Q((v - A) / v_th), dz/dv is exactly psi, so BPTT is the true
    gradient of the smooth network: central differences agree."""
    p, net, x, target = make(**case, T=25)

    def E_of():
        return our_grads(net, x, target, reg=2.0, f0=10.0, spike_fn="smooth")[0]
    _, g, tr, _, _ = our_grads(net, x, target, reg=2.0, f0=10.0, spike_fn="smooth")
    assert (tr.psi > 0).mean() > 0.03
    h = 1e-6
    for k in ("w_in", "w_rec", "w_out"):
        W = getattr(net, k)
        fd = np.zeros_like(W)
        for idx in np.ndindex(W.shape):
            if k == "w_rec" and idx[0] == idx[1]:
                continue
            old = W[idx]
            W[idx] = old + h
            ep = E_of()
            W[idx] = old - h
            em = E_of()
            W[idx] = old
            fd[idx] = (ep - em) / (2 * h)
        assert rel(g[k], fd) < 1e-6, (k, rel(g[k], fd))


def test_readout_gradient_matches_finite_differences_of_the_spiking_network():
    p, net, x, target = make()
    _, g, tr, _, _ = our_grads(net, x, target)
    assert tr.z.sum() > 5
    fd = np.zeros_like(net.w_out)
    for idx in np.ndindex(fd.shape):
        old = net.w_out[idx]
        net.w_out[idx] = old + 1e-5
        ep = our_grads(net, x, target)[0]
        net.w_out[idx] = old - 1e-5
        em = our_grads(net, x, target)[0]
        net.w_out[idx] = old
        fd[idx] = (ep - em) / 2e-5
    assert rel(g["w_out"], fd) < 1e-8


def test_network_below_threshold_has_zero_gradient_like_finite_differences():
    """No threshold crossing and v far from threshold: psi = 0, so the BPTT gradient of
    the input and recurrent weights is 0, as the finite differences of the network."""
    p, net, x, target = make(n_alif=0, n_lif=4)
    net.w_in[:] = -np.abs(net.w_in)   # v <= 0: psi = 0 everywhere
    _, g, tr, _, _ = our_grads(net, x, target)
    assert tr.z.sum() == 0 and tr.psi.max() == 0
    assert np.all(g["w_in"] == 0) and np.all(g["w_rec"] == 0)
    W = net.w_in
    E0 = our_grads(net, x, target)[0]
    W[0, 0] += 1e-4
    assert our_grads(net, x, target)[0] == E0


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", ["online", "adjoint"])
def test_eprop_factorisation_is_exact_with_the_bptt_learning_signal(case, method):
    """dE/dW = sum_t L^t e^t when L is the total derivative dE/dz (Bellec 2020 eq. 1)."""
    p, net, x, target = make(**case)
    _, g, tr, dy, _ = our_grads(net, x, target, signals=True)
    ge = eprop_gradients(net, tr, np.zeros_like(dy), learning_signal=g["L"],
                         method=method)
    for k in ("w_in", "w_rec"):
        assert rel(ge[k], g[k]) < 1e-12, (k, rel(ge[k], g[k]))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("method", ["online", "adjoint"])
def test_symmetric_eprop_equals_bptt_with_spike_gradients_stopped(case, method):
    """As tf.stop_gradient on z in the reference implementation: e-prop = BPTT."""
    p, net, x, target = make(**case)
    _, g, tr, dy, dz = our_grads(net, x, target, reg=5.0, f0=10.0, detach="z")
    ge = eprop_gradients(net, tr, dy, dz, method=method)
    for k in ("w_in", "w_rec", "w_out"):
        assert rel(ge[k], g[k]) < 1e-12, k
    # the independent tape with stop-gradients agrees as well
    _, g2 = tape_loss_and_grads(p, net.w_in, net.w_rec, net.w_out, x, target, 5.0, 10.0,
                                "z")
    for k in g2:
        assert rel(ge[k], g2[k]) < 1e-12


@pytest.mark.parametrize("case", CASES)
def test_without_recurrent_weights_symmetric_eprop_equals_bptt(case):
    """W_rec = 0: e-prop with W_out^T feedback is BPTT (the reset's own path excluded,
    as e-prop's eligibility vector ignores the reset: dv^t/dv^{t-1} = alpha)."""
    p, net, x, target = make(**case, scale_rec=0.0)
    assert np.all(net.w_rec == 0)
    _, g, tr, dy, dz = our_grads(net, x, target, reg=1.0, f0=10.0, detach="reset")
    ge = eprop_gradients(net, tr, dy, dz)
    assert rel(ge["w_in"], g["w_in"]) < 1e-12


def test_online_and_adjoint_eprop_agree_with_random_feedback_and_regulariser():
    p, net, x, target = make(n_lif=3, n_alif=4)
    tr = net.forward(x)
    _, dy = mse_loss(tr.y, target)
    _, dz = rate_regularization(tr.z, 10.0, 7.0)
    B = np.random.default_rng(3).standard_normal((p.n_rec, p.n_out))
    a = eprop_gradients(net, tr, dy, dz, feedback=B, method="adjoint")
    b = eprop_gradients(net, tr, dy, dz, feedback=B, method="online")
    for k in a:
        assert rel(a[k], b[k]) < 1e-12


def test_lif_eligibility_trace_is_psi_times_filtered_presynaptic_spikes():
    p, net, x, target = make(n_lif=4, n_alif=0)
    tr = net.forward(x)
    e_in, e_rec = eligibility_traces(net, tr)
    zbar = np.zeros_like(x[0])
    for t in range(x.shape[0]):
        zbar = p.alpha * zbar + x[t]
        np.testing.assert_allclose(e_in[t], tr.psi[t][:, None, :] * zbar[:, :, None],
                                   rtol=1e-14, atol=0)
