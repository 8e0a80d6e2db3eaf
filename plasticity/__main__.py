"""``python -m plasticity``: the ``plasticity`` command."""
import sys

from .cli import main

sys.exit(main())
