"""Checks that make a saved Keras model safe to rebuild from an untrusted file.

``keras.models.load_model`` reads a layer list from the file; nothing in it may choose what code runs
or how much memory is taken.  Layer classes come only from the registry (the public layer classes of
``keras.layers``) or the caller's ``custom_objects``; each config must name only the constructor's
arguments, with values of the annotated types; and every weight a layer builds is taken from the file,
its shape checked first, so no variable is ever larger than what the file holds.
"""
from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from typing import Any, NamedTuple

import numpy

from core.checkpoint import CheckpointError
from static_api.keras import layers as L

_INPUT_DTYPES = {"bool", "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16",
                 "uint32", "uint64"}


def registered_layers() -> dict[str, type]:
    """The layer classes a saved model may name: every public ``keras.layers`` class under its own name."""
    return {name: cls for name, cls in vars(L).items()
            if isinstance(cls, type) and issubclass(cls, L.Layer) and cls.__name__ == name
            and not name.startswith("_") and cls not in (L.Layer, L.InputLayer)}


def layer_class(name: Any, custom_objects: dict | None, where: str) -> type:
    """The class called ``name``: the caller's ``custom_objects`` first, as in Keras, then the registry."""
    found = (custom_objects or {}).get(name) if isinstance(name, str) else None
    if found is not None:
        if not (isinstance(found, type) and issubclass(found, L.Layer)):
            raise CheckpointError(f"{where}: custom_objects[{name!r}] is {found!r}, not a keras Layer subclass")
        return found
    known = registered_layers()
    if not isinstance(name, str) or name not in known:
        raise CheckpointError(f"{where}: Could not locate class {name!r}. Built-in layers are "
                              f"{sorted(known)}; pass your own classes in custom_objects")
    return known[name]


def _parameters(cls: type) -> dict[str, tuple[inspect.Parameter, Any]]:
    """Each named constructor argument of ``cls`` with its type hint, following ``**kwargs`` up the bases."""
    out: dict = {}
    for klass in cls.__mro__:
        init = vars(klass).get("__init__")
        if init is None or klass is object:
            continue
        try:
            hints = typing.get_type_hints(init)
        except (NameError, TypeError):      # hints that do not resolve are left to the constructor to check
            hints = {}
        params = list(inspect.signature(init).parameters.values())[1:]
        for p in params:
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                out.setdefault(p.name, (p, hints.get(p.name, Any)))
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return out


def _plain(value: Any) -> bool:
    """JSON-like data: what a config may hold (no arrays from the file's array entries)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` (plain data) has the annotated type; hints this check does not model pass."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_fits(value, h) for h in args)
    if hint is type(None) or hint is None:
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple, collections.abc.Sequence) or hint in (list, tuple):
        item = args[0] if args else Any
        return isinstance(value, (list, tuple)) and all(_fits(v, item) for v in value)
    return True


def check_config(cls: type, config: Any, where: str) -> dict:
    """``config`` as constructor arguments of ``cls``: known names, values of the annotated types, and
    every required argument present."""
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise CheckpointError(f"{where}: the config must be a dict of argument names, got {type(config).__name__}")
    params = _parameters(cls)
    unknown = sorted(set(config) - set(params))
    if unknown:
        raise CheckpointError(f"{where}: {cls.__name__} has no argument(s) {unknown}; known: {sorted(params)}")
    for key, value in config.items():
        hint = params[key][1]
        if not _plain(value) or not _fits(value, hint):
            raise CheckpointError(f"{where}: {cls.__name__} argument {key!r} = {value!r} is not of type "
                                  f"{getattr(hint, '__name__', hint)}")
    missing = [n for n, (p, _) in params.items() if p.default is p.empty and n not in config]
    if missing:
        raise CheckpointError(f"{where}: {cls.__name__} config lacks required argument(s) {missing}")
    return config


def check_input(spec: Any, where: str) -> tuple[tuple, str, str]:
    """A saved model input ``{"shape", "dtype", "name"}`` as (shape, dtype, name)."""
    if not isinstance(spec, dict) or set(spec) != {"shape", "dtype", "name"}:
        raise CheckpointError(f"{where}: an input must be a dict with keys shape, dtype and name, got {spec!r}")
    shape, dtype, name = spec["shape"], spec["dtype"], spec["name"]
    if not isinstance(shape, list) or not all(d is None or (_fits(d, int) and d >= 0) for d in shape):
        raise CheckpointError(f"{where}: input shape {shape!r} is not a list of sizes")
    if dtype not in _INPUT_DTYPES or not isinstance(name, str):
        raise CheckpointError(f"{where}: input dtype {dtype!r} / name {name!r} not allowed; dtypes: "
                              f"{sorted(_INPUT_DTYPES)}")
    return tuple(shape), dtype, name


def check_arrays(values: Any, where: str) -> list[numpy.ndarray]:
    """``values`` as a list of numeric arrays (weights)."""
    if not isinstance(values, (list, tuple)):
        raise CheckpointError(f"{where}: weights must be a list of arrays, got {type(values).__name__}")
    for i, v in enumerate(values):
        if not isinstance(v, numpy.ndarray) or v.dtype.kind not in "biuf":
            raise CheckpointError(f"{where}: weight {i} is {type(v).__name__} "
                                  f"{getattr(v, 'dtype', '')}, not a numeric array")
    return list(values)


class SavedWeights:
    """Hands a rebuilding model's layers the file's weights in order, each only if its shape is the one
    the layer asks for (see ``Layer._weight_source``)."""

    def __init__(self, values: list[numpy.ndarray], where: str) -> None:
        self.values, self.where, self.used = values, where, 0

    def __call__(self, name: str, shape: tuple) -> numpy.ndarray:
        if self.used == len(self.values):
            raise CheckpointError(f"{self.where}: weight {name!r} (shape {shape}) has no value: the file holds "
                                  f"only {len(self.values)} weights")
        value = self.values[self.used]
        if tuple(value.shape) != tuple(shape):
            raise CheckpointError(f"{self.where}: the layer config asks for weight {name!r} of shape {shape}, "
                                  f"but the file's weight {self.used} has shape {tuple(value.shape)}")
        self.used += 1
        return value.astype(numpy.float32, copy=False)

    def check_all_used(self) -> None:
        if self.used != len(self.values):
            raise CheckpointError(f"{self.where}: the file holds {len(self.values)} weights but the model's layers "
                                  f"use {self.used}")


def _training_settings(c: Any) -> bool:
    """Whether ``c`` is what ``Model.save`` writes for the compile settings (or None: not compiled)."""
    names = ("metrics", "weighted_metrics")        # the weighted ones only when there are some
    return c is None or (isinstance(c, dict) and set(c) in ({"optimizer", "loss", "metrics"},
                                                            {"optimizer", "loss", *names}) and _plain(c)
                         and isinstance(c["optimizer"], dict) and isinstance(c["loss"], dict)
                         and all(isinstance(c.get(k, []), list) and all(isinstance(m, str) for m in c.get(k, []))
                                 for k in names))


class ModelPlan(NamedTuple):
    """A checked saved model: input specs, (class, config, inbound positions, where) per layer, weights."""
    inputs: list
    layers: list
    weights: SavedWeights


def check_model(tree: Any, custom_objects: dict | None, where: str, compile: bool) -> ModelPlan:  # noqa: A002
    """Check everything ``Model.save`` wrote before anything is built: the entries, each input, each layer's
    class, config and inbound positions, the output position, the weights and (with ``compile``) the
    training settings."""
    keys = {"class", "name", "output", "inputs", "layers", "weights", "compile"}
    if not isinstance(tree, dict) or set(tree) != keys:
        raise CheckpointError(f"{where}: expected the entries {sorted(keys)}, got "
                              f"{sorted(tree) if isinstance(tree, dict) else type(tree).__name__}")
    if tree["class"] not in ("Model", "Sequential") or not isinstance(tree["name"], str) \
            or not isinstance(tree["inputs"], list) or not tree["inputs"] or not isinstance(tree["layers"], list):
        raise CheckpointError(f"{where}: malformed model entry (class {tree['class']!r})")
    inputs = [check_input(s, f"{where}, input {i}") for i, s in enumerate(tree["inputs"])]
    if tree["class"] == "Sequential" and len(inputs) != 1:
        raise CheckpointError(f"{where}: a Sequential model has one input, the file lists {len(inputs)}")
    layers = []
    for i, entry in enumerate(tree["layers"]):
        at = f"{where}, layer {i}"
        if not isinstance(entry, dict) or set(entry) != {"class", "config", "inbound"}:
            raise CheckpointError(f"{at}: expected the entries class, config and inbound")
        cls = layer_class(entry["class"], custom_objects, at)
        inbound = entry["inbound"]
        if not isinstance(inbound, list) or not inbound or not all(
                type(k) is int and 0 <= k < len(inputs) + i for k in inbound):
            raise CheckpointError(f"{at}: inbound {inbound!r} must list earlier tensors")
        layers.append((cls, check_config(cls, entry["config"], at), inbound, at))
    if type(tree["output"]) is not int or not 0 <= tree["output"] < len(inputs) + len(layers):
        raise CheckpointError(f"{where}: output {tree['output']!r} is not one of the model's tensors")
    if compile and not _training_settings(tree["compile"]):
        raise CheckpointError(f"{where}, compile: expected optimizer and loss configs and a list of metric "
                              f"names, got {tree['compile']!r}")
    return ModelPlan(inputs, layers, SavedWeights(check_arrays(tree["weights"], f"{where}, weights"), where))
