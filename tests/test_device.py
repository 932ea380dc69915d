"""DUALFLOW_DEVICE parsing and the no-silent-fallback rule."""
import subprocess
import sys

import pytest

from backends import cuda_status
from core import device

NO_GPU = cuda_status.unavailable_reason(0)


def _default_with(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("DUALFLOW_DEVICE", raising=False)
    else:
        monkeypatch.setenv("DUALFLOW_DEVICE", value)
    return device.default()


def test_cpu(monkeypatch):
    assert str(_default_with(monkeypatch, "cpu")) == "cpu"
    assert str(_default_with(monkeypatch, " CPU ")) == "cpu"


@pytest.mark.parametrize("value", [None, "auto", ""])
def test_auto_picks_gpu_only_when_usable(monkeypatch, value):
    expected = "cpu" if NO_GPU else "cuda:0"
    assert str(_default_with(monkeypatch, value)) == expected


@pytest.mark.parametrize("value", ["cuda", "gpu", "cuda:0", "cuda:7"])
def test_cuda_without_gpu_explains(monkeypatch, value):
    if not NO_GPU and value != "cuda:7":
        pytest.skip("this machine has a usable GPU")
    with pytest.raises(RuntimeError, match="not usable") as info:
        _default_with(monkeypatch, value)
    assert "DUALFLOW_DEVICE" in str(info.value) and value in str(info.value)


@pytest.mark.parametrize("value", ["tpu", "cuda:x", "cuda0", "metal"])
def test_bogus_value_lists_valid_ones(monkeypatch, value):
    with pytest.raises(ValueError) as info:
        _default_with(monkeypatch, value)
    msg = str(info.value)
    assert repr(value) in msg and "'cpu'" in msg and "'cuda:N'" in msg


def test_use_block_overrides_and_restores(monkeypatch):
    monkeypatch.setenv("DUALFLOW_DEVICE", "cpu")
    with device.use("cpu") as d:
        assert device.default() is d
    assert str(device.default()) == "cpu"
    with pytest.raises(ValueError):
        with device.use("bogus"):
            pass


def test_import_works_without_touching_cuda():
    """Importing every package must not import CuPy (a machine without CUDA must still work)."""
    code = ("import sys, core, backends, eager_api, static_api; "
            "print('cupy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"DUALFLOW_DEVICE": "cpu", "PATH": ""}, check=True)
    assert out.stdout.strip() == "False"
