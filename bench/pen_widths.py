"""`digits predict` on the same digits written with other pens: as MNIST's writers drew them,
and redrawn along their centre line with round pens from a ballpoint to a felt tip, in one run.

    python bench/pen_widths.py [--model A.tflite --model B.tflite] [--n 1000] [--seed 37]
                               [--out bench/results/pen_widths.json]

Each is one MNIST *validation* digit (never the benchmarks' test digits), 60-150 px tall, dark
on paper, saved as a PNG once with its own strokes scaled and once per pen: the pens the
`wild` and `numbers` benchmarks draw 70 % of their digits with (`wild.coverage`, 4-14 % of the
digit's size). Size, paper and ink are the same in every variant of a digit, so the variants
differ by the pen alone. Each file goes through `predict_images`, the path of `digits predict`
and `digits serve`. A pen thinner than MNIST's strokes (about 12 % of the size) cannot draw
a loop that the bold strokes filled in: it draws the centre line through it, an 8 that reads
as a 5, a 6 as a 1 (`--examples` saves those misread with the thinnest pen and read right as
written, beside the 28×28 the model saw).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from _variants import models_and_digits, save
from PIL import Image

from digits.pipeline import wild
from digits.pipeline.benchmark import wilson
from digits.recognize.normalize import load_image_bytes
from digits.recognize.predict import predict_images

PENS = {"own strokes": None, "pen 4 %": 0.04, "pen 8 %": 0.08, "pen 12 %": 0.12}


def make(digit: np.ndarray, rng: np.random.Generator) -> dict[str, bytes]:
    """One digit (28×28, [0, 1]) as a PNG per pen in PENS, all of one size on one paper."""
    size = float(rng.uniform(60, 150))
    paper, ink = wild._paper(rng), wild._dark_ink(rng)
    out = {}
    for name, pen in PENS.items():
        c = wild.coverage(digit, size, None if pen is None else pen * size)
        ch, cw = c.shape
        page = wild.paste((int(ch * 1.6), int(cw * 1.6 + ch * 0.4)), c, int(ch * 0.3), int(cw * 0.3 + ch * 0.2))
        out[name] = wild.encode(wild.ink_on(page, paper, ink)).data
    return out


def figure(results: dict[str, dict], n: int, path: str) -> None:
    """Error rate per pen (95 % intervals), one bar per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=110)
    width = 0.8 / len(results)
    for k, (model, res) in enumerate(results.items()):
        xs = np.arange(len(PENS)) + k * width
        err = [100 * (1 - res[p]["accuracy"]) for p in PENS]
        lo = [100 * (1 - res[p]["ci95"][1]) for p in PENS]
        hi = [100 * (1 - res[p]["ci95"][0]) for p in PENS]
        ax.bar(xs, err, width, label=Path(model).name,
               yerr=[np.subtract(err, lo), np.subtract(hi, err)], capsize=3)
    ax.set_xticks(np.arange(len(PENS)) + width * (len(results) - 1) / 2, list(PENS))
    ax.set_ylabel("misread or refused, %")
    ax.set_title(f"{n} validation digits, each drawn with every pen")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(f"wrote {path}")


def strip(cells: list[tuple[np.ndarray, np.ndarray, np.ndarray]], path: str) -> None:
    """Rows of: as written, with the thinnest pen, the 28×28 the model saw of it."""
    def fit(a: np.ndarray) -> np.ndarray:
        im = Image.fromarray((np.clip(a, 0, 1) * 255).astype(np.uint8))
        im.thumbnail((112, 112))
        out = np.zeros((116, 116), np.uint8)
        arr = np.asarray(im)
        out[2:2 + arr.shape[0], 2:2 + arr.shape[1]] = arr
        return out

    rows = [np.concatenate([fit(a), fit(b), fit(np.kron(c, np.ones((4, 4))))], axis=1) for a, b, c in cells]
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)
    print(f"wrote {path}")


def main() -> int:
    args, models, x, y = models_and_digits(
        __doc__, 37, "pen_widths.json", 1000, "digits, each drawn with every pen",
        lambda ap: ap.add_argument("--examples", type=int, default=8,
                                   help="misread examples saved beside the JSON (0: none)"))
    pick = np.random.default_rng(args.seed).permutation(len(x))[:args.n]
    files = [make(x[i], np.random.default_rng([args.seed, int(i)])) for i in pick]
    print(f"pen_widths: {len(pick)} validation digits drawn {len(PENS)} ways", flush=True)
    results: dict[str, dict] = {}
    examples: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for name, model in models.items():
        read: dict[str, list] = {}
        for pen in PENS:
            images = [(f"{i}", load_image_bytes(f[pen])) for i, f in zip(pick.tolist(), files, strict=True)]
            read[pen] = list(predict_images(model, images))
        res = {}
        for pen in PENS:
            answers = [r.digit for r, _ in read[pen]]
            right = int(sum(a == int(y[i]) for a, i in zip(answers, pick, strict=True)))
            confused: dict[str, int] = {}
            for a, i in zip(answers, pick, strict=True):
                if a != int(y[i]):
                    key = f"{int(y[i])}->{'refused' if a is None else a}"
                    confused[key] = confused.get(key, 0) + 1
            lo, hi = wilson(right, len(pick))
            res[pen] = {"n": len(pick), "right": right, "accuracy": round(right / len(pick), 4),
                        "ci95": [round(lo, 4), round(hi, 4)],
                        "confusions": dict(sorted(confused.items(), key=lambda kv: -kv[1])[:8])}
            print(f"{name}: {pen:12s} {right}/{len(pick)} ({right / len(pick):.2%}, 95% CI {lo:.2%}-{hi:.2%}); "
                  f"most confused {list(res[pen]['confusions'].items())[:4]}", flush=True)
        results[name] = res
        if not examples and args.examples:
            thin = min((p for p in PENS if PENS[p]), key=lambda p: PENS[p])
            for k, i in enumerate(pick.tolist()):
                (own, _), (pen_res, seen) = read["own strokes"][k], read[thin][k]
                if own.digit == int(y[i]) and pen_res.digit != int(y[i]) and seen is not None:
                    page = np.asarray(load_image_bytes(files[k][thin]).convert("L"), np.float32) / 255
                    examples.append((np.kron(x[i], np.ones((4, 4))), 1 - page, seen))
                    if len(examples) == args.examples:
                        break
    save(args.out, {"n": len(pick), "seed": args.seed, "pens": {k: v for k, v in PENS.items()},
                    "models": results})
    figure(results, len(pick), str(Path(args.out).with_suffix(".png")))
    if examples:
        strip(examples, str(Path(args.out).with_name(Path(args.out).stem + "_misread.png")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
