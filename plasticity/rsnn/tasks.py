"""Deprecated: moved to :mod:`plasticity.tasks.eprop` (task and data code lives in
``plasticity.tasks``). This module is that module, with a DeprecationWarning."""
import sys
import warnings

from ..tasks import eprop as _moved

warnings.warn("plasticity.rsnn.tasks moved to plasticity.tasks.eprop; import it from there",
              DeprecationWarning, stacklevel=2)

sys.modules[__name__] = _moved
