"""Stage plots: confusion heatmap, training curves and image grids as PNG files."""

from __future__ import annotations

import _env  # noqa: F401, I001  (first: one line, not a traceback, outside the environment)

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from digits.errors import DigitsError, cli_entry
from digits.pipeline.params import PlotsParams, load_section
from digits.storage import atomic_path, load_npz


def _read_curves(live_dir: Path) -> pd.DataFrame:
    """Join dvclive's per-metric TSV files into one frame indexed by step."""
    frames = []
    for split in ("train", "val"):
        for metric in ("loss", "accuracy"):
            tsv = live_dir / "plots" / "metrics" / split / f"{metric}.tsv"
            if not tsv.is_file():
                raise DigitsError(f"{tsv}: missing training curve (re-run train)")
            df = pd.read_csv(tsv, sep="\t")
            frames.append(df[["step", metric]].rename(columns={metric: f"{split}/{metric}"}).set_index("step"))
    return pd.concat(frames, axis=1).reset_index()


def _save(fig: plt.Figure, path: Path, dpi: int) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    plt.close(fig)
    print(f"plots: wrote {path} ({path.stat().st_size:,} B)")


@cli_entry("plots")
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", required=True, help="train.npz (for sample images)")
    ap.add_argument("--test", required=True, help="test.npz")
    ap.add_argument("--probs", required=True, help="test probabilities .npz from evaluate")
    ap.add_argument("--confusion", required=True, help="confusion matrix CSV from evaluate")
    ap.add_argument("--live", required=True, help="dvclive directory from train")
    ap.add_argument("--out-dir", required=True, help="directory for the PNG files")
    args = ap.parse_args()
    p: PlotsParams = load_section("plots")

    from digits import SEED
    from digits.pipeline.plotting import (
        class_samples,
        confusion_heatmap,
        prediction_grid,
        training_curves,
        worst_errors,
    )

    train = load_npz(args.train, ("x", "y"))
    test = load_npz(args.test, ("x", "y"))
    probs = load_npz(args.probs, ("probs",))["probs"]
    if probs.shape != (len(test["y"]), 10):
        raise DigitsError(f"{args.probs}: shape {probs.shape} does not match {len(test['y'])} test images")
    cm = pd.read_csv(args.confusion, index_col=0).to_numpy()
    curves = _read_curves(Path(args.live))
    print(f"plots: {len(train['y'])} train and {len(test['y'])} test images, {len(curves)} epochs of curves")

    out = Path(args.out_dir)
    _save(confusion_heatmap(cm), out / "confusion_matrix.png", p.dpi)
    _save(training_curves(curves), out / "training_curves.png", p.dpi)
    _save(prediction_grid(test["x"], test["y"], probs, p.grid_rows, p.grid_cols), out / "test_predictions.png", p.dpi)
    _save(worst_errors(test["x"], test["y"], probs, p.worst, p.grid_cols), out / "worst_errors.png", p.dpi)
    _save(class_samples(train["x"], train["y"], p.samples_per_class, SEED), out / "train_samples.png", p.dpi)


if __name__ == "__main__":
    main()
