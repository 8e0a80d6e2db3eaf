"""EPropRule (e-prop in the core engine) against a plain NumPy reference of the same
equations on random spike trains: the neuron model of the engine transcribed step by
step, dense (n_pre, n_post) eligibility state."""
import math

import numpy as np
import pytest

from plasticity import Network, SynapseMatrix
from plasticity.neurons import ALIF, LIF, Izhikevich
from plasticity.rules import EPropRule

DT = 0.1


def model_of(kind, t_ref):
    if kind == "lif":
        return LIF(tau_m=10.0, V_th=-55.0, t_ref=t_ref, tau_syn_ex=2.0, tau_syn_in=5.0)
    return ALIF(tau_m=10.0, V_th=-55.0, t_ref=t_ref, tau_syn_ex=2.0, tau_syn_in=5.0,
                beta=2.0, tau_a=30.0)


def setup(kind, target, *, T=600, n_pre=12, n_post=5, seed=0, t_ref=0.5, delay=None,
          dtype=np.float64):
    rng = np.random.default_rng(seed)
    spikes = rng.random((T, n_pre)) < 0.06
    mask = rng.random((n_pre, n_post)) < 0.7
    scale = {"v": 6.0, "I_syn_ex": 250.0, "I_syn_in": 12.0}[target]
    W = rng.uniform(0.2, 1.0, (n_pre, n_post)) * scale * mask
    if target == "I_syn_in":
        W = -W
    L = rng.standard_normal((T, n_post))
    i_ext = rng.uniform(250.0, 330.0, n_post) + (500.0 if target == "I_syn_in" else 0.0)
    return dict(kind=kind, target=target, T=T, spikes=spikes, mask=mask, W=W, L=L,
                i_ext=i_ext, t_ref=t_ref, delay=delay, dtype=dtype)


def engine_run(case, rule, T=None):
    T = case["T"] if T is None else T
    net = Network(dt=DT, seed=1)
    st, si = np.nonzero(case["spikes"])
    inp = net.add_spike_generator("inp", case["spikes"].shape[1], st * DT, si)
    model = model_of(case["kind"], case["t_ref"])
    out = net.add_population("out", case["mask"].shape[1], model)
    out["I_ext"] = case["i_ext"]
    syn = SynapseMatrix.from_dense(case["W"], mask=case["mask"], dtype=case["dtype"],
                                   delay=case["delay"])
    proj = net.connect(inp, out, syn, case["target"], rule=rule)
    mon = net.monitor_spikes(out)
    net.run(T * DT)
    return net, proj, mon


def reference(case, eta, update, gamma=0.3, width=None, tau_out=None,
              w_min=-np.inf, w_max=np.inf, signal=None):
    """The engine's neuron update, delivery and reset, and the rule's equations,
    transcribed with dense arrays."""
    kind, target = case["kind"], case["target"]
    model = model_of(kind, case["t_ref"])
    p = model.packed_params(DT)
    mp = model.parameters()
    E_L, V_th, V_reset, R = p[0], p[1], p[2], p[3]
    P_vv, P_vext, P_ex, P_vex, P_in, P_vin = p[4], p[5], p[6], p[7], p[8], p[9]
    alif = kind == "alif"
    beta, P_a = (p[10], p[11]) if alif else (0.0, 1.0)
    width = mp["V_th"] - mp["E_L"] if width is None else width
    kappa = math.exp(-DT / tau_out) if tau_out else None
    spikes, mask = case["spikes"], case["mask"]
    W = np.where(mask, case["W"], 0.0).astype(case["dtype"]).astype(np.float64)
    L = case["L"] if signal is None else signal
    T, n_pre = spikes.shape
    n_post = mask.shape[1]
    d = case["delay"] or 0
    v = np.full(n_post, E_L)
    a = np.zeros(n_post)
    i_ex = np.zeros(n_post)
    i_in = np.zeros(n_post)
    i_ext = case["i_ext"].copy()
    ref = np.zeros(n_post)
    if target == "v":
        P_syn = P_vsyn = 0.0
    elif target == "I_syn_ex":
        P_syn, P_vsyn = P_ex, P_vex
    else:
        P_syn, P_vsyn = P_in, P_vin
    ev = np.zeros(n_pre)
    ei = np.zeros(n_pre)
    eps_a = np.zeros((n_pre, n_post))
    filt = np.zeros((n_pre, n_post))
    grad = np.zeros((n_pre, n_post))
    out_spikes = []
    for t in range(T):
        # neuron update (engine order)
        held = np.zeros(n_post, bool)
        for j in range(n_post):
            if alif and ref[j] > 0:
                v[j] = V_reset   # input onto v while refractory is discarded (Brian2)
            if ref[j] > 0:
                ref[j] -= 1.0
            held[j] = ref[j] > 0
            if not held[j]:
                v[j] = E_L + (v[j] - E_L) * P_vv + i_ext[j] * P_vext \
                    + i_ex[j] * P_vex + i_in[j] * P_vin
            a[j] *= P_a
            i_ex[j] *= P_ex
            i_in[j] *= P_in
        fired = [j for j in range(n_post) if not held[j] and v[j] >= V_th + beta * a[j]]
        out_spikes += [(t, j) for j in fired]
        # delivery of the arrivals (weights before this step's change)
        arriving = np.flatnonzero(spikes[t - d]) if t >= d else np.zeros(0, int)
        tgt = {"v": v, "I_syn_ex": i_ex, "I_syn_in": i_in}[target]
        for i in arriving:
            for j in np.flatnonzero(mask[i]):
                tgt[j] += W[i, j]
        # the rule
        if target == "v":
            ev = ev * P_vv
        else:
            ev = ev * P_vv + ei * P_vsyn
            ei = ei * P_syn
        psi = np.zeros(n_post)
        for j in range(n_post):
            if ref[j] > 0:
                continue
            dist = v[j] - (V_th + beta * a[j]) if alif else v[j] - V_th
            psi[j] = (gamma / width) * max(0.0, 1.0 - abs(dist) / width)
        e = psi[None, :] * (ev[:, None] - beta * eps_a)
        eps_a = P_a * (psi[None, :] * ev[:, None] + (1.0 - beta * psi[None, :]) * eps_a)
        if kappa is not None:
            filt = kappa * filt + e
            e = filt
        Lt = L[t] if t < L.shape[0] else np.zeros(n_post)
        if update == "accumulate":
            grad += mask * (Lt[None, :] * e)
        else:
            # clipped where a change is applied (a non-zero signal and trace)
            changed = mask & (Lt[None, :] != 0) & (e != 0)
            W = np.where(changed, np.clip(W - eta * (Lt[None, :] * e), w_min, w_max), W)
            W = W.astype(case["dtype"]).astype(np.float64)
        if target == "v":
            ev[arriving] += 1.0
        else:
            ei[arriving] += 1.0
        # reset
        for j in fired:
            v[j] = V_reset
            if alif:
                a[j] += 1.0
            ref[j] = R
    return W, grad, out_spikes


def spikes_of(mon):
    return sorted(zip(np.round(mon.times / DT).astype(int).tolist(), mon.ids.tolist()))


def rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


def dense(syn, values):
    out = np.zeros(syn.shape)
    rows = np.repeat(np.arange(syn.n_pre), np.diff(syn.indptr))
    out[rows, syn.indices] = values
    return out


CASES = [("lif", "I_syn_ex"), ("lif", "I_syn_in"), ("alif", "v"), ("alif", "I_syn_ex")]


@pytest.mark.parametrize("kind,target", CASES)
@pytest.mark.parametrize("tau_out", [None, 8.0])
def test_step_updates_equal_the_reference(kind, target, tau_out):
    case = setup(kind, target, seed=len(target) + int(tau_out or 0))
    eta = {"v": 2.0, "I_syn_ex": 300.0, "I_syn_in": 30.0}[target]
    net, proj, mon = engine_run(case, EPropRule(case["L"], eta, tau_out=tau_out))
    W, _, ref_spikes = reference(case, eta, "step", tau_out=tau_out)
    assert len(ref_spikes) > 20
    assert spikes_of(mon) == ref_spikes
    got = dense(proj.synapses, proj.weights)
    moved = np.abs(W - np.where(case["mask"], case["W"], 0.0))
    assert moved.max() > 1e-3 * np.abs(case["W"]).max()
    assert rel(got, W) < 1e-12


@pytest.mark.parametrize("kind,target", CASES)
def test_accumulated_gradient_equals_the_reference(kind, target):
    case = setup(kind, target, seed=7, t_ref=0.0, delay=None)
    rule = EPropRule(case["L"], 0.5, update="accumulate", tau_out=5.0)
    net, proj, mon = engine_run(case, rule)
    W0 = proj.weights.copy()
    _, grad, ref_spikes = reference(case, 0.5, "accumulate", tau_out=5.0)
    assert spikes_of(mon) == ref_spikes
    np.testing.assert_array_equal(proj.weights, W0)   # fixed during the run
    assert rel(dense(proj.synapses, rule.gradient), grad) < 1e-12
    rule.apply()
    np.testing.assert_allclose(dense(proj.synapses, proj.weights),
                               np.where(case["mask"], case["W"], 0.0) - 0.5 * grad,
                               rtol=1e-12, atol=1e-12 * np.abs(case["W"]).max())
    assert np.all(rule.gradient == 0)


def test_delay_refractoriness_and_bounds():
    case = setup("alif", "I_syn_ex", seed=3, t_ref=2.0, delay=4)
    # initial weights outside the rule's bounds are refused at connect: start inside
    case["W"] = np.where(case["mask"], np.clip(case["W"], 40.0, 200.0), 0.0)
    rule = EPropRule(case["L"], 300.0, w_min=40.0, w_max=200.0, gamma=0.5, psi_width=8.0)
    net, proj, mon = engine_run(case, rule)
    W, _, ref_spikes = reference(case, 300.0, "step", gamma=0.5, width=8.0,
                                 w_min=40.0, w_max=200.0)
    assert spikes_of(mon) == ref_spikes
    got = dense(proj.synapses, proj.weights)
    assert rel(got, W) < 1e-12
    assert proj.weights.min() >= 40.0 and proj.weights.max() <= 200.0


def test_float32_weights():
    case = setup("lif", "I_syn_ex", seed=4, dtype=np.float32)
    net, proj, mon = engine_run(case, EPropRule(case["L"], 300.0))
    W, _, ref_spikes = reference(case, 300.0, "step")
    assert spikes_of(mon) == ref_spikes
    assert proj.weights.dtype == np.float32
    np.testing.assert_array_equal(dense(proj.synapses, proj.weights), W)


def test_callable_signal_equals_the_array():
    case = setup("alif", "I_syn_ex", seed=5, T=300)
    seen = []

    def signal(step, spikes):
        seen.append((step, spikes.copy()))
        return case["L"][step]

    net_a, proj_a, mon_a = engine_run(case, EPropRule(case["L"], 300.0, tau_out=6.0))
    net_b, proj_b, mon_b = engine_run(case, EPropRule(signal, 300.0, tau_out=6.0))
    assert [s for s, _ in seen] == list(range(case["T"]))
    got = sorted((s, int(j)) for s, ids in seen for j in ids)
    assert got == spikes_of(mon_b) == spikes_of(mon_a)
    np.testing.assert_array_equal(proj_b.weights, proj_a.weights)


def test_signal_beyond_its_rows_is_zero_and_state_is_restored():
    case = setup("alif", "v", seed=6, T=400)
    short = case["L"][:150]
    rule = EPropRule(short, 2.0)
    net, proj, mon = engine_run(case, rule, T=200)
    state = net.store()
    w_mid = proj.weights.copy()
    net.run(100 * DT)
    np.testing.assert_array_equal(proj.weights, w_mid)   # no signal after row 150
    net.run(100 * DT)
    after = proj.weights.copy()
    net.restore(state)
    net.run(200 * DT)
    np.testing.assert_array_equal(proj.weights, after)
    W, _, _ = reference(case, 2.0, "step", signal=short)
    assert rel(dense(proj.synapses, proj.weights), W) < 1e-12


def test_rate_learning_with_an_error_signal():
    """L = z - target rate: e-prop of the squared rate error lowers the rate."""
    rng = np.random.default_rng(0)
    n_pre, n_post, T = 40, 3, 5000
    net = Network(dt=DT, seed=2)
    inp = net.add_poisson("inp", n_pre, 40.0)
    out = net.add_population("out", n_post, LIF(tau_m=10.0, V_th=-55.0, t_ref=2.0))
    syn = SynapseMatrix.from_dense(rng.uniform(150, 250, (n_pre, n_post)),
                                   dtype=np.float64)
    target = 5e-3 * DT   # 5 Hz per step

    def signal(step, spikes):
        z = np.zeros(n_post)
        z[spikes] = 1.0
        return z - target

    proj = net.connect(inp, out, syn, "I_syn_ex", rule=EPropRule(signal, 2e4, tau_out=20.0))
    mon = net.monitor_spikes(out)
    net.run(T * DT)
    times = mon.times
    first, last = np.sum(times < T * DT / 4), np.sum(times >= 3 * T * DT / 4)
    assert first > 3 * max(last, 1)


def test_errors():
    L = np.zeros((10, 2))
    with pytest.raises(ValueError, match="learning_signal must be an array"):
        EPropRule(np.zeros(3))
    with pytest.raises(ValueError, match="learning_signal must be finite"):
        EPropRule(np.full((2, 2), np.nan))
    with pytest.raises(ValueError, match="eta must be >= 0"):
        EPropRule(L, -1.0)
    with pytest.raises(ValueError, match="update must be one of"):
        EPropRule(L, update="end")
    with pytest.raises(ValueError, match="tau_out must be > 0 ms"):
        EPropRule(L, tau_out=0.0)
    with pytest.raises(ValueError, match="w_min <= w_max"):
        EPropRule(L, w_min=1.0, w_max=0.0)
    with pytest.raises(TypeError, match="w_min and w_max must be real"):
        EPropRule(L, w_min="0")
    assert EPropRule(L, w_min=np.float32(0.0), w_max=np.inf).w_max == np.inf
    with pytest.raises(RuntimeError, match="not bound"):
        EPropRule(L).apply()

    def net_with(model, rule, n_post=2, target="I_syn_ex"):
        net = Network(dt=DT)
        inp = net.add_poisson("inp", 3, 10.0)
        out = net.add_population("out", n_post, model)
        net.connect(inp, out, SynapseMatrix.all_to_all(3, n_post, weight=1.0),
                    target, rule=rule)
        return net

    with pytest.raises(TypeError, match="LIF or ALIF"):
        net_with(Izhikevich(), EPropRule(L), target="I_syn").run(1.0)
    with pytest.raises(ValueError, match="n_post = 3 columns"):
        net_with(LIF(), EPropRule(L), n_post=3).run(1.0)
    with pytest.raises(ValueError, match="must return shape"):
        net_with(LIF(), EPropRule(lambda s, z: np.zeros(5))).run(1.0)
    with pytest.raises(ValueError, match="non-finite"):
        net_with(LIF(), EPropRule(lambda s, z: np.full(2, np.inf))).run(1.0)
