"""TF1's session-run hooks (``tf.train.SessionRunHook`` and the stock hooks), as TF 2.21's ``compat.v1`` runs them
inside a ``MonitoredSession`` (``static_api.monitored_session``).

A hook is told ``begin()`` before the session exists (it may still add ops: the graph is finalized after),
``after_create_session(session, coord)``, then around each ``run``: ``before_run(run_context)`` may return
``SessionRunArgs`` whose fetches run in the same step as the caller's, and ``after_run(run_context, run_values)``
receives their values in ``run_values.results``; ``end(session)`` when the session closes without an error
(an ``OutOfRangeError`` from the input counts as none).

    >>> import static_api as tf
    >>> with tf.Graph().as_default():
    ...     step = tf.train.get_or_create_global_step()
    ...     train = tf.assign_add(step, 1)
    ...     seen = []
    ...     with tf.train.MonitoredSession(hooks=[tf.train.StopAtStepHook(last_step=3)]) as sess:
    ...         while not sess.should_stop():
    ...             seen.append(int(sess.run(train)))
    ...     seen
    [1, 2, 3]
"""
from __future__ import annotations

import collections
import itertools
import os
import time
from typing import Any, Callable, Sequence

import numpy

from static_api import tf_logging as logging
from static_api.errors import OutOfRangeError
from static_api.graph import Graph, Tensor, get_default_graph
from static_api.summary import FileWriter
from static_api.variables import Variable

__all__ = ["SessionRunHook", "SessionRunArgs", "SessionRunContext", "SessionRunValues", "SecondOrStepTimer",
           "LoggingTensorHook", "StopAtStepHook", "CheckpointSaverListener", "CheckpointSaverHook",
           "StepCounterHook", "NanLossDuringTrainingError", "NanTensorHook", "SummarySaverHook",
           "GlobalStepWaiterHook", "FinalOpsHook", "FeedFnHook", "get_global_step"]

GLOBAL_STEP = "global_step"                                 # TF's GraphKeys.GLOBAL_STEP
GLOBAL_STEP_READ_KEY = "global_step_read_op_cache"          # where TF keeps the hooks' read of the global step
SAVERS = "savers"                                           # TF's GraphKeys.SAVERS


class SessionRunHook:
    """A hook into ``MonitoredSession.run``; every method does nothing unless overridden."""

    def begin(self) -> None:
        """Before the session is made; the graph can still be changed."""

    def after_create_session(self, session: Any, coord: Any) -> None:
        """Once the session is made and initialized (or restored); the graph is finalized."""

    def before_run(self, run_context: "SessionRunContext") -> "SessionRunArgs | None":
        """Before each ``run``: what to run along with the caller's fetches, or None."""
        return None

    def after_run(self, run_context: "SessionRunContext", run_values: "SessionRunValues") -> None:
        """After each ``run`` that succeeded: ``run_values.results`` holds what ``before_run`` asked for."""

    def end(self, session: Any) -> None:
        """When the session closes without an error."""


class SessionRunArgs(collections.namedtuple("SessionRunArgs", ["fetches", "feed_dict", "options"])):
    """What a hook adds to a ``run``: fetches (any nesting ``Session.run`` takes), feeds and ``RunOptions``."""

    def __new__(cls, fetches: Any, feed_dict: dict | None = None, options: Any = None) -> "SessionRunArgs":
        return super().__new__(cls, fetches, feed_dict, options)


class SessionRunContext:
    """The ``run`` being made: the caller's arguments, the session running it, and whether a hook asked to stop."""

    def __init__(self, original_args: SessionRunArgs, session: Any) -> None:
        self._original_args = original_args
        self._session = session
        self._stop_requested = False

    @property
    def original_args(self) -> SessionRunArgs:
        return self._original_args

    @property
    def session(self) -> Any:
        return self._session

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def request_stop(self) -> None:
        """Make the monitored session's ``should_stop()`` true after this ``run``."""
        self._stop_requested = True


class SessionRunValues(collections.namedtuple("SessionRunValues", ["results", "options", "run_metadata"])):
    """What a hook gets back: ``results`` in the structure of its ``SessionRunArgs.fetches`` (None if it asked
    for none), and the run's ``RunOptions`` and ``RunMetadata``."""


# -- timers --------------------------------------------------------------------------------------------------
class SecondOrStepTimer:
    """Fires every ``every_secs`` seconds or every ``every_steps`` steps (exactly one of them), and at the first
    step it is asked about."""

    def __init__(self, every_secs: float | None = None, every_steps: int | None = None) -> None:
        self.reset()
        self._every_secs = every_secs
        self._every_steps = every_steps
        if every_secs is None and every_steps is None:
            raise ValueError("Either every_secs or every_steps should be provided.")
        if every_secs is not None and every_steps is not None:
            raise ValueError("Can not provide both every_secs and every_steps.")

    def reset(self) -> None:
        self._last_triggered_step: int | None = None
        self._last_triggered_time: float | None = None

    def should_trigger_for_step(self, step: int) -> bool:
        if self._last_triggered_step is None:
            return True
        if self._last_triggered_step == step:
            return False
        if self._every_secs is not None and time.time() >= self._last_triggered_time + self._every_secs:
            return True
        return self._every_steps is not None and step >= self._last_triggered_step + self._every_steps

    def update_last_triggered_step(self, step: int) -> tuple[float | None, int | None]:
        """Record a firing at ``step``; the seconds and steps since the last one (None at the first)."""
        now = time.time()
        if self._last_triggered_time is None:
            elapsed = None, None
        else:
            elapsed = now - self._last_triggered_time, step - self._last_triggered_step
        self._last_triggered_time, self._last_triggered_step = now, step
        return elapsed

    def last_triggered_step(self) -> int | None:
        return self._last_triggered_step


class _NeverTriggerTimer:
    """LoggingTensorHook's timer when it logs only at the end."""

    def reset(self) -> None:
        pass

    def should_trigger_for_step(self, step: int) -> bool:
        return False

    def update_last_triggered_step(self, step: int) -> tuple[None, None]:
        return None, None


# -- the global step ---------------------------------------------------------------------------------------
def get_global_step(graph: Graph | None = None) -> Tensor | None:
    """TF1's ``tf.train.get_global_step``: the one tensor of the ``global_step`` collection, else the tensor named
    ``global_step:0`` (what ``get_or_create_global_step`` makes), else None; it must be an integer scalar."""
    graph = graph or get_default_graph()
    found = graph.get_collection(GLOBAL_STEP)
    if len(found) > 1:
        logging.error("Multiple tensors in global_step collection.")
        return None
    if found:
        step = found[0]
    else:
        try:
            step = graph.get_tensor_by_name("global_step:0")
        except KeyError:
            return None
    if not isinstance(step, Tensor):
        raise TypeError(f'Existing "global_step" must be a Variable or Tensor: {step}.')
    if step.dtype.kind not in "iu":
        raise TypeError(f'Existing "global_step" does not have integer type: {step.dtype.name}')
    if len(step.shape):
        raise TypeError(f'Existing "global_step" is not scalar: {step.shape}')
    return step


def _global_step_read(graph: Graph | None = None) -> Tensor | None:
    """The hooks' read of the global step, made once per graph as TF's ``_get_or_create_global_step_read``
    (``global_step/add``): the variable's value, or its initial value before it is initialized, plus 0 so that
    the fetch is a copy.  None without a global step."""
    graph = graph or get_default_graph()
    cached = graph.get_collection(GLOBAL_STEP_READ_KEY)
    if len(cached) > 1:
        raise RuntimeError(f"There are multiple items in collection {GLOBAL_STEP_READ_KEY}. There should be only "
                           "one.")
    if cached:
        return cached[0]
    step = get_global_step(graph)
    if step is None:
        return None
    with graph.as_default(), graph.name_scope(step.op.name + "/"):
        read = (step.initialized_value() if isinstance(step, Variable) else step) + 0
    graph.add_to_collection(GLOBAL_STEP_READ_KEY, read)
    return read


def _require_global_step(hook: str) -> Tensor:
    step = _global_step_read()
    if step is None:
        raise RuntimeError(f"Global step should be created to use {hook}.")
    return step


# -- summary writers ---------------------------------------------------------------------------------------
_writers: dict[str, FileWriter] = {}
_writer_numbers = itertools.count(1)


def _summary_writer(logdir: str) -> FileWriter:
    """One ``FileWriter`` per folder for every hook writing there, as TF's ``SummaryWriterCache``, so the step
    rate and the summaries share an events file.  Its file name ends in ``.<process>.<n>``: the writer is closed
    when the session ends (``_release_summary_writer``), and the next one for the folder may open in the same
    second."""
    key = os.path.abspath(logdir)
    if key not in _writers:
        _writers[key] = FileWriter(logdir, filename_suffix=f".{os.getpid()}.{next(_writer_numbers)}")
    return _writers[key]


def _release_summary_writer(logdir: str | None, writer: FileWriter | None) -> bool:
    """Close ``writer`` when a session ends if it is ``logdir``'s cached one, and say whether it was: TF flushes it
    there, but tensorboardX's flush leaves out the events its writer thread has not taken yet; closing waits for
    them.  A hook used again takes a new one from the cache."""
    if not logdir or writer is None or _writers.get(os.path.abspath(logdir)) is not writer:
        return False
    del _writers[os.path.abspath(logdir)]
    writer.close()
    return True


# -- stock hooks -------------------------------------------------------------------------------------------
class LoggingTensorHook(SessionRunHook):
    """Logs ``tensors`` (a list of tensors or names, or a dict tag -> tensor, logged in sorted tag order) at
    INFO every ``every_n_iter`` runs or ``every_n_secs`` seconds, with the seconds since the last log, and once
    more at the end with ``at_end``; ``formatter(values)`` gives the whole line instead."""

    def __init__(self, tensors: Sequence[Any] | dict, every_n_iter: int | None = None,
                 every_n_secs: float | None = None, at_end: bool = False,
                 formatter: Callable[[dict], str] | None = None) -> None:
        only_at_end = at_end and every_n_iter is None and every_n_secs is None
        if not only_at_end and (every_n_iter is None) == (every_n_secs is None):
            raise ValueError("either at_end and/or exactly one of every_n_iter and every_n_secs must be provided.")
        if every_n_iter is not None and every_n_iter <= 0:
            raise ValueError(f"invalid every_n_iter={every_n_iter}.")
        if isinstance(tensors, dict):
            self._tag_order = sorted(tensors)
        else:
            self._tag_order = list(tensors)
            tensors = {item: item for item in self._tag_order}
        self._tensors = tensors
        self._formatter = formatter
        self._timer = (_NeverTriggerTimer() if only_at_end
                       else SecondOrStepTimer(every_secs=every_n_secs, every_steps=every_n_iter))
        self._log_at_end = at_end

    def begin(self) -> None:
        self._timer.reset()
        self._iter_count = 0
        self._current_tensors = {tag: _as_graph_element(t) for tag, t in self._tensors.items()}

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        self._should_trigger = self._timer.should_trigger_for_step(self._iter_count)
        return SessionRunArgs(self._current_tensors) if self._should_trigger else None

    def _log_tensors(self, values: dict) -> None:
        original = numpy.get_printoptions()
        numpy.set_printoptions(suppress=True)
        try:
            elapsed, _ = self._timer.update_last_triggered_step(self._iter_count)
            if self._formatter:
                logging.info(self._formatter(values))
            else:
                # "%s" as TF: an f-string would print a float32 through Python's float (1.7999999523162842)
                stats = ", ".join("%s = %s" % (tag, values[tag]) for tag in self._tag_order)
                if elapsed is not None:
                    logging.info("%s (%.3f sec)", stats, elapsed)
                else:
                    logging.info("%s", stats)
        finally:
            numpy.set_printoptions(**original)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if self._should_trigger:
            self._log_tensors(run_values.results)
        self._iter_count += 1

    def end(self, session: Any) -> None:
        if self._log_at_end:
            self._log_tensors(session.run(self._current_tensors))


def _as_graph_element(obj: Any) -> Any:
    """A tensor of the default graph, or the one a name gives (``"loss"`` is ``"loss:0"``, refused where the op
    has a second output)."""
    graph = get_default_graph()
    if not isinstance(obj, str):
        if getattr(obj, "graph", None) is not graph:
            raise ValueError(f"Passed {obj} should have graph attribute that is equal to current graph {graph}.")
        return obj
    if ":" in obj:
        return graph.as_graph_element(obj)
    element = graph.as_graph_element(obj + ":0")
    try:
        graph.as_graph_element(obj + ":1")
    except (KeyError, ValueError):
        return element
    raise ValueError(f"Name {obj} is ambiguous, as this `Operation` has multiple outputs (at least 2).")


class StopAtStepHook(SessionRunHook):
    """Asks to stop once the global step reaches ``last_step``, or ``num_steps`` past its value when the session
    starts (exactly one of them)."""

    def __init__(self, num_steps: int | None = None, last_step: int | None = None) -> None:
        if num_steps is None and last_step is None:
            raise ValueError("One of num_steps or last_step must be specified.")
        if num_steps is not None and last_step is not None:
            raise ValueError("Only one of num_steps or last_step can be specified.")
        self._num_steps = num_steps
        self._last_step = last_step

    def begin(self) -> None:
        self._global_step_tensor = _require_global_step("StopAtStepHook")

    def after_create_session(self, session: Any, coord: Any) -> None:
        if self._last_step is None:
            self._last_step = session.run(self._global_step_tensor) + self._num_steps

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        # The fetched step may be the one before this run's increment: read it again before stopping.
        if run_values.results + 1 >= self._last_step:
            if run_context.session.run(self._global_step_tensor) >= self._last_step:
                run_context.request_stop()


class CheckpointSaverListener:
    """Called around each save of a ``CheckpointSaverHook``; ``after_save`` returning True stops training."""

    def begin(self) -> None:
        pass

    def before_save(self, session: Any, global_step_value: int) -> None:
        pass

    def after_save(self, session: Any, global_step_value: int) -> bool | None:
        pass

    def end(self, session: Any, global_step_value: int) -> None:
        pass


class CheckpointSaverHook(SessionRunHook):
    """Saves ``<checkpoint_dir>/<checkpoint_basename>-<global step>`` when the session starts, every
    ``save_secs`` seconds or ``save_steps`` steps, and at the end unless that step was just saved.  The saver is
    ``saver``, ``scaffold.saver``, or the one of the ``savers`` collection.  ``save_graph_def`` changes nothing:
    dualflow writes no ``graph.pbtxt`` or ``.meta`` files (the graph is not a GraphDef)."""

    def __init__(self, checkpoint_dir: str, save_secs: float | None = None, save_steps: int | None = None,
                 saver: Any = None, checkpoint_basename: str = "model.ckpt", scaffold: Any = None,
                 listeners: Sequence[CheckpointSaverListener] | None = None, save_graph_def: bool = True) -> None:
        logging.info("Create CheckpointSaverHook.")
        if saver is not None and scaffold is not None:
            raise ValueError("You cannot provide both saver and scaffold.")
        self._saver = saver
        self._checkpoint_dir = checkpoint_dir
        self._save_path = os.path.join(checkpoint_dir, checkpoint_basename)
        self._scaffold = scaffold
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)
        self._listeners = list(listeners or [])

    def begin(self) -> None:
        self._global_step_tensor = _require_global_step("CheckpointSaverHook")
        for listener in self._listeners:
            listener.begin()

    def after_create_session(self, session: Any, coord: Any) -> None:
        step = session.run(self._global_step_tensor)
        self._save(session, step)
        self._timer.update_last_triggered_step(step)

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        # TF asks the timer about a step far ahead of the fetched one: by steps that always holds, so the step
        # is read again after the run; by seconds it holds once the time is up.
        if self._timer.should_trigger_for_step(run_values.results + 1000000):
            step = run_context.session.run(self._global_step_tensor)
            if self._timer.should_trigger_for_step(step):
                self._timer.update_last_triggered_step(step)
                if self._save(run_context.session, step):
                    run_context.request_stop()

    def end(self, session: Any) -> None:
        last_step = session.run(self._global_step_tensor)
        if last_step != self._timer.last_triggered_step():
            self._save(session, last_step)
        for listener in self._listeners:
            listener.end(session, last_step)

    def _save(self, session: Any, step: int) -> bool:
        """Save at ``step``; whether a listener asked to stop."""
        logging.info("Calling checkpoint listeners before saving checkpoint %d...", step)
        for listener in self._listeners:
            listener.before_save(session, step)
        logging.info("Saving checkpoints for %d into %s.", step, self._save_path)
        self._get_saver().save(session, self._save_path, global_step=step)
        logging.info("Calling checkpoint listeners after saving checkpoint %d...", step)
        should_stop = False
        for listener in self._listeners:
            if listener.after_save(session, step):
                logging.info(f"A CheckpointSaverListener requested that training be stopped. listener: {listener}")
                should_stop = True
        return should_stop

    def _get_saver(self) -> Any:
        if self._saver is not None:
            return self._saver
        if self._scaffold is not None:
            return self._scaffold.saver
        savers = get_default_graph().get_collection(SAVERS)
        if not savers:
            raise RuntimeError(f"No items in collection {SAVERS}. Please add a saver to the collection or provide a "
                               "saver or scaffold.")
        if len(savers) > 1:
            raise RuntimeError(f"More than one item in collection {SAVERS}. Please indicate which one to use by "
                               "passing it to the constructor.")
        self._saver = savers[0]
        return self._saver


class StepCounterHook(SessionRunHook):
    """Logs ``global_step/sec`` every ``every_n_steps`` steps or ``every_n_secs`` seconds (exactly one), and
    writes it as a scalar summary to ``summary_writer`` or to ``output_dir``'s events file."""

    def __init__(self, every_n_steps: int | None = 100, every_n_secs: float | None = None,
                 output_dir: str | None = None, summary_writer: FileWriter | None = None) -> None:
        if (every_n_steps is None) == (every_n_secs is None):
            raise ValueError("exactly one of every_n_steps and every_n_secs should be provided.")
        self._timer = SecondOrStepTimer(every_steps=every_n_steps, every_secs=every_n_secs)
        self._summary_writer = summary_writer
        self._output_dir = output_dir
        self._last_global_step = None
        self._warnings_left = 5         # TF logs the "not increased" warning the first 5 times only

    def begin(self) -> None:
        self._global_step_tensor = _require_global_step("StepCounterHook")
        if self._summary_writer is None and self._output_dir:
            self._summary_writer = _summary_writer(self._output_dir)
        self._summary_tag = get_global_step().op.name + "/sec"

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._global_step_tensor)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        stale_step = run_values.results
        if self._timer.should_trigger_for_step(stale_step + 1):
            step = run_context.session.run(self._global_step_tensor)
            if self._timer.should_trigger_for_step(step):
                elapsed_time, elapsed_steps = self._timer.update_last_triggered_step(step)
                if elapsed_time is not None:
                    rate = elapsed_steps / elapsed_time
                    if self._summary_writer is not None:
                        self._summary_writer.add_summary({self._summary_tag: rate}, step)
                    logging.info("%s: %g", self._summary_tag, rate)
        if stale_step == self._last_global_step and self._warnings_left:
            self._warnings_left -= 1
            logging.warning("It seems that global step (tf.train.get_global_step) has not been increased. Current "
                            "value (could be stable): %s vs previous value: %s. You could increase the global step "
                            "by passing tf.train.get_global_step() to Optimizer.apply_gradients or "
                            "Optimizer.minimize.", stale_step, self._last_global_step)
        self._last_global_step = stale_step

    def end(self, session: Any) -> None:
        if _release_summary_writer(self._output_dir, self._summary_writer):
            self._summary_writer = None


class NanLossDuringTrainingError(RuntimeError):
    def __str__(self) -> str:
        return "NaN loss during training."


class NanTensorHook(SessionRunHook):
    """Checks ``loss_tensor`` after each run: a NaN raises ``NanLossDuringTrainingError`` (the session closes
    without ``end``), or with ``fail_on_nan_loss=False`` logs a warning and asks to stop."""

    def __init__(self, loss_tensor: Tensor, fail_on_nan_loss: bool = True) -> None:
        self._loss_tensor = loss_tensor
        self._fail_on_nan_loss = fail_on_nan_loss

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(self._loss_tensor)

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if numpy.isnan(run_values.results):
            message = "Model diverged with loss = NaN."
            if self._fail_on_nan_loss:
                logging.error(message)
                raise NanLossDuringTrainingError
            logging.warning(message)
            run_context.request_stop()


class SummarySaverHook(SessionRunHook):
    """Runs ``summary_op`` (or ``scaffold.summary_op``: exactly one of them) at the first run and then every
    ``save_steps`` steps or ``save_secs`` seconds, and writes its values at the global step after that run to
    ``summary_writer`` or ``output_dir``'s events file (TF's session-start events are not written)."""

    def __init__(self, save_steps: int | None = None, save_secs: float | None = None, output_dir: str | None = None,
                 summary_writer: FileWriter | None = None, scaffold: Any = None, summary_op: Any = None) -> None:
        if (scaffold is None) == (summary_op is None):
            raise ValueError("Exactly one of scaffold or summary_op must be provided.")
        self._summary_op = summary_op
        self._summary_writer = summary_writer
        self._output_dir = output_dir
        self._scaffold = scaffold
        self._timer = SecondOrStepTimer(every_secs=save_secs, every_steps=save_steps)

    def begin(self) -> None:
        self._global_step_tensor = _require_global_step("SummarySaverHook")
        if self._summary_writer is None and self._output_dir:
            self._summary_writer = _summary_writer(self._output_dir)
        self._next_step = None

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs | None:
        self._request_summary = self._next_step is None or self._timer.should_trigger_for_step(self._next_step)
        if self._request_summary and self._get_summary_op() is not None:
            return SessionRunArgs({"summary": self._get_summary_op()})
        return None

    def after_run(self, run_context: SessionRunContext, run_values: SessionRunValues) -> None:
        if self._summary_writer is None:
            return
        # TF takes the step fetched with the run plus one, which is the step after the run only where its
        # executor read the step before the run's increment (its order is not fixed): read after the run instead,
        # so that the summaries come every save_steps steps.
        step = run_context.session.run(self._global_step_tensor)
        if self._request_summary:
            self._timer.update_last_triggered_step(step)
            for summary in (run_values.results or {}).get("summary", ()):
                self._summary_writer.add_summary(summary, step)
        self._next_step = step + 1

    def end(self, session: Any = None) -> None:
        if _release_summary_writer(self._output_dir, self._summary_writer):
            self._summary_writer = None
        elif self._summary_writer is not None:
            self._summary_writer.flush()

    def _get_summary_op(self) -> list | None:
        op = self._summary_op if self._summary_op is not None else self._scaffold.summary_op
        if op is None:
            return None
        return op if isinstance(op, list) else [op]


class GlobalStepWaiterHook(SessionRunHook):
    """Holds a worker's first run until the global step reaches ``wait_until_step``.  dualflow trains in one
    process, so nothing else moves the step: a step still short of it raises ``NotImplementedError`` where
    TF would wait forever."""

    def __init__(self, wait_until_step: int) -> None:
        self._wait_until_step = wait_until_step

    def begin(self) -> None:
        self._worker_is_started = False
        self._global_step_tensor = _require_global_step("_GlobalStepWaiterHook")

    def before_run(self, run_context: SessionRunContext) -> None:
        if self._worker_is_started:
            return None
        if self._wait_until_step > 0:
            step = run_context.session.run(self._global_step_tensor)
            if step < self._wait_until_step:
                raise NotImplementedError(
                    f"GlobalStepWaiterHook: the global step is {step} and would have to reach "
                    f"{self._wait_until_step} through other workers; dualflow's static_api trains in one process")
        self._worker_is_started = True
        return None


class FinalOpsHook(SessionRunHook):
    """Runs ``final_ops`` (with ``final_ops_feed_dict``) when the session ends; ``final_ops_values`` holds
    their values."""

    def __init__(self, final_ops: Any, final_ops_feed_dict: dict | None = None) -> None:
        self._final_ops = final_ops
        self._final_ops_feed_dict = final_ops_feed_dict
        self._final_ops_values = None

    @property
    def final_ops_values(self) -> Any:
        return self._final_ops_values

    def end(self, session: Any) -> None:
        if self._final_ops is None:
            return
        try:
            self._final_ops_values = session.run(self._final_ops, feed_dict=self._final_ops_feed_dict)
        except (OutOfRangeError, StopIteration):
            logging.warning("An OutOfRangeError or StopIteration exception is raised by the code in FinalOpsHook. "
                            "This typically means the Ops running by the FinalOpsHook have a dependency back to "
                            "some input source, which should not happen.")
            raise


class FeedFnHook(SessionRunHook):
    """Feeds ``feed_fn()``'s dict into every run."""

    def __init__(self, feed_fn: Callable[[], dict]) -> None:
        self.feed_fn = feed_fn

    def before_run(self, run_context: SessionRunContext) -> SessionRunArgs:
        return SessionRunArgs(fetches=None, feed_dict=self.feed_fn())
