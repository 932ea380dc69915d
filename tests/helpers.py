"""Shared test data: the shared MNIST test set split 8,000 / 2,000."""
import importlib.util
import os

import pytest

from core import datasets

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
