"""``tf.image``: the image functions TF1 CNN pipelines use (flips, crops, pads, resizes, standardization,
brightness and contrast of float images, grayscale, and their random versions for augmentation), built from
gathers and elementwise ops as TF's kernels compute them.  Images are (height, width, channels) or (batch,
height, width, channels) with known height and width.  The random ones draw anew at each run from
dualflow's generator (``tf.random_uniform``), so their choices are not TF's for a seed."""
from __future__ import annotations

import builtins
import enum
from typing import Any

import numpy

import core
from core import errors as _errors
from static_api import ops
from static_api.graph import Tensor, named
from static_api.variables import random_uniform

__all__ = ["ResizeMethod", "adjust_brightness", "adjust_contrast", "central_crop", "crop_to_bounding_box",
           "flip_left_right", "flip_up_down", "grayscale_to_rgb", "pad_to_bounding_box", "per_image_standardization",
           "random_brightness", "random_contrast", "random_crop", "random_flip_left_right", "random_flip_up_down",
           "resize", "resize_bilinear", "resize_image_with_crop_or_pad", "resize_images", "resize_nearest_neighbor",
           "resize_with_crop_or_pad", "rgb_to_grayscale", "rot90", "transpose"]


class ResizeMethod(enum.IntEnum):
    """TF1's ``tf.image.ResizeMethod``."""

    BILINEAR = 0
    NEAREST_NEIGHBOR = 1
    BICUBIC = 2
    AREA = 3


def _image(image: Any, fn: str) -> Tensor:
    x = ops._t(image)
    if x.ndim not in (3, 4):
        raise ValueError(f"'image' (shape {list(x.shape)}) must have either 3 or 4 dimensions.")
    if None in x.shape[-3:-1]:
        raise NotImplementedError(f"tf.image.{fn}: an image of unknown height or width is not implemented in dualflow")
    return x


def _hw(x: Tensor) -> tuple[int, int]:
    return x.shape[-3], x.shape[-2]


def flip_left_right(image):
    """The image mirrored along its width (an exact copy)."""
    x = _image(image, "flip_left_right")
    return ops.reverse(x, [x.ndim - 2])


def flip_up_down(image):
    """The image mirrored along its height (an exact copy)."""
    x = _image(image, "flip_up_down")
    return ops.reverse(x, [x.ndim - 3])


def rot90(image, k=1, name=None):
    """The image turned k quarter turns counter-clockwise (NumPy's rot90 over height and width; exact
    copies); ``k`` a Python number or a constant."""
    x = _image(image, "rot90")
    turns = ops._constant_ints("image.rot90", "k", k)[0] % 4
    h, w = x.ndim - 3, x.ndim - 2
    swap = builtins.list(builtins.range(x.ndim))
    swap[h], swap[w] = w, h
    if turns == 0:
        out = ops.identity(x)
    elif turns == 1:
        out = ops.transpose(ops.reverse(x, [w]), swap)
    elif turns == 2:
        out = ops.reverse(x, [h, w])
    else:
        out = ops.reverse(ops.transpose(x, swap), [w])
    return named(out, name)


def transpose(image, name=None):
    """Height and width swapped (TF's ``tf.image.transpose``)."""
    x = _image(image, "transpose")
    perm = builtins.list(builtins.range(x.ndim))
    perm[-3], perm[-2] = perm[-2], perm[-3]
    return named(ops.transpose(x, perm), name)


def _random_flip(image: Any, axis_from_end: int, seed: int | None, fn: str) -> Tensor:
    """Mirrored with probability 1/2 (each image of a batch on its own), an exact copy either way."""
    x = _image(image, fn)
    axis = x.ndim - axis_from_end
    if x.ndim == 3:
        flip = ops.less(random_uniform([], seed=seed), 0.5)
    else:
        flip = ops.reshape(ops.less(random_uniform(ops.shape(x)[:1] if x.shape[0] is None else [x.shape[0]],
                                                   seed=seed), 0.5), [-1, 1, 1, 1])
    return ops.where_v2(flip, ops.reverse(x, [axis]), x)


def random_flip_left_right(image, seed=None):
    return _random_flip(image, 2, seed, "random_flip_left_right")


def random_flip_up_down(image, seed=None):
    return _random_flip(image, 3, seed, "random_flip_up_down")


def random_crop(value, size, seed=None, name=None):
    """A window of ``size`` (every dim) at a random offset, drawn anew at each run; its gradient scatters back."""
    x = ops._t(value)
    ops._numbers("image.random_crop", *size)
    if len(size) != x.ndim or None in x.shape:
        raise ValueError(f"random_crop: size {list(size)} must give every dim of a value of known shape, got "
                         f"{list(x.shape)}")
    if any(s > d for s, d in zip(size, x.shape)):
        raise ValueError(f"Need value.shape >= size, got {list(x.shape)} and {list(size)}")
    out = x
    for axis, (s, d) in enumerate(zip(size, x.shape)):
        if s == d:
            continue
        # an offset uniform over 0 .. d - s: floor(u * (d - s + 1)), u in [0, 1)
        offset = ops.cast(ops.floor(random_uniform([], 0.0, float(d - s + 1), seed=seed)), ops.int64)
        idx = ops.add(offset, ops.constant(numpy.arange(s, dtype=numpy.int64)))
        out = core.ops.shape.take(out, idx, axis)
    return named(out if out is not x else ops.identity(x), name)


def random_brightness(image, max_delta, seed=None):
    """``adjust_brightness`` by a delta uniform in [-max_delta, max_delta)."""
    if max_delta < 0:
        raise ValueError("max_delta must be non-negative.")
    return adjust_brightness(image, random_uniform([], -max_delta, max_delta, seed=seed))


def random_contrast(image, lower, upper, seed=None):
    """``adjust_contrast`` by a factor uniform in [lower, upper)."""
    if upper <= lower:
        raise ValueError("upper must be > lower.")
    if lower < 0:
        raise ValueError("lower must be non-negative.")
    return adjust_contrast(image, random_uniform([], lower, upper, seed=seed))


def _window(x: Tensor, top: int, left: int, height: int, width: int) -> Tensor:
    index = (builtins.slice(None),) * (x.ndim - 3) + (builtins.slice(top, top + height),
                                                      builtins.slice(left, left + width))
    return core.getitem(x, index)


def crop_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """The window of ``target_height`` x ``target_width`` at the given offsets, with TF's checks."""
    ops._numbers("image.crop_to_bounding_box", offset_height, offset_width, target_height, target_width)
    x = _image(image, "crop_to_bounding_box")
    h, w = _hw(x)
    for what, v in (("offset_width", offset_width), ("offset_height", offset_height)):
        if v < 0:
            raise ValueError(f"{what} must be >= 0.")
    for what, v in (("target_width", target_width), ("target_height", target_height)):
        if v <= 0:
            raise ValueError(f"{what} must be > 0.")
    if w < target_width + offset_width:
        raise ValueError("width must be >= target + offset.")
    if h < target_height + offset_height:
        raise ValueError("height must be >= target + offset.")
    return _window(x, int(offset_height), int(offset_width), int(target_height), int(target_width))


def pad_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """The image placed at the offsets in a zero canvas of ``target_height`` x ``target_width``."""
    ops._numbers("image.pad_to_bounding_box", offset_height, offset_width, target_height, target_width)
    x = _image(image, "pad_to_bounding_box")
    h, w = _hw(x)
    after_h, after_w = target_height - offset_height - h, target_width - offset_width - w
    for what, v in (("offset_height", offset_height), ("offset_width", offset_width)):
        if v < 0:
            raise ValueError(f"{what} must be >= 0")
    if after_w < 0:
        raise ValueError("width must be <= target - offset")
    if after_h < 0:
        raise ValueError("height must be <= target - offset")
    pads = [[0, 0]] * (x.ndim - 3) + [[int(offset_height), int(after_h)], [int(offset_width), int(after_w)], [0, 0]]
    return ops.pad(x, pads)


def central_crop(image, central_fraction):
    """The central ``central_fraction`` of the height and width, offsets computed in double as TF."""
    ops._numbers("image.central_crop", central_fraction)
    if central_fraction <= 0.0 or central_fraction > 1.0:
        raise ValueError("central_fraction must be within (0, 1]")
    x = _image(image, "central_crop")
    if central_fraction == 1.0:
        return x
    h, w = _hw(x)
    top, left = int((h - h * central_fraction) / 2), int((w - w * central_fraction) / 2)
    return _window(x, top, left, h - 2 * top, w - 2 * left)


def resize_image_with_crop_or_pad(image, target_height, target_width):
    """Cropped around the centre where larger than the target, zero-padded around it where smaller."""
    ops._numbers("image.resize_image_with_crop_or_pad", target_height, target_width)
    x = _image(image, "resize_image_with_crop_or_pad")
    if target_width <= 0:
        raise ValueError("target_width must be > 0.")
    if target_height <= 0:
        raise ValueError("target_height must be > 0.")
    h, w = _hw(x)
    cropped = crop_to_bounding_box(x, max((h - target_height) // 2, 0), max((w - target_width) // 2, 0),
                                   min(target_height, h), min(target_width, w))
    ch, cw = _hw(cropped)
    return pad_to_bounding_box(cropped, max((target_height - ch) // 2, 0), max((target_width - cw) // 2, 0),
                               target_height, target_width)


resize_with_crop_or_pad = resize_image_with_crop_or_pad


def _scale(size_in: int, size_out: int, align_corners: bool) -> numpy.float32:
    """TF's CalculateResizeScale, in float32."""
    if align_corners and size_out > 1:
        return numpy.float32(size_in - 1) / numpy.float32(size_out - 1)
    return numpy.float32(size_in) / numpy.float32(size_out)


def _bilinear_taps(size_in: int, size_out: int, align_corners: bool, half_pixel: bool) -> tuple:
    """(lower, upper, lerp) per output position, as TF's ``compute_interpolation_weights`` (float32)."""
    scale = _scale(size_in, size_out, align_corners)
    i = numpy.arange(size_out, dtype=numpy.float32)
    at = (i + numpy.float32(0.5)) * scale - numpy.float32(0.5) if half_pixel else i * scale
    floor = numpy.floor(at)
    lower = numpy.maximum(floor.astype(numpy.int64), 0)
    upper = numpy.minimum(numpy.ceil(at).astype(numpy.int64), size_in - 1)
    return lower, upper, (at - floor).astype(numpy.float32)


def _nearest_taps(size_in: int, size_out: int, align_corners: bool, half_pixel: bool) -> numpy.ndarray:
    """The source position per output position, as TF's nearest-neighbour kernel."""
    scale = _scale(size_in, size_out, align_corners)
    i = numpy.arange(size_out, dtype=numpy.float32)
    at = (i + numpy.float32(0.5)) * scale if half_pixel else i * scale
    src = numpy.round(at) if align_corners else numpy.floor(at)       # roundf: halves away from zero
    if align_corners:
        src = numpy.where(at - numpy.floor(at) == 0.5, numpy.floor(at) + 1, src)
    src = numpy.minimum(src.astype(numpy.int64), size_in - 1)
    return numpy.maximum(src, 0) if half_pixel else src


def _size(size: Any, fn: str) -> tuple[int, int]:
    if isinstance(size, Tensor):
        raise NotImplementedError(f"tf.image.{fn}: a tensor size is not implemented in dualflow (give two ints)")
    if len(size) != 2:
        raise ValueError("'size' must be a 1-D Tensor of 2 elements: new_height, new_width")
    return int(size[0]), int(size[1])


def _take(x: Tensor, idx: numpy.ndarray, axis: int) -> Tensor:
    return core.ops.shape.take(x, ops.convert_to_tensor(idx, graph=x.graph), axis)


def resize_bilinear(images, size, align_corners=False, name=None, half_pixel_centers=False):
    """Bilinear resizing as TF's ResizeBilinear kernel, in float32: the top and bottom rows interpolated
    across, then between them (``top + (bottom - top) * lerp``)."""
    if align_corners and half_pixel_centers:
        raise ValueError("If half_pixel_centers is True, align_corners must be False.")
    x = ops.cast(_image(images, "resize_bilinear"), numpy.float32)
    (h, w), (nh, nw) = _hw(x), _size(size, "resize_bilinear")
    ha, wa = x.ndim - 3, x.ndim - 2
    y0, y1, yl = _bilinear_taps(h, nh, align_corners, half_pixel_centers)
    x0, x1, xl = _bilinear_taps(w, nw, align_corners, half_pixel_centers)
    xw = ops.constant(xl.reshape(nw, 1))
    yw = ops.constant(yl.reshape(nh, 1, 1))

    def across(rows: Tensor) -> Tensor:
        left, right = _take(rows, x0, wa), _take(rows, x1, wa)
        return core.add(left, core.mul(core.sub(right, left), xw))
    top, bottom = across(_take(x, y0, ha)), across(_take(x, y1, ha))
    return named(core.add(top, core.mul(core.sub(bottom, top), yw)), name)


def resize_nearest_neighbor(images, size, align_corners=False, name=None, half_pixel_centers=False):
    """Nearest-neighbour resizing as TF's kernel (exact copies, the input's dtype)."""
    if align_corners and half_pixel_centers:
        raise ValueError("If half_pixel_centers is True, align_corners must be False.")
    x = _image(images, "resize_nearest_neighbor")
    (h, w), (nh, nw) = _hw(x), _size(size, "resize_nearest_neighbor")
    rows = _take(x, _nearest_taps(h, nh, align_corners, half_pixel_centers), x.ndim - 3)
    return named(_take(rows, _nearest_taps(w, nw, align_corners, half_pixel_centers), x.ndim - 2), name)


def resize_images(images, size, method=ResizeMethod.BILINEAR, align_corners=False, preserve_aspect_ratio=False,
                  name=None):
    """TF1's ``tf.image.resize_images``: bilinear (float32) or nearest-neighbour; the image itself where the
    size does not change, as TF."""
    if preserve_aspect_ratio:
        raise NotImplementedError("tf.image.resize_images: preserve_aspect_ratio is not implemented in dualflow")
    x = _image(images, "resize_images")
    if _size(size, "resize_images") == _hw(x):
        return x
    if method == ResizeMethod.BILINEAR:
        return resize_bilinear(x, size, align_corners, name)
    if method == ResizeMethod.NEAREST_NEIGHBOR:
        return resize_nearest_neighbor(x, size, align_corners, name)
    raise NotImplementedError(f"tf.image.resize_images: method {ResizeMethod(method).name} is not implemented in "
                              "dualflow (BILINEAR and NEAREST_NEIGHBOR are)")


def resize(images, size, method=ResizeMethod.BILINEAR, align_corners=False, preserve_aspect_ratio=False,
           name=None):
    return resize_images(images, size, method, align_corners, preserve_aspect_ratio, name)


def _float_image(image: Any, fn: str) -> Tensor:
    x = ops._t(image)
    if x.dtype.kind != "f":
        raise NotImplementedError(f"tf.image.{fn}: images of dtype {x.dtype.name} (converted through "
                                  "convert_image_dtype in TF) are not implemented in dualflow; give float images")
    return x


def per_image_standardization(image):
    """(x - mean) / max(std, 1 / sqrt(pixels)) over each image's height, width and channels, in float32, as TF
    composes it."""
    x = ops.cast(_image(image, "per_image_standardization"), numpy.float32)
    axes = [-1, -2, -3]
    mean = ops.reduce_mean(x, axes, keepdims=True)
    std = ops.reduce_std(x, axes, keepdims=True)
    pixels = builtins.int(numpy.prod(x.shape[-3:]))
    floor = ops.rsqrt(ops.cast(ops.constant(numpy.int32(pixels)), numpy.float32))
    return core.div(core.sub(x, mean), ops.maximum(std, floor))


def adjust_brightness(image, delta):
    """A float image plus ``delta``."""
    x = _float_image(image, "adjust_brightness")
    return ops.add(x, ops.cast(ops._t(delta), x.dtype))


def adjust_contrast(images, contrast_factor):
    """(x - mean) * factor + mean, each channel's mean over the height and width (a float image); no gradient
    (tf.gradients through it raises LookupError, as TF)."""
    x = _float_image(images, "adjust_contrast")
    mean = ops.reduce_mean(x, [x.ndim - 3, x.ndim - 2], keepdims=True)
    out = ops.add(ops.multiply(ops.subtract(x, mean), ops.cast(ops._t(contrast_factor), x.dtype)), mean)
    return ops.no_gradient(out, "AdjustContrastv2", "adjust_contrast")      # TF's kernel has no gradient


def rgb_to_grayscale(images, name=None):
    """The weighted sum 0.2989 R + 0.5870 G + 0.1140 B (a tensordot with the weights, as TF), keeping a last
    dim of 1 (a float image)."""
    x = _float_image(images, "rgb_to_grayscale")
    if x.shape[-1] != 3:
        raise ValueError(f"rgb_to_grayscale: the last dim must be 3 (RGB), got shape {list(x.shape)}")
    weights = ops.constant(numpy.array([[0.2989], [0.5870], [0.1140]], x.dtype))
    gray = core.matmul(core.reshape(x, (-1, 3)), weights)       # TF's tensordot: one matmul of the pixels
    return named(core.reshape(gray, [-1 if d is None else d for d in x.shape[:-1]] + [1]), name)


def grayscale_to_rgb(images, name=None):
    """The single channel repeated three times."""
    x = ops._t(images)
    if x.ndim < 2 or x.shape[-1] != 1:
        raise ValueError(f"grayscale_to_rgb: the last dim must be 1, got shape {list(x.shape)}")
    return named(ops.tile(x, [1] * (x.ndim - 1) + [3]), name)


__getattr__ = _errors.missing_names("static_api.image")     # a missing public name says so
