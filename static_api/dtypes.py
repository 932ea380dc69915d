"""Dtype names as TensorFlow (``tf.as_dtype``) and Keras 3 (``standardize_dtype``) read them.

Every ``dtype=`` of the static frontend goes through here, never through ``numpy.dtype`` directly: NumPy
reads ``"float"`` as float64 and ``"int"`` as int64, where TensorFlow reads ``"float"`` as float32 and
rejects ``"int"``, and Keras rejects ``"float"`` but reads ``"int"`` as int64.

    >>> as_dtype("float"), as_dtype("double"), keras_dtype("int")
    (dtype('float32'), dtype('float64'), dtype('int64'))
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy

# The dtypes a NumPy/CuPy backend holds, by TensorFlow's canonical names (Keras uses the same ones).
_SUPPORTED = {n: numpy.dtype(n) for n in (
    "float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "bool", "complex64", "complex128")}
# TensorFlow's other names: its aliases, and dtypes it has that these backends do not.
_TF_ALIASES = {"half": "float16", "float": "float32", "double": "float64"}
_TF_ONLY = {"bfloat16", "string", "qint8", "quint8", "qint16", "quint16", "qint32", "resource", "variant", "int2",
            "int4", "uint2", "uint4", "float4_e2m1fn", "float8_e5m2", "float8_e4m3fn", "float8_e4m3fnuz",
            "float8_e4m3b11fnuz", "float8_e5m2fnuz"}
# Keras 3 (TensorFlow backend): what it allows, and how it reads Python types and "int".
_KERAS_ONLY = {"bfloat16", "string", "float8_e4m3fn", "float8_e5m2"}
_KERAS_PYTHON = {bool: "bool", int: "int64", float: "float32", str: "string", "int": "int64", complex: "complex128"}


def _unsupported(name: str) -> NotImplementedError:
    return NotImplementedError(f"dtype {name!r} exists in TensorFlow but not in dualflow, whose backends hold "
                               f"NumPy arrays: use one of {sorted(_SUPPORTED)}")


def as_dtype(type_value: Any) -> numpy.dtype:
    """``tf.as_dtype``: a TF name (``"float"`` is float32, ``"double"`` float64, ``"half"`` float16, a
    ``_ref`` suffix is dropped), a NumPy dtype or scalar type, Python ``float``/``bool``, or a TF DType.
    TypeError for what TensorFlow rejects (``"int"``, ``"long"``, Python ``int``, ``"f4"``)."""
    if hasattr(type_value, "as_numpy_dtype"):         # a real tf.DType
        type_value = type_value.as_numpy_dtype
    if isinstance(type_value, str):
        name = type_value[:-4] if type_value.endswith("_ref") else type_value
        name = _TF_ALIASES.get(name, name)
        if name in _SUPPORTED:
            return _SUPPORTED[name]
        if name in _TF_ONLY:
            raise _unsupported(name)
    elif type_value is float or type_value is bool:
        return numpy.dtype(type_value.__name__ if type_value is bool else "float32")
    elif type_value is object:
        raise _unsupported("string")
    elif isinstance(type_value, numpy.dtype) or (isinstance(type_value, type) and issubclass(type_value,
                                                                                             numpy.generic)):
        dt = numpy.dtype(type_value)
        if dt.name in _SUPPORTED:
            return dt
        if dt.kind in "OSU":
            raise _unsupported("string")
    raise TypeError(f"Cannot convert the argument `type_value`: {type_value!r} to a TensorFlow DType.")


def keras_dtype(dtype: Any) -> numpy.dtype:
    """Keras 3's ``standardize_dtype``: canonical names only (``"float"`` is a ValueError), Python
    ``int``/``"int"`` as int64, ``float`` as float32; None is Keras' floatx, float32."""
    if dtype is None:
        return _SUPPORTED["float32"]
    dtype = _KERAS_PYTHON.get(dtype, dtype) if isinstance(dtype, (str, type)) else dtype
    if hasattr(dtype, "name"):
        dtype = dtype.name
    elif hasattr(dtype, "__name__"):
        dtype = dtype.__name__
    if dtype in _SUPPORTED:
        return _SUPPORTED[dtype]
    if dtype in _KERAS_ONLY:
        raise _unsupported(dtype)
    raise ValueError(f"Invalid dtype: {dtype}")


def keras_policy(dtype: Any) -> numpy.dtype:
    """A Keras layer's ``dtype=`` (its dtype policy): the name of a float dtype.  Mixed precision and
    integer policies are not supported here."""
    if dtype in ("mixed_float16", "mixed_bfloat16"):
        raise NotImplementedError(f"dtype policy {dtype!r} (mixed precision) is not supported by dualflow")
    try:
        dt = keras_dtype(dtype)
    except ValueError:
        raise ValueError(f"Cannot convert '{dtype}' to a mixed precision DTypePolicy. Valid policies include "
                         "'mixed_float16', 'mixed_bfloat16', and the name of any float dtype such as "
                         "'float32'.") from None
    if dt.kind != "f":
        raise NotImplementedError(f"layer dtype {dt.name!r}: dualflow's Keras layers compute in a float dtype "
                                  "(float16, float32, float64)")
    return dt


def check_value(value: Any, dtype: numpy.dtype) -> None:
    """TF's check of a Python value given an explicit dtype (``tf.constant(1.5, tf.int32)`` is a TypeError:
    no silent truncation).  NumPy arrays are cast, as TensorFlow casts them."""
    if isinstance(value, (numpy.ndarray, numpy.generic)):
        return
    ok = {"b": (bool, numpy.bool_), "i": (numbers.Integral,), "u": (numbers.Integral,),
          "f": (numbers.Real,), "c": (numbers.Complex,)}[dtype.kind]
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
            continue
        if isinstance(v, numpy.ndarray):
            kinds = {"b": "b", "i": "iu", "u": "iu", "f": "iuf", "c": "iufc"}[dtype.kind]
            if v.dtype.kind in kinds:
                continue
        elif isinstance(v, ok):
            continue
        raise TypeError(f"Expected {dtype.name}, but got {v!r} of type '{type(v).__name__}'.")
