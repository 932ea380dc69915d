"""``torch.utils.data``: Dataset, TensorDataset, Subset, random_split and a DataLoader with seeded shuffling."""
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


class DataLoader:
    """Batches of a dataset; ``shuffle`` draws a new order each epoch from ``generator`` (or the default one)."""

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool = False, sampler: Any = None,
                 num_workers: int = 0, collate_fn: Any = None, drop_last: bool = False,
                 generator: core.Generator | None = None, **_: Any) -> None:
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.sampler = sampler
        self.collate_fn = collate_fn or default_collate
        self.generator = generator
        self._rng = None

    def _order(self) -> numpy.ndarray:
        n = len(self.dataset)
        if self.sampler is not None:
            return numpy.asarray(list(iter(self.sampler)))
        if not self.shuffle:
            return numpy.arange(n)
        if self._rng is None:
            seed = (self.generator or core.random.default_generator).seed
            self._rng = numpy.random.default_rng(seed)
        return self._rng.permutation(n)

    def __iter__(self) -> Iterator[Any]:
        order = self._order()
        bs = self.batch_size or 1
        stop = len(order) - (len(order) % bs if self.drop_last else 0)
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is default_collate
        for i in range(0, stop, bs):
            idx = order[i:i + bs]
            if fast:      # index the tensors directly with the host index array: no per-sample collate
                yield self.dataset[idx]
            else:
                yield self.collate_fn([self.dataset[int(j)] for j in idx])

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        bs = self.batch_size or 1
        return n // bs if self.drop_last else -(-n // bs)


from eager_api.utils.data import distributed  # noqa: E402  (torch.utils.data.distributed)
from eager_api.utils.data.distributed import DistributedSampler  # noqa: E402
