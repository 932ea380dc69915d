"""``torch.utils.data``: Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset, ChainDataset,
StackDataset, random_split, the samplers (sequential, random, subset-random, weighted, batch) and a DataLoader
with seeded shuffling."""
from __future__ import annotations

import bisect
import collections.abc
import copy
import itertools
import re
from typing import Any, Iterator, Sequence

import numpy

import core
from eager_api.tensor import Tensor, as_tensor, stack, tensor


class Dataset:
    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: iterating it gives the samples (the DataLoader batches them in order)."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other: "Dataset") -> "ChainDataset":
        return ChainDataset([self, other])


class ConcatDataset(Dataset):
    """Datasets one after the other: index i is in the first whose ``cumulative_sizes`` entry exceeds it."""

    def __init__(self, datasets: Any) -> None:
        self.datasets = list(datasets)
        assert len(self.datasets) > 0, "datasets should not be an empty iterable"  # noqa: S101  (PyTorch's error)
        for d in self.datasets:
            assert not isinstance(d, IterableDataset), "ConcatDataset does not support IterableDataset"  # noqa: S101
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        return self.datasets[which][idx - (self.cumulative_sizes[which - 1] if which else 0)]


class ChainDataset(IterableDataset):
    """Iterable datasets streamed one after the other."""

    def __init__(self, datasets: Any) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator[Any]:
        for d in self.datasets:
            assert isinstance(d, IterableDataset), "ChainDataset only supports IterableDataset"  # noqa: S101
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            assert isinstance(d, IterableDataset), "ChainDataset only supports IterableDataset"  # noqa: S101
            total += len(d)
        return total


class StackDataset(Dataset):
    """Samples of several datasets side by side: a tuple (positional datasets) or a dict (keyword ones)."""

    def __init__(self, *args: Dataset, **kwargs: Dataset) -> None:
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like input/output, "
                             "but both types are given.")
        parts = list(args) or list(kwargs.values())
        if not parts:
            raise ValueError("At least one dataset should be passed")
        if any(len(d) != len(parts[0]) for d in parts):
            raise ValueError("Size mismatch between datasets")
        self._length = len(parts[0])
        self.datasets: Any = args if args else kwargs

    def __getitem__(self, index: int) -> Any:
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self) -> int:
        return self._length


class TensorDataset(Dataset):
    def __init__(self, *tensors: Tensor) -> None:
        n = tensors[0].shape[0]
        for i, t in enumerate(tensors):
            if t.shape[0] != n:
                raise ValueError(f"Size mismatch between tensors: tensor 0 has {n} rows, tensor {i} has "
                                 f"{t.shape[0]}")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (list, numpy.ndarray)):
            return self.dataset[[self.indices[int(i)] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(dataset: Dataset, lengths: Sequence[int | float],
                 generator: core.Generator | None = None) -> list[Subset]:
    """Disjoint random subsets of the given lengths, or fractions of the dataset (remainders go round-robin)."""
    n = len(dataset)
    if all(0 <= f <= 1 for f in lengths) and abs(sum(lengths) - 1) < 1e-9 and sum(lengths) != n:
        sizes = [int(f * n) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        lengths = sizes
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    # Drawn from the generator's CPU stream, so a second split (like a second shuffle) differs from the first.
    order = (generator or core.random.default_generator).get("cpu").permutation(n).tolist()
    out, start = [], 0
    for size in lengths:
        out.append(Subset(dataset, order[start:start + int(size)]))
        start += int(size)
    return out


# Arrays of strings, bytes or objects (their dtype strings' kind letters), which neither function turns into
# tensors.
_NP_STR_OBJ = re.compile(r"[SaUO]")
_COLLATE_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _rebuild(elem: Any, items: list) -> Any:
    """``items`` (one per field of ``elem``, a list or other sequence) in ``elem``'s own sequence type, as
    PyTorch keeps it: a mutable one copied and refilled, another built from the list, a plain list where the
    type cannot be built from one."""
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, item in enumerate(items):
                clone[i] = item
            return clone
        return type(elem)(items)
    except TypeError:
        return items


def _remap(elem: Any, items: dict) -> Any:
    """``items`` in ``elem``'s own mapping type (``_rebuild``'s rules for mappings)."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(items)
            return clone
        return type(elem)(items)
    except TypeError:
        return items


def default_collate(batch: Sequence[Any]) -> Any:
    """PyTorch's ``default_collate``: tensors, NumPy arrays and numbers become one tensor with a new first
    dim (NumPy values keep their dtype, Python floats are float64, ints int64, bools bool); strings and bytes
    stay as the batch's sequence of them; mappings, namedtuples and lists are collated field by field into
    their own type, but tuples into a list (PyTorch keeps that for backward compatibility)."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return stack(list(batch))
    if isinstance(elem, numpy.ndarray):
        if _NP_STR_OBJ.search(elem.dtype.str):
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return stack([as_tensor(b) for b in batch])
    if isinstance(elem, (numpy.bool_, numpy.number, numpy.object_)):
        return as_tensor(list(batch))
    if isinstance(elem, float):
        return tensor(list(batch), dtype=numpy.float64)
    if isinstance(elem, int):
        return tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _remap(elem, {key: default_collate([d[key] for d in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):        # a namedtuple keeps its type
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(samples) for samples in zip(*batch)]
        return fields if isinstance(elem, tuple) else _rebuild(elem, fields)
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data: Any) -> Any:
    """PyTorch's ``default_convert``, what ``batch_size=None`` hands a sample over as: NumPy arrays and
    scalars become tensors (arrays of strings or objects stay), inside mappings, namedtuples and sequences
    too, which keep their type except tuples, which become lists; everything else stays as it is."""
    if isinstance(data, Tensor):
        return data
    if type(data).__module__ == "numpy" and not isinstance(data, (numpy.str_, numpy.bytes_)):
        if isinstance(data, numpy.ndarray) and _NP_STR_OBJ.search(data.dtype.str):
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _remap(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild(data, [default_convert(d) for d in data])
    return data


class Sampler:
    """Base of the index samplers: iterating gives indices into a dataset (or lists of them, a batch sampler)."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class SequentialSampler(Sampler):
    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A new permutation each pass (``num_samples`` of them: several permutations joined when more than the
    dataset), or draws with ``replacement``, from the stream of ``generator`` (or the default generator): seeded
    runs repeat, but the orders are not PyTorch's for the same seed."""

    def __init__(self, data_source: Any, replacement: bool = False, num_samples: int | None = None,
                 generator: core.Generator | None = None) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        self.data_source, self.replacement, self._num_samples = data_source, replacement, num_samples
        self.generator = generator
        if not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")
        self._rng = None

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        if self._rng is None:
            self._rng = numpy.random.default_rng((self.generator or core.random.default_generator).seed)
        n, k = len(self.data_source), self.num_samples
        if self.replacement:
            return iter(self._rng.integers(0, n, k).tolist())
        rounds = [self._rng.permutation(n) for _ in range(-(-k // n))]
        return iter(numpy.concatenate(rounds)[:k].tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a new random order each pass."""

    def __init__(self, indices: Sequence[int], generator: core.Generator | None = None) -> None:
        self.indices, self.generator = indices, generator

    def __iter__(self) -> Iterator[Any]:
        order = (self.generator or core.random.default_generator).get("cpu").permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights`` (with or without
    replacement), as ``torch.multinomial`` draws them: a different stream than PyTorch's."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: core.Generator | None = None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = numpy.asarray(weights.numpy() if isinstance(weights, Tensor) else weights, dtype=numpy.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        if (w < 0).any() or not numpy.isfinite(w).all() or w.sum() <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not replacement and num_samples > len(w):
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
        self.weights, self.num_samples, self.replacement, self.generator = w, num_samples, replacement, generator

    def __iter__(self) -> Iterator[int]:
        rng = (self.generator or core.random.default_generator).get("cpu")
        w = self.weights
        if self.replacement:
            return iter(rng.choice(len(w), self.num_samples, True, w / w.sum()).tolist())
        # without replacement the weighted items come first, then (as PyTorch's) those of weight 0 in any order
        live = numpy.flatnonzero(w)
        first = rng.choice(live, len(live), False, w[live] / w[live].sum())
        return iter(numpy.concatenate([first, rng.permutation(numpy.flatnonzero(w == 0))])[:self.num_samples]
                    .tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Lists of ``batch_size`` indices from ``sampler``; the last one shorter unless ``drop_last``."""

    def __init__(self, sampler: Any, batch_size: int, drop_last: bool) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self) -> Iterator[list]:
        batch: list = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class DataLoader:
    """Batches of a dataset, with PyTorch's arguments and their checks: ``sampler`` or ``shuffle`` (a
    ``RandomSampler``) picks the order, ``batch_sampler`` the batches, ``batch_size=None`` hands over samples
    one by one.  Loading runs in this process: ``num_workers`` and the other worker and pinning options are
    checked as PyTorch checks them and change nothing else (a ``worker_init_fn`` is not called)."""

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0, collate_fn: Any = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0, worker_init_fn: Any = None,
                 multiprocessing_context: Any = None, generator: core.Generator | None = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:      # a stream has no indices: PyTorch refuses what would pick them
            for option, given in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if given not in (None, False):
                    raise ValueError(f"DataLoader with IterableDataset: expected unspecified {option} option, but "
                                     f"got {option}={given}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        if sampler is None:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last, self.generator = dataset, batch_size, drop_last, generator
        self.sampler, self.batch_sampler, self.num_workers = sampler, batch_sampler, num_workers
        self.collate_fn = collate_fn or (default_collate if batch_sampler is not None else default_convert)

    def __iter__(self) -> Iterator[Any]:
        if self._iterable:
            yield from self._stream()
            return
        if self.batch_sampler is None:          # no auto-batching: one sample at a time
            for i in self.sampler:
                yield self.collate_fn(self.dataset[i])
            return
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate
        for idx in self.batch_sampler:
            if fast:      # index the tensors directly with the host index array: no per-sample collate
                yield list(self.dataset[numpy.asarray(idx)])        # a list, as default_collate makes
            else:
                yield self.collate_fn([self.dataset[int(j)] for j in idx])

    def _stream(self) -> Iterator[Any]:
        """An IterableDataset's samples in its order, batched (the last batch shorter unless drop_last)."""
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch: list = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        if self._iterable:      # PyTorch's: the stream's own length, in batches (a TypeError without one)
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.sampler if self.batch_sampler is None else self.batch_sampler)


from eager_api.utils.data import distributed  # noqa: E402  (torch.utils.data.distributed)
from eager_api.utils.data.distributed import DistributedSampler  # noqa: E402
