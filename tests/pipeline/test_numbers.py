"""The numbers benchmark: deterministic synthetic numbers whose touching flag is true, and the scores."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from digits.pipeline import numbers
from digits.pipeline.numbers_benchmark import BLANK, Record, edits, predictions_csv, rate, score


def strokes(n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-like 28×28 float images: a bar at a per-class slant, labels 0-9."""
    x = np.zeros((n, 28, 28), np.float32)
    for i in range(n):
        for r in range(4, 24):
            c = 14 + (i % 10 - 5) * (r - 14) // 10
            x[i, r, c - 2:c + 2] = 1.0
    return x, (np.arange(n) % 10).astype(np.uint8)


def test_a_number_is_the_same_file_every_time_and_its_label_names_its_digits():
    x, y = strokes()
    a, b = numbers.make(3, x, y, 1999, 0.3), numbers.make(3, x, y, 1999, 0.3)
    assert a.file.data == b.file.data and a.label == b.label
    assert numbers.make(3, x, y, 7, 0.3).file.data != a.file.data
    for i in range(8):
        n = numbers.make(i, x, y, 1999, 0.3)
        assert numbers.MIN_DIGITS <= len(n.label) <= numbers.MAX_DIGITS and n.label.isdigit()
        assert n.condition == list(numbers.CONDITIONS)[i % len(numbers.CONDITIONS)]
        Image.open(io.BytesIO(n.file.data)).load()  # a real image file


def test_touching_is_what_the_strokes_do():
    x, y = strokes()
    rng = np.random.default_rng(0)
    digits = [x[5], x[5], x[5]]  # upright bars: nothing stops them meeting
    cov, touched = numbers.compose(digits, np.random.default_rng(1), touch_at=0)
    assert touched
    cov, touched = numbers.compose(digits, rng, touch_at=None)
    assert not touched
    ink_cols = np.flatnonzero((cov > 0.5).any(axis=0))
    assert (np.diff(ink_cols) > 1).sum() >= 2  # three marks, two gaps


def test_edits_counts_missing_extra_and_wrong_digits():
    assert edits("2026", "2026") == 0
    assert edits("2026", "226") == 1 and edits("2026", "20226") == 1 and edits("2026", "2036") == 1
    assert edits("12", "") == 2


def rec(label: str, number: str | None, touching: bool = False, condition: str = "scan") -> Record:
    return Record(0, label, condition, touching, number, 0.9, None if number else "no digits found")


def test_scores():
    recs = [rec("12", "12"), rec("345", "35"), rec("67", None, True), rec("89", "89", True, "photo")]
    r = rate(recs)
    assert r["n"] == 4 and r["exact"] == 0.5 and r["refused"] == 0.25
    assert r["per_digit"] == pytest.approx(1 - (0 + 1 + 2 + 0) / 9, abs=1e-4)
    s = score(recs, [rec("1000", "1050")])
    assert s["apart"]["n"] == 2 and s["touching"]["exact"] == 0.5
    assert s["conditions"]["photo"]["exact"] == 1.0 and s["dev_set"]["correct"] == 0
    assert set(s["conditions"]) == set(numbers.CONDITIONS)


def test_a_blank_page_is_read_right_when_it_is_refused():
    blanks = [rec("", None, condition=BLANK), rec("", None, condition=BLANK), rec("", "81", condition=BLANK)]
    assert [b.correct for b in blanks] == [True, True, False]
    s = score([rec("12", "12")], None, blanks)
    assert s[BLANK] == {"n": 3, "refused": 0.6667}
    assert s["overall"]["n"] == 1  # the blanks are not numbers
    assert "blank" not in score([rec("12", "12")], None)
    rows = predictions_csv(blanks).splitlines()
    assert rows[1].startswith("blank,0,blank,0,,,1,") and rows[3].startswith("blank,0,blank,0,,81,0,")
