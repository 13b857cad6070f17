"""Multi-process training plumbing: torchrun environment, process group, rank-0 writes, relaunch.

- ``dist_context()``: uses an already initialised process group (tests, notebooks), else initialises
  one from torchrun's environment (``RANK``/``WORLD_SIZE``/``MASTER_*``) with gloo on CPU and nccl on
  CUDA, else runs single-process. A timeout makes a hung collective fail fast (PyTorch docs:
  ``init_process_group`` ``timeout``).
- Only rank 0 writes files; ``barrier()`` orders writes and reads around it.
- ``torchrun_command``: how ``weightspace train --nproc N`` relaunches itself under
  ``python -m torch.distributed.run --standalone`` (equivalent to
  ``torchrun --standalone --nproc_per_node N -m cli train RECIPE ...``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

TIMEOUT = timedelta(minutes=30)  # long enough for rank 0 writing a ViT-L snapshot


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # destroy the group at the end only if we created it

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def gather(self, obj):
        """Every rank's ``obj`` (a small Python structure) on every rank, in rank order."""
        if not self.enabled:
            return [obj]
        out = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj):
        """Rank 0's ``obj`` on every rank."""
        if not self.enabled:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()


def dist_context(device_type: str = "cpu") -> DistContext:
    if dist.is_available() and dist.is_initialized():
        return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    backend = "nccl" if device_type == "cuda" else "gloo"
    dist.init_process_group(backend, timeout=TIMEOUT)
    return DistContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), owns_group=True)


def select_device(requested: str, ctx: DistContext) -> torch.device:
    """``auto``: CUDA when present (one GPU per local rank), else CPU."""
    use_cuda = requested == "cuda" or (requested == "auto" and torch.cuda.is_available())
    if use_cuda:
        if not torch.cuda.is_available():
            from weightspace.errors import ConfigError

            raise ConfigError("device 'cuda' requested but CUDA is not available")
        torch.cuda.set_device(ctx.local_rank)
        return torch.device("cuda", ctx.local_rank)
    return torch.device("cpu")


def torchrun_command(nproc: int, cli_args: list[str]) -> list[str]:
    """The command that reruns ``weightspace <cli_args>`` in ``nproc`` processes."""
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", "-m", "cli", *cli_args]
