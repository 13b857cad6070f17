"""``plain``: standard fine-tuning, cross-entropy of video features against class text features."""

from __future__ import annotations

from weightspace.train.strategies.base import STRATEGIES, Strategy


@STRATEGIES.register
class Plain(Strategy):
    name = "plain"
    reference = "Open-VCLIP/ViFi-CLIP fine-tuning: CE over exp(s)·f·Wᵀ (Open-VCLIP slowfast/models/temporalclip_video_model.py)"

    def compute_gradients(self, learner, batches, lr):
        (batch,) = batches
        return learner.backward(batch)
