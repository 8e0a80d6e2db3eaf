"""plasticity: spike-timing-dependent plasticity on a compiled clock-driven engine.

Times in ms, potentials in mV, currents in pA (see docs/internals.md).
"""
__version__ = "0.1.0"

from .errors import SimulationError
from .network import Network
from .neurons import LIF
from .rules import (STDP, Additive, EquationRule, Kheradpisheh, Multiplicative, Pair,
                    PowerLaw, RewardModulated, Rule, RuleSyntaxError, Triplet)
from .synapses import SynapseMatrix


def get_include():
    """Directory to put on Cython's include path to ``cimport plasticity._ext.rules``
    (for rules written in Cython; see docs/writing-rules.md)."""
    import os
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

__all__ = ["Network", "SynapseMatrix", "SimulationError", "LIF", "Rule", "STDP",
           "RewardModulated", "Pair", "Triplet", "Additive", "Multiplicative",
           "PowerLaw", "Kheradpisheh", "EquationRule", "RuleSyntaxError"]


def __getattr__(name):
    # plasticity.load(path) -> Run, without importing h5py at package import
    if name == "load":
        from .results import load
        return load
    if name == "load_sweep":  # a sweep as one table (plasticity.analysis.sweep_table)
        from .analysis import sweep_table
        return sweep_table
    raise AttributeError(f"module 'plasticity' has no attribute {name!r}")
