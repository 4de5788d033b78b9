"""MNIST files: names, pinned checksums, IDX parsing and fetching from mirrors.

The sha256 values are those of the *decompressed* IDX files, so every honest mirror
passes whatever gzip settings it used, and no corrupted or substituted file ever does.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from digits.errors import DigitsError

MIRROR_ENV = "MNIST_MIRROR"
# A JSON file replacing the pinned checksums and shapes below: how the tests run the real
# pipeline on a tiny synthetic mirror. Never set for the committed results.
PINS_ENV = "MNIST_PINS"


@dataclass(frozen=True)
class MnistFile:
    key: str  # array name in the fetched .npz
    name: str  # file name on every mirror
    sha256: str  # of the decompressed IDX bytes
    shape: tuple[int, ...]


FILES: tuple[MnistFile, ...] = (
    MnistFile("x_train", "train-images-idx3-ubyte.gz",
              "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", (60000, 28, 28)),
    MnistFile("y_train", "train-labels-idx1-ubyte.gz",
              "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", (60000,)),
    MnistFile("x_test", "t10k-images-idx3-ubyte.gz",
              "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", (10000, 28, 28)),
    MnistFile("y_test", "t10k-labels-idx1-ubyte.gz",
              "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", (10000,)),
)

def load_pins(path: str | os.PathLike) -> tuple[MnistFile, ...]:
    """FILES with the checksums and shapes from a JSON pins file, which names each of the four
    files: {"train-images-idx3-ubyte.gz": {"sha256": "<64 hex>", "shape": [N, 28, 28]}, ...}."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DigitsError(f"{PINS_ENV}={path}: unreadable ({exc.strerror})") from None
    except ValueError as exc:
        raise DigitsError(f"{PINS_ENV}={path}: not JSON ({exc})") from None
    names = [f.name for f in FILES]
    if not isinstance(doc, dict) or sorted(doc) != sorted(names):
        raise DigitsError(f"{PINS_ENV}={path}: must be a JSON object naming exactly {', '.join(names)}")
    out = []
    for f in FILES:
        pin = doc[f.name]
        sha = pin.get("sha256") if isinstance(pin, dict) else None
        shape = pin.get("shape") if isinstance(pin, dict) else None
        if not (isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)):
            raise DigitsError(f"{PINS_ENV}={path}: {f.name}: sha256 must be 64 lowercase hex digits")
        if not (isinstance(shape, list) and len(shape) == len(f.shape) and all(isinstance(d, int) for d in shape)
                and shape[0] > 0 and tuple(shape[1:]) == f.shape[1:]):
            dims = ", 28, 28" if len(f.shape) == 3 else ""
            raise DigitsError(f"{PINS_ENV}={path}: {f.name}: shape must be [N{dims}]")
        out.append(MnistFile(f.key, f.name, sha, tuple(shape)))
    return tuple(out)


def pinned_files() -> tuple[MnistFile, ...]:
    """The files fetch verifies: FILES, or those of the pins file named by $MNIST_PINS."""
    pins = os.environ.get(PINS_ENV)
    return load_pins(pins) if pins else FILES


# IDX type codes (http://yann.lecun.com/exdb/mnist/): only unsigned bytes occur in MNIST.
_IDX_DTYPES = {0x08: np.dtype(np.uint8)}


def parse_idx(raw: bytes, what: str = "IDX data") -> np.ndarray:
    """Parse decompressed IDX bytes into an array, checking magic number and length."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DigitsError(f"{what}: not an IDX file (bad magic number)")
    dtype = _IDX_DTYPES.get(raw[2])
    if dtype is None:
        raise DigitsError(f"{what}: unsupported IDX element type 0x{raw[2]:02x}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DigitsError(f"{what}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DigitsError(f"{what}: IDX body has {len(raw) - header} bytes, header promises {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).copy()


def gunzip(data: bytes, what: str) -> bytes:
    """Decompress gzip bytes; a truncated or corrupt archive is a DigitsError."""
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise DigitsError(f"{what}: corrupt or truncated gzip ({exc})") from None


def verify(raw: bytes, spec: MnistFile) -> None:
    """Refuse decompressed bytes whose sha256 is not the pinned one."""
    digest = hashlib.sha256(raw).hexdigest()
    if digest != spec.sha256:
        raise DigitsError(f"{spec.name}: sha256 mismatch (got {digest[:16]}…, expected {spec.sha256[:16]}…)")


def _read_local(base: Path, name: str) -> bytes:
    path = base / name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise DigitsError(f"{path}: missing") from None
    except OSError as exc:
        raise DigitsError(f"{path}: unreadable ({exc.strerror})") from None


def _download_once(url: str, timeout_s: float, progress: bool) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            total = resp.headers.get("Content-Length")
            total = int(total) if total and total.isdigit() else None
            chunks = []
            # disable=None: a bar on a terminal, silence in logs and pipes
            with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1],
                      disable=None if progress else True, leave=False, mininterval=1.0) as bar:
                while chunk := resp.read(1 << 16):
                    chunks.append(chunk)
                    bar.update(len(chunk))
            data = b"".join(chunks)
    except urllib.error.HTTPError as exc:
        raise DigitsError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise _Transient(f"{url}: unreachable ({exc.reason})") from None
    except (OSError, ValueError) as exc:  # timeouts, connection reset mid-body, IncompleteRead
        raise _Transient(f"{url}: download failed ({type(exc).__name__}: {exc})") from None
    if total is not None and len(data) != total:
        raise _Transient(f"{url}: connection dropped after {len(data)} of {total} bytes")
    return data


class _Transient(DigitsError):
    """A network failure worth retrying on the same mirror."""


def download(url: str, *, timeout_s: float, attempts: int, progress: bool = True) -> bytes:
    """GET `url` with a progress bar, retrying transient network failures."""
    for attempt in range(1, attempts + 1):
        try:
            return _download_once(url, timeout_s, progress)
        except _Transient:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def sources(mirrors: Sequence[str], local_mirror: str | None) -> list[str]:
    """Ordered sources: the local mirror directory (if named) first, then the URL mirrors."""
    out = []
    if local_mirror:
        out.append(Path(local_mirror).expanduser().resolve().as_uri() + "/")
    out.extend(mirrors)
    return out


def fetch_file(spec: MnistFile, srcs: Sequence[str], *, timeout_s: float, attempts: int,
               progress: bool = True, log: Callable[[str], None] = print) -> np.ndarray:
    """Get one MNIST file from the first source that serves complete, verified data."""
    failures = []
    for src in srcs:
        try:
            if src.startswith("file://"):
                blob = _read_local(Path(urllib.request.url2pathname(src[len("file://"):])), spec.name)
            else:
                blob = download(src + spec.name, timeout_s=timeout_s, attempts=attempts, progress=progress)
            raw = gunzip(blob, f"{src}{spec.name}")
            verify(raw, spec)
            array = parse_idx(raw, spec.name)
            if array.shape != spec.shape:
                raise DigitsError(f"{spec.name}: shape {array.shape}, expected {spec.shape}")
        except DigitsError as exc:
            failures.append(str(exc))
            continue
        log(f"fetch: {spec.name} from {src} ok (sha256 verified, shape {array.shape})")
        return array
    hint = (f"offline? set {MIRROR_ENV}=/path/to/dir holding the four MNIST .gz files "
            f"(for example ../shared/data/mnist) to use a local copy")
    raise DigitsError(f"could not get {spec.name} from any source: {' | '.join(failures)}. {hint}")


def fetch_all(mirrors: Sequence[str], *, timeout_s: float, attempts: int,
              local_mirror: str | None = None, files: Sequence[MnistFile] | None = None,
              progress: bool = True, log: Callable[[str], None] = print) -> dict[str, np.ndarray]:
    """Fetch and verify every file in `files`; returns {key: uint8 array}.

    `local_mirror` defaults to $MNIST_MIRROR; it is tried before the URL mirrors.
    `files` defaults to FILES, or to the pins in the file named by $MNIST_PINS when set.
    """
    if files is None:
        files = pinned_files()
        if files is not FILES:
            log(f"fetch: checksums and shapes from {PINS_ENV}={os.environ[PINS_ENV]}, not MNIST's pinned ones")
    if local_mirror is None:
        local_mirror = os.environ.get(MIRROR_ENV) or None
    if local_mirror and not Path(local_mirror).expanduser().is_dir():
        raise DigitsError(f"{MIRROR_ENV}={local_mirror}: not a directory")
    srcs = sources(mirrors, local_mirror)
    return {spec.key: fetch_file(spec, srcs, timeout_s=timeout_s, attempts=attempts,
                                 progress=progress, log=log) for spec in files}
