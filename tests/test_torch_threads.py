import time

import pytest
import torch

from weightspace.torch_threads import ThreadTuner, torch_threads


def test_the_callers_count_is_restored_even_on_error():
    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    with pytest.raises(RuntimeError):
        with torch_threads(target):
            assert torch.get_num_threads() == target
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_probes_each_count_keeps_the_fastest_and_probes_again(monkeypatch):
    cost = {1: 0.005, 2: 0.05}  # seconds per item: here one thread is the fast one
    tuner = ThreadTuner((2, 1), every=3)
    before = torch.get_num_threads()
    used = []
    for _ in range(8):
        with tuner.batch(4) as n:
            assert torch.get_num_threads() == n
            used.append(n)
            time.sleep(cost[n] * 4)
        assert torch.get_num_threads() == before  # restored after every batch
    assert used[:2] == [2, 1]  # one probe batch each
    assert tuner.choice == 1 and tuner.seconds_per_item[1] < tuner.seconds_per_item[2]
    assert used[2:5] == [1, 1, 1] and used[5:7] == [2, 1]  # after `every` batches, probed again
    cost.update({1: 0.05, 2: 0.005})  # the machine got quieter: two threads win the next probe
    for _ in range(6):
        with tuner.batch(4) as n:
            time.sleep(cost[n] * 4)
    assert tuner.choice == 2


def test_bad_candidates():
    with pytest.raises(ValueError, match="positive integers"):
        ThreadTuner((0,))
