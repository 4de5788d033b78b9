"""`digits read` on underlined numbers (a total, a form's baseline), against the same numbers
without the line and with the rule finder switched off, in one run.

    python bench/underlined_numbers.py [--model models/model.tflite] [--n 100] [--seed 7]
                                       [--out bench/results/underlined_numbers.json]

Numbers of 2-7 MNIST *validation* digits (never the benchmarks' test digits) are composed
as the numbers benchmark does (`digits.pipeline.numbers.compose`, no touching pairs), drawn
dark on paper as a PNG scan, and underlined with a printed line 1-4 px thick, 5 % wider
than the number on each side and 2 % of the number's height into it (touching its feet) to
12 % below it. Each file goes through `read_image`, the path of `digits read`.
"""

from __future__ import annotations

import sys

import numpy as np
from _variants import run

from digits.pipeline import numbers, wild


def make(i: int, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[str, dict[str, bytes]]:
    """Number i: its label and its files, without the line and with it."""
    rng = np.random.default_rng([seed, i])
    pick = rng.choice(len(x), int(rng.integers(2, 8)), replace=False)
    cov, _ = numbers.compose([x[j] for j in pick], rng, None)
    ch, cw = cov.shape
    h, w = int(ch * 2.2), int(cw * 1.4)
    top, left = int(0.3 * ch), int(0.2 * cw * rng.uniform(0.5, 1.5))
    page = wild.paste((h, w), cov, top, left)
    paper, ink = wild._paper(rng), wild._dark_ink(rng)
    line = wild._band((h, w), top + ch + float(rng.uniform(-0.02, 0.12)) * ch, left - 0.05 * cw,
                      left + 1.05 * cw, float(rng.uniform(1, 4)))
    plain = wild.encode(wild.ink_on(page, paper, ink)).data
    ruled = wild.encode(wild.ink_on(np.maximum(page, line), paper, ink)).data
    return "".join(str(int(y[j])) for j in pick), {"plain": plain, "underlined": ruled}


def main() -> int:
    return run(__doc__, make, {
        "without the line": ("plain", None),
        "underlined": ("underlined", None),
        "underlined, no rule finder": ("underlined", ("_rules", lambda pieces: None)),
    }, seed=7, out="underlined_numbers.json")


if __name__ == "__main__":
    sys.exit(main())
