"""Entry point: ``python -m emulators.quickbooks --port 8089``."""

import sys

from .cli import main

sys.exit(main())
