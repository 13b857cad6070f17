"""The training progress bar: epoch, steps, loss, learning rate and throughput (rich)."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from weightspace.progress import progress_bar


class TrainProgress:
    def __init__(self, total_steps: int, description: str = "train", *, enabled: bool = True):
        self._progress = progress_bar(
            TextColumn("[bold]epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  lr {task.fields[lr]:.2e}  {task.fields[speed]:.1f} samples/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            enabled=enabled,
        )
        self._task = self._progress.add_task(description, total=total_steps, epoch="-", loss=float("nan"), lr=0.0, speed=0.0)

    def __enter__(self) -> "TrainProgress":
        self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)

    def advance_to(self, step: int) -> None:
        self._progress.update(self._task, completed=step)

    def update(self, epoch: int, epochs: int, loss: float, lr: float, speed: float) -> None:
        self._progress.update(self._task, advance=1, epoch=f"{epoch}/{epochs}", loss=loss, lr=lr, speed=speed)
