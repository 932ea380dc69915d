"""Keras callbacks for data-parallel ``fit`` (``horovod.tensorflow.keras.callbacks``).

    >>> import static_api.distribute as hvd
    >>> cb = hvd.callbacks.BroadcastGlobalVariablesCallback(0)
    >>> cb.root_rank
    0
"""
from __future__ import annotations

import numpy

from core import comm
from static_api.keras.callbacks import Callback


class BroadcastGlobalVariablesCallback(Callback):
    """When training begins, set every weight of the model to rank ``root_rank``'s value, so all ranks start
    alike whatever their own initialization (optimizer moments start equal: they are made at the first step)."""

    def __init__(self, root_rank: int, device: str = "") -> None:
        self.root_rank = int(root_rank)
        self._ops: dict = {}         # model -> its broadcast op, built once (fit may be called many times)

    def on_train_begin(self, logs: dict | None = None) -> None:
        from static_api.distribute import broadcast_variables
        op = self._ops.get(id(self.model))
        if op is None:
            with self.model.graph.as_default():
                op = self._ops[id(self.model)] = broadcast_variables(self.model.weights, self.root_rank)
        self.model._session().run(op)


class MetricAverageCallback(Callback):
    """At the end of each epoch, replace every metric in ``logs`` by its average over the ranks (each rank
    measured only its shard); list it before callbacks that read the metrics."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if not logs:
            return
        keys = sorted(logs)
        world = comm.world()
        values = numpy.array([float(logs[k]) for k in keys], dtype=numpy.float64)
        world.check_shapes("MetricAverageCallback: the metrics " + ", ".join(keys), [values])
        for k, v in zip(keys, world.host_mean(values)):
            logs[k] = float(v)
