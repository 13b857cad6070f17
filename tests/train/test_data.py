import torch

from weightspace.train.data import EpochSampler, epoch_permutation


def test_permutation_depends_only_on_seed_and_epoch():
    a = epoch_permutation(50, seed=3, epoch=1)
    assert torch.equal(a, epoch_permutation(50, seed=3, epoch=1))
    assert not torch.equal(a, epoch_permutation(50, seed=3, epoch=2))
    assert sorted(a.tolist()) == list(range(50))


def test_ranks_get_disjoint_equal_shards_and_resume_skips_done_samples():
    perm = epoch_permutation(11, seed=0, epoch=0)
    r0, r1 = list(EpochSampler(perm, 0, 2)), list(EpochSampler(perm, 1, 2))
    assert len(r0) == len(r1) == 5 and not set(r0) & set(r1)
    assert r0 == perm[0:10:2].tolist()
    assert list(EpochSampler(perm, 0, 2, start=3)) == r0[3:]


def test_unshuffled_order_is_the_list_order_every_epoch():
    assert epoch_permutation(5, seed=3, epoch=0, shuffle=False).tolist() == [0, 1, 2, 3, 4]
    assert torch.equal(epoch_permutation(5, seed=3, epoch=2, shuffle=False), torch.arange(5))
