"""Optimisers for RSNN weights (in place, on dicts of arrays)."""
import numpy as np

from .._validation import check_nonnegative, check_range

__all__ = ["SGD", "Adam"]


class SGD:
    """w <- w - lr * scale[name] * g."""

    def __init__(self, lr, lr_scale=None):
        self.lr = check_nonnegative("lr", lr)
        self.lr_scale = dict(lr_scale or {})

    def step(self, params, grads):
        for k, g in grads.items():
            if k in params:
                params[k] -= self.lr * self.lr_scale.get(k, 1.0) * g

    def state(self):
        return {}

    def load_state(self, state):
        pass


class Adam:
    """Adam (Kingma & Ba 2015) with the TensorFlow-1 defaults (eps 1e-8), and an
    optional per-parameter learning-rate factor ``lr_scale`` (e.g. when a weight is
    a rescaling of the reference implementation's weight)."""

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, lr_scale=None):
        self.lr = check_nonnegative("lr", lr)
        self.beta1 = check_range("beta1", beta1, 0.0, 1.0)
        self.beta2 = check_range("beta2", beta2, 0.0, 1.0)
        self.eps = check_nonnegative("eps", eps)
        self.lr_scale = dict(lr_scale or {})
        self.t = 0
        self.m = {}
        self.v = {}

    def step(self, params, grads):
        self.t += 1
        c1 = 1 - self.beta1 ** self.t
        c2 = 1 - self.beta2 ** self.t
        for k, g in grads.items():
            if k not in params:
                continue
            m = self.m.setdefault(k, np.zeros_like(g))
            v = self.v.setdefault(k, np.zeros_like(g))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            lr = self.lr * self.lr_scale.get(k, 1.0) * np.sqrt(c2) / c1
            params[k] -= lr * m / (np.sqrt(v) + self.eps)

    def state(self):
        out = {"t": np.int64(self.t)}
        for k in self.m:
            out[f"m_{k}"] = self.m[k]
            out[f"v_{k}"] = self.v[k]
        return out

    def load_state(self, state):
        self.t = int(state["t"])
        for key, val in state.items():
            if key.startswith("m_"):
                self.m[key[2:]] = np.array(val, dtype=np.float64)
            elif key.startswith("v_"):
                self.v[key[2:]] = np.array(val, dtype=np.float64)
