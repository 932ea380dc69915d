"""dualflow's off switches: environment variables that default to on (``DUALFLOW_OPTIMIZE``,
``DUALFLOW_FLAT_UPDATES``, ``DUALFLOW_ONEDNN``, ``DUALFLOW_NUMBA``), read where they act (in the lowest layer,
so that the backends, core and both frontends share it)."""
from __future__ import annotations

import os


def switched_off(variable: str) -> bool:
    """Whether environment ``variable`` (a dualflow switch that defaults to on) says off: 0, false or off."""
    return os.environ.get(variable, "1").strip().lower() in ("0", "false", "off")
