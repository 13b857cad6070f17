import math

import pytest
import torch

from weightspace.errors import WeightspaceError
from weightspace.eval.metrics import harmonic_mean, mean_std, topk_accuracy, topk_correct


def test_topk_hand_computed_with_pessimistic_ties():
    logits = torch.tensor([
        [3.0, 1.0, 2.0],  # label 0 is the max -> top1
        [0.0, 5.0, 1.0],  # label 2 is second -> top2 only
        [1.0, 1.0, 1.0],  # all tied: ties count against -> only top3
        [2.0, 2.0, 0.0],  # label 1 tied with class 0 -> not top1, top2
    ])
    labels = torch.tensor([0, 2, 1, 1])
    hits = topk_correct(logits, labels, (1, 2, 3))
    assert hits[1].tolist() == [True, False, False, False]
    assert hits[2].tolist() == [True, True, False, True]
    assert hits[3].tolist() == [True, True, True, True]
    acc = topk_accuracy(logits, labels, (1, 2, 5))
    assert acc == {1: 0.25, 2: 0.75, 5: 1.0}  # k beyond the class count: every label is within


def test_constant_model_scores_zero_not_hundred():
    assert topk_accuracy(torch.zeros(6, 4), torch.arange(6) % 4, (1,))[1] == 0.0


def test_nonfinite_logits_count_as_wrong():
    logits = torch.tensor([[float("nan"), 0.0], [1.0, 0.0], [float("inf"), 0.0]])
    hits = topk_correct(logits, torch.tensor([0, 0, 0]), (1,))
    assert hits[1].tolist() == [False, True, False]


def test_label_out_of_range_is_one_line_error():
    with pytest.raises(WeightspaceError, match="label 3 outside the 3 classes"):
        topk_accuracy(torch.zeros(2, 3), torch.tensor([0, 3]))


def test_harmonic_mean():
    assert harmonic_mean(0.8, 0.6) == pytest.approx(2 * 0.8 * 0.6 / 1.4)
    assert harmonic_mean(0.0, 0.0) == 0.0
    assert harmonic_mean(1.0, 0.0) == 0.0
    assert math.isnan(harmonic_mean(float("nan"), 0.5))


def test_mean_std_population():
    m, s = mean_std([0.8, 0.9, 1.0])
    assert m == pytest.approx(0.9)
    assert s == pytest.approx(math.sqrt(0.02 / 3))
    assert mean_std([0.5]) == (0.5, 0.0)
