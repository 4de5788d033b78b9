"""Stage wild: MNIST test digits rendered as real image files, read by `digits predict`'s path.

Writes the accuracy and refusal rate per capture condition (metrics JSON), one row per input
(CSV), and a PNG grid per condition plus a summary chart.
"""

from __future__ import annotations

import _env  # noqa: F401, I001  (first: one line, not a traceback, outside the environment)

import argparse

from digits.errors import cli_entry
from digits.pipeline import benchmark, parallel, wild
from digits.pipeline.params import WildParams, load_section
from digits.storage import atomic_path, write_json, write_text


@cli_entry("wild")
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--test", required=True, help="test.npz from preprocess (never trained on)")
    ap.add_argument("--tflite", required=True, help=".tflite model from train (what `digits predict` runs)")
    ap.add_argument("--real", help="directory of real digits (labels.csv, images/): scored as its own condition")
    ap.add_argument("--metrics", required=True, help="output metrics JSON")
    ap.add_argument("--predictions", required=True, help="output per-input CSV")
    ap.add_argument("--grids", required=True, help="output directory of PNG grids")
    args = ap.parse_args()
    p: WildParams = load_section("wild")

    x, y, real = benchmark.stage_inputs(args.test, args.tflite, args.real, "wild in test", "real-digits")
    workers = parallel.worker_count(p.workers)
    total = len(wild.CONDITIONS) + 1 + (real is not None) + p.uci
    print(f"wild: {len(wild.CONDITIONS)} conditions x {p.per_condition} digits, {p.blanks} blank pages"
          f"{', the real development set' if real else ''}{', the UCI 8x8 digits' if p.uci else ''}; "
          f"seed {p.seed}, {workers} workers")
    done = []

    def progress(name: str, recs: list, secs: float) -> None:
        done.append(name)
        s = benchmark.rate(recs)
        what = (f"refused {s['refusal_rate']:.1%}" if name == wild.BLANK
                else f"accuracy {s['accuracy']:6.1%}  refused {s['refusal_rate']:5.1%}")
        print(f"wild: [{len(done):2d}/{total}] {name:17s} {s['n']:4d} inputs  {what}  ({secs:.1f} s)", flush=True)

    results = benchmark.run(x, y, args.tflite, real, p.per_condition, p.seed, workers,
                            n_blank=p.blanks, uci=p.uci, progress=progress)
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
