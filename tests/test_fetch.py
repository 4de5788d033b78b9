"""fetch: local mirrors, HTTP mirrors that fail in every way, checksums, atomic output."""

from __future__ import annotations

import gzip
import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, idx_bytes
from digits.errors import DigitsError
from digits.mnist import FILES, fetch_all, gunzip, parse_idx


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


def test_stage_with_real_mirror(tmp_path):
    from conftest import real_mirror

    mirror = real_mirror()
    if mirror is None:
        pytest.skip("no local MNIST mirror: set MNIST_MIRROR to a directory with the four .gz files")
    res = _run_fetch_stage(tmp_path, [_closed_port_url()], env_mirror=str(mirror))
    assert res.returncode == 0, res.stderr
    with np.load(tmp_path / "raw" / "mnist.npz") as d:
        assert {k: d[k].shape for k in d.files} == {f.key: f.shape for f in FILES}
        assert np.bincount(d["y_test"]).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
