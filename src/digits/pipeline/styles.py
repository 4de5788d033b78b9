"""Handwriting styles MNIST lacks: the continental 1 with a long flag and the crossed 7.

MNIST's writers were American: their 1 is a bare stroke, their 7 has no bar through its
stem. Much of the world writes a 1 with a long up-stroke to its top ("flag") and crosses
its 7s; a model trained on MNIST alone reads a flagged 1 as a 7 (`bench/writing_styles.py`).
These functions draw those strokes onto MNIST-style 28×28 digits: training adds them to a
share of its 1s and 7s (`train.augment.styles`), and the benchmark draws them onto test
digits, with its own random numbers.
"""

from __future__ import annotations

import cv2
import numpy as np

from digits import IMAGE_SIZE

FINE = 8  # the stroke is drawn this many times finer than 28×28, then averaged down
INK = 0.5  # what counts as ink of a [0, 1] digit when measuring it
FLAG_ANGLE_DEG = (30.0, 60.0)  # below the horizontal: steeper than a 7's bar
FLAG_LENGTH = (0.15, 0.5)  # of the digit's height
UPRIGHT_DEG = 10.0  # only a 1 leaning less than this is flagged: a leaning one with a flag is a 7's shape
BAR_HEIGHT = (0.45, 0.6)  # where the bar crosses the 7's stem, from its top, of the height
BAR_LENGTH = (0.3, 0.45)  # of the height
BAR_TILT_DEG = 10.0
STYLED = {1: "flag", 7: "bar"}


def _stroke(points: tuple[tuple[float, float], tuple[float, float]], width: float) -> np.ndarray:
    """A straight antialiased stroke between two (x, y) points in 28×28 pixel units."""
    side = IMAGE_SIZE * FINE
    canvas = np.zeros((side, side), np.float32)
    # cv2.line takes fixed-point coordinates (shift=4: sixteenths of a fine pixel)
    (x0, y0), (x1, y1) = ((round((v * FINE + (FINE - 1) / 2) * 16) for v in p) for p in points)
    cv2.line(canvas, (x0, y0), (x1, y1), 1.0, max(1, round(width * FINE)), cv2.LINE_AA, shift=4)
    return cv2.resize(canvas, (IMAGE_SIZE, IMAGE_SIZE), interpolation=cv2.INTER_AREA)


def _width(ink: np.ndarray) -> float:
    """The stroke width of a digit: across a band of width w the mean distance from its ink
    to the background is w/4."""
    dist = cv2.distanceTransform(np.pad(ink, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    return float(4.0 * dist[ink].mean())


def _recentred(x: np.ndarray) -> np.ndarray:
    """`x` moved so that its centre of mass is the image centre again, as MNIST's digits are."""
    total = x.sum()
    if total <= 0:
        return x
    rows, cols = np.indices(x.shape)
    dy = (IMAGE_SIZE - 1) / 2 - float((rows * x).sum() / total)
    dx = (IMAGE_SIZE - 1) / 2 - float((cols * x).sum() / total)
    shift = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(x, shift, x.shape[::-1], flags=cv2.INTER_LINEAR, borderValue=0.0)


def slant(x: np.ndarray) -> float:
    """How far a digit's ink leans from upright, in degrees (positive: its top to the right)."""
    rows, cols = np.nonzero(x > INK)
    if rows.size < 2 or np.ptp(rows) == 0:
        return 0.0
    dy = rows - rows.mean()
    return float(np.degrees(np.arctan(-(dy * (cols - cols.mean())).sum() / (dy * dy).sum())))


def flag(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 1 (28×28, [0, 1]) with a flag: a stroke from its top down to the left."""
    ink = x > INK
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size < 2:
        return x
    top, height = rows[0], rows[-1] - rows[0]
    cx = float(np.flatnonzero(ink[top:top + 2].any(axis=0)).mean())
    angle = np.deg2rad(rng.uniform(*FLAG_ANGLE_DEG))
    length = rng.uniform(*FLAG_LENGTH) * height
    end = (cx - length * np.cos(angle), top + length * np.sin(angle))
    return _recentred(np.maximum(x, _stroke(((cx, float(top)), end), _width(ink))))


def bar(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 7 (28×28, [0, 1]) crossed: a short level bar through its stem."""
    ink = x > INK
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size < 2:
        return x
    row = int(rows[0] + rng.uniform(*BAR_HEIGHT) * (rows[-1] - rows[0]))
    cols = np.flatnonzero(ink[row])
    if cols.size == 0:
        return x
    cx, half = float(cols.mean()), rng.uniform(*BAR_LENGTH) * (rows[-1] - rows[0]) / 2
    rise = np.tan(np.deg2rad(rng.uniform(-BAR_TILT_DEG, BAR_TILT_DEG))) * half
    return _recentred(np.maximum(x, _stroke(((cx - half, row + rise), (cx + half, row - rise)), _width(ink))))


def with_styles(x: np.ndarray, y: np.ndarray, share: float, seed: int) -> tuple[np.ndarray, int]:
    """A copy of the digits `x` (N, 28, 28) in which `share` of the upright 1s are flagged and
    of the 7s crossed, chosen and drawn from `seed`; and how many were changed."""
    if share <= 0:
        return x, 0
    rng = np.random.default_rng(seed)
    out = x.copy()
    changed = 0
    for digit, name in sorted(STYLED.items()):
        draw = flag if name == "flag" else bar
        idx = np.flatnonzero(y == digit)
        if name == "flag":
            idx = np.array([i for i in idx if abs(slant(x[i])) < UPRIGHT_DEG], np.int64)
        for i in rng.choice(idx, size=round(share * idx.size), replace=False):
            out[i] = draw(x[i], rng)
            changed += 1
    return out, changed
