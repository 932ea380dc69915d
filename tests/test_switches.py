"""dualflow's off switches (``backends.switches``) read the environment as it is at each call."""
import os

import pytest

from backends.switches import switched_off


@pytest.mark.parametrize("value,off", [("0", True), ("false", True), (" OFF ", True), ("False", True),
                                       ("1", False), ("on", False), ("", False), ("no", False)])
def test_values_that_switch_off(monkeypatch, value, off):
    monkeypatch.setenv("DUALFLOW_NUMBA", value)
    assert switched_off("DUALFLOW_NUMBA") is off


def test_the_switch_follows_every_way_of_changing_the_environment(monkeypatch):
    monkeypatch.delenv("DUALFLOW_ONEDNN", raising=False)
    assert not switched_off("DUALFLOW_ONEDNN")          # unset: on
    os.environ["DUALFLOW_ONEDNN"] = "0"
    try:
        assert switched_off("DUALFLOW_ONEDNN")
        os.environ.update(DUALFLOW_ONEDNN="1")
        assert not switched_off("DUALFLOW_ONEDNN")
        os.putenv("DUALFLOW_ONEDNN", "0")               # C-level only: os.environ (and dualflow) do not see it
        assert not switched_off("DUALFLOW_ONEDNN")
        os.environ.pop("DUALFLOW_ONEDNN")
        assert not switched_off("DUALFLOW_ONEDNN")
    finally:
        os.environ.pop("DUALFLOW_ONEDNN", None)
