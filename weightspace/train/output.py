"""A training run's output folder: its layout, when it may be reused, and what a run hands back.

Layout (rank 0 writes; every write atomic)::

    OUTPUT/snapshots/epoch_001/ ...   a weightspace checkpoint after every epoch (CLIP weights + temporal head)
    OUTPUT/gwa/                       online Gaussian weight average of the snapshots (Open-MeDe Eq. 13)
    OUTPUT/metrics.jsonl              one JSON object per logged step ("kind": "step") and per epoch ("epoch")
    OUTPUT/loss_curve.png             loss per step and per epoch, learning rate
    OUTPUT/state/                     resume state (state.safetensors + state.json)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from weightspace.atomic import claim_dir
from weightspace.errors import ConfigError
from weightspace.train.recipe_diff import recipe_difference
from weightspace.train.state import load_state

SNAPSHOTS, GWA_DIR, STATE_DIR = "snapshots", "gwa", "state"
METRICS, LOSS_PNG = "metrics.jsonl", "loss_curve.png"


@dataclass
class TrainResult:
    output: Path
    snapshots: list[Path]
    gwa: Path | None
    metrics: Path
    loss_curve: Path | None
    resumed_from: tuple[int, int] | None = None  # (epoch, step within epoch) a run continued from
    final_loss: float | None = None


@dataclass(frozen=True)
class RunFolder:
    root: Path
    state: Path
    gwa: Path
    metrics: Path
    loss_curve: Path

    @classmethod
    def at(cls, root: Path) -> "RunFolder":
        return cls(root, root / STATE_DIR, root / GWA_DIR, root / METRICS, root / LOSS_PNG)

    def snapshot(self, epoch: int) -> Path:
        return self.root / SNAPSHOTS / f"epoch_{epoch:03d}"

    def prepare(self, recipe: dict, overwrite: bool) -> None:
        """Refuse foreign folders and runs of other recipes; clear our own files on ``overwrite``."""
        claim_dir(self.root)  # a user's folder is refused before --overwrite clears anything
        if overwrite:
            for p in (self.state, self.root / SNAPSHOTS, self.gwa, self.metrics, self.loss_curve):
                shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
            return
        saved = self._saved_recipe()
        key = recipe_difference(saved, recipe) if saved is not None else None
        if key is not None:
            raise ConfigError(
                f"output {self.root}: holds a run of a different recipe (key {key!r} differs); "
                "choose another output or pass --overwrite"
            )

    def _saved_recipe(self) -> dict | None:
        if self.state.is_dir():
            return load_state(self.state)["recipe"]
        # killed before its first state (or someone else's folder): start over if the snapshots agree
        first = self.snapshot(1) / "weightspace.json"
        return json.loads(first.read_text(encoding="utf-8"))["provenance"].get("recipe") if first.is_file() else None

    def result(self, epochs: int, resumed: tuple[int, int] | None, final_loss: float | None) -> TrainResult:
        snaps = [self.snapshot(e) for e in range(1, epochs + 1)]
        return TrainResult(
            self.root, [s for s in snaps if s.is_dir()], self.gwa if self.gwa.is_dir() else None,
            self.metrics, self.loss_curve if self.loss_curve.is_file() else None, resumed, final_loss,
        )
