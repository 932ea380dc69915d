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
from tests.helpers import mnist_dir


def test_idx_reader_on_shared_files_and_corrupt_copies(tmp_path):
    folder = mnist_dir()        # $DUALFLOW_DATA, else the shared folder; skips with a reason without either
    d = datasets.load_mnist(folder)
    assert d.images.shape == (10000, 1, 28, 28) and np.bincount(d.labels).tolist()[:3] == [980, 1135, 1032]
    raw = gzip.decompress(open(os.path.join(folder, "t10k-labels-idx1-ubyte.gz"), "rb").read())
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
    # The optimized static column (fused, memory-planned) trains bit for bit as the graph run node by node.
    fe = summary["frontends"]
    assert list(fe) == ["static-unoptimized", "static", "eager"]
    assert fe["static-unoptimized"]["losses"] == s and fe["static-unoptimized"]["max_loss_diff_vs_static"] == 0
    assert fe["static"]["program_steps"] < fe["static-unoptimized"]["program_steps"]
    assert fe["eager"]["program_steps"] is None


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
    assert missing.returncode == 2 and "--data-dir=/nonexistent: the folder does not exist" in missing.stderr
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


def _cli(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "dualflow", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DUALFLOW_DEVICE": "cpu", "PYTHONPATH": ROOT, **(env or {})}, cwd=cwd)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_user_mistakes_end_in_one_error_line_and_status_2(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    cases = [
        (["compare", "--batch-size", "0"], None, "argument --batch-size: must be at least 1, got 0"),
        (["train", "--frontend", "eager", "--epochs", "-1"], None, "argument --epochs: must be at least 1"),
        (["compare", "--lr", "nan"], None, "argument --lr: must be a positive finite number"),
        (["compare", "--out", str(afile)], None, "is not a folder"),
        (["compare", "--out", str(tmp_path / "no" / "such" / "dir")], None, "parent folder"),
        (["compare", "--out", str(afile / "run")], None, f"the parent folder {afile} is a file, not a folder"),
        (["compare", "--quiet"], {"DUALFLOW_DATA": str(tmp_path / "nope")}, "DUALFLOW_DATA=" + str(tmp_path / "nope")
         + ": the folder does not exist"),
    ]
    for args, env, message in cases:
        r = _cli(*args, env=env, cwd=tmp_path)
        assert r.returncode == 2, (args, r.stderr)
        assert message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr
    assert not (tmp_path / "dualflow-runs").exists()      # nothing was started


def test_help_shows_defaults_and_the_split_and_version_is_known():
    h = _cli("compare", "--help")
    assert h.returncode == 0 and "(default: 32)" in h.stdout and "8,000 / 2,000" in h.stdout
    v = _cli("--version")
    assert v.returncode == 0 and v.stdout.startswith("dualflow ")


def test_runs_never_overwrite_each_other(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, second = cli._default_out(), cli._default_out()      # within the same second
    assert first != second and os.path.isdir(first) and os.path.isdir(second)
    out = tmp_path / "run"
    assert cli.main(["train", "--frontend", "eager", "--steps", "2", "--batch-size", "8", "--quiet",
                     "--out", str(out)]) == 0
    record = json.loads((out / "train.json").read_text())
    assert record["status"] == "complete" and record["steps"] == 2 and len(record["losses"]) == 2
    assert record["train_source"] == "scikit-learn digits[0:1437]"
    assert record["heldout_source"] == "scikit-learn digits[1437:1797]"
    assert record["lr"] == 0.05 and record["batch_size"] == 8 and record["versions"]["numpy"] == np.__version__
    r = _cli("train", "--frontend", "eager", "--steps", "2", "--quiet", "--out", str(out))
    assert r.returncode == 2 and "already holds a run (train.json)" in r.stderr and "--force" in r.stderr
    r = _cli("train", "--frontend", "static", "--steps", "2", "--quiet", "--out", str(out), "--force")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "train.json").read_text())["frontend"] == "static"


def test_ctrl_c_stops_cleanly_and_marks_the_run_interrupted(tmp_path):
    import signal
    import time
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "dualflow", "compare", "--steps", "1000000", "--batch-size", "8",
                          "--quiet", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "DUALFLOW_DEVICE": "cpu", "PYTHONPATH": ROOT})
    try:
        assert p.stdout.readline().startswith("train: ")      # training has started
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
    finally:
        p.kill()
    assert p.returncode == 130
    assert err.count("\n") <= 2 and "interrupted" in err and "Traceback" not in err
    record = json.loads((out / "compare.json").read_text())
    assert record["status"] == "interrupted" and record["frontends"] == {}


def test_compare_records_provenance_and_peer_style_differences(tmp_path):
    out = tmp_path / "run"
    assert cli.main(["compare", "--steps", "3", "--batch-size", "8", "--quiet", "--out", str(out)]) == 0
    s = json.loads((out / "compare.json").read_text())
    assert s["status"] == "complete" and s["train_source"].startswith("scikit-learn digits[0:")
    e = s["frontends"]["eager"]
    diff = np.max(np.abs(np.array(e["losses"]) - np.array(s["frontends"]["static"]["losses"])))
    assert e["max_loss_diff_vs_static"] == diff and s["frontends"]["static"]["max_loss_diff_vs_static"] == 0
    q1, q3 = e["step_ms_quartiles"]
    assert q1 <= e["median_step_ms"] <= q3
    assert "started" in s and "compare.png" in s["saved"]


def test_json_records_steps_or_epochs_as_given(tmp_path):
    assert cli.main(["compare", "--steps", "2", "--batch-size", "4", "--quiet", "--out", str(tmp_path / "s")]) == 0
    record = json.loads((tmp_path / "s" / "compare.json").read_text())
    assert (record["steps"], record["epochs"]) == (2, None)          # --steps overrides --epochs
