"""`python -m spec`: see `spec.cli`."""

import sys

from .cli import main

sys.exit(main())
