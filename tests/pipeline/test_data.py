import numpy as np
import pytest

from digits.errors import DigitsError
from digits.pipeline.data import check_images, check_labels, load_split, preprocess, stratified_take
from digits.storage import save_npz


def test_preprocess_scales_and_splits_stratified(tiny_mnist):
    out = preprocess(**tiny_mnist, val_fraction=0.2, seed=1999)
    assert out["x_train"].shape == (160, 28, 28) and out["x_val"].shape == (40, 28, 28)
    assert out["x_test"].shape == (50, 28, 28)
    for k in ("x_train", "x_val", "x_test"):
        assert out[k].dtype == np.float32
        assert out[k].min() >= 0.0 and out[k].max() == 1.0
    assert np.bincount(out["y_val"]).tolist() == [4] * 10  # 20 per class in, 20 % of each out


def test_every_split_image_is_an_input_image_with_its_label(tiny_mnist):
    """Same pixels, only rescaled, with the label they came with; train and validation are
    disjoint and together are exactly the training input, test exactly the test input."""
    out = preprocess(**tiny_mnist, val_fraction=0.2, seed=1999)

    def as_input(x: np.ndarray) -> list[bytes]:
        back = np.round(x * 255)
        assert np.allclose(x * 255, back, atol=1e-4)  # multiples of 1/255
        return [img.tobytes() for img in back.astype(np.uint8)]

    for split, source in (("train", "train"), ("val", "train"), ("test", "test")):
        xs, ys = tiny_mnist[f"x_{source}"], tiny_mnist[f"y_{source}"]
        pool = {img.tobytes(): int(y) for img, y in zip(xs, ys, strict=True)}
        assert len(pool) == len(tiny_mnist[f"y_{source}"])  # the synthetic images are all distinct
        for img, y in zip(as_input(out[f"x_{split}"]), out[f"y_{split}"], strict=True):
            assert pool.get(img) == int(y), f"a {split} image is not an input image with its label"
    train, val = set(as_input(out["x_train"])), set(as_input(out["x_val"]))
    assert not train & val
    assert train | val == {img.tobytes() for img in tiny_mnist["x_train"]}
    assert sorted(as_input(out["x_test"])) == sorted(img.tobytes() for img in tiny_mnist["x_test"])


def test_preprocess_is_deterministic(tiny_mnist):
    a = preprocess(**tiny_mnist, val_fraction=0.2, seed=1999)
    b = preprocess(**tiny_mnist, val_fraction=0.2, seed=1999)
    c = preprocess(**tiny_mnist, val_fraction=0.2, seed=7)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["y_val"], c["y_val"])


def test_limits_take_stratified_slices(tiny_mnist):
    out = preprocess(**tiny_mnist, val_fraction=0.1, seed=1, train_limit=100, test_limit=30)
    assert len(out["y_train"]) + len(out["y_val"]) == 100
    assert len(out["y_test"]) == 30
    assert set(out["y_test"].tolist()) == set(range(10))
    with pytest.raises(DigitsError, match="cannot hold all 10 classes"):
        stratified_take(tiny_mnist["x_train"], tiny_mnist["y_train"], 5, 0)


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d.update(x_train=d["x_train"][:, :27]), "expected shape (N, 28, 28)"),
    (lambda d: d.update(x_train=d["x_train"].astype(np.float32)), "expected dtype uint8"),
    (lambda d: d.update(y_train=d["y_train"][:-1]), "y_train: expected shape (200,)"),
    (lambda d: d.update(y_test=d["y_test"] + 5), "labels must be in 0..9"),
    (lambda d: d.update(y_test=d["y_test"].astype(np.float32)), "expected integer labels"),
])
def test_preprocess_refuses_bad_input(tiny_mnist, mutate, fragment):
    mutate(tiny_mnist)
    with pytest.raises(DigitsError) as exc:
        preprocess(**tiny_mnist, val_fraction=0.1, seed=1)
    assert fragment in str(exc.value)


def test_float_checks_catch_nan_and_range():
    x = np.zeros((2, 28, 28), np.float32)
    check_images(x, "x", dtype=np.float32)
    x[0, 0, 0] = np.nan
    with pytest.raises(DigitsError, match="NaN"):
        check_images(x, "x")
    x[0, 0, 0] = 2.0
    with pytest.raises(DigitsError, match=r"\[0, 1\]"):
        check_images(x, "x")
    with pytest.raises(DigitsError, match="labels must be in 0..9"):
        check_labels(np.array([-1, 3]), "y", 2)


def test_load_split_checks_then_describes(tmp_path, capsys):
    x = np.zeros((3, 28, 28), np.float32)
    x[1, 5, 5] = 1.0
    path = tmp_path / "val.npz"
    save_npz(path, {"x": x, "y": np.array([0, 2, 2])})
    got_x, got_y = load_split(str(path), "train in val")
    assert got_x.shape == (3, 28, 28) and got_y.tolist() == [0, 2, 2]
    assert capsys.readouterr().out.strip() == (
        "train in val: x (3, 28, 28) float32 in [0, 1], y (3,) class counts [1, 0, 2, 0, 0, 0, 0, 0, 0, 0]")
    # A bad label is one line naming the file, before describe() would count it (a traceback).
    save_npz(path, {"x": x, "y": np.array([0, 2, -1])})
    with pytest.raises(DigitsError, match=r"val\.npz: y: labels must be in 0..9"):
        load_split(str(path), "train in val")
    assert capsys.readouterr().out == ""
    save_npz(path, {"x": x.astype(np.float64), "y": np.array([0, 2, 2])})
    with pytest.raises(DigitsError, match=r"val\.npz: x: expected dtype float32"):
        load_split(str(path), "train in val")
