"""The piece reader: a network that reads a piece of ink whole, before it is cut, as one digit
(classes 0-9) or as two touching digits a, b (class 10 + 10a + b), for `digits read` to weigh
its cuts with (`digits.recognize.segment`).

The digit classifier sees only the parts a cut makes. Where a 1 touches an 8, the whole piece
reads as a fair 8 and the parts after a good cut read no better than after a poor one, so the
cut lattice alone keeps the 8. The reader sees the whole piece and says "18".

Its examples are made from training digits as the numbers benchmark writes a number
(`numbers.compose`: one pen for both digits, sizes within 12 %, the baseline wavering, the
pair pushed until their strokes touch, ink to ink), then drawn as the recogniser draws a
piece it found: the ink (coverage at least a half) brought to MNIST's stroke width and fit
into 20x20 (`draw.to_mnist`). A quarter are single digits written the same way. The
`check` stage fits it and exports it beside the model, as a signature of its own
(`digits.pipeline.export`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from digits import IMAGE_SIZE, NUM_CLASSES
from digits.errors import DigitsError
from digits.pipeline.parallel import in_workers
from digits.recognize.tflite import PIECE_CLASSES, pair_class

if TYPE_CHECKING:  # TensorFlow only where the network is built: the examples are made in forked processes
    import keras

CLASSES = PIECE_CLASSES  # one digit, or a pair
SINGLE = 0.25  # share of the examples that are one digit
CHUNKS = 8  # made in this many parts, each with its own generator: the same for any number of processes
LABEL_SMOOTHING = 0.1


def example(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int] | None:
    """One example from `images` (N, 28, 28) in [0, 1] and their `labels`: (the 28x28 drawing,
    its class), or None when the digits drew nothing to read (a pair whose strokes the boxes
    kept from touching, a blot)."""
    from digits.pipeline.numbers import compose
    from digits.recognize.draw import mask_to_mnist

    if rng.random() < SINGLE:
        i = int(rng.integers(len(images)))
        cov, _ = compose([images[i]], rng, None)
        label = int(labels[i])
    else:
        i, j = (int(k) for k in rng.integers(len(images), size=2))
        cov, touched = compose([images[i], images[j]], rng, 0)
        if not touched:
            return None
        label = pair_class(int(labels[i]), int(labels[j]))
    drawn = mask_to_mnist(cov >= 0.5)
    return None if drawn is None else (drawn, label)


_STATE: dict = {}  # worker state, set once per process by _init (fork: the digits are shared)


def _init(images: np.ndarray, labels: np.ndarray) -> None:
    _STATE.update(images=images, labels=labels)


def _part(task: tuple[int, np.random.SeedSequence]) -> tuple[np.ndarray, np.ndarray]:
    n, seed = task
    rng = np.random.default_rng(seed)
    x, y = [], []
    while len(x) < n:
        made = example(_STATE["images"], _STATE["labels"], rng)
        if made is not None:
            x.append(made[0])
            y.append(made[1])
    return np.stack(x).astype(np.float32), np.asarray(y, np.int64)


def examples(images: np.ndarray, labels: np.ndarray, n: int, seed: int | list[int], workers: int = 1,
             progress: Callable[[int, int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`n` examples (x (n, 28, 28) float32, y (n,) classes) from `images` and `labels`, made in
    up to CHUNKS parts in `workers` forked processes (call it before TensorFlow is imported);
    the same for any number of workers. `progress(done, parts)` as each part is made.
    DigitsError if no image has ink."""
    if n <= 0:
        return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.float32), np.zeros(0, np.int64)
    inked = images.max(axis=(1, 2)) > 0.1
    if not inked.any():
        raise DigitsError("the piece reader's examples: no digit with ink to make them from")
    images, labels = images[inked], labels[inked]
    k = min(n, CHUNKS)
    tasks = list(zip([n // k + (i < n % k) for i in range(k)], np.random.SeedSequence(seed).spawn(k), strict=True))
    made = []
    try:
        for part in in_workers(_part, tasks, workers, _init, (images, labels), ordered=True):
            made.append(part)
            if progress:
                progress(len(made), k)
    finally:
        _STATE.clear()
    return np.concatenate([x for x, _ in made]), np.concatenate([y for _, y in made])


def build_reader(filters: tuple[int, ...] = (32, 64, 128), dense: int = 256, dropout: float = 0.3) -> keras.Model:
    """The reader's network (`check.small_convnet`): a softmax over CLASSES."""
    from digits.pipeline.check import small_convnet

    return small_convnet(filters, dense, dropout, "reader", CLASSES, "softmax", "piece", "piece_reader")


@dataclass
class Reader:
    """The fitted reader and how well it reads validation pieces."""

    model: keras.Model  # (N, 28, 28) -> (N, CLASSES)
    samples: int
    epochs: int
    val_single_accuracy: float  # one validation digit read as itself
    val_pair_accuracy: float  # two touching validation digits read as the pair
    val_count_accuracy: float  # one or two, right
    seconds: float  # to fit


def fit_reader(x: np.ndarray, y: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, epochs: int,
               batch_size: int = 128, verbose: int | str = 2) -> Reader:
    """Fit the reader (Adam, cosine decay from 2e-3, label smoothing) and score it on the
    validation examples. Call `training.configure_runtime(seed)` first for a reproducible fit."""
    import keras

    t0 = time.perf_counter()
    model = build_reader()
    steps = epochs * -(-len(y) // batch_size)
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=LABEL_SMOOTHING),
                  metrics=["accuracy"], jit_compile=False)
    model.fit(x, keras.utils.to_categorical(y, CLASSES), batch_size=batch_size, epochs=epochs,
              shuffle=True, verbose=verbose)
    p = model.predict(x_val, batch_size=1024, verbose=0).argmax(axis=1)
    single = y_val < NUM_CLASSES

    def share(sel: np.ndarray) -> float:
        return float(np.mean(p[sel] == y_val[sel])) if sel.any() else float("nan")

    return Reader(model=model, samples=len(y), epochs=epochs, val_single_accuracy=share(single),
                  val_pair_accuracy=share(~single),
                  val_count_accuracy=float(np.mean((p < NUM_CLASSES) == single)) if len(p) else float("nan"),
                  seconds=time.perf_counter() - t0)
