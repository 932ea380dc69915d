"""``tf.app``: ``tf.app.run()`` parses the flags and calls ``main(argv)``, then exits with its result."""
from __future__ import annotations

import sys
from typing import Any, Callable, NoReturn, Sequence

from static_api import flags      # also tf.app.flags


def run(main: Callable[[list], Any] | None = None, argv: Sequence[str] | None = None) -> NoReturn:
    """As TF1: unknown flags are tolerated and passed on to ``main`` with the positional arguments;
    ``main`` defaults to the ``main`` of the ``__main__`` module; its return value is the exit status."""
    main = main or sys.modules["__main__"].main
    rest = flags.FLAGS(sys.argv if argv is None else argv, known_only=True)
    sys.exit(main(rest))
