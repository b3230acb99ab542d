"""`python -m spec`: see `spec.cli`."""

import os
import sys

from .cli import main

try:
    sys.exit(main())
except BrokenPipeError:
    # The reader (e.g. `| head`) went away: stop quietly, as command-line tools do.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(1)
