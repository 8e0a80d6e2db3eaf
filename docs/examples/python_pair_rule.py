"""Pair-based all-to-all STDP written in Python against the ``Rule`` interface.

Runs through the engine's per-step path (slower than a compiled rule, same results).
"""
import math

import numpy as np

from plasticity.rules import Rule


class PythonPairSTDP(Rule):
    """w += a_plus x_pre at a post spike, w -= a_minus y_post at a pre spike,
    clipped to [w_min, w_max]; traces decay with tau_plus / tau_minus."""

    def __init__(self, tau_plus=20.0, tau_minus=20.0, a_plus=0.01, a_minus=0.0105,
                 w_min=0.0, w_max=1.0):
        self.tau_plus, self.tau_minus = tau_plus, tau_minus
        self.a_plus, self.a_minus = a_plus, a_minus
        self.w_min, self.w_max = w_min, w_max

    def bind(self, projection, dt):
        super().bind(projection, dt)
        syn = self.synapses
        if not hasattr(self, "x"):
            self.x = np.zeros(syn.n_pre)    # pre trace, per presynaptic neuron
            self.y = np.zeros(syn.n_post)   # post trace, per postsynaptic neuron
        self.pre_of = syn.pre_ids()         # presynaptic neuron of each synapse
        self.decay_x = math.exp(-dt / self.tau_plus)
        self.decay_y = math.exp(-dt / self.tau_minus)

    def on_pre(self, step, syn):
        w = self.synapses.weights
        post = self.synapses.indices[syn]
        w[syn] = np.clip(w[syn] - self.a_minus * self.y[post], self.w_min, self.w_max)
        self.x[np.unique(self.pre_of[syn])] += 1.0

    def on_post(self, step, post):
        s = self.synapses
        w = s.weights
        for j in post:
            k = s.post_syn[s.post_ptr[j]:s.post_ptr[j + 1]]
            pre = s.post_pre[s.post_ptr[j]:s.post_ptr[j + 1]]
            w[k] = np.clip(w[k] + self.a_plus * self.x[pre], self.w_min, self.w_max)
        self.y[post] += 1.0

    def on_step(self, step):
        self.x *= self.decay_x
        self.y *= self.decay_y

    def get_state(self):
        return {"x": self.x, "y": self.y}
