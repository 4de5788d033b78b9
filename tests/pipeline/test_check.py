"""The "one digit?" check: the images it is fitted against, the fit, and the model it makes."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from digits.pipeline.check import fit_check, mnist_style, not_one_digit, with_check  # noqa: E402
from digits.pipeline.models import build_cnn  # noqa: E402


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


def test_the_check_tells_digits_from_non_digits_and_leaves_the_digit_probabilities_alone(tmp_path):
    from digits.pipeline.export import export_tflite
    from digits.recognize.predict import classify
    from digits.recognize.tflite import TFLiteClassifier

    keras.utils.set_random_seed(0)
    model = build_cnn(filters=[4, 8], convs_per_block=1, batchnorm=False, dense=0, dropout=0.0)
    rng = np.random.default_rng(1)
    check = fit_check(model, bars(300, rng), bars(100, rng), samples=300, seed=3)
    assert check.weights.shape == (6 * 6 * 8,) and check.samples == 300  # two pools: 24 -> 12 -> 6
    assert check.train_accuracy > 0.9 and check.val_auc > 0.9  # bars against pairs and pieces of bars
    both = with_check(model, check)
    x = np.concatenate([bars(20, rng), not_one_digit(bars(50, rng), 20, rng)])
    out = both.predict(x, verbose=0)
    assert out.shape == (40, 11)
    np.testing.assert_allclose(out[:, :10], model.predict(x, verbose=0), atol=1e-6)
    assert out[:20, 10].mean() > out[20:, 10].mean() + 0.3
    export_tflite(both, tmp_path / "m.tflite")
    lite = TFLiteClassifier(tmp_path / "m.tflite")
    assert lite.predict(x).shape == (40, 11)
    assert classify(lite, x).shape == (40, 10) and classify(lite, x, check=True).shape == (40, 11)
    np.testing.assert_allclose(lite.predict(x)[:, 10], out[:, 10], atol=1e-4)


def test_a_model_without_a_flatten_layer_is_refused():
    inp = keras.Input((28, 28))
    model = keras.Model(inp, keras.layers.Dense(10, activation="softmax")(keras.layers.Reshape((784,))(inp)))
    digits = bars(20, np.random.default_rng(0))
    with pytest.raises(ValueError, match="no Flatten layer"):
        fit_check(model, digits, digits, samples=10, seed=0)
