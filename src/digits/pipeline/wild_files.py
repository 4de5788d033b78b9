"""The benchmarks' inputs as image files, in directories laid out like the real development sets
(`labels.csv` and `images/`, `write_set` and `read_rows`), so `digits predict DIR/images` and
`digits read DIR/images` read them too; and the `wild` benchmark's own: one directory per
condition (`render`).

The `wild_render` stage writes them and the `wild` stage reads them (`numbers_render` and
`numbers_bench` likewise, `digits.pipeline.numbers.render`). The files depend on the test
digits, the renderers and the seed, not on the model: `dvc repro` after training reads them
again without drawing them again.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from digits.pipeline import wild
from digits.pipeline.parallel import in_workers

# The UCI handwritten digits scikit-learn ships (load_digits: 1,797 digits by 43 other writers,
# 8×8 at 17 grey levels): real writing, as small and coarse as a crop gets. Never trained on.
UCI = "uci_8x8"
LABELS = "labels.csv"  # file, label (-1: a page with no digit), index (MNIST test index or UCI row)
IMAGES = "images"


def rendered(directory: str | Path) -> list[str]:
    """The conditions written in `directory`, in the order the benchmark reports them."""
    d = Path(directory)
    return [nm for nm in (*wild.CONDITIONS, wild.BLANK, UCI) if (d / nm / LABELS).is_file()]


def read_rows(directory: str | Path) -> list[dict[str, str]]:
    """The rows of a directory's labels.csv, in order, each with `path`: its file in images/."""
    d = Path(directory)
    with open(d / LABELS, newline="") as f:
        return [{**r, "path": str(d / IMAGES / r["file"])} for r in csv.DictReader(f)]


def items(directory: str | Path) -> list[tuple[int, int, str]]:
    """(index, label, path) of every file of one condition's directory, or of a real set's (whose
    labels.csv has no index column: the row is the index), in its order."""
    return [(int(r.get("index", i)), int(r["label"]), r["path"]) for i, r in enumerate(read_rows(directory))]


def size_of(directory: str | Path) -> tuple[int, int]:
    """(files, bytes) in the sets under `directory` (each `*/images/*`): what a render stage wrote."""
    files = list(Path(directory).glob(f"*/{IMAGES}/*"))
    return len(files), sum(f.stat().st_size for f in files)


def write_set(out: Path, header: list[str], rows: list[tuple[str, bytes, list]]) -> None:
    """A directory of files and their labels.csv: per row the file's name, its bytes and the
    row's other columns (`header` names them all, the file's first)."""
    (out / IMAGES).mkdir(parents=True)
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\n")
    w.writerow(header)
    for name, data, cols in rows:
        (out / IMAGES / name).write_bytes(data)
        w.writerow([name, *cols])
    (out / LABELS).write_text(text.getvalue())


def uci_files() -> list[tuple[str, bytes, list]]:
    """The UCI 8×8 digits as PNG files, dark ink on white as a scan or a form would have them."""
    from sklearn.datasets import load_digits

    d = load_digits()
    rows = []
    for i, (a, label) in enumerate(zip(d.images, d.target, strict=True)):
        buf = io.BytesIO()
        Image.fromarray((255 - a * 255 / 16).round().astype(np.uint8)).save(buf, format="PNG")
        rows.append((f"{UCI}_{i:04d}.png", buf.getvalue(), [int(label), i]))
    return rows


# Worker state, set once per process by _init (fork: the arrays are shared, not copied).
_STATE: dict = {}


def _init(images: np.ndarray, labels: np.ndarray, out: str, n: int, n_blank: int, seed: int) -> None:
    _STATE.update(images=images, labels=labels, out=Path(out), n=n, n_blank=n_blank, seed=seed)


def _render_one(name: str) -> tuple[str, int, float]:
    """Write one condition's files; runs in a worker. (name, files, seconds)."""
    t = time.perf_counter()
    if name == UCI:
        rows = uci_files()
    else:
        n = _STATE["n_blank"] if name == wild.BLANK else _STATE["n"]
        made = wild.render_condition(name, _STATE["images"], _STATE["labels"], n, _STATE["seed"])
        rows = [(f"{name}_{k:04d}_{idx}{r.suffix}", r.data, [label, idx]) for k, (idx, label, r) in enumerate(made)]
    write_set(_STATE["out"] / name, ["file", "label", "index"], rows)
    return name, len(rows), time.perf_counter() - t


def render(images: np.ndarray, labels: np.ndarray, out: str | Path, n: int, seed: int, workers: int,
           n_blank: int = 100, conditions: list[str] | None = None, uci: bool = False,
           progress: Callable[[str, int, float], None] | None = None) -> list[str]:
    """Write every condition's files under `out` (which must not exist yet or be empty): n digits
    per condition (CONDITIONS, or `conditions`), n_blank pages with no digit, and the UCI digits
    if `uci`. Returns the conditions written, in report order. Each condition draws from its own
    seeded generator, so the files are the same byte for byte for any number of workers."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    names = list(conditions or wild.CONDITIONS) + ([wild.BLANK] if n_blank else []) + ([UCI] if uci else [])
    for name, count, secs in in_workers(_render_one, names, workers, _init,
                                        (images, labels, str(out), n, n_blank, seed)):
        if progress:
            progress(name, count, secs)
    return rendered(out)
