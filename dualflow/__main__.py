"""``python -m dualflow``: the same as the ``dualflow`` console script."""
import sys

from dualflow.cli import main

sys.exit(main())
