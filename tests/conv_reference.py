"""Plain NumPy reference of the convolutional spiking layers (the twin of
plasticity.conv's compiled kernels), written from the paper's definitions (dense
cumulative spike waves (T, C, H, W), one convolution per time step). Slow; it exists
so the tests can check the compiled kernels against it (tests/test_conv.py,
tests/test_encoding.py).
"""
import numpy as np

from plasticity.encoding import spike_wave

__all__ = ["latency_code", "conv_potentials", "fire", "pointwise_inhibition",
           "winners", "stdp_update", "pool_first", "grid_max", "convergence"]


def latency_code(values, T, threshold=0.0):
    """One image (C, H, W): the inputs above threshold sorted by decreasing value
    (stable); packet t holds the ranks ceil(t n / T) .. ceil((t+1) n / T) - 1."""
    flat = np.asarray(values, float).ravel()
    order = [i for i in np.argsort(-flat, kind="stable") if flat[i] > threshold]
    times = np.full(flat.size, T, dtype=np.int16)
    n = len(order)
    if n:
        for t in range(T):
            lo, hi = (t * n + T - 1) // T, ((t + 1) * n + T - 1) // T  # ceil(i T / n) == t
            for i in order[lo:hi]:
                times[i] = t
    return times.reshape(np.shape(values))


def conv_potentials(times, weights, T, pad):
    """V (T, F, Ho, Wo) float64: V[t] = correlation of the cumulative wave S[t] with
    the kernels (F, C, kh, kw), over the input zero-padded by ``pad``."""
    S = spike_wave(times, T).astype(np.float64)          # (T, C, H, W)
    S = np.pad(S, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    F, C, kh, kw = weights.shape
    Ho, Wo = S.shape[2] - kh + 1, S.shape[3] - kw + 1
    V = np.zeros((T, F, Ho, Wo))
    for dy in range(kh):
        for dx in range(kw):
            patch = S[:, :, dy:dy + Ho, dx:dx + Wo]          # (T, C, Ho, Wo)
            V += np.einsum("tcyx,fc->tfyx", patch, weights[:, :, dy, dx])
    return V


def fire(V, threshold):
    """First-spike step per neuron (T if never) and the potential at that step
    (final potential if never)."""
    T = V.shape[0]
    above = V >= threshold
    fired = above.any(axis=0)
    t = np.where(fired, above.argmax(axis=0), T)
    v = np.where(fired, np.take_along_axis(V, np.minimum(t, T - 1)[None], 0)[0], V[-1])
    return t.astype(np.int16), v


def pointwise_inhibition(t, v, T):
    """At each location keep only the earliest spike across maps (ties: highest
    potential, then lowest map index)."""
    t = t.copy()
    F, H, W = t.shape
    for y in range(H):
        for x in range(W):
            cand = [f for f in range(F) if t[f, y, x] < T]
            if not cand:
                continue
            best = min(cand, key=lambda f: (t[f, y, x], -v[f, y, x], f))
            for f in cand:
                if f != best:
                    t[f, y, x] = T
    return t


def winners(t, v, T, k, r):
    """k winners (map, y, x, t): earliest first, ties to the highest potential then the
    lowest (f, y, x); a winner blocks its map and the (2r+1)^2 square in all maps."""
    F, H, W = t.shape
    blocked = np.zeros(t.shape, bool)
    out = []
    for _ in range(k):
        cand = [(int(t[f, y, x]), -float(v[f, y, x]), f, y, x)
                for f in range(F) for y in range(H) for x in range(W)
                if t[f, y, x] < T and not blocked[f, y, x]]
        if not cand:
            break
        tt, _, f, y, x = min(cand)
        out.append((f, y, x, tt))
        blocked[f] = True
        blocked[:, max(0, y - r):y + r + 1, max(0, x - r):x + r + 1] = True
    return np.array(out, dtype=np.int32).reshape(-1, 4)


def stdp_update(times_in, weights, win, pad, T, a_plus, a_minus):
    """dw = a+ w(1-w) where the input fired at or before the winner, else a- w(1-w)
    (a- < 0; inputs that never fired, including the padding, count as later);
    winners applied one after the other; weights clipped to [0, 1]."""
    w = np.array(weights, dtype=np.float64)
    F, C, kh, kw = w.shape
    tin = np.pad(np.asarray(times_in), ((0, 0), (pad, pad), (pad, pad)), constant_values=T)
    for f, y, x, tw in np.asarray(win).reshape(-1, 4):
        patch = tin[:, y:y + kh, x:x + kw]
        ww = w[f]
        w[f] = np.clip(ww + np.where(patch <= tw, a_plus, a_minus) * ww * (1 - ww), 0, 1)
    return w


def pool_first(times, size, stride, pad, T):
    """Earliest spike in each window (padding never fires)."""
    C, H, W = times.shape
    tp = np.pad(times, ((0, 0), (pad, pad), (pad, pad)), constant_values=32767)
    Ho, Wo = (H + 2 * pad - size) // stride + 1, (W + 2 * pad - size) // stride + 1
    out = np.empty((C, Ho, Wo), np.int16)
    for y in range(Ho):
        for x in range(Wo):
            out[:, y, x] = tp[:, y * stride:y * stride + size,
                              x * stride:x * stride + size].min(axis=(1, 2))
    return out


def grid_max(V, g):
    """One image's potentials V (F, H, W): the maximum of each map over each cell of a
    g x g grid (rows and columns split as ``np.array_split``), map-major, cells
    row-major -> (F g^2,)."""
    rows = np.array_split(np.arange(V.shape[1]), g)
    cols = np.array_split(np.arange(V.shape[2]), g)
    return np.array([V[f][np.ix_(r, c)].max() for f in range(V.shape[0])
                     for r in rows for c in cols])


def convergence(weights):
    """C_l = sum w (1 - w) / n_w."""
    w = np.asarray(weights, float)
    return float(np.mean(w * (1 - w)))
