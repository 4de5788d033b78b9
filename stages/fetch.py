"""Stage fetch: download the four MNIST IDX files, verify them, save raw uint8 arrays."""

from __future__ import annotations

import _env  # noqa: F401, I001  (first: one line, not a traceback, outside the environment)

import argparse

from digits.errors import cli_entry
from digits.pipeline.mnist import fetch_all
from digits.pipeline.params import FetchParams, load_section
from digits.storage import save_npz


@cli_entry("fetch")
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, help="raw arrays .npz to write")
    args = ap.parse_args()
    p: FetchParams = load_section("fetch")
    arrays = fetch_all(p.mirrors, timeout_s=p.timeout_s, attempts=p.attempts)
    save_npz(args.out, arrays)
    for key, a in arrays.items():
        print(f"fetch: {key} {a.shape} {a.dtype} range [{a.min()}, {a.max()}]")
    print(f"fetch: wrote {args.out}")


if __name__ == "__main__":
    main()
