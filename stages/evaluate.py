"""Stage evaluate: test-set metrics of the Keras model, checked against its TFLite export."""

from __future__ import annotations

import _env  # noqa: F401, I001  (first: one line, not a traceback, outside the environment)

import argparse
import os

import numpy as np

from digits import NUM_CLASSES
from digits.errors import DigitsError, cli_entry
from digits.pipeline.data import load_split
from digits.pipeline.evaluation import confusion_csv, metrics_from_probs, predictions_csv
from digits.pipeline.params import EvaluateParams, load_section
from digits.storage import save_npz, write_json, write_text


@cli_entry("evaluate")
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--test", required=True, help="test.npz from preprocess")
    ap.add_argument("--model", required=True, help=".keras model from train")
    ap.add_argument("--tflite", required=True, help=".tflite export from train")
    ap.add_argument("--metrics", required=True, help="output summary metrics JSON")
    ap.add_argument("--per-class", required=True, help="output per-class metrics JSON")
    ap.add_argument("--confusion", required=True, help="output 10x10 confusion matrix CSV")
    ap.add_argument("--predictions", required=True, help="output per-sample actual,predicted CSV")
    ap.add_argument("--probs", required=True, help="output .npz of test probabilities (for plots)")
    args = ap.parse_args()
    p: EvaluateParams = load_section("evaluate")

    x, y = load_split(args.test, "evaluate in test")

    # TensorFlow is imported only once the inputs are known good: a bad input fails fast.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from digits.loading import load_keras as load_model
    from digits.recognize.tflite import TFLiteClassifier

    # columns 0-9 are the digits; a model with the "one digit?" check has it in column 10
    probs = load_model(args.model).predict(x, batch_size=p.batch_size, verbose=0)[:, :NUM_CLASSES]
    summary, per_class, cm = metrics_from_probs(y, probs)
    lite_probs = TFLiteClassifier(args.tflite).predict(x, batch_size=p.batch_size)[:, :NUM_CLASSES]
    lite, _, _ = metrics_from_probs(y, lite_probs)
    gap = abs(lite["accuracy"] - summary["accuracy"])
    if gap > p.tflite_max_accuracy_gap:
        raise DigitsError(f"TFLite export accuracy {lite['accuracy']:.4f} differs from Keras "
                          f"{summary['accuracy']:.4f} by {gap:.4f} > evaluate.tflite_max_accuracy_gap")
    summary["tflite_accuracy"] = lite["accuracy"]
    # to 1e-6: the last bits of a float32 sum depend on the CPU's vector width, and the metric
    # must not change from one machine to the next when the model does not
    summary["tflite_max_prob_diff"] = round(float(np.abs(lite_probs - probs).max()), 6)

    pred = probs.argmax(axis=1)
    write_json(args.metrics, summary)
    write_json(args.per_class, per_class)
    write_text(args.confusion, confusion_csv(cm))
    write_text(args.predictions, predictions_csv(y, pred))
    save_npz(args.probs, {"probs": probs.astype(np.float32)})
    print(f"evaluate: accuracy {summary['accuracy']:.4f} (TFLite {lite['accuracy']:.4f}), "
          f"loss {summary['loss']:.4f}, macro F1 {summary['f1_macro']:.4f}, {summary['errors']} errors "
          f"of {summary['n']}")
    worst = min(per_class, key=lambda c: per_class[c]["f1"])
    print(f"evaluate: weakest class {worst} (F1 {per_class[worst]['f1']:.4f}); wrote {args.metrics}")


if __name__ == "__main__":
    main()
