"""`digits read` on round numbers (100, 2500, 30000: amounts, prices, page counts) whose 0s
touch, as they do when written fast, against the same numbers with the 0s apart, in one run.

    python bench/round_numbers.py [--model models/model.tflite] [--n 100] [--seed 7]
                                  [--out bench/results/round_numbers.json]

A number is one or two leading digits (never 0 first) and two to four 0s, each drawn from the
MNIST *validation* digits of its class (never the benchmarks' test digits), composed as the
numbers benchmark does (`digits.pipeline.numbers.compose`): once with every gap 12-45 % of the
digit size, once with every pair of neighbouring 0s pushed together until they overlap by
1 px to 6 % of the size (the leading digits stay apart). Half are PNG scans, half phone-photo
JPEGs (`digits.pipeline.numbers.scan`, `photo`). Each file goes through `read_image`, the path
of `digits read`. Two 0s side by side meet along their sides, a joint up to a third of their
height long, where a cut enters one stroke; through either 0's hollow it enters two
(`digits.recognize.segment._cut_paths`).
"""

from __future__ import annotations

import sys

import numpy as np
from _variants import run

from digits.pipeline import numbers


def make(i: int, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[str, dict[str, bytes]]:
    """Number i: its label and its files, 0s apart and 0s touching."""
    rng = np.random.default_rng([seed, i])
    lead = str(int(rng.integers(1, 10))) + (str(int(rng.integers(0, 10))) if rng.random() < 0.3 else "")
    label = lead + "0" * int(rng.integers(2, 5))
    digits = [x[rng.choice(np.flatnonzero(y == int(c)))] for c in label]
    zeros = range(len(lead), len(label) - 1)  # the pairs (k, k + 1) of 0s
    render = numbers.scan if i % 2 == 0 else numbers.photo
    files = {}
    for kind, touch in (("apart", None), ("touching", zeros)):
        r = np.random.default_rng([seed, i, 1])  # the same sizes and pen both ways
        cov, _ = numbers.compose(digits, r, touch)
        files[kind] = render(cov, r).data
    return label, files


def main() -> int:
    return run(__doc__, make, {
        "0s apart": ("apart", None),
        "0s touching": ("touching", None),
    }, seed=7, out="round_numbers.json")


if __name__ == "__main__":
    sys.exit(main())
