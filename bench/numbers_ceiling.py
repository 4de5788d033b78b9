"""How well could `digits read` do on the `numbers` benchmark with this model? The classifier
alone, on each number's MNIST digits as MNIST gives them (28×28, centred, no rendering, no
segmentation), against what the benchmark measured.

    python bench/numbers_ceiling.py [--model models/model.tflite] [--seeds 1999,7,11] [--count 400]
                                    [--out bench/results/numbers_ceiling.json]

A number is read exactly only if every one of its digits is; a digit the model misreads even
as MNIST drew it is wrong whatever the reader does. So, per seed, the share of the benchmark's
numbers (`digits.pipeline.numbers.make`: the same digits, the same touching pairs) whose every
digit the model reads right alone is an upper bound on exact match for this model: the
**ceiling**. Each digit goes through `digits.recognize.predict.classify`, as `digits read`'s
digits do. For the stage's seed (params.yaml) it also takes the committed
`metrics/numbers_predictions.csv` and counts the numbers read wrong that hold a digit the model
misreads alone (lost to the classifier) and the rest (lost to rendering, segmentation or
normalisation).

A second, lower ceiling takes the digits as the benchmark writes them: 70 % of its numbers are
redrawn along their centre line with another pen (`numbers.draw_digits`, the first step of
`numbers.compose`), which makes some digits harder to read and turns a few into other shapes
(a loop MNIST's bold stroke filled in collapses to a line). Each redrawn digit is drawn alone,
as the recogniser draws a part it found (the ink mask brought to MNIST's stroke width and fit,
`draw.to_mnist`), with no page, noise or neighbours: what is still lost there is lost to
the classifier, whatever the segmentation does.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from _variants import save

from digits.errors import DigitsError, cli_entry
from digits.loading import resolve_model_path
from digits.pipeline import numbers, parallel
from digits.pipeline.data import load_split
from digits.pipeline.params import load_section
from digits.recognize.draw import to_mnist
from digits.recognize.predict import classify
from digits.recognize.tflite import TFLiteClassifier

ROOT = Path(__file__).resolve().parents[1]
GROUPS = ("all", "apart", "touching")

_STATE: dict = {}


def _init(x: np.ndarray, y: np.ndarray, touching: float) -> None:
    _STATE.update(x=x, y=y, touching=touching)


def as_part(cov: np.ndarray) -> np.ndarray:
    """A digit's coverage map drawn as the recogniser draws a part it found: its ink (coverage
    at least a half) brought to MNIST's stroke width and fit; blank where nothing is left."""
    ink = cov >= 0.5
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return np.zeros((28, 28), np.float32)
    try:
        return to_mnist(ink, (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1))
    except DigitsError:  # a blot: nothing the classifier could read
        return np.zeros((28, 28), np.float32)


def _plan(job: tuple[int, int]) -> tuple[int, int, str, bool, list[int], np.ndarray]:
    """(seed, index, label, touching, MNIST indices, the digits as the benchmark's pen redraws
    them, each `as_part`) of one benchmark number."""
    seed, i = job
    x, y = _STATE["x"], _STATE["y"]
    num = numbers.make(i, x, y, seed, _STATE["touching"])
    rng = np.random.default_rng([seed, i])  # make's own first draws: the digits it picked ...
    n = int(rng.integers(numbers.MIN_DIGITS, numbers.MAX_DIGITS + 1))
    pick = rng.choice(len(x), size=n, replace=False).tolist()
    assert "".join(str(int(y[j])) for j in pick) == num.label
    if rng.random() < _STATE["touching"]:  # ... its touching pair ...
        rng.integers(0, n - 1)
    _, covs = numbers.draw_digits([x[j] for j in pick], rng)  # ... and compose's first: the pen
    return seed, i, num.label, num.touching, pick, np.stack([as_part(c) for c in covs])


Plan = tuple[int, str, bool, np.ndarray]  # index, label, touching, each digit read right alone


def ceiling(plans: list[Plan]) -> dict:
    """Exact-match ceiling (all, apart, touching) and per-digit accuracy of the classifier alone."""
    out = {}
    for group in GROUPS:
        sel = [p for p in plans if group == "all" or p[2] == (group == "touching")]
        ok = [bool(p[3].all()) for p in sel]
        out[group] = {"n": len(sel), "exact_ceiling": round(float(np.mean(ok)), 4) if sel else None}
    digits = np.concatenate([p[3] for p in plans]) if plans else np.zeros(0, bool)
    out["per_digit_ceiling"] = round(float(digits.mean()), 4) if digits.size else None
    out["digits_misread_alone"] = int((~digits).sum())
    return out


def committed(path: Path, plans: list[Plan], redrawn: list[Plan] | None = None) -> dict:
    """The committed predictions of the stage's seed: numbers read wrong, by what lost them
    (a digit the model misreads alone as MNIST gives it, or as the benchmark redrew it)."""
    rows = {int(r["index"]): r for r in csv.DictReader(path.open()) if r["set"] == "synthetic"}
    wrong = {p[0] for p in plans if p[0] in rows and rows[p[0]]["correct"] != "1"}
    alone = {p[0] for p in plans if p[0] in wrong and not p[3].all()}
    drawn = alone | {p[0] for p in redrawn or [] if p[0] in wrong and not p[3].all()}
    more = {} if redrawn is None else {"with_a_digit_the_model_misreads_alone_as_redrawn": len(drawn),
                                       "others_as_redrawn": len(wrong) - len(drawn)}
    return {"read_wrong": len(wrong), "with_a_digit_the_model_misreads_alone": len(alone),
            "others": len(wrong) - len(alone), **more,
            "exact": {g: round(float(np.mean([rows[p[0]]["correct"] == "1" for p in plans
                                              if g == "all" or p[2] == (g == "touching")])), 4) for g in GROUPS}}


@cli_entry("numbers_ceiling")
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="the .tflite (default: the pipeline's)")
    ap.add_argument("--test", default=str(ROOT / "data/prepared/test.npz"))
    ap.add_argument("--seeds", default=None, help="comma-separated (default: the stage's, 7 and 11)")
    ap.add_argument("--count", type=int, default=None, help="numbers per seed (default: the stage's)")
    ap.add_argument("--predictions", default=str(ROOT / "metrics/numbers_predictions.csv"))
    ap.add_argument("--out", default=str(ROOT / "bench/results/numbers_ceiling.json"))
    args = ap.parse_args()
    p = load_section("numbers", ROOT / "params.yaml")
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [p.seed, 7, 11]
    count = args.count or p.count
    model_path = resolve_model_path(args.model)
    x, y = load_split(args.test, "numbers_ceiling: test")
    model = TFLiteClassifier(model_path)
    right = classify(model, x).argmax(axis=1) == y
    print(f"numbers_ceiling: the model alone misreads {int((~right).sum())} of {len(y)} MNIST test digits", flush=True)
    jobs = [(s, i) for s in seeds for i in range(count)]
    plans: dict[int, list[Plan]] = {s: [] for s in seeds}
    redrawn: dict[int, list[Plan]] = {s: [] for s in seeds}
    workers = parallel.worker_count(0)
    for k, (seed, i, label, touching, pick, drawn) in enumerate(
            parallel.in_workers(_plan, jobs, workers, _init, (x, y, p.touching), ordered=True), 1):
        truth = y[pick]
        plans[seed].append((i, label, touching, right[pick]))
        redrawn[seed].append((i, label, touching, classify(model, drawn).argmax(axis=1) == truth))
        if k % 200 == 0 or k == len(jobs):
            print(f"numbers_ceiling: {k}/{len(jobs)} numbers composed", flush=True)
    result = {"command": " ".join(["python bench/numbers_ceiling.py", *sys.argv[1:]]), "model": str(model_path),
              "count": count, "mnist_test_misread_alone": int((~right).sum()), "seeds": {}}
    for seed in seeds:
        c = ceiling(plans[seed])
        c["as_redrawn"] = ceiling(redrawn[seed])
        result["seeds"][str(seed)] = c
        for what, cc in (("as MNIST gives them", c), ("as the benchmark's pens redraw them", c["as_redrawn"])):
            line = ", ".join(f"{g} {cc[g]['exact_ceiling']:.2%} of {cc[g]['n']}" for g in GROUPS if cc[g]["n"])
            print(f"numbers_ceiling: seed {seed}, digits {what}: exact-match ceiling {line}; "
                  f"per digit {cc['per_digit_ceiling']:.2%}")
    pred = Path(args.predictions)
    if p.seed in seeds and count == p.count and pred.is_file():
        m = committed(pred, plans[p.seed], redrawn[p.seed])
        result["committed_seed"] = {"seed": p.seed, **m}
        print(f"numbers_ceiling: committed (seed {p.seed}): exact {m['exact']['all']:.2%} (apart "
              f"{m['exact']['apart']:.2%}, touching {m['exact']['touching']:.2%}); of {m['read_wrong']} read wrong, "
              f"{m['with_a_digit_the_model_misreads_alone']} hold a digit the model misreads alone "
              f"({m['with_a_digit_the_model_misreads_alone_as_redrawn']} as redrawn), "
              f"{m['others_as_redrawn']} were lost to rendering, segmentation or normalisation")
    save(args.out, result)


if __name__ == "__main__":
    main()
