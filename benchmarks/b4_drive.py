"""B4's external drive alone: its E and I LIF populations (``b4_cortical.model``) with
only the drive, no recurrent synapses, 1 s of biology on one thread, in-process.

Three drives, run alternately, CPU seconds of ``Network.run`` (medians of
``--repeats``): ``input`` (``Network.add_poisson_input``, N = 2 sources of 1 kHz per
neuron, what B4 uses), ``sources`` (2 Poisson source neurons of 1 kHz per neuron
through a one-synapse-each projection with the 1.5 ms delay, B4's former drive) and
``none`` (the same input at rate 0: the neuron updates alone). The load average is
printed with the figures.

    python benchmarks/b4_drive.py [--scale 0.1] [--repeats 3]
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import b4_cortical as b4  # noqa: E402


def run_drive(scale, drive):
    """(CPU s of 1 s of biology, mean rate Hz, neurons) with one ``drive``."""
    from plasticity.network import Network
    from plasticity.neurons import LIF
    from plasticity.synapses import SynapseMatrix
    c = b4.model(scale)
    net = Network(dt=c["dt"], seed=c["seed"], threads=1)
    lif = LIF(tau_m=c["tau_m"], C_m=c["C_m"], E_L=c["E_L"], V_th=c["V_th"],
              V_reset=c["V_reset"], t_ref=c["t_ref"], tau_syn_ex=c["tau_syn"],
              tau_syn_in=c["tau_syn"])
    d = int(round(c["delay"] / c["dt"]))
    mons, n_all = [], 0
    for name, n in (("E", c["N_E"]), ("I", c["N_I"])):
        P = net.add_population(name, n, lif, init={"v": -65.0, "I_ext": c["I_e"]})
        if drive == "sources":
            m = n * c["n_ext"]
            X = net.add_poisson("X" + name, m, rates=c["rate_ext"])
            syn = SynapseMatrix(np.arange(m + 1), np.arange(m) // c["n_ext"],
                                np.full(m, c["J_ext"], dtype=np.float32), shape=(m, n),
                                delay=d)
            net.connect(X, P, syn, target="I_syn_ex")
        else:
            net.add_poisson_input(P, "I_syn_ex", c["n_ext"],
                                  c["rate_ext"] if drive == "input" else 0.0, c["J_ext"],
                                  name="X" + name)
        mons.append(net.monitor_spikes(P))
        n_all += n
    t0 = time.process_time()
    net.run(1000.0, progress=False)
    cpu = time.process_time() - t0
    return cpu, sum(len(m.times) for m in mons) / n_all, n_all


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"# uptime: {os.popen('uptime').read().strip()}")
    cpu, rate = {}, {}
    for _ in range(args.repeats):
        for drive in ("input", "sources", "none"):
            t, rate[drive], n = run_drive(args.scale, drive)
            cpu.setdefault(drive, []).append(t)
    med = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"scale {args.scale:g}: {n} neurons, drive only, 1 s, 1 thread")
    for k, v in cpu.items():
        print(f"{k:8s} CPU s {med[k]:.3f} (runs {', '.join(f'{x:.3f}' for x in v)}), "
              f"rate {rate[k]:.2f} Hz")
    per = (med["input"] - med["none"]) / (n * 10000) * 1e9
    print(f"input draws: {med['input'] - med['none']:.3f} s = {per:.2f} ns per neuron "
          f"and step; sources: {med['sources'] - med['none']:.3f} s; sources / input "
          f"{med['sources'] / med['input']:.2f}x")
    print(f"# uptime: {os.popen('uptime').read().strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
