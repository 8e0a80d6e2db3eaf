"""Plasticity rules: the ``Rule`` interface and the built-in compiled rules."""
from .base import CythonRule, Rule
from .eprop import EPropRule
from .equations import EquationRule
from .language import RuleSyntaxError
from .library import clopath_2010, tsodyks_markram_1997, vogels_sprekeler_2011
from .stdp import (STDP, Additive, Kheradpisheh, Multiplicative, Pair, PowerLaw,
                   RewardModulated, Triplet)

__all__ = ["Rule", "CythonRule", "STDP", "RewardModulated", "Pair", "Triplet", "Additive",
           "Multiplicative", "PowerLaw", "Kheradpisheh", "EPropRule", "EquationRule",
           "RuleSyntaxError", "vogels_sprekeler_2011", "tsodyks_markram_1997", "clopath_2010"]
