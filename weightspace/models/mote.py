"""``mote``: MoTE's mixture of temporal experts (Zhu et al., NeurIPS 2024; code ZMHH-H/MoTE).

A temporal transformer over the T CLIP frame embeddings x [B,T,D] (width D = CLIP embed dim): learned
frame positions, ``layers`` pre-LN blocks whose MLP is ``experts`` copies of fc_up(D→4D) → QuickGELU →
fc_dn(4D→D). The head output H(x) is added to the CLIP frame features, y = x + γ·H(x), and the video
feature is the mean of y over T, L2-normalised (γ = 1 except under temporal feature modulation).

Routing of each block's experts:
- training: one expert per block per forward, drawn from softmax([1..E]/t) (MoTE §3.2, t = 1);
- weight-merging regularisation (``regularisers/wmr.py``): a given convex mix Σ w_i·θ_i of the experts;
- evaluation: the uniform mix, merged once in weight space by the merge engine's ``average`` method.
Temporal feature modulation (MoTE §3.4) scales H by γ = exp(−(1 − s)/scale), where s measures how close
the test vocabulary is to the training one (``tfm_gate``).
"""

from __future__ import annotations

import copy
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from weightspace.errors import ConfigError
from weightspace.models.temporal import TEMPORAL, Temporal
from weightspace.options import Options, opt

LN_EPS = 1e-12  # MoTE's TF-style LayerNorm


def expert_probabilities(experts: int, temperature: float = 1.0) -> torch.Tensor:
    """Training-time routing distribution softmax([1..E]/t) (MoTE Eq. 4; t = 1 in their code)."""
    return torch.softmax(torch.arange(1, experts + 1, dtype=torch.float64) / temperature, dim=0)


def merge_weights(experts: int, tau: float) -> torch.Tensor:
    """WMR merging coefficients softmax([1..E]/τ) (MoTE Eq. 6); τ = ±inf gives the uniform average."""
    return torch.softmax(torch.arange(1, experts + 1, dtype=torch.float64) / tau, dim=0)


def tfm_gate(clip_video: torch.Tensor, test_classes: torch.Tensor, train_classes: torch.Tensor,
             top_k: int = 5, scale: float = 0.05) -> torch.Tensor:
    """γ [B] of temporal feature modulation (MoTE Eq. 8): γ = exp(−(1 − s)/scale).

    ``clip_video`` [B,D] is the normalised mean CLIP frame feature. s = mean over the top-k test classes
    (nearest to it) of their best similarity to the top-k training classes (nearest to it).
    """
    k_test, k_train = min(top_k, len(test_classes)), min(top_k, len(train_classes))
    test = test_classes[(clip_video @ test_classes.t()).topk(k_test, dim=-1).indices]  # [B,k,D]
    train = train_classes[(clip_video @ train_classes.t()).topk(k_train, dim=-1).indices]  # [B,k',D]
    s = (test @ train.transpose(1, 2)).amax(dim=-1).mean(dim=-1)
    return torch.exp(-(1 - s) / scale)


def _init_linear(layer: nn.Linear) -> nn.Linear:
    nn.init.normal_(layer.weight, std=0.02)  # MoTE video_header.init_weights
    nn.init.zeros_(layer.bias)
    return layer


def _uniform_merge(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """The uniform soup of the experts through the merge engine's own ``average`` method."""
    from weightspace.merge.registry import InputsInfo, KeyJob, get_method

    average = get_method("average")
    params = average.resolve_params({}, InputsInfo(len(tensors), False))
    return average.merge_key(KeyJob("expert", list(tensors), None, params))


class TemporalExperts(nn.Module):
    """E expert MLPs fc_up → QuickGELU → fc_dn; one is run, or a weight-space mix of all of them."""

    def __init__(self, width: int, experts: int, same_init: bool):
        super().__init__()
        up, dn = _init_linear(nn.Linear(width, 4 * width)), _init_linear(nn.Linear(4 * width, width))
        make = (lambda m: copy.deepcopy(m)) if same_init else (lambda m: _init_linear(copy.deepcopy(m)))
        self.fc_up = nn.ModuleList(make(up) for _ in range(experts))
        self.fc_dn = nn.ModuleList(make(dn) for _ in range(experts))
        self._merged: tuple | None = None  # (version stamp, merged tensors) of the evaluation merge

    def _tensors(self) -> list[list[torch.Tensor]]:
        return [[m.weight for m in self.fc_up], [m.bias for m in self.fc_up],
                [m.weight for m in self.fc_dn], [m.bias for m in self.fc_dn]]

    def mixed(self, coeffs: Sequence[float]) -> list[torch.Tensor]:
        """Σ w_i·θ_i for fc_up/fc_dn weights and biases (differentiable: the WMR branch)."""
        from weightspace.merge.methods.average import weighted_sum

        return [weighted_sum(group, coeffs) for group in self._tensors()]

    def uniform(self) -> list[torch.Tensor]:
        """The evaluation merge, computed once and reused until the expert weights change."""
        stamp = tuple(p._version for group in self._tensors() for p in group) + (self.fc_up[0].weight.device.type,)
        if self._merged is None or self._merged[0] != stamp:
            with torch.inference_mode(False), torch.no_grad():
                self._merged = (stamp, [_uniform_merge(group) for group in self._tensors()])
        return self._merged[1]

    def forward(self, x: torch.Tensor, route: int | Sequence[float] | None) -> torch.Tensor:
        """``route``: an expert index, merging coefficients, or None for the uniform merge."""
        if isinstance(route, int):
            return self.fc_dn[route](quick_gelu(self.fc_up[route](x)))
        w_up, b_up, w_dn, b_dn = self.uniform() if route is None else self.mixed(route)
        return F.linear(quick_gelu(F.linear(x, w_up, b_up)), w_dn, b_dn)

    def _apply(self, fn, *args, **kwargs):
        self._merged = None
        return super()._apply(fn, *args, **kwargs)


def quick_gelu(x: torch.Tensor) -> torch.Tensor:
    return x * torch.sigmoid(1.702 * x)


class MoTEBlock(nn.Module):
    """x + attn(ln_1(x)); x + experts(ln_2(x)) (CLIP's residual block with the MLP replaced)."""

    def __init__(self, width: int, heads: int, experts: int, same_init: bool):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width, eps=LN_EPS)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        _init_linear(self.attn.out_proj)
        self.ln_2 = nn.LayerNorm(width, eps=LN_EPS)
        self.mlp = TemporalExperts(width, experts, same_init)

    def forward(self, x: torch.Tensor, route) -> torch.Tensor:
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x), route)


class MoTEHead(nn.Module):
    """H(x): the temporal transformer's output over raw CLIP frame features [B,T,D] -> [B,T,D]."""

    def __init__(self, width: int, params: "MoTE.Params", heads: int, positions: int):
        super().__init__()
        self.experts = params.experts
        self.route_temperature = params.route_temperature
        self.tfm_top_k, self.tfm_scale = params.tfm_top_k, params.tfm_scale
        self.frame_positions = nn.Embedding(positions, width)
        nn.init.normal_(self.frame_positions.weight, std=0.02)
        self.blocks = nn.ModuleList(MoTEBlock(width, heads, params.experts, params.same_init) for _ in range(params.layers))
        # the training vocabulary's class features, for temporal feature modulation (MoTE's spe_cls_feature)
        self.register_buffer("train_class_features", torch.zeros(0, width))

    def sample_route(self) -> list[int]:
        probs = expert_probabilities(self.experts, self.route_temperature)
        return [int(torch.multinomial(probs, 1).item()) for _ in self.blocks]

    def forward(self, x: torch.Tensor, routes: Sequence | None = None) -> torch.Tensor:
        """``routes``: one per block (expert index or coefficients); default: sampled in training, merged in eval."""
        t = x.shape[1]
        if t > self.frame_positions.num_embeddings:
            raise ConfigError(f"temporal 'mote': {t} frames, but the head has {self.frame_positions.num_embeddings} frame positions")
        if routes is None:
            routes = self.sample_route() if self.training else [None] * len(self.blocks)
        h = x + self.frame_positions.weight[:t]
        for block, route in zip(self.blocks, routes, strict=True):
            h = block(h, route)
        return h

    def gate(self, clip_frames: torch.Tensor, test_classes: torch.Tensor) -> torch.Tensor:
        """γ [B] for clips with raw CLIP frame features [B,T,D] against test class features [C,D]."""
        train = self.train_class_features
        if not len(train):
            raise ConfigError("temporal feature modulation: this checkpoint stores no training-class features "
                              "(temporal.train_class_features is empty)")
        clip_video = F.normalize(clip_frames.float().mean(dim=1), dim=-1)
        return tfm_gate(clip_video, test_classes.float(), train.float(), self.tfm_top_k, self.tfm_scale)


@TEMPORAL.register
class MoTE(Temporal):
    name = "mote"
    reference = "MoTE mixture of temporal experts, y = x + γ·H(x) (Zhu et al., NeurIPS'24, §3; ZMHH-H/MoTE video_header)"

    class Params(Options):
        layers: int = opt(4, ge=1, help="temporal transformer blocks (MoTE: 4 for B/16, 6 for L/14)")
        experts: int = opt(4, ge=1, help="temporal experts per block")
        heads: int | None = opt(None, ge=1, help="attention heads; None: CLIP text width // 64 (as MoTE)")
        positions: int | None = opt(None, ge=1, help="learned frame positions; None: CLIP text context length (as MoTE)")
        route_temperature: float = opt(1.0, gt=0, help="training routing: expert i drawn with softmax([1..E]/t)")
        same_init: bool = opt(True, help="experts start as copies of one initialisation (False: each drawn anew)")
        tfm_top_k: int = opt(5, ge=1, help="classes compared by temporal feature modulation")
        tfm_scale: float = opt(0.05, gt=0, help="temporal feature modulation γ = exp(−(1 − s)/scale)")

    def build_head(self, clip_model, model_cfg):
        text_cfg = model_cfg.get("text_cfg") or {}
        width = int(model_cfg["embed_dim"])  # the CLIP joint embedding: the frame features' size
        heads = self.params.heads or max(1, int(text_cfg.get("width", 512)) // 64)
        if width % heads:
            raise ConfigError(f"temporal 'mote': width {width} is not divisible by heads={heads}")
        positions = self.params.positions or int(text_cfg.get("context_length", 77))
        return MoTEHead(width, self.params, heads, positions)
