"""Nothing a user does from Python to the arrays the engine points into can crash the
process (issue 16): each case runs in a subprocess, so a segmentation fault is a test
failure, not a dead pytest. Every case must end in a clear Python exception naming
the array."""
import subprocess
import sys
import textwrap

import pytest

SETUP = textwrap.dedent("""
    import numpy as np
    from plasticity import Network, SynapseMatrix, STDP, Pair, Additive
    from plasticity.neurons import LIF
    net = Network(dt=0.1, seed=0)
    a = net.add_poisson("a", 20, rates=200.0)
    b = net.add_population("b", 10, LIF())
    syn = SynapseMatrix.all_to_all(20, 10, weight=50.0,
                                   delay=np.arange(200) % 3 if DELAYS else None)
    p = net.connect(a, b, syn, "I_syn_ex", rule=STDP(Pair(), Additive(0.0, 100.0)))
    net.run(1.0)
    s = p.synapses
""")

STRUCTURE = ["indptr", "indices", "post_ptr", "post_syn", "post_pre", "delays"]

CASES = []
for name in STRUCTURE:
    CASES += [
        (f"write-{name}", f"s.{name}[:] = 10**6; net.run(1.0)", "read-only"),
        (f"unfreeze-{name}", f"s.{name}.flags.writeable = True; s.{name}[:] = 10**6; "
         f"net.run(1.0)", f"synapses.{name} was made writeable"),
        (f"unfreeze-corrupt-last-{name}", f"s.{name}.flags.writeable = True; "
         f"s.{name}[-1] = -5; net.run(1.0)", f"synapses.{name} was made writeable"),
        (f"replace-{name}", f"s.{name} = np.zeros(3, s.{name}.dtype); net.run(1.0)",
         f"SynapseMatrix.{name} is read-only"),
        (f"private-replace-{name}", f"s._{name} = np.zeros(3, s.{name}.dtype); "
         f"net.run(1.0)", f"synapses.{name} must be a C-contiguous"),
    ]
CASES += [
    ("weights-nan", "s.weights[3] = np.nan; net.run(1.0)",
     r"synapses.weights must be finite, got weights\[3\]=nan"),
    ("weights-inf", "s.weights[:] = np.inf; net.run(1.0)", "weights must be finite"),
    ("weights-replace-dtype", "s.weights = s.weights.astype(np.float64); net.run(1.0)",
     "weights must be a float32 array"),
    ("weights-replace-short", "s.weights = s.weights[:5].copy(); net.run(1.0)",
     "weights must be a float32 array"),
    ("weights-private-short", "s._weights = s.weights[:5].copy(); net.run(1.0)",
     "synapses.weights must be a writeable C-contiguous float32"),
    ("weights-private-strided", "s._weights = np.repeat(s.weights, 2)[::2]; net.run(1.0)",
     "synapses.weights must be a writeable C-contiguous float32"),
    ("weights-private-readonly", "w = s.weights.copy(); w.flags.writeable = False; "
     "s._weights = w; net.run(1.0)", "writeable"),
    ("state-replace-shape", "b.state = np.zeros((2, 3)); net.run(1.0)",
     r"population 'b': state must be"),
    ("state-replace-dtype", "b.state = b.state.astype(np.float32); net.run(1.0)",
     r"population 'b': state must be"),
    ("state-nan", "b.state[0, 4] = np.nan; net.run(1.0)",
     r"population 'b': v\[4\] must be finite"),
    ("spikes-buf-replace", "b.spikes_buf = np.zeros(1, np.int32); net.run(1.0)",
     r"population 'b': spikes_buf must be"),
    ("synapses-replace", "p.synapses = SynapseMatrix.all_to_all(3, 3); net.run(1.0)",
     r"projection 'a_b': synapses has shape"),
]


@pytest.mark.parametrize("delays", [False, True])
@pytest.mark.parametrize("case,stmt,message", CASES, ids=[c[0] for c in CASES])
def test_user_changes_to_engine_arrays_give_a_clear_error(case, stmt, message, delays):
    if "delays" in case and not delays:
        pytest.skip("no per-synapse delays without delays")
    code = (f"DELAYS = {delays}\n" + SETUP + textwrap.dedent(f"""
        import re
        try:
            {stmt}
        except (ValueError, TypeError, AttributeError) as e:
            assert re.search({message!r}, str(e)), str(e)
            print("CLEAR", type(e).__name__, e)
        else:
            print("NO ERROR")
    """))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, f"crashed or failed (rc {r.returncode}): {r.stderr[-2000:]}"
    assert "CLEAR" in r.stdout, r.stdout + r.stderr[-2000:]
