"""``tf.keras.callbacks``: hooks that ``Model.fit`` calls around training and after every epoch.

    >>> from static_api import keras
    >>> stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    >>> stop.patience, stop.mode
    (2, 'auto')
"""
from __future__ import annotations

import csv
import inspect
import io
import os
import sys
import time
import warnings
from typing import Any, Callable

import numpy

from core import errors as _errors
from core import checkpoint, progress


class Callback:
    model: Any = None
    params: dict = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        """``fit``'s settings (``epochs``, ``steps``, ``verbose``), as Keras hands them to every callback."""
        self.params = params

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Before the first epoch."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """After the last epoch (or an early stop)."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Before each epoch."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """After each epoch, with its metrics (validation ones included) in ``logs``."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Before each training batch (``batch`` counts from 0 in each epoch)."""
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """After each training batch, with the epoch's running mean metrics so far in ``logs``."""
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Keras' older name of ``on_train_batch_begin``."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Keras' older name of ``on_train_batch_end``."""


def _rate(model: Any) -> float:
    """The optimizer's learning rate as Keras reads it back: its float32 variable's value (a schedule that
    multiplies what it is given compounds the float32 roundings, as in Keras)."""
    return float(numpy.float32(model.optimizer.learning_rate))


# Compiled metrics' names by the direction they improve in (Keras 3's ``_direction``: "up" or "down").
_UP = frozenset({"accuracy", "acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy"})
_DOWN = frozenset({"mae", "mean_absolute_error", "mse", "mean_squared_error"})


class _Monitor(Callback):
    """A callback that watches ``monitor`` (Keras 3's MonitorCallback).  ``mode`` 'min' or 'max', or 'auto':
    decided at the first epoch's end, 'min' for a loss, else by the model's compiled metric of that name (an
    accuracy rises, an error falls); a name it cannot place raises ValueError there, as in Keras, rather than
    a guess that never stops or saves."""

    def __init__(self, monitor: str, mode: str, min_delta: float = 0.0) -> None:
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
            mode = "auto"
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)
        self._direction = None if mode == "auto" else mode

    def _resolve(self) -> None:
        if self._direction is not None:
            return
        name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
        # The compiled metric's own direction (Keras 3's ``Metric._direction``: an accuracy rises, an error
        # falls), else that of a compiled metric's name
        direction = {m.name: m._direction for m in getattr(self.model, "_metric_objects", ())}.get(name)
        if direction is None and name in getattr(self.model, "metrics_names", ()):
            direction = "up" if name in _UP else "down" if name in _DOWN else None
        if name == "loss" or direction == "down":
            self._direction = "min"
        elif direction == "up":
            self._direction = "max"
        else:
            raise ValueError(f"{type(self).__name__} callback received monitor={self.monitor}, but Keras isn't able "
                             "to automatically determine whether that metric should be maximized or minimized. "
                             "Pass `mode='max'` in order to monitor based on the highest metric value, or pass "
                             "`mode='min'` in order to use the lowest value.")

    def _improves(self, value: float, reference: float | None) -> bool:
        """Better than ``reference`` by more than ``min_delta`` (anything is better than None)."""
        if reference is None:
            return True
        if self._direction == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference


class EarlyStopping(_Monitor):
    """Stop once ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs; with
    ``restore_best_weights`` the best epoch's weights are put back when training ends."""

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0) -> None:
        super().__init__(monitor, mode, min_delta)
        self.patience, self.verbose = patience, verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.stopped_epoch = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best, self.best_weights = None, None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._resolve()
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(logs or {})}", stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:     # until something improves
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        # As Keras 3: the best weights come back at the end of training, stopped early or not.
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class LearningRateScheduler(Callback):
    """Before each epoch, set the optimizer's rate to ``schedule(epoch)`` or ``schedule(epoch, lr)``."""

    def __init__(self, schedule: Callable, verbose: int = 0) -> None:
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        opt = self.model.optimizer
        try:
            takes_lr = len(inspect.signature(self.schedule).parameters) >= 2
        except (TypeError, ValueError):
            takes_lr = False
        lr = self.schedule(epoch, _rate(self.model)) if takes_lr else self.schedule(epoch)
        if not isinstance(lr, (int, float)):
            raise ValueError(f'The output of the "schedule" function should be a float. Got: {lr!r}')
        opt.learning_rate = float(lr)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = _rate(self.model)


class ReduceLROnPlateau(_Monitor):
    """Multiply the learning rate by ``factor`` (down to ``min_lr``) once ``monitor`` has not improved by more
    than ``min_delta`` for ``patience`` epochs, then wait ``cooldown`` epochs before counting again; Keras 3's
    rules (the first value is the first best), its rate read back in float32."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0) -> None:
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        super().__init__(monitor, mode, min_delta)
        self.factor, self.patience, self.verbose = factor, patience, verbose
        self.cooldown, self.min_lr = cooldown, min_lr
        self.on_train_begin()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.best = None
        self.wait = self.cooldown_counter = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._resolve()
        logs = {} if logs is None else logs
        logs["learning_rate"] = _rate(self.model)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}.", stacklevel=2)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improves(current, self.best):
            self.best, self.wait = current, 0
            return
        if self.cooldown_counter > 0:
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        old = _rate(self.model)
        if old > numpy.float32(self.min_lr):
            new = max(old * self.factor, self.min_lr)
            self.model.optimizer.learning_rate = new
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
            self.cooldown_counter, self.wait = self.cooldown, 0


class ModelCheckpoint(_Monitor):
    """Save the model (or only its weights) after each epoch, or only on improvement with ``save_best_only``;
    ``filepath`` may hold ``{epoch}`` and metric fields, as Keras formats it."""

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto") -> None:
        super().__init__(monitor, mode)
        self.filepath, self.verbose, self.save_best_only = filepath, verbose, save_best_only
        self.save_weights_only = save_weights_only
        self.best = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._resolve()
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                # Keras 3 warns and saves anyway (every epoch while the value is missing).
                warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=2)
            elif not self._improves(current, self.best):
                return
            else:
                self.best = current
        (self.model.save_weights if self.save_weights_only else self.model.save)(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}")


class ProgbarLogger(Callback):
    """In-epoch progress, which ``fit(verbose=1)`` adds itself: a bar on a terminal, else a line every few seconds
    on stdout (``fit`` prints each epoch's summary line after it)."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        params = self.params
        self._bar = progress.Progress(f"Epoch {epoch + 1}/{params.get('epochs', '?')}", params.get("steps", 0),
                                      file=sys.stdout, unit="batch", last_line=False)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._bar.update(batch + 1, (logs or {}).get("loss"))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._bar.close()


class TensorBoard(Callback):
    """Write the metrics to a TensorBoard log, as Keras 3 does: ``log_dir/train`` gets ``epoch_<metric>``
    (and ``epoch_learning_rate``) at step = epoch, ``log_dir/validation`` the ``val_`` metrics under the same
    tags; with ``update_freq="batch"`` or an integer N, ``batch_<metric>`` (the epoch's running means) every N
    training batches, at step = the batch count since training began.  ``histogram_freq=N`` writes each weight's
    histogram every N epochs.  Written through tensorboardX (``pip install 'dualflow[tensorboard]'``).

        >>> from static_api import keras
        >>> keras.callbacks.TensorBoard("logs", update_freq=10).update_freq
        10
    """

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, write_steps_per_second: bool = False, update_freq: Any = "epoch",
                 profile_batch: Any = 0, embeddings_freq: int = 0, embeddings_metadata: Any = None) -> None:
        for arg, value in (("write_images", write_images), ("profile_batch", profile_batch),
                           ("embeddings_freq", embeddings_freq), ("embeddings_metadata", embeddings_metadata)):
            if value:
                raise NotImplementedError(f"TensorBoard: {arg}={value!r} is not implemented in dualflow "
                                          "(see docs/compat.md)")
        if update_freq not in ("epoch", "batch") and not (isinstance(update_freq, int) and update_freq > 0):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive integer, got "
                             f"{update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq, self.write_graph = int(histogram_freq), write_graph
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = 1 if update_freq == "batch" else update_freq
        self._writers: dict = {}
        self._global_train_batch = 0

    def _writer(self, which: str) -> Any:
        """The SummaryWriter of ``log_dir/<which>``, made on first use (no empty logs)."""
        if which not in self._writers:
            try:
                from tensorboardX import SummaryWriter
            except ImportError:
                raise ImportError("keras.callbacks.TensorBoard writes through tensorboardX: pip install "
                                  "'dualflow[tensorboard]'") from None
            self._writers[which] = SummaryWriter(os.path.join(self.log_dir, which))
        return self._writers[which]

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._global_train_batch = 0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start, self._epoch_first_batch = time.perf_counter(), self._global_train_batch

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._global_train_batch += 1
        self._batch_start = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        step = self._global_train_batch
        if self.update_freq == "epoch" or step % self.update_freq:
            return
        writer = self._writer("train")
        if self.write_steps_per_second:
            writer.add_scalar("batch_steps_per_second", 1.0 / (time.perf_counter() - self._batch_start), step)
        for name, value in (logs or {}).items():
            writer.add_scalar(f"batch_{name}", float(value), step)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        rate = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
        if isinstance(rate, (int, float)):      # a rate schedule tensor is not a number to log
            train["learning_rate"] = _rate(self.model)
        if self.write_steps_per_second:
            train["steps_per_second"] = ((self._global_train_batch - self._epoch_first_batch)
                                         / (time.perf_counter() - self._epoch_start))
        for name, value in train.items():
            self._writer("train").add_scalar(f"epoch_{name}", float(value), epoch)
        for name, value in logs.items():
            if name.startswith("val_"):
                self._writer("validation").add_scalar(f"epoch_{name[4:]}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            for weight, value in zip(self.model.weights, self.model.get_weights()):
                self._writer("train").add_histogram(weight.op.name, value, epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_train_end(self, logs: dict | None = None) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

class TerminateOnNaN(Callback):
    """Stop training once the loss is NaN or infinite after a batch: ``model.stop_training`` (the epoch ends
    there and the other callbacks' ``on_train_end`` still run), or a RuntimeError with ``raise_error``."""

    def __init__(self, raise_error: bool = False) -> None:
        self.raise_error = raise_error

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and (numpy.isnan(loss) or numpy.isinf(loss)):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. Terminating "
                                   "training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from functions: ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_train_begin(logs)``, ``on_train_end(logs)``, ``on_train_batch_begin(batch, logs)``,
    ``on_train_batch_end(batch, logs)``; other keyword arguments become attributes, as in Keras (so Keras 2's
    ``on_batch_begin``/``on_batch_end`` work too)."""

    def __init__(self, on_epoch_begin: Callable | None = None, on_epoch_end: Callable | None = None,
                 on_train_begin: Callable | None = None, on_train_end: Callable | None = None,
                 on_train_batch_begin: Callable | None = None, on_train_batch_end: Callable | None = None,
                 **kwargs: Any) -> None:
        self.__dict__.update(kwargs)
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
                 "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        self.__dict__.update({k: f for k, f in hooks.items() if f is not None})


class CSVLogger(Callback):
    """One CSV row per epoch (``epoch`` then the logs' names, alphabetical, as Keras writes them; when the first
    epoch has no validation values, ``val_`` columns of each name are added and read ``NA``).  With ``append``
    the rows go after the file's existing ones (no second header unless the file was empty).

    As the rest of dualflow's files, the CSV is written atomically: after each epoch the whole file (what it
    held at the start, plus every row so far) is written to a unique temporary file, synced and renamed over
    ``filename``.  A reader, or a crash, sees the file as of the last finished epoch, never a half-written row;
    Keras' append-and-flush can leave one.  The price is rewriting the file each epoch, small for a log."""

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.keys: list | None = None
        self._text, self._header = "", True       # the rows so far (and what the file held); a header to write

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._text = ""
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                self._text = f.read()
        self._header = not self._text.split("\n", 1)[0]       # Keras: a header unless the first line has text
        self.keys = None
        self._publish()         # as Keras' open(filename, "w"): a fresh log starts empty

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=["epoch"] + self.keys, delimiter=self.sep)
        if self._header:
            writer.writeheader()
            self._header = False
        writer.writerow({"epoch": epoch, **{k: _csv_value(logs.get(k, "NA")) for k in self.keys}})
        self._text += out.getvalue()
        self._publish()

    def _publish(self) -> None:
        data = self._text.encode()
        checkpoint.atomic_write(self.filename, lambda f: f.write(data))


def _csv_value(v: Any) -> Any:
    """Keras' handle_value: a string or number as it is, any other iterable as "[a, b, ...]"."""
    if isinstance(v, str) or not hasattr(v, "__iter__") or (isinstance(v, numpy.ndarray) and v.ndim == 0):
        return v
    return '"[' + ", ".join(map(str, v)) + ']"'


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
