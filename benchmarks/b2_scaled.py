"""B2: the Song 2000 model scaled up, ours vs Brian2 cpp_standalone.

10,000 Poisson inputs at 10 Hz -> 1,000 conductance LIF neurons (B1's parameters),
connection probability 0.1 (about 1M synapses), gmax 0.015, initial weights
U[0, gmax), additive all-to-all pair STDP on every synapse, 5 s at dt 0.1 ms. Outputs
fire at about 40 Hz. Prints CPU seconds of the simulation phase per simulated second
(median of 3 fresh processes per side), build/compile seconds, peak RSS and the ratio.
Our weights are float32 (the library's default, 16 B/synapse); Brian2's are float64.

    python benchmarks/b2_scaled.py [--quick] [--repeats N] [--ours-only] [--json FILE]
"""
import os
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks import b1_song  # noqa: E402

NAME = "B2 scaled Song: 10k Poisson @10 Hz -> 1k LIF, p 0.1 (~1M STDP synapses)"

CONFIG = dict(b1_song.CONFIG, n_in=10_000, n_out=1_000, rate=10.0, p=0.1, gmax=0.015,
              duration=5_000.0, dtype="float32")
QUICK = dict(duration=300.0)


def ours_run(c):
    return b1_song.ours_run(c)


def main(argv=None):
    return b1_song.main(argv, name=NAME, config=CONFIG, quick=QUICK,
                        unit="s per simulated s", per_simulated_second=True,
                        script=os.path.abspath(__file__))


if __name__ == "__main__":
    sys.exit(main())
