import pytest

from weightspace.errors import ConfigError


@pytest.mark.parametrize("method,n_inputs,param,value,with_base", [
    ("task-arith", 2, "lambda", 0.3, True), ("wise-ft", 1, "alpha", 0.4, True), ("average", 3, "weights", None, False)])
def test_memory_merge_equals_the_engine_bit_for_bit(ckpts, tmp_path, method, n_inputs, param, value, with_base):
    import torch

    from weightspace.checkpoint import open_checkpoint
    from weightspace.selection.memory_merge import MemoryMerge
    from weightspace.merge import merge

    base, fts = ckpts
    inputs = [str(f) for f in fts[:n_inputs]]
    b = str(base) if with_base else None
    params = {"weights": [1.0, 2.0, 3.0]} if method == "average" else {param: value}
    mem = MemoryMerge(method, inputs, b, {}, None, ["text"])
    state = mem.state(mem.spec.resolve_params(params, mem.info))
    disk = open_checkpoint(merge(method, inputs, base=b, out=tmp_path / "m", params=params, exclude=["text"],
                                 progress=False)).state_dict()
    assert state.keys() == disk.keys()
    assert all(torch.equal(state[k], disk[k]) and state[k].dtype == disk[k].dtype for k in disk)
    ref = open_checkpoint(b or inputs[0]).state_dict()
    moved = [k for k in disk if not torch.equal(disk[k], ref[k])]
    from weightspace.checkpoint import key_tag

    assert any(k.startswith("visual.") for k in moved)  # the merge moved weights...
    assert not any(key_tag(k) == "text" for k in moved)  # ...and only those the filter lets through


def test_memory_merge_refuses_mismatched_inputs(ckpts, tmp_path):
    from weightspace.checkpoint import open_checkpoint, save_checkpoint
    from weightspace.errors import CheckpointError
    from weightspace.selection.memory_merge import MemoryMerge

    base, fts = ckpts
    ck = open_checkpoint(fts[0])
    sd = ck.state_dict()
    key = next(k for k in sd if k.startswith("visual.") and sd[k].ndim == 2)
    sd[key] = sd[key][:1]
    bad = save_checkpoint(tmp_path / "bad", sd, model_cfg=ck.model_cfg).folder
    with pytest.raises(CheckpointError, match=f"bad: key '{key}' has shape"):
        MemoryMerge("task-arith", [str(bad)], str(base), {}, None, None)
    with pytest.raises(ConfigError, match="whole-model pass"):
        MemoryMerge("ties", [str(fts[0])], str(base), {}, None, None)


def test_memory_merge_tunes_threads_as_the_engine_does_and_restores_the_callers(ckpts):
    import dataclasses

    import torch

    from weightspace.selection.memory_merge import MemoryMerge

    base, fts = ckpts
    mem = MemoryMerge("task-arith", [str(fts[0])], str(base), {}, None, None)
    seen = []
    real = mem.spec.merge_key
    mem.spec = dataclasses.replace(mem.spec, merge_key=lambda job: seen.append(torch.get_num_threads()) or real(job))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        mem.state(mem.resolved({"lambda": 0.5}))
        first = list(seen)
        mem.state(mem.resolved({"lambda": 0.7}))
        assert {1, 2} <= set(first)  # both counts probed on the first point
        assert len(seen) == 2 * len(first)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
