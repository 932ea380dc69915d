"""TF1's monitored training (``tf.train.MonitoredTrainingSession``, ``MonitoredSession``,
``SingularMonitoredSession``, ``Scaffold``, ``ChiefSessionCreator``), as TF 2.21's ``compat.v1`` runs it in one
process: the session is made on a finalized graph, initialized by the scaffold's ops or restored from the newest
checkpoint of ``checkpoint_dir`` (training resumes at the saved global step), and each ``run`` goes through the
hooks (``static_api.session_run_hooks``).

    >>> import static_api as tf
    >>> with tf.Graph().as_default():
    ...     step = tf.train.get_or_create_global_step()
    ...     w = tf.Variable(1.0, name="w")
    ...     train = tf.train.GradientDescentOptimizer(0.25).minimize(w * w, global_step=step)
    ...     seen = []
    ...     with tf.train.MonitoredTrainingSession(hooks=[tf.train.StopAtStepHook(num_steps=2)]) as sess:
    ...         while not sess.should_stop():
    ...             seen.append(sess.run([train, step, w])[1:])
    ...     [(int(s), float(v)) for s, v in seen]
    [(1, 0.5), (2, 0.25)]

Not here: distributed training (``is_chief=False``, ``WorkerSessionCreator``; ``MonitoredSession`` recovers
from no preemption errors, which one process does not raise), queue runners, and the GraphDef, MetaGraph and
session-log events TF writes next to its checkpoints.
"""
from __future__ import annotations

import importlib.util
import inspect
import os
from typing import Any, Callable, Sequence

import numpy

from core.op import Op
from core import state as _state
from static_api import ops
from static_api import session_run_hooks as hooks_lib
from static_api import summary as summary_lib
from static_api import tf_logging as logging
from static_api.config import RunMetadata, RunOptions
from static_api.errors import FailedPreconditionError, OutOfRangeError
from static_api.graph import Graph, get_default_graph
from static_api.session import Session
from static_api.session_run_hooks import *  # noqa: F401,F403  (tf.train's hooks, re-exported with this module)
from static_api.session_run_hooks import SAVERS, SessionRunArgs, SessionRunContext, SessionRunHook, SessionRunValues
from static_api.train import Saver, get_checkpoint_state
from static_api.variables import (global_variables, global_variables_initializer, local_variables,
                                  local_variables_initializer)

__all__ = ["Scaffold", "SessionCreator", "ChiefSessionCreator", "MonitoredSession", "SingularMonitoredSession",
           "MonitoredTrainingSession", "get_checkpoint_state"] + hooks_lib.__all__

# TF's GraphKeys where a Scaffold finds (or leaves) its pieces.
INIT_OP, READY_OP, READY_FOR_LOCAL_INIT_OP = "init_op", "ready_op", "ready_for_local_init_op"
LOCAL_INIT_OP, SUMMARY_OP = "local_init_op", "summary_op"

USE_DEFAULT = object()      # MonitoredTrainingSession's "argument not given" (None turns a saver off)


# -- readiness ---------------------------------------------------------------------------------------------
class _ReportUninitialized(Op):
    """TF's ``report_uninitialized_variables``: the names (bytes) of the variables the running session does not
    hold yet, an empty vector once all are initialized."""

    name = "ReportUninitializedVariables"
    arg_names = ()
    differentiable = False
    pure = False        # reads the session's variables

    def __init__(self, variables: Sequence[Any]) -> None:
        self.keys = [v.key for v in variables]

    def infer(self):
        return [((None,), numpy.dtype(object))]

    def forward(self, be):
        st = _state.active()
        return numpy.array([k.encode("utf-8") for k in self.keys if k not in st], dtype=object)


def _report_uninitialized(variables: Sequence[Any]) -> Any:
    return get_default_graph()._source(_ReportUninitialized(variables), "report_uninitialized_variables")


def _ready(op: Any, sess: Session, msg: str) -> tuple[bool, str | None]:
    """Whether ``op`` (a ready op: names of what is not initialized) reports the model ready, and why not."""
    if op is None:
        return True, None
    try:
        value = sess.run(op)
    except FailedPreconditionError as e:
        if "uninitialized" not in str(e):
            logging.warning("%s : error [%s]", msg, str(e))
            raise
        return False, str(e)
    if value is None or value.dtype == numpy.int32 or value.size == 0:
        return True, None
    return False, "Variables not initialized: " + ", ".join(n.decode("utf-8") for n in value)


def _maybe_name(obj: Any) -> str:
    if obj is None:
        return "None"
    return obj.name if hasattr(obj, "name") else f"<no name for {type(obj)}>"


# -- Scaffold ----------------------------------------------------------------------------------------------
class Scaffold:
    """The pieces a monitored session needs: ``init_op`` (default: all global variables' initializers),
    ``ready_op`` (the names of the variables not initialized), ``ready_for_local_init_op``, ``local_init_op``
    (the local variables' initializers), ``summary_op`` (``tf.summary.merge_all()``) and ``saver`` (a ``Saver``
    of the global variables).  ``finalize()`` takes each one not given from its graph collection
    (``init_op``, ``ready_op``, ..., ``savers``), or makes it there, then finalizes the graph."""

    def __init__(self, init_op: Any = None, init_feed_dict: dict | None = None,
                 init_fn: Callable[["Scaffold", Session], None] | None = None, ready_op: Any = None,
                 ready_for_local_init_op: Any = None, local_init_op: Any = None, summary_op: Any = None,
                 saver: Saver | None = None, copy_from_scaffold: "Scaffold | None" = None,
                 local_init_feed_dict: dict | None = None) -> None:
        if copy_from_scaffold is not None:
            if not isinstance(copy_from_scaffold, Scaffold):
                raise TypeError("copy_from_scaffold is not a Scaffold instance.")
            old = copy_from_scaffold

            def pick(given: Any, inherited: Any) -> Any:
                return given if given is not None else inherited
            init_op, init_feed_dict = pick(init_op, old.init_op), pick(init_feed_dict, old.init_feed_dict)
            init_fn, ready_op = pick(init_fn, old._user_init_fn), pick(ready_op, old.ready_op)
            ready_for_local_init_op = pick(ready_for_local_init_op, old.ready_for_local_init_op)
            local_init_op = pick(local_init_op, old.local_init_op)
            local_init_feed_dict = pick(local_init_feed_dict, old.local_init_feed_dict)
            summary_op, saver = pick(summary_op, old.summary_op), pick(saver, old.saver)
        self._user_init_fn = init_fn
        self._init_fn = (lambda sess: init_fn(self, sess)) if init_fn else None
        self._init_op, self._init_feed_dict = init_op, init_feed_dict
        self._ready_op, self._ready_for_local_init_op = ready_op, ready_for_local_init_op
        self._local_init_op, self._local_init_feed_dict = local_init_op, local_init_feed_dict
        self._summary_op, self._saver = summary_op, saver

    def finalize(self) -> "Scaffold":
        """Make the missing pieces and finalize the default graph."""
        if self._init_op is None:
            self._init_op = Scaffold.get_or_default("init_op", INIT_OP,
                                                    lambda: ops.group(global_variables_initializer()))
        if self._ready_op is None:
            self._ready_op = Scaffold.get_or_default(
                "ready_op", READY_OP,
                lambda: _report_uninitialized(global_variables() + local_variables()))
        if self._ready_for_local_init_op is None:
            self._ready_for_local_init_op = Scaffold.get_or_default(
                "ready_for_local_init_op", READY_FOR_LOCAL_INIT_OP, lambda: _report_uninitialized(global_variables()))
        if self._local_init_op is None:
            self._local_init_op = Scaffold.get_or_default("local_init_op", LOCAL_INIT_OP,
                                                          Scaffold.default_local_init_op)
        if self._summary_op is None:
            self._summary_op = Scaffold.get_or_default("summary_op", SUMMARY_OP, summary_lib.merge_all)
        if self._saver is None:
            self._saver = _saver_or_default()
        get_default_graph().finalize()
        logging.info("Graph was finalized.")
        return self

    @property
    def init_fn(self) -> Callable[[Session], None] | None:
        return self._init_fn

    @property
    def init_op(self) -> Any:
        return self._init_op

    @property
    def ready_op(self) -> Any:
        return self._ready_op

    @property
    def ready_for_local_init_op(self) -> Any:
        return self._ready_for_local_init_op

    @property
    def local_init_op(self) -> Any:
        return self._local_init_op

    @property
    def local_init_feed_dict(self) -> dict | None:
        return self._local_init_feed_dict

    @property
    def summary_op(self) -> Any:
        return self._summary_op

    @property
    def saver(self) -> Saver | None:
        return self._saver

    @property
    def init_feed_dict(self) -> dict | None:
        return self._init_feed_dict

    @staticmethod
    def get_or_default(arg_name: str, collection_key: str, default_constructor: Callable[[], Any]) -> Any:
        """The one item of the graph collection ``collection_key``, else ``default_constructor()`` added to it."""
        g = get_default_graph()
        elements = g.get_collection(collection_key)
        if elements:
            if len(elements) > 1:
                raise RuntimeError(f'More than one item in the collection "{collection_key}". Please indicate which '
                                   f"one to use by passing it to the tf.Scaffold constructor as:  "
                                   f"tf.Scaffold({arg_name}=item to use)")
            return elements[0]
        op = default_constructor()
        if op is not None:
            g.add_to_collection(collection_key, op)
        return op

    @staticmethod
    def default_local_init_op() -> Any:
        """The local variables' initializers as one op (TF's also holds its tables', which dualflow has not)."""
        return ops.group(local_variables_initializer())


def _saver_or_default() -> Saver:
    """The saver of the ``savers`` collection, or a new one of every global variable put there."""
    g = get_default_graph()
    savers = g.get_collection(SAVERS)
    if len(savers) > 1:
        raise RuntimeError(f"More than one item in collection {SAVERS}. Please indicate which one to use by passing "
                           "it to the constructor.")
    if savers:
        return savers[0]
    saver = Saver()
    g.add_to_collection(SAVERS, saver)
    return saver


# -- session creators --------------------------------------------------------------------------------------
class SessionCreator:
    """Makes the session a ``MonitoredSession`` runs (subclass it and define ``create_session``)."""

    def create_session(self) -> Any:
        raise NotImplementedError(f"create_session is not implemented for {self}.")


class ChiefSessionCreator(SessionCreator):
    """Finalizes the scaffold, makes a ``Session`` and restores it from ``checkpoint_filename_with_path`` or the
    newest checkpoint of ``checkpoint_dir``; without one it runs ``init_op`` (with ``init_feed_dict``) and
    ``init_fn``.  Then ``local_init_op`` once the global variables are ready, and a check that every variable
    is initialized (RuntimeError naming those that are not)."""

    def __init__(self, scaffold: Scaffold | None = None, master: str = "", config: Any = None,
                 checkpoint_dir: str | None = None, checkpoint_filename_with_path: str | None = None) -> None:
        self._checkpoint_dir = checkpoint_dir
        self._checkpoint_filename_with_path = checkpoint_filename_with_path
        self._scaffold = scaffold or Scaffold()
        self._master = master
        self._config = config

    def create_session(self) -> Session:
        s = self._scaffold.finalize()
        sess = Session(self._master, graph=get_default_graph(), config=self._config)
        if not self._restore(sess):
            if s.init_op is None and not s.init_fn and s.local_init_op is None:
                raise RuntimeError("Model is not initialized and no init_op or init_fn or local_init_op was given")
            if s.init_op is not None:
                sess.run(s.init_op, feed_dict=s.init_feed_dict)
            if s.init_fn:
                s.init_fn(sess)
        if s.local_init_op is not None:
            ready, msg = _ready(s.ready_for_local_init_op, sess, "Model not ready for local init")
            if not ready:
                raise RuntimeError(f"Init operations did not make model ready for local_init.  Init op: "
                                   f"{_maybe_name(s.init_op)}, init fn: {s.init_fn}, error: {msg}")
            logging.info("Running local_init_op.")
            sess.run(s.local_init_op, feed_dict=s.local_init_feed_dict)
            logging.info("Done running local_init_op.")
        ready, msg = _ready(s.ready_op, sess, "Model not ready")
        if not ready:
            raise RuntimeError(f"Init operations did not make model ready.  Init op: {_maybe_name(s.init_op)}, init "
                               f"fn: {s.init_fn}, local_init_op: {s.local_init_op}, error: {msg}")
        return sess

    def _restore(self, sess: Session) -> bool:
        """Restore ``sess`` from the checkpoint asked for, if any; whether it was.  From a folder, the saver also
        takes over the checkpoints its state file keeps (TF's ``recover_last_checkpoints``), so that
        ``max_to_keep`` counts them and the file keeps listing them."""
        saver = self._scaffold.saver
        if self._checkpoint_dir and self._checkpoint_filename_with_path:
            raise ValueError("Can not provide both checkpoint_dir and checkpoint_filename_with_path.")
        if saver is None or not (self._checkpoint_dir or self._checkpoint_filename_with_path):
            return False
        if self._checkpoint_filename_with_path:
            _restore_from(sess, saver, self._checkpoint_filename_with_path)
            return True
        state = get_checkpoint_state(self._checkpoint_dir)
        if state is None:
            return False
        _restore_from(sess, saver, state.model_checkpoint_path)
        saver.last_checkpoints = [p for p in state.all_model_checkpoint_paths if os.path.exists(p + ".npz")]
        return True


def _restore_from(sess: Session, saver: Saver, path: str) -> None:
    logging.info("Restoring parameters from %s", path)
    saver.restore(sess, path)


# -- monitored sessions ------------------------------------------------------------------------------------
class _Coordinator:
    """What hooks get as ``coord`` in ``after_create_session``: TF's ``tf.train.Coordinator`` reduced to its stop
    flag and the exception reported with it (dualflow starts no queue-runner threads to coordinate).  A stop
    requested here makes ``should_stop()`` true; an exception given with it is raised from ``should_stop()``."""

    def __init__(self) -> None:
        self._stop = False
        self._exception: BaseException | None = None

    def request_stop(self, ex: BaseException | tuple | None = None) -> None:
        if ex is not None and self._exception is None:
            self._exception = ex[1] if isinstance(ex, tuple) else ex
            logging.info("Error reported to Coordinator: %s, %s", type(self._exception), self._exception)
        self._stop = True

    def should_stop(self) -> bool:
        return self._stop

    def raise_requested_exception(self) -> None:
        if self._exception is not None:
            raise self._exception


class _MonitoredSession:
    """See ``MonitoredSession`` and ``SingularMonitoredSession``."""

    def __init__(self, session_creator: SessionCreator | None, hooks: Sequence[SessionRunHook] | None,
                 should_recover: bool, stop_grace_period_secs: float = 120) -> None:
        # stop_grace_period_secs is TF's time for queue-runner threads to stop at close(); there are none here.
        self._graph = get_default_graph()
        self._graph_was_finalized = self._graph.finalized
        self._hooks = list(hooks or [])
        for h in self._hooks:
            h.begin()
        self._should_recover = should_recover
        self._tf_sess = (session_creator or ChiefSessionCreator()).create_session()
        self._coord = _Coordinator()
        for h in self._hooks:
            h.after_create_session(self._tf_sess, self._coord)
        self._stop_requested = False        # a hook asked to stop (TF's _HookedSession)

    @property
    def graph(self) -> Graph | None:
        return None if self._tf_sess is None else self._tf_sess.graph

    def run(self, fetches: Any, feed_dict: dict | None = None, options: Any = None, run_metadata: Any = None) -> Any:
        """``Session.run`` of ``fetches`` with the hooks' fetches, feeds and options merged in, and each hook's
        ``before_run``/``after_run`` around it (in the order the hooks were given)."""
        if self._tf_sess is None:
            raise RuntimeError("MonitoredSession.run: the session is closed.")
        if self._stop_requested:
            raise RuntimeError("Run called even after should_stop requested.")
        actual_fetches = {"caller": fetches}
        run_context = SessionRunContext(SessionRunArgs(fetches, feed_dict), self._tf_sess)
        options = options or RunOptions()
        feed_dict = self._call_hook_before_run(run_context, actual_fetches, feed_dict, options)
        run_metadata = run_metadata or RunMetadata()
        outputs = self._tf_sess.run(actual_fetches, feed_dict=feed_dict, options=options, run_metadata=run_metadata)
        for hook in self._hooks:
            hook.after_run(run_context, SessionRunValues(results=outputs.get(hook), options=options,
                                                         run_metadata=run_metadata))
        self._stop_requested = self._stop_requested or run_context.stop_requested
        return outputs["caller"]

    def _call_hook_before_run(self, run_context: SessionRunContext, fetch_dict: dict, user_feed_dict: dict | None,
                              options: RunOptions) -> dict | None:
        hook_feeds: dict = {}
        for hook in self._hooks:
            request = hook.before_run(run_context)
            if request is None:
                continue
            if request.fetches is not None:
                fetch_dict[hook] = request.fetches
            if request.feed_dict:
                _refuse_common_feeds(hook_feeds, request.feed_dict, "Same tensor is fed by two hooks.")
                hook_feeds.update(request.feed_dict)
            if request.options:
                _merge_run_options(options, request.options)
        if not hook_feeds:
            return user_feed_dict
        if not user_feed_dict:
            return hook_feeds
        _refuse_common_feeds(user_feed_dict, hook_feeds, "Same tensor is fed by a SessionRunHook and user.")
        hook_feeds.update(user_feed_dict)
        return hook_feeds

    def run_step_fn(self, step_fn: Callable[["_MonitoredSession.StepContext"], Any]) -> Any:
        """``step_fn(step_context)``'s value: it may run the raw session (``step_context.session``), run with the
        hooks (``step_context.run_with_hooks``), or stop (``request_stop()`` raises StopIteration, which the
        ``with`` block takes as the end)."""
        args = tuple(inspect.getfullargspec(step_fn).args)
        if args not in (("step_context",), ("self", "step_context")):
            raise ValueError("`step_fn` may either have one `step_context` argument, or `self` and `step_context` "
                             f"arguments if it's an instance method. Got {args} instead.")
        return step_fn(_MonitoredSession.StepContext(self._tf_sess, self.run))

    class StepContext:
        """What ``run_step_fn`` passes its ``step_fn``."""

        def __init__(self, session: Session, run_with_hooks_fn: Callable[..., Any]) -> None:
            self._session = session
            self._run_with_hooks_fn = run_with_hooks_fn

        @property
        def session(self) -> Session:
            return self._session

        def run_with_hooks(self, *args: Any, **kwargs: Any) -> Any:
            return self._run_with_hooks_fn(*args, **kwargs)

        def request_stop(self) -> None:
            raise StopIteration("step_fn has requested the iterations to stop.")

    def should_stop(self) -> bool:
        """True once closed, once a hook asked to stop, or once ``coord.request_stop()`` was called (its
        exception is raised here, except by a ``MonitoredSession``, for which it means stop)."""
        if self._tf_sess is None:
            return True
        try:
            self._coord.raise_requested_exception()
        except Exception:
            if not self._should_recover:
                raise
            return True
        return self._coord.should_stop() or self._stop_requested

    def close(self) -> None:
        self._close_internal()

    def __enter__(self) -> "_MonitoredSession":
        return self

    def __exit__(self, exception_type: type | None, exception_value: BaseException | None, traceback: Any) -> bool:
        # The input running out, or run_step_fn's stop, ends training as a clean stop: the hooks' end() runs and
        # the exception goes no further.
        if exception_type in (OutOfRangeError, StopIteration):
            exception_type = None
        self._close_internal(exception_type)
        return exception_type is None

    def _close_internal(self, exception_type: type | None = None) -> None:
        if self._tf_sess is None:
            raise RuntimeError("Session is already closed.")
        try:
            if not exception_type:
                for h in self._hooks:
                    h.end(self._tf_sess)
        finally:
            self._coord.request_stop()
            self._tf_sess.close()
            self._tf_sess = None
            # As TF, a graph this session finalized can be changed again once it is closed.
            if not self._graph_was_finalized:
                self._graph._finalized = False


class MonitoredSession(_MonitoredSession):
    """A session that runs hooks: at creation each hook's ``begin()``, the session creator's session (default: a
    ``ChiefSessionCreator``: finalized graph, initialized or restored), each hook's ``after_create_session``; at
    each ``run`` the hooks' ``before_run``/``after_run``; at ``close()`` (or the end of a ``with`` block) each
    hook's ``end()`` unless an error other than ``OutOfRangeError`` ended it, and ``OutOfRangeError`` does not
    leave the ``with`` block."""

    def __init__(self, session_creator: SessionCreator | None = None,
                 hooks: Sequence[SessionRunHook] | None = None, stop_grace_period_secs: float = 120) -> None:
        super().__init__(session_creator, hooks, should_recover=True, stop_grace_period_secs=stop_grace_period_secs)


class SingularMonitoredSession(_MonitoredSession):
    """A ``MonitoredSession`` on a ``ChiefSessionCreator`` of its own, whose raw session ``raw_session()`` gives
    (to run without hooks, or to save)."""

    def __init__(self, hooks: Sequence[SessionRunHook] | None = None, scaffold: Scaffold | None = None,
                 master: str = "", config: Any = None, checkpoint_dir: str | None = None,
                 stop_grace_period_secs: float = 120, checkpoint_filename_with_path: str | None = None) -> None:
        creator = ChiefSessionCreator(scaffold=scaffold, master=master, config=config, checkpoint_dir=checkpoint_dir,
                                      checkpoint_filename_with_path=checkpoint_filename_with_path)
        super().__init__(creator, hooks, should_recover=False, stop_grace_period_secs=stop_grace_period_secs)

    def raw_session(self) -> Session | None:
        return self._tf_sess


def _refuse_common_feeds(feeds1: dict, feeds2: dict, message: str) -> None:
    common = set(feeds1) & set(feeds2)
    if common:
        raise RuntimeError(f"{message} Conflict(s): {list(common)}")


def _merge_run_options(options: RunOptions, incoming: RunOptions) -> None:
    """A hook's RunOptions merged into the run's, as TF: the larger number, either flag."""
    options.trace_level = max(options.trace_level, incoming.trace_level)
    options.timeout_in_ms = max(options.timeout_in_ms, incoming.timeout_in_ms)
    options.output_partition_graphs = options.output_partition_graphs or incoming.output_partition_graphs
    options.report_tensor_allocations_upon_oom = (options.report_tensor_allocations_upon_oom
                                                  or incoming.report_tensor_allocations_upon_oom)


def _tensorboard_available() -> bool:
    return importlib.util.find_spec("tensorboardX") is not None


def MonitoredTrainingSession(master: str = "", is_chief: bool = True, checkpoint_dir: str | None = None,  # noqa: N802
                             scaffold: Scaffold | None = None, hooks: Sequence[SessionRunHook] | None = None,
                             chief_only_hooks: Sequence[SessionRunHook] | None = None,
                             save_checkpoint_secs: Any = USE_DEFAULT, save_summaries_steps: Any = USE_DEFAULT,
                             save_summaries_secs: Any = USE_DEFAULT, config: Any = None,
                             stop_grace_period_secs: float = 120, log_step_count_steps: int | None = 100,
                             max_wait_secs: float = 7200, save_checkpoint_steps: Any = USE_DEFAULT,
                             summary_dir: str | None = None, save_graph_def: bool = True) -> MonitoredSession:
    """TF1's: a ``MonitoredSession`` that restores from and checkpoints into ``checkpoint_dir`` (every 600 s by
    default, or every ``save_checkpoint_steps`` steps, and at the end), writes the summaries every 100 steps (or
    ``save_summaries_steps``/``save_summaries_secs``) and the step rate every ``log_step_count_steps`` steps into
    ``summary_dir`` (default ``checkpoint_dir``).  Its hooks run in TF's order: ``chief_only_hooks``, the step
    counter, the summary saver, the checkpoint saver, ``hooks``.  Without tensorboardX no summaries are written
    (a warning says so) and the step rate is only logged.  ``save_graph_def`` changes nothing (no GraphDef
    files); ``max_wait_secs`` is a worker's, and ``is_chief=False`` raises NotImplementedError."""
    if not is_chief:
        raise NotImplementedError("MonitoredTrainingSession: is_chief=False (a worker waiting for a chief to "
                                  "initialize the model) needs distributed training, which dualflow's static_api "
                                  "does not run")
    if save_summaries_steps is USE_DEFAULT and save_summaries_secs is USE_DEFAULT:
        save_summaries_steps, save_summaries_secs = 100, None
    elif save_summaries_secs is USE_DEFAULT:
        save_summaries_secs = None
    elif save_summaries_steps is USE_DEFAULT:
        save_summaries_steps = None
    if save_checkpoint_steps is USE_DEFAULT and save_checkpoint_secs is USE_DEFAULT:
        save_checkpoint_steps, save_checkpoint_secs = None, 600
    elif save_checkpoint_secs is USE_DEFAULT:
        save_checkpoint_secs = None
    elif save_checkpoint_steps is USE_DEFAULT:
        save_checkpoint_steps = None

    scaffold = scaffold or Scaffold()
    all_hooks = list(chief_only_hooks or [])
    creator = ChiefSessionCreator(scaffold=scaffold, checkpoint_dir=checkpoint_dir, master=master, config=config)
    summary_dir = summary_dir or checkpoint_dir
    if summary_dir:
        writes = _tensorboard_available()
        if not writes:
            logging.warning("MonitoredTrainingSession: tensorboardX is not installed, so no summaries are written to "
                            "%s (pip install 'dualflow[tensorboard]'); the step rate is only logged", summary_dir)
        if log_step_count_steps and log_step_count_steps > 0:
            all_hooks.append(hooks_lib.StepCounterHook(output_dir=summary_dir if writes else None,
                                                       every_n_steps=log_step_count_steps))
        if writes and ((save_summaries_steps and save_summaries_steps > 0)
                       or (save_summaries_secs and save_summaries_secs > 0)):
            all_hooks.append(hooks_lib.SummarySaverHook(scaffold=scaffold, save_steps=save_summaries_steps,
                                                        save_secs=save_summaries_secs, output_dir=summary_dir))
    if checkpoint_dir and ((save_checkpoint_secs and save_checkpoint_secs > 0)
                           or (save_checkpoint_steps and save_checkpoint_steps > 0)):
        all_hooks.append(hooks_lib.CheckpointSaverHook(checkpoint_dir, save_steps=save_checkpoint_steps,
                                                       save_secs=save_checkpoint_secs, scaffold=scaffold))
    all_hooks.extend(hooks or [])
    return MonitoredSession(session_creator=creator, hooks=all_hooks, stop_grace_period_secs=stop_grace_period_secs)
