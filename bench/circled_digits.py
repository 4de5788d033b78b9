"""`digits predict` on circled digits (an answer ringed on a test sheet, a digit pointed
out), against the same digits without the ring and with the ring rule switched off, in one run.

    python bench/circled_digits.py [--model models/model.tflite] [--n 200] [--seed 23]
                                   [--out bench/results/circled_digits.json]

Each is one MNIST *validation* digit (never the benchmarks' test digits) drawn with a pen as
the `wild` benchmark draws (`wild.coverage`), 50-150 px tall, in the middle of a page, and a
ring around it 1.5-4 px thick (an ellipse 0.8 of the digit's height and at least 0.6 of it
wide from its middle: clear of the digit), dark on paper, saved as a PNG. Each file goes
through `predict_images`, the path of `digits predict` and `digits serve`.
"""

from __future__ import annotations

import sys

import numpy as np
from _variants import arguments, save

from digits.loading import load_model, resolve_model_path
from digits.pipeline import wild
from digits.recognize import normalize
from digits.recognize.normalize import load_image_bytes
from digits.recognize.predict import predict_images


def make(i: int, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[int, dict[str, bytes]]:
    """Digit i: its label and its files, without the ring and in it."""
    rng = np.random.default_rng([seed, i])
    j = int(rng.integers(len(x)))
    size = float(rng.uniform(50, 150))
    c = wild.coverage(x[j], size, wild._pen(rng, size))
    ch, cw = c.shape
    h, w = int(ch * 2.4), int(cw * 2.4 + ch)
    t, lf = (h - ch) // 2, (w - cw) // 2
    page = wild.paste((h, w), c, t, lf)
    yy, xx = np.mgrid[0:h, 0:w]
    ry, rx = ch * 0.8, max(cw, ch * 0.6) * 0.95
    r = np.sqrt(((yy - t - ch / 2) / ry) ** 2 + ((xx - lf - cw / 2) / rx) ** 2)
    ring = np.clip(float(rng.uniform(1.5, 4)) / 2 - np.abs(r - 1) * min(ry, rx) + 0.5, 0, 1).astype(np.float32)
    paper, ink = wild._paper(rng), wild._dark_ink(rng)
    return int(y[j]), {kind: wild.encode(wild.ink_on(cov, paper, ink)).data
                       for kind, cov in (("plain", page), ("ring", np.maximum(page, ring)))}


def main() -> int:
    args = arguments(__doc__, seed=23, out="circled_digits.json", n=200)
    model = load_model(resolve_model_path(args.model))
    d = np.load(args.val)
    right = {"without the ring": 0, "circled": 0, "circled, no ring rule": 0}
    rings = normalize._rings
    for i in range(args.n):
        label, files = make(i, d["x"], d["y"], args.seed)

        def digit(data: bytes) -> int | None:
            return predict_images(model, [("digit", load_image_bytes(data))])[0][0].digit

        right["without the ring"] += digit(files["plain"]) == label
        right["circled"] += digit(files["ring"]) == label
        normalize._rings = lambda mask, box: False
        try:
            right["circled, no ring rule"] += digit(files["ring"]) == label
        finally:
            normalize._rings = rings
    for k, v in right.items():
        print(f"{k:24s} {v}/{args.n} read right ({v / args.n:.1%})")
    save(args.out, {"n": args.n, "seed": args.seed, "right": right})
    return 0


if __name__ == "__main__":
    sys.exit(main())
