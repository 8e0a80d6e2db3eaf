"""Deprecated: moved to :mod:`plasticity.tasks.arm` (task and data code lives in
``plasticity.tasks``). This module is that module, with a DeprecationWarning."""
import sys
import warnings

from ..tasks import arm as _moved

warnings.warn("plasticity.rsnn.arm moved to plasticity.tasks.arm; import it from there",
              DeprecationWarning, stacklevel=2)

sys.modules[__name__] = _moved
