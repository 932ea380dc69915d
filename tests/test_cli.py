"""The main job: IDX reading, ``dualflow compare``/``train``, and the command line's errors."""
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from core import datasets
from dualflow import cli
from tests.helpers import MNIST_DIR


def test_idx_reader_on_shared_files_and_corrupt_copies(tmp_path):
    if not os.path.isdir(MNIST_DIR):
        pytest.skip("shared MNIST missing")
    d = datasets.load_mnist(MNIST_DIR)
    assert d.images.shape == (10000, 1, 28, 28) and np.bincount(d.labels).tolist()[:3] == [980, 1135, 1032]
    raw = gzip.decompress(open(os.path.join(MNIST_DIR, "t10k-labels-idx1-ubyte.gz"), "rb").read())
    (tmp_path / "trunc").write_bytes(raw[:-10])
    with pytest.raises(datasets.DatasetError, match="truncated or wrong file"):
        datasets.read_idx(tmp_path / "trunc")
    (tmp_path / "magic").write_bytes(b"\x01\x02" + raw[2:])
    with pytest.raises(datasets.DatasetError, match="bad magic number"):
        datasets.read_idx(tmp_path / "magic")
    (tmp_path / "badgz").write_bytes(gzip.compress(raw)[:50])
    with pytest.raises(datasets.DatasetError, match="gzip"):
        datasets.read_idx(tmp_path / "badgz")


def test_compare_small_subset_writes_json_png_and_curves_agree(tmp_path):
    out = tmp_path / "run"
    assert cli.main(["compare", "--steps", "12", "--batch-size", "16", "--quiet", "--out", str(out)]) == 0
    summary = json.loads((out / "compare.json").read_text())
    s, e = summary["frontends"]["static"]["losses"], summary["frontends"]["eager"]["losses"]
    assert len(s) == len(e) == 12
    np.testing.assert_allclose(s, e, rtol=1e-4)
    assert summary["seed"] == 0 and summary["max_loss_curve_rel_diff"] <= 1e-4
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "eager-checkpoint.npz").exists() and (out / "static-checkpoint.npz").exists()


def test_same_seed_same_numbers_on_cpu(tmp_path):
    data = datasets.load_default().subset(200)
    a = cli.train_losses("eager", data, steps=5, batch_size=16, seed=3)
    b = cli.train_losses("eager", data, steps=5, batch_size=16, seed=3)
    c = cli.train_losses("eager", data, steps=5, batch_size=16, seed=4)
    assert a == b and a != c


def test_cli_help_and_bad_arguments():
    run = lambda *a: subprocess.run([sys.executable, "-m", "dualflow", *a], capture_output=True, text=True,
                                    env={**os.environ, "DUALFLOW_DEVICE": "cpu"})
    h = run("--help")
    assert h.returncode == 0 and "compare" in h.stdout and "train" in h.stdout
    bad = run("train", "--frontend", "jax")
    assert bad.returncode == 2 and "invalid choice: 'jax'" in bad.stderr
    missing = run("compare", "--data-dir", "/nonexistent", "--quiet")
    assert missing.returncode == 2 and "no MNIST-style IDX files" in missing.stderr
    dev = subprocess.run([sys.executable, "-m", "dualflow", "compare"], capture_output=True, text=True,
                         env={**os.environ, "DUALFLOW_DEVICE": "tpu"})
    assert dev.returncode == 2 and "valid values" in dev.stderr


def test_compare_writes_graphs_and_tensorboard_log(tmp_path):
    out = tmp_path / "run"
    assert cli.main(["compare", "--steps", "3", "--batch-size", "8", "--quiet", "--out", str(out)]) == 0
    static_dot, eager_dot = (out / "static-graph.dot").read_text(), (out / "eager-graph.dot").read_text()
    assert static_dot.startswith('digraph "static graph"')
    for name in ("Conv2D", "MaxPool", "SparseSoftmaxCrossEntropyWithLogits", "ApplyGradients", "images"):
        assert name in static_dot, name
    for name in ("Conv2D", "MaxPool", "Relu", "MatMul", "SparseSoftmaxCrossEntropyWithLogits"):
        assert name in eager_dot, name
    assert "ApplyGradients" not in eager_dot and "requires_grad (32, 1, 3, 3)" in eager_dot
    pytest.importorskip("tensorboardX")
    events = list((out / "tensorboard" / "eager").glob("events.out.tfevents.*"))
    assert len(events) == 1 and b"train/loss" in events[0].read_bytes()


@pytest.mark.reference
def test_peers_train_to_the_same_curve(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("tensorflow")
    s = cli.compare(cli.build_parser().parse_args(["compare", "--steps", "15", "--batch-size", "16", "--quiet",
                                                   "--peers", "--out", str(tmp_path)]))
    eager = np.array(s["frontends"]["eager"]["losses"])
    for peer in ("pytorch", "tensorflow"):
        np.testing.assert_allclose(s["frontends"][peer]["losses"], eager, rtol=1e-4, err_msg=peer)
