"""The FastAPI application behind `digits serve`: the page at `/`, `POST /api/predict`,
`POST /api/read`, `GET /healthz`, and FastAPI's OpenAPI pages at `/docs`.

One path from pixels to answer: an upload is decoded in memory with the recogniser's own
guards (`load_image_bytes`, the twin of `load_image`), then normalised and classified by
`digits.recognize.predict.predict_images`, the function behind `digits predict`, with the
model from `digits.loading`; the JSON is `Result.to_json()`, the object `digits predict --json`
prints. Uploads are never written to disk: the body is read here, as
it streams in, and split into its files by python-multipart's push parser (FastAPI's
`UploadFile` would spool files over 1 MB to a temporary file). The size limit is enforced
from Content-Length before any of the body is read, and again while it streams (chunked
uploads have no length).

With one worker the work of each request runs in a thread of the server's process; LiteRT
interpreters are not thread-safe, so the model is wrapped in `SerialModel`: decoding and
normalising run in parallel, the interpreter runs one batch at a time. With `processes=N`
(`digits serve --workers N`) the work runs in a pool of N processes, each with its own model
loaded once and taking one request at a time, while the server's one event loop does the HTTP.
The pool hands each request to the next free process, so the load spreads over all of them
however the clients connect (uvicorn's own worker processes divide *connections*: two
keep-alive clients were both served by one worker, the other idle). A process that dies is
replaced; its request gets a 503. The work itself is `digits.serve.work`, which a pool process
imports without FastAPI.
"""

from __future__ import annotations

import asyncio
import importlib.util
import multiprocessing
import os
import platform
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

import anyio
import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from digits import __version__
from digits.errors import one_line
from digits.loading import load_model, resolve_model_path
from digits.recognize.predict import DEFAULT_THRESHOLD, Model
from digits.serve import MB
from digits.serve.work import (
    START_TIMEOUT_S,
    Upload,
    predict_job,
    read_job,
    start_worker,
)
from digits.storage import sha256_file

MAX_BYTES = 10 * MB  # the whole request body, all files together
MAX_FILES = 100  # files in one request
STATIC = Path(__file__).with_name("static")
READ_MODULE = "digits.recognize.read"
# The page loads nothing from elsewhere: a CDN reference would be refused by the browser.
PAGE_CSP = ("default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


class SerialModel:
    """A model whose predict() runs one call at a time: a LiteRT interpreter holds its input
    and output tensors in place, so two threads invoking it at once would mix their
    batches. Everything else (decoding, normalising) runs outside the lock."""

    def __init__(self, model: Model) -> None:
        self._model = model
        self._lock = threading.Lock()
        self.reads_pieces = bool(getattr(model, "reads_pieces", False))

    def predict(self, x: np.ndarray) -> np.ndarray:
        with self._lock:
            return np.array(self._model.predict(x), copy=True)

    def predict_pieces(self, x: np.ndarray) -> np.ndarray:
        """The piece reader's probabilities (`Model`), under the same lock."""
        with self._lock:
            return np.array(self._model.predict_pieces(x), copy=True)


class UploadError(Exception):
    """A request refused before any image is looked at, or whose worker process died: status
    code and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": one_line(message), **extra}, status_code=status)


def _mb(n: int) -> str:
    return f"{n / MB:g} MB"


async def read_uploads(request: Request, max_bytes: int, max_files: int, raw_name: str) -> list[Upload]:
    """The image files of a request, held in memory: the parts of a multipart/form-data body
    that carry a file, or the whole body sent as image/* or application/octet-stream.
    UploadError (413 too large, 415 wrong type, 400 malformed or no file) otherwise."""
    mime, options = parse_options_header(request.headers.get("content-type", ""))
    mime = mime.decode("latin-1").lower()
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        # Refused on the header alone: none of the body is read.
        raise UploadError(413, f"upload too large: {int(length):,} bytes (limit {_mb(max_bytes)})")
    if mime == "multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise UploadError(400, "multipart/form-data without a boundary")
        return await _read_multipart(request, boundary, max_bytes, max_files)
    if mime.startswith("image/") or mime == "application/octet-stream":
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise UploadError(413, f"upload too large: over {_mb(max_bytes)}")
        return [Upload(raw_name, bytes(body))]
    shown = mime or "none"
    raise UploadError(415, f"unsupported content type {shown!r}: send image files as multipart/form-data "
                           "(curl -F file=@digit.png), or one image as the body with an image/* type")


async def _read_multipart(request: Request, boundary: bytes, max_bytes: int, max_files: int) -> list[Upload]:
    files: list[Upload] = []
    part: dict[str, Any] = {}

    def on_part_begin() -> None:
        part.clear()
        part.update(headers={}, field=b"", value=b"", data=bytearray())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part["value"] += data[start:end]

    def on_header_end() -> None:
        part["headers"][part["field"].decode("latin-1").lower()] = part["value"]
        part["field"], part["value"] = b"", b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        part["data"] += data[start:end]

    def on_part_end() -> None:
        _, disposition = parse_options_header(part["headers"].get("content-disposition", b""))
        ctype, _ = parse_options_header(part["headers"].get("content-type", b""))
        filename = disposition.get(b"filename")
        if filename is None and not (ctype.startswith(b"image/") or ctype == b"application/octet-stream"):
            return  # a plain form field, not a file
        if len(files) >= max_files:
            raise UploadError(413, f"too many files in one request (limit {max_files})")
        name = (filename or disposition.get(b"name") or b"upload").decode("utf-8", "replace")
        files.append(Upload(os.path.basename(name.replace("\\", "/")) or "upload", bytes(part["data"])))

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_part_data": on_part_data, "on_part_end": on_part_end})
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise UploadError(413, f"upload too large: over {_mb(max_bytes)}")
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise UploadError(400, f"malformed multipart body: {exc}") from None
    if not files:
        raise UploadError(400, "no file in the upload: send each image as a file field "
                               "(curl -F file=@digit.png)")
    return files


def _answer(results: list[dict[str, Any]]) -> JSONResponse:
    """200 with the array when any input got an answer; 400 when none did."""
    failed = [r for r in results if "error" in r]
    if len(failed) < len(results):
        return JSONResponse(results)
    if len(results) == 1:
        return _error(400, failed[0]["error"], results=results)
    reasons = "; ".join(f"{r['file']}: {r['error']}" for r in failed[:3])
    more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
    return _error(400, f"none of the {len(results)} files could be read ({reasons}{more})", results=results)


def read_available() -> bool:
    """Whether `digits.recognize.read` (reading whole numbers) is installed."""
    try:
        return importlib.util.find_spec(READ_MODULE) is not None
    except ImportError:
        return False


def _versions() -> dict[str, str]:
    out = {"digits": __version__, "python": platform.python_version()}
    for dist in ("numpy", "pillow", "ai-edge-litert", "fastapi", "uvicorn"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"},
                 "description": "one or more image files (any field name)"}}}},
    "image/*": {"schema": {"type": "string", "format": "binary"}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}
ERRORS = {400: {"description": "no input could be read (not an image, no digit found, malformed upload)"},
          413: {"description": "body over the size limit, or too many files"},
          415: {"description": "neither multipart/form-data nor an image type"}}


def create_app(model_path: str | os.PathLike | None = None, max_bytes: int = MAX_BYTES,
               max_files: int = MAX_FILES, threshold: float = DEFAULT_THRESHOLD,
               model: Model | None = None, read: bool = True, processes: int = 0) -> FastAPI:
    """The application, with the model loaded.

    `model_path` as `digits predict --model` (None: $DIGITS_MODEL, else models/model.tflite).
    `model`, if given, is used instead of loading the file (tests wrap the real one; threads only).
    `read`: offer /api/read when digits.recognize.read is installed (False: it answers 501).
    `processes`: 0 runs the work in threads of this process; N >= 1 in a pool of N processes,
    started (and each model loaded) while the app starts, before it takes connections.
    DigitsError if the model is missing or broken.
    """
    path = resolve_model_path(model_path)
    served = SerialModel(model if model is not None else load_model(path))
    health = {"ready": True, "model": str(path), "sha256": sha256_file(path), "versions": _versions(),
              "max_bytes": max_bytes, "max_files": max_files, "threshold": threshold, "pid": os.getpid(),
              "processes": []}
    pool: dict[str, ProcessPoolExecutor] = {}

    async def start_pool() -> None:
        """A new pool, returning once each of its processes has loaded its model."""
        # spawn, not fork: the server's threads and event loop are not copied into the workers
        ctx = multiprocessing.get_context("spawn")
        started = ctx.Queue()
        pool["now"] = ProcessPoolExecutor(processes, mp_context=ctx, initializer=start_worker,
                                          initargs=(str(path), started))
        for _ in range(processes):  # with no process idle, each job submitted starts one
            pool["now"].submit(os.getpid)
        pids = await asyncio.get_running_loop().run_in_executor(
            None, lambda: [started.get(timeout=START_TIMEOUT_S) for _ in range(processes)])
        health["processes"] = sorted(pids)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if processes:
            await start_pool()
        try:
            yield
        finally:
            if pool:
                pool["now"].shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="digits", version=__version__, lifespan=lifespan,
                  description="Handwritten digit recognition: the `digits predict` answer over HTTP.")
    app.state.model = served
    # Decoding and normalising run in threads, at most this many at once: more would not be faster
    # on these cores, and each holds a decoded image (up to 64 megapixels) in memory.
    work = anyio.CapacityLimiter(2 * (os.cpu_count() or 1))

    async def run(job: Callable, *args: Any) -> Any:
        """`job(model, *args)` in a thread with this process's model, or `job(None, *args)` in
        the next free pool process, which uses its own."""
        if not pool:
            return await anyio.to_thread.run_sync(job, served, *args, limiter=work)
        used = pool["now"]
        try:
            return await asyncio.get_running_loop().run_in_executor(used, job, None, *args)
        except BrokenProcessPool:
            if pool["now"] is used:  # the first request to find it broken replaces it
                used.shutdown(wait=False, cancel_futures=True)
                await start_pool()
            raise UploadError(503, "a worker process ended while reading this request; try again") from None

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        what = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return _error(400, f"bad request: {what}")

    @app.exception_handler(UploadError)
    async def upload_error(request: Request, exc: UploadError) -> JSONResponse:
        return _error(exc.status, exc.message)

    @app.exception_handler(ClientDisconnect)
    async def client_left(request: Request, exc: ClientDisconnect) -> Response:
        return Response(status_code=400)  # nobody is there to read it

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={
            "Content-Security-Policy": PAGE_CSP, "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", summary="ready or not, the model file and its sha256, versions")
    async def healthz() -> dict[str, Any]:
        return {**health, "read": read and read_available()}

    @app.post("/api/predict", summary="the digit in each image, as `digits predict --json`",
              openapi_extra=UPLOAD_BODY, responses=ERRORS)
    async def api_predict(
        request: Request,
        explain: bool = Query(False, description="add `normalized`: the 28×28 image the model saw, as a PNG data URL"),
        threshold: float = Query(threshold, ge=0.0, le=1.0, description="confidence below this is `uncertain`"),
        name: str = Query("upload", max_length=255, description="the `file` of a raw image body"),
    ) -> JSONResponse:
        uploads = await read_uploads(request, max_bytes, max_files, name)
        return _answer(await run(predict_job, uploads, threshold, explain))

    @app.post("/api/read", summary="the whole number in each image, as `digits read --json`",
              openapi_extra=UPLOAD_BODY, responses={**ERRORS, 501: {"description": "reading numbers is not installed"}})
    async def api_read(
        request: Request,
        explain: bool = Query(False, description="add `normalized`: each digit's 28×28 as a PNG data URL"),
        name: str = Query("upload", max_length=255, description="the `file` of a raw image body"),
    ) -> JSONResponse:
        try:
            if not read:
                raise ModuleNotFoundError(name=READ_MODULE)
            from digits.recognize.read import read_image
        except ModuleNotFoundError as exc:
            if exc.name != READ_MODULE:
                raise
            return _error(501, "reading numbers is not available")
        uploads = await read_uploads(request, max_bytes, max_files, name)
        if pool:  # a pool process uses its own import of the reader
            return _answer(await run(read_job, uploads, threshold, explain))
        return _answer(await run(read_job, uploads, threshold, explain, read_image))

    return app
