"""Parity with TensorFlow 2.21's compat.v1 for tf.train.MonitoredTrainingSession and its hooks: the same small
training program (ref variables in TF, whose fetched values are the ones the step left) runs in dualflow and in
TF, and the losses per step, the hooks' calls and the values they saw, the logged lines, the steps of the
checkpoints and of the summaries, the saved values, resuming, and the ends by NaN and by input running out
are compared."""
import logging
import os
import re

import numpy as np
import pytest

import static_api as tf

real = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.reference
tf1 = real.compat.v1
R = np.random.default_rng(7)
X = R.normal(size=(8, 4, 2)).astype(np.float32)
Y = (X @ np.float32([[1.5], [-2.0]]) + 0.5 + 0.1 * R.normal(size=(8, 4, 1))).astype(np.float32)
W0 = np.float32([[0.3], [0.1]])
NUMBER = r"-?\d+\.?\d*(?:e[-+]\d+)?"


def _var(lib, value, name, **kwargs):
    if lib is tf1:
        kwargs["use_resource"] = False      # TF1's ref variables: what the program did under TF 1
    return lib.Variable(value, name=name, **kwargs)


def _model(lib, x, y):
    gs = _var(lib, np.int64(0), "global_step", trainable=False,
              collections=[lib.GraphKeys.GLOBAL_VARIABLES, lib.GraphKeys.GLOBAL_STEP])
    w = _var(lib, W0, "w")
    b = _var(lib, np.zeros(1, np.float32), "b")
    loss = lib.reduce_mean(lib.square(lib.matmul(x, w) + b - y))
    train = lib.train.MomentumOptimizer(0.05, 0.9).minimize(loss, global_step=gs)
    return gs, w, b, loss, train


class Recorder:
    """A hook for either library logging each call with the values it saw."""

    def __init__(self, lib, name, log, fetch):
        self.lib, self.name, self.log, self.fetch = lib, name, log, fetch

    def begin(self):
        self.log.append((self.name, "begin", self.lib.get_default_graph().finalized))

    def after_create_session(self, session, coord):
        self.log.append((self.name, "after_create_session", session.graph.finalized))

    def before_run(self, run_context):
        feeds = run_context.original_args.feed_dict
        self.log.append((self.name, "before_run", sorted(t.op.name for t in feeds or ())))
        return self.lib.train.SessionRunArgs(self.fetch)

    def after_run(self, run_context, run_values):
        self.log.append((self.name, "after_run", run_values.results))

    def end(self, session):
        self.log.append((self.name, "end", int(session.run(self.lib.train.get_global_step()))))


def _hook(lib, *args):
    return type("Recorder", (Recorder, lib.train.SessionRunHook), {})(lib, *args)


class _Lines:
    """The INFO lines a library's logger writes inside the block."""

    def __init__(self, lib):
        self.lib, self.lines = lib, []
        self.logger = tf.logging.get_logger() if lib is tf else logging.getLogger("tensorflow")

    def __enter__(self):
        self.handler = logging.Handler()
        self.handler.emit = lambda record: self.lines.append((record.levelname, record.getMessage()))
        self.level = self.logger.level
        self.logger.addHandler(self.handler)
        self.logger.setLevel(logging.INFO)
        return self.lines

    def __exit__(self, *exc):
        self.logger.removeHandler(self.handler)
        self.logger.setLevel(self.level)


def _train(lib, ckpt_dir, steps, extra_hooks=()):
    """Train under MonitoredTrainingSession for ``steps`` more steps; what happened, for comparison."""
    log = []
    with lib.Graph().as_default(), _Lines(lib) as lines:
        x = lib.placeholder(np.float32, (4, 2), name="x")
        y = lib.placeholder(np.float32, (4, 1), name="y")
        gs, w, b, loss, train = _model(lib, x, y)
        lib.summary.scalar("loss", loss)
        fed = []
        hooks = [_hook(lib, "rec", log, {"loss": loss, "w": w, "step": gs}),
                 lib.train.LoggingTensorHook({"step": gs, "b": b}, every_n_iter=2, at_end=True),
                 lib.train.FeedFnHook(lambda: {y: Y[len(fed) % 8]}),
                 lib.train.StopAtStepHook(num_steps=steps), *extra_hooks]
        chief = _hook(lib, "chief", log, None)
        losses = []
        with lib.train.MonitoredTrainingSession(checkpoint_dir=ckpt_dir, hooks=hooks, chief_only_hooks=[chief],
                                                save_checkpoint_steps=3, save_summaries_steps=2,
                                                log_step_count_steps=None) as sess:
            kinds = [type(h).__name__ for h in sess._hooks]
            while not sess.should_stop():
                losses.append(sess.run([train, loss], {x: X[len(fed) % 8]})[1])
                fed.append(1)
    # LoggingTensorHook's lines: their text, and their numbers apart (compared to float32 rounding)
    texts = [re.sub(r" \(\d+\.\d{3} sec\)$", " (t sec)", m) for level, m in lines if " = " in m]
    logged = [(re.sub(NUMBER, "#", t), [float(n) for n in re.findall(NUMBER, t)]) for t in texts]
    with open(os.path.join(ckpt_dir, "checkpoint")) as f:
        state = [(line.split(":")[0], os.path.basename(line.split('"')[1])) for line in f.read().splitlines()]
    return {"losses": losses, "log": log, "logged": logged, "state": state, "hooks": kinds}


def _saved(lib, path):
    if lib is tf:
        from core import checkpoint
        return checkpoint.load(path + ".npz")[0]
    reader = tf1.train.load_checkpoint(path)
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def _same(ours, theirs):
    """Equal structures, floats to float32 rounding (Momentum's update and a reduce_mean over 4 rows)."""
    if isinstance(ours, dict):
        assert sorted(ours) == sorted(theirs)
        for k in ours:
            _same(ours[k], theirs[k])
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
    elif isinstance(ours, (float, np.floating, np.ndarray)):
        np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=1e-7)
    else:
        assert ours == theirs


def test_training_resuming_checkpoints_and_summaries_match_tensorflow(tmp_path):
    pytest.importorskip("tensorboardX")
    from tests.helpers import read_scalars
    ours_dir, theirs_dir = str(tmp_path / "ours"), str(tmp_path / "theirs")
    for steps in (4, 3):       # four steps, then three more resumed from the checkpoint
        ours, theirs = _train(tf, ours_dir, steps), _train(tf1, theirs_dir, steps)
        assert ours["hooks"] == theirs["hooks"] == ["Recorder", "SummarySaverHook", "CheckpointSaverHook",
                                                    "Recorder", "LoggingTensorHook", "FeedFnHook", "StopAtStepHook"]
        assert ours["log"][0] == ("chief", "begin", False) and len(ours["losses"]) == steps
        _same(ours, theirs)
    assert ours["state"][0] == ("model_checkpoint_path", "model.ckpt-7")
    for _, name in ours["state"]:
        _same(_saved(tf, os.path.join(ours_dir, name)), _saved(tf1, os.path.join(theirs_dir, name)))
    # every second step: TF reads the step fetched with a run before or after the run's increment as its
    # executor happens to order them, and every two steps both orders give these steps
    ours_events, theirs_events = read_scalars(ours_dir), read_scalars(theirs_dir)
    assert [s for s, _ in ours_events["loss"]] == [1, 3, 5, 7]
    _same(ours_events["loss"], theirs_events["loss"])


def test_nan_loss_stops_as_tensorflow(tmp_path):
    def run(lib, d):
        log = []
        with lib.Graph().as_default():
            x = lib.placeholder(np.float32, (4, 2), name="x")
            y = lib.placeholder(np.float32, (4, 1), name="y")
            gs, w, b, loss, train = _model(lib, x, y)
            hooks = [lib.train.NanTensorHook(loss), _hook(lib, "rec", log, loss)]
            ys = [Y[0], Y[1], np.full_like(Y[2], np.nan), Y[3]]
            with pytest.raises(lib.train.NanLossDuringTrainingError) as caught:
                with lib.train.MonitoredTrainingSession(checkpoint_dir=d, hooks=hooks, save_checkpoint_steps=2,
                                                        save_summaries_steps=None, log_step_count_steps=None) as sess:
                    while not sess.should_stop():
                        sess.run(train, {x: X[0], y: ys.pop(0)})
            soft = [_hook(lib, "soft", log, loss), lib.train.NanTensorHook(loss, fail_on_nan_loss=False)]
            ys = [Y[0], np.full_like(Y[2], np.nan), Y[3]]
            with lib.train.MonitoredSession(hooks=soft) as sess:
                while not sess.should_stop():
                    sess.run(train, {x: X[0], y: ys.pop(0)})
        return str(caught.value), log, len(ys), lib.train.get_checkpoint_state(d).all_model_checkpoint_paths

    ours, theirs = run(tf, str(tmp_path / "ours")), run(tf1, str(tmp_path / "theirs"))
    assert ours[0] == theirs[0] == "NaN loss during training."
    _same(ours[1][:-1], theirs[1][:-1])
    assert ours[1][-1] == theirs[1][-1] == ("soft", "end", 2) and ours[2] == theirs[2] == 1
    assert [os.path.basename(p) for p in ours[3]] == [os.path.basename(p) for p in theirs[3]] == ["model.ckpt-0",
                                                                                                  "model.ckpt-2"]


def test_input_running_out_ends_as_tensorflow(tmp_path):
    def run(lib, d):
        log = []
        with lib.Graph().as_default():
            x, y = lib.data.make_one_shot_iterator(lib.data.Dataset.from_tensor_slices((X[:3], Y[:3]))).get_next()
            gs, w, b, loss, train = _model(lib, x, y)
            losses, after_loop = [], False
            with lib.train.MonitoredTrainingSession(checkpoint_dir=d, hooks=[_hook(lib, "rec", log, w)],
                                                    save_summaries_steps=None, log_step_count_steps=None) as sess:
                while not sess.should_stop():
                    losses.append(sess.run([train, loss])[1])
                after_loop = True
            stopped = sess.should_stop()
        state = lib.train.get_checkpoint_state(d)
        return (losses, log, after_loop, stopped, [os.path.basename(p) for p in state.all_model_checkpoint_paths],
                _saved(lib, state.model_checkpoint_path))

    ours, theirs = run(tf, str(tmp_path / "ours")), run(tf1, str(tmp_path / "theirs"))
    assert len(ours[0]) == 3 and ours[1][-1] == ("rec", "end", 3) and ours[2:4] == (False, True)
    assert ours[4] == ["model.ckpt-0", "model.ckpt-3"]
    _same(ours, theirs)


def test_run_step_fn_and_errors_match_tensorflow():
    def run(lib):
        out = []
        with lib.Graph().as_default():
            c = lib.placeholder(np.float32, (), name="c")
            v = c + 4.0

            def step_fn(step_context):
                a = step_context.session.run(v, feed_dict={c: 0.5})
                out.append(float(step_context.run_with_hooks(v, feed_dict={c: a})))
                if a <= 4.5:
                    step_context.request_stop()
                return a

            with lib.train.MonitoredSession() as sess:
                out.append(float(sess.run_step_fn(lambda step_context: step_context.run_with_hooks(v, {c: 1.0}))))
                while not sess.should_stop():
                    sess.run_step_fn(step_fn)
                out.append("unreached")
            out.append(sess.should_stop())
            with pytest.raises(RuntimeError) as closed:
                sess.close()
            out.append(str(closed.value))
            with lib.train.MonitoredSession() as sess:
                with pytest.raises(ValueError) as bad:
                    sess.run_step_fn(lambda ctx: 1)
            out.append(str(bad.value))
        with lib.Graph().as_default():
            a = _var(lib, 1.0, "a")
            _var(lib, 2.0, "b")
            with pytest.raises(RuntimeError) as incomplete:
                lib.train.MonitoredSession(lib.train.ChiefSessionCreator(
                    scaffold=lib.train.Scaffold(init_op=lib.variables_initializer([a]))))
            out.append(str(incomplete.value))
            with pytest.raises(RuntimeError) as finalized:
                lib.constant(1.0)
            out.append(str(finalized.value))
        return out

    ours, theirs = run(tf), run(tf1)
    assert ours[:2] == [5.0, 8.5] and ours[2] is True
    assert ours == theirs


def test_names_and_graph_keys_match_tensorflow():
    from static_api import monitored_session
    assert [n for n in monitored_session.__all__ if not hasattr(tf1.train, n)] == []
    keys = ["GLOBAL_STEP", "SAVERS", "INIT_OP", "LOCAL_INIT_OP", "READY_OP", "READY_FOR_LOCAL_INIT_OP", "SUMMARY_OP"]
    assert [getattr(tf.GraphKeys, k) for k in keys] == [getattr(tf1.GraphKeys, k) for k in keys]
