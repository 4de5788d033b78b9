"""Stage wild_render: MNIST test digits rendered as real image files, the way people capture
digits (one directory per condition, each with labels.csv and images/), for the wild stage.

The files depend on the test digits, the renderers and the `wild` params, not on the model, so
a retrained model is read on the same files without drawing them again.
"""

from __future__ import annotations

import _env  # noqa: F401, I001  (first: one line, not a traceback, outside the environment)

import argparse

from digits.errors import cli_entry
from digits.pipeline import parallel, wild, wild_files
from digits.pipeline.data import load_split
from digits.pipeline.params import WildParams, load_section
from digits.storage import atomic_path


@cli_entry("wild_render")
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--test", required=True, help="test.npz from preprocess (never trained on)")
    ap.add_argument("--out", required=True, help="output directory: one directory of files per condition")
    args = ap.parse_args()
    p: WildParams = load_section("wild")

    x, y = load_split(args.test, "wild_render in test")
    workers = parallel.worker_count(p.workers)
    total = len(wild.CONDITIONS) + (p.blanks > 0) + p.uci
    print(f"wild_render: {len(wild.CONDITIONS)} conditions x {p.per_condition} digits, {p.blanks} blank pages"
          f"{', the UCI 8x8 digits' if p.uci else ''}; seed {p.seed}, {workers} workers", flush=True)
    done = []

    def progress(name: str, count: int, secs: float) -> None:
        done.append(name)
        print(f"wild_render: [{len(done):2d}/{total}] {name:17s} {count:4d} files  ({secs:.1f} s)", flush=True)

    with atomic_path(args.out, directory=True) as tmp:
        names = wild_files.render(x, y, tmp, p.per_condition, p.seed, workers, n_blank=p.blanks, uci=p.uci,
                                  progress=progress)
        files, size = wild_files.size_of(tmp)
    print(f"wild_render: {len(names)} conditions, {files} files, {size / 1e6:.1f} MB; wrote {args.out}")


if __name__ == "__main__":
    main()
