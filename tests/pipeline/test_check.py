"""The "one digit?" check: the images it is fitted on, the fit, and the model it makes."""

import subprocess
import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from digits.errors import DigitsError  # noqa: E402
from digits.pipeline.check import (  # noqa: E402
    as_cut,
    examples,
    fit_check,
    make_examples,
    mnist_style,
    not_one_digit,
    with_check,
    with_pens,
)
from digits.pipeline.models import build_cnn  # noqa: E402
from digits.pipeline.training import configure_runtime  # noqa: E402


def bars(n: int, rng: np.random.Generator) -> np.ndarray:
    """Stand-in digits: one upright bar of random width and place, MNIST-style."""
    out = np.zeros((n, 28, 28), np.float32)
    for k in range(n):
        w, x = int(rng.integers(2, 6)), int(rng.integers(8, 18))
        out[k, 4:24, x:x + w] = 1.0
    return out


def test_mnist_style_fits_the_ink_into_20_by_20_centred_by_mass():
    a = np.zeros((60, 90), np.float32)
    a[10:50, 5:85] = 1.0  # 80 wide, 40 tall
    m = mnist_style(a)
    rows, cols = np.flatnonzero(m.max(axis=1) > 0.5), np.flatnonzero(m.max(axis=0) > 0.5)
    assert m.shape == (28, 28) and cols.size == 20 and rows.size == 10
    ys, xs = np.indices(m.shape)
    assert abs((ys * m).sum() / m.sum() - 14) <= 1 and abs((xs * m).sum() / m.sum() - 14) <= 1
    assert mnist_style(np.zeros((5, 5), np.float32)) is None


def test_non_digits_are_drawn_mnist_style_and_the_same_for_the_same_seed():
    digits = bars(50, np.random.default_rng(0))
    a = not_one_digit(digits, 40, np.random.default_rng(5))
    b = not_one_digit(digits, 40, np.random.default_rng(5))
    assert a.shape == (40, 28, 28) and a.dtype == np.float32 and np.array_equal(a, b)
    assert a.min() >= 0.0 and a.max() <= 1.0
    # two bars side by side (40 %) or a bar and a slice of another (30 %) are wider than any one bar
    widest = max(np.count_nonzero(d.max(axis=0) > 0.5) for d in digits)
    wider = sum(np.count_nonzero(x.max(axis=0) > 0.5) > widest for x in a)
    assert 0.3 * len(a) <= wider <= 0.85 * len(a)


def ink_columns(a: np.ndarray) -> int:
    return int(np.count_nonzero(a.max(axis=0) > 0.5))


def test_as_cut_draws_a_part_as_the_recogniser_does_at_mnist_stroke_width():
    hairline = np.zeros((28, 28), np.float32)
    hairline[4:24, 12] = 0.6  # a faint 1-pixel stroke
    drawn = as_cut(hairline)
    assert drawn.shape == (28, 28) and drawn.dtype == np.float32
    assert ink_columns(drawn) == 2 and drawn.max() == 1.0  # a binary mask at MNIST's 2-3 px
    assert np.count_nonzero(drawn.max(axis=1) > 0.5) == 20  # fit to 20 px tall
    assert np.array_equal(as_cut(np.zeros((28, 28), np.float32)), np.zeros((28, 28), np.float32))


def test_with_pens_redraws_the_given_share_along_the_centre_line():
    digits = bars(200, np.random.default_rng(0)) * 0.0
    digits[:, 4:24, 8:16] = 1.0  # 8-pixel-wide bars: any redraw with a pen of 1-3 px is thinner
    out = with_pens(digits, np.random.default_rng(1), share=0.4)
    redrawn = [i for i in range(len(out)) if not np.array_equal(out[i], digits[i])]
    assert 60 <= len(redrawn) <= 100
    assert all(ink_columns(out[i]) < 8 for i in redrawn)
    assert np.array_equal(out, with_pens(digits, np.random.default_rng(1), share=0.4))


def test_examples_are_balanced_shuffled_and_the_same_for_the_same_seed():
    digits = bars(100, np.random.default_rng(0))
    x, y = examples(digits, 60, 2)
    assert x.shape == (120, 28, 28) and x.dtype == np.float32 and y.sum() == 60
    assert 0 < y[:60].sum() < 60  # shuffled, not digits first
    assert x.min() >= 0.0 and x.max() <= 1.0
    seen = []
    x2, y2 = examples(digits, 60, 2, progress=lambda done, parts: seen.append((done, parts)))
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert seen == [(k, 8) for k in range(1, 9)]
    x3, _ = examples(digits, 60, 3)
    assert not np.array_equal(x, x3)
    # the non-digits are wider: two bars side by side (40 %) or a bar and a slice (30 %)
    cols = np.array([ink_columns(a) for a in x])
    assert cols[y == 0].mean() > cols[y == 1].mean() + 0.5


def test_the_check_tells_digits_from_non_digits_and_leaves_the_digit_probabilities_alone(tmp_path):
    from digits.pipeline.export import export_tflite
    from digits.recognize.predict import classify
    from digits.recognize.tflite import TFLiteClassifier

    configure_runtime(0)
    model = build_cnn(filters=[4, 8], convs_per_block=1, batchnorm=False, dense=0, dropout=0.0)
    rng = np.random.default_rng(1)
    check = fit_check(make_examples(bars(400, rng), bars(200, rng), samples=400, seed=3), epochs=10, verbose=0)
    assert check.samples == 400 and check.epochs == 10
    assert check.val_auc > 0.9 and check.val_accuracy > 0.8  # bars against pairs and pieces of bars
    assert check.model.output_shape == (None, 1)
    both = with_check(model, check.model)
    x = np.concatenate([bars(20, rng), not_one_digit(bars(50, rng), 20, rng)])
    out = both.predict(x, verbose=0)
    assert out.shape == (40, 11)
    np.testing.assert_allclose(out[:, :10], model.predict(x, verbose=0), atol=1e-6)
    np.testing.assert_allclose(out[:, 10], check.model.predict(x, verbose=0)[:, 0], atol=1e-6)
    assert out[:20, 10].mean() > out[20:, 10].mean() + 0.3
    export_tflite(both, tmp_path / "m.tflite")
    lite = TFLiteClassifier(tmp_path / "m.tflite")
    assert lite.predict(x).shape == (40, 11)
    assert classify(lite, x).shape == (40, 10) and classify(lite, x, check=True).shape == (40, 11)
    np.testing.assert_allclose(lite.predict(x)[:, 10], out[:, 10], atol=1e-4)


@pytest.mark.parametrize("seed", range(5))
def test_blank_digits_are_skipped_and_none_with_ink_is_a_clear_error(seed):
    digits = bars(16, np.random.default_rng(seed))
    digits[::2] = 0.0  # half of them blank: no centre line to redraw, no box to fit
    x, y = examples(digits, 8, seed)
    assert x.shape == (16, 28, 28) and (x.reshape(16, -1).max(axis=1) > 0.5).all()
    assert examples(digits[:5], 8, seed)[0].shape == (16, 28, 28)  # fewer digits than parts
    with pytest.raises(DigitsError, match="no digit with ink"):
        examples(np.zeros((30, 28, 28), np.float32), 10, seed)


def test_the_examples_are_made_without_tensorflow_and_the_same_in_two_processes():
    # Made in forked processes, and TensorFlow's threads do not survive a fork: so this runs
    # in a process of its own (this module has imported Keras), which must not import it.
    code = ("import sys, numpy as np; from digits.pipeline.check import make_examples; "
            "a = np.zeros((40, 28, 28), np.float32); a[:, 4:24, 10:14] = 1; a[::3, 4:24, 16:19] = 1; "
            "one, two = make_examples(a, a, 20, 1, workers=1), make_examples(a, a, 20, 1, workers=2); "
            "assert two.x.shape == (40, 28, 28) and np.array_equal(one.x, two.x) and np.array_equal(one.y, two.y); "
            "assert np.array_equal(one.x_val, two.x_val); "
            "sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_check_fit_is_the_same_for_the_same_seed():
    rng = np.random.default_rng(1)
    train, val = bars(200, rng), bars(60, rng)
    outs = []
    for _ in range(2):
        configure_runtime(5)
        outs.append(fit_check(make_examples(train, val, samples=100, seed=5), epochs=1, verbose=0).model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*outs, strict=True))
