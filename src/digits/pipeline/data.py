"""Checks and transforms of the arrays that flow between stages."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from digits import IMAGE_SIZE, NUM_CLASSES
from digits.errors import DigitsError
from digits.storage import load_npz


def check_images(x: np.ndarray, name: str, *, dtype: type | None = None) -> None:
    """Refuse anything that is not a stack of finite 28×28 images."""
    if x.ndim != 3 or x.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DigitsError(f"{name}: expected shape (N, {IMAGE_SIZE}, {IMAGE_SIZE}), got {x.shape}")
    if x.shape[0] == 0:
        raise DigitsError(f"{name}: no images")
    if dtype is not None and x.dtype != dtype:
        raise DigitsError(f"{name}: expected dtype {np.dtype(dtype)}, got {x.dtype}")
    if np.issubdtype(x.dtype, np.floating):
        if not np.isfinite(x).all():
            raise DigitsError(f"{name}: contains NaN or infinite pixels")
        lo, hi = float(x.min()), float(x.max())
        if lo < 0.0 or hi > 1.0:
            raise DigitsError(f"{name}: pixels must lie in [0, 1], got [{lo:g}, {hi:g}]")


def check_labels(y: np.ndarray, name: str, n: int) -> None:
    """Refuse labels that are not integers 0–9 matching the images one to one."""
    if y.ndim != 1 or y.shape[0] != n:
        raise DigitsError(f"{name}: expected shape ({n},), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise DigitsError(f"{name}: expected integer labels, got {y.dtype}")
    if y.size and (y.min() < 0 or y.max() >= NUM_CLASSES):
        raise DigitsError(f"{name}: labels must be in 0..{NUM_CLASSES - 1}, got [{y.min()}, {y.max()}]")


def stratified_take(x: np.ndarray, y: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep a stratified subset of `n` samples (all of them when n is 0 or ≥ len)."""
    if n == 0 or n >= len(y):
        return x, y
    if n < NUM_CLASSES:
        raise DigitsError(f"a slice of {n} samples cannot hold all {NUM_CLASSES} classes")
    xs, _, ys, _ = train_test_split(x, y, train_size=n, stratify=y, random_state=seed)
    return xs, ys


def preprocess(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *,
               val_fraction: float, seed: int, train_limit: int = 0, test_limit: int = 0
               ) -> dict[str, np.ndarray]:
    """uint8 images → float32 in [0, 1]; int labels; stratified train/validation split."""
    for x, y, name in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        check_images(x, f"x_{name}", dtype=np.uint8)
        check_labels(y, f"y_{name}", len(x))
    x_train, y_train = stratified_take(x_train, y_train, train_limit, seed)
    x_test, y_test = stratified_take(x_test, y_test, test_limit, seed)
    n_val = max(NUM_CLASSES, round(len(y_train) * val_fraction))
    x_tr, x_val, y_tr, y_val = train_test_split(
        x_train, y_train, test_size=n_val, stratify=y_train, random_state=seed)

    def scale(x: np.ndarray) -> np.ndarray:
        return (x.astype(np.float32) / np.float32(255.0))

    return {
        "x_train": scale(x_tr), "y_train": y_tr.astype(np.int64),
        "x_val": scale(x_val), "y_val": y_val.astype(np.int64),
        "x_test": scale(x_test), "y_test": y_test.astype(np.int64),
    }


def describe(name: str, x: np.ndarray, y: np.ndarray) -> str:
    """One line: shape, dtype, value range and class counts."""
    counts = np.bincount(y, minlength=NUM_CLASSES)
    return (f"{name}: x {x.shape} {x.dtype} in [{x.min():.3g}, {x.max():.3g}], "
            f"y {y.shape} class counts {counts.tolist()}")


def load_split(path: str, seen_as: str) -> tuple[np.ndarray, np.ndarray]:
    """A prepared split (`preprocess`'s .npz: float32 images `x`, labels `y`) read from `path`,
    checked (DigitsError naming the file) and described in one printed line as `seen_as`.
    The labels are checked before describe() counts them."""
    d = load_npz(path, ("x", "y"))
    x, y = d["x"], d["y"]
    check_images(x, f"{path}: x", dtype=np.float32)
    check_labels(y, f"{path}: y", len(x))
    print(describe(seen_as, x, y))
    return x, y
