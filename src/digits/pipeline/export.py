"""Export a Keras model to TFLite, so `digits predict` runs without importing TensorFlow."""

from __future__ import annotations

import os
import tempfile

import keras
import tensorflow as tf

from digits import IMAGE_SIZE
from digits.recognize.tflite import CLASSIFY, READ_PIECE
from digits.storage import write_bytes


def _image_model(model: keras.Model, what: str) -> None:
    if tuple(model.input_shape) != (None, IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"{what} input {model.input_shape} is not (None, {IMAGE_SIZE}, {IMAGE_SIZE})")


def tflite_bytes(model: keras.Model, pieces: keras.Model | None = None) -> bytes:
    """Convert `model` (inference mode, float32) to a TFLite flatbuffer with a dynamic batch.

    With `pieces` (the piece reader, `digits.pipeline.reader`), the flatbuffer has two
    signatures: CLASSIFY runs `model`, READ_PIECE runs `pieces`. Each runs its own graph, so
    the many images that need only the digits and the check (every `digits predict`, every
    candidate cut) do not pay for the reader, which `digits read` asks about a few whole pieces.

    Without `pieces`: from_keras_model, not a hand-made concrete function: the converter does
    not see Keras 3 variables through a bare tf.function and would export initial weights.
    With it: Keras' ExportArchive, which tracks both models' variables, writes a SavedModel
    with one endpoint per signature, and that is converted.
    """
    _image_model(model, "model")
    if pieces is None:
        return tf.lite.TFLiteConverter.from_keras_model(model).convert()
    _image_model(pieces, "piece reader")
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(pieces)
    spec = [tf.TensorSpec((None, IMAGE_SIZE, IMAGE_SIZE), tf.float32, name="image")]
    archive.add_endpoint(CLASSIFY, lambda x: {"probs": model(x, training=False)}, input_signature=spec)
    archive.add_endpoint(READ_PIECE, lambda x: {"probs": pieces(x, training=False)}, input_signature=spec)
    with tempfile.TemporaryDirectory(prefix="digits-export-") as tmp:
        archive.write_out(tmp, verbose=False)
        return tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=[CLASSIFY, READ_PIECE]).convert()


def export_tflite(model: keras.Model, path: str | os.PathLike, pieces: keras.Model | None = None) -> int:
    """Write the TFLite model (`tflite_bytes`) atomically; returns its size in bytes."""
    blob = tflite_bytes(model, pieces)
    write_bytes(path, blob)
    return len(blob)
