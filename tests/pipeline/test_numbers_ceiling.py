"""bench/numbers_ceiling.py: the exact-match ceiling of the numbers benchmark for a model, with a
model whose answer is known (always LIKELY), on synthetic digits."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np

from conftest import LIKELY, ROOT, synthetic_digits
from digits.pipeline import numbers


def load_bench():
    if str(ROOT / "bench") not in sys.path:  # `from _variants import ...`, as python does for a script
        sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("numbers_ceiling", ROOT / "bench/numbers_ceiling.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _plans(right: np.ndarray) -> list:
    """Three numbers of MNIST digits 0-3 (index, label, touching, each digit read right alone)."""
    return [(i, label, touching, right[pick]) for i, label, touching, pick in
            [(0, "12", False, [0, 1]), (1, "13", True, [0, 2]), (2, "31", False, [3, 0])]]


def test_ceiling_counts_numbers_whose_every_digit_is_read_alone():
    bench = load_bench()
    c = bench.ceiling(_plans(np.array([True, True, False, True])))
    assert c["all"] == {"n": 3, "exact_ceiling": round(2 / 3, 4)}
    assert c["apart"] == {"n": 2, "exact_ceiling": 1.0} and c["touching"] == {"n": 1, "exact_ceiling": 0.0}
    assert c["per_digit_ceiling"] == round(5 / 6, 4) and c["digits_misread_alone"] == 1


def test_committed_splits_the_misses_by_what_lost_them(tmp_path):
    bench = load_bench()
    plans = _plans(np.array([True, True, False, True]))
    # as redrawn, number 2's second digit is misread too
    redrawn = [(i, label, t, np.array([True, False]) if i == 2 else ok) for i, label, t, ok in plans]
    csv = tmp_path / "p.csv"
    csv.write_text("set,index,condition,touching,label,number,correct,confidence,error\n"
                   "synthetic,0,scan,0,12,12,1,0.9,\nsynthetic,1,scan,1,13,18,0,0.5,\n"
                   "synthetic,2,scan,0,31,37,0,0.5,\ndev,0,dev_set,0,5,5,1,0.9,\n")
    m = bench.committed(csv, plans, redrawn)
    assert m["read_wrong"] == 2 and m["with_a_digit_the_model_misreads_alone"] == 1 and m["others"] == 1
    assert m["with_a_digit_the_model_misreads_alone_as_redrawn"] == 2 and m["others_as_redrawn"] == 0
    assert m["exact"] == {"all": round(1 / 3, 4), "apart": 0.5, "touching": 0.0}
    assert "others_as_redrawn" not in bench.committed(csv, plans)


def test_the_redrawn_digits_are_the_ones_the_benchmark_drew(monkeypatch):
    """`_plan` replays `numbers.make`'s random draws to redraw each number's digits: they must be
    the coverage maps make itself drew (the same pen, the same sizes), or the ceiling is of
    other digits."""
    bench = load_bench()
    x, y = synthetic_digits(60, seed=5)
    x = (x / 255.0).astype(np.float32)
    drawn = []
    real = numbers.draw_digits

    def record(digits, rng):
        size, covs = real(digits, rng)
        drawn.append(covs)
        return size, covs

    bench._init(x, y, 0.5)
    for i in range(6):
        _, _, label, _, _, images = bench._plan((3, i))
        monkeypatch.setattr(numbers, "draw_digits", record)
        assert numbers.make(i, x, y, 3, 0.5).label == label
        monkeypatch.setattr(numbers, "draw_digits", real)
        want = np.stack([bench.as_part(c) for c in drawn[-1]])
        assert images.shape == (len(label), 28, 28) and np.array_equal(images, want)
        assert all(img.max() > 0.5 for img in images)  # each a digit drawn, not a blank


def test_the_script_reads_the_benchmarks_own_numbers(tmp_path, models):
    """End to end: with a model that always answers LIKELY, a number's digits are all read
    right alone only if they are all LIKELYs; the ceiling counts exactly those."""
    x, y = synthetic_digits(200, seed=4)
    x = (x / 255.0).astype(np.float32)
    np.savez(tmp_path / "test.npz", x=x, y=y)
    out = tmp_path / "c.json"
    res = subprocess.run([sys.executable, str(ROOT / "bench/numbers_ceiling.py"), "--model", str(models["good"]),
                          "--test", str(tmp_path / "test.npz"), "--seeds", "3", "--count", "30", "--out", str(out)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert doc["mnist_test_misread_alone"] == int(np.sum(y != LIKELY)) and "committed_seed" not in doc
    labels = [numbers.make(i, x, y, 3, 0.3).label for i in range(30)]
    c = doc["seeds"]["3"]
    assert c["all"]["n"] == 30
    assert c["all"]["exact_ceiling"] == round(float(np.mean([set(lab) == {str(LIKELY)} for lab in labels])), 4)
    digits = "".join(labels)
    assert c["per_digit_ceiling"] == round(digits.count(str(LIKELY)) / len(digits), 4)
    # the model's answer does not depend on the image: as redrawn, the same ceiling
    assert c["as_redrawn"] == {k: v for k, v in c.items() if k != "as_redrawn"}
