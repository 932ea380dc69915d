"""``torch.utils.data``: Dataset, TensorDataset, Subset, random_split, the samplers and a DataLoader with seeded
shuffling."""
from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy

import core
from eager_api.tensor import Tensor, stack, tensor


class Dataset:
    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


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


def default_collate(items: Sequence[Any]) -> Any:
    first = items[0]
    if isinstance(first, Tensor):
        return stack(list(items))
    if isinstance(first, (tuple, list)):
        return type(first)(default_collate([it[i] for it in items]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: default_collate([it[k] for it in items]) for k in first}
    return tensor(numpy.asarray(items))


def default_convert(item: Any) -> Any:
    """A sample as ``batch_size=None`` hands it over: NumPy arrays (inside tuples, lists, dicts too) become
    tensors, everything else stays as it is."""
    if isinstance(item, numpy.ndarray):
        return tensor(item)
    if isinstance(item, (tuple, list)):
        return type(item)(default_convert(it) for it in item)
    if isinstance(item, dict):
        return {k: default_convert(v) for k, v in item.items()}
    return item


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
    """A new permutation each pass, from a stream seeded once by ``generator`` (or the default generator):
    seeded runs repeat, but the permutations are not PyTorch's for the same seed."""

    def __init__(self, data_source: Any, replacement: bool = False, num_samples: int | None = None,
                 generator: core.Generator | None = None) -> None:
        if replacement or num_samples is not None:
            raise NotImplementedError("RandomSampler(replacement=True or num_samples=...) is not implemented in "
                                      "dualflow")
        self.data_source, self.generator = data_source, generator
        self._rng = None

    def __iter__(self) -> Iterator[int]:
        if self._rng is None:
            self._rng = numpy.random.default_rng((self.generator or core.random.default_generator).seed)
        return iter(self._rng.permutation(len(self.data_source)).tolist())

    def __len__(self) -> int:
        return len(self.data_source)


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
        if self.batch_sampler is None:          # no auto-batching: one sample at a time
            for i in self.sampler:
                yield self.collate_fn(self.dataset[i])
            return
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate
        for idx in self.batch_sampler:
            if fast:      # index the tensors directly with the host index array: no per-sample collate
                yield self.dataset[numpy.asarray(idx)]
            else:
                yield self.collate_fn([self.dataset[int(j)] for j in idx])

    def __len__(self) -> int:
        return len(self.sampler if self.batch_sampler is None else self.batch_sampler)


from eager_api.utils.data import distributed  # noqa: E402  (torch.utils.data.distributed)
from eager_api.utils.data.distributed import DistributedSampler  # noqa: E402
