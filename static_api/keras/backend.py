"""``from keras import backend as K``: the settings Keras scripts read (``K.image_data_format()``,
``K.epsilon()``, ``K.floatx()``), ``K.get_session()`` and ``K.clear_session()``."""
from __future__ import annotations

from typing import Any, Sequence

import numpy

from core import errors as _errors
from static_api import graph
from static_api.session import Session

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


def get_session() -> Any:
    """The session Keras keeps the default graph's weights in (TF1 Keras' ``K.get_session()``)."""
    return session_of(graph.get_default_graph())


def session_of(g: Any, variables: Sequence[Any] = ()) -> Any:
    """The one session holding the weights of Keras models built in graph ``g``, with ``variables`` initialized
    there if they were not yet.  One per graph, as in TF1 Keras: two models sharing a layer (an autoencoder and
    its encoder, a GAN's generator alone and inside the combined model) see the same weights, so training
    one changes what the other computes.  Kept on the graph, so it goes with it."""
    sess = getattr(g, "_keras_session", None)
    if sess is None or sess._closed:
        sess = g._keras_session = Session(graph=g)
    fresh = [v.initializer for v in variables if v.key not in sess.state]
    if fresh:
        sess.run(fresh)
    return sess


def batch_get_value(variables: Sequence[Any]) -> list:
    """The values of Keras ``variables`` (of one graph), as NumPy arrays."""
    if not variables:
        return []
    return session_of(variables[0].graph, variables).run(list(variables))


def set_weights(owner: str, variables: Sequence[Any], values: Sequence[Any]) -> None:
    """``layer.set_weights``/``model.set_weights`` of layer or model ``owner``: every count and shape checked
    (Keras' messages) before the first value is loaded, so a bad list changes nothing."""
    if len(values) != len(variables):
        raise ValueError(f"You called `set_weights(weights)` on layer '{owner}' with a weight list of length "
                         f"{len(values)}, but the layer was expecting {len(variables)} weights.")
    for v, value in zip(variables, values):
        if tuple(numpy.shape(value)) != tuple(v.shape):
            raise ValueError(f"Layer {owner} weight shape {tuple(v.shape)} is not compatible with provided weight "
                             f"shape {tuple(numpy.shape(value))}.")
    if variables:
        sess = session_of(variables[0].graph, variables)
        for v, value in zip(variables, values):
            v.load(value, sess)


def clear_session() -> None:
    """A fresh default graph: models built after this start again at ``dense``, ``conv2d``, ... names."""
    graph.reset_default_graph()


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
