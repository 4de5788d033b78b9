"""Stage train: fit the model named in params, save it (.keras + .tflite) with provenance."""

from __future__ import annotations

import _env  # noqa: F401, I001  (first: one line, not a traceback, outside the environment)

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from digits.errors import cli_entry
from digits.pipeline.data import check_images, check_labels, describe
from digits.pipeline.params import TrainParams, load_section
from digits.storage import atomic_path, load_npz, write_json


@cli_entry("train")
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", required=True, help="train.npz from preprocess")
    ap.add_argument("--val", required=True, help="val.npz from preprocess")
    ap.add_argument("--model", required=True, help="output .keras model")
    ap.add_argument("--tflite", required=True, help="output .tflite export of the same model")
    ap.add_argument("--provenance", required=True, help="output provenance JSON")
    ap.add_argument("--live", required=True, help="output dvclive directory (per-epoch curves)")
    args = ap.parse_args()
    p: TrainParams = load_section("train")  # validate before the slow TensorFlow import

    tr = load_npz(args.train, ("x", "y"))
    va = load_npz(args.val, ("x", "y"))
    for path, d in ((args.train, tr), (args.val, va)):
        check_images(d["x"], f"{path}: x", dtype=np.float32)
        check_labels(d["y"], f"{path}: y", len(d["x"]))
        print(describe(f"train in {path}", d["x"], d["y"]))

    # TensorFlow (slow to import) only once params and inputs are known good.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from digits.pipeline.export import export_tflite
    from digits.pipeline.live import LiveCurves, open_live
    from digits.pipeline.provenance import provenance
    from digits.pipeline.training import configure_runtime, train

    configure_runtime(p.seed, p.threads)

    with atomic_path(args.live, directory=True) as live_dir:
        live = open_live(str(live_dir))
        result = train(tr["x"], tr["y"], va["x"], va["y"], p, callbacks=[LiveCurves(live)],
                       verbose=1 if sys.stdout.isatty() else 2)
        best = result.best_epoch - 1
        # dvclive's summary holds the last epoch; "best" is the val peak (the saved model with early stopping).
        # No wall time here: metrics must be identical when the params are (it is in provenance).
        live.summary.update({"epochs_run": result.epochs_run, "best": {
            "epoch": result.best_epoch, "val_accuracy": result.history["val_accuracy"][best],
            "val_loss": result.history["val_loss"][best]}})
        live.end()

    model = result.model
    check = None
    if p.check_samples:
        from digits.pipeline.check import fit_check, with_check

        check = fit_check(model, tr["x"], va["x"], p.check_samples, p.seed)
        model = with_check(model, check)
        print(f"train: 'one digit?' check on {check.samples:,} digits and as many non-digits: "
              f"train accuracy {check.train_accuracy:.4f}, validation ROC AUC {check.val_auc:.4f}")
    with atomic_path(args.model) as tmp:
        model.save(tmp)
    tflite_size = export_tflite(model, args.tflite)
    write_json(args.provenance, provenance(
        params=p.model_dump(), inputs=[args.train, args.val],
        extra={"training": {"epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
                            "seconds": round(result.seconds, 1),
                            "val_accuracy": result.history["val_accuracy"][best],
                            "parameters": int(model.count_params())},
               "outputs": {"digits": "columns 0-9: the probability of each digit",
                           **({"check": "column 10: the probability that the image is one whole digit",
                               "check_fit": {"samples": check.samples,
                                             "train_accuracy": round(check.train_accuracy, 4),
                                             "val_auc": round(check.val_auc, 4)}} if check else {})}}))
    print(f"train: {p.model} with {model.count_params():,} parameters, {result.epochs_run} epochs in "
          f"{result.seconds:.0f}s; best epoch {result.best_epoch} val_accuracy "
          f"{result.history['val_accuracy'][best]:.4f}")
    print(f"train: wrote {args.model} ({Path(args.model).stat().st_size:,} B), "
          f"{args.tflite} ({tflite_size:,} B), {args.provenance}")


if __name__ == "__main__":
    main()
