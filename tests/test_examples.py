"""The examples as a user runs them: MNIST from --data-dir or DUALFLOW_DATA (a wrong one is one usage line and
status 2), and progress within an epoch, throttled when stdout is not a terminal."""
import os
import subprocess
import sys

import pytest

from core import progress
from tests.helpers import EXAMPLES, load_example, mnist_split

ROOT = os.path.dirname(EXAMPLES)


def _example(name, *args, env=None):
    return subprocess.run([sys.executable, os.path.join(EXAMPLES, name + ".py"), *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": ROOT, **(env or {})})


@pytest.mark.parametrize("name", ["eager_mnist", "static_mnist", "keras_seed_cnn"])
def test_a_wrong_data_folder_is_one_usage_line(name, tmp_path):
    missing = str(tmp_path / "nope")
    flag = _example(name, "--data-dir", missing)
    env = _example(name, env={"DUALFLOW_DATA": missing})
    for run in (flag, env):
        assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
        assert f"{name}.py: error:" in run.stderr and missing in run.stderr
    if name != "keras_seed_cnn":            # the Keras example falls back to the bundled digits without a folder
        assert "--data-dir=" in flag.stderr and "DUALFLOW_DATA=" in env.stderr and "does not exist" in env.stderr
        none = _example(name, env={"DUALFLOW_DATA": ""})
        assert none.returncode == 2 and "give --data-dir or set DUALFLOW_DATA" in none.stderr


@pytest.mark.parametrize("name", ["eager_mnist", "static_mnist"])
def test_examples_report_progress_within_an_epoch(name, monkeypatch, capsys):
    train, test = mnist_split()
    monkeypatch.setattr(progress, "EVERY_S", 0.0)       # a line for every batch, to count them
    load_example(name).main(train.subset(256), test.subset(100), epochs=1, batch_size=64)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines[:4]] == [f"epoch 1: batch {i}/4" for i in range(1, 5)]
    assert lines[4].startswith("epoch 1: last loss")
