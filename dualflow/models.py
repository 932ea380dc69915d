"""The seed CNN in each frontend (and in PyTorch and TensorFlow, as peers) from one set of initial weights.

conv 1->32 (3x3, pad 1), ReLU, max-pool 2; conv 32->64 (3x3, pad 1), ReLU, max-pool 2; flatten; linear to
the classes.  Every model trains with SGD and momentum 0.9 by default, whose update is the same formula in
PyTorch and TF1/Keras (their Adams are not), so loss curves may differ only by float32 rounding;
``optimizer="adam"`` trains with each framework's own Adam instead (the benchmarks' setting).  Frontends and
peers are imported inside the classes, so the peers (PyTorch, TensorFlow) stay optional.
"""
from __future__ import annotations

from typing import Any

import numpy

from core import device, interop


def init_weights(in_hw: tuple[int, int], classes: int, seed: int) -> dict[str, numpy.ndarray]:
    """PyTorch-default initial weights (OIHW / (out, in) layout), from one seed."""
    rng = numpy.random.default_rng(seed)
    flat = 64 * (in_hw[0] // 4) * (in_hw[1] // 4)

    def u(shape, fan_in):
        b = 1 / numpy.sqrt(fan_in)
        return rng.uniform(-b, b, size=shape).astype(numpy.float32)

    return {"conv1.weight": u((32, 1, 3, 3), 9), "conv1.bias": u((32,), 9),
            "conv2.weight": u((64, 32, 3, 3), 288), "conv2.bias": u((64,), 288),
            "fc.weight": u((classes, flat), flat), "fc.bias": u((classes,), flat)}


def tf_layouts(in_hw: tuple[int, int]) -> list:
    """The weights' layouts (``core.interop``): fc follows a flatten of (H/4, W/4, 64) in NHWC."""
    hwc = (in_hw[0] // 4, in_hw[1] // 4, 64)
    return [("conv", None), ("plain", None), ("conv", None), ("plain", None), ("dense", hwc), ("plain", None)]


class Eager:
    """dualflow's eager frontend."""

    def __init__(self, weights: dict, lr: float, in_hw: tuple[int, int], optimizer: str = "momentum") -> None:
        import eager_api as torch
        import eager_api.nn as nn
        self.torch = torch
        self.model = nn.Sequential()
        self.model.add_module("conv1", nn.Conv2d(1, 32, 3, padding=1))
        self.model.add_module("relu1", nn.ReLU())
        self.model.add_module("pool1", nn.MaxPool2d(2))
        self.model.add_module("conv2", nn.Conv2d(32, 64, 3, padding=1))
        self.model.add_module("relu2", nn.ReLU())
        self.model.add_module("pool2", nn.MaxPool2d(2))
        self.model.add_module("flatten", nn.Flatten())
        fc = weights["fc.weight"]
        self.model.add_module("fc", nn.Linear(fc.shape[1], fc.shape[0]))
        self.model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
        self.opt = _torch_optimizer(torch, self.model.parameters(), lr, optimizer)
        self.loss_fn = nn.CrossEntropyLoss()
        self.train_model = self.model       # what a training step calls (data-parallel runs wrap the model)

    def step(self, x: numpy.ndarray, y: numpy.ndarray) -> Any:
        t = self.torch
        self.opt.zero_grad()
        loss = self.loss_fn(self.train_model(t.tensor(x)), t.tensor(y))
        loss.backward()
        self.opt.step()
        return loss

    def loss_value(self, loss: Any) -> float:
        return loss.item()

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        with self.torch.no_grad():
            return self.model(self.torch.tensor(x)).argmax(1).cpu().numpy()

    def save(self, path: str) -> None:
        self.torch.save(self.model.state_dict(), path)

    def to_dot(self, x: numpy.ndarray, y: numpy.ndarray) -> str:
        """The autograd graph of one training step's loss."""
        from eager_api.autograd import to_dot
        return to_dot(self.loss_fn(self.model(self.torch.tensor(x)), self.torch.tensor(y)), "eager step")


class Static:
    """dualflow's static frontend, NCHW so that it runs the very same kernels as the eager model; its session
    optimizes the training Program (``core.passes``) unless ``optimize`` is False."""

    optimize = True

    def __init__(self, weights: dict, lr: float, in_hw: tuple[int, int], optimizer: str = "momentum") -> None:
        import static_api as tf
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.x = tf.placeholder(tf.float32, (None, 1, None, None), name="images")
            self.y = tf.placeholder(tf.int64, (None,), name="labels")
            v = {k: tf.Variable(a, name=k) for k, a in weights.items()}
            h = self.x
            for i in (1, 2):
                w = tf.transpose(v[f"conv{i}.weight"], (2, 3, 1, 0))     # OIHW -> TF's HWIO
                h = tf.nn.bias_add(tf.nn.conv2d(h, w, 1, [[0, 0], [0, 0], [1, 1], [1, 1]], data_format="NCHW"),
                                   v[f"conv{i}.bias"], data_format="NCHW")
                h = tf.nn.max_pool2d(tf.nn.relu(h), 2, 2, "VALID", data_format="NCHW")
            h = tf.reshape(h, (-1, weights["fc.weight"].shape[1]))
            self.logits = tf.matmul(h, v["fc.weight"], transpose_b=True) + v["fc.bias"]
            self.loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=self.y,
                                                                                      logits=self.logits))
            self.train_op = self.optimizer(lr, optimizer).minimize(self.loss)
            self.pred = tf.argmax(self.logits, 1)
            self.saver = tf.train.Saver()
            off = tf.ConfigProto(graph_options=tf.GraphOptions(
                optimizer_options=tf.OptimizerOptions(opt_level=tf.OptimizerOptions.L0)))
            self.sess = tf.Session(config=None if self.optimize else off)
            self.sess.run(tf.global_variables_initializer())

    def optimizer(self, lr: float, optimizer: str = "momentum") -> Any:
        """The graph's optimizer (data-parallel runs wrap it)."""
        import static_api as tf
        return _tf1_optimizer(tf, lr, optimizer)

    def step(self, x: numpy.ndarray, y: numpy.ndarray) -> Any:
        return self.sess.run([self.loss, self.train_op], {self.x: x, self.y: y})[0]

    def loss_value(self, loss: Any) -> float:
        return float(loss)

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        return self.sess.run(self.pred, {self.x: x})

    def save(self, path: str) -> None:
        self.saver.save(self.sess, path[:-4] if path.endswith(".npz") else path)

    def to_dot(self, x: numpy.ndarray, y: numpy.ndarray) -> str:
        return self.graph.to_dot("static graph")

    def training_program(self) -> Any:
        """The Program the session runs for ``step``: the one with the train op among its targets (the
        initializer's may be as long, now that the optimizer's slots are variables)."""
        return next(p for p in self.sess._plans.values() if id(self.train_op.node) in p.targets)

    def program_steps(self) -> int:
        """How many steps the session's training Program runs (after its passes, when it optimizes)."""
        return len(self.training_program().steps)


class StaticUnoptimized(Static):
    """The static frontend with graph optimization off: the Program runs node by node, as built."""

    optimize = False


class TorchPeer:
    """The same network in PyTorch (cuDNN on the GPU when dualflow runs on one), as a reference column."""

    def __init__(self, weights: dict, lr: float, in_hw: tuple[int, int], optimizer: str = "momentum") -> None:
        import torch
        self.torch = torch
        self.dev = "cuda" if device.default().type == "cuda" and torch.cuda.is_available() else "cpu"
        fc = weights["fc.weight"]
        self.model = torch.nn.Sequential(
            torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
            torch.nn.Flatten(), torch.nn.Linear(fc.shape[1], fc.shape[0])).to(self.dev)
        with torch.no_grad():
            for p, w in zip(self.model.parameters(), weights.values()):
                p.copy_(torch.from_numpy(w))
        self.opt = _torch_optimizer(torch, self.model.parameters(), lr, optimizer)

    def step(self, x: numpy.ndarray, y: numpy.ndarray) -> Any:
        t = self.torch
        self.opt.zero_grad()
        loss = t.nn.functional.cross_entropy(self.model(t.from_numpy(x).to(self.dev)), t.from_numpy(y).to(self.dev))
        loss.backward()
        self.opt.step()
        return loss

    def loss_value(self, loss: Any) -> float:
        return loss.item()

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        with self.torch.no_grad():
            return self.model(self.torch.from_numpy(x).to(self.dev)).argmax(1).cpu().numpy()


class TensorFlowPeer:
    """The same network in TensorFlow 2 (NHWC, weights converted by ``core.interop``), as a reference column."""

    def __init__(self, weights: dict, lr: float, in_hw: tuple[int, int]) -> None:
        import tensorflow as tf
        self.tf = tf
        vals = interop.convert(list(weights.values()), tf_layouts(in_hw), "to_tf")
        self.vars = [tf.Variable(a) for a in vals]
        self.opt = tf.keras.optimizers.SGD(lr, momentum=0.9)

        @tf.function
        def step(x, y):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=self._logits(x)))
            self.opt.apply_gradients(zip(tape.gradient(loss, self.vars), self.vars))
            return loss

        self._step = step

    def _logits(self, x: Any) -> Any:
        tf = self.tf
        w1, b1, w2, b2, wf, bf = self.vars
        h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(x, w1, 1, "SAME") + b1), 2, 2, "VALID")
        h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(h, w2, 1, "SAME") + b2), 2, 2, "VALID")
        return tf.matmul(tf.reshape(h, (-1, wf.shape[0])), wf) + bf

    def step(self, x: numpy.ndarray, y: numpy.ndarray) -> Any:
        return self._step(x.transpose(0, 2, 3, 1), y)

    def loss_value(self, loss: Any) -> float:
        return float(loss.numpy())

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        return self.tf.argmax(self._logits(x.transpose(0, 2, 3, 1)), 1).numpy()


class TF1Peer:
    """The same network in TensorFlow 2's TF1 mode (``tf.compat.v1``: a graph and a Session, NHWC), as a
    reference for the static frontend; ``threads`` sets its intra- and inter-op pools."""

    def __init__(self, weights: dict, lr: float, in_hw: tuple[int, int], optimizer: str = "momentum",
                 threads: int = 0) -> None:
        import tensorflow as tf
        v1 = tf.compat.v1
        vals = interop.convert(list(weights.values()), tf_layouts(in_hw), "to_tf")
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.x = v1.placeholder(tf.float32, (None, in_hw[0], in_hw[1], 1))
            self.y = v1.placeholder(tf.int64, (None,))
            w1, b1, w2, b2, wf, bf = [tf.Variable(a) for a in vals]
            h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(self.x, w1, 1, "SAME") + b1), 2, 2, "VALID")
            h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.conv2d(h, w2, 1, "SAME") + b2), 2, 2, "VALID")
            logits = tf.matmul(tf.reshape(h, (-1, vals[4].shape[0])), wf) + bf
            self.loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=self.y, logits=logits))
            self.train_op = _tf1_optimizer(v1, lr, optimizer).minimize(self.loss)
            self.pred = tf.argmax(logits, 1)
            config = v1.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=threads)
            self.sess = v1.Session(graph=self.graph, config=config)
            self.sess.run(v1.global_variables_initializer())

    def step(self, x: numpy.ndarray, y: numpy.ndarray) -> Any:
        return self.sess.run([self.loss, self.train_op], {self.x: x.transpose(0, 2, 3, 1), self.y: y})[0]

    def loss_value(self, loss: Any) -> float:
        return float(loss)

    def predict(self, x: numpy.ndarray) -> numpy.ndarray:
        return self.sess.run(self.pred, {self.x: x.transpose(0, 2, 3, 1)})


def _torch_optimizer(torch: Any, params: Any, lr: float, optimizer: str) -> Any:
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr)
    if optimizer == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    raise ValueError(f"optimizer must be 'momentum' or 'adam', got {optimizer!r}")


def _tf1_optimizer(train_module: Any, lr: float, optimizer: str) -> Any:
    """TF1's optimizer from ``tf.train`` (dualflow's static_api, or TensorFlow's ``tf.compat.v1``)."""
    if optimizer == "adam":
        return train_module.train.AdamOptimizer(lr)
    if optimizer == "momentum":
        return train_module.train.MomentumOptimizer(lr, 0.9)
    raise ValueError(f"optimizer must be 'momentum' or 'adam', got {optimizer!r}")


FRONTENDS = {"eager": Eager, "static": Static, "static-unoptimized": StaticUnoptimized}
PEERS = {"pytorch": (TorchPeer, "torch"), "tensorflow": (TensorFlowPeer, "tensorflow")}
