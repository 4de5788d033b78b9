"""Stage numbers_render: handwritten numbers composed from MNIST test digits and pages with no
number, drawn as image files (synthetic/ and blank/, each with labels.csv and images/) for
numbers_bench.

The files depend on the test digits, the composer and the `numbers` params, not on the model, so
a retrained model is read on the same files without drawing them again.
"""

from __future__ import annotations

import _env  # noqa: F401, I001  (first: one line, not a traceback, outside the environment)

import argparse

from digits.errors import cli_entry
from digits.pipeline import numbers, parallel, wild_files
from digits.pipeline.data import load_split
from digits.pipeline.params import NumbersParams, load_section
from digits.storage import atomic_path


@cli_entry("numbers_render")
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--test", required=True, help="test.npz from preprocess (never trained on)")
    ap.add_argument("--out", required=True, help="output directory (synthetic/ and blank/)")
    args = ap.parse_args()
    p: NumbersParams = load_section("numbers")

    x, y = load_split(args.test, "numbers_render from test")
    workers = parallel.worker_count(p.workers)
    print(f"numbers_render: {p.count} synthetic numbers ({p.touching:.0%} with touching digits) under "
          f"{len(numbers.CONDITIONS)} conditions, {p.blanks} blank pages; seed {p.seed}, {workers} workers",
          flush=True)
    step = max(1, p.count // 5)

    def progress(done: int, total: int) -> None:
        if done % step < numbers.CHUNK or done == total:
            print(f"numbers_render: {done}/{total} drawn", flush=True)

    with atomic_path(args.out, directory=True) as tmp:
        numbers.render(x, y, tmp, p.count, p.seed, p.touching, p.blanks, workers, progress=progress)
        files, size = wild_files.size_of(tmp)
    print(f"numbers_render: {files} files, {size / 1e6:.1f} MB; wrote {args.out}")


if __name__ == "__main__":
    main()
