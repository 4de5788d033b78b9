"""`digits read` on numbers written in italics (the tops leaning right, as many people write),
against the same numbers upright and with the reader never setting them upright, in one run.

    python bench/italic_numbers.py [--model models/model.tflite] [--n 100] [--seed 29]
                                   [--out bench/results/italic_numbers.json]

Numbers of 2-8 MNIST *validation* digits (never the benchmarks' test digits) are composed as
the numbers benchmark does (`digits.pipeline.numbers.compose`, a touching pair in 30 % of
them), then sheared as a whole so that they lean 15, 25 or 35 degrees more than their writers
leant them (MNIST's writers lean a little already), or 25 degrees the other way (backhand, as
many left-handed people write), and drawn dark on paper as a PNG scan.
Each file goes through `read_image`, the path of `digits read`; "as written" switches off
`digits.recognize.segment`'s setting of leaning writing upright (`UPRIGHT_DEG` 90).
"""

from __future__ import annotations

import math
import sys

import numpy as np
from _variants import run
from PIL import Image

from digits.pipeline import numbers, wild

LEANS = (15, 25, 35, -25)  # degrees; negative: backhand, the tops to the left


def lean(cov: np.ndarray, degrees: float) -> np.ndarray:
    """The coverage map sheared so that its tops move right by tan(degrees) per row (left,
    for a negative angle: backhand)."""
    t = math.tan(math.radians(degrees))
    h, w = cov.shape
    im = Image.fromarray(cov, "F").transform((w + int(abs(t) * h) + 1, h), Image.Transform.AFFINE,
                                             (1.0, t, -max(t, 0.0) * h, 0.0, 1.0, 0.0), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(im, np.float32), 0, 1)


def make(i: int, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[str, dict[str, bytes]]:
    """Number i: its label and its files, upright and at each lean."""
    rng = np.random.default_rng([seed, i])
    n = int(rng.integers(2, 9))
    pick = rng.choice(len(x), n, replace=False)
    touch_at = int(rng.integers(0, n - 1)) if rng.random() < 0.3 else None
    cov, _ = numbers.compose([x[j] for j in pick], rng, touch_at)
    paper, ink = wild._paper(rng), wild._dark_ink(rng)
    files = {}
    for deg in (0, *LEANS):
        c = lean(cov, deg) if deg else cov
        m = int(0.3 * c.shape[0]) + 2
        files[str(deg)] = wild.encode(wild.ink_on(np.pad(c, m), paper, ink)).data
    return "".join(str(int(y[j])) for j in pick), files


def main() -> int:
    reads = {"upright": ("0", None)}
    for deg in LEANS:
        name = f"leaning {deg} degrees" if deg > 0 else f"leaning {-deg} degrees back"
        reads[name] = (str(deg), None)
        reads[f"{name}, as written"] = (str(deg), ("UPRIGHT_DEG", 90.0))
    return run(__doc__, make, reads, seed=29, out="italic_numbers.json")


if __name__ == "__main__":
    sys.exit(main())
