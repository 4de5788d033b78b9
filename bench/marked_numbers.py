"""`digits read` on numbers someone marked on the page: a ring drawn around the number (to
point it out) or a printed box around it (a form's field for a whole amount), against the
same numbers unmarked and with the ring rule switched off, in one run.

    python bench/marked_numbers.py [--model models/model.tflite] [--n 100] [--seed 17]
                                   [--out bench/results/marked_numbers.json]

Numbers of 2-6 MNIST *validation* digits (never the benchmarks' test digits) are composed as
the numbers benchmark does (`digits.pipeline.numbers.compose`, no touching pairs) and drawn
dark on paper as a PNG scan, then with an ellipse around them (0.9 of the digits' height and
0.62 of the number's width from its middle: clear of the digits) or a printed box (a quarter
of the digits' height clear of them), both 1-3 px. Each file goes through `read_image`, the
path of `digits read`.
"""

from __future__ import annotations

import sys

import numpy as np
from _variants import run

from digits.pipeline import numbers, wild


def make(i: int, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[str, dict[str, bytes]]:
    """Number i: its label and its files, unmarked, in a ring and in a box."""
    rng = np.random.default_rng([seed, i])
    pick = rng.choice(len(x), int(rng.integers(2, 7)), replace=False)
    cov, _ = numbers.compose([x[j] for j in pick], rng, None)
    ch, cw = cov.shape
    h, w = int(ch * 2.6), int(cw * 1.6)
    t, lf = int(0.8 * ch), int(0.3 * cw)
    page = wild.paste((h, w), cov, t, lf)
    lw, pad = float(rng.uniform(1, 3)), 0.25 * ch
    bt, bb, bl, br = t - pad, t + ch + pad, lf - pad, lf + cw + pad
    box = np.maximum.reduce([wild._band((h, w), bt, bl, br, lw), wild._band((h, w), bb, bl, br, lw),
                             wild._band((w, h), bl, bt, bb, lw).T, wild._band((w, h), br, bt, bb, lw).T])
    yy, xx = np.mgrid[0:h, 0:w]
    ry, rx = ch * 0.9, cw * 0.62
    r = np.sqrt(((yy - t - ch / 2) / ry) ** 2 + ((xx - lf - cw / 2) / rx) ** 2)
    ring = np.clip(lw * 0.75 - np.abs(r - 1) * min(ry, rx) + 0.5, 0, 1).astype(np.float32)
    paper, ink = wild._paper(rng), wild._dark_ink(rng)
    files = {kind: wild.encode(wild.ink_on(page if mark is None else np.maximum(page, mark), paper, ink)).data
             for kind, mark in (("unmarked", None), ("ring", ring), ("box", box))}
    return "".join(str(int(y[j])) for j in pick), files


def main() -> int:
    return run(__doc__, make, {
        "unmarked": ("unmarked", None),
        "in a ring": ("ring", None),
        "in a ring, no ring rule": ("ring", ("_around", lambda pieces: None)),
        "in a box": ("box", None),
    }, seed=17, out="marked_numbers.json")


if __name__ == "__main__":
    sys.exit(main())
