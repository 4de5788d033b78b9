"""Run an exported .tflite classifier with LiteRT: no TensorFlow import, fast cold start."""

from __future__ import annotations

import os

import numpy as np

from digits import IMAGE_SIZE, NUM_CLASSES
from digits.errors import DigitsError

# The piece reader's classes (digits.pipeline.reader): one digit d, or two touching digits a, b
# as NUM_CLASSES + NUM_CLASSES * a + b. A model with it has the digits' columns, the "one
# digit?" check's, then these.
PIECE_CLASSES = NUM_CLASSES + NUM_CLASSES * NUM_CLASSES
MODEL_COLUMNS = (NUM_CLASSES, NUM_CLASSES + 1, NUM_CLASSES + 1 + PIECE_CLASSES)  # the widths an exported model may have


class TFLiteClassifier:
    """A .tflite model mapping (N, 28, 28) float32 images to (N, 10) probabilities, or (N, 11)
    with the "one digit?" check (`digits.pipeline.check`) after them, or (N, 121) with the piece
    reader's probabilities (`digits.pipeline.reader`) after that."""

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        try:
            self._it = Interpreter(model_path=str(path), num_threads=threads)
        except (ValueError, RuntimeError) as exc:
            raise DigitsError(f"{path}: not a loadable TFLite model ({exc})") from None
        self._in = self._it.get_input_details()[0]
        self._out = self._it.get_output_details()[0]
        if tuple(self._in["shape"][1:]) != (IMAGE_SIZE, IMAGE_SIZE) or \
                self._out["shape"][-1] not in MODEL_COLUMNS:
            raise DigitsError(f"{path}: model maps {self._in['shape'].tolist()} to "
                              f"{self._out['shape'].tolist()}, expected (N, 28, 28) to (N, 10), (N, 11) or (N, 121)")
        self.columns = int(self._out["shape"][-1])
        self._batch = 0

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The model's output for every image in `x` (all its columns), computed in batches."""
        out = np.empty((len(x), self.columns), np.float32)
        for start in range(0, len(x), batch_size):
            chunk = np.ascontiguousarray(x[start:start + batch_size], dtype=np.float32)
            if len(chunk) != self._batch:
                self._it.resize_tensor_input(self._in["index"], [len(chunk), IMAGE_SIZE, IMAGE_SIZE])
                self._it.allocate_tensors()
                self._batch = len(chunk)
            self._it.set_tensor(self._in["index"], chunk)
            self._it.invoke()
            out[start:start + len(chunk)] = self._it.get_tensor(self._out["index"])
        return out
