"""What a training checkpoint says about where it came from: base model, dataset, recipe."""

from __future__ import annotations

from pathlib import Path

from weightspace.checkpoint import make_meta, save_checkpoint, sha256_file
from weightspace.train.data import resolve_data


def dataset_info(cfg, dataset, given: bool) -> dict:
    """Size and classes; the recipe's files and the list's sha256, or the class name of a ``given`` dataset."""
    info = {"size": len(dataset), "classes": len(dataset.classnames)}
    if not given:
        src = resolve_data(cfg.data)
        info.update(train=str(src.train), classnames=str(src.classnames), sha256=sha256_file(src.train))
    else:
        info["name"] = type(dataset).__name__
    return info


class SnapshotWriter:
    """Writes the run's checkpoints (epoch snapshots, online GWA), each with its provenance."""

    def __init__(self, cfg, video, dataset: dict):
        self.cfg = cfg
        self.video = video
        self.dataset = dataset

    def _base_reference(self) -> dict:
        src = self.video.source
        if src is not None:
            return {"ref": self.cfg.model.init, "resolved": src.ref, "sha256": src.sha256()}
        return {"ref": self.cfg.model.init, "pretrained": self.cfg.model.pretrained, "sha256": None}

    def provenance(self, **extra) -> dict:
        cfg = self.cfg
        return {
            "kind": "train", "strategy": cfg.strategy.name,
            "regularisers": [r.name for r in cfg.regularisers], **extra,
            "recipe": cfg.to_dict(), "recipe_file": cfg.source, "dataset": self.dataset,
        }

    def save(self, path: Path, state: dict, **extra) -> None:
        """``state`` as a checkpoint at ``path``; ``extra`` goes into its provenance (epoch, kind, ...)."""
        v = self.video
        meta = make_meta(video=v.video_config(), base=self._base_reference(), provenance=self.provenance(**extra))
        save_checkpoint(path, state, model_cfg=v.model_cfg, preprocess_cfg=v.preprocess_cfg, meta=meta, overwrite=True)
