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
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np
from _variants import save

from digits.errors import cli_entry
from digits.loading import resolve_model_path
from digits.pipeline import numbers, parallel
from digits.pipeline.data import load_split
from digits.pipeline.params import load_section
from digits.recognize.predict import classify
from digits.recognize.tflite import TFLiteClassifier

ROOT = Path(__file__).resolve().parents[1]
GROUPS = ("all", "apart", "touching")

_STATE: dict = {}


def _init(x: np.ndarray, y: np.ndarray, touching: float) -> None:
    _STATE.update(x=x, y=y, touching=touching)


def _plan(job: tuple[int, int]) -> tuple[int, int, str, bool, list[int]]:
    """(seed, index, label, touching, MNIST indices) of one benchmark number."""
    seed, i = job
    num = numbers.make(i, _STATE["x"], _STATE["y"], seed, _STATE["touching"])
    rng = np.random.default_rng([seed, i])  # make's own first draws: the digits it picked
    n = int(rng.integers(numbers.MIN_DIGITS, numbers.MAX_DIGITS + 1))
    pick = rng.choice(len(_STATE["x"]), size=n, replace=False).tolist()
    assert "".join(str(int(_STATE["y"][j])) for j in pick) == num.label
    return seed, i, num.label, num.touching, pick


def ceiling(plans: list[tuple[int, str, bool, list[int]]], right: np.ndarray) -> dict:
    """Exact-match ceiling (all, apart, touching) and per-digit accuracy of the classifier alone."""
    out = {}
    for group in GROUPS:
        sel = [p for p in plans if group == "all" or p[2] == (group == "touching")]
        ok = [bool(right[p[3]].all()) for p in sel]
        out[group] = {"n": len(sel), "exact_ceiling": round(float(np.mean(ok)), 4) if sel else None}
    digits = [j for p in plans for j in p[3]]
    out["per_digit_ceiling"] = round(float(right[digits].mean()), 4)
    out["digits_misread_alone"] = int((~right[digits]).sum())
    return out


def committed(path: Path, plans: list[tuple[int, str, bool, list[int]]], right: np.ndarray) -> dict:
    """The committed predictions of the stage's seed: numbers read wrong, by what lost them."""
    rows = {int(r["index"]): r for r in csv.DictReader(path.open()) if r["set"] == "synthetic"}
    wrong = [p for p in plans if p[0] in rows and rows[p[0]]["correct"] != "1"]
    alone = [p for p in wrong if not right[p[3]].all()]
    return {"read_wrong": len(wrong), "with_a_digit_the_model_misreads_alone": len(alone),
            "others": len(wrong) - len(alone),
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
    right = classify(TFLiteClassifier(model_path), x).argmax(axis=1) == y
    print(f"numbers_ceiling: the model alone misreads {int((~right).sum())} of {len(y)} MNIST test digits", flush=True)
    jobs = [(s, i) for s in seeds for i in range(count)]
    plans: dict[int, list] = {s: [] for s in seeds}
    workers = parallel.worker_count(0)
    for k, (seed, i, label, touching, pick) in enumerate(
            parallel.in_workers(_plan, jobs, workers, _init, (x, y, p.touching), ordered=True), 1):
        plans[seed].append((i, label, touching, np.array(pick)))
        if k % 200 == 0 or k == len(jobs):
            print(f"numbers_ceiling: {k}/{len(jobs)} numbers composed", flush=True)
    result = {"command": " ".join(["python bench/numbers_ceiling.py", *sys.argv[1:]]), "model": str(model_path),
              "count": count, "mnist_test_misread_alone": int((~right).sum()), "seeds": {}}
    for seed in seeds:
        c = ceiling(plans[seed], right)
        result["seeds"][str(seed)] = c
        line = ", ".join(f"{g} {c[g]['exact_ceiling']:.2%} of {c[g]['n']}" for g in GROUPS if c[g]["n"])
        print(f"numbers_ceiling: seed {seed}: exact-match ceiling {line}; per digit {c['per_digit_ceiling']:.2%}")
    pred = Path(args.predictions)
    if p.seed in seeds and count == p.count and pred.is_file():
        m = committed(pred, plans[p.seed], right)
        result["committed_seed"] = {"seed": p.seed, **m}
        print(f"numbers_ceiling: committed (seed {p.seed}): exact {m['exact']['all']:.2%} (apart "
              f"{m['exact']['apart']:.2%}, touching {m['exact']['touching']:.2%}); of {m['read_wrong']} read wrong, "
              f"{m['with_a_digit_the_model_misreads_alone']} hold a digit the model misreads alone, "
              f"{m['others']} were lost to rendering, segmentation or normalisation")
    save(args.out, result)


if __name__ == "__main__":
    main()
