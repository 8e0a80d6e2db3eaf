"""Plain Python twins of the built-in rules, written against the ``Rule`` interface.

They keep a pre trace per synapse and a post trace per neuron, decayed eagerly once
per step (the compiled kernels decay lazily, per neuron, on read), and write the
weight dependences out again, so they share no code with the compiled rules beyond
the interface. Tests hold the compiled rules to these numbers.
"""
import math

import numpy as np

from plasticity.rules import Rule


def f_weight(kind, w, w_min, w_max, mu_plus=0.0, mu_minus=0.0):
    """(f_plus, f_minus) of the weight dependences, written out independently."""
    u = np.clip((w - w_min) / (w_max - w_min), 0.0, 1.0)
    if kind == "additive":
        return np.ones_like(w), np.ones_like(w)
    if kind == "multiplicative":
        return 1.0 - u, u
    if kind == "power":
        return (1.0 - u) ** mu_plus, u ** mu_minus
    if kind == "ww":
        return u * (1.0 - u), u * (1.0 - u)
    raise ValueError(kind)


class STDPTwin(Rule):
    """Pair and triplet STDP.

    timing: 'pair-all', 'pair-nearest-sym', 'pair-nearest-pre', 'triplet-all',
    'triplet-nearest'. Parameters as the compiled rule (amplitudes are magnitudes).
    """

    def __init__(self, timing, wdep, tau_plus, tau_minus, a_plus, a_minus, w_min, w_max,
                 tau_x=1.0, tau_y=1.0, a3_plus=0.0, a3_minus=0.0, mu_plus=0.0,
                 mu_minus=0.0, eligibility=None):
        self.timing, self.wdep = timing, wdep
        self.tau_plus, self.tau_minus = tau_plus, tau_minus
        self.tau_x, self.tau_y = tau_x, tau_y
        self.a_plus, self.a_minus, self.a3_plus, self.a3_minus = a_plus, a_minus, a3_plus, a3_minus
        self.w_min, self.w_max = w_min, w_max
        self.mu_plus, self.mu_minus = mu_plus, mu_minus
        self.triplet = timing.startswith("triplet")
        self.pre_set = timing in ("pair-nearest-sym", "triplet-nearest")
        self.post_set = self.pre_set or timing == "pair-nearest-pre"
        self.pre_reset = timing == "pair-nearest-pre"
        self.eligibility = eligibility  # None, or an array the changes go into

    def bind(self, projection, dt):
        first = not hasattr(self, "r1")
        super().bind(projection, dt)
        if not first:
            return
        syn = projection.synapses
        self.r1 = np.zeros(syn.nnz)
        self.r2 = np.zeros(syn.nnz)
        self.o1 = np.zeros(syn.n_post)
        self.o2 = np.zeros(syn.n_post)
        self.post_of = syn.indices.astype(np.int64)
        self.syn_of_post = [np.flatnonzero(self.post_of == j) for j in range(syn.n_post)]

    def _f(self, w):
        return f_weight(self.wdep, w, self.w_min, self.w_max, self.mu_plus, self.mu_minus)

    def _apply(self, s, dw):
        if self.eligibility is not None:
            self.eligibility[s] += dw
            return
        w = self.synapses.weights
        w[s] = np.clip(w[s].astype(np.float64) + dw, self.w_min, self.w_max)

    def on_pre(self, step, syn):
        w = self.synapses.weights
        for s in syn:
            j = self.post_of[s]
            fp, fm = self._f(np.float64(w[s]))
            dw = -fm * self.o1[j] * (self.a_minus + self.a3_minus * self.r2[s])
            if self.o1[j] != 0.0:
                self._apply(s, dw)
            if self.pre_set:
                self.r1[s] = 1.0
                self.r2[s] = 1.0
            else:
                self.r1[s] += 1.0
                self.r2[s] += 1.0

    def on_post(self, step, post):
        w = self.synapses.weights
        for j in post:
            for s in self.syn_of_post[j]:
                if self.r1[s] != 0.0:
                    fp, fm = self._f(np.float64(w[s]))
                    self._apply(s, fp * self.r1[s] * (self.a_plus + self.a3_plus * self.o2[j]))
                    if self.pre_reset:
                        self.r1[s] = 0.0
            if self.post_set:
                self.o1[j] = 1.0
                self.o2[j] = 1.0
            else:
                self.o1[j] += 1.0
                self.o2[j] += 1.0

    def on_step(self, step):
        dt = self.dt
        self.r1 *= math.exp(-dt / self.tau_plus)
        self.o1 *= math.exp(-dt / self.tau_minus)
        self.r2 *= math.exp(-dt / self.tau_x)
        self.o2 *= math.exp(-dt / self.tau_y)

    def get_state(self):
        return dict(r1=self.r1, r2=self.r2, o1=self.o1, o2=self.o2)


class RewardModulatedTwin(STDPTwin):
    """Izhikevich 2007 / Florian 2007: STDP into eligibility c, dw = c d dt."""

    def __init__(self, *args, tau_c, tau_d, reward_times=(), reward_amounts=(), **kw):
        super().__init__(*args, **kw)
        self.tau_c, self.tau_d = tau_c, tau_d
        self.reward_times = np.asarray(reward_times, float)
        self.reward_amounts = np.asarray(reward_amounts, float)

    def bind(self, projection, dt):
        first = not hasattr(self, "r1")
        super().bind(projection, dt)
        if not first:
            return
        self.eligibility = np.zeros(projection.synapses.nnz)
        self.d = 0.0
        self.reward_steps = np.round(self.reward_times / dt).astype(int)

    def _continuous(self, step):
        dt = self.dt
        self.d += self.reward_amounts[self.reward_steps == step].sum()
        lam = 1.0 / self.tau_c + 1.0 / self.tau_d
        gain = (1.0 - math.exp(-dt * lam)) / lam
        w = self.synapses.weights
        nz = self.eligibility != 0.0
        if self.d != 0.0:
            w[nz] = np.clip(w[nz] + self.eligibility[nz] * self.d * gain,
                            self.w_min, self.w_max)
        self.eligibility *= math.exp(-dt / self.tau_c)
        self.d *= math.exp(-dt / self.tau_d)

    def on_step(self, step):
        super().on_step(step)
        self._continuous(step)
