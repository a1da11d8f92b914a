"""``python -m mlpfast``: see mlpfast.cli."""
import sys

from .cli import main

sys.exit(main())
