"""``iwo``: Open-VCLIP's Interpolated Weight Optimization, the training-time part (ICML'23).

Each step: λ ~ U(low, high), θ_mix = λ·θ_init + (1−λ)·θ, and the gradient of ``weight``·CE at θ_mix
is added to the normal gradient as is (no (1−λ) chain factor), as in Open-VCLIP's ``train_epoch``
(wengzejia1/Open-VCLIP ``tools/train_net.py``, ``TRAIN.LINEAR_CONNECT_*``). θ_init is the initial model (raw CLIP in the paper). Holds two copies
of the trainable parameters: the anchor and a restore buffer. The SWA half of IWO is the offline
``weightspace merge --method average`` over snapshots.
"""

from __future__ import annotations


import torch

from weightspace.errors import ConfigError
from weightspace.options import Options, opt
from weightspace.train.regularisers.base import REGULARISERS, Regulariser


@REGULARISERS.register
class IWO(Regulariser):
    name = "iwo"
    reference = "Open-VCLIP IWO: λ~U(0,0.6), g += ∇[0.5·CE(θ_mix)], θ_mix=λθ_CLIP+(1−λ)θ (ICML'23; wengzejia1/Open-VCLIP tools/train_net.py)"

    class Params(Options):
        low: float = opt(0.0, ge=0, le=1, help="lower end of λ's range (LINEAR_CONNECT_SAMPLE_L)")
        high: float = opt(0.6, ge=0, le=1, help="upper end of λ's range (LINEAR_CONNECT_SAMPLE_R)")
        weight: float = opt(0.5, ge=0, help="weight of the interpolated-model loss (LINEAR_CONNECT_LOSS_RATIO)")

    @classmethod
    def validate(cls, params, key, where):
        if params.low > params.high:
            raise ConfigError(f"{where}key '{key}': need low <= high")

    def setup(self, learner):
        with torch.no_grad():
            self._anchor = [p.detach().clone() for p in learner.parameters]
            self._saved = [torch.empty_like(p) for p in learner.parameters]

    def sample_lambda(self) -> float:
        return self.params.low + (self.params.high - self.params.low) * torch.rand(()).item()

    def extra_backward(self, learner, batch, weight):
        lam = self.sample_lambda()
        params = learner.parameters
        with torch.no_grad():
            torch._foreach_copy_(self._saved, params)
            torch._foreach_lerp_(params, self._anchor, lam)  # θ + λ(θ_init − θ)
        try:
            logs = learner.backward(batch, weight * self.params.weight, regularise=False)
        finally:
            with torch.no_grad():
                torch._foreach_copy_(params, self._saved)
        return {"iwo_lambda": lam, "iwo_ce": logs["ce"]}
