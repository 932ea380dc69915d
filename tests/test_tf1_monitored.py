"""TF1's monitored training (tf.train.MonitoredTrainingSession, MonitoredSession, SingularMonitoredSession,
Scaffold, ChiefSessionCreator) and the session-run hooks, on hand-computed values.

The program trained throughout: w = 2, loss = (w - 1)^2, plain gradient descent at 0.1, so each step makes
w <- 0.8 w + 0.2: w = 2, 1.8, 1.64, 1.512, 1.4096, 1.32768, 1.262144, ... and the loss before step k is
(w_k - 1)^2 = 0.64^k... as 1, 0.64, 0.4096, 0.262144, 0.16777216, 0.1073741824, 0.068719476736."""
import logging
import os
import re

import numpy as np
import pytest

import static_api as tf
from core import checkpoint
from static_api import monitored_session

W = [2.0, 1.8, 1.64, 1.512, 1.4096, 1.32768, 1.262144, 1.2097152, 1.16777216]
LOSS = [(w - 1.0) ** 2 for w in W]


@pytest.fixture(autouse=True)
def fresh_graph():
    tf.reset_default_graph()
    yield


@pytest.fixture
def logged():
    """The lines tf.logging writes while a test runs (at INFO)."""
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append((record.levelname, record.getMessage()))
    logger = tf.logging.get_logger()
    level = logger.level
    logger.addHandler(handler)
    tf.logging.set_verbosity(tf.logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def _program():
    step = tf.train.get_or_create_global_step()
    w = tf.Variable(2.0, name="w")
    loss = tf.square(w - 1.0)
    train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
    return step, w, loss, train


def _train(ckpt_dir, hooks=(), **kwargs):
    """Train ``_program`` in a new graph under MonitoredTrainingSession until it stops; the losses of the steps."""
    with tf.Graph().as_default():
        step, w, loss, train = _program()
        losses = []
        with tf.train.MonitoredTrainingSession(checkpoint_dir=ckpt_dir, hooks=list(hooks), save_summaries_steps=None,
                                               log_step_count_steps=None, **kwargs) as sess:
            while not sess.should_stop():
                losses.append(float(sess.run([train, loss])[1]))
    return losses


def _state(ckpt_dir):
    with open(os.path.join(ckpt_dir, "checkpoint")) as f:
        return f.read()


def _values(path):
    arrays, _ = checkpoint.load(path + ".npz")
    return {k: float(v) for k, v in arrays.items()}


class Recorder(tf.train.SessionRunHook):
    """Writes each call into ``log`` as (name, method, what it saw); fetches ``fetch`` at each run."""

    def __init__(self, name, log, fetch=None):
        self.name, self.log, self.fetch = name, log, fetch

    def begin(self):
        self.log.append((self.name, "begin", tf.get_default_graph().finalized))

    def after_create_session(self, session, coord):
        self.log.append((self.name, "after_create_session", session.graph.finalized))

    def before_run(self, run_context):
        self.log.append((self.name, "before_run", run_context.original_args.feed_dict))
        return None if self.fetch is None else tf.train.SessionRunArgs(self.fetch)

    def after_run(self, run_context, run_values):
        self.log.append((self.name, "after_run", run_values.results))

    def end(self, session):
        self.log.append((self.name, "end", int(session.run(tf.train.get_global_step()))))


# ----- steps, checkpoints, resuming -----------------------------------------------------------------------
def test_training_counts_steps_and_checkpoints_at_the_right_steps(tmp_path):
    d = str(tmp_path)
    losses = _train(d, [tf.train.StopAtStepHook(last_step=5)], save_checkpoint_steps=2)
    np.testing.assert_allclose(losses, LOSS[:5], rtol=1e-6)
    # at the start (step 0), every 2 steps, and at the end (5)
    assert _state(d) == ('model_checkpoint_path: "model.ckpt-5"\nall_model_checkpoint_paths: "model.ckpt-0"\n'
                         'all_model_checkpoint_paths: "model.ckpt-2"\nall_model_checkpoint_paths: "model.ckpt-4"\n'
                         'all_model_checkpoint_paths: "model.ckpt-5"\n')
    assert sorted(f for f in os.listdir(d) if f.endswith(".npz")) == [f"model.ckpt-{k}.npz" for k in (0, 2, 4, 5)]
    for k in (0, 2, 4, 5):
        got = _values(os.path.join(d, f"model.ckpt-{k}"))
        assert got["global_step"] == k and got["w"] == pytest.approx(W[k], rel=1e-6)


def test_resuming_continues_the_global_step_and_the_values(tmp_path):
    d = str(tmp_path)
    _train(d, [tf.train.StopAtStepHook(last_step=5)], save_checkpoint_steps=2)
    # restored at step 5 (w = 1.32768), three more steps: saved again at 5 (after the session is made), at 7
    # (5 + 2) and at the end (8); the state file keeps the last five, so model.ckpt-0 goes
    losses = _train(d, [tf.train.StopAtStepHook(num_steps=3)], save_checkpoint_steps=2)
    np.testing.assert_allclose(losses, LOSS[5:8], rtol=1e-6)
    assert _state(d) == ('model_checkpoint_path: "model.ckpt-8"\nall_model_checkpoint_paths: "model.ckpt-2"\n'
                         'all_model_checkpoint_paths: "model.ckpt-4"\nall_model_checkpoint_paths: "model.ckpt-5"\n'
                         'all_model_checkpoint_paths: "model.ckpt-7"\nall_model_checkpoint_paths: "model.ckpt-8"\n')
    assert not os.path.exists(os.path.join(d, "model.ckpt-0.npz"))
    final = _values(os.path.join(d, "model.ckpt-8"))
    assert final["global_step"] == 8 and final["w"] == pytest.approx(W[8], rel=1e-6)
    state = tf.train.get_checkpoint_state(d)
    assert state.model_checkpoint_path == os.path.join(d, "model.ckpt-8")
    assert state.all_model_checkpoint_paths == [os.path.join(d, f"model.ckpt-{k}") for k in (2, 4, 5, 7, 8)]


def test_default_checkpoint_saver_saves_at_start_and_end(tmp_path):
    d = str(tmp_path)
    _train(d, [tf.train.StopAtStepHook(last_step=3)])      # every 600 s by default: only the start and the end
    assert _state(d) == ('model_checkpoint_path: "model.ckpt-3"\nall_model_checkpoint_paths: "model.ckpt-0"\n'
                         'all_model_checkpoint_paths: "model.ckpt-3"\n')
    # None for both turns the saver off, and nothing is restored without a checkpoint_dir
    e = str(tmp_path / "none")
    assert _train(e, [tf.train.StopAtStepHook(last_step=1)], save_checkpoint_secs=None) == [pytest.approx(1.0)]
    assert not os.path.exists(e)
    np.testing.assert_allclose(_train(None, [tf.train.StopAtStepHook(last_step=2)]), LOSS[:2], rtol=1e-6)


def test_checkpoint_listeners_and_their_stop(tmp_path):
    d = str(tmp_path)

    class Listener(tf.train.CheckpointSaverListener):
        def __init__(self):
            self.log = []

        def begin(self):
            self.log.append("begin")

        def before_save(self, session, step):
            self.log.append(("before", int(step)))

        def after_save(self, session, step):
            self.log.append(("after", int(step)))
            return step >= 4                    # ignored at the first save, which is not in a run

        def end(self, session, step):
            self.log.append(("end", int(step)))

    listener = Listener()
    with tf.Graph().as_default():
        step = tf.train.get_or_create_global_step()
        inc = tf.assign_add(step, 2)
        hook = tf.train.CheckpointSaverHook(d, save_steps=2, listeners=[listener], checkpoint_basename="m")
        runs = 0
        with tf.train.MonitoredSession(hooks=[hook]) as sess:
            while not sess.should_stop():
                sess.run(inc)
                runs += 1
    assert runs == 2
    assert listener.log == ["begin", ("before", 0), ("after", 0), ("before", 2), ("after", 2), ("before", 4),
                            ("after", 4), ("end", 4)]
    assert tf.train.latest_checkpoint(d) == os.path.join(d, "m-4")


def test_scaffold_saver_is_the_one_used(tmp_path):
    d = str(tmp_path)
    with tf.Graph().as_default():
        step, w, loss, train = _program()
        saver = tf.train.Saver([w], max_to_keep=2)
        scaffold = tf.train.Scaffold(saver=saver)
        with tf.train.MonitoredTrainingSession(checkpoint_dir=d, scaffold=scaffold, save_checkpoint_steps=1,
                                               hooks=[tf.train.StopAtStepHook(last_step=3)]) as sess:
            while not sess.should_stop():
                sess.run(train)
        assert scaffold.saver is saver and saver.last_checkpoints == [os.path.join(d, "model.ckpt-2"),
                                                                      os.path.join(d, "model.ckpt-3")]
    assert _values(os.path.join(d, "model.ckpt-3")) == {"w": pytest.approx(W[3], rel=1e-6)}     # only w


# ----- hooks ----------------------------------------------------------------------------------------------
def test_hooks_are_called_in_tf_order_with_their_values():
    log = []
    with tf.Graph().as_default():
        step, w, loss, train = _program()
        a = Recorder("a", log, {"w": w, "step": step})
        b = Recorder("b", log, loss)
        c = Recorder("c", log)
        with tf.train.MonitoredSession(hooks=[a, b, c, tf.train.StopAtStepHook(last_step=2)]) as sess:
            while not sess.should_stop():
                sess.run(train, feed_dict=None)
    runs = [[("a", "before_run", None), ("b", "before_run", None), ("c", "before_run", None),
             ("a", "after_run", {"w": pytest.approx(W[k + 1], rel=1e-6), "step": k + 1}),
             ("b", "after_run", pytest.approx(LOSS[k], rel=1e-6)), ("c", "after_run", None)] for k in range(2)]
    assert log == [("a", "begin", False), ("b", "begin", False), ("c", "begin", False),
                   ("a", "after_create_session", True), ("b", "after_create_session", True),
                   ("c", "after_create_session", True), *runs[0], *runs[1], ("a", "end", 2), ("b", "end", 2),
                   ("c", "end", 2)]


def test_monitored_training_session_orders_its_hooks_as_tf(tmp_path, monkeypatch):
    made = []
    monkeypatch.setattr(monitored_session, "_tensorboard_available", lambda: True)
    monkeypatch.setattr(monitored_session, "MonitoredSession", lambda session_creator, hooks, **kw: made.append(hooks))
    chief, user = tf.train.SessionRunHook(), tf.train.SessionRunHook()
    with tf.Graph().as_default():
        _program()
        tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), hooks=[user], chief_only_hooks=[chief])
        tf.train.MonitoredTrainingSession(hooks=[user], save_summaries_steps=None, log_step_count_steps=None)
    assert [type(h).__name__ for h in made[0]] == ["SessionRunHook", "StepCounterHook", "SummarySaverHook",
                                                   "CheckpointSaverHook", "SessionRunHook"]
    assert made[0][0] is chief and made[0][-1] is user and made[1] == [user]


def test_hook_fetches_feeds_and_options_are_merged():
    seen = []

    class Options(tf.train.SessionRunHook):
        def before_run(self, run_context):
            return tf.train.SessionRunArgs(None, options=tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE))

        def after_run(self, run_context, run_values):
            seen.append((run_values.options.trace_level, run_values.options.timeout_in_ms, run_values.run_metadata))

    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (), name="x")
        y = tf.placeholder(tf.float32, (), name="y")
        total = x + 10.0 * y
        feeds = iter([1.0, 2.0, 3.0])
        meta = tf.RunMetadata()
        with tf.train.MonitoredSession(hooks=[Options(), tf.train.FeedFnHook(lambda: {y: next(feeds)})]) as sess:
            assert sess.run(total, {x: 0.5}, options=tf.RunOptions(timeout_in_ms=7), run_metadata=meta) == 10.5
            assert sess.run({"t": total}, {x: 0.25}) == {"t": 20.25}
            with pytest.raises(RuntimeError, match=r"Same tensor is fed by a SessionRunHook and user. Conflict"):
                sess.run(total, {y: 1.0})
        assert seen == [(3, 7, meta), (3, 0, seen[1][2])] and isinstance(seen[1][2], tf.RunMetadata)
        both = [tf.train.FeedFnHook(lambda: {y: 1.0}), tf.train.FeedFnHook(lambda: {y: 2.0})]
        with tf.train.MonitoredSession(hooks=both) as sess:
            with pytest.raises(RuntimeError, match="Same tensor is fed by two hooks."):
                sess.run(total, {x: 0.0})


def test_final_ops_hook_runs_at_the_end():
    with tf.Graph().as_default():
        step, w, loss, train = _program()
        final = tf.train.FinalOpsHook({"w": w, "twice": 2.0 * w})
        with tf.train.MonitoredSession(hooks=[final, tf.train.StopAtStepHook(num_steps=3)]) as sess:
            while not sess.should_stop():
                sess.run(train)
            assert final.final_ops_values is None
    assert final.final_ops_values == {"w": pytest.approx(W[3], rel=1e-6), "twice": pytest.approx(2 * W[3], rel=1e-6)}


def test_logging_tensor_hook_logs_as_tf(logged):
    with tf.Graph().as_default():
        step, w, loss, train = _program()
        hooks = [tf.train.LoggingTensorHook({"loss": loss, "step": step}, every_n_iter=2, at_end=True),
                 tf.train.LoggingTensorHook(["w"], every_n_iter=3),
                 tf.train.LoggingTensorHook({"s": step}, every_n_iter=4, formatter=lambda v: f"at {v['s']}"),
                 tf.train.LoggingTensorHook({"s": step}, at_end=True),
                 tf.train.StopAtStepHook(last_step=5)]
        with tf.train.MonitoredSession(hooks=hooks) as sess:
            while not sess.should_stop():
                sess.run(train)
    lines = [m for level, m in logged if level == "INFO" and " = " in m or m.startswith("at ")]
    # a float32 prints as NumPy prints it; the seconds since the last line follow from the second line on
    assert [re.sub(r" \(\d+\.\d{3} sec\)$", "", m) for m in lines] == [
        "loss = 1.0, step = 1", "w = 1.8", "at 1", "loss = 0.4096, step = 3", "w = 1.4096", "loss = 0.16777217, step = 5",
        "at 5", "loss = 0.10737418, step = 5", "s = 5"]
    assert [bool(re.search(r" \(\d+\.\d{3} sec\)$", m)) for m in lines] == [False, False, False, True, True, True,
                                                                            False, True, False]
    with tf.Graph().as_default():
        other = tf.constant(1.0)
    with pytest.raises(ValueError, match="should have graph attribute that is equal to current graph"):
        tf.train.LoggingTensorHook([other], every_n_iter=1).begin()
    for bad, message in [({}, "either at_end and/or exactly one"), ({"every_n_iter": 1, "every_n_secs": 1}, "exactly"),
                         ({"every_n_iter": 0}, "invalid every_n_iter=0.")]:
        with pytest.raises(ValueError, match=message):
            tf.train.LoggingTensorHook([other], **bad)


def test_step_counter_and_summaries_are_written_at_tf_steps(tmp_path, logged):
    pytest.importorskip("tensorboardX")
    from tests.helpers import read_scalars
    with tf.Graph().as_default():
        step, w, loss, train = _program()
        tf.summary.scalar("loss", loss)
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), save_summaries_steps=3,
                                               log_step_count_steps=2,
                                               hooks=[tf.train.StopAtStepHook(last_step=7)]) as sess:
            while not sess.should_stop():
                sess.run(train)
    scalars = read_scalars(str(tmp_path))
    # the summary is run at the first step and then every third one, and written at the step after that run
    assert [s for s, _ in scalars["loss"]] == [1, 4, 7]
    np.testing.assert_allclose([v for _, v in scalars["loss"]], [LOSS[0], LOSS[3], LOSS[6]], rtol=1e-6)
    # the step rate from the second count on (the first only starts the clock)
    assert [s for s, _ in scalars["global_step/sec"]] == [3, 5, 7]
    assert all(v > 0 for _, v in scalars["global_step/sec"])
    assert len([m for _, m in logged if m.startswith("global_step/sec: ")]) == 3


def test_without_tensorboardx_summaries_are_not_written_and_a_warning_says_so(tmp_path, monkeypatch, logged):
    monkeypatch.setattr(monitored_session, "_tensorboard_available", lambda: False)
    with tf.Graph().as_default():
        step, w, loss, train = _program()
        tf.summary.scalar("loss", loss)
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path), log_step_count_steps=1,
                                               hooks=[tf.train.StopAtStepHook(last_step=3)]) as sess:
            while not sess.should_stop():
                sess.run(train)
    assert sorted(os.listdir(tmp_path)) == ["checkpoint", "model.ckpt-0.npz", "model.ckpt-3.npz"]
    assert any(level == "WARNING" and "tensorboardX is not installed" in m for level, m in logged)
    assert len([m for _, m in logged if m.startswith("global_step/sec: ")]) == 2        # still logged


def test_hooks_need_a_global_step(tmp_path):
    with tf.Graph().as_default():
        x = tf.constant(1.0)
        with pytest.raises(RuntimeError, match="Global step should be created to use StopAtStepHook."):
            tf.train.MonitoredSession(hooks=[tf.train.StopAtStepHook(num_steps=1)])
        with pytest.raises(RuntimeError, match="Global step should be created to use StepCounterHook."):
            tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path))
        assert tf.train.get_global_step() is None
    with tf.Graph().as_default():
        tf.Variable(1.5, name="global_step")
        with pytest.raises(TypeError, match='Existing "global_step" does not have integer type: float32'):
            tf.train.get_global_step()
    for make, message in [(lambda: tf.train.StopAtStepHook(), "One of num_steps or last_step must be specified."),
                          (lambda: tf.train.StopAtStepHook(1, 2), "Only one of num_steps or last_step"),
                          (lambda: tf.train.CheckpointSaverHook("d"), "Either every_secs or every_steps"),
                          (lambda: tf.train.CheckpointSaverHook("d", 1, 1), "Can not provide both every_secs"),
                          (lambda: tf.train.CheckpointSaverHook("d", 1, saver=1, scaffold=2), "both saver and scaffold"),
                          (lambda: tf.train.StepCounterHook(None), "exactly one of every_n_steps and every_n_secs"),
                          (lambda: tf.train.SummarySaverHook(save_steps=1), "Exactly one of scaffold or summary_op")]:
        with pytest.raises(ValueError, match=message):
            make()


def test_global_step_waiter_hook_on_one_worker():
    with tf.Graph().as_default():
        step = tf.Variable(np.int64(4), name="global_step", trainable=False)        # found by its name, as TF
        inc = tf.assign_add(step, 1)
        assert tf.train.get_global_step() is step
        with tf.train.MonitoredSession(hooks=[tf.train.GlobalStepWaiterHook(4)]) as sess:
            assert sess.run(inc) == 5
        with tf.train.MonitoredSession(hooks=[tf.train.GlobalStepWaiterHook(9)]) as sess:
            with pytest.raises(NotImplementedError, match="global step is 4 and would have to reach 9"):
                sess.run(inc)


# ----- stopping -------------------------------------------------------------------------------------------
def test_stop_conditions():
    with tf.Graph().as_default():
        step = tf.Variable(np.int64(10), name="global_step", trainable=False)
        inc = tf.assign_add(step, 1)
        seen = []

        def run(hooks, monitored=tf.train.MonitoredSession):
            with monitored(hooks=hooks) as sess:
                while not sess.should_stop():
                    seen.append(int(sess.run(inc)))
                with pytest.raises(RuntimeError, match="Run called even after should_stop requested."):
                    sess.run(inc)
            out = list(seen)
            seen.clear()
            return out

        assert run([tf.train.StopAtStepHook(num_steps=3)]) == [11, 12, 13]      # counted from the start value
        assert run([tf.train.StopAtStepHook(last_step=2)]) == [11]               # past it: one run, then stop

        class StopAfter(tf.train.SessionRunHook):
            def __init__(self, n):
                self.n = n

            def after_run(self, run_context, run_values):
                self.n -= 1
                if self.n == 0:
                    run_context.request_stop()
                assert run_context.stop_requested == (self.n == 0)

        assert run([StopAfter(2)], tf.train.SingularMonitoredSession) == [11, 12]

        class CoordStop(tf.train.SessionRunHook):
            def __init__(self, ex=None):
                self.ex = ex

            def after_create_session(self, session, coord):
                coord.request_stop(self.ex)

        with tf.train.MonitoredSession(hooks=[CoordStop()]) as sess:
            assert sess.should_stop() and sess.run(inc) == 11            # a coordinator stop does not refuse runs
        with tf.train.MonitoredSession(hooks=[CoordStop(ValueError("boom"))]) as sess:
            assert sess.should_stop()                                     # its exception means stop here ...
        with pytest.raises(ValueError, match="boom"):
            with tf.train.SingularMonitoredSession(hooks=[CoordStop(ValueError("boom"))]) as sess:
                sess.should_stop()                                        # ... and is raised here


def test_nan_tensor_hook(tmp_path, logged):
    d = str(tmp_path)
    log = []
    with tf.Graph().as_default() as g:
        step = tf.train.get_or_create_global_step()
        x = tf.placeholder(tf.float32, (), name="x")
        w = tf.Variable(1.0, name="w")
        loss = tf.log(x) * w
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
        feeds = iter([1.0, 2.0, -1.0, 3.0])
        hooks = [tf.train.NanTensorHook(loss), Recorder("r", log)]
        with pytest.raises(tf.train.NanLossDuringTrainingError, match=r"^NaN loss during training.$"):
            with tf.train.MonitoredTrainingSession(checkpoint_dir=d, hooks=hooks, save_checkpoint_steps=2) as sess:
                while not sess.should_stop():
                    sess.run(train, {x: next(feeds)})
        assert next(feeds) == 3.0                   # the third run raised
        assert [e[1] for e in log].count("after_run") == 2 and "end" not in [e[1] for e in log]
        assert ("ERROR", "Model diverged with loss = NaN.") in logged
        # saved at 0 and 2; the run that failed saved nothing at its end
        assert _state(d).splitlines()[0] == 'model_checkpoint_path: "model.ckpt-2"'
        assert not g.finalized and sess.should_stop()

        feeds = iter([1.0, -1.0, 3.0])
        with tf.train.MonitoredSession(hooks=[tf.train.NanTensorHook(loss, fail_on_nan_loss=False), *hooks[1:]]) as sess:
            while not sess.should_stop():
                sess.run(train, {x: next(feeds)})
        assert next(feeds) == 3.0 and log[-1] == ("r", "end", 2)
        assert ("WARNING", "Model diverged with loss = NaN.") in logged


def test_out_of_range_ends_training_cleanly(tmp_path):
    d = str(tmp_path)
    log = []
    with tf.Graph().as_default():
        step = tf.train.get_or_create_global_step()
        x = tf.data.make_one_shot_iterator(tf.data.Dataset.from_tensor_slices(np.float32([0, 1, 2]))).get_next()
        w = tf.Variable(2.0, name="w")
        loss = tf.square(w - x)
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=step)
        losses, after_loop = [], False
        with tf.train.MonitoredTrainingSession(checkpoint_dir=d, hooks=[Recorder("r", log)]) as sess:
            while not sess.should_stop():
                losses.append(float(sess.run([train, loss])[1]))
            after_loop = True
        assert sess.should_stop() and not after_loop
    # w: 2 -> 1.6 (x = 0) -> 1.48 (x = 1) -> 1.584 (x = 2)
    np.testing.assert_allclose(losses, [4.0, 0.36, 0.2704], rtol=1e-6)
    assert [e[1] for e in log].count("after_run") == 3 and log[-1] == ("r", "end", 3)
    assert _state(d).splitlines() == ['model_checkpoint_path: "model.ckpt-3"', 'all_model_checkpoint_paths: '
                                      '"model.ckpt-0"', 'all_model_checkpoint_paths: "model.ckpt-3"']
    assert _values(os.path.join(d, "model.ckpt-3"))["w"] == pytest.approx(1.584, rel=1e-6)


def test_other_errors_leave_the_with_block_without_end():
    log = []
    with tf.Graph().as_default() as g:
        step, w, loss, train = _program()
        with pytest.raises(KeyError, match="mine"):
            with tf.train.MonitoredSession(hooks=[Recorder("r", log)]) as sess:
                sess.run(train)
                raise KeyError("mine")
        assert [e[1] for e in log] == ["begin", "after_create_session", "before_run", "after_run"]
        assert not g.finalized and sess.should_stop()
        with pytest.raises(RuntimeError, match="Session is already closed."):
            sess.close()
        with pytest.raises(RuntimeError, match="the session is closed"):
            sess.run(train)


def test_run_step_fn():
    log = []
    with tf.Graph().as_default():
        step, w, loss, train = _program()

        def step_fn(step_context):
            before = float(step_context.session.run(w))     # the raw session: no hooks
            step_context.run_with_hooks(train)
            if before < 1.6:
                step_context.request_stop()
            return before

        class Steps:
            def step(self, step_context):
                return step_context.run_with_hooks(loss)

        got = []
        with tf.train.MonitoredSession(hooks=[Recorder("r", log)]) as sess:
            assert sess.run_step_fn(Steps().step) == pytest.approx(LOSS[0])
            while not sess.should_stop():
                got.append(sess.run_step_fn(step_fn))
        assert got == pytest.approx(W[:3], rel=1e-6)
        # request_stop raised StopIteration out of the fourth call, which the with block took as the end
        assert [e[1] for e in log].count("after_run") == 5 and log[-1] == ("r", "end", 4)
        with tf.train.MonitoredSession() as sess:
            with pytest.raises(ValueError, match=r"Got \('ctx',\) instead."):
                sess.run_step_fn(lambda ctx: 1)


# ----- session creation: Scaffold, the graph ---------------------------------------------------------------
def test_graph_is_finalized_while_the_session_runs():
    with tf.Graph().as_default() as g:
        step, w, loss, train = _program()
        with tf.train.MonitoredSession() as sess:
            assert g.finalized and sess.graph is g
            with pytest.raises(RuntimeError, match="Graph is finalized and cannot be modified."):
                tf.constant(1.0)
        assert not g.finalized and sess.graph is None
        tf.constant(1.0)                            # open again, as TF
        # a graph finalized before stays so: its scaffold's pieces come from the collections
        tf.train.Scaffold().finalize()
        with tf.train.MonitoredSession() as sess:
            assert float(sess.run(w)) == 2.0
        assert g.finalized


def test_scaffold_init_pieces():
    calls = []
    with tf.Graph().as_default():
        start = tf.placeholder(tf.float32, (), name="start")
        v = tf.Variable(start, name="v")
        mean, update = tf.metrics.mean(v)              # local variables: the local init op sets them

        def init_fn(scaffold, session):
            calls.append(scaffold)
            v.load(session.run(v) + 1.0, session)         # the graph is finalized: no new ops

        scaffold = tf.train.Scaffold(init_feed_dict={start: 3.0}, init_fn=init_fn)
        with tf.train.SingularMonitoredSession(scaffold=scaffold) as sess:
            assert float(sess.run(v)) == 4.0 and calls == [scaffold]
            sess.run(update)
            assert float(sess.run(mean)) == 4.0
        assert tf.get_collection(tf.GraphKeys.INIT_OP) == [scaffold.init_op]
        assert tf.get_collection(tf.GraphKeys.SAVERS) == [scaffold.saver]
        assert scaffold.summary_op is None and tf.get_collection(tf.GraphKeys.SUMMARY_OP) == []
        copy = tf.train.Scaffold(copy_from_scaffold=scaffold, init_feed_dict={start: -1.0})
        assert copy.init_op is scaffold.init_op and copy.saver is scaffold.saver and copy.init_feed_dict == {start: -1.0}
        with tf.train.SingularMonitoredSession(scaffold=copy) as sess:
            assert float(sess.run(v)) == 0.0 and calls == [scaffold, copy]      # init_fn is called with its scaffold
        with pytest.raises(TypeError, match="copy_from_scaffold is not a Scaffold instance."):
            tf.train.Scaffold(copy_from_scaffold=1)


def test_scaffold_refuses_an_incomplete_init_and_two_candidates():
    with tf.Graph().as_default():
        a = tf.Variable(1.0, name="a")
        b = tf.Variable(2.0, name="b")
        scaffold = tf.train.Scaffold(init_op=tf.variables_initializer([a]))
        with pytest.raises(RuntimeError, match="Init operations did not make model ready for local_init.  Init op: "
                                               "init, init fn: None, error: Variables not initialized: b$"):
            tf.train.MonitoredSession(tf.train.ChiefSessionCreator(scaffold=scaffold))
    with tf.Graph().as_default():
        tf.Variable(1.0, name="a")
        tf.add_to_collection(tf.GraphKeys.INIT_OP, tf.no_op())
        tf.add_to_collection(tf.GraphKeys.INIT_OP, tf.no_op())
        with pytest.raises(RuntimeError, match='More than one item in the collection "init_op".*init_op=item to use'):
            tf.train.Scaffold().finalize()


def test_singular_session_restores_a_named_checkpoint(tmp_path):
    d = str(tmp_path)
    _train(d, [tf.train.StopAtStepHook(last_step=4)], save_checkpoint_steps=2)
    log = []
    with tf.Graph().as_default():
        step, w, loss, train = _program()
        with tf.train.SingularMonitoredSession(hooks=[Recorder("r", log, step)],
                                               checkpoint_filename_with_path=os.path.join(d, "model.ckpt-2")) as sess:
            assert float(sess.raw_session().run(w)) == pytest.approx(W[2], rel=1e-6)
            assert int(sess.run(step)) == 2
        assert [e for e in log if e[1] == "after_run"] == [("r", "after_run", 2)]       # the raw run had no hooks
        with pytest.raises(ValueError, match="Can not provide both checkpoint_dir and checkpoint_filename_with_path."):
            tf.train.SingularMonitoredSession(checkpoint_dir=d, checkpoint_filename_with_path=d)
        with pytest.raises(NotImplementedError, match="is_chief=False"):
            tf.train.MonitoredTrainingSession(is_chief=False)


def test_get_checkpoint_state(tmp_path):
    d = tmp_path
    assert tf.train.get_checkpoint_state(str(d / "missing")) is None
    (d / "checkpoint").write_text('model_checkpoint_path: "/abs/m-3"\nall_model_checkpoint_paths: "m-1"\n'
                                  'all_model_checkpoint_paths: "/abs/m-3"\n')
    state = tf.train.get_checkpoint_state(str(d))
    assert state.model_checkpoint_path == "/abs/m-3" and state.all_model_checkpoint_paths == [str(d / "m-1"),
                                                                                              "/abs/m-3"]
    (d / "checkpoint").write_text("not a state\n")
    assert tf.train.get_checkpoint_state(str(d)) is None
    (d / "checkpoint").write_text("")
    with pytest.raises(ValueError, match="Invalid checkpoint state loaded from"):
        tf.train.get_checkpoint_state(str(d))
    # a state file naming a checkpoint that is gone is restored from, and fails, as TF
    (d / "checkpoint").write_text('model_checkpoint_path: "gone-1"\n')
    with tf.Graph().as_default():
        _program()
        with pytest.raises(ValueError, match="The passed save_path is not a valid checkpoint"):
            tf.train.MonitoredTrainingSession(checkpoint_dir=str(d))
