"""The "one digit?" check: a head on the trained network that says whether an image is one
whole digit, for `digits read` to weigh its candidate cuts with.

The digit classifier is trained on single digits only, so it reads anything as some digit:
two touching digits squeezed into one box, or a fragment of a digit, often with a
confidence a whole digit gets too. The check is a logistic regression on the network's own
features (the flattened last feature map, frozen: the digit probabilities do not change),
fitted on training digits against images that are not one digit, made from training digits
the ways a segmenter goes wrong:

- two digits pushed together until they touch or overlap, as one image;
- a digit with a slice of its neighbour stuck to one side;
- a piece of one digit, cut off at 25-75 % of its width.

Each is drawn MNIST-style (its ink fit into 20x20, centred by mass in 28x28), as the
recogniser draws every candidate. The exported model then maps (N, 28, 28) to (N, 11):
the ten digit probabilities, then the probability that the image is one digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from PIL import Image

from digits import IMAGE_SIZE

BOX = 20  # MNIST fits a digit's ink into 20x20
INK = 0.1  # a pixel above this is ink, for boxes
C = 0.1  # inverse L2 strength of the logistic regression (set on validation digits)


def _crop(a: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(a.max(axis=1) > INK), np.flatnonzero(a.max(axis=0) > INK)
    return a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def mnist_style(a: np.ndarray) -> np.ndarray | None:
    """`a` (ink in [0, 1]) with its ink fit into 20x20 and centred by mass in 28x28; None if blank."""
    if a.max() <= INK:
        return None
    c = _crop(a).astype(np.float32)
    h, w = c.shape
    s = BOX / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    c = np.clip(np.asarray(Image.fromarray(c, "F").resize(size, Image.Resampling.BILINEAR)), 0, 1)
    ys, xs = np.indices(c.shape)
    mass = float(c.sum())
    top = int(np.clip(round(IMAGE_SIZE / 2 - (ys * c).sum() / mass), 0, IMAGE_SIZE - c.shape[0]))
    left = int(np.clip(round(IMAGE_SIZE / 2 - (xs * c).sum() / mass), 0, IMAGE_SIZE - c.shape[1]))
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    out[top:top + c.shape[0], left:left + c.shape[1]] = c
    return out


def _side_by_side(a: np.ndarray, b: np.ndarray, rng: np.random.Generator, keep: float | None) -> np.ndarray:
    """Digits a and b (ink crops) written touching: overlapping by -5 to 25 % of the narrower
    one's width, each at its own height; with `keep`, only that share of b's left side."""
    if keep is not None:
        b = b[:, :max(1, int(b.shape[1] * keep))]
    h = max(a.shape[0], b.shape[0]) + 6
    overlap = int(round(rng.uniform(-0.05, 0.25) * min(a.shape[1], b.shape[1])))
    out = np.zeros((h, a.shape[1] + b.shape[1] - overlap + 2), np.float32)
    ya, yb = int(rng.integers(0, h - a.shape[0] + 1)), int(rng.integers(0, h - b.shape[0] + 1))
    out[ya:ya + a.shape[0], :a.shape[1]] = a
    x = a.shape[1] - overlap
    region = out[yb:yb + b.shape[0], x:x + b.shape[1]]
    out[yb:yb + b.shape[0], x:x + b.shape[1]] = np.maximum(region, b)
    if keep is not None and rng.random() < 0.5:  # the neighbour's slice on the left as often
        out = out[:, ::-1]
    return out


def _piece(a: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """The left or right part of digit a (an ink crop) cut at 25-75 % of its width, if it holds
    at least 15 % of the ink."""
    w = a.shape[1]
    if w < 6:
        return None
    k = int(rng.uniform(0.25, 0.75) * w)
    part = a[:, :k] if rng.random() < 0.5 else a[:, k:]
    return part if part.sum() >= 0.15 * a.sum() else None


def not_one_digit(images: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` MNIST-style images that are not one digit, made from `images` (N, 28, 28) in [0, 1]:
    40 % two digits touching, 30 % a digit with a slice of its neighbour, 30 % a piece of one."""
    out: list[np.ndarray] = []
    while len(out) < n:
        kind = rng.random()
        i, j = rng.integers(len(images), size=2)
        a, b = _crop(images[i]), _crop(images[j])
        if kind < 0.4:
            g = _side_by_side(a, b, rng, None)
        elif kind < 0.7:
            g = _side_by_side(a, b, rng, float(rng.uniform(0.15, 0.4)))
        else:
            g = _piece(a, rng)
        if g is not None and (m := mnist_style(np.pad(g, 2))) is not None:
            out.append(m)
    return np.stack(out) if out else np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32)


def _features(model: keras.Model) -> keras.Model:
    """The network up to its last Flatten: the features the check reads."""
    flat = [layer for layer in model.layers if isinstance(layer, keras.layers.Flatten)]
    if not flat:
        raise ValueError(f"model {model.name!r} has no Flatten layer to read features from")
    return keras.Model(model.inputs, flat[-1].output)


@dataclass
class Check:
    """The fitted check: a logistic regression over the features, and how well it separates."""

    weights: np.ndarray  # (features,)
    bias: float
    samples: int  # digits, and as many images that are not one digit
    train_accuracy: float
    val_auc: float  # on validation digits against images made from validation digits


def fit_check(model: keras.Model, x_train: np.ndarray, x_val: np.ndarray, samples: int, seed: int) -> Check:
    """Fit the check on `samples` training digits and as many non-digits made from them;
    score it (ROC AUC) on validation digits against non-digits made from those."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng([seed, 11])
    digits = x_train[rng.choice(len(x_train), size=min(samples, len(x_train)), replace=False)]
    others = not_one_digit(x_train, len(digits), rng)
    feats = _features(model)

    def features(x: np.ndarray) -> np.ndarray:
        return np.asarray(feats.predict(x, batch_size=1024, verbose=0), np.float64)

    f = np.concatenate([features(digits), features(others)])
    y = np.r_[np.ones(len(digits)), np.zeros(len(others))]
    lr = LogisticRegression(C=C, max_iter=3000).fit(f, y)
    vrng = np.random.default_rng([seed, 12])
    vd = x_val[vrng.choice(len(x_val), size=min(len(x_val), max(10, samples // 10)), replace=False)]
    vo = not_one_digit(x_val, len(vd), vrng)
    pv = lr.predict_proba(np.concatenate([features(vd), features(vo)]))[:, 1]
    auc = float(roc_auc_score(np.r_[np.ones(len(vd)), np.zeros(len(vo))], pv))
    return Check(weights=lr.coef_[0].astype(np.float32), bias=float(lr.intercept_[0]), samples=len(digits),
                 train_accuracy=float(lr.score(f, y)), val_auc=auc)


def with_check(model: keras.Model, check: Check) -> keras.Model:
    """`model` with the check's probability as an 11th output column; the digit probabilities
    are the model's own, unchanged."""
    feats = _features(model)
    head = keras.layers.Dense(1, activation="sigmoid", name="one_digit")
    one = head(feats.output)
    head.set_weights([check.weights[:, None], np.array([check.bias], np.float32)])
    out = keras.layers.Concatenate(name="digits_and_check")([model.outputs[0], one])
    return keras.Model(model.inputs, out, name=model.name)
