"""Shared test data: the shared MNIST test set split 8,000 / 2,000; graph sources for core-level tests."""
import importlib.util
import os

import numpy as np
import pytest

from core import datasets, device
from core.graph import Node, Value
from core.op import Op

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")
EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def load_example(name):
    """Import ``examples/<name>.py`` (examples are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def mnist_split():
    if not os.path.isdir(MNIST_DIR):
        pytest.skip(f"shared MNIST not found at {MNIST_DIR}")
    return datasets.load_mnist(MNIST_DIR).split(8000)


class Input(Op):
    """A source the caller feeds (core has no placeholder of its own)."""

    name = "Input"
    differentiable = False
    pure = False

    def __init__(self, shape, dtype=np.float64):
        self.shape, self.dtype = shape, np.dtype(dtype)

    def infer(self):
        return [(self.shape, self.dtype)]


class Const(Op):
    """A constant source (a pure op without inputs, as a graph constant)."""

    name = "Const"
    differentiable = False

    def __init__(self, array):
        self.array = np.asarray(array)

    def infer(self):
        return [(self.array.shape, self.array.dtype)]

    def forward(self, be):
        return self.array


def source(op):
    """The output of a new source node running ``op`` (or the node itself for an op without outputs)."""
    node = Node(op, ())
    node.outputs = [Value._wrap(None, s, d, device.default(), node, i) for i, (s, d) in enumerate(op.infer())]
    return node.outputs[0] if node.outputs else node
