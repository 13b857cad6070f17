import math

import pytest
import torch

from weightspace.errors import ConfigError
from weightspace.merge import gaussian_weights
from weightspace.merge.registry import InputsInfo, KeyJob, get_method


def test_gaussian_weights_hand_computed():
    # mu=15, sigma=1 at epochs 14, 15, 16: w ∝ [e^-0.5, 1, e^-0.5] = [0.60653, 1, 0.60653], sum 2.21306
    # -> [0.27406, 0.45187, 0.27406]
    w = gaussian_weights([14, 15, 16], mu=15, sigma=1)
    assert w == pytest.approx([0.27406, 0.45187, 0.27406], abs=1e-5)


def test_author_defaults_match_the_documented_profile():
    # N(t; mu=15, sigma=10) normalised over ids 0..22 (Mia-YatingYu/MTP weight_average_tool.py 'gwa'): 0.018 at id 0, 0.056 at the peak, 0.044 at 22
    w = gaussian_weights(list(range(23)))
    assert sum(w) == pytest.approx(1.0)
    assert w[0] == pytest.approx(0.018, abs=1e-3)
    assert max(w) == pytest.approx(0.056, abs=1e-3) and w.index(max(w)) == 15
    assert w[22] == pytest.approx(0.044, abs=1e-3)


def test_running_average_form_equals_offline_weights():
    # Open-MeDe's running form: θ ← (S_{t-1}/S_t)·θ + (w_t/S_t)·θ_t with S_t = Σ_{i<=t} w_i
    epochs = [1, 2, 3, 4, 5]
    thetas = [torch.tensor([float(e), float(e * e)]) for e in epochs]
    raw = [math.exp(-((e - 3) ** 2) / (2 * 2.0**2)) for e in epochs]
    run, s = torch.zeros(2), 0.0
    for w, t in zip(raw, thetas):
        run = (s / (s + w)) * run + (w / (s + w)) * t
        s += w
    offline = sum(a * t for a, t in zip(gaussian_weights(epochs, mu=3, sigma=2), thetas))
    assert torch.allclose(run, offline)


def _resolve(params, n=2, has_base=False, metas=None):
    return get_method("gwa").resolve_params(params, InputsInfo(n, has_base, metas or [{}] * n, [f"in{i}" for i in range(n)]))


def test_epochs_come_from_provenance():
    p = _resolve({}, metas=[{"provenance": {"epoch": 3}}, {"provenance": {"epoch": 7}}])
    assert p["epochs"] == [3, 7]


def test_missing_epoch_names_the_input():
    with pytest.raises(ConfigError, match="in1: no provenance.epoch"):
        _resolve({}, metas=[{"provenance": {"epoch": 3}}, {}])


def test_include_base_counts_base_as_epoch_zero():
    m = get_method("gwa")
    p = _resolve({"epochs": [1, 2], "mu": 1, "sigma": 1, "include_base": True}, has_base=True)
    state = m.prepare(p, None)
    # epochs [0, 1, 2] around mu=1: w ∝ [e^-0.5, 1, e^-0.5] -> [0.27406, 0.45187, 0.27406]
    assert state["coefficients"] == pytest.approx([0.27406, 0.45187, 0.27406], abs=1e-5)
    base, x1, x2 = torch.tensor([0.0]), torch.tensor([1.0]), torch.tensor([2.0])
    out = m.merge_key(KeyJob("k", [x1, x2], base, p, state))
    assert out.item() == pytest.approx(0.45187 * 1 + 0.27406 * 2, abs=1e-4)


def test_include_base_needs_a_base():
    with pytest.raises(ConfigError, match="include_base"):
        _resolve({"epochs": [1, 2], "include_base": True})


@pytest.mark.parametrize("params,option", [({"epochs": [1]}, "epochs"), ({"epochs": [1, 2], "sigma": 0}, "sigma"),
                                           ({"epochs": [1, 2], "mu": "x"}, "mu")])
def test_bad_options_are_named(params, option):
    with pytest.raises(ConfigError, match=f"'{option}'"):
        _resolve(params)


@pytest.mark.parametrize("params, needle", [
    ({"epochs": [1, 2], "sigma": 1e-200}, "Gaussian weights are not finite"),  # 2σ² underflows to 0
    ({"epochs": [1, 2], "mu": 1e200}, "mu: 1e\\+200 overflows float32"),
    ({"epochs": [1, 2], "mu": 0.5, "sigma": 1e-160}, "Gaussian weights are not finite"),  # (t-μ)²/2σ² overflows
    ({"epochs": [1, float("nan")]}, "'epochs"),
])
def test_degenerate_gaussian_weights_are_refused_up_front(params, needle):
    with pytest.raises(ConfigError, match=needle):
        _resolve(params)
