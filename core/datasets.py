"""Datasets shared by both frontends: the IDX reader (MNIST, Fashion-MNIST) and the bundled default.

    >>> from core import datasets
    >>> d = datasets.load_default()
    >>> d.images.shape[1:], d.name.startswith("scikit-learn")
    ((1, 8, 8), True)
"""
from __future__ import annotations

import dataclasses
import gzip
import os
import struct

import numpy

_IDX_TYPES = {0x08: numpy.uint8, 0x09: numpy.int8, 0x0B: numpy.dtype(">i2"), 0x0C: numpy.dtype(">i4"),
              0x0D: numpy.dtype(">f4"), 0x0E: numpy.dtype(">f8")}


class DatasetError(ValueError):
    """A dataset file is missing, truncated or not in the expected format."""


def read_idx(path: str | os.PathLike) -> numpy.ndarray:
    """Read an IDX file (gzip-compressed or raw), checking the magic number and the size."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DatasetError(f"IDX file not found: {path}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DatasetError(f"{path}: corrupt or truncated gzip data ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES or not 1 <= raw[3] <= 4:
        raise DatasetError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'empty'}; expected "
                           "00 00 <type> <ndim>)")
    dtype, ndim = numpy.dtype(_IDX_TYPES[raw[2]]), raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DatasetError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    expected = int(numpy.prod(dims)) * dtype.itemsize
    body = raw[4 + 4 * ndim:]
    if len(body) != expected:
        raise DatasetError(f"{path}: IDX header says shape {dims} ({expected} bytes of data) but the file holds "
                           f"{len(body)} bytes (truncated or wrong file)")
    return numpy.frombuffer(body, dtype=dtype).reshape(dims).astype(dtype.newbyteorder("="))


@dataclasses.dataclass
class ImageDataset:
    """Images as float32 NCHW in [0, 1] and int64 labels."""

    name: str
    images: numpy.ndarray
    labels: numpy.ndarray
    num_classes: int

    def split(self, n_train: int) -> tuple["ImageDataset", "ImageDataset"]:
        return (ImageDataset(self.name, self.images[:n_train], self.labels[:n_train], self.num_classes),
                ImageDataset(self.name, self.images[n_train:], self.labels[n_train:], self.num_classes))

    def subset(self, n: int) -> "ImageDataset":
        return ImageDataset(self.name, self.images[:n], self.labels[:n], self.num_classes)


def _find(directory: str, stems: list[str]) -> str | None:
    for stem in stems:
        for suffix in ("", ".gz"):
            p = os.path.join(directory, stem + suffix)
            if os.path.exists(p):
                return p
    return None


def _idx_files(directory: str) -> dict[str, tuple[str, str]]:
    """The MNIST-style (images, labels) file pairs in ``directory``, by split ("train", "t10k")."""
    found = {}
    for split in ("train", "t10k"):
        img = _find(directory, [f"{split}-images-idx3-ubyte", f"{split}-images.idx3-ubyte"])
        lab = _find(directory, [f"{split}-labels-idx1-ubyte", f"{split}-labels.idx1-ubyte"])
        if img and lab:
            found[split] = (img, lab)
    return found


def load_mnist(directory: str | os.PathLike) -> ImageDataset:
    """MNIST or Fashion-MNIST IDX files in ``directory`` (train files if present, else the test set)."""
    directory = os.fspath(directory)
    files = _idx_files(directory)
    for split in ("train", "t10k"):
        if split in files:
            return _idx_pair(directory, split, *files[split])
    raise DatasetError(f"no MNIST-style IDX files (train-/t10k-images-idx3-ubyte[.gz] and labels) in {directory}")


def load_default() -> ImageDataset:
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images; UCI ML digits, CC BY 4.0)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DatasetError("the bundled default dataset needs scikit-learn: pip install 'dualflow[app]', or pass "
                           "--data-dir / DUALFLOW_DATA with MNIST IDX files") from None
    d = load_digits()
    images = (d.images.astype(numpy.float32) / 16.0)[:, None]
    return ImageDataset("scikit-learn digits (8x8, 1797 images, UCI ML hand-written digits)", images,
                        d.target.astype(numpy.int64), 10)


def load(data_dir: str | None = None) -> ImageDataset:
    """``data_dir``, else ``$DUALFLOW_DATA``, else the bundled default."""
    data_dir = data_dir or os.environ.get("DUALFLOW_DATA")
    return load_mnist(data_dir) if data_dir else load_default()


@dataclasses.dataclass
class Split:
    """Training and held-out data, and where each came from (``train_source``, ``heldout_source``)."""

    train: ImageDataset
    heldout: ImageDataset
    train_source: str
    heldout_source: str


def load_split(data_dir: str | None = None, train_fraction: float = 0.8) -> Split:
    """The training and held-out sets of ``data_dir`` (else ``$DUALFLOW_DATA``, else the bundled digits).

    A folder with both MNIST-style train and t10k files trains on the train files and holds out t10k; a
    folder with one of them (the shared MNIST holds only t10k) trains on its first ``train_fraction`` and
    holds out the rest (t10k: 8,000 / 2,000); so do the bundled digits.  A folder that does not exist is an
    error naming where it came from (the argument or ``DUALFLOW_DATA``)."""
    origin = "--data-dir" if data_dir else "DUALFLOW_DATA"
    data_dir = data_dir or os.environ.get("DUALFLOW_DATA")
    if data_dir and not os.path.isdir(data_dir):
        raise DatasetError(f"{origin}={data_dir}: the folder does not exist")
    if data_dir:
        parts = _idx_files(data_dir)
        if len(parts) == 2:
            train, test = (_idx_pair(data_dir, split, *parts[split]) for split in ("train", "t10k"))
            return Split(train, test, f"{data_dir}: train ({len(train.labels)})",
                         f"{data_dir}: t10k ({len(test.labels)})")
        data = load_mnist(data_dir)
        label = f"{data_dir}: {'train' if 'train' in parts else 't10k'}"
    else:
        data = load_default()
        label = "scikit-learn digits"
    n = int(len(data.labels) * train_fraction)
    train, held = data.split(n)
    return Split(train, held, f"{label}[0:{n}]", f"{label}[{n}:{len(data.labels)}]")


def _idx_pair(directory: str, split: str, img: str, lab: str) -> ImageDataset:
    images, labels = read_idx(img), read_idx(lab)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DatasetError(f"{directory}: images {images.shape} and labels {labels.shape} do not match")
    return ImageDataset(f"IDX images from {directory} ({split})", (images.astype(numpy.float32) / 255.0)[:, None],
                        labels.astype(numpy.int64), 10)
