"""Read a whole handwritten number: a line of digits in an image, left to right (or each
line of a page of them, top to bottom).

`digits read`, the server's /api/read and the numbers benchmark all call `read_image`:
the image is decoded and checked as for `digits predict`, split into lines and digits by
`segment_lines`, and every digit is classified in one batch by the same model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from digits import NUM_CLASSES
from digits.errors import DigitsError, one_line
from digits.recognize.normalize import DECODED_SCALE, WORK_SIDE, load_image, to_grey
from digits.recognize.predict import DEFAULT_THRESHOLD, TOP_K, Model, expand_inputs
from digits.recognize.predict import Result as _PredictResult
from digits.recognize.predict import classify as model_classify
from digits.recognize.segment import segment_lines


@dataclass(frozen=True)
class DigitReading:
    """One digit of a number: the answer, its top classes and its box (x, y, w, h) in the image."""

    digit: int
    confidence: float
    top: tuple[tuple[int, float], ...]
    box: tuple[int, int, int, int]

    def to_json(self) -> dict[str, Any]:
        return {"digit": self.digit, "confidence": round(self.confidence, 4),
                "top": [[d, round(p, 4)] for d, p in self.top], "box": list(self.box)}


@dataclass(frozen=True)
class Reading:
    """The outcome for one image: the number read, or the one-line reason there is none."""

    file: str
    digits: tuple[DigitReading, ...] = ()  # every line's, top to bottom, each left to right
    threshold: float = DEFAULT_THRESHOLD
    error: str | None = None
    # the 28×28 images the model saw, one per digit (for the server's explain view)
    normalized: tuple[np.ndarray, ...] = field(default=(), compare=False, repr=False)
    line_sizes: tuple[int, ...] = ()  # digits per line, for an image with several lines; () = one line

    @property
    def lines(self) -> list[str] | None:
        """The number on each line, top to bottom (one for one line)."""
        if self.error is not None:
            return None
        text = "".join(str(d.digit) for d in self.digits)
        ends = np.cumsum(self.line_sizes or (len(text),)).tolist()
        return [text[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]

    @property
    def number(self) -> str | None:
        """The digits read; on an image with several lines, the lines' numbers one per line."""
        lines = self.lines
        return None if lines is None else "\n".join(lines)

    @property
    def confidence(self) -> float | None:
        """The lowest digit confidence: the number is as sure as its least sure digit."""
        return min(d.confidence for d in self.digits) if self.digits else None

    @property
    def uncertain(self) -> bool:
        return any(d.confidence < self.threshold for d in self.digits)

    def to_json(self) -> dict[str, Any]:
        """The JSON object for this input."""
        if self.error is not None:
            return {"file": self.file, "error": self.error}
        return {"file": self.file, "number": self.number, "lines": self.lines,
                "confidence": round(self.confidence, 4), "uncertain": self.uncertain,
                "digits": [d.to_json() for d in self.digits]}

    def to_text(self) -> str:
        """One human-readable line."""
        if self.error is not None:
            return f"{self.file}: error: {self.error}"
        flag = ", uncertain" if self.uncertain else ""
        lines = self.lines
        several = f"{len(lines)} lines, " if len(lines) > 1 else ""
        return f"{self.file}: {' / '.join(lines)}  ({several}lowest digit confidence {self.confidence:.2f}{flag})"


def _valid(probs: np.ndarray) -> np.ndarray:
    probs = np.asarray(probs, np.float64)
    if not (np.all(np.isfinite(probs)) and np.all(probs >= 0)):
        raise DigitsError("the model returned invalid probabilities (NaN or negative): is the model file broken?")
    return probs


def read_image(model: Model, image: Image.Image, name: str = "image",
               threshold: float = DEFAULT_THRESHOLD) -> Reading:
    """Read the number in a decoded image; a Reading with `error` set if there is none."""
    # boxes are given in the file's own pixels: undo a reduced JPEG decode and the reduction here
    k = float(image.info.get(DECODED_SCALE, 1.0))
    try:
        factor = max(image.size) // (4 * WORK_SIDE)
        if factor >= 2 and image.mode in ("L", "RGB", "RGBA", "LA", "I", "F"):
            image = image.reduce(factor)  # as normalize: spare the float copies of a huge image
            k *= factor
        grey = to_grey(image)

        def classify(x: np.ndarray) -> np.ndarray:
            return _valid(model_classify(model, x, check=True))

        read_pieces = None
        if getattr(model, "reads_pieces", False):  # the piece reader as its own signature (Model)
            def read_pieces(x: np.ndarray) -> np.ndarray:
                return _valid(model.predict_pieces(x))

        lines = segment_lines(grey, classify, read_pieces)
        found = [d for line in lines for d in line]
        probs = classify(np.stack([d.image for d in found]))[:, :NUM_CLASSES]
    except DigitsError as exc:
        return Reading(file=name, threshold=threshold, error=one_line(str(exc)))
    except MemoryError:
        return Reading(file=name, threshold=threshold, error="out of memory while reading the image")
    digits = []
    for d, p in zip(found, probs, strict=True):
        r = _PredictResult.from_probs(name, p, threshold)
        x, y, w, h = d.box
        box = (round(x * k), round(y * k), round(w * k), round(h * k))
        digits.append(DigitReading(digit=int(r.digit), confidence=float(r.confidence), top=r.top[:TOP_K], box=box))
    return Reading(file=name, digits=tuple(digits), threshold=threshold,
                   normalized=tuple(d.image for d in found),
                   line_sizes=tuple(len(line) for line in lines) if len(lines) > 1 else ())


def read_file(model: Model, path: str, threshold: float = DEFAULT_THRESHOLD) -> Reading:
    """Decode (with `digits predict`'s guards) and read one image file."""
    try:
        image = load_image(path)
    except DigitsError as exc:
        return Reading(file=path, threshold=threshold, error=one_line(str(exc)))
    try:
        return read_image(model, image, path, threshold)
    except Exception as exc:  # noqa: BLE001 - one odd file must not end a batch
        return Reading(file=path, threshold=threshold, error=one_line(f"unexpected {type(exc).__name__}: {exc}"))


def read_paths(model: Model, paths: Sequence[str], threshold: float = DEFAULT_THRESHOLD) -> Iterator[Reading]:
    """Readings for `paths` (directories expanded, as for predict), in order."""
    for item in expand_inputs(paths):
        if isinstance(item, _PredictResult):
            yield Reading(file=item.file, threshold=threshold, error=item.error)
        else:
            yield read_file(model, item, threshold)
