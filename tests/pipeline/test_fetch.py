"""fetch: local mirrors, HTTP mirrors that fail in every way, checksums, atomic output."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, env_with, idx_bytes, write_synthetic_mirror
from digits.errors import DigitsError
from digits.pipeline.mnist import FILES, fetch_all, gunzip, load_pins, parse_idx


def test_parse_idx_round_trip_and_errors():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    assert np.array_equal(parse_idx(idx_bytes(a)), a)
    with pytest.raises(DigitsError, match="bad magic"):
        parse_idx(b"\x01\x02\x08\x01" + b"\0" * 8)
    with pytest.raises(DigitsError, match="body has 23 bytes"):
        parse_idx(idx_bytes(a)[:-1])
    with pytest.raises(DigitsError, match="unsupported IDX element type"):
        parse_idx(b"\x00\x00\x0d\x01" + (1).to_bytes(4, "big") + b"\0" * 4)


def test_gunzip_rejects_truncated():
    blob = gzip.compress(b"x" * 1000)
    with pytest.raises(DigitsError, match="corrupt or truncated gzip"):
        gunzip(blob[: len(blob) // 2], "f.gz")


def test_local_mirror(tiny_mirror, tiny_mnist):
    mirror, specs = tiny_mirror
    got = fetch_all([], timeout_s=1, attempts=1, local_mirror=str(mirror), files=specs, progress=False,
                    log=lambda _: None)
    for key, arr in tiny_mnist.items():
        assert np.array_equal(got[key], arr)
        assert got[key].dtype == np.uint8


def test_local_mirror_corrupt_file_is_refused(tiny_mirror):
    mirror, specs = tiny_mirror
    path = mirror / specs[0].name
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[100] ^= 0xFF  # one flipped pixel: valid gzip, valid IDX, wrong data
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DigitsError, match="sha256 mismatch"):
        fetch_all([], timeout_s=1, attempts=1, local_mirror=str(mirror), files=specs, progress=False)


def test_local_mirror_missing_file(tiny_mirror):
    mirror, specs = tiny_mirror
    (mirror / specs[3].name).unlink()
    with pytest.raises(DigitsError, match=r"t10k-labels-idx1-ubyte.gz: missing.*MNIST_MIRROR"):
        fetch_all([], timeout_s=1, attempts=1, local_mirror=str(mirror), files=specs, progress=False,
                  log=lambda _: None)


def test_local_mirror_must_be_directory(tmp_path):
    with pytest.raises(DigitsError, match="not a directory"):
        fetch_all([], timeout_s=1, attempts=1, local_mirror=str(tmp_path / "none"))


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves /<mode>/<file>; the mode decides how the response goes wrong."""

    payloads: dict[str, bytes] = {}
    hits: list[str] = []

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        _, mode, name = self.path.split("/", 2)
        self.hits.append(mode)
        blob = self.payloads.get(name)
        if blob is None or mode == "missing":
            self.send_error(404)
            return
        if mode == "truncated":
            blob = blob[: len(blob) // 2]
        elif mode == "corrupt":
            blob = blob[:20] + bytes(b ^ 0x5A for b in blob[20:40]) + blob[40:]
        elif mode == "otherdata":
            blob = gzip.compress(idx_bytes(np.zeros((3, 28, 28), np.uint8)))
        self.send_response(200)
        self.send_header("Content-Length", str(len(blob)))
        self.end_headers()
        if mode == "drop":  # promise the whole file, send half, hang up
            self.wfile.write(blob[: len(blob) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.wfile.write(blob)


@pytest.fixture
def http_mirror(tiny_mirror):
    mirror, specs = tiny_mirror
    _Handler.payloads = {s.name: (mirror / s.name).read_bytes() for s in specs}
    _Handler.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", specs
    server.shutdown()
    server.server_close()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/x/"


def test_every_bad_mirror_is_skipped_for_the_next(http_mirror, tiny_mnist):
    base, specs = http_mirror
    bad = ["drop", "truncated", "corrupt", "otherdata", "missing"]
    mirrors = [_closed_port_url()] + [f"{base}/{m}/" for m in bad] + [f"{base}/good/"]
    logs: list[str] = []
    got = fetch_all(mirrors, timeout_s=5, attempts=2, local_mirror="", files=specs[:1], progress=False,
                    log=logs.append)
    assert np.array_equal(got["x_train"], tiny_mnist["x_train"])
    assert logs == [f"fetch: {specs[0].name} from {base}/good/ ok (sha256 verified, shape (200, 28, 28))"]
    # a dropped connection is transient and retried once; broken content is not
    assert _Handler.hits == ["drop", "drop", "truncated", "corrupt", "otherdata", "missing", "good"]


def test_all_mirrors_bad_gives_one_error_naming_each(http_mirror):
    base, specs = http_mirror
    mirrors = [_closed_port_url(), f"{base}/drop/", f"{base}/otherdata/"]
    with pytest.raises(DigitsError) as exc:
        fetch_all(mirrors, timeout_s=5, attempts=1, local_mirror="", files=specs[:1], progress=False)
    msg = str(exc.value)
    for fragment in ("unreachable", "connection dropped", "sha256 mismatch", "MNIST_MIRROR"):
        assert fragment in msg


def _run_fetch_stage(tmp_path: Path, mirrors: list[str], env_mirror: str | None) -> subprocess.CompletedProcess:
    (tmp_path / "params.yaml").write_text(
        "fetch:\n  mirrors: [" + ", ".join(f"'{m}'" for m in mirrors) + "]\n  timeout_s: 5\n  attempts: 1\n")
    env = {k: v for k, v in os.environ.items() if k != "MNIST_MIRROR"}
    if env_mirror is not None:
        env["MNIST_MIRROR"] = env_mirror
    return subprocess.run([sys.executable, str(ROOT / "stages" / "fetch.py"), "--out", "raw/mnist.npz"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_stage_offline_fails_in_one_line_and_writes_nothing(tmp_path, http_mirror):
    base, _ = http_mirror
    (tmp_path / "raw").mkdir()
    res = _run_fetch_stage(tmp_path, [_closed_port_url(), f"{base}/truncated/"], env_mirror=None)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fetch: error: could not get train-images")
    assert "set MNIST_MIRROR=" in lines[0]
    assert list((tmp_path / "raw").iterdir()) == []


def _run_fetch_stage_from(tmp_path: Path, source: dict[str, str]) -> subprocess.CompletedProcess:
    url = _closed_port_url()
    (tmp_path / "params.yaml").write_text(f"fetch:\n  mirrors: ['{url}']\n  timeout_s: 5\n  attempts: 1\n")
    return subprocess.run([sys.executable, str(ROOT / "stages" / "fetch.py"), "--out", "raw/mnist.npz"],
                          cwd=tmp_path, env=env_with(source), capture_output=True, text=True, timeout=120)


def test_stage_with_local_mirror(tmp_path, mnist_source):
    """The real MNIST when MNIST_MIRROR names it; else the synthetic mirror with its pins."""
    res = _run_fetch_stage_from(tmp_path, mnist_source)
    assert res.returncode == 0, res.stderr
    files = load_pins(mnist_source["MNIST_PINS"]) if "MNIST_PINS" in mnist_source else FILES
    with np.load(tmp_path / "raw" / "mnist.npz") as d:
        assert {k: d[k].shape for k in d.files} == {f.key: f.shape for f in files}
        counts = np.bincount(d["y_test"]).tolist()
    if "MNIST_PINS" in mnist_source:
        assert "checksums and shapes from MNIST_PINS=" in res.stdout
        assert counts == [50] * 10
    else:
        assert counts == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_pins_replace_mnists_checksums(tmp_path):
    """Without MNIST_PINS the synthetic mirror is refused (MNIST's sha256), with them it passes,
    and a pins file that does not match the files is refused like a substituted mirror."""
    mirror, pins = write_synthetic_mirror(tmp_path, n_train=60, n_test=20)
    res = _run_fetch_stage_from(tmp_path, {"MNIST_MIRROR": str(mirror)})
    assert res.returncode == 1 and "sha256 mismatch" in res.stderr
    res = _run_fetch_stage_from(tmp_path, {"MNIST_MIRROR": str(mirror), "MNIST_PINS": str(pins)})
    assert res.returncode == 0, res.stderr
    with np.load(tmp_path / "raw" / "mnist.npz") as d:
        assert d["x_train"].shape == (60, 28, 28) and d["y_test"].shape == (20,)
    doc = json.loads(pins.read_text())
    doc["t10k-labels-idx1-ubyte.gz"]["sha256"] = "0" * 64
    pins.write_text(json.dumps(doc))
    res = _run_fetch_stage_from(tmp_path, {"MNIST_MIRROR": str(mirror), "MNIST_PINS": str(pins)})
    assert res.returncode == 1 and "t10k-labels-idx1-ubyte.gz: sha256 mismatch" in res.stderr


@pytest.mark.parametrize("edit, fragment", [
    (lambda d: d.pop("train-images-idx3-ubyte.gz"), "must be a JSON object naming exactly"),
    (lambda d: d["train-labels-idx1-ubyte.gz"].update(sha256="abc"), "sha256 must be 64 lowercase hex"),
    (lambda d: d["t10k-images-idx3-ubyte.gz"].update(shape=[20, 28]), "shape must be [N, 28, 28]"),
    (lambda d: d["t10k-labels-idx1-ubyte.gz"].update(shape=[0]), "shape must be [N]"),
])
def test_bad_pins_file_is_one_error(tmp_path, edit, fragment):
    _, pins = write_synthetic_mirror(tmp_path, n_train=20, n_test=20)
    doc = json.loads(pins.read_text())
    edit(doc)
    pins.write_text(json.dumps(doc))
    with pytest.raises(DigitsError, match=re.escape(fragment)):
        load_pins(pins)
