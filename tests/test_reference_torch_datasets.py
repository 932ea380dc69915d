"""Parity with PyTorch 2.13 for tests/test_torch_datasets.py: the same composite datasets and loaders built in
both, their deterministic results (orders of streams, indexing, lengths, errors) compared."""
import pytest

import eager_api

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.reference


def _story(lib):
    d = lib.utils.data

    class Stream(d.IterableDataset):
        def __init__(self, n, start=0):
            self.n, self.start = n, start

        def __iter__(self):
            return iter([lib.tensor([float(i), -float(i)]) for i in range(self.start, self.start + self.n)])

        def __len__(self):
            return self.n

    def caught(fn):
        try:
            return fn()
        except Exception as e:      # noqa: BLE001  (the story compares error types and messages)
            return type(e).__name__, str(e)
    a, b = d.TensorDataset(lib.arange(3)), d.TensorDataset(lib.arange(10, 14))
    c = a + b
    return {
        "stream": [x.tolist() for x in d.DataLoader(Stream(5), batch_size=2)],
        "stream_lens": (len(d.DataLoader(Stream(5), batch_size=2)),
                        len(d.DataLoader(Stream(5), batch_size=2, drop_last=True))),
        "unbatched": [x.tolist() for x in d.DataLoader(Stream(2), batch_size=None)],
        "shuffle": caught(lambda: d.DataLoader(Stream(5), shuffle=True)),
        "chain": [t.tolist() for t in Stream(2) + Stream(1, start=7)],
        "concat": (len(c), c.cumulative_sizes, [c[i][0].item() for i in (0, 2, 3, 6, -1, -7)]),
        "concat_errors": [caught(lambda: c[-8]), caught(lambda: d.ConcatDataset([])),
                          caught(lambda: d.ConcatDataset([Stream(2)]))],
        "stack": [x[0].item() for x in d.StackDataset(a, a)[1]],
        "stack_error": caught(lambda: d.StackDataset(a, b)),
        "weighted": [x[0].tolist() for x in d.DataLoader(a, batch_size=2,
                                                            sampler=d.WeightedRandomSampler([0, 0, 1.0], 4))],
        "weighted_errors": [caught(lambda: d.WeightedRandomSampler([[1.0]], 2)),
                            caught(lambda: d.WeightedRandomSampler([1.0], 0)),
                            caught(lambda: list(d.WeightedRandomSampler([1.0, 2.0], 3, replacement=False)))],
        "sampler_lens": (len(d.RandomSampler(range(3), num_samples=7)),
                         len(d.RandomSampler(range(3), replacement=True, num_samples=5))),
        "random_error": caught(lambda: d.RandomSampler(range(3), num_samples=0)),
    }


def test_datasets_and_loaders_tell_torchs_story():
    ours, theirs = _story(eager_api), _story(torch)
    for key in theirs:
        assert ours[key] == theirs[key], key
