"""torch.utils.data's composite datasets and samplers: IterableDataset through the DataLoader, ConcatDataset,
ChainDataset, StackDataset, SubsetRandomSampler, WeightedRandomSampler and RandomSampler with replacement or
num_samples; against hand values and sampling frequencies (the random streams are dualflow's, not PyTorch's;
tests/test_reference_torch_datasets.py compares the rest with PyTorch)."""
import numpy as np
import pytest

import eager_api as torch
from eager_api.utils import data


class Stream(data.IterableDataset):
    def __init__(self, n, start=0):
        self.n, self.start = n, start

    def __iter__(self):
        return iter([torch.tensor([float(i), -float(i)]) for i in range(self.start, self.start + self.n)])

    def __len__(self):
        return self.n


def test_a_stream_is_batched_in_its_order():
    batches = [b.tolist() for b in data.DataLoader(Stream(5), batch_size=2)]
    assert batches == [[[0.0, -0.0], [1.0, -1.0]], [[2.0, -2.0], [3.0, -3.0]], [[4.0, -4.0]]]
    assert len(data.DataLoader(Stream(5), batch_size=2)) == 3
    assert len(data.DataLoader(Stream(5), batch_size=2, drop_last=True)) == 2
    assert [b.tolist() for b in data.DataLoader(Stream(2), batch_size=None)] == [[0.0, -0.0], [1.0, -1.0]]
    with pytest.raises(ValueError, match="expected unspecified shuffle option, but got shuffle=True"):
        data.DataLoader(Stream(5), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        data.DataLoader(Stream(5), sampler=[0, 1])


def test_concatenated_chained_and_stacked_datasets():
    a, b = data.TensorDataset(torch.arange(3)), data.TensorDataset(torch.arange(10, 14))
    c = a + b
    assert isinstance(c, data.ConcatDataset) and len(c) == 7 and c.cumulative_sizes == [3, 7]
    assert [c[i][0].item() for i in (0, 2, 3, 6, -1, -7)] == [0, 2, 10, 13, 13, 0]
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        c[-8]
    with pytest.raises(AssertionError, match="datasets should not be an empty iterable"):
        data.ConcatDataset([])
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        data.ConcatDataset([Stream(2)])
    chained = Stream(2) + Stream(1, start=7)
    assert isinstance(chained, data.ChainDataset) and len(chained) == 3
    assert [t[0].item() for t in chained] == [0.0, 1.0, 7.0]
    pair = data.StackDataset(a, data.TensorDataset(torch.arange(5, 8)))
    assert len(pair) == 3 and [x[0].item() for x in pair[1]] == [1, 6]
    assert {k: v[0].item() for k, v in data.StackDataset(x=a, y=a)[2].items()} == {"x": 2, "y": 2}
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        data.StackDataset(a, b)


def test_subset_and_weighted_samplers():
    torch.manual_seed(0)
    order = list(data.SubsetRandomSampler([5, 7, 9, 11]))
    assert sorted(order) == [5, 7, 9, 11]
    draws = list(data.WeightedRandomSampler([1.0, 3.0, 0.0], 4000))
    counts = np.bincount(draws, minlength=3)
    assert counts[2] == 0 and abs(counts[1] / 4000 - 0.75) < 0.03        # 4 sigma is about 0.027
    no_rep = list(data.WeightedRandomSampler([0.5, 1.0, 0.0, 0.2], 4, replacement=False))
    assert sorted(no_rep) == [0, 1, 2, 3] and no_rep[-1] == 2          # weight 0 comes last
    with pytest.raises(ValueError, match="weights should be a 1d sequence but given weights have shape"):
        data.WeightedRandomSampler([[1.0]], 2)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        data.WeightedRandomSampler([1.0], 0)
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        data.WeightedRandomSampler([1.0, 2.0], 3, replacement=False)
    picked = [x[0].tolist() for x in data.DataLoader(data.TensorDataset(torch.arange(3)), batch_size=2,
                                                     sampler=data.WeightedRandomSampler([0, 0, 1.0], 4))]
    assert picked == [[2, 2], [2, 2]]


def test_random_sampler_with_replacement_or_more_samples():
    torch.manual_seed(1)
    with_rep = list(data.RandomSampler(range(3), replacement=True, num_samples=3000))
    assert len(with_rep) == 3000 and set(with_rep) == {0, 1, 2}
    assert abs(np.bincount(with_rep)[0] / 3000 - 1 / 3) < 0.035
    more = list(data.RandomSampler(range(3), num_samples=7))
    assert sorted(more[:6]) == [0, 0, 1, 1, 2, 2] and len(more) == 7       # two whole permutations first
    assert len(data.RandomSampler(range(3), num_samples=7)) == 7
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        data.RandomSampler(range(3), num_samples=0)
