"""Export a Keras model to TFLite, so `digits predict` runs without importing TensorFlow."""

from __future__ import annotations

import os

import keras
import tensorflow as tf

from digits import IMAGE_SIZE


def tflite_bytes(model: keras.Model) -> bytes:
    """Convert `model` (inference mode, float32) to a TFLite flatbuffer with a dynamic batch."""

    @tf.function(input_signature=[tf.TensorSpec([None, IMAGE_SIZE, IMAGE_SIZE], tf.float32, name="image")])
    def serve(image: tf.Tensor) -> tf.Tensor:
        return model(image, training=False)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([serve.get_concrete_function()], model)
    return converter.convert()


def export_tflite(model: keras.Model, path: str | os.PathLike) -> int:
    """Write the TFLite model atomically; returns its size in bytes."""
    from digits.storage import write_bytes

    blob = tflite_bytes(model)
    write_bytes(path, blob)
    return len(blob)
