"""The handwriting styles training adds to MNIST: a flag on 1s, a bar through 7s."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import LIKELY, OTHER, ROOT
from digits.pipeline.styles import bar, flag, slant, with_styles


def one() -> np.ndarray:
    """A bare upright 1: a stroke 3 px wide and 20 tall, centred like MNIST's."""
    x = np.zeros((28, 28), np.float32)
    x[4:24, 13:16] = 1.0
    return x


def seven() -> np.ndarray:
    """A 7: a level bar on top and a vertical stem from its right end."""
    x = np.zeros((28, 28), np.float32)
    x[4:7, 8:20] = 1.0
    x[4:24, 17:20] = 1.0
    return x


def centre(x: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(x.shape)
    return float((rows * x).sum() / x.sum()), float((cols * x).sum() / x.sum())


def test_a_flag_goes_down_to_the_left_from_the_top_and_the_digit_stays_centred():
    rng = np.random.default_rng(0)
    x = one()
    out = flag(x, rng)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    added = out.sum() - x.sum()
    assert added > 3.0  # a stroke at least a few pixels long
    ink = out > 0.5
    rows, cols = np.nonzero(ink)
    # ink left of the stem, in the upper half only: the flag
    left = cols < cols.max() - 4
    assert left.any()
    assert rows[left].max() < rows.min() + 0.5 * (rows.max() - rows.min())
    cy, cx = centre(out)
    assert abs(cy - 13.5) < 0.6 and abs(cx - 13.5) < 0.6


def test_a_bar_crosses_the_stem_of_a_7_below_its_top():
    rng = np.random.default_rng(0)
    x = seven()
    out = bar(x, rng)
    assert out.sum() > x.sum() + 3.0
    ink = out > 0.5
    rows = np.flatnonzero(ink.any(axis=1))
    top, height = rows[0], rows[-1] - rows[0]
    widths = ink.sum(axis=1)
    # a row in the middle is now far wider than the stem
    middle = widths[top + int(0.4 * height):top + int(0.7 * height)]
    assert middle.max() >= 6


def test_flags_vary_and_follow_the_seed():
    a = [flag(one(), np.random.default_rng(s)) for s in (1, 1, 2)]
    assert np.array_equal(a[0], a[1])
    assert not np.array_equal(a[0], a[2])


def test_with_styles_changes_the_share_of_1s_and_7s_and_nothing_else():
    x = np.stack([one()] * 8 + [seven()] * 4 + [np.eye(28, dtype=np.float32)] * 3)
    y = np.array([1] * 8 + [7] * 4 + [3] * 3)
    out, n = with_styles(x, y, 0.5, seed=1999)
    changed = (out != x).any(axis=(1, 2))
    assert n == 6 and changed.sum() == 6
    assert changed[:8].sum() == 4 and changed[8:12].sum() == 2 and not changed[12:].any()
    assert np.array_equal(x[0], one())  # the input is left as it was
    again, _ = with_styles(x, y, 0.5, seed=1999)
    assert np.array_equal(out, again)


def test_no_share_leaves_the_digits_alone():
    x = np.stack([one(), seven()])
    out, n = with_styles(x, np.array([1, 7]), 0.0, seed=1)
    assert n == 0 and out is x


def test_an_empty_image_is_left_alone():
    x = np.zeros((28, 28), np.float32)
    assert np.array_equal(flag(x, np.random.default_rng(0)), x)
    assert np.array_equal(bar(x, np.random.default_rng(0)), x)


def leaning_one() -> np.ndarray:
    """A 1 leaning right by about 18 degrees: with a flag it would be a 7's shape."""
    x = np.zeros((28, 28), np.float32)
    for r in range(4, 24):
        x[r, 20 - (r - 4) // 3:23 - (r - 4) // 3] = 1.0
    return x


def test_slant_measures_the_lean_and_only_upright_1s_are_flagged():
    assert slant(one()) == pytest.approx(0.0, abs=0.5)
    assert slant(leaning_one()) == pytest.approx(18.4, abs=1.0)
    assert slant(leaning_one()[:, ::-1]) == pytest.approx(-18.4, abs=1.0)
    x = np.stack([leaning_one()] * 4 + [one()] * 4)
    out, n = with_styles(x, np.ones(8, np.int64), 1.0, seed=3)
    changed = (out != x).any(axis=(1, 2))
    assert n == 4 and not changed[:4].any() and changed[4:].all()


def run_bench(script: str, models: dict, val: Path, n: int, out: Path) -> dict:
    """A bench script that compares models, run on the good and the other tiny model: its JSON."""
    res = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--model", str(models["good"]),
                          "--model", str(models["other"]), "--val", str(val), "--n", str(n), "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(out.read_text())


def test_the_writing_styles_bench_reads_both_kinds_with_every_model(tmp_path, models):
    """bench/writing_styles.py end to end on a model whose answer is known (always LIKELY)."""
    x = np.stack([one()] * 3 + [leaning_one()] + [seven()] * 3)
    y = np.array([1, 1, 1, 1, 7, 7, 7])
    np.savez(tmp_path / "val.npz", x=x, y=y)
    out = tmp_path / "styles.json"
    doc = run_bench("writing_styles.py", models, tmp_path / "val.npz", 5, out)
    good, other = doc["models"][str(models["good"])], doc["models"][str(models["other"])]
    assert set(good) == {"1 plain", "1 flag", "7 plain", "7 bar"}
    assert good["1 plain"]["n"] == good["1 flag"]["n"] == 3  # the same upright 1s: the leaning one is left out
    assert good["7 bar"] == {"n": 3, "right": 3 * (LIKELY == 7), "accuracy": float(LIKELY == 7),
                             "read_as": {} if LIKELY == 7 else {str(LIKELY): 3}, "refused": 0}
    assert other["1 flag"]["read_as"] == {str(OTHER): 3} and other["1 flag"]["right"] == 0


def test_the_pen_widths_bench_reads_every_pen_with_every_model(tmp_path, models):
    """bench/pen_widths.py end to end on models whose answers are known (always LIKELY, always
    OTHER): the same digits under every pen, the JSON, the figure and no misread examples
    (with these models a digit read right as written is read right with every pen)."""
    x = np.stack([one(), seven(), seven(), one()])
    np.savez(tmp_path / "val.npz", x=x, y=np.array([1, 7, 7, 1]))
    out = tmp_path / "pens.json"
    doc = run_bench("pen_widths.py", models, tmp_path / "val.npz", 4, out)
    good, other = doc["models"][str(models["good"])], doc["models"][str(models["other"])]
    assert list(good) == ["own strokes", "pen 4 %", "pen 8 %", "pen 12 %"]
    sevens = 2 if LIKELY == 7 else 0
    for pen in good:
        assert good[pen]["n"] == 4 and good[pen]["right"] == sevens
        assert other[pen]["right"] == 0 and sum(other[pen]["confusions"].values()) == 4
        assert 0 <= good[pen]["ci95"][0] <= good[pen]["accuracy"] <= good[pen]["ci95"][1] <= 1
    assert (tmp_path / "pens.png").stat().st_size > 1000
    assert not (tmp_path / "pens_misread.png").exists()
