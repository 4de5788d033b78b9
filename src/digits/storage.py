"""Atomic writes and checked reads of the files stages exchange.

Every output is written to a hidden temporary sibling and renamed into place, so a
stage that dies (even by SIGKILL) leaves the previous output or none, never half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from digits.errors import DigitsError

TMP_PREFIX = ".tmp-"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _clear_stale(target: Path) -> None:
    # A killed earlier run may have left its temporary sibling behind.
    for stale in target.parent.glob(f"{TMP_PREFIX}*-{target.name}"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to `target`; on success rename it onto `target`.

    The temporary name keeps the target's suffix (Keras insists on `.keras`). On any
    exception the temporary file or directory is removed and `target` is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale(target)
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, suffix=f"-{target.name}", dir=target.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=f"-{target.name}", dir=target.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        # mkstemp/mkdtemp create private (0600/0700) entries; outputs get the usual mode.
        tmp.chmod((0o777 if directory else 0o666) & ~_umask())
        if directory:
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        else:
            _fsync(tmp)
            os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Atomically write raw bytes."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write text (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write pretty, key-sorted JSON (stable diffs in git)."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def save_npz(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> None:
    """Atomically save arrays uncompressed (fast to load; DVC caches them anyway)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def load_npz(path: str | os.PathLike, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Load the named arrays from an .npz, with a clear error if the file or a key is bad."""
    path = Path(path)
    if not path.is_file():
        raise DigitsError(f"{path}: no such file (run the stage that produces it: dvc repro)")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in keys if k not in data.files]
            if missing:
                raise DigitsError(f"{path}: missing arrays {missing}; has {sorted(data.files)}")
            return {k: data[k] for k in keys}
    except DigitsError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, ValueError, OSError, EOFError...
        raise DigitsError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc})") from exc


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, streamed."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
