"""Stage preprocess: scale pixels to [0, 1] and split a stratified validation set."""

from __future__ import annotations

import _env  # noqa: F401, I001  (first: one line, not a traceback, outside the environment)

import argparse

import numpy as np

from digits.errors import cli_entry
from digits.pipeline.data import check_images, check_labels, describe, preprocess
from digits.pipeline.params import PreprocessParams, load_section
from digits.storage import load_npz, save_npz


@cli_entry("preprocess")
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", required=True, help="raw uint8 .npz from fetch")
    ap.add_argument("--out-dir", required=True, help="directory for train/val/test .npz")
    args = ap.parse_args()
    p: PreprocessParams = load_section("preprocess")
    raw = load_npz(args.raw, ("x_train", "y_train", "x_test", "y_test"))
    # Checked before anything is printed: describe() counts the labels, and labels of -1
    # or 2.5 would end in a traceback there instead of one line naming the array.
    for split in ("train", "test"):
        check_images(raw[f"x_{split}"], f"x_{split}", dtype=np.uint8)
        check_labels(raw[f"y_{split}"], f"y_{split}", len(raw[f"x_{split}"]))
    print(describe("preprocess in train", raw["x_train"], raw["y_train"]))
    print(describe("preprocess in test", raw["x_test"], raw["y_test"]))
    out = preprocess(raw["x_train"], raw["y_train"], raw["x_test"], raw["y_test"],
                     val_fraction=p.val_fraction, seed=p.seed,
                     train_limit=p.train_limit, test_limit=p.test_limit)
    for split in ("train", "val", "test"):
        x, y = out[f"x_{split}"], out[f"y_{split}"]
        print(describe(f"preprocess out {split}", x, y))
        save_npz(f"{args.out_dir}/{split}.npz", {"x": x, "y": y})


if __name__ == "__main__":
    main()
