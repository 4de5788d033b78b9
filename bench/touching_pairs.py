"""`digits read` on short numbers whose digits touch (a 1 crossing a 5, two 0s sharing a
stroke), against the same digits written apart, and with the "one digit?" check not weighed,
in one run: the class of input the check is for (README: "The one-digit check").

    python bench/touching_pairs.py [--model models/model.tflite] [--n 200] [--seed 7]
                                   [--out bench/results/touching_pairs.json]

Numbers of 2-3 MNIST *validation* digits (never the benchmarks' test digits) are composed as
the numbers benchmark does (`digits.pipeline.numbers.compose`), one pair pushed until its
strokes touch or overlap; a number whose pair does not touch (the boxes forbid it) is skipped.
The same digits are composed again with the usual gaps. Each is drawn as the benchmark's scan
(dark ink on near-white paper, PNG) and goes through `read_image`, the path of `digits read`.
"""

from __future__ import annotations

import sys

import numpy as np
from _variants import run

from digits.pipeline import numbers


def make(i: int, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[str, dict[str, bytes]] | None:
    """Number i: its label and its files, touching and apart (None when the pair does not touch)."""
    rng = np.random.default_rng([seed, i])
    pick = rng.choice(len(x), int(rng.integers(2, 4)), replace=False)
    digits = [x[j] for j in pick]
    touching, touched = numbers.compose(digits, rng, int(rng.integers(0, len(pick) - 1)))
    if not touched:
        return None
    apart, _ = numbers.compose(digits, np.random.default_rng([seed, i, 1]), None)
    draw = np.random.default_rng([seed, i, 2])
    return "".join(str(int(y[j])) for j in pick), {"touching": numbers.scan(touching, draw).data,
                                                   "apart": numbers.scan(apart, draw).data}


def main() -> int:
    return run(__doc__, make, {
        "apart": ("apart", None),
        "touching": ("touching", None),
        "touching, check not weighed": ("touching", ("CHECK_WEIGHT", 0.0)),
    }, seed=7, out="touching_pairs.json", n=200)


if __name__ == "__main__":
    sys.exit(main())
