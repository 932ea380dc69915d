import os

import pytest

# Tests always start on the CPU unless a test asks for a GPU itself.
os.environ.setdefault("DUALFLOW_DEVICE", "cpu")

# MNIST tests read $DUALFLOW_DATA (tests.helpers keeps it); every other test runs on the bundled data.
from tests import helpers  # noqa: E402,F401
os.environ.pop("DUALFLOW_DATA", None)



def gpu_reason():
    from backends import cuda_status
    return cuda_status.unavailable_reason(0)


@pytest.fixture
def gpu():
    reason = gpu_reason()
    if reason:
        pytest.skip(f"no usable GPU: {reason}")
    from core import device
    with device.use("cuda") as dev:
        yield dev
