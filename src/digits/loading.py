"""Model files: which one to use, and opening it as an object with predict(x) -> probs.

A .tflite model runs on LiteRT (numpy only: a cold `digits predict` answers in about half a
second). A .keras model imports Keras (seconds), only when asked for. The recogniser never
opens model files itself, so it never imports Keras or TensorFlow; the front ends (CLI,
server, benchmarks) call this module and hand it the model object.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from digits import IMAGE_SIZE, NUM_CLASSES
from digits.errors import DigitsError

if TYPE_CHECKING:
    import keras

    from digits.recognize.tflite import TFLiteClassifier

MODEL_ENV = "DIGITS_MODEL"
DEFAULT_MODEL = Path("models") / "model.tflite"


def resolve_model_path(model: str | os.PathLike | None = None) -> Path:
    """The model to use: `model` if given, else $DIGITS_MODEL, else models/model.tflite in the
    current directory, else the one in the repository this package was installed from."""
    hint = "run `dvc repro` to build it, or pass --model"
    if model is not None:
        path = Path(model)
        if not path.is_file():
            raise DigitsError(f"model not found: {path} ({hint})")
        return path
    env = os.environ.get(MODEL_ENV)
    if env:
        path = Path(env)
        if not path.is_file():
            raise DigitsError(f"model not found: {path} (from ${MODEL_ENV}; {hint})")
        return path
    repo = Path(__file__).resolve().parents[2] / DEFAULT_MODEL
    for path in (DEFAULT_MODEL, repo):
        if path.is_file():
            return path
    raise DigitsError(f"model not found: {DEFAULT_MODEL} ({hint})")


def load_model(path: str | os.PathLike) -> TFLiteClassifier | KerasModel:
    """Load a .tflite (LiteRT) or .keras model; DigitsError if it is missing, broken or misshapen."""
    path = Path(path)
    if not path.is_file():
        raise DigitsError(f"model not found: {path} (run `dvc repro` to build it, or pass --model)")
    suffix = path.suffix.lower()
    if suffix == ".tflite":
        from digits.recognize.tflite import TFLiteClassifier

        return TFLiteClassifier(path)
    if suffix == ".keras":
        return KerasModel(path)
    raise DigitsError(f"{path}: unsupported model format {suffix or '(none)'!r}, expected .tflite or .keras")


class KerasModel:
    """A .keras model, loaded with safe_mode (no arbitrary code from the file)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self._model = load_keras(str(path))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for a batch."""
        return np.asarray(self._model(np.asarray(x, np.float32), training=False), dtype=np.float32)


def check_io(model: keras.Model, what: str) -> None:
    """Refuse a model that does not map (N, 28, 28) images to (N, 10) probabilities (or (N, 11),
    with the "one digit?" check; or (N, 121), with the piece reader after it)."""
    from digits.recognize.tflite import MODEL_COLUMNS

    in_shape = tuple(model.input_shape) if not isinstance(model.input_shape, list) else None
    out_shape = tuple(model.output_shape) if not isinstance(model.output_shape, list) else None
    if in_shape != (None, IMAGE_SIZE, IMAGE_SIZE):
        raise DigitsError(f"{what}: model input shape {model.input_shape} does not fit "
                          f"(None, {IMAGE_SIZE}, {IMAGE_SIZE}) images")
    if out_shape not in [(None, c) for c in MODEL_COLUMNS]:
        raise DigitsError(f"{what}: model output shape {model.output_shape} is not (None, {NUM_CLASSES}), "
                          f"(None, {NUM_CLASSES + 1}) (digits and the 'one digit?' check) or "
                          f"(None, {MODEL_COLUMNS[-1]}) (and the piece reader)")


def keras_archive(path: str) -> None:
    """DigitsError unless `path` is a .keras archive (a zip holding the model's config), checked
    without TensorFlow: so that a stage refuses a missing or broken model before its slow work."""
    if not Path(path).is_file():
        raise DigitsError(f"{path}: no such model file (run: dvc repro)")
    try:
        with zipfile.ZipFile(path) as z:
            z.getinfo("config.json")
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise DigitsError(f"{path}: cannot load model ({type(exc).__name__}: {exc})") from None


def load_keras(path: str) -> keras.Model:
    """Load a .keras model with safe mode on (no arbitrary code from lambdas) and check its shapes."""
    keras_archive(path)
    import keras

    import digits.layers  # noqa: F401  registers the project's layers, which saved models name

    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # Keras raises ValueError, OSError, zipfile errors, TypeError...
        raise DigitsError(f"{path}: cannot load model ({type(exc).__name__}: {exc})") from None
    check_io(model, path)
    return model
