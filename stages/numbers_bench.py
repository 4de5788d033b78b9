"""Stage `numbers_bench` (the numbers benchmark): read the numbers numbers_render drew and the real development set
with `digits read`'s own path; write metrics/numbers.json, a predictions CSV and PNG sheets."""

from __future__ import annotations

import _env  # noqa: F401, I001  (first: one line, not a traceback, outside the environment)

import argparse
from pathlib import Path

from digits.errors import DigitsError, cli_entry
from digits.pipeline import benchmark, numbers, parallel, wild_files
from digits.pipeline import numbers_benchmark as nb
from digits.pipeline.params import NumbersParams, load_section
from digits.storage import atomic_path, write_json, write_text


@cli_entry("numbers_bench")
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rendered", required=True, help="the directory numbers_render wrote (synthetic/, blank/)")
    ap.add_argument("--tflite", required=True, help=".tflite model from train (what `digits read` runs)")
    ap.add_argument("--real", help="directory of real numbers (labels.csv, images/): the development set")
    ap.add_argument("--metrics", required=True, help="output metrics JSON")
    ap.add_argument("--predictions", required=True, help="output per-number CSV")
    ap.add_argument("--sheets", required=True, help="output directory of PNG sheets")
    args = ap.parse_args()
    p: NumbersParams = load_section("numbers")

    real = benchmark.model_and_real_set(args.tflite, args.real, "real-numbers")
    rendered = Path(args.rendered)
    if not (rendered / numbers.SYNTHETIC / wild_files.LABELS).is_file():
        raise DigitsError(f"{rendered}: no rendered numbers (run numbers_render: dvc repro)")
    workers = parallel.worker_count(p.workers)
    print(f"numbers: reading the numbers and blank pages in {rendered}"
          f"{' and the real development set' if real else ''}; {workers} workers", flush=True)

    def progress(done: int, total: int) -> None:
        if done % max(1, total // 10) < nb.CHUNK or done == total:
            print(f"numbers: {done}/{total} read", flush=True)

    synthetic = nb.read(rendered, args.tflite, workers, progress=progress)
    dev = nb.dev_set(args.tflite, real) if real is not None else None
    blanks = nb.blank_pages(args.tflite, rendered)
    metrics = nb.score(synthetic, dev, blanks)
    with atomic_path(args.sheets, directory=True) as tmp:
        nb.sheet([r for r in synthetic if r.index < 12],
                 "numbers: the first 12 synthetic numbers (boxes: the digits found)").save(tmp / "examples.png")
        wrong = [r for r in synthetic if not r.correct][:30]
        nb.sheet(wrong, f"numbers: {len(wrong)} of the {sum(not r.correct for r in synthetic)} "
                        "synthetic numbers read wrong").save(tmp / "wrong.png")
        if dev is not None:
            nb.sheet(dev, "numbers: the real development set (green: read exactly)").save(tmp / "dev_set.png")
    write_text(args.predictions, nb.predictions_csv(synthetic + (dev or []) + blanks))
    write_json(args.metrics, metrics)
    o, a, t = metrics["overall"], metrics["apart"], metrics["touching"]
    print(f"numbers: exact {o['exact']:.2%} of {o['n']} (apart {a['exact']:.2%} of {a['n']}, touching "
          f"{t['exact']:.2%} of {t['n']}), per digit {o['per_digit']:.2%}"
          + (f"; dev set {metrics[nb.DEV_SET]['correct']}/{metrics[nb.DEV_SET]['n']} exact" if dev else "")
          + (f"; blank pages refused {metrics[nb.BLANK]['refused']:.0%}" if blanks else "")
          + f"; wrote {args.metrics}")
    if dev is not None:
        for r in dev:
            if not r.correct:
                print(f"numbers: dev set miss: {r.file}: {r.label} read as {r.number or r.error}")


if __name__ == "__main__":
    main()
