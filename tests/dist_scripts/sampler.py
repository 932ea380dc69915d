"""Run with ``mpiexec -n 2``: DistributedSampler shards are disjoint, cover the data, and reshuffle alike."""
import eager_api as torch
import eager_api.distributed as dist
from eager_api.utils.data import DataLoader, TensorDataset
from eager_api.utils.data.distributed import DistributedSampler


def gathered(sampler: DistributedSampler) -> list:
    """Every rank's indices, by rank."""
    mine = torch.tensor(list(sampler))
    out = [torch.zeros(len(sampler), dtype=torch.int64) for _ in range(dist.get_world_size())]
    dist.all_gather(out, mine)
    return [o.tolist() for o in out]


def main() -> None:
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    data = TensorDataset(torch.arange(11.0))
    sampler = DistributedSampler(data, seed=5)         # num_replicas and rank from the group
    assert (sampler.num_replicas, sampler.rank, len(sampler)) == (2, rank, 6)
    orders = []
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        shards = gathered(sampler)
        flat = shards[0] + shards[1]
        # 11 samples on 2 ranks: 12 slots, so exactly one index is repeated (the padding) and all are covered
        assert sorted(set(flat)) == list(range(11)) and len(flat) == 12, shards
        interleaved = [i for pair in zip(*shards) for i in pair]
        assert sorted(interleaved[:11]) == list(range(11)), interleaved    # one permutation, padded at the end
        assert interleaved[11] == interleaved[0], interleaved
        orders.append(interleaved)
    assert orders[0] != orders[1], orders
    sampler.set_epoch(0)
    assert gathered(sampler) == [orders[0][0::2], orders[0][1::2]]      # the same epoch gives the same order

    dropped = DistributedSampler(data, shuffle=False, drop_last=True)
    assert list(dropped) == [[0, 2, 4, 6, 8], [1, 3, 5, 7, 9]][rank]
    loader = DataLoader(data, batch_size=4, sampler=DistributedSampler(data, shuffle=False))
    assert len(loader) == 2
    assert [b[0].tolist() for b in loader] == [[[0.0, 2.0, 4.0, 6.0], [8.0, 10.0]],
                                               [[1.0, 3.0, 5.0, 7.0], [9.0, 0.0]]][rank]
    dist.destroy_process_group()
    print(f"PASS rank {rank}", flush=True)


if __name__ == "__main__":
    main()
