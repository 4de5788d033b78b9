"""Run an exported .tflite classifier with LiteRT: no TensorFlow import, fast cold start."""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from digits import IMAGE_SIZE, NUM_CLASSES
from digits.errors import DigitsError

# The piece reader's classes (digits.pipeline.reader): one digit d, or two touching digits a, b
# as NUM_CLASSES + NUM_CLASSES * a + b.
PIECE_CLASSES = NUM_CLASSES + NUM_CLASSES * NUM_CLASSES
# The widths a model's output may have: the digits; the digits and the "one digit?" check; and,
# in models exported before the reader had its own signature, the reader's columns after those.
MODEL_COLUMNS = (NUM_CLASSES, NUM_CLASSES + 1, NUM_CLASSES + 1 + PIECE_CLASSES)
# The signatures of a model exported with the piece reader (`digits.pipeline.export`): the
# digits and the check, and the reader, each its own graph run only when asked.
CLASSIFY = "classify"
READ_PIECE = "read_piece"


def pair_class(a: int, b: int) -> int:
    """The piece reader's class for digits a and b touching, a on the left."""
    return NUM_CLASSES + NUM_CLASSES * a + b


class _Graph:
    """One graph of a .tflite model: (N, 28, 28) float32 images to (N, columns), in batches."""

    def __init__(self, inp: dict, out: dict, run: Callable[[np.ndarray], np.ndarray]) -> None:
        self.shape = tuple(int(v) for v in inp["shape_signature"][1:])
        self.columns = int(out["shape_signature"][-1])
        self._run = run

    def __call__(self, x: np.ndarray, batch_size: int) -> np.ndarray:
        out = np.empty((len(x), self.columns), np.float32)
        for start in range(0, len(x), batch_size):
            chunk = np.ascontiguousarray(x[start:start + batch_size], dtype=np.float32)
            out[start:start + len(chunk)] = self._run(chunk)
        return out


def _main_graph(it) -> _Graph:
    """The graph of a model with one signature, run through the interpreter's own tensors."""
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    batch = [0]

    def run(chunk: np.ndarray) -> np.ndarray:
        if len(chunk) != batch[0]:
            it.resize_tensor_input(inp["index"], [len(chunk), IMAGE_SIZE, IMAGE_SIZE])
            it.allocate_tensors()
            batch[0] = len(chunk)
        it.set_tensor(inp["index"], chunk)
        it.invoke()
        return it.get_tensor(out["index"])

    return _Graph(inp, out, run)


def _signature_graph(it, key: str) -> _Graph:
    """A signature's graph, run through its runner (which resizes its input and allocates only
    when the batch's size changes)."""
    runner = it.get_signature_runner(key)
    (name, inp), = runner.get_input_details().items()
    (out,) = runner.get_output_details().values()

    def run(chunk: np.ndarray) -> np.ndarray:
        (res,) = runner(**{name: chunk}).values()
        return res

    return _Graph(inp, out, run)


class TFLiteClassifier:
    """A .tflite model mapping (N, 28, 28) float32 images to (N, 10) probabilities, or (N, 11)
    with the "one digit?" check (`digits.pipeline.check`) after them.

    A model exported with the piece reader has it as a second signature (READ_PIECE):
    `predict_pieces` runs it, and only it. A model from before that has the reader's columns
    after the check's in one graph, (N, 121); `predict` gives all of them."""

    def __init__(self, path: str | os.PathLike, threads: int | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        try:
            self._it = Interpreter(model_path=str(path), num_threads=threads)
            signatures = self._it.get_signature_list()
            self._graph = _signature_graph(self._it, CLASSIFY) if CLASSIFY in signatures else _main_graph(self._it)
            self._pieces = _signature_graph(self._it, READ_PIECE) if READ_PIECE in signatures else None
        except (ValueError, RuntimeError) as exc:
            raise DigitsError(f"{path}: not a loadable TFLite model ({exc})") from None
        shape = self._graph.shape
        odd_reader = self._pieces is not None and \
            (self._pieces.columns != PIECE_CLASSES or self._graph.columns > NUM_CLASSES + 1)
        if shape != (IMAGE_SIZE, IMAGE_SIZE) or self._graph.columns not in MODEL_COLUMNS or odd_reader:
            raise DigitsError(f"{path}: model maps {[-1, *shape]} to {[-1, self._graph.columns]}"
                              + (f" and {[-1, self._pieces.columns]}" if self._pieces is not None else "")
                              + ", expected (N, 28, 28) to (N, 10), (N, 11) or (N, 121)")
        self.columns = self._graph.columns

    @property
    def reads_pieces(self) -> bool:
        """Whether the model has the piece reader as its own signature (`predict_pieces`)."""
        return self._pieces is not None

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The model's output for every image in `x` (all its columns), computed in batches."""
        return self._graph(x, batch_size)

    def predict_pieces(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The piece reader's (N, PIECE_CLASSES) probabilities; DigitsError for a model without it."""
        if self._pieces is None:
            raise DigitsError("this model has no piece reader signature")
        return self._pieces(x, batch_size)
