"""The arrays a merge computes on: numpy over the mapped input files where it can, torch otherwise.

``import torch`` is about 1.6 s of every process, a third of a ViT-B/16 task-arithmetic merge of four
inputs (``benchmarks/merge_bench.py``). Elementwise merges (Σ cᵢθᵢ, θ₀ + Σ cᵢτᵢ: the methods with
``MergeMethod.numpy``) of float16/32/64 safetensors on the CPU therefore run on numpy views of the
mapped files and never import torch; everything else (the SVD methods, bfloat16/float8, legacy ``.pt``
inputs, ``--device cuda``) runs on torch. The kernels both run (``task_vector_sum``, ``weighted_sum``)
call only functions numpy and torch both name (``subtract``, ``multiply``, ``add``, ``empty_like``,
as the Python array API standard spells them), each one correctly rounded elementwise in both
libraries, so the two give the same bits.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import TYPE_CHECKING, Hashable

from weightspace.safetensors_io import DTYPES, TensorInfo, map_array, map_tensor, torch_dtype
from weightspace.torch_threads import ThreadTuner

if TYPE_CHECKING:
    import torch


def namespace(x):
    """The module whose functions compute on ``x``: ``numpy`` for a numpy array, else ``torch``."""
    import numpy as np

    if isinstance(x, np.ndarray):
        return np
    import torch

    return torch


class NumpyArrays:
    """numpy on the CPU, over the inputs' mapped byte ranges; torch is never imported."""

    name = "numpy"

    def map(self, path: Path, info: TensorInfo):
        return map_array(path, info)

    def to_float32(self, a):
        return a.astype("float32", copy=False)

    def cast(self, a, code: str):
        import numpy as np

        return np.asarray(a).astype(DTYPES[code][0], copy=False)  # asarray: 0-d arithmetic gives numpy scalars

    def equal(self, a, b) -> bool:
        import numpy as np

        return bool(np.array_equal(a, b))

    def count_nonfinite(self, a) -> int:
        import numpy as np

        if a.dtype.kind != "f" or math.isfinite(float(a.sum(dtype=np.float32))):  # one pass proves all finite
            return 0
        return int(a.size - np.count_nonzero(np.isfinite(a)))

    def abs_max(self, a) -> float:
        import numpy as np

        return float(np.abs(a).max())

    def to_host(self, a):
        return a

    def quiet(self):
        """Overflow is the engine's to report (naming the key), not a numpy RuntimeWarning on stderr."""
        import numpy as np

        return np.errstate(all="ignore")

    def compute(self, kind: Hashable):
        return contextlib.nullcontext()  # numpy's elementwise functions run on the calling thread


class TorchArrays:
    """torch, the per-key arithmetic on ``device``; any dtype, any source."""

    name = "torch"

    def __init__(self, device: "torch.device"):
        self.device = device
        self._tuners: dict[Hashable, ThreadTuner] = {}  # by kind of work: an SVD and a bias cost differently

    def map(self, path: Path, info: TensorInfo) -> "torch.Tensor":
        return map_tensor(path, info)

    def to_float32(self, a: "torch.Tensor") -> "torch.Tensor":
        import torch

        return a.to(device=self.device, dtype=torch.float32)

    def cast(self, a: "torch.Tensor", code: str) -> "torch.Tensor":
        return a.to(torch_dtype(code))

    def equal(self, a, b) -> bool:
        import torch

        return torch.equal(a, b)

    def count_nonfinite(self, a: "torch.Tensor") -> int:
        import torch

        if not a.is_floating_point() or math.isfinite(float(a.sum(dtype=torch.float32))):
            return 0
        return int((~torch.isfinite(a)).sum())

    def abs_max(self, a: "torch.Tensor") -> float:
        return float(a.abs().max())

    def to_host(self, a: "torch.Tensor") -> "torch.Tensor":
        return a.cpu()

    def quiet(self):
        return contextlib.nullcontext()

    def compute(self, kind: Hashable):
        """One key's arithmetic, at the thread count measured fastest for work of its ``kind`` (e.g. its shape;
        torch_threads.py)."""
        if self.device.type != "cpu":
            return contextlib.nullcontext()  # the device computes; host threads only launch its kernels
        return self._tuners.setdefault(kind, ThreadTuner()).batch(1)
