"""`digits predict` on handwriting styles MNIST lacks: the continental 1 with a long flag and
the crossed 7, against the same digits written plainly, for one or more models in one run.

    python bench/writing_styles.py [--model A.tflite --model B.tflite] [--n 300] [--seed 31]
                                   [--out bench/results/writing_styles.json]

Each is one MNIST *validation* 7 or upright 1 (leaning less than 10 degrees: a leaning 1
with a flag is a 7's shape; never the benchmarks' test digits), once as written and once
with the stroke `digits.pipeline.styles` draws (a flag from the top of the 1 down to the
left, 30-60 degrees below the level and 0.15-0.5 of the height long; a bar through the 7's
stem, within 10 degrees of level), drawn with a pen as the `wild` benchmark draws (`wild.coverage`),
50-150 px tall, dark on paper, saved as a PNG and read through `predict_images`, the path of
`digits predict` and `digits serve`. The strokes come from this script's seed, not from
training's, so a model trained with `train.augment.styles` sees other flags here.
"""

from __future__ import annotations

import sys

import numpy as np
from _variants import models_and_digits, save

from digits.pipeline import styles, wild
from digits.recognize.normalize import load_image_bytes
from digits.recognize.predict import predict_images


def make(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """One digit (28×28, [0, 1]) drawn as a PNG file."""
    size = float(rng.uniform(50, 150))
    c = wild.coverage(digit, size, wild._pen(rng, size))
    ch, cw = c.shape
    page = wild.paste((int(ch * 1.6), int(cw * 1.6 + ch * 0.4)), c, int(ch * 0.3), int(cw * 0.3 + ch * 0.2))
    return wild.encode(wild.ink_on(page, wild._paper(rng), wild._dark_ink(rng))).data


def main() -> int:
    args, models, x, y = models_and_digits(__doc__, 31, "writing_styles.json", 300, "digits of each kind")
    results: dict[str, dict] = {m: {} for m in models}
    for digit, style in sorted(styles.STYLED.items()):
        draw = styles.flag if style == "flag" else styles.bar
        idx = np.flatnonzero(y == digit)
        if style == "flag":
            idx = np.array([i for i in idx if abs(styles.slant(x[i])) < styles.UPRIGHT_DEG], np.int64)
        idx = idx[:args.n]
        for kind in ("plain", style):
            rng = np.random.default_rng([args.seed, digit])
            files = [make(x[i] if kind == "plain" else draw(x[i], rng), rng) for i in idx]
            images = [(f"{digit}-{k}", load_image_bytes(f)) for k, f in enumerate(files)]
            for name, model in models.items():
                read = [r.digit for r, _ in predict_images(model, images)]
                counts = np.bincount([10 if r is None else r for r in read], minlength=11)  # last: refused
                right = int(counts[digit])
                results[name][f"{digit} {kind}"] = {
                    "n": len(idx), "right": right, "accuracy": round(right / len(idx), 4),
                    "read_as": {str(k): int(v) for k, v in enumerate(counts[:10]) if v and k != digit},
                    "refused": int(counts[10])}
                print(f"{name}: {digit} {kind:6s} {right}/{len(idx)} read right ({right / len(idx):.1%}), "
                      f"others {results[name][f'{digit} {kind}']['read_as']}", flush=True)
    save(args.out, {"n": args.n, "seed": args.seed, "models": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
