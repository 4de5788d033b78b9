"""`digits read` on numbers written with a decimal point or a comma between groups of digits
(an amount's 1673.50, a count's 12,500), against the same numbers without it and with the
point rule switched off, in one run.

    python bench/punctuated_numbers.py [--model models/model.tflite] [--n 100] [--seed 7]
                                       [--out bench/results/punctuated_numbers.json]

Numbers of 4-9 MNIST *validation* digits (never the benchmarks' test digits) are composed
as the numbers benchmark does (`digits.pipeline.numbers.compose`, no touching pairs). The
emptiest run of columns between two digits in the middle of the number is widened by a
quarter to nearly half of the digits' height, and a point is drawn there on the line the
digits stand on: a round dot 8-16 % of the height across, and for a comma the same dot
with a tail 15-30 % of the height long, down to the left. Drawn dark on paper as a PNG scan
(the same scan without the mark is the reference), each file goes through `read_image`, the
path of `digits read`. The label is the digits alone.
"""

from __future__ import annotations

import sys

import numpy as np
from _variants import run
from hyphenated_numbers import _gap

from digits.pipeline import numbers, wild


def _stroke(shape: tuple[int, int], p: tuple[float, float], q: tuple[float, float], width: float) -> np.ndarray:
    """Coverage of a round-ended stroke `width` px thick from point p to q, (row, column)."""
    ys, xs = np.mgrid[0:shape[0], 0:shape[1]].astype(np.float32)
    (y0, x0), (y1, x1) = p, q
    dy, dx = y1 - y0, x1 - x0
    t = np.clip(((ys - y0) * dy + (xs - x0) * dx) / max(dy * dy + dx * dx, 1e-6), 0, 1)
    dist = np.hypot(ys - (y0 + t * dy), xs - (x0 + t * dx))
    return np.clip(width / 2 - dist + 0.5, 0, 1).astype(np.float32)


def make(i: int, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[str, dict[str, bytes]] | None:
    """Number i: its label and its files, without the mark, with a point and with a comma
    (None when the number has no gap between digits to widen)."""
    rng = np.random.default_rng([seed, i])
    pick = rng.choice(len(x), int(rng.integers(4, 10)), replace=False)
    cov, _ = numbers.compose([x[j] for j in pick], rng, None)
    gap = _gap(cov)
    if gap is None:
        return None
    rows = np.flatnonzero((cov >= 0.5).any(axis=1))
    height = float(rows[-1] - rows[0] + 1)
    # the line the digits stand on: the median of their bottoms, not the lowest descender
    cols = (cov >= 0.5).any(axis=0)
    bottoms = [int(np.flatnonzero((cov[:, a:b] >= 0.5).any(axis=1))[-1])
               for a, b in _runs(cols)]
    base = float(np.median(bottoms))
    cut = (gap[0] + gap[1]) // 2
    extra = int(rng.uniform(0.25, 0.45) * height)
    wide = np.concatenate([cov[:, :cut], np.zeros((cov.shape[0], extra), np.float32), cov[:, cut:]], axis=1)
    wide = np.concatenate([wide, np.zeros((int(0.4 * height), wide.shape[1]), np.float32)], axis=0)
    cx = (gap[0] + gap[1] + extra) / 2
    r = float(rng.uniform(0.04, 0.08)) * height
    centre = (base - r, cx)
    dot = _stroke(wide.shape, centre, centre, 2 * r)
    tail = float(rng.uniform(0.15, 0.3)) * height
    comma = np.maximum(dot, _stroke(wide.shape, centre, (base - r + tail, cx - 0.4 * tail), 1.2 * r))
    ch, cw = wide.shape
    h, w = int(ch * 2.2), int(cw * 1.3)
    top, left = int(0.4 * ch), int(0.15 * cw)
    paper, ink = wild._paper(rng), wild._dark_ink(rng)

    def scan(c: np.ndarray) -> bytes:
        return wild.encode(wild.ink_on(wild.paste((h, w), c, top, left), paper, ink)).data

    return "".join(str(int(y[j])) for j in pick), {
        "plain": scan(wide), "point": scan(np.maximum(wide, dot)), "comma": scan(np.maximum(wide, comma))}


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """The (start, end) of every run of True in a 1-D array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def main() -> int:
    return run(__doc__, make, {
        "without the mark": ("plain", None),
        "decimal point": ("point", None),
        "comma": ("comma", None),
        "decimal point, no point rule": ("point", ("_point", lambda *a: False)),
        "comma, no point rule": ("comma", ("_point", lambda *a: False)),
    }, seed=7, out="punctuated_numbers.json")


if __name__ == "__main__":
    sys.exit(main())
