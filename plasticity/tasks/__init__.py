"""Task and data code of the experiments (kept out of the model packages).

- :mod:`.eprop`: the e-prop tasks (Bellec et al. 2020): the sum-of-sines target of
  pattern generation, frozen Poisson inputs, evidence accumulation trials.
- :mod:`.arm`: the planar two-joint arm, random target movements and the clock input
  of the one-shot arm task (Scherr, Stoeckl & Maass 2020).
- :mod:`.omniglot`: N-way 1-shot Omniglot episodes, their encodings and baselines
  (docs/omniglot.md).

They used to live in the RSNN package as ``plasticity.rsnn.tasks``,
``plasticity.rsnn.arm`` and ``plasticity.rsnn.omniglot``; those paths (and the names
``plasticity.rsnn.Arm``, ``frozen_poisson``, ...) still work, with a DeprecationWarning.
"""
import importlib

from . import arm, eprop
from .arm import Arm, clock_input, random_movements
from .eprop import evidence_accumulation_batch, frozen_poisson, sum_of_sines_target

__all__ = ["arm", "eprop", "omniglot", "Arm", "clock_input", "random_movements",
           "evidence_accumulation_batch", "frozen_poisson", "sum_of_sines_target"]


def __getattr__(name):
    # omniglot on first use, not with the package: `python -m plasticity.tasks.omniglot`
    # (its baselines, docs/omniglot.md) would otherwise find the module imported
    # already and warn (runpy's RuntimeWarning)
    if name == "omniglot":
        return importlib.import_module(".omniglot", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
