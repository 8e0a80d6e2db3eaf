"""Helpers shared by the tests that hold runs to each other bit for bit (threads,
SIMD loops, Poisson input, cut runs): a snapshot of everything a run leaves behind and
a byte-wise comparison of two snapshots."""
import numpy as np


def snapshot(net, monitors):
    """{name: copy} of the step, every population's state, every projection's weights
    and rule state, and the spikes of ``monitors`` (SpikeMonitors, in order)."""
    out = {"step": net.step}
    for name, pop in net.populations.items():
        if pop.state is not None:
            out[f"state/{name}"] = pop.state.copy()
    for name, proj in net.projections.items():
        out[f"w/{name}"] = proj.synapses.weights.copy()
        if proj.rule is not None and hasattr(proj.rule, "get_state"):
            for k, v in proj.rule.get_state().items():
                out[f"rule/{name}/{k}"] = np.array(v, copy=True)
    for k, m in enumerate(monitors):
        out[f"spikes/{k}/t"] = m.times.copy()
        out[f"spikes/{k}/i"] = m.ids.copy()
    return out


def differences(ref, got):
    """The keys of two snapshots whose values differ (bit for bit, NaN-safe: the
    bytes are compared), with a note each; the keys present in one only first."""
    out = [f"{k}: only in one snapshot" for k in sorted(set(ref) ^ set(got))]
    for k in ref:
        if k not in got:
            continue
        a, b = np.asarray(ref[k]), np.asarray(got[k])
        if a.shape != b.shape:
            out.append(f"{k}: shape {a.shape} vs {b.shape}")
        elif a.dtype != b.dtype:
            out.append(f"{k}: dtype {a.dtype} vs {b.dtype}")
        elif a.tobytes() != b.tobytes():
            out.append(f"{k}: {int(np.sum(a != b))} of {a.size} values differ")
    return out


def assert_identical(ref, got, what):
    """Assert that two snapshots are identical, bit for bit."""
    diff = differences(ref, got)
    assert not diff, f"{what}: " + "; ".join(diff)
