"""Stage check: fit the "one digit?" check that `digits read` weighs its candidate cuts with,
join it to the trained digit network and export the model `digits predict` and `digits read` run."""

from __future__ import annotations

import _env  # noqa: F401, I001  (first: one line, not a traceback, outside the environment)

import argparse
import os
import sys
import time
from collections.abc import Callable

from digits.errors import cli_entry
from digits.loading import keras_archive
from digits.pipeline.data import load_split
from digits.pipeline.params import CheckParams, load_section
from digits.storage import write_json


@cli_entry("check")
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True, help=".keras digit network from train")
    ap.add_argument("--train", required=True, help="train.npz from preprocess (the check is fitted on its digits)")
    ap.add_argument("--val", required=True, help="val.npz from preprocess (the check is scored on its digits)")
    ap.add_argument("--tflite", required=True, help="output .tflite: the ten digits, then the check")
    ap.add_argument("--provenance", required=True, help="output provenance JSON of the .tflite")
    ap.add_argument("--metrics", required=True, help="output metrics JSON of the check's fit")
    args = ap.parse_args()
    p: CheckParams = load_section("check")  # validate before the slow TensorFlow import

    x_train, y_train = load_split(args.train, f"check in {args.train}")
    x_val, y_val = load_split(args.val, f"check in {args.val}")
    keras_archive(args.model)  # a missing or broken model is refused before a minute of images
    from digits.pipeline.parallel import worker_count

    workers = worker_count(p.workers)
    ex = None
    if p.samples:
        # the images first, in forked processes, before TensorFlow starts its threads
        from digits.pipeline.check import make_examples

        def shown(which: str, done: int, parts: int) -> None:
            print(f"check: {which} images, {done} of {parts} parts made", flush=True)

        ex = make_examples(x_train, x_val, p.samples, p.seed, workers, shown)
        print(f"check: {len(ex.y):,} training images ({ex.samples:,} digits, as many not one digit), "
              f"{len(ex.y_val):,} validation images, made in {ex.seconds:.0f} s by {workers} workers", flush=True)
    pieces = None
    if p.reader_samples:
        from digits.pipeline import reader as piece_reader

        def made(which: str) -> Callable[[int, int], None]:
            return lambda done, parts: print(f"check: piece reader's {which} examples, {done} of {parts} parts made",
                                             flush=True)

        t0 = time.perf_counter()
        pieces = (*piece_reader.examples(x_train, y_train, p.reader_samples, [p.seed, 21], workers, made("training")),
                  *piece_reader.examples(x_val, y_val, max(10, p.reader_samples // 10), [p.seed, 22], workers,
                                         made("validation")))
        print(f"check: piece reader: {len(pieces[1]):,} training and {len(pieces[3]):,} validation examples "
              f"(one digit or two touching), made in {time.perf_counter() - t0:.0f} s", flush=True)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from digits.loading import load_keras
    from digits.pipeline.export import export_tflite
    from digits.pipeline.provenance import provenance
    from digits.pipeline.training import configure_runtime

    configure_runtime(p.seed)
    model = load_keras(args.model)
    fit: dict = {}
    if ex is not None:
        from digits.pipeline.check import fit_check, with_check

        check = fit_check(ex, p.epochs, verbose=1 if sys.stdout.isatty() else 2)
        fit = {"samples": check.samples, "epochs": check.epochs, "train_accuracy": round(check.train_accuracy, 4),
               "val_accuracy": round(check.val_accuracy, 4), "val_auc": round(check.val_auc, 4)}
        print(f"check: {check.samples:,} digits and as many non-digits, {check.epochs} epochs in "
              f"{check.seconds:.0f} s: validation accuracy {check.val_accuracy:.4f}, ROC AUC {check.val_auc:.4f}")
        read = None
        if pieces is not None:
            from digits.pipeline.reader import fit_reader

            read = fit_reader(*pieces, p.reader_epochs, verbose=1 if sys.stdout.isatty() else 2)
            fit["reader"] = {"samples": read.samples, "epochs": read.epochs,
                             "val_single_accuracy": round(read.val_single_accuracy, 4),
                             "val_pair_accuracy": round(read.val_pair_accuracy, 4),
                             "val_count_accuracy": round(read.val_count_accuracy, 4)}
            print(f"check: piece reader, {read.samples:,} examples, {read.epochs} epochs in {read.seconds:.0f} s: "
                  f"validation single digits {read.val_single_accuracy:.4f}, touching pairs "
                  f"{read.val_pair_accuracy:.4f}, one or two {read.val_count_accuracy:.4f}")
        model = with_check(model, check.model)
    size = export_tflite(model, args.tflite, pieces=None if read is None else read.model)
    outputs = {"digits": "columns 0-9: the probability of each digit"}
    if fit:
        outputs["check"] = "column 10: the probability that the image is one whole digit"
    if "reader" in fit:
        outputs["reader"] = ("signature 'read_piece' (the digits and the check are 'classify'): the piece "
                             "reader's 110 probabilities, one digit d (column d) or two touching digits a, b "
                             "(column 10 + 10a + b)")
    write_json(args.provenance, provenance(params=p.model_dump(), inputs=[args.model, args.train, args.val],
                                           extra={"outputs": outputs, "check_fit": fit}))
    # no wall time: metrics must be identical when the params are
    write_json(args.metrics, fit or {"samples": 0})
    reader = ", and the piece reader's 110 as a signature of their own" if "reader" in fit else ""
    print(f"check: wrote {args.tflite} ({size:,} B, {model.output_shape[-1]} columns{reader}), "
          f"{args.provenance}, {args.metrics}")


if __name__ == "__main__":
    main()
