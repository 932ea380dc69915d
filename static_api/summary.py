"""``tf.summary`` (TF1): scalar, histogram and image summaries, merged and written to a TensorBoard log.

A summary is a fetch mapping its tag to the summarised tensor, so ``Session.run`` returns a ``{tag: value}``
dict (TensorFlow returns a serialized protobuf); ``FileWriter.add_summary`` writes it through tensorboardX.

    >>> import static_api as tf
    >>> x = tf.placeholder(tf.float32, ())
    >>> loss = tf.summary.scalar("loss", x * 2.0)
    >>> with tf.Session() as sess:
    ...     {tag: float(v) for tag, v in sess.run(tf.summary.merge_all(), {x: 1.5}).items()}
    {'loss': 3.0}
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy

from core import errors as _errors
from static_api import ops
from static_api.graph import Tensor, get_default_graph

SUMMARIES = "summaries"


class Summary(dict):
    """Tag -> tensor as a fetch; tag -> value once run."""


def _summary(name: str, tensor: Any, collections: Sequence[str] | None) -> Summary:
    out = ops.identity(ops._t(tensor), name=name)     # the op's scoped, unique name is the tag
    s = Summary({out.op.name: out})
    for key in (SUMMARIES,) if collections is None else collections:
        get_default_graph().add_to_collection(key, s)
    return s


def scalar(name: str, tensor: Any, collections: Sequence[str] | None = None, family: Any = None) -> Summary:
    if len(ops._t(tensor).shape):
        raise ValueError(f"tf.summary.scalar: tensor for {name!r} must be a scalar, got shape "
                         f"{tuple(ops._t(tensor).shape)}")
    return _summary(name, tensor, collections)


def histogram(name: str, values: Any, collections: Sequence[str] | None = None, family: Any = None) -> Summary:
    return _summary(name, values, collections)


class ImageTag(str):
    """The tag of an image summary: ``FileWriter`` writes its value, a batch of images, as up to
    ``max_outputs`` images (the tag object survives ``Session.run`` and ``merge``)."""

    max_outputs: int = 3


def image(name: str, tensor: Any, max_outputs: int = 3, collections: Sequence[str] | None = None,
          family: Any = None) -> Summary:
    """Up to ``max_outputs`` images of a ``[batch, height, width, 1|3|4]`` tensor, tagged ``name/image/<i>``
    (``name/image`` when ``max_outputs`` is 1); float images are scaled as TF1 does (see ``_to_uint8``)."""
    t = ops._t(tensor)
    if len(t.shape) != 4 or t.shape[-1] not in (1, 3, 4):
        raise ValueError(f"tf.summary.image: tensor for {name!r} must be 4-D [batch, height, width, channels] with "
                         f"1, 3 or 4 channels, got shape {tuple(t.shape)}")
    if int(max_outputs) < 1:
        raise ValueError(f"tf.summary.image: max_outputs must be at least 1, got {max_outputs}")
    out = ops.identity(t, name=name)
    tag = ImageTag(out.op.name)
    tag.max_outputs = int(max_outputs)
    s = Summary({tag: out})
    for key in (SUMMARIES,) if collections is None else collections:
        get_default_graph().add_to_collection(key, s)
    return s


def _to_uint8(img: numpy.ndarray) -> numpy.ndarray:
    """One HWC image as TF1's image summary stores it: uint8 as is; floats scaled per image so that the largest
    value is 255 when none is negative, else so that 0 is 128 and the largest magnitude 127 away; non-finite
    pixels red."""
    if img.dtype == numpy.uint8:
        return img
    img = img.astype(numpy.float32)
    finite = numpy.isfinite(img).all(axis=-1)
    vals = img[finite]
    lo, hi = (float(vals.min()), float(vals.max())) if vals.size else (0.0, 0.0)
    if lo < 0:
        top = max(abs(lo), abs(hi))
        scale, offset = (0.0 if top < 1e-6 else 127.0 / top), 128.0
    else:
        scale, offset = (0.0 if hi < 1e-6 else 255.0 / hi), 0.0
    out = numpy.where(finite[..., None], img * scale + offset, 0.0).astype(numpy.uint8)
    if not finite.all():
        bad = numpy.zeros(img.shape[-1], numpy.uint8)
        bad[0] = 255
        if img.shape[-1] == 4:
            bad[3] = 255
        out[~finite] = bad
    return out


def merge(inputs: Sequence[Summary], collections: Sequence[str] | None = None, name: str | None = None) -> Summary:
    merged = Summary()
    for s in inputs:
        merged.update(s)
    return merged


def merge_all(key: str = SUMMARIES, scope: str | None = None, name: str | None = None) -> Summary | None:
    """Every summary of the default graph in one fetch; None when there are none, as TF1."""
    found = get_default_graph().get_collection(key)
    return merge(found) if found else None


class FileWriter:
    """Writes run summaries as TensorBoard events (through tensorboardX, the ``tensorboard`` extra)."""

    def __init__(self, logdir: str | os.PathLike, graph: Any = None, max_queue: int = 10, flush_secs: float = 120,
                 filename_suffix: str | None = None, **_: Any) -> None:
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError("tf.summary.FileWriter writes through tensorboardX: pip install "
                              "'dualflow[tensorboard]'") from None
        # The events file is named after the second it is opened and the host (as TF's), and opening truncates: a
        # second writer on the folder in the same second needs a suffix not to overwrite the first one's file.
        self._writer = SummaryWriter(os.fspath(logdir), max_queue=max_queue, flush_secs=flush_secs,
                                     filename_suffix=filename_suffix or "")

    def add_summary(self, summary: dict, global_step: int | None = None) -> None:
        if not isinstance(summary, dict):
            raise TypeError(f"add_summary expects what Session.run returned for a summary (a dict of tag -> "
                            f"value), got {type(summary).__name__}")
        for tag, value in summary.items():
            value = numpy.asarray(value)
            if isinstance(tag, ImageTag):
                for i, img in enumerate(value[:tag.max_outputs]):
                    self._writer.add_image(f"{tag}/image" if tag.max_outputs == 1 else f"{tag}/image/{i}",
                                           _to_uint8(img), global_step, dataformats="HWC")
            elif value.ndim == 0:
                self._writer.add_scalar(tag, float(value), global_step)
            else:
                self._writer.add_histogram(tag, value, global_step)

    def add_graph(self, graph: Any, global_step: int | None = None) -> None:
        """Accepted and not written: the graph is saved as Graphviz DOT by ``Graph.to_dot``."""

    def add_run_metadata(self, run_metadata: Any, tag: str, global_step: int | None = None) -> None:
        """Accepted and not written: ``Session.run`` records no step stats (see ``tf.RunMetadata``)."""

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> "FileWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__getattr__ = _errors.missing_names(__name__)     # a missing public name says so
