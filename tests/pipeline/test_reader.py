"""The piece reader: its examples (one digit, or two touching), its fit, and the model it joins."""

import subprocess
import sys

import numpy as np
import pytest

from digits.errors import DigitsError
from digits.pipeline import reader
from digits.recognize.tflite import MODEL_COLUMNS, PIECE_CLASSES, pair_class


def bars(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stand-in digits, MNIST-style: class c is c + 1 upright bars side by side (at most 3 wide)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = np.zeros((n, 28, 28), np.float32)
    for k, c in enumerate(y):
        for b in range(c + 1):
            x[k, 4:24, 8 + 5 * b:11 + 5 * b] = 1.0
    return x, y


def test_pair_classes_follow_the_ten_digits():
    assert pair_class(0, 0) == 10 and pair_class(1, 8) == 28 and pair_class(9, 9) == 109
    assert reader.CLASSES == PIECE_CLASSES == 110 and MODEL_COLUMNS[-1] == 10 + 1 + 110


def test_examples_are_single_digits_and_touching_pairs_of_the_digits_given():
    x, y = bars(60, seed=1)
    ex, labels = reader.examples(x, y, 80, seed=3)
    assert ex.shape == (80, 28, 28) and ex.dtype == np.float32 and labels.shape == (80,)
    assert (ex.reshape(80, -1).max(axis=1) > 0.5).all()  # each drawn, none blank
    single = labels < 10
    assert 0.1 < single.mean() < 0.45  # a quarter single digits
    assert set(labels[single]) <= {0, 1, 2}
    a, b = (labels[~single] - 10) // 10, (labels[~single] - 10) % 10
    assert set(a) <= {0, 1, 2} and set(b) <= {0, 1, 2}
    # a pair is much wider than one of its digits (they overlap a little), in the same 20 px box
    def aspect(img: np.ndarray) -> float:
        rows, cols = np.flatnonzero(img.max(axis=1) > 0.3), np.flatnonzero(img.max(axis=0) > 0.3)
        return (cols[-1] - cols[0] + 1) / (rows[-1] - rows[0] + 1)
    assert np.median([aspect(i) for i in ex[~single]]) > 1.5 * np.median([aspect(i) for i in ex[single]])
    again, labels_again = reader.examples(x, y, 80, seed=3)
    assert np.array_equal(ex, again) and np.array_equal(labels, labels_again)
    with pytest.raises(DigitsError, match="no digit with ink"):
        reader.examples(np.zeros((10, 28, 28), np.float32), y[:10], 5, seed=3)


def test_the_examples_are_made_without_tensorflow_and_the_same_in_two_processes():
    code = ("import sys, numpy as np; from digits.pipeline.reader import examples; "
            "x = np.zeros((30, 28, 28), np.float32); x[:, 4:24, 10:13] = 1; x[::2, 4:24, 15:18] = 1; "
            "y = np.arange(30) % 2; "
            "one, two = examples(x, y, 24, 5, workers=1), examples(x, y, 24, 5, workers=2); "
            "assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1]); "
            "sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_the_reader_is_exported_as_its_own_signature_and_reads_pairs(tmp_path):
    pytest.importorskip("keras")
    from digits.pipeline.check import fit_check, make_examples, with_check
    from digits.pipeline.export import export_tflite
    from digits.pipeline.models import build_cnn
    from digits.pipeline.training import configure_runtime
    from digits.recognize.predict import classify
    from digits.recognize.tflite import TFLiteClassifier

    configure_runtime(0)
    x, y = bars(300, seed=2)
    ex, labels = reader.examples(x, y, 600, seed=4)
    vx, vy = reader.examples(x, y, 120, seed=5)
    fitted = reader.fit_reader(ex, labels, vx, vy, epochs=8, verbose=0)
    assert fitted.model.output_shape == (None, 110) and fitted.samples == 600 and fitted.epochs == 8
    # bars are easy: one, two or three bars alone, and pairs of them, are told apart
    assert fitted.val_count_accuracy > 0.8 and fitted.val_single_accuracy > 0.6
    model = build_cnn(filters=[4, 8], convs_per_block=1, batchnorm=False, dense=0, dropout=0.0)
    check = fit_check(make_examples(x, x[:50], samples=100, seed=3), epochs=1, verbose=0)
    joined = with_check(model, check.model)
    assert joined.output_shape == (None, 11)
    export_tflite(joined, tmp_path / "m.tflite", pieces=fitted.model)
    lite = TFLiteClassifier(tmp_path / "m.tflite")
    # the digits and the check in one signature, the reader in the other: the same numbers as Keras
    assert lite.columns == 11 and lite.reads_pieces
    np.testing.assert_allclose(lite.predict(vx), joined.predict(vx, verbose=0), atol=1e-5)
    pieces = lite.predict_pieces(vx)
    assert pieces.shape == (120, 110)
    np.testing.assert_allclose(pieces, fitted.model.predict(vx, verbose=0), atol=1e-5)
    assert (pieces.argmax(axis=1) == fitted.model.predict(vx, verbose=0).argmax(axis=1)).all()
    # batches of any size, in any order: the runner resizes its input as the batch changes
    np.testing.assert_allclose(lite.predict_pieces(vx[:1]), pieces[:1], atol=1e-6)
    np.testing.assert_allclose(lite.predict(vx[:7]), lite.predict(vx)[:7], atol=1e-6)
    assert classify(lite, vx, check=True).shape == (120, 11)
    assert classify(lite, vx).shape == (120, 10)  # what `digits predict` sees: the digits only
    # a model exported without the reader has no second signature
    export_tflite(joined, tmp_path / "plain.tflite")
    plain = TFLiteClassifier(tmp_path / "plain.tflite")
    assert plain.columns == 11 and not plain.reads_pieces
    with pytest.raises(DigitsError, match="no piece reader"):
        plain.predict_pieces(vx)
