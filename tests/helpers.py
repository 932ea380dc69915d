"""Shared test data: the shared MNIST test set split 8,000 / 2,000."""
import os

import pytest

from core import datasets

MNIST_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist")


def mnist_split():
    if not os.path.isdir(MNIST_DIR):
        pytest.skip(f"shared MNIST not found at {MNIST_DIR}")
    return datasets.load_mnist(MNIST_DIR).split(8000)
