"""Entry point of ``python -m pflow_geo``."""

import sys

from .cli import main

sys.exit(main())
