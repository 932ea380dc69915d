"""``from keras import backend as K``: the settings Keras scripts read (``K.image_data_format()``,
``K.epsilon()``, ``K.floatx()``) and ``K.clear_session()``."""
from __future__ import annotations

from core import errors as _errors
from static_api import graph

_settings = {"epsilon": 1e-7, "floatx": "float32"}


def backend() -> str:
    """The backend Keras programs see: this graph frontend emulates TensorFlow's."""
    return "tensorflow"


def image_data_format() -> str:
    return "channels_last"


def set_image_data_format(data_format: str) -> None:
    if data_format != "channels_last":
        raise NotImplementedError("keras layers here are channels_last only (see docs/compat.md)")


def epsilon() -> float:
    return _settings["epsilon"]


def set_epsilon(value: float) -> None:
    _settings["epsilon"] = float(value)


def floatx() -> str:
    return _settings["floatx"]


def set_floatx(value: str) -> None:
    if value not in ("float16", "float32", "float64"):
        raise ValueError(f"Unknown floatx type: {value!r}; expected 'float16', 'float32' or 'float64'")
    _settings["floatx"] = value


def clear_session() -> None:
    """A fresh default graph: models built after this start again at ``dense``, ``conv2d``, ... names."""
    graph.reset_default_graph()


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
