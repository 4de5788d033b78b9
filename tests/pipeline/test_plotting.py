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
    def labels(fig):
        (ax,) = fig.axes  # one mosaic, one text per image
        return ax.texts

    pred = probs.argmax(1)
    grid = labels(figs["grid"])
    expected = [f"{t}→{p}" + (" ✗" if t != p else "") for t, p in zip(y[:10], pred[:10], strict=True)]
    assert [t.get_text() for t in grid] == expected
    assert [t.get_color() for t in grid] == ["red" if i in (3, 7) else "black" for i in range(10)]
    # the mosaic holds each image as it is, the first one at the top left
    mosaic = figs["grid"].axes[0].images[0].get_array()
    assert mosaic.shape[1] == 5 * (28 + 4) and np.nanmax(mosaic) <= 1
    assert any(np.array_equal(mosaic[r:r + 28, 2:30], x[0]) for r in range(mosaic.shape[0] - 27))
    # worst-errors shows exactly the two wrong predictions, both titled in red
    worst = labels(figs["worst"])
    assert len(worst) == 2 and all(t.get_color() == "red" for t in worst)
    assert {t.get_text().split(" ")[0] for t in worst} == {f"{y[i]}→{(y[i] + 1) % 10}" for i in (3, 7)}
    samples = labels(figs["samples"])
    assert len(samples) == 30 and all(t.get_color() == "black" for t in samples)
