"""Input and target generators of the e-prop tasks (Bellec et al. 2020): the pattern
generation target, frozen Poisson inputs, evidence accumulation trials."""
import numpy as np

from .._validation import check_int, check_nonnegative, check_positive, check_probability

__all__ = ["sum_of_sines_target", "frozen_poisson", "evidence_accumulation_batch"]


def sum_of_sines_target(T, periods=(1000, 500, 333, 200), rng=None, weights=None,
                        phases=None):
    """A weighted sum of sines over ``T`` steps (1 ms): weights U(0.5, 2), phases
    U(0, 2 pi); shifted to start at 0 and scaled to a maximum |value| of 1 (as the
    reference implementation; each sine spans an integer number of periods)."""
    T = check_int("T", T, 1)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n = len(periods)
    if weights is None:
        weights = rng.uniform(0.5, 2.0, n)
    if phases is None:
        phases = rng.uniform(0.0, 2 * np.pi, n)
    out = np.zeros(T)
    for per, w, ph in zip(periods, weights, phases):
        per = check_positive("period", per, "ms")
        out += w * np.sin(np.linspace(ph, 2 * np.pi * (T // per) + ph, T))
    out -= out[0]
    return out / max(np.abs(out).max(), 1e-6)


def frozen_poisson(T, n, rate_hz, batch=1, dt=1.0, rng=None):
    """Bernoulli spike trains (T, batch, n) of rate ``rate_hz`` per channel."""
    check_nonnegative("rate_hz", rate_hz, "Hz")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    prob = rate_hz * dt / 1000.0
    check_probability("rate_hz * dt", prob)
    return (rng.random((T, batch, n)) < prob).astype(np.float64)


def evidence_accumulation_batch(batch, rng, *, n_in=40, n_cues=7, t_cue=100,
                                t_interval=150, t_delay=1200, recall=150,
                                rate_hz=40.0, p_group=0.3):
    """A batch of the evidence-accumulation ("left/right cue counting") task.

    Four input populations of ``n_in // 4`` channels: left cues, right cues, recall
    cue, background noise (rate / 4 throughout). Each trial draws p in {p_group,
    1 - p_group}; each of the ``n_cues`` cues is left with probability p and lasts
    ``t_cue`` ms, one every ``t_interval`` ms (after a silence of t_interval - t_cue);
    the recall cue fills the last ``recall`` ms of T = n_cues t_interval + t_delay.
    The label is 1 when the majority of cues were right.

    Returns x (T, batch, n_in) spikes, labels (batch,), and the decision mask (T,)
    (the last ``recall`` steps).
    """
    batch = check_int("batch", batch, 1)
    n_in = check_int("n_in", n_in, 4)
    n_cues = check_int("n_cues", n_cues, 1)
    T = n_cues * t_interval + t_delay
    ch = n_in // 4
    f = rate_hz / 1000.0
    p = np.where(rng.random(batch) < 0.5, p_group, 1 - p_group)
    right = (rng.random((batch, n_cues)) >= p[:, None]).astype(np.int64)
    prob = np.zeros((T, batch, n_in))
    silence = t_interval - t_cue
    for k in range(n_cues):
        t0 = silence + k * t_interval
        for b in range(batch):
            c = right[b, k]
            prob[t0:t0 + t_cue, b, c * ch:(c + 1) * ch] = f
    prob[T - recall:, :, 2 * ch:3 * ch] = f
    prob[:, :, 3 * ch:] = f / 4
    x = (rng.random(prob.shape) < prob).astype(np.float64)
    labels = (right.sum(axis=1) > n_cues // 2).astype(np.int64)
    mask = np.zeros(T, dtype=bool)
    mask[T - recall:] = True
    return x, labels, mask
