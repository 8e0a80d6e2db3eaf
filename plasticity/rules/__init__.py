"""Plasticity rules: the ``Rule`` interface and the built-in compiled rules."""
from .base import CythonRule, Rule
from .eprop import EPropRule
from .stdp import (STDP, Additive, Kheradpisheh, Multiplicative, Pair, PowerLaw,
                   RewardModulated, Triplet)

__all__ = ["Rule", "CythonRule", "STDP", "RewardModulated", "Pair", "Triplet", "Additive",
           "Multiplicative", "PowerLaw", "Kheradpisheh", "EPropRule"]
