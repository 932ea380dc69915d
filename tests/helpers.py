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


def read_scalars(folder):
    """{tag: [(step, value), ...]} of every TensorBoard event file in ``folder`` (TFRecord framing: length,
    its CRC, the Event protobuf, its CRC), scalars as tensorboardX writes them (``simple_value``) or as
    TF2 summaries do (a float tensor)."""
    import glob
    import struct

    import numpy as np
    from tensorboardX.proto import event_pb2

    found = {}
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        raw, pos = open(path, "rb").read(), 0
        while pos < len(raw):
            (n,) = struct.unpack("<Q", raw[pos:pos + 8])
            event = event_pb2.Event.FromString(raw[pos + 12:pos + 12 + n])
            pos += 16 + n
            for v in event.summary.value:
                if v.WhichOneof("value") == "simple_value":
                    value = v.simple_value
                elif v.HasField("tensor") and v.tensor.dtype == 1:      # DT_FLOAT scalar
                    value = (v.tensor.float_val[0] if v.tensor.float_val
                             else float(np.frombuffer(v.tensor.tensor_content, np.float32)[0]))
                else:
                    continue
                found.setdefault(v.tag, []).append((event.step, float(value)))
    return found
