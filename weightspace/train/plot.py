"""The loss curve of a run (``loss_curve.png``) from its metrics log."""

from __future__ import annotations

import json
import time
from pathlib import Path

from weightspace.atomic import atomic_path

PLOT_EVERY_S = 60.0  # redraw the loss curve at an epoch end at most this often (always after the last)


def read_metrics(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def plot_loss_curve(metrics: list[dict], out: str | Path, title: str = "training loss") -> Path | None:
    """Loss per step (light) with its per-epoch mean (bold), and the learning rate on a second axis."""
    steps = [m for m in metrics if m.get("kind") == "step"]
    if not steps:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [m["step"] for m in steps]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.plot(x, [m["loss"] for m in steps], color="tab:blue", alpha=0.35, lw=1, label="loss (step)")
    epochs = [m for m in metrics if m.get("kind") == "epoch"]
    if epochs:
        ax.plot([m["step"] for m in epochs], [m["loss"] for m in epochs], "o-", color="tab:blue", lw=2, label="loss (epoch mean)")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    lr_ax = ax.twinx()
    lr_ax.plot(x, [m["lr"] for m in steps], color="tab:orange", lw=1, label="lr")
    lr_ax.set_ylabel("learning rate", color="tab:orange")
    lines = ax.get_legend_handles_labels()[0] + lr_ax.get_legend_handles_labels()[0]
    ax.legend(lines, [h.get_label() for h in lines], loc="upper right", fontsize=8)
    fig.tight_layout()
    out = Path(out)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return out


class LossCurve:
    """A run's ``loss_curve.png``, redrawn from its metrics log at epoch ends, at most every ``PLOT_EVERY_S``."""

    def __init__(self, metrics: Path, png: Path, title: str):
        self.metrics, self.png, self.title = metrics, png, title
        self._drawn = time.perf_counter()

    def epoch_end(self, last: bool) -> None:
        if last or time.perf_counter() - self._drawn > PLOT_EVERY_S:
            plot_loss_curve(read_metrics(self.metrics), self.png, title=self.title)
            self._drawn = time.perf_counter()
