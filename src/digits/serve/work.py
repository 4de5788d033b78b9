"""The work of one request, wherever it runs: in a thread of the server's process, or in a
process of `digits serve --workers N`'s pool. Kept apart from the FastAPI app so that a pool
process imports the recogniser and the model, not the web framework (half a second each)."""

from __future__ import annotations

import base64
import inspect
import io
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from digits.errors import DigitsError, one_line
from digits.loading import load_model
from digits.recognize.normalize import load_image_bytes
from digits.recognize.predict import Model, decode, predict_images


@dataclass
class Upload:
    name: str
    data: bytes


def png_data_url(x: np.ndarray) -> str:
    """A 28×28 float image in [0, 1] as a PNG data URL (light digit on black, as the model saw it)."""
    im = Image.fromarray(np.round(np.clip(x, 0.0, 1.0) * 255).astype(np.uint8), mode="L")
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def predict_uploads(model: Model, uploads: list[Upload], threshold: float, explain: bool) -> list[dict[str, Any]]:
    """One `digits predict --json` object per upload, in order: `predict_images`, the path
    `digits predict` takes, on the uploads decoded in memory. With `explain`, each prediction
    also carries `normalized`."""
    decoded = ((up.name, decode(up.name, up.data, load_image_bytes)) for up in uploads)
    out = []
    for result, seen in predict_images(model, decoded, threshold):
        obj = result.to_json()
        if explain and result.error is None and seen is not None:
            obj["normalized"] = png_data_url(seen)
        out.append(obj)
    return out


def read_uploads_numbers(read_image: Callable, model: Model, uploads: list[Upload], threshold: float,
                         explain: bool) -> list[dict[str, Any]]:
    """One `digits read --json` object per upload, in order."""
    # read_image(model, image, name) is the interface; the threshold is passed where it is taken.
    extra = {"threshold": threshold} if "threshold" in inspect.signature(read_image).parameters else {}
    out = []
    for up in uploads:
        try:
            reading = read_image(model, load_image_bytes(up.data), up.name, **extra)
        except DigitsError as exc:
            out.append({"file": up.name, "error": one_line(str(exc))})
            continue
        except MemoryError:
            out.append({"file": up.name, "error": "out of memory while decoding the image"})
            continue
        except Exception as exc:  # noqa: BLE001 - one odd upload must not give a 500
            out.append({"file": up.name, "error": one_line(f"unexpected {type(exc).__name__}: {exc}")})
            continue
        obj = reading.to_json()
        if explain and "error" not in obj:
            obj["normalized"] = [png_data_url(np.asarray(a)) for a in getattr(reading, "normalized", None) or []]
        out.append(obj)
    return out


# ---- in a pool process (`processes=N`) ------------------------------------------------------

START_TIMEOUT_S = 120  # a pool process that has not loaded its model by then has failed
_WORKER: dict[str, Any] = {}


PARENT_POLL_S = 0.5  # how often a pool process checks that its server is still there


def _end_with(parent: int) -> None:
    """End this process once `parent` has: a server killed outright (SIGKILL, the OOM killer)
    runs no shutdown, and its pool processes, waiting for work that never comes, would hold a
    model each until the machine restarts. An orphan is adopted by another process, so its
    parent's pid changes."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(0)


def start_worker(path: str, started: Any) -> None:
    """A pool process's initializer: its own model, loaded once; then its pid to `started`."""
    threading.Thread(target=_end_with, args=(os.getppid(),), name="end-with-server", daemon=True).start()
    _WORKER["model"] = load_model(path)
    started.put(os.getpid())


def _model(model: Model | None) -> Model:
    return model if model is not None else _WORKER["model"]


def predict_job(model: Model | None, uploads: list[Upload], threshold: float, explain: bool) -> list[dict[str, Any]]:
    return predict_uploads(_model(model), uploads, threshold, explain)


def read_job(model: Model | None, uploads: list[Upload], threshold: float, explain: bool,
             read_image: Callable | None = None) -> list[dict[str, Any]]:
    """`read_uploads_numbers` with `read_image`, or (None, as in a pool process) this process's
    own import of `digits.recognize.read`."""
    if read_image is None:
        from digits.recognize.read import read_image
    return read_uploads_numbers(read_image, _model(model), uploads, threshold, explain)
