"""Shared fixtures: tiny synthetic MNIST-like data and IDX files."""

from __future__ import annotations

import gzip
import hashlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # so tests can import the thin stage scripts as `stages.x`


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format MNIST uses."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def synthetic_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n uint8 28×28 images whose class is a bright square's position: learnable in one epoch."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    rng.shuffle(y)
    x = (rng.random((n, 28, 28)) * 40).astype(np.uint8)
    for i, c in enumerate(y):
        r, col = 3 + (c // 5) * 12, 2 + (c % 5) * 5
        x[i, r:r + 9, col:col + 4] = 255
    return x, y.astype(np.uint8)


@pytest.fixture
def tiny_mnist() -> dict[str, np.ndarray]:
    x_train, y_train = synthetic_digits(200, seed=1)
    x_test, y_test = synthetic_digits(50, seed=2)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


@pytest.fixture
def tiny_mirror(tmp_path: Path, tiny_mnist: dict[str, np.ndarray]):
    """A directory of four gzipped IDX files, and MnistFile specs pinning their checksums."""
    from digits.pipeline.mnist import FILES, MnistFile

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    specs = []
    for f in FILES:
        raw = idx_bytes(tiny_mnist[f.key])
        (mirror / f.name).write_bytes(gzip.compress(raw))
        specs.append(MnistFile(f.key, f.name, hashlib.sha256(raw).hexdigest(), tiny_mnist[f.key].shape))
    return mirror, tuple(specs)


def real_mirror() -> Path | None:
    """The local MNIST mirror named by $MNIST_MIRROR, if it holds the four files."""
    from digits.pipeline.mnist import FILES, MIRROR_ENV

    path = os.environ.get(MIRROR_ENV)
    if path and all((Path(path) / f.name).is_file() for f in FILES):
        return Path(path)
    return None


def write_synthetic_mirror(root: Path, n_train: int = 3000, n_test: int = 500) -> tuple[Path, Path]:
    """A mirror directory of the four .gz files holding synthetic_digits, and beside it a pins
    file with their checksums and shapes, for $MNIST_PINS (the real MNIST would fail them)."""
    import json

    from digits.pipeline.mnist import FILES

    mirror = root / "mnist-synthetic"
    mirror.mkdir(parents=True)
    x_train, y_train = synthetic_digits(n_train, seed=11)
    x_test, y_test = synthetic_digits(n_test, seed=12)
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    pins = {}
    for f in FILES:
        raw = idx_bytes(arrays[f.key])
        (mirror / f.name).write_bytes(gzip.compress(raw, mtime=0))
        pins[f.name] = {"sha256": hashlib.sha256(raw).hexdigest(), "shape": list(arrays[f.key].shape)}
    pins_file = root / "mnist-synthetic-pins.json"
    pins_file.write_text(json.dumps(pins, indent=1))
    return mirror, pins_file


@pytest.fixture(scope="session")
def mnist_source(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment that makes the fetch stage find data: the real mirror when $MNIST_MIRROR
    names one, else a synthetic one (3,000 training and 500 test images) with its pins."""
    real = real_mirror()
    if real is not None:
        return {"MNIST_MIRROR": str(real)}
    mirror, pins = write_synthetic_mirror(tmp_path_factory.mktemp("mnist"))
    return {"MNIST_MIRROR": str(mirror), "MNIST_PINS": str(pins)}


def env_with(source: dict[str, str]) -> dict[str, str]:
    """os.environ with the MNIST source variables replaced by `source`."""
    return {**{k: v for k, v in os.environ.items() if k not in ("MNIST_MIRROR", "MNIST_PINS")}, **source}


LIKELY = 7  # the tiny model's bias makes every image a 7 ...
LIKELY_P = float(np.exp(4.0) / (np.exp(4.0) + 9))  # ... with this probability (0.86)
OTHER = 3  # the second tiny model's answer, whatever the image


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny models made here: the right shape (.tflite and .keras) and wrong shapes.

    The right one ignores its input (zero weights) and favours 7, so its answers are known.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    from digits.pipeline.export import tflite_bytes

    d = tmp_path_factory.mktemp("models")
    bias = np.zeros(10, np.float32)
    bias[LIKELY] = 4.0
    inp = keras.Input((28, 28), name="image")
    out = keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros",
                             bias_initializer=keras.initializers.Constant(bias))(keras.layers.Flatten()(inp))
    good = keras.Model(inp, out)
    good.save(d / "good.keras")
    (d / "good.tflite").write_bytes(tflite_bytes(good))
    # Another right-shaped model that answers OTHER: tells which model was used.
    inp = keras.Input((28, 28), name="image")
    out = keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros",
                             bias_initializer=keras.initializers.Constant(np.roll(bias, OTHER - LIKELY))
                             )(keras.layers.Flatten()(inp))
    (d / "other.tflite").write_bytes(tflite_bytes(keras.Model(inp, out)))

    inp = keras.Input((32, 32))
    wrong_in = keras.Model(inp, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inp)))
    wrong_in.save(d / "wrong_in.keras")
    inp = keras.Input((28, 28))
    wrong_out = keras.Model(inp, keras.layers.Dense(5, activation="softmax")(keras.layers.Flatten()(inp)))
    (d / "wrong_out.tflite").write_bytes(tflite_bytes(wrong_out))
    (d / "garbage.tflite").write_bytes(b"not a flatbuffer at all" * 10)
    (d / "model.onnx").write_bytes(b"\x08\x01")
    return {p.stem if p.suffix != ".keras" else p.stem + "_keras": p for p in d.iterdir()}


@pytest.fixture(scope="session")
def empty_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new git+DVC repository (branch main), made once (`dvc init` takes a second): tests
    copy it (test_gate.new_repo)."""
    import subprocess

    path = tmp_path_factory.mktemp("empty-repo")
    for args in (["init", "-q", "-b", "main"], ["config", "user.email", "ci@example.org"],
                 ["config", "user.name", "ci"]):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)
    subprocess.run([str(Path(sys.executable).with_name("dvc")), "init", "-q"], cwd=path, check=True)
    return path
