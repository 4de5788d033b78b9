"""`digits read` on a page of several numbers (a column of a ledger, a list on a note): the
page read line by line, against the same numbers each on a page of its own, in one run.

    python bench/multiline_numbers.py [--model models/model.tflite] [--n 60] [--seed 13]
                                      [--out bench/results/multiline_numbers.json]

A page holds 2-5 numbers of 2-7 MNIST *validation* digits (never the benchmarks' test
digits), each composed as the numbers benchmark does (`digits.pipeline.numbers.compose`,
no touching pairs; each its own size, 44-90 px, and pen), one under the other: their tops
1.3-2 of the first number's height apart, right-aligned as in a column of figures or
left-aligned as in a list, each shifted by up to a tenth of that height. Drawn dark on paper as a PNG scan, the
page goes through `read_image`, the path of `digits read`, and is right when every line is;
each number is also drawn alone, with the same margins, and read the same way.
"""

from __future__ import annotations

import sys

import numpy as np
from _variants import arguments, save

from digits.loading import load_model, resolve_model_path
from digits.pipeline import numbers, wild
from digits.recognize.normalize import load_image_bytes
from digits.recognize.read import read_image


def make(i: int, x: np.ndarray, y: np.ndarray, seed: int) -> tuple[list[str], bytes, list[bytes]]:
    """Page i: its numbers, the page as a PNG, and each number alone as a PNG."""
    rng = np.random.default_rng([seed, i])
    labels, covs = [], []
    for _ in range(int(rng.integers(2, 6))):
        pick = rng.choice(len(x), int(rng.integers(2, 8)), replace=False)
        cov, _ = numbers.compose([x[j] for j in pick], rng, None)
        labels.append("".join(str(int(y[j])) for j in pick))
        covs.append(cov)
    # one writer: every number as tall as the first, give or take what compose varies
    unit = covs[0].shape[0]
    right = rng.random() < 0.5
    width = max(c.shape[1] for c in covs)
    margin = int(0.5 * unit)
    tops, top = [], margin
    for _ in covs:
        tops.append(top)
        top += int(rng.uniform(1.3, 2.0) * unit)
    h, w = top + margin, width + 2 * margin + int(0.2 * unit)
    page = np.zeros((h, w), np.float32)
    for c, t in zip(covs, tops, strict=True):
        dx = int(rng.uniform(-0.1, 0.1) * unit) + int(0.1 * unit)
        left = margin + dx + (width - c.shape[1] if right else 0)
        page = np.maximum(page, wild.paste((h, w), c, t, left))
    paper, ink = wild._paper(rng), wild._dark_ink(rng)
    alone = [wild.encode(wild.ink_on(np.pad(c, margin), paper, ink)).data for c in covs]
    return labels, wild.encode(wild.ink_on(page, paper, ink)).data, alone


def main() -> int:
    args = arguments(__doc__, seed=13, out="multiline_numbers.json", n=60)
    model = load_model(resolve_model_path(args.model))
    d = np.load(args.val)
    pages = lines = lines_alone = n_lines = 0
    errors: dict[str, int] = {}
    for i in range(args.n):
        labels, page, alone = make(i, d["x"], d["y"], args.seed)
        r = read_image(model, load_image_bytes(page))
        if r.error is not None:
            errors[r.error] = errors.get(r.error, 0) + 1
        got = r.lines or []
        pages += got == labels
        lines += sum(a == b for a, b in zip(got, labels, strict=False)) if len(got) == len(labels) else 0
        lines_alone += sum(read_image(model, load_image_bytes(f)).number == label
                           for f, label in zip(alone, labels, strict=True))
        n_lines += len(labels)
        if (i + 1) % 20 == 0:
            print(f"  {i + 1}/{args.n}", file=sys.stderr)
    doc = {"n": args.n, "seed": args.seed, "lines": n_lines,
           "pages_read_exactly": pages, "lines_read_exactly_on_the_page": lines,
           "lines_read_exactly_alone": lines_alone, "page_errors": errors}
    print(f"pages read exactly (every line)  {pages}/{args.n} ({pages / args.n:.0%})")
    print(f"lines read exactly on the page   {lines}/{n_lines} ({lines / n_lines:.0%})")
    print(f"the same numbers each alone      {lines_alone}/{n_lines} ({lines_alone / n_lines:.0%})")
    if errors:
        print(f"pages refused: {errors}")
    save(args.out, doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
