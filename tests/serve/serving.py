"""Helpers for the server tests: the model, the real digits, and a live uvicorn server on a
free port of 127.0.0.1 (in a thread of the test process, so a test can hand it a wrapped model)."""

from __future__ import annotations

import csv
import socket
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT

REAL = ROOT.parent / "shared" / "data" / "real-digits"


def model_path() -> Path:
    """The model `digits serve` would use; the test is skipped without one."""
    from digits.errors import DigitsError
    from digits.loading import resolve_model_path

    try:
        return resolve_model_path()
    except DigitsError as exc:
        pytest.skip(f"no trained model ({exc}); run `dvc repro` or set $DIGITS_MODEL")


def real_digits() -> dict[str, int]:
    """File name -> label of the real handwritten digits beside the repository."""
    labels = REAL / "labels.csv"
    if not labels.is_file():
        pytest.skip(f"no real digits at {REAL} (labels.csv and images/)")
    with labels.open(newline="") as f:
        return {row["file"]: int(row["label"]) for row in csv.DictReader(f)}


class LiveServer:
    """uvicorn serving `app` on 127.0.0.1, on a port the OS picked; a context manager."""

    def __init__(self, app) -> None:
        import uvicorn

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(20)
        self.sock.close()
