"""`digits read` on numbers written in a comb field (a form's row of boxes, one digit in each:
a postcode, an account number), against the same digits written without the boxes and with
the comb's bars left in, in one run.

    python bench/comb_numbers.py [--model models/model.tflite] [--n 100] [--seed 13]
                                 [--out bench/results/comb_numbers.json]

Each number is 3-7 MNIST *validation* digits (never the benchmarks' test digits), drawn with
one pen (`wild.coverage`, as the numbers benchmark draws them) 40-90 px tall, each in its own
box 1.2-1.5 times the digit's size, shifted within it by up to a tenth of the size. The comb's
lines are 1-3 px, printed dark grey; the digits dark on paper, saved as a PNG scan. Each file
goes through `read_image`, the path of `digits read`.
"""

from __future__ import annotations

import sys

import numpy as np
from _variants import run

from digits.pipeline import wild


def make(i: int, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[str, dict[str, bytes]]:
    """Number i: its label and its files, without the boxes and in them."""
    rng = np.random.default_rng([seed, i])
    n = int(rng.integers(3, 8))
    pick = rng.choice(len(x), n, replace=False)
    size = float(rng.uniform(40, 90))
    pen = wild._pen(rng, size)
    bs = size * float(rng.uniform(1.2, 1.5))
    lw = float(rng.uniform(1, 3))
    h, w = int(bs * 2.2), int(bs * (n + 1))
    bt, bl = (h - bs) / 2, bs / 2
    frame = [wild._band((h, w), bt, bl, bl + n * bs, lw), wild._band((h, w), bt + bs, bl, bl + n * bs, lw)]
    frame += [wild._band((w, h), bl + k * bs, bt, bt + bs, lw).T for k in range(n + 1)]
    digits = np.zeros((h, w), np.float32)
    for k, j in enumerate(pick):
        c = wild.coverage(x[j], size, pen)
        top = int(bt + (bs - c.shape[0]) / 2 + rng.uniform(-0.1, 0.1) * size)
        left = int(bl + k * bs + (bs - c.shape[1]) / 2 + rng.uniform(-0.1, 0.1) * size)
        digits = np.maximum(digits, wild.paste((h, w), c, top, left))
    paper, ink = wild._paper(rng), wild._dark_ink(rng)
    plain = wild.encode(wild.ink_on(digits, paper, ink)).data
    boxed = wild.encode(wild.ink_on(digits, wild.ink_on(np.maximum.reduce(frame), paper, (60, 60, 60)), ink)).data
    return "".join(str(int(y[j])) for j in pick), {"plain": plain, "comb": boxed}


def main() -> int:
    return run(__doc__, make, {
        "without the boxes": ("plain", None),
        "in a comb": ("comb", None),
        "in a comb, bars left in": ("comb", ("_separators", lambda pieces, printed: None)),
    }, seed=13, out="comb_numbers.json")


if __name__ == "__main__":
    sys.exit(main())
