"""Stage train: fit the model named in params, save it (.keras) with provenance. The `check`
stage joins it to the "one digit?" check and exports the .tflite that `digits` runs."""

from __future__ import annotations

import _env  # noqa: F401, I001  (first: one line, not a traceback, outside the environment)

import argparse
import os
import sys
from pathlib import Path

from digits.errors import cli_entry
from digits.pipeline.data import load_split
from digits.pipeline.params import TrainParams, load_section
from digits.storage import atomic_path, write_json


@cli_entry("train")
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", required=True, help="train.npz from preprocess")
    ap.add_argument("--val", required=True, help="val.npz from preprocess")
    ap.add_argument("--model", required=True, help="output .keras model")
    ap.add_argument("--provenance", required=True, help="output provenance JSON")
    ap.add_argument("--live", required=True, help="output dvclive directory (per-epoch curves)")
    args = ap.parse_args()
    p: TrainParams = load_section("train")  # validate before the slow TensorFlow import

    x_train, y_train = load_split(args.train, f"train in {args.train}")
    x_val, y_val = load_split(args.val, f"train in {args.val}")

    # TensorFlow (slow to import) only once params and inputs are known good.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from digits.pipeline.live import LiveCurves, open_live
    from digits.pipeline.provenance import provenance
    from digits.pipeline.training import configure_runtime, train

    configure_runtime(p.seed, p.threads)

    with atomic_path(args.live, directory=True) as live_dir:
        live = open_live(str(live_dir))
        result = train(x_train, y_train, x_val, y_val, p, callbacks=[LiveCurves(live)],
                       verbose=1 if sys.stdout.isatty() else 2)
        best = result.best_epoch - 1
        # dvclive's summary holds the last epoch; "best" is the val peak (the saved model with early stopping).
        # No wall time here: metrics must be identical when the params are (it is in provenance).
        live.summary.update({"epochs_run": result.epochs_run, "best": {
            "epoch": result.best_epoch, "val_accuracy": result.history["val_accuracy"][best],
            "val_loss": result.history["val_loss"][best]}})
        live.end()

    # A functional copy over the same layers: the saved file holds the network, not the
    # optimizer's state (two more copies of the weights: 2.6 MB instead of 0.9 MB).
    model = keras.Model(result.model.input, result.model.output, name=result.model.name)
    with atomic_path(args.model) as tmp:
        model.save(tmp)
    write_json(args.provenance, provenance(
        params=p.model_dump(), inputs=[args.train, args.val],
        extra={"training": {"epochs_run": result.epochs_run, "best_epoch": result.best_epoch,
                            "seconds": round(result.seconds, 1),
                            "val_accuracy": result.history["val_accuracy"][best],
                            "parameters": int(model.count_params())},
               "outputs": {"digits": "columns 0-9: the probability of each digit"}}))
    print(f"train: {p.model} with {model.count_params():,} parameters, {result.epochs_run} epochs in "
          f"{result.seconds:.0f}s; best epoch {result.best_epoch} val_accuracy "
          f"{result.history['val_accuracy'][best]:.4f}")
    print(f"train: wrote {args.model} ({Path(args.model).stat().st_size:,} B), {args.provenance}")


if __name__ == "__main__":
    main()
