"""The "one digit?" check: a small network of its own that says whether an image is one
whole digit, for `digits read` to weigh its candidate cuts with.

The digit classifier is trained on single digits only, so it reads anything as some digit:
two touching digits squeezed into one box, or a fragment of a digit, often with a
confidence a whole digit gets too. The check is a binary convnet trained on training
digits against images that are not one digit, made from training digits the ways a
segmenter goes wrong:

- two digits pushed together until they touch or overlap, as one image;
- a digit with a slice of its neighbour stuck to one side;
- a piece of one digit, cut off at 25-75 % of its width.

Both classes are drawn from the same digits and the same ways: MNIST-style (ink fit into
20x20, centred by mass in 28x28), a share of the digits first redrawn along their centre
line with another pen (`wild.coverage`), and a share of the images drawn as the recogniser
draws a candidate part (a binary mask brought to MNIST's stroke width, `draw.to_mnist`),
so that nothing but "one digit or not" tells the classes apart. The `check` stage joins it
to the trained digit network: the exported model maps (N, 28, 28) to (N, 11), the ten digit
probabilities (the network's own, unchanged), then the probability that the image is one digit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from digits import IMAGE_SIZE
from digits.errors import DigitsError
from digits.pipeline.parallel import in_workers

if TYPE_CHECKING:  # TensorFlow only where a model is built: the examples are made in forked processes
    import keras

BOX = 20  # MNIST fits a digit's ink into 20x20
INK = 0.1  # a pixel above this is ink, for boxes
PEN = 0.4  # share of the digits redrawn along their centre line with a pen of ...
PEN_WIDTH = (0.04, 0.14)  # ... this share of the digit's size (a ballpoint to a felt tip)
AS_CUT = 0.6  # share of the images drawn as the recogniser draws a candidate part
UPSCALE = 4  # the part's mask is traced at this many times 28 px
LABEL_SMOOTHING = 0.1  # keeps the check from saying 0 or 1 outright about unfamiliar shapes


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


def with_pens(images: np.ndarray, rng: np.random.Generator, share: float = PEN) -> np.ndarray:
    """`images` (N, 28, 28) with `share` of them redrawn along their centre line with a round
    pen of PEN_WIDTH of their size, MNIST-style: other writers' pens."""
    from digits.pipeline.wild import coverage

    out = images.astype(np.float32, copy=True)
    for i in np.flatnonzero(rng.random(len(images)) < share):
        size = float(BOX)
        drawn = mnist_style(np.pad(coverage(images[i], size, float(rng.uniform(*PEN_WIDTH)) * size), 2))
        if drawn is not None:
            out[i] = drawn
    return out


def as_cut(a: np.ndarray) -> np.ndarray:
    """`a` (28, 28) drawn as the recogniser draws a candidate part: its ink as a binary mask
    at UPSCALE times the size, brought to MNIST's stroke width and fit (`draw.to_mnist`);
    `a` itself if nothing is left to draw."""
    from digits.recognize.draw import mask_to_mnist

    side = IMAGE_SIZE * UPSCALE
    drawn = mask_to_mnist(np.asarray(Image.fromarray(a, "F").resize((side, side), Image.Resampling.BILINEAR)) > 0.4)
    return a if drawn is None else drawn


CHUNKS = 8  # the examples are made in up to this many parts, each from its own digits with a
# generator spawned for it, so that any number of processes makes the same images

# Worker state, set once per process by _init (fork: the digits are shared, not copied).
_STATE: dict = {}


def _init(images: np.ndarray) -> None:
    _STATE["images"] = images


def _part(task: tuple[np.ndarray, int, np.random.SeedSequence]) -> tuple[np.ndarray, np.ndarray]:
    """One part of `examples`: `n` digits and `n` non-digits (drawn as the module says) from
    the digits at `rows`, with a generator of its own, seeded by `seed`."""
    rows, n, seed = task
    rng = np.random.default_rng(seed)
    pool = with_pens(_STATE["images"][rows], rng)
    digits = np.stack([mnist_style(np.pad(_crop(pool[i]), 2))
                       for i in rng.choice(len(pool), size=n, replace=n > len(pool))])
    x = np.concatenate([digits, not_one_digit(pool, n, rng)])
    drawn = rng.random(len(x)) < AS_CUT
    x = np.stack([as_cut(a) if d else a for a, d in zip(x, drawn, strict=True)]).astype(np.float32)
    return x[:n], x[n:]


def examples(images: np.ndarray, n: int, seed: int | list[int], workers: int = 1,
             progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`n` digits and `n` images that are not one digit, made from `images` (N, 28, 28) as the
    module says, shuffled: (x (2n, 28, 28) float32, y (2n,) 1.0 for a digit). Made in up to
    CHUNKS parts in `workers` forked processes (call it before TensorFlow is imported); the
    same images for any number of workers. `progress(done, parts)` is called as each part is
    made. DigitsError if no image has ink."""
    if n <= 0:
        return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32), np.zeros(0, np.float32)
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(images), size=min(len(images), 2 * n), replace=False)
    pick = pick[images[pick].max(axis=(1, 2)) > INK]  # a blank image has no centre line, no box
    if not pick.size:
        raise DigitsError("the check's examples: no digit with ink to make them from")
    k = min(n, CHUNKS, pick.size)
    # each part its own stream, independent of the one that picked the digits (spawned)
    tasks = list(zip(np.array_split(pick, k), [n // k + (i < n % k) for i in range(k)],
                     np.random.SeedSequence(seed).spawn(k), strict=True))
    made = []
    try:
        for part in in_workers(_part, tasks, workers, _init, (images,), ordered=True):
            made.append(part)
            if progress:
                progress(len(made), k)
    finally:
        _STATE.clear()  # with one worker the parts ran in this process: let go of the digits
    x = np.concatenate([d for d, _ in made] + [o for _, o in made])
    y = np.r_[np.ones(n), np.zeros(n)].astype(np.float32)
    order = rng.permutation(len(x))
    return x[order], y[order]


def small_convnet(filters: tuple[int, ...], dense: int, dropout: float, layer_prefix: str,
                  units: int, activation: str, head: str, name: str) -> keras.Model:
    """(N, 28, 28) images through 3x3 convs + ReLU + 2x2 max-pool per entry of `filters` (named
    `{layer_prefix}_conv{k}`), a hidden dense layer with dropout, and a dense head of `units`
    with `activation`: the check's network and the piece reader's."""
    import keras
    from keras import layers

    inp = keras.Input((IMAGE_SIZE, IMAGE_SIZE), name="image")
    x = layers.Reshape((IMAGE_SIZE, IMAGE_SIZE, 1))(inp)
    for k, f in enumerate(filters):
        x = layers.Conv2D(f, 3, padding="same", activation="relu", name=f"{layer_prefix}_conv{k}")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(dropout)(layers.Dense(dense, activation="relu")(layers.Flatten()(x)))
    return keras.Model(inp, layers.Dense(units, activation=activation, name=head)(x), name=name)


def build_check(filters: tuple[int, ...] = (16, 32, 64), dense: int = 64, dropout: float = 0.25) -> keras.Model:
    """The check's network (`small_convnet`): one sigmoid, the probability of one digit."""
    return small_convnet(filters, dense, dropout, "check", 1, "sigmoid", "one_digit", "one_digit_check")


@dataclass
class Examples:
    """What the check is fitted and scored on: digits and as many images that are not one
    digit, from training digits and from validation digits (`examples`)."""

    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    seconds: float  # to make them

    @property
    def samples(self) -> int:
        return len(self.y) // 2


def make_examples(x_train: np.ndarray, x_val: np.ndarray, samples: int, seed: int, workers: int = 1,
                  progress: Callable[[str, int, int], None] | None = None) -> Examples:
    """`samples` training digits and as many non-digits made from them; a tenth as many (at
    least 10, at most all) from the validation digits to score the fit on. Runs in `workers`
    forked processes: call it before TensorFlow is imported. `progress(which, done, parts)`
    is called as each part is made ("training" or "validation")."""

    def report(which: str) -> Callable[[int, int], None] | None:
        return (lambda done, parts: progress(which, done, parts)) if progress else None

    t0 = time.perf_counter()
    x, y = examples(x_train, samples, [seed, 11], workers, report("training"))
    xv, yv = examples(x_val, min(len(x_val), max(10, samples // 10)), [seed, 12], workers, report("validation"))
    return Examples(x, y, xv, yv, time.perf_counter() - t0)


@dataclass
class Check:
    """The fitted check and how well it separates digits from the rest."""

    model: keras.Model  # (N, 28, 28) -> (N, 1): the probability of one whole digit
    samples: int  # digits, and as many images that are not one digit
    epochs: int
    train_accuracy: float
    val_accuracy: float
    val_auc: float  # on validation digits against images made from validation digits
    seconds: float  # to fit


def fit_check(ex: Examples, epochs: int, batch_size: int = 128, verbose: int | str = 2) -> Check:
    """Fit the check on `ex`'s training images; score it (accuracy, ROC AUC) on its validation
    images. Call `training.configure_runtime(seed)` first for a reproducible fit."""
    import keras
    from sklearn.metrics import roc_auc_score

    t0 = time.perf_counter()
    model = build_check()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), metrics=["accuracy"], jit_compile=False,
                  loss=keras.losses.BinaryCrossentropy(label_smoothing=LABEL_SMOOTHING))
    hist = model.fit(ex.x, ex.y, batch_size=batch_size, epochs=epochs, validation_data=(ex.x_val, ex.y_val),
                     shuffle=True, verbose=verbose)
    pv = model.predict(ex.x_val, batch_size=1024, verbose=0)[:, 0]
    return Check(model=model, samples=ex.samples, epochs=epochs,
                 train_accuracy=float(hist.history["accuracy"][-1]),
                 val_accuracy=float(np.mean((pv >= 0.5) == (ex.y_val == 1))),
                 val_auc=float(roc_auc_score(ex.y_val, pv)), seconds=time.perf_counter() - t0)


def with_check(model: keras.Model, check: keras.Model) -> keras.Model:
    """One model: `model`'s ten digit probabilities, unchanged, then `check`'s probability that
    the image is one digit, as an 11th column. (The piece reader is exported beside it, as a
    signature of its own: `digits.pipeline.export`.)"""
    import keras

    inp = keras.Input((IMAGE_SIZE, IMAGE_SIZE), name="image")
    out = keras.layers.Concatenate(name="digits_and_check")([model(inp), check(inp)])
    return keras.Model(inp, out, name=f"{model.name}_with_check")
