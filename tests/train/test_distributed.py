"""Two gloo processes on CPU (forked, file:// rendezvous: no ports): DDP keeps the ranks identical."""

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from weightspace.train.distributed import torchrun_command

from .fakes import TensorVideos, recipe


def _worker(rank, world, store, cfg, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    from weightspace.train import train

    def hook(info):
        if info.global_step in (1, 2):
            params = {n: p.detach().clone() for n, p in info.module.named_parameters() if p.requires_grad}
            save_file(params, f"{out}/rank{rank}_step{info.global_step}.safetensors")

    try:
        train(cfg, dataset=TensorVideos(n=16), hooks=[hook])
    finally:
        dist.destroy_process_group()


def test_two_ranks_hold_identical_weights_after_each_step(tiny_clip, tmp_path):
    # meta (two backward passes per step) + rfd (a trainable head outside the CLIP) over 2 processes
    cfg = recipe(tiny_clip, tmp_path / "run", strategy={"name": "meta", "tasks": 2, "task_batch_size": 2}, regularisers=["rfd"], epochs=1, batch_size=4)
    mp.start_processes(_worker, args=(2, tmp_path / "store", cfg, tmp_path), nprocs=2, start_method="fork")
    init = load_file(str(tiny_clip / "open_clip_model.safetensors"))
    for step in (1, 2):
        r0 = load_file(str(tmp_path / f"rank0_step{step}.safetensors"))
        r1 = load_file(str(tmp_path / f"rank1_step{step}.safetensors"))
        assert set(r0) == set(r1) and any(k.startswith("heads.rfd.") for k in r0)
        assert all(torch.equal(r0[k], r1[k]) for k in r0)
    assert not torch.equal(r0["video.model.visual.conv1.weight"], init["visual.conv1.weight"])
    # only rank 0 wrote outputs, and it wrote them once
    assert [p.name for p in sorted((tmp_path / "run" / "snapshots").iterdir())] == ["epoch_001"]


def test_nproc_relaunches_through_torchrun():
    cmd = torchrun_command(2, ["train", "r.yaml", "--set", "epochs=1"])
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    assert cmd[-6:] == ["-m", "cli", "train", "r.yaml", "--set", "epochs=1"]
