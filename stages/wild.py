"""Stage wild: the files wild_render drew from MNIST test digits, read by `digits predict`'s path.

Writes the accuracy and refusal rate per capture condition (metrics JSON), one row per input
(CSV), and a PNG grid per condition plus a summary chart.
"""

from __future__ import annotations

import _env  # noqa: F401, I001  (first: one line, not a traceback, outside the environment)

import argparse

from digits.errors import DigitsError, cli_entry
from digits.pipeline import benchmark, parallel, wild, wild_files
from digits.pipeline.params import WildParams, load_section
from digits.storage import atomic_path, write_json, write_text


@cli_entry("wild")
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rendered", required=True, help="the directory wild_render wrote (one directory per condition)")
    ap.add_argument("--tflite", required=True, help=".tflite model from train (what `digits predict` runs)")
    ap.add_argument("--real", help="directory of real digits (labels.csv, images/): scored as its own condition")
    ap.add_argument("--metrics", required=True, help="output metrics JSON")
    ap.add_argument("--predictions", required=True, help="output per-input CSV")
    ap.add_argument("--grids", required=True, help="output directory of PNG grids")
    args = ap.parse_args()
    p: WildParams = load_section("wild")

    real = benchmark.model_and_real_set(args.tflite, args.real, "real-digits")
    names = wild_files.rendered(args.rendered)
    if not names:
        raise DigitsError(f"{args.rendered}: no rendered conditions (run wild_render: dvc repro)")
    workers = parallel.worker_count(p.workers)
    total = len(names) + (real is not None)
    print(f"wild: reading {len(names)} rendered conditions in {args.rendered}"
          f"{' and the real development set' if real else ''}; {workers} workers", flush=True)
    done = []

    def progress(name: str, recs: list, secs: float) -> None:
        done.append(name)
        s = benchmark.rate(recs)
        what = (f"refused {s['refusal_rate']:.1%}" if name == wild.BLANK
                else f"accuracy {s['accuracy']:6.1%}  refused {s['refusal_rate']:5.1%}")
        print(f"wild: [{len(done):2d}/{total}] {name:17s} {s['n']:4d} inputs  {what}  ({secs:.1f} s)", flush=True)

    results = benchmark.read(args.rendered, args.tflite, real, workers, progress=progress)
    metrics = benchmark.score(results)
    with atomic_path(args.grids, directory=True) as tmp:
        for name, recs in results.items():
            title = f"{name}: {wild.describe(name)}"
            benchmark.grid(recs, title).save(tmp / f"{name}.png")
        benchmark.summary_plot(metrics, tmp / "summary.png")
    write_text(args.predictions, benchmark.predictions_csv(results))
    write_json(args.metrics, metrics)
    o = metrics["overall"]
    print(f"wild: overall {o['accuracy']:.2%} of {o['n']} (95% CI {o['ci95_low']:.2%}-{o['ci95_high']:.2%}), "
          f"refused {o['refusal_rate']:.2%}; worst {metrics['worst_condition']['name']} "
          f"{metrics['worst_condition']['accuracy']:.1%}"
          + (f"; dev set {metrics['dev_set']['accuracy']:.2%}" if "dev_set" in metrics else "")
          + (f"; UCI 8x8 {metrics[benchmark.UCI]['accuracy']:.2%}" if benchmark.UCI in metrics else "")
          + f"; blank pages refused {metrics['blank']['refused']:.0%}; wrote {args.metrics}")


if __name__ == "__main__":
    main()
