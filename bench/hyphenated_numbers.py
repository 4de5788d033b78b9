"""`digits read` on numbers written with a hyphen between groups of digits (a phone number's
555-1234, a reference's 0171-42), against the same numbers without the hyphen and with the
hyphen rule switched off, in one run.

    python bench/hyphenated_numbers.py [--model models/model.tflite] [--n 100] [--seed 7]
                                       [--out bench/results/hyphenated_numbers.json]

Numbers of 4-9 MNIST *validation* digits (never the benchmarks' test digits) are composed
as the numbers benchmark does (`digits.pipeline.numbers.compose`, no touching pairs). The
emptiest run of columns between two digits in the middle of the number is widened by half
to four fifths of the digits' height, and a hyphen is drawn there: a stroke 0.3-0.6 of the
height long, 6-12 % of it thick, tilted by up to 6 degrees, its middle within a tenth of
the height of the ink's middle row. Drawn dark on paper as a PNG scan (the same scan
without the hyphen is the reference), each file goes through `read_image`, the path of
`digits read`. The label is the digits alone.
"""

from __future__ import annotations

import sys

import numpy as np
from _variants import run

from digits.pipeline import numbers, wild


def _gap(cov: np.ndarray) -> tuple[int, int] | None:
    """The widest run of empty columns in the middle three fifths of `cov`, (start, end)."""
    empty = ~(cov >= 0.5).any(axis=0)
    w = cov.shape[1]
    best = None
    c = int(0.2 * w)
    while c < int(0.8 * w):
        if empty[c]:
            e = c
            while e < w and empty[e]:
                e += 1
            if best is None or e - c > best[1] - best[0]:
                best = (c, e)
            c = e
        c += 1
    return best


def make(i: int, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[str, dict[str, bytes]] | None:
    """Number i: its label and its files, without the hyphen and with it (None when the
    number has no gap between digits to widen)."""
    rng = np.random.default_rng([seed, i])
    pick = rng.choice(len(x), int(rng.integers(4, 10)), replace=False)
    cov, _ = numbers.compose([x[j] for j in pick], rng, None)
    gap = _gap(cov)
    if gap is None:
        return None
    rows = np.flatnonzero((cov >= 0.5).any(axis=1))
    height = float(rows[-1] - rows[0] + 1)
    mid_row = (rows[0] + rows[-1]) / 2 + float(rng.uniform(-0.1, 0.1)) * height
    cut = (gap[0] + gap[1]) // 2
    extra = int(rng.uniform(0.5, 0.8) * height)
    wide = np.concatenate([cov[:, :cut], np.zeros((cov.shape[0], extra), np.float32), cov[:, cut:]], axis=1)
    length = float(rng.uniform(0.3, 0.6)) * height
    x0 = (gap[0] + gap[1] + extra - length) / 2  # centred in the widened gap
    slope = float(np.tan(np.radians(rng.uniform(-6, 6))))
    dash = wild._band(wide.shape, mid_row - slope * length / 2, x0, x0 + length,
                      float(rng.uniform(0.06, 0.12)) * height, slope)
    ch, cw = wide.shape
    h, w = int(ch * 2.2), int(cw * 1.3)
    top, left = int(0.4 * ch), int(0.15 * cw)
    paper, ink = wild._paper(rng), wild._dark_ink(rng)
    plain = wild.encode(wild.ink_on(wild.paste((h, w), wide, top, left), paper, ink)).data
    dashed = wild.encode(wild.ink_on(wild.paste((h, w), np.maximum(wide, dash), top, left), paper, ink)).data
    return "".join(str(int(y[j])) for j in pick), {"plain": plain, "hyphenated": dashed}


def main() -> int:
    return run(__doc__, make, {
        "without the hyphen": ("plain", None),
        "hyphenated": ("hyphenated", None),
        "hyphenated, no hyphen rule": ("hyphenated", ("_hyphen", lambda *a: False)),
    }, seed=7, out="hyphenated_numbers.json")


if __name__ == "__main__":
    sys.exit(main())
