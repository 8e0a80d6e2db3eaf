"""Deprecated: moved to :mod:`plasticity.tasks.omniglot` (task and data code lives in
``plasticity.tasks``). This module is that module, with a DeprecationWarning."""
import sys
import warnings

from ..tasks import omniglot as _moved

warnings.warn("plasticity.rsnn.omniglot moved to plasticity.tasks.omniglot; import it "
              "from there", DeprecationWarning, stacklevel=2)

if __name__ == "__main__":   # pragma: no cover
    sys.exit(_moved.main())
sys.modules[__name__] = _moved
