"""Export a Keras model to TFLite, so `digits predict` runs without importing TensorFlow."""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from digits import IMAGE_SIZE
from digits.storage import write_bytes


def tflite_bytes(model: keras.Model) -> bytes:
    """Convert `model` (inference mode, float32) to a TFLite flatbuffer with a dynamic batch.

    from_keras_model, not a hand-made concrete function: the converter does not see Keras 3
    variables through a bare tf.function and would export initial weights.
    """
    if tuple(model.input_shape) != (None, IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"model input {model.input_shape} is not (None, {IMAGE_SIZE}, {IMAGE_SIZE})")
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def export_tflite(model: keras.Model, path: str | os.PathLike) -> int:
    """Write the TFLite model atomically; returns its size in bytes."""
    blob = tflite_bytes(model)
    write_bytes(path, blob)
    return len(blob)
