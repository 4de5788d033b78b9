"""Per-epoch logging through dvclive, so `dvc plots` draws train and validation curves."""

from __future__ import annotations

import keras
from dvclive import Live


class LiveCurves(keras.callbacks.Callback):
    """Log loss and accuracy as train/<m> and val/<m>, so each plot overlays both splits."""

    def __init__(self, live: Live) -> None:
        super().__init__()
        self.live = live

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        for name in ("loss", "accuracy"):
            if name in logs:
                self.live.log_metric(f"train/{name}", float(logs[name]))
            if f"val_{name}" in logs:
                self.live.log_metric(f"val/{name}", float(logs[f"val_{name}"]))
        lr = self.model.optimizer.learning_rate
        self.live.log_metric("lr", float(keras.ops.convert_to_numpy(lr)))
        self.live.next_step()


def open_live(directory: str) -> Live:
    """A Live logger that writes only files: the pipeline's dvc.yaml declares the plots."""
    return Live(dir=directory, save_dvc_exp=False, dvcyaml=None, report=None)
