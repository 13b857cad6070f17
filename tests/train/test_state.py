import random

import numpy as np
import pytest
import torch

from weightspace.atomic import MARKER
from weightspace.train import state as state_mod
from weightspace.train.state import load_state, rng_state, save_state, set_rng_state


def test_nested_state_round_trips_without_pickle(tmp_path):
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(net.parameters(), lr=0.1)
    net(torch.randn(4, 3)).sum().backward()
    opt.step()
    tree = {"optimizer": opt.state_dict(), "epoch": 3, "names": ["a", None], "x": torch.arange(5)}
    save_state(tmp_path / "state", tree)
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == [MARKER, "state.json", "state.safetensors"]
    back = load_state(tmp_path / "state")
    assert back["epoch"] == 3 and back["names"] == ["a", None] and torch.equal(back["x"], torch.arange(5))
    opt2 = torch.optim.AdamW(torch.nn.Linear(3, 2).parameters(), lr=0.1)
    opt2.load_state_dict(back["optimizer"])  # int keys of the optimiser state survive JSON
    for k in ("exp_avg", "exp_avg_sq", "step"):
        assert torch.equal(opt2.state_dict()["state"][0][k], opt.state_dict()["state"][0][k])


def test_rng_states_restore_every_generator(tmp_path):
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    save_state(tmp_path / "s", {"rng": rng_state()})
    expected = (random.random(), np.random.rand(), torch.rand(()).item())
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    set_rng_state(load_state(tmp_path / "s")["rng"])
    assert (random.random(), np.random.rand(), torch.rand(()).item()) == expected


def test_a_failed_write_leaves_the_previous_state(tmp_path, monkeypatch):
    save_state(tmp_path / "s", {"step": 1, "w": torch.ones(2)})

    def boom(path, specs, tensors, metadata=None):
        path.write_bytes(b"partial")
        raise KeyboardInterrupt  # a kill in the middle of writing

    monkeypatch.setattr(state_mod, "write_streaming", boom)
    with pytest.raises(KeyboardInterrupt):
        save_state(tmp_path / "s", {"step": 2, "w": torch.zeros(2)})
    back = load_state(tmp_path / "s")
    assert back["step"] == 1 and torch.equal(back["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["s"]  # no temporary left behind


@pytest.mark.parametrize("corrupt", ["json", "list", "tensors", "tree"])
def test_corrupt_resume_state_is_one_line_error(tmp_path, corrupt):
    from weightspace.errors import WeightspaceError
    from weightspace.train.state import DOC_NAME, TENSORS_NAME, load_state

    save_state(tmp_path / "state", {"x": torch.arange(3), "epoch": 1})
    doc, tensors = tmp_path / "state" / DOC_NAME, tmp_path / "state" / TENSORS_NAME
    if corrupt == "json":
        doc.write_text("{nope")
    elif corrupt == "list":
        doc.write_text("[1, 2]")
    elif corrupt == "tensors":
        tensors.write_bytes(b"\x00" * 7)
    else:
        doc.write_text(doc.read_text().replace('"__tensor__": "', '"__tensor__": "gone'))
    with pytest.raises(WeightspaceError, match="state: (unreadable|corrupt) resume state|format"):
        load_state(tmp_path / "state")
