"""Figures of the pipeline's results. Pure functions: arrays in, matplotlib Figure out."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from digits import NUM_CLASSES  # noqa: E402


def confusion_heatmap(cm: np.ndarray) -> Figure:
    """Counts annotated; colour on a log scale so the few errors stand out from the diagonal."""
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    off = cm.astype(float).copy()
    np.fill_diagonal(off, np.nan)
    sns.heatmap(np.log1p(cm), annot=cm, fmt="d", cmap="Blues", cbar=False, ax=ax,
                annot_kws={"fontsize": 8}, square=True)
    acc = np.trace(cm) / max(cm.sum(), 1)
    ax.set(xlabel="predicted", ylabel="actual",
           title=f"Confusion matrix (test, n={cm.sum():,}, accuracy {acc:.2%}, {int(np.nansum(off))} errors)")
    fig.tight_layout()
    return fig


def training_curves(history: pd.DataFrame) -> Figure:
    """Loss and accuracy per epoch for train and validation (from the dvclive logs)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    epochs = history["step"] + 1
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        for split, style in (("train", "-o"), ("val", "-s")):
            col = f"{split}/{metric}"
            if col in history:
                ax.plot(epochs, history[col], style, ms=3, label=split)
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        if metric == "accuracy":
            last = history.get("val/accuracy")
            if last is not None and len(last):
                ax.set_ylim(max(0.9, float(np.nanmin(last)) - 0.01), 1.0)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def image_grid(images: np.ndarray, titles: list[str], wrong: np.ndarray, cols: int, title: str) -> Figure:
    """Images in a grid, each titled; titles of wrong predictions in red.

    One mosaic image on one axes with a text label per cell: a subplot per image costs
    matplotlib ~50 ms each (ticks, layout), 10 s for the plots stage's 190 images.
    """
    n = len(images)
    rows = max(1, int(np.ceil(n / cols)))
    h, w = images.shape[1:3]
    lines = max([t.count("\n") + 1 for t in titles] or [1])
    pad, head = 4, 9 * lines + 2  # pixels between cells, and above each for its title
    cell_h, cell_w = head + h + pad, w + pad
    mosaic = np.full((rows * cell_h, cols * cell_w), np.nan, np.float32)
    inch = 1.15 / cell_w  # a cell 1.15 inches wide, as many tall as its pixels say
    height = rows * cell_h * inch + 0.5  # and half an inch for the title
    fig = plt.figure(figsize=(cols * 1.15, height))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0 - 0.5 / height))
    for i in range(n):
        r, c = divmod(i, cols)
        top, left = r * cell_h + head, c * cell_w + pad // 2
        mosaic[top:top + h, left:left + w] = images[i]
        ax.text(left + w / 2, top - 1, titles[i], ha="center", va="bottom", fontsize=7,
                color="red" if wrong[i] else "black")
    # NaN (the gaps) shows as white, like the figure; 0 as white and 1 as black, as before
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return fig


def prediction_grid(x: np.ndarray, y: np.ndarray, probs: np.ndarray, rows: int, cols: int) -> Figure:
    """The first rows×cols test images with true and predicted labels (wrong ones in red)."""
    n = min(rows * cols, len(x))
    pred = probs[:n].argmax(1)
    titles = [f"{t}→{p}" + (" ✗" if t != p else "") for t, p in zip(y[:n], pred, strict=False)]
    return image_grid(x[:n], titles, pred != y[:n], cols, "Test images: true→predicted (wrong in red)")


def worst_errors(x: np.ndarray, y: np.ndarray, probs: np.ndarray, k: int, cols: int) -> Figure:
    """The k misclassified test images the model was most confident about."""
    pred = probs.argmax(1)
    wrong = np.flatnonzero(pred != y)
    order = wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")][:k]
    titles = [f"{y[i]}→{pred[i]} p={probs[i, pred[i]]:.2f}\np({y[i]})={probs[i, y[i]]:.2f}" for i in order]
    return image_grid(x[order], titles, np.ones(len(order), bool), cols,
                      f"Worst {len(order)} of {len(wrong)} test errors: true→predicted, confidence")


def class_samples(x: np.ndarray, y: np.ndarray, per_class: int, seed: int) -> Figure:
    """`per_class` random training images of each digit, one row per digit."""
    rng = np.random.default_rng(seed)
    picks, titles = [], []
    for c in range(NUM_CLASSES):
        idx = np.flatnonzero(y == c)
        chosen = rng.choice(idx, size=min(per_class, len(idx)), replace=False)
        picks.extend(chosen.tolist() + [-1] * (per_class - len(chosen)))
        titles.extend([str(c)] * per_class)
    images = np.stack([x[i] if i >= 0 else np.zeros_like(x[0]) for i in picks])
    return image_grid(images, titles, np.zeros(len(picks), bool), per_class, "Training samples per class")
