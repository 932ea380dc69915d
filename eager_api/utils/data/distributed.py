"""``torch.utils.data.distributed.DistributedSampler``: each rank's share of a dataset."""
from __future__ import annotations

import math
from typing import Any, Iterator

import core
from eager_api import distributed


class DistributedSampler:
    """Indices for one of ``num_replicas`` ranks, as PyTorch draws them.

    With ``shuffle`` the order is a permutation seeded by ``seed + epoch``, the same on every rank, so the
    ranks' shares are disjoint; call ``set_epoch`` each epoch for a new order.  Without ``drop_last`` the
    order is padded with its own first indices to a multiple of ``num_replicas``; with it, the tail is cut.
    Rank ``r`` takes every ``num_replicas``-th index from position ``r``.  (The permutation comes from
    dualflow's generator, so it is not PyTorch's permutation for the same seed.)
    """

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None:
            num_replicas = distributed.get_world_size()
        if rank is None:
            rank = distributed.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last, self.epoch = shuffle, seed, drop_last, 0
        n = len(dataset)
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = core.random.Generator(self.seed + self.epoch).get("cpu").permutation(n).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            pad = self.total_size - len(indices)
            indices += (indices * math.ceil(pad / len(indices)))[:pad] if pad > 0 else []
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``__iter__`` use the order of ``epoch`` (the same on every rank)."""
        self.epoch = epoch
