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

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from digits.loading import load_model, resolve_model_path
from digits.pipeline import numbers, wild
from digits.recognize import segment
from digits.recognize.normalize import load_image_bytes
from digits.recognize.read import read_image

ROOT = Path(__file__).resolve().parents[1]


def make(i: int, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[str, bytes, bytes]:
    """Number i: its label, the file without the line and the file with it."""
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
    return "".join(str(int(y[j])) for j in pick), plain, ruled


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="the .tflite (default: the pipeline's)")
    ap.add_argument("--val", default=str(ROOT / "data/prepared/val.npz"), help="validation digits (preprocess)")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "bench/results/underlined_numbers.json"))
    args = ap.parse_args()
    model = load_model(resolve_model_path(args.model))
    d = np.load(args.val)
    x, y = d["x"], d["y"]
    found = segment._rules
    exact = {"without the line": 0, "underlined": 0, "underlined, no rule finder": 0}
    for i in range(args.n):
        label, plain, ruled = make(i, x, y, args.seed)
        exact["without the line"] += read_image(model, load_image_bytes(plain)).number == label
        exact["underlined"] += read_image(model, load_image_bytes(ruled)).number == label
        segment._rules = lambda pieces: None
        try:
            exact["underlined, no rule finder"] += read_image(model, load_image_bytes(ruled)).number == label
        finally:
            segment._rules = found
        if (i + 1) % 20 == 0:
            print(f"  {i + 1}/{args.n}", file=sys.stderr)
    for k, v in exact.items():
        print(f"{k:28s} {v}/{args.n} read exactly ({v / args.n:.0%})")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"n": args.n, "seed": args.seed, "exact": exact}, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
