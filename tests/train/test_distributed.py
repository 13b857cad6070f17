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


class _Quartic(torch.nn.Module):
    """L_c(θ) = ¼Σ(θ − c)⁴, ∇ = (θ − c)³: non-linear, so local and all-reduced inner steps give different results."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([2.0, 0.0]))

    def forward(self, c):
        return 0.25 * ((self.w - c) ** 4).sum()


class _DDPLearner:
    """A quartic loss through a real DDP wrapper (the strategy's no_sync / all-reduce path)."""

    def __init__(self):
        from torch.nn.parallel import DistributedDataParallel as DDP

        self.module = _Quartic()
        self.net = DDP(self.module)
        self.parameters = [self.module.w]
        self.optimizer, self.grad_clip = None, None

    def no_sync(self):
        return self.net.no_sync()

    def grad_scale(self):
        return 1.0

    def backward(self, batch, weight=1.0, regularise=True):
        loss = self.net(batch["c"])
        (weight * loss).backward()
        return {"loss": loss.item()}


# each rank's tasks: (support centre, query centre) x 2 tasks
TASKS = {0: [([0.0, 0.0], [1.0, 1.0]), ([2.0, 2.0], [0.0, 4.0])], 1: [([4.0, 0.0], [0.0, 0.0]), ([2.0, -2.0], [2.0, 2.0])]}


def _meta_worker(rank, world, store, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    from weightspace.train.strategies import get_strategy

    try:
        meta = get_strategy("meta")
        strategy = meta(meta.check_params({"tasks": 2, "inner": "sgd", "alpha": 0.1}, "s"))
        learner = _DDPLearner()
        batches = [{"c": torch.tensor(c)} for task in TASKS[rank] for c in task]
        strategy.compute_gradients(learner, batches, lr=1.0)
        save_file({"grad": learner.module.w.grad, "w": learner.module.w.detach()}, f"{out}/meta_rank{rank}.safetensors")
    finally:
        dist.destroy_process_group()


def test_each_rank_forms_its_own_tasks_and_the_outer_gradient_is_averaged_once(tmp_path):
    mp.start_processes(_meta_worker, args=(2, tmp_path / "store", tmp_path), nprocs=2, start_method="fork")
    theta, alpha = torch.tensor([2.0, 0.0]), 0.1
    per_rank = []
    for rank in (0, 1):  # by hand: θ'_k from the rank's *local* support gradient
        g = torch.zeros(2)
        for s, q in TASKS[rank]:
            s, q = torch.tensor(s), torch.tensor(q)
            fast = theta - alpha * (theta - s) ** 3
            g += (theta - s) ** 3 + (fast - q) ** 3
        per_rank.append(g)
    want = (per_rank[0] + per_rank[1]) / 2
    for rank in (0, 1):
        got = load_file(str(tmp_path / f"meta_rank{rank}.safetensors"))
        assert torch.allclose(got["grad"], want), (rank, got["grad"], want)
        assert torch.equal(got["w"], theta)


def test_nproc_relaunches_through_torchrun():
    cmd = torchrun_command(2, ["train", "r.yaml", "--set", "epochs=1"])
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    assert cmd[-6:] == ["-m", "cli", "train", "r.yaml", "--set", "epochs=1"]
