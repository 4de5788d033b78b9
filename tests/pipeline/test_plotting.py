import numpy as np
import pandas as pd

from digits.pipeline.plotting import class_samples, confusion_heatmap, prediction_grid, training_curves, worst_errors


def _probs(y, wrong_idx):
    pred = y.copy()
    pred[wrong_idx] = (pred[wrong_idx] + 1) % 10
    probs = np.full((len(y), 10), 0.01, np.float32)
    probs[np.arange(len(y)), pred] = 0.91
    return probs


def test_figures_render(tmp_path, tiny_mnist):
    x = tiny_mnist["x_test"].astype(np.float32) / 255
    y = tiny_mnist["y_test"].astype(int)
    probs = _probs(y, [3, 7])
    curves = pd.DataFrame({"step": [0, 1], "train/loss": [1.0, 0.5], "val/loss": [0.9, 0.6],
                           "train/accuracy": [0.9, 0.95], "val/accuracy": [0.91, 0.96]})
    figs = {
        "cm": confusion_heatmap(np.eye(10, dtype=int) * 5),
        "curves": training_curves(curves),
        "grid": prediction_grid(x, y, probs, rows=2, cols=5),
        "worst": worst_errors(x, y, probs, k=5, cols=5),
        "samples": class_samples(x, y, per_class=3, seed=1999),
    }
    for name, fig in figs.items():
        path = tmp_path / f"{name}.png"
        fig.savefig(path)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(figs["grid"].axes) == 10
    # worst-errors shows exactly the two wrong predictions, both titled in red
    titled = [ax for ax in figs["worst"].axes if ax.get_title()]
    assert len(titled) == 2 and all(ax.title.get_color() == "red" for ax in titled)
    assert len(figs["samples"].axes) == 30
