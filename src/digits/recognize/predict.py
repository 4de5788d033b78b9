"""Predict the digit in image files with any model object (predict(x) -> probs).

Imports only numpy, Pillow and OpenCV (the normaliser's): with the LiteRT model from `digits.loading`, a cold
`digits predict one.png` answers in about half a second.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
from PIL import Image

from digits import NUM_CLASSES
from digits.errors import DigitsError, one_line
from digits.recognize.normalize import IMAGE_EXTENSIONS, load_image, normalizations, normalize

# Below this probability for the top class a prediction is flagged "uncertain". With the
# development model on the 144 real digits, 0.7 flagged half the wrong answers and none of
# the right ones; on 576 degraded copies of them 5 of 13 wrong and 3 of 558 right (0.5
# caught 1 wrong, 0.9 flagged 5% of the right ones). docs/predict.md has the table;
# bench/real_digits.py reports it again for any model.
DEFAULT_THRESHOLD = 0.7
# An image the model reads with less than this is read again shifted by one pixel each way,
# and the five answers averaged (test-time augmentation): where normalisation left a digit
# off its usual place or shape, the model's answer can hinge on a pixel. Set on numbers
# composed from MNIST *validation* digits (400, `digits.pipeline.numbers`): exactly read
# 80.8 % -> 83.0 %, 82.3 % with 2-pixel shifts; on wild renderings of test digits (seed 7,
# not the benchmark's) 98.58 % -> 98.79 %, UCI 8x8 97.0 % -> 97.5 %. A confident answer (most
# of them; the label smoothing of training keeps the top near 0.93) costs no second look.
STEADY_BELOW = 0.8
SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # (rows, columns)
TOP_K = 3
BATCH_SIZE = 64
T = TypeVar("T")
U = TypeVar("U")


class Model(Protocol):
    """Anything mapping float32 (N, 28, 28) images in [0, 1] to (N, 10) probabilities.

    A model with the piece reader as its own signature (`digits.recognize.tflite`) also has
    `reads_pieces` True and `predict_pieces(x)`, which `digits read` uses on whole pieces."""

    def predict(self, x: np.ndarray) -> np.ndarray: ...


def _shifted(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """(N, H, W) images moved by whole pixels, zeros (background) coming in."""
    out = np.zeros_like(x)
    h, w = x.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        x[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def classify(model: Model, x: np.ndarray, check: bool = False) -> np.ndarray:
    """Class probabilities (N, 10), float64, for normalised 28×28 images: the model's, and for
    an image whose top class is below STEADY_BELOW the mean over it and its copies shifted by
    one pixel up, down, left and right (all of them in one more batch). With `check`, (N, 11):
    the last column is the model's "one digit?" check (`digits.pipeline.check`), 1.0 for a
    model without one.

    The one place where `digits predict`, `digits read` (its digits and its candidate cuts),
    the server and the benchmarks turn images into probabilities."""
    def run(a: np.ndarray) -> np.ndarray:
        out = np.array(model.predict(a), dtype=np.float64)
        if out.ndim == 2 and out.shape[1] == NUM_CLASSES:  # a model without the check
            out = np.concatenate([out, np.ones((len(out), 1))], axis=1)
        return out

    x = np.asarray(x, np.float32)
    p = run(x)
    if p.ndim != 2:
        return p
    with np.errstate(invalid="ignore"):
        # NaN rows are not unsure: the caller refuses them
        unsure = np.flatnonzero(p[:, :NUM_CLASSES].max(axis=1) < STEADY_BELOW)
    if unsure.size:
        copies = np.concatenate([_shifted(x[unsure], dy, dx) for dy, dx in SHIFTS])
        q = run(copies).reshape(len(SHIFTS), unsure.size, -1)
        p[unsure] = (p[unsure] + q.sum(axis=0)) / (1 + len(SHIFTS))
    return p if check else p[:, :NUM_CLASSES]


@dataclass(frozen=True)
class Result:
    """The outcome for one input: a prediction, or the one-line reason there is none."""

    file: str
    digit: int | None = None
    confidence: float | None = None
    top: tuple[tuple[int, float], ...] = ()
    uncertain: bool = False
    error: str | None = None

    @classmethod
    def from_probs(cls, file: str, probs: np.ndarray, threshold: float) -> Result:
        """Build a prediction from one row of class probabilities."""
        order = np.argsort(-probs, kind="stable")[:TOP_K]
        top = tuple((int(d), float(probs[d])) for d in order)
        return cls(file=file, digit=top[0][0], confidence=top[0][1], top=top,
                   uncertain=top[0][1] < threshold)

    def to_json(self) -> dict[str, Any]:
        """The JSON object for this input."""
        if self.error is not None:
            return {"file": self.file, "error": self.error}
        return {"file": self.file, "digit": self.digit, "confidence": round(self.confidence, 4),
                "top": [[d, round(p, 4)] for d, p in self.top], "uncertain": self.uncertain}

    def to_text(self) -> str:
        """One human-readable line."""
        if self.error is not None:
            return f"{self.file}: error: {self.error}"
        flag = ", uncertain" if self.uncertain else ""
        return f"{self.file}: {self.digit} (confidence {self.confidence:.2f}{flag})"


def expand_inputs(paths: Iterable[str]) -> list[str | Result]:
    """Replace each directory by its image files (sorted, not recursive).

    A directory without images becomes an error Result; files are passed through as
    given, whatever their extension, since the user named them explicitly.
    """
    out: list[str | Result] = []
    for p in paths:
        if not os.path.isdir(p):
            out.append(p)
            continue
        try:
            names = sorted(e.name for e in os.scandir(p)
                           if e.is_file() and not e.name.startswith(".")
                           and os.path.splitext(e.name)[1].lower() in IMAGE_EXTENSIONS)
        except OSError as exc:
            out.append(Result(file=p, error=one_line(f"cannot read directory: {exc.strerror or exc}")))
            continue
        if not names:
            exts = ", ".join(e.lstrip(".") for e in IMAGE_EXTENSIONS)
            out.append(Result(file=p, error=f"no image files in directory (looked for {exts})"))
        out.extend(os.path.join(p, n) for n in names)
    return out


def _guarded(step: Callable[[T], U], arg: T) -> U:
    """`step(arg)`, any failure turned into a DigitsError with a one-line reason."""
    try:
        return step(arg)
    except DigitsError:
        raise
    except MemoryError:
        raise DigitsError("out of memory while decoding the image") from None
    except Exception as exc:  # noqa: BLE001 - one odd file must not end a batch of thousands
        raise DigitsError(f"unexpected {type(exc).__name__}: {exc}") from None


def decode(name: str, source: T, load: Callable[[T], Image.Image] = load_image) -> Image.Image | Result:
    """`load(source)` (`load_image` for a path, `load_image_bytes` for an upload held in
    memory), or the error Result for `name` with the one-line reason it failed."""
    try:
        return _guarded(load, source)
    except DigitsError as exc:
        return Result(file=name, error=one_line(str(exc)))


def prepare(path: str) -> np.ndarray:
    """Load and normalise one image file; DigitsError with a one-line reason on any failure."""
    return _guarded(normalize, _guarded(load_image, path))


def predict_images(model: Model, items: Iterable[tuple[str, Image.Image | Result]],
                   threshold: float = DEFAULT_THRESHOLD) -> list[tuple[Result, np.ndarray | None]]:
    """Normalise and classify decoded images in one batch: for each (name, image) in order,
    its Result with the 28×28 image the model saw (None where there is none). An item whose
    image is already a Result (a decoding failure, from `decode`) passes through.

    The one path from pixels to answer, shared by `digits predict` and `digits serve`.
    `items` may be a generator: each image is dropped once normalised, so decoding lazily
    holds one full-size image at a time."""
    results: list[Result | None] = []
    seen: list[np.ndarray | None] = []
    names: list[str] = []
    images: list[np.ndarray] = []
    where: list[int] = []  # for each image, the item it is a reading of
    for name, image in items:
        names.append(name)
        if isinstance(image, Result):
            results.append(image)
            seen.append(None)
            continue
        try:
            readings = _guarded(normalizations, image)
            images += readings
            where += [len(results)] * len(readings)
            seen.append(None)  # the reading answered with, below
            results.append(None)
        except DigitsError as exc:
            results.append(Result(file=name, error=one_line(str(exc))))
            seen.append(None)
        finally:
            del image  # let the full-size image go before the next one is decoded
    if images:
        probs = classify(model, np.stack(images))
        # Of an item's readings, the first unless the model is surer of another (max: a NaN
        # row stays first and is refused below).
        best: dict[int, int] = {}
        for k, i in enumerate(where):
            if i not in best or probs[k].max() > probs[best[i]].max():
                best[i] = k
        for i, k in best.items():
            p = probs[k]
            seen[i] = images[k]
            if np.all(np.isfinite(p)) and np.all(p >= 0):
                results[i] = Result.from_probs(names[i], p, threshold)
            else:
                # A broken export yields NaN; never print it as a confident digit 0.
                results[i] = Result(file=names[i], error="the model returned invalid "
                                    "probabilities (NaN or negative): is the model file broken?")
    return list(zip(results, seen, strict=True))  # type: ignore[arg-type] - every slot is filled


def predict_files(model: Model, files: Sequence[str | Result],
                  threshold: float = DEFAULT_THRESHOLD) -> list[tuple[Result, np.ndarray | None]]:
    """`predict_images` for image files: each decoded by `load_image` as the batch reaches
    it. Items that are already Results pass through."""
    return predict_images(model, ((item.file, item) if isinstance(item, Result)
                                  else (str(item), decode(str(item), item)) for item in files), threshold)


def predict_paths(model: Model, paths: Sequence[str], threshold: float = DEFAULT_THRESHOLD,
                  batch_size: int = BATCH_SIZE) -> Iterator[Result]:
    """Results for `paths` (directories expanded) in order, streamed batch by batch."""
    items = expand_inputs(paths)
    for start in range(0, len(items), batch_size):
        for result, _ in predict_files(model, items[start:start + batch_size], threshold):
            yield result
