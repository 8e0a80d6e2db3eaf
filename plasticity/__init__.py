"""plasticity: spike-timing-dependent plasticity on a compiled clock-driven engine.

Times in ms, potentials in mV, currents in pA (see docs/internals.md).
"""
__version__ = "0.1.0"

from .errors import SimulationError
from .network import Network
from .neurons import LIF
from .rules import (STDP, Additive, Kheradpisheh, Multiplicative, Pair, PowerLaw,
                    RewardModulated, Rule, Triplet)
from .synapses import SynapseMatrix

__all__ = ["Network", "SynapseMatrix", "SimulationError", "LIF", "Rule", "STDP",
           "RewardModulated", "Pair", "Triplet", "Additive", "Multiplicative",
           "PowerLaw", "Kheradpisheh"]
