"""Data-parallel training over MPI: 2-process runs of tests/dist_scripts under ``mpiexec``, and the pieces
(reverse-pass readiness, post-accumulate hooks, sampler shards) checked in one process.

The 2-process tests need mpi4py and an ``mpiexec`` (``pip install dualflow[dist]``: the ``mpich`` wheel
brings it) and skip, saying so, without them.
"""
import os
import pathlib
import subprocess
import sys
import time

import numpy
import pytest

import eager_api as torch
from core import autodiff, comm
from eager_api import nn
from dualflow.distributed import mpiexec
from eager_api.utils.data.distributed import DistributedSampler

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "tests" / "dist_scripts"



def _launch(script: str, timeout: float, **env_overrides: str) -> subprocess.CompletedProcess:
    reason = comm.mpi_unavailable_reason()
    if reason:
        pytest.skip(reason)
    launcher = mpiexec()
    if launcher is None:
        pytest.skip("no mpiexec on PATH or beside the Python executable; install dualflow[dist]")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               DUALFLOW_DEVICE="cpu", DUALFLOW_DIST="mpi",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    env.update(env_overrides)
    return subprocess.run([launcher, "-n", "2", sys.executable, str(SCRIPTS / script)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _passes(script: str) -> None:
    run = _launch(script, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASS rank 0" in run.stdout and "PASS rank 1" in run.stdout, run.stdout + run.stderr


@pytest.mark.distributed
def test_collectives_give_hand_values_and_name_shape_mismatches():
    _passes("collectives.py")


@pytest.mark.distributed
def test_ddp_on_two_ranks_trains_like_one_process_with_the_whole_batch():
    _passes("train_ddp.py")       # SGD-momentum and Adam, 20 steps; buckets start mid-pass; no_sync


@pytest.mark.distributed
def test_distributed_sampler_shards_are_disjoint_and_reshuffle_alike():
    _passes("sampler.py")


@pytest.mark.distributed
@pytest.mark.parametrize("script, message", [
    ("raises.py", "rank 1 fails on purpose"),                 # eager: rank 0 waits in all_reduce
    ("raises_static.py", "Cannot feed value of shape (4,)"),  # static: rank 0 waits in the graph's AllReduce
])
def test_a_rank_that_raises_ends_the_job(script, message):
    start = time.monotonic()
    run = _launch(script, timeout=30)            # without the abort the other rank would hang
    assert time.monotonic() - start < 30
    assert run.returncode != 0
    assert message in run.stderr
    assert "rank 0 was never released" not in run.stdout


@pytest.mark.distributed
def test_static_distributed_optimizer_on_two_ranks_trains_like_one_process_with_the_whole_batch():
    _passes("train_static.py")     # Momentum (minimize) and Adam (compute/apply_gradients), 20 steps; shape errors


@pytest.mark.distributed
def test_keras_fit_on_two_shards_trains_like_one_process_with_the_whole_batch():
    _passes("keras_fit.py")        # SGD-momentum and Adam; broadcast and metric-average callbacks


# ----- one process ----------------------------------------------------------------------------------------
def test_reverse_pass_reports_each_gradient_once_as_soon_as_it_is_final():
    w1 = torch.tensor([2.0], requires_grad=True)
    w2 = torch.tensor([3.0], requires_grad=True)
    x = torch.tensor([5.0], requires_grad=True)
    h = x * w1              # the first layer: its weight's gradient is final only at the end of the pass
    y = (h * w2 + h * h).sum()
    events = []

    def ready(i, g):
        events.append((i, None if g is None else g.array.tolist()))
    grads = autodiff.gradients([y], [w1, w2, x], [torch.ones_like(y)], on_ready=ready)
    # dy/dw2 = h = 10 is final after the last node; dy/dw1 = x * (w2 + 2h) = 5 * 23 = 115 and
    # dy/dx = w1 * (w2 + 2h) = 46 only after the first one (reported in that node's input order: x, w1)
    assert events == [(1, [10.0]), (2, [46.0]), (0, [115.0])]
    assert [g.array.tolist() for g in grads] == [[115.0], [10.0], [46.0]]


def test_post_accumulate_grad_hook_sees_the_accumulated_grad_during_backward():
    w1 = torch.tensor([2.0], requires_grad=True)
    w2 = torch.tensor([3.0], requires_grad=True)
    w1.grad = torch.tensor([1.0])
    order = []
    w1.register_post_accumulate_grad_hook(lambda p: order.append(("w1", p.grad.tolist())))
    handle = w2.register_post_accumulate_grad_hook(lambda p: order.append(("w2", p.grad.tolist())))
    ((torch.tensor([5.0]) * w1) * w2).sum().backward()
    assert order == [("w2", [10.0]), ("w1", [16.0])]       # w2 (nearer the loss) first; w1 = 1 + 5 * 3
    handle.remove()
    order.clear()
    ((torch.tensor([5.0]) * w1) * w2).sum().backward()
    assert order == [("w1", [31.0])]
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w1 * 2).register_post_accumulate_grad_hook(lambda p: None)


@pytest.mark.parametrize("kwargs, expected", [
    (dict(num_replicas=3, rank=2, shuffle=False), [2, 5, 8, 1]),            # padded with index 1 (PyTorch's)
    (dict(num_replicas=3, rank=2, shuffle=False, drop_last=True), [2, 5, 8]),
    (dict(num_replicas=3, rank=0, shuffle=False), [0, 3, 6, 9]),
])
def test_distributed_sampler_hand_values(kwargs, expected):
    s = DistributedSampler(list(range(10)), **kwargs)
    assert list(s) == expected and len(s) == len(expected)


@pytest.mark.parametrize("n, kwargs, expected", [
    (7, dict(num_replicas=5, rank=4), [4, 2]),          # padding wraps to the start: 0..6, 0, 1, 2
    (2, dict(num_replicas=5, rank=4), [0]),             # padding longer than the data repeats it
    (7, dict(num_replicas=5, rank=1, drop_last=True), [1]),
])
def test_distributed_sampler_padding(n, kwargs, expected):
    s = DistributedSampler(list(range(n)), shuffle=False, **kwargs)
    assert list(s) == expected and len(s) == len(expected)


def test_distributed_sampler_shuffles_by_seed_and_epoch():
    a = DistributedSampler(list(range(20)), num_replicas=2, rank=0, seed=3)
    b = DistributedSampler(list(range(20)), num_replicas=2, rank=1, seed=3)
    assert sorted(list(a) + list(b)) == list(range(20))
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first and sorted(list(a) + list(b)) != list(range(20))     # b is still on epoch 0
    with pytest.raises(ValueError, match="Invalid rank 2"):
        DistributedSampler(list(range(4)), num_replicas=2, rank=2)


def test_world_of_one_and_errors_before_init():
    if comm.mpi_unavailable_reason():
        pytest.skip(comm.mpi_unavailable_reason())
    dist = torch.distributed
    with pytest.raises(ValueError, match="init_process_group"):
        dist.get_world_size()
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group("tcp")
    dist.init_process_group("gloo", world_size=1, rank=0)
    try:
        with pytest.raises(ValueError, match="twice"):
            dist.init_process_group("gloo")
        assert (dist.get_rank(), dist.get_world_size(), dist.get_backend()) == (0, 1, "gloo")
        t = torch.tensor([1.0, 2.0])
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        assert t.tolist() == [1.0, 2.0]
        model = nn.Linear(2, 1)
        ddp = nn.parallel.DistributedDataParallel(model)
        assert ddp.module is model and list(ddp.state_dict()) == ["module.weight", "module.bias"]
        ddp(torch.ones(1, 2)).sum().backward()
        assert model.weight.grad.tolist() == [[1.0, 1.0]] and model.bias.grad.tolist() == [1.0]
        unused = nn.parallel.DistributedDataParallel(nn.Linear(2, 1))
        unused(torch.ones(1, 2))
        with pytest.raises(RuntimeError, match=r"did not receive gradients.*\['weight'\]"):
            (unused.module.bias * 2).sum().backward()        # the weight takes no part in this loss
    finally:
        dist.destroy_process_group()
    assert not dist.is_initialized()



# ----- the static side in a world of one -----------------------------------------------------------------
@pytest.fixture
def world_of_one():
    if comm.mpi_unavailable_reason():
        pytest.skip(comm.mpi_unavailable_reason())
    import static_api.distribute as hvd
    with pytest.raises(ValueError, match=r"hvd.init\(\)"):
        hvd.rank()
    hvd.init()
    yield hvd
    hvd.shutdown()


def test_fused_allreduce_splits_mixed_dtypes_back_in_order(world_of_one):
    import core
    from core.ops import comm as comm_ops
    a = core.value(numpy.arange(6, dtype=numpy.float32).reshape(2, 3))
    b = core.value(numpy.array([7.0, 8.0]), dtype=numpy.float64)
    c = core.value(numpy.array([[9.0]], dtype=numpy.float32))
    out = comm_ops.allreduce([a, b, c], "sum")         # one float32 message (a, c), one float64 (b)
    assert [o.dtype for o in out] == [numpy.float32, numpy.float64, numpy.float32]
    assert out[0].array.tolist() == [[0, 1, 2], [3, 4, 5]] and out[1].array.tolist() == [7, 8]
    assert out[2].array.tolist() == [[9.0]]
    with pytest.raises(TypeError, match=r"AllReduce: argument 'n' expected dtype float32 or float64"):
        comm_ops.allreduce([core.value(numpy.array([1, 2]))], "avg", ["n"])
    with pytest.raises(ValueError, match="reduce must be one of"):
        comm_ops.allreduce([a], "mean")
    with pytest.raises(ValueError, match="root rank 1 is out of range for a world of size 1"):
        comm_ops.broadcast([a], 1)


def test_static_allreduce_gradient_is_the_allreduce_of_the_gradient(world_of_one):
    import static_api as tf
    hvd = world_of_one
    with tf.Graph().as_default():
        w = tf.Variable(numpy.array([1.0, 2.0], numpy.float32), name="w")
        y = tf.reduce_sum(hvd.allreduce(w * w, op=hvd.Sum) * 3.0)
        (g,) = tf.gradients(y, [w])
        seen, stack = {}, [g.node]
        while stack:
            node = stack.pop()
            if id(node) not in seen:
                seen[id(node)] = node.op.name
                stack += [v.node for v in node.inputs if v.node is not None]
        assert list(seen.values()).count("AllReduce") == 2      # the forward one (the seed takes its shape) and its vjp
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(g).tolist() == [6.0, 12.0]          # d(3 w^2)/dw = 6w


def test_distributed_optimizer_is_the_optimizer_with_reduced_gradients(world_of_one):
    import static_api as tf
    from static_api import keras
    hvd = world_of_one
    with pytest.raises(TypeError, match="argument 'optimizer' expected a tf.train or keras optimizer"):
        hvd.DistributedOptimizer("sgd")
    with tf.Graph().as_default():
        base = tf.train.MomentumOptimizer(0.1, 0.9)
        opt = hvd.DistributedOptimizer(base)
        assert isinstance(opt, tf.train.MomentumOptimizer) and type(opt).__name__ == "DistributedMomentumOptimizer"
        with pytest.raises(ValueError, match="already distributed"):
            hvd.DistributedOptimizer(opt)
        w = tf.Variable(numpy.array([1.0, -1.0], numpy.float32), name="w")
        b = tf.Variable(numpy.array(0.5, numpy.float32), name="b")
        (gw, vw), (gb, vb) = opt.compute_gradients(tf.reduce_sum(w * w), [w, b])
        assert gb is None and vw is w and vb is b          # b takes no part: its gradient stays None
        assert gw.op.type == "AllReduce"
        step = opt.apply_gradients([(gw, vw), (gb, vb)])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(step)
            assert sess.run(w).tolist() == pytest.approx([0.8, -0.8])      # w - 0.1 * 2w
    assert keras.optimizers.serialize(hvd.DistributedOptimizer(keras.optimizers.Adam(0.01)))["name"] == "adam"
    with pytest.raises(NotImplementedError, match="compression"):
        hvd.DistributedOptimizer(keras.optimizers.SGD(), compression="fp16")


# ----- the main job over 2 processes -------------------------------------------------------------------------
def _console(tmp_path, *args: str) -> subprocess.CompletedProcess:
    reason = comm.mpi_unavailable_reason()
    if reason:
        pytest.skip(reason)
    script = pathlib.Path(sys.executable).parent / "dualflow"
    if not script.exists() or mpiexec() is None:
        pytest.skip("the dualflow console script or mpiexec is not installed beside this Python")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", DUALFLOW_DEVICE="cpu",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    return subprocess.run([str(script), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.distributed
def test_console_script_with_nproc_2_trains_like_one_process_and_only_rank_0_writes(tmp_path):
    import json
    from core import datasets
    from dualflow import cli
    run = _console(tmp_path, "compare", "--nproc", "2", "--steps", "12", "--batch-size", "16", "--quiet")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("over 2 processes") == 1 and run.stdout.count("scaling efficiency") == 1, run.stdout
    (out,) = (tmp_path / "dualflow-runs").iterdir()          # one run folder, made by the launcher
    summary = json.loads((out / "compare.json").read_text())
    assert summary["processes"] == 2 and summary["dist_backend"] == "mpi" and summary["status"] == "complete"
    train = datasets.load_split(None).train
    for fe in ("static", "eager"):
        r = summary["frontends"][fe]
        # the logged loss is the global batch's: the one-process curve up to float32 reassociation
        numpy.testing.assert_allclose(r["losses"], cli.train_losses(fe, train, 12, 16, 0), rtol=1e-4, err_msg=fe)
        assert r["images_per_s_per_process"] == pytest.approx(r["images_per_s"] / 2)
        assert r["scaling_efficiency"] == pytest.approx(r["images_per_s"] / (2 * r["baseline_images_per_s"]))
        assert r["baseline_steps"] == 12
    required = {"checkpoint", "compare.json", "compare.png", "eager-checkpoint.npz", "eager-graph.dot",
                "static-checkpoint.npz", "static-graph.dot"}
    optional = {"tensorboard", "eager-graph.svg", "static-graph.svg"}       # with tensorboardX / Graphviz
    assert required <= {p.name for p in out.iterdir()} <= required | optional
    assert "AllReduce" in (out / "static-graph.dot").read_text()

    one = _console(tmp_path, "train", "--frontend", "eager", "--nproc", "2", "--steps", "4", "--batch-size", "8",
                   "--quiet", "--out", "eager-run")
    assert one.returncode == 0, one.stdout + one.stderr
    record = json.loads((tmp_path / "eager-run" / "train.json").read_text())
    assert record["processes"] == 2 and len(record["losses"]) == 4
    numpy.testing.assert_allclose(record["losses"], cli.train_losses("eager", train, 4, 8, 0), rtol=1e-4)


def test_nproc_refuses_a_batch_that_does_not_split_and_peers(tmp_path):
    from dualflow import cli
    for args, message in ((["--batch-size", "15"], "--batch-size 15 does not split evenly over 2 processes"),
                          (["--peers"], "--peers with more than one process is not supported")):
        assert cli.main(["compare", "--nproc", "2", "--out", str(tmp_path / "x"), *args]) == 2
    assert not (tmp_path / "x").exists()


def test_nproc_inside_a_job_must_match_it(monkeypatch):
    from dualflow import distributed
    monkeypatch.setenv("PMI_SIZE", "4")                 # as mpiexec -n 4 (MPICH) announces the job
    assert distributed.launched_size() == 4
    assert not distributed.must_launch(4) and not distributed.must_launch(1)
    with pytest.raises(ValueError, match="already one of an MPI job of 4 processes"):
        distributed.must_launch(2)
    monkeypatch.delenv("PMI_SIZE")
    assert distributed.must_launch(2) and not distributed.must_launch(1)


# ----- NCCL (GPU): not run in CPU CI ----------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("frontend", ["static", "eager"])
def test_nccl_world_of_one_trains_like_one_process(gpu, frontend, monkeypatch):
    """Both frontends' data-parallel models over NCCL in a world of one give the one-process losses."""
    if comm.mpi_unavailable_reason():
        pytest.skip(comm.mpi_unavailable_reason())
    monkeypatch.setenv("DUALFLOW_DEVICE", "cuda")      # Job pins it to NCCL's GPU; undone after the test
    from core import datasets
    from dualflow import cli, distributed
    import static_api.distribute as hvd
    data = datasets.load_split(None).train
    job = distributed.Job()          # the default kind on a GPU device: NCCL
    try:
        assert job.world.kind == "nccl" and job.size == 1 and os.environ["DUALFLOW_DEVICE"] == "cuda:0"
        got = cli.run(frontend, data, 10, 32, 0, job=job)["losses"]
    finally:
        hvd.shutdown()
    numpy.testing.assert_allclose(got, cli.train_losses(frontend, data, 10, 32, 0), rtol=1e-6)


@pytest.mark.gpu
def test_nccl_two_processes_on_one_gpu_where_nccl_allows(gpu):
    env = dict(DUALFLOW_DEVICE="cuda", DUALFLOW_DIST="nccl")
    run = _launch("nccl_pair.py", timeout=180, **env)
    assert run.returncode == 0, run.stdout + run.stderr
    if "SKIP rank" in run.stdout:
        pytest.skip(run.stdout.strip().splitlines()[0])
    assert "PASS rank 0" in run.stdout and "PASS rank 1" in run.stdout, run.stdout + run.stderr
