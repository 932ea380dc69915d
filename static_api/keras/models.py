"""``tf.keras.models``: Model (functional) and Sequential, trained through a Session on a static graph."""
from __future__ import annotations

import math
import time
import warnings
from typing import Any, Callable, Sequence

import numpy

from core import errors as _errors
from core import checkpoint, interop
from static_api import ops
from static_api.graph import PlaceholderOp, Tensor
from static_api.keras import backend as K
from static_api.keras import layers as L
from static_api.keras import callbacks as cb_module
from static_api.keras import losses, optimizers, saving
from static_api.keras import metrics as metrics_module
from static_api.session import Session

class History:
    """What ``fit`` returns: per-epoch metrics in ``history``."""

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params: dict = {}


class Model:
    """A graph from ``inputs`` to ``outputs`` with Keras' compile/fit/evaluate/predict."""

    def __init__(self, inputs: Tensor | None = None, outputs: Tensor | None = None, name: str | None = None) -> None:
        self.name = name or ("sequential" if isinstance(self, Sequential) else "functional")
        self._trainable = True
        self._compiled = False
        if inputs is not None:
            self._set_io(inputs, outputs)

    def _set_io(self, inputs: Any, outputs: Any) -> None:
        if isinstance(outputs, (list, tuple)):
            raise NotImplementedError("Model: multiple outputs are not supported yet")
        self.inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self.input, self.output = inputs, outputs     # Keras: model.input is a list for several inputs
        self.graph = self.inputs[0].graph
        self._layers = _layers_between(self.inputs, outputs)

    @property
    def layers(self) -> list:
        """The layers called between the inputs and the output, in Keras' order (see ``_layers_between``)."""
        return list(self._layers)

    @property
    def input_shape(self) -> Any:
        """The input's shape as a tuple (None for the batch), a list of them for several inputs (Keras)."""
        shapes = [tuple(t.shape.as_list()) for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self) -> Any:
        outs = self.output if isinstance(self.output, (list, tuple)) else [self.output]
        shapes = [tuple(t.shape.as_list()) for t in outs]
        return shapes[0] if len(shapes) == 1 else shapes

    def get_layer(self, name: str | None = None, index: int | None = None) -> Any:
        """The layer called ``name``, or the one at ``index`` in ``layers`` (Keras' checks and words)."""
        if name is not None and index is not None:
            raise ValueError(f"Provide only a layer name or a layer index. Received: index={index}, name={name}.")
        if index is not None:
            if len(self.layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        if name is None:
            raise ValueError("Provide either a layer name or layer index at `get_layer`.")
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: {[layer.name for layer in self.layers]}.")

    # ----- weights ---------------------------------------------------------------
    @property
    def weights(self) -> list:
        return [w for lay in self.layers for w in lay.weights]

    @property
    def trainable(self) -> bool:
        """The model's own switch: setting it sets every layer's ``trainable`` too (Keras), and while it is
        False the model has no trainable weights whatever its layers say."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)
        for lay in self.layers:
            lay.trainable = value

    @property
    def trainable_weights(self) -> list:
        return [w for lay in self.layers for w in lay.trainable_weights] if self._trainable else []

    @property
    def non_trainable_weights(self) -> list:
        if not self._trainable:
            return self.weights
        return [w for lay in self.layers for w in lay.non_trainable_weights]

    @property
    def losses(self) -> list:
        """Regularization penalties: every layer's activity ones, then the weights' ones (Keras' order)."""
        return ([t for lay in self.layers for t in lay._activity_losses] +
                [t for lay in self.layers for t in lay._weight_losses])

    def count_params(self) -> int:
        return sum(lay.count_params() for lay in self.layers)

    def _session(self) -> Session:
        """The graph's Keras session (``backend.session_of``), with this model's weights initialized there
        unless another model sharing its layers already did (and maybe trained them)."""
        return K.session_of(self.graph, self.weights)

    def get_weights(self) -> list[numpy.ndarray]:
        return K.batch_get_value(self.weights)

    def set_weights(self, values: Sequence[numpy.ndarray]) -> None:
        K.set_weights(self.name, self.weights, values)

    def weight_layouts(self) -> list:
        return [lay_out for lay in self.layers for lay_out in lay.weight_layouts()]

    def save_weights(self, filepath: str) -> None:
        """Store all weights (in layer order, with their layouts) in a non-executable ``.npz`` checkpoint."""
        weights = {w.op.name: v for w, v in zip(self.weights, self.get_weights())}
        checkpoint.save_tree(filepath, {"weights": weights, "layouts": self.weight_layouts()}, "keras")

    def save(self, filepath: str) -> None:
        """The whole model (layer configs, weights, compile settings) in a non-executable ``.npz`` checkpoint;
        ``keras.models.load_model`` rebuilds it.  Optimizer moments are not stored."""
        self._ensure_built()
        body = [lay for lay in self.layers if not isinstance(lay, L.InputLayer)]
        # Each layer's inputs as positions: the model inputs first, then body's outputs in order.
        k0 = len(self.inputs)
        position = {**{id(t): k for k, t in enumerate(self.inputs)},
                    **{id(lay.output): k0 + k for k, lay in enumerate(body)}}
        for lay in body:
            if any(id(t) not in position for t in (lay.input if lay.takes_list else [lay.input])):
                raise NotImplementedError(f"cannot save: layer {lay.name!r} reads a tensor made outside the model's "
                                          "layers (or a layer called more than once)")
        if id(self.output) not in position:
            raise NotImplementedError(f"cannot save: the model's output {self.output.name} is not its layer's main "
                                      "output (a recurrent layer's state, say); the saved format records only those")
        tree = {"class": type(self).__name__, "name": self.name, "output": position[id(self.output)],
                "inputs": [{"shape": list(t.shape[1:]), "dtype": t.dtype.name, "name": t.op.name}
                           for t in self.inputs],
                "layers": [{"class": type(lay).__name__, "config": lay.get_config(),
                            "inbound": [position[id(t)] for t in (lay.input if lay.takes_list else [lay.input])]}
                           for lay in body],
                "weights": self.get_weights(),
                "compile": None if not self._compiled else self._compile_settings()}
        checkpoint.save_tree(filepath, tree, "keras-model")

    def _compile_settings(self) -> dict:
        """How the model was compiled, as ``load_model`` rebuilds it (weighted metrics only when there are some)."""
        names = [metrics_module.serialize(spec, m, self.output, self._sparse)
                 for spec, m in zip(self._metric_specs + self._weighted_specs, self._metric_objects)]
        settings = {"optimizer": optimizers.serialize(self.optimizer), "loss": losses.serialize(self._loss_spec),
                    "metrics": names[:len(self._metric_specs)]}
        if self._weighted_specs:
            settings["weighted_metrics"] = names[len(self._metric_specs):]
        return settings

    def load_weights(self, filepath: str) -> None:
        """Load ``save_weights`` output, or an eager (PyTorch-layout) state dict of the same architecture,
        whose conv and linear weights are converted to this model's NHWC/HWIO layout."""
        tree, frontend = checkpoint.load_tree(filepath)
        where = f"weights file {filepath!r}"
        # set_weights checks every shape before assigning any, so a file that does not fit changes nothing.
        if frontend == "keras":
            if not isinstance(tree, dict) or not isinstance(tree.get("weights"), dict):
                raise checkpoint.CheckpointError(f"{where}: malformed Keras weights entry")
            self.set_weights(saving.check_arrays(list(tree["weights"].values()), where))
        elif frontend == "eager":
            if not isinstance(tree, dict):
                raise checkpoint.CheckpointError(f"{where}: an eager checkpoint must hold a state dict")
            values = [v for k, v in tree.items() if not str(k).endswith("num_batches_tracked")]
            if any(kind == "conv1d" for kind, _ in self.weight_layouts()):
                raise NotImplementedError(f"{where}: loading an eager state dict into a model with Conv1D layers is "
                                          "not implemented in dualflow (their kernels' layout is not converted)")
            self.set_weights(interop.convert(saving.check_arrays(values, where), self.weight_layouts(), "to_tf"))
        else:
            raise checkpoint.CheckpointError(f"{filepath!r} holds neither Keras weights nor an eager state dict "
                                             f"(frontend {frontend!r})")

    # ----- compile ---------------------------------------------------------------
    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, metrics: Sequence[Any] | None = None,
                weighted_metrics: Sequence[Any] | None = None) -> None:
        """The optimizer, loss and metrics to train with; ``weighted_metrics`` also take the samples' weights
        (``sample_weight`` or ``class_weight``), ``metrics`` do not (Keras)."""
        self._ensure_built()
        self.optimizer = optimizers.get(optimizer)
        out = self.output
        if getattr(out, "_keras_mask", None) is not None:     # Keras would leave masked steps out of the loss
            raise NotImplementedError(f"Model \"{self.name}\": a loss over a masked output (from "
                                      "Embedding(mask_zero=True)) is not implemented in dualflow (see docs/compat.md)")
        self._loss_spec = losses.get(loss)
        with self.graph.as_default():
            self._target, self.loss = self._loss(self._loss_spec, out)
            for penalty in self.losses:            # Keras trains on the data loss plus every penalty
                self.loss = self.loss + penalty
            self._metric_specs, self._weighted_specs = list(metrics or []), list(weighted_metrics or [])
            plain = [self._metric(m, out) for m in self._metric_specs]
            weighted = [self._metric(m, out) for m in self._weighted_specs]
            self._metric_objects = plain + weighted
            self.metrics_names = ["loss"] + _unique_names([m.name for m in plain], [m.name for m in weighted])
            # Each metric's value after it took in a batch (one fetch updates and reads its state).
            self._metric_tensors = ([m._attach(self._target, out, self._session) for m in plain] +
                                    [m._attach(self._target, out, self._session, self._sample_weight)
                                     for m in weighted])
            self._lp = L.learning_phase(self.graph)
        self._train_op: Any = None      # built by the first fit or train_on_batch (``_train_step``)
        self._compiled = True

    def _train_step(self) -> Any:
        """The training op, built when first needed: Keras 3 makes its train step at the first ``fit`` (or
        ``train_on_batch``) after ``compile``, so a layer frozen between the two stays as it is, while one frozen
        after that trains on until the next ``compile``.  Frozen batch norms run in inference mode there."""
        if self._train_op is not None:
            return self._train_op
        opt = self.optimizer
        with self.graph.as_default():
            updates = [u for lay in self.layers for u in lay.updates]
            self._frozen = {lay.training_switch: False for lay in self.layers
                            if isinstance(lay, L.BatchNormalization) and not lay.trainable
                            and getattr(lay, "training_switch", None) is not None}
            # Keras trains a model without trainable weights (its moving statistics still update), with a warning.
            step = [opt.minimize(self.loss, var_list=self.trainable_weights)] if self.trainable_weights else []
            self._train_op = step[0] if step and not updates else ops.group(*step, *updates)
            # A tf.train optimizer's slots are graph variables: as TF1's Keras, initialize those not yet set
            # (a second compile with the same optimizer keeps its moments).
            sess = self._session()
            fresh = [v.initializer for v in opt.variables() if v.key not in sess.state]
            if fresh:
                sess.run(fresh)
        return self._train_op

    def _loss(self, loss: Any, out: Tensor) -> tuple[Tensor, Tensor]:
        spec = losses.get(loss)
        self._sparse = spec.sparse
        shape = (None,) if spec.sparse else tuple(out.shape)
        target = ops.placeholder(ops.int64 if spec.sparse else out.dtype, shape, name="target")
        # Keras' reduction of weight * loss over the batch (weights are ones unless fit is given some).
        self._sample_weight = ops.placeholder(out.dtype, (None,), name="sample_weight")
        return target, spec.reduce(spec.per_sample(target, out), self._sample_weight)

    def _metric(self, spec: Any, out: Tensor) -> metrics_module.Metric:
        """The metric object of a ``compile(metrics=[...])`` entry (``keras.metrics.compiled``).  'accuracy' is
        Keras 3's pick by the shapes, whatever the loss: binary for one output column, else categorical (class
        indices or one-hot rows as the targets are)."""
        if self._sparse and isinstance(spec, str) and spec in metrics_module.LOSS_METRICS:
            raise NotImplementedError(f"compile: metric {spec!r} with class-index targets (a sparse loss) is not "
                                      "implemented in dualflow")
        metric = metrics_module.compiled(spec, out, self._sparse)
        if type(metric) is metrics_module.Mean:
            raise NotImplementedError(f"compile: metric {metric!r} averages given values; it has no (y_true, y_pred) "
                                      "update to compile (use MeanMetricWrapper(fn))")
        return metric

    # ----- running -----------------------------------------------------------------
    @staticmethod
    def _sample_weights(y: numpy.ndarray, sample_weight: Any) -> numpy.ndarray | None:
        if sample_weight is None:
            return None
        w = numpy.asarray(sample_weight, dtype=numpy.float32)
        if w.shape != (len(y),):
            raise ValueError(f"sample_weight must have shape ({len(y)},), one weight per sample, got {w.shape}")
        return w

    def _ensure_built(self) -> None:
        if not hasattr(self, "output"):
            raise ValueError("This model has not yet been built. Build the model first by calling `build()` or by "
                             "calling the model on a batch of data.")

    def _inputs_data(self, x: Any) -> list[numpy.ndarray]:
        """One host array per model input: an array, a list/tuple in input order, or a dict by input name."""
        if isinstance(x, dict):
            x = [x[t.op.name] for t in self.inputs]
        xs = list(x) if isinstance(x, (list, tuple)) and len(self.inputs) > 1 else [x]
        if len(xs) != len(self.inputs):
            raise ValueError(f"Model \"{self.name}\" expects {len(self.inputs)} input arrays, got {len(xs)}")
        return [numpy.asarray(a, dtype=t.dtype) for a, t in zip(xs, self.inputs)]

    def _same_rank(self, y: numpy.ndarray) -> numpy.ndarray:
        """Keras' squeeze_or_expand_to_same_rank: targets of shape (n,) for an output of shape (n, 1) get the
        last axis, and (n, ..., 1) targets for an output without it lose it."""
        want = len(self._target.shape)
        if y.ndim == want - 1 and self._target.shape[-1] == 1:
            return y[..., None]
        if y.ndim == want + 1 and y.shape[-1] == 1:
            return y[..., 0]
        return y

    def _check_xy(self, xs: list, y: numpy.ndarray | None) -> None:
        for i, (x, t) in enumerate(zip(xs, self.inputs)):
            want = tuple(t.shape[1:])
            # an unknown dim (Input((None, 8)): sequences of any length) takes any size
            if x.ndim != len(want) + 1 or any(w is not None and w != d for w, d in zip(want, x.shape[1:])):
                raise ValueError(f"Input {i} of model \"{self.name}\" is incompatible: expected shape (None, "
                                 f"{', '.join(map(str, want))}), found {tuple(x.shape)}")
            if len(x) != len(xs[0]):
                raise ValueError(f"Data cardinality is ambiguous: input 0 has {len(xs[0])} samples, input {i} has "
                                 f"{len(x)}")
        if y is not None:
            if len(y) != len(xs[0]):
                raise ValueError(f"Data cardinality is ambiguous: x has {len(xs[0])} samples, y has {len(y)}")
            want_y = (None,) + tuple(self._target.shape[1:])
            if tuple(y.shape[1:]) != want_y[1:]:
                raise ValueError(f"Target shape {tuple(y.shape)} does not match what the loss expects: {want_y} "
                                 f"(model output {tuple(self.output.shape)})")

    def _batched(self, fetches: list, xs: list, y: numpy.ndarray | None, batch_size: int,
                 train_op: Any = None, order: numpy.ndarray | None = None,
                 weights: numpy.ndarray | None = None, callbacks: Sequence[Any] = ()) -> list:
        """Run ``fetches`` (the loss, then the compiled metrics' values after each batch; and ``train_op``, in
        training mode) over batches: the loss's mean over all samples and the metrics as they stand after the
        last batch (their state is reset first, as Keras resets its metrics for each epoch and evaluation).
        ``weights`` scale each sample's loss (Keras' sample_weight).  In training, ``callbacks`` hear of each
        batch with the values so far (Keras' batch logs) and may stop the epoch (``stop_training``)."""
        sess = self._session()
        for m in self._metric_objects:
            m._reset_in(self.graph)
        n = len(xs[0])
        order = numpy.arange(n) if order is None else order
        loss_total, seen, metric_values = 0.0, 0, []
        for batch, start in enumerate(range(0, n, batch_size)):
            idx = order[start:start + batch_size]
            feed = {t: a[idx] for t, a in zip(self.inputs, xs)}
            if y is not None:
                feed[self._target] = y[idx]
                feed[self._sample_weight] = (numpy.ones(len(idx), numpy.float32) if weights is None
                                             else weights[idx])
            for cb in callbacks:
                cb.on_train_batch_begin(batch, logs=None)
            feed.update(self._mode(train_op is not None))
            if train_op is not None:
                feed[self._lp] = True
                feed.update(self._frozen)
                vals = sess.run(fetches + [train_op], feed)[:-1]
            else:
                vals = sess.run(fetches, feed)
            loss_total += float(vals[0]) * len(idx)
            seen += len(idx)
            metric_values = [float(v) for v in vals[1:]]
            if callbacks:
                logs = self._logs([loss_total / seen] + metric_values)
                for cb in callbacks:
                    cb.on_train_batch_end(batch, logs=logs)
                if self.stop_training:
                    break
        return [loss_total / seen] + metric_values

    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = 32, epochs: int = 1, verbose: Any = 1,
            validation_split: float = 0.0, validation_data: tuple | None = None, shuffle: bool = True,
            class_weight: dict | None = None, sample_weight: Any = None, initial_epoch: int = 0,
            callbacks: Sequence[Any] | None = None, print_fn: Callable = print) -> History:
        if not self._compiled:
            raise RuntimeError("You must compile your model before training/testing. Use `model.compile(optimizer, "
                               "loss)`.")
        batch_size = _batch_size(batch_size)
        xs, y = self._inputs_data(x), self._same_rank(numpy.asarray(y))
        weights = self._sample_weights(y, sample_weight)
        if validation_data is None and validation_split:
            cut = _split_at(len(y), validation_split)
            held = [a[cut:] for a in xs]
            validation_data = (held if len(held) > 1 else held[0], y[cut:]) + (
                () if weights is None else (weights[cut:],))
            xs, y, weights = [a[:cut] for a in xs], y[:cut], None if weights is None else weights[:cut]
        self._check_xy(xs, y)
        if class_weight is not None:
            if sample_weight is not None:       # Keras refuses the pair rather than combine them
                raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
            weights = _class_weights(y, class_weight)
        steps = -(-len(y) // batch_size)
        rng = numpy.random.default_rng(self.graph.next_seed())
        hist = History()
        hist.params = {"epochs": epochs, "steps": steps, "verbose": verbose}
        fetches = [self.loss] + self._metric_tensors
        callbacks = list(callbacks or [])
        if verbose in (1, "auto") and print_fn is print:       # Keras' progress bar within each epoch
            callbacks.append(cb_module.ProgbarLogger())
        self.stop_training = False
        for cb in callbacks:
            cb.set_model(self)
            cb.set_params(hist.params)
            cb.on_train_begin(None)     # Keras passes the logs (None) positionally
        self._warn_untrainable()
        logs = None         # no epoch run (initial_epoch >= epochs): on_train_end gets None, as in Keras
        for epoch in range(initial_epoch, epochs):
            for cb in callbacks:
                cb.on_epoch_begin(epoch, None)
            t0 = time.perf_counter()
            order = rng.permutation(len(y)) if shuffle else None
            vals = self._batched(fetches, xs, y, batch_size, self._train_step(), order, weights, callbacks)
            logs = self._logs(vals)
            if validation_data is not None:
                vx, vy, *vw = validation_data
                vlogs = self.evaluate(vx, vy, batch_size, verbose=0, sample_weight=vw[0] if vw else None,
                                      return_dict=True)
                # Keras 3's epoch logs are in alphabetical order as a whole ('weighted_accuracy' after 'val_loss')
                logs = dict(sorted({**logs, **{f"val_{k}": v for k, v in vlogs.items()}}.items()))
            dt = time.perf_counter() - t0
            for cb in callbacks:        # before the history records, as Keras (a callback may add to logs)
                cb.on_epoch_end(epoch, logs)
            hist.epoch.append(epoch)
            for k, v in logs.items():
                hist.history.setdefault(k, []).append(v)
            if verbose:
                # Keras 3's order: training metrics alphabetically, then the validation ones.
                metrics = " - ".join(f"{k}: {v:.4f}" for k, v in sorted(logs.items(), key=lambda kv: (
                    kv[0].startswith("val_"), kv[0])))
                print_fn(f"Epoch {epoch + 1}/{epochs}\n{steps}/{steps} - {dt:.0f}s {dt / steps * 1e3:.0f}ms/step - "
                         f"{metrics}")
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end(logs)        # the last epoch's logs, as Keras 3
        return hist

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = 32, verbose: Any = 1,
                 sample_weight: Any = None, return_dict: bool = False, print_fn: Callable = print) -> Any:
        if not self._compiled:
            raise RuntimeError("You must compile your model before training/testing.")
        batch_size = _batch_size(batch_size)
        xs, y = self._inputs_data(x), self._same_rank(numpy.asarray(y))
        self._check_xy(xs, y)
        vals = self._batched([self.loss] + self._metric_tensors, xs, y, batch_size,
                             weights=self._sample_weights(y, sample_weight))
        if verbose:
            print_fn(" - ".join(f"{k}: {v:.4f}" for k, v in zip(self.metrics_names, vals)))
        return self._results(vals, return_dict)

    def _results(self, vals: list, return_dict: bool) -> Any:
        """Keras' return value: a dict by log name, else the loss alone or a list in Keras 3's order
        (``_flatten_metrics_in_order``): the logs named as the loss and the metric objects in compile order, then
        the logs no object is named after, alphabetically.  A weighted metric's object keeps its plain name, so
        with metrics=["accuracy"] and weighted_metrics=["accuracy"] the plain accuracy comes twice, then
        weighted_accuracy."""
        logs = self._logs(vals)
        if return_dict:
            return logs
        names = ["loss"] + [m.name for m in self._metric_objects]
        results = [logs[n] for n in names if n in logs] + [logs[k] for k in sorted(logs) if k not in names]
        return results if len(results) > 1 else results[0]

    def _logs(self, vals: list) -> dict:
        """Values by metric name in Keras 3's order, alphabetical (its logs are sorted; the list form keeps the
        loss first and the metrics as compiled)."""
        return dict(sorted(zip(self.metrics_names, vals)))

    def _one_batch(self, x: Any, y: Any, sample_weight: Any, class_weight: dict | None, train: bool) -> list:
        if not self._compiled:
            raise RuntimeError("You must compile your model before training/testing. Use `model.compile(optimizer, "
                               "loss)`.")
        xs, y = self._inputs_data(x), self._same_rank(numpy.asarray(y))
        self._check_xy(xs, y)
        weights = self._sample_weights(y, sample_weight)
        if class_weight is not None:
            if sample_weight is not None:
                raise ValueError(f"Arguments `sample_weight` and `class_weight` cannot be specified at the same "
                                 f"time. Received: sample_weight={sample_weight}, class_weight={class_weight}")
            weights = _class_weights(y, class_weight)
        return self._batched([self.loss] + self._metric_tensors, xs, y, max(1, len(y)),
                             self._train_step() if train else None, weights=weights)

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: dict | None = None,
                       return_dict: bool = False) -> Any:
        """One training step on all of ``x`` (a GAN's alternating updates): the loss and metrics as the step
        computed them, before its update, as Keras returns them."""
        self._warn_untrainable()
        return self._results(self._one_batch(x, y, sample_weight, class_weight, True), return_dict)

    def _warn_untrainable(self) -> None:
        if not self.trainable_weights:
            warnings.warn("The model does not have any trainable weights.", UserWarning, stacklevel=3)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False) -> Any:
        """``evaluate`` on all of ``x`` as one batch."""
        return self._results(self._one_batch(x, y, sample_weight, None, False), return_dict)

    def predict_on_batch(self, x: Any) -> numpy.ndarray:
        """``predict`` on all of ``x`` as one batch."""
        xs = self._inputs_data(x)
        return self.predict(xs if len(xs) > 1 else xs[0], batch_size=max(1, len(xs[0])))

    def predict(self, x: Any, batch_size: int | None = 32, verbose: Any = 0) -> numpy.ndarray:
        self._ensure_built()
        xs = self._inputs_data(x)
        self._check_xy(xs, None)
        sess = self._session()
        bs = _batch_size(batch_size)
        mode = self._mode(False)
        return numpy.concatenate([sess.run(self.output, {**{t: a[i:i + bs] for t, a in zip(self.inputs, xs)}, **mode})
                                  for i in range(0, len(xs[0]), bs)])

    def _mode(self, training: bool) -> dict:
        """Keras 3's Functional runs every layer in the model's mode, overriding a ``training=`` given when the
        layer was called: the feed that sets those calls' switches (the graph's, which is harmless for the
        calls of other models: they do not run)."""
        return {switch: training for switch in self.graph.get_collection(L.CALL_TRAINING)}

    def __call__(self, x: Tensor) -> Tensor:
        raise NotImplementedError("calling a Model on a tensor (nesting models) is not supported yet")

    def summary(self, print_fn: Callable = print) -> None:
        self._ensure_built()
        rows = [(f"{lay.name} ({type(lay).__name__})", str(tuple(lay.output.shape)), f"{lay.count_params():,}")
                for lay in self.layers]
        name_w = max([29] + [len(a) + 2 for a, _, _ in rows])
        width = name_w + 36
        lines = [f'Model: "{self.name}"', "_" * width, f"{' Layer (type)':<{name_w}}{'Output Shape':<26}{'Param #':<10}",
                 "=" * width]
        for i, (a, b, c) in enumerate(rows):
            lines.append(f" {a:<{name_w - 1}}{b:<26}{c:<10}")
            lines.append(("_" if i < len(rows) - 1 else "=") * width)
        total = self.count_params()
        trainable = int(sum(numpy.prod(w.shape) for w in self.trainable_weights))
        lines += [f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", "_" * width]
        print_fn("\n".join(lines))


class Sequential(Model):
    """A linear stack of layers; it builds as layers are added once the input shape is known (an
    ``input_shape=`` on the first layer, or ``keras.Input(shape)`` as the first element)."""

    def __init__(self, layers: Sequence[Any] | None = None, name: str | None = None) -> None:
        super().__init__(name=name)
        self._stack: list = []
        self._input_tensor: Tensor | None = None
        for lay in layers or []:
            self.add(lay)

    def add(self, layer: Any) -> None:
        if isinstance(layer, Tensor):           # keras.Input(...) as the first element
            self._input_tensor = layer
            return
        self._stack.append(layer)
        if self._input_tensor is None and len(self._stack) == 1 and layer.input_shape_arg is not None:
            self._input_tensor = L.Input(layer.input_shape_arg)
        if self._input_tensor is not None:
            # Each layer is called once, on the stack's current output.
            out = layer(self.output if hasattr(self, "output") else self._input_tensor)
            self._set_io(self._input_tensor, out)

    def _ensure_built(self) -> None:
        if not hasattr(self, "output"):
            raise ValueError("This model has not yet been built. Give the first layer an `input_shape` or start "
                             "the list with keras.Input(shape).")

    @property
    def layers(self) -> list:
        """The added layers; Keras 3 leaves out the InputLayer at the bottom of the stack."""
        return [lay for lay in getattr(self, "_layers", []) if not isinstance(lay, L.InputLayer)]


def load_model(filepath: str, custom_objects: dict | None = None, compile: bool = True,  # noqa: A002
               safe_mode: bool = True) -> Model:
    """Rebuild a model written by ``Model.save`` in the default graph: layers, weights and, with ``compile``,
    its optimizer, loss and metrics.  The file is data only: layer classes come from ``keras.layers`` or
    ``custom_objects``, configs are checked against the constructors, and each weight is checked against
    the layer's shape before it is created (``safe_mode`` is accepted for Keras' signature: nothing in a
    file is ever executed)."""
    tree, frontend = checkpoint.load_tree(filepath)
    if frontend != "keras-model":
        raise checkpoint.CheckpointError(f"{filepath!r} holds no saved Keras model (frontend {frontend!r}); "
                                         "weights files load with model.load_weights")
    where = f"keras model {filepath!r}"
    plan = saving.check_model(tree, custom_objects, where, compile)

    def make(cls: type, config: dict, at: str) -> L.Layer:
        try:
            layer = cls(**config)
        except (TypeError, ValueError) as exc:
            raise checkpoint.CheckpointError(f"{at}: {cls.__name__}(**{config!r}) failed: {exc}") from None
        layer._weight_source = plan.weights
        return layer
    ins = [L.Input(shape, dtype=dtype, name=name) for shape, dtype, name in plan.inputs]
    try:
        if tree["class"] == "Sequential":
            model: Model = Sequential(ins, name=tree["name"])
            for cls, config, _, at in plan.layers:
                model.add(make(cls, config, at))
        else:
            outs = list(ins)
            for cls, config, inbound, at in plan.layers:
                layer = make(cls, config, at)
                args = [outs[k] for k in inbound]
                outs.append(layer(args if layer.takes_list else args[0]))
            model = Model(ins if len(ins) > 1 else ins[0], outs[tree["output"]], name=tree["name"])
    except checkpoint.CheckpointError:
        raise
    except (TypeError, ValueError, NotImplementedError) as exc:
        raise checkpoint.CheckpointError(f"{where}: the saved layers do not fit together: {exc}") from None
    plan.weights.check_all_used()
    if compile and tree["compile"] is not None:
        c = tree["compile"]
        try:
            model.compile(optimizers.deserialize(c["optimizer"]), losses.deserialize(c["loss"]), c["metrics"],
                          c.get("weighted_metrics"))
        except (KeyError, TypeError, ValueError) as exc:
            raise checkpoint.CheckpointError(f"{where}, compile: cannot rebuild the training settings: "
                                             f"{type(exc).__name__}: {exc}") from None
    return model


def _batch_size(batch_size: Any) -> int:
    """Keras' batch_size: None or 0 mean 32; a negative size is a ValueError, a non-integer a TypeError
    (Keras 3 fails on both inside TensorFlow's slicing)."""
    if not batch_size:
        return 32
    if not isinstance(batch_size, (int, numpy.integer)):
        raise TypeError(f"batch_size must be an integer, got {batch_size!r} of type {type(batch_size).__name__}")
    if batch_size < 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    return int(batch_size)


def _split_at(n: int, validation_split: float) -> int:
    """How many leading samples train when ``validation_split`` holds out the rest (Keras' rule and message).
    A split outside [0, 1) is refused here; Keras 3 silently trains on all samples (negative) or on a
    slice counted from the end (above 1)."""
    if not 0 <= validation_split <= 1:
        raise ValueError(f"validation_split must be a fraction in [0, 1), got {validation_split}")
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at in (0, n):
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to split it into a "
                         f"validation and training set as specified by `validation_split={validation_split}`. "
                         "Either provide more data, or a different value for the `validation_split` argument.")
    return split_at


def _layers_between(inputs: list, output: Tensor) -> list:
    """The layers whose calls lead from ``inputs`` to ``output``, found from the layer calls (Keras'
    ``map_graph``): deepest first (distance from the output), ties in the order a walk from the output meets
    them.  Plain graph ops between layers (``h * 2``) are walked through; they belong to no layer.  A walk that
    reaches an input the model was not given raises ValueError, as Keras does."""
    input_ids = {id(t) for t in inputs}

    def disconnected(t: Tensor) -> None:
        raise ValueError(f"Output {output!r} is not connected to `inputs`: it reads {t!r}, which is not one of the "
                         f"model's inputs {inputs}")

    parents_of: dict[int, list] = {}

    def sources(t: Tensor, seen: set) -> list:
        # The layer calls (or model inputs) that ``t`` is computed from, through plain graph ops.
        if id(t) in input_ids or hasattr(t, "_keras_history"):
            return [t]
        if isinstance(t.op.node.op, PlaceholderOp):
            disconnected(t)
        found = []
        for v in t.op.node.inputs:
            if isinstance(v, Tensor) and id(v.node) not in seen:
                seen.add(id(v.node))
                found += sources(v, seen)
        return found

    def parents(call: L.LayerCall) -> list:
        if id(call) not in parents_of:
            seen: set = set()
            parents_of[id(call)] = [s for x in call.inputs for s in sources(x, seen)]
        return parents_of[id(call)]

    calls: list = []        # inputs first (post-order of the walk from the output)
    index: dict = {}        # layer -> when the walk first met it
    done: set = set()

    def visit(t: Tensor) -> None:
        call = getattr(t, "_keras_history", None)
        if call is None or id(call) in done:
            return
        if isinstance(call.layer, L.InputLayer) and id(t) not in input_ids:
            disconnected(t)
        done.add(id(call))
        index.setdefault(call.layer, len(index))
        if id(t) not in input_ids:      # a model input made by a layer cuts the walk there, as in Keras
            for p in parents(call):
                visit(p)
        calls.append(call)

    for t in sources(output, set()):
        visit(t)
    in_model = {id(c) for c in calls}
    node_depth: dict = {}
    layer_depth: dict = {}
    for call in reversed(calls):
        depth = max(node_depth.setdefault(id(call), 0), layer_depth.get(call.layer, 0))
        layer_depth[call.layer] = node_depth[id(call)] = depth
        if id(call.output) in input_ids:
            continue
        for p in parents(call):
            pc = getattr(p, "_keras_history", None)
            if pc is not None and id(pc) in in_model:
                node_depth[id(pc)] = max(depth + 1, node_depth.get(id(pc), 0))
    for t in inputs:        # an input the output does not use still has its InputLayer, as in Keras
        call = getattr(t, "_keras_history", None)
        if call is not None and isinstance(call.layer, L.InputLayer) and call.layer not in layer_depth:
            layer_depth[call.layer], index[call.layer] = 0, -1
    return sorted(layer_depth, key=lambda lay: (-layer_depth[lay], index[lay]))


def _unique_names(plain: list[str], weighted: list[str]) -> list[str]:
    """The compiled metrics' log names as Keras 3's CompileMetrics.result gives them: a metric's name, or for
    a name seen before ``name_1``, ``name_2``, ...; a weighted metric whose name is taken is ``weighted_<name>``
    (then ``weighted_<name>_1``, ...)."""
    seen: dict[str, int] = {}

    def take(name: str) -> str:
        if name not in seen:
            seen[name] = 1
            return name
        seen[name] += 1
        return f"{name}_{seen[name] - 1}"
    return [take(n) for n in plain] + [take(n if n not in seen else f"weighted_{n}") for n in weighted]


def _class_weights(y: numpy.ndarray, class_weight: dict) -> numpy.ndarray:
    """Each sample's weight from its class (an index, a one-hot row, or a 0/1 binary target), 1 if unlisted."""
    labels = y
    if y.ndim > 1:
        labels = y.argmax(-1) if y.shape[-1] != 1 else y[..., 0]
    labels = numpy.round(labels).astype(numpy.int64)
    return numpy.array([class_weight.get(int(c), 1.0) for c in labels], numpy.float32)


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
