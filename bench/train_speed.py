"""Race the keras-io "Simple MNIST convnet" against the project's default model, in one run.

Each model trains in its own subprocess (so peak RSS is its own), on the same data split,
seed and machine. After every epoch the clock is paused to measure test accuracy. Reports
time to first reach 99.2 % test accuracy, total training time, peak RSS, batched inference
throughput (batch 1024, test set; Keras and LiteRT) and median warm single-image latency.

    python bench/train_speed.py                 # full race, writes bench/results/train_speed.json
    python bench/train_speed.py --quick --out /tmp/q.json   # a few batches: smoke test
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.992
REFERENCE = {"model": "keras_io", "epochs": 15, "batch_size": 128, "lr": 0.001, "schedule": "constant",
             "precision": "float32", "early_stopping_patience": 0, "label_smoothing": 0.0}


def load_data(quick: bool) -> dict:
    """MNIST via the pipeline's own fetch and preprocess code (needs $MNIST_MIRROR offline)."""
    from digits.pipeline.data import preprocess
    from digits.pipeline.mnist import fetch_all
    from digits.pipeline.params import load_section

    fp = load_section("fetch", ROOT / "params.yaml")
    pp = load_section("preprocess", ROOT / "params.yaml")
    raw = fetch_all(fp.mirrors, timeout_s=fp.timeout_s, attempts=fp.attempts, progress=False, log=lambda _: None)
    return preprocess(**raw, val_fraction=pp.val_fraction, seed=pp.seed,
                      train_limit=2000 if quick else 0, test_limit=1000 if quick else 0)


def _latency_ms(fn, x, repeats: int) -> float:
    times = []
    for i in range(repeats):
        img = x[i % len(x)][None]
        t = time.perf_counter()
        fn(img)
        times.append((time.perf_counter() - t) * 1e3)
    return float(sorted(times)[len(times) // 2])


def _throughput(fn, x, repeats: int = 3) -> float:
    fn(x[:1024])  # warm up (graph tracing, allocation)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn(x)
        best = min(best, time.perf_counter() - t)
    return len(x) / best


def inference_figures(model, x, quick: bool) -> dict:
    """Keras and LiteRT: batched throughput (batch 1024) and warm single-image latency."""
    from digits.pipeline.export import export_tflite
    from digits.recognize.tflite import TFLiteClassifier

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.tflite"
        export_tflite(model, path)
        lite = TFLiteClassifier(path)
        reps = 20 if quick else 200
        return {
            "keras_batch1024_images_per_s": _throughput(lambda a: model.predict(a, batch_size=1024, verbose=0), x),
            "litert_batch1024_images_per_s": _throughput(lambda a: lite.predict(a, batch_size=1024), x),
            "keras_single_image_ms_median": _latency_ms(model.predict_on_batch, x, reps),
            "litert_single_image_ms_median": _latency_ms(lite.predict, x, reps),
        }


def run_one(name: str, quick: bool) -> dict:
    """Train one model (in this process) and measure it."""
    import keras
    import numpy as np

    from digits.pipeline.params import load_section, parse_section
    from digits.pipeline.training import build_model, configure_runtime, train

    default = load_section("train", ROOT / "params.yaml")
    if name == "reference":
        p = parse_section("train", {**default.model_dump(), **REFERENCE})
    elif name == "ours":
        p = default
    else:  # mlp: throughput only, so an untrained network of the right shape is enough
        p = parse_section("train", {**default.model_dump(), "model": "mlp"})
    if quick:
        p = p.model_copy(update={"epochs": 1})
    configure_runtime(p.seed, p.threads)
    d = load_data(quick)
    out: dict = {"name": name, "params": p.model_dump()}
    if name == "mlp":
        out["inference"] = inference_figures(build_model(p), d["x_test"], quick)
        out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return out

    class TestEvery(keras.callbacks.Callback):
        """Test accuracy after each epoch, with the time it takes kept off the training clock."""

        def __init__(self) -> None:
            super().__init__()
            self.acc: list[float] = []
            self.train_s: list[float] = []
            self._paused = 0.0
            self._t0 = 0.0

        def on_train_begin(self, logs=None) -> None:
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None) -> None:
            t = time.perf_counter()
            self.train_s.append(t - self._t0 - self._paused)
            probs = self.model.predict(d["x_test"], batch_size=1024, verbose=0)
            self.acc.append(float(np.mean(probs.argmax(1) == d["y_test"])))
            print(f"  {name} epoch {epoch + 1}: test {self.acc[-1]:.4f} at {self.train_s[-1]:.1f}s", flush=True)
            self._paused += time.perf_counter() - t

    cb = TestEvery()
    result = train(d["x_train"], d["y_train"], d["x_val"], d["y_val"], p, callbacks=[cb], verbose=0)
    hit = next((i for i, a in enumerate(cb.acc) if a >= TARGET), None)
    final = result.model.predict(d["x_test"], batch_size=1024, verbose=0)
    out.update({
        "test_accuracy_per_epoch": cb.acc,
        "train_seconds_per_epoch_cumulative": cb.train_s,
        "final_test_accuracy": float(np.mean(final.argmax(1) == d["y_test"])),
        "seconds_to_target": cb.train_s[hit] if hit is not None else None,
        "epoch_reaching_target": hit + 1 if hit is not None else None,
        "train_seconds_total": cb.train_s[-1],
        "parameters": int(result.model.count_params()),
        "inference": inference_figures(result.model, d["x_test"], quick),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    })
    return out


def _best_throughput(result: dict) -> float:
    inf = result["inference"]
    return max(inf["keras_batch1024_images_per_s"], inf["litert_batch1024_images_per_s"])


def summarize(results: dict) -> dict:
    """Ratios and goals. If the reference never reaches the target, its whole training time
    stands in for its time to target, which makes our ratio an upper bound (we are at least
    that much faster)."""
    ref, ours = results["reference"], results["ours"]
    ref_t = ref["seconds_to_target"]
    ref_reached = ref_t is not None
    if not ref_reached:
        ref_t = ref["train_seconds_total"]
    ratio = ours["seconds_to_target"] / ref_t if ours["seconds_to_target"] else None
    return {
        "target_test_accuracy": TARGET,
        "reference_reached_target": ref_reached,
        "reference_final_test_accuracy": ref["final_test_accuracy"],
        "time_to_target_ratio_ours_over_reference": ratio,
        "ratio_is_upper_bound": not ref_reached,
        "total_train_time_ratio_ours_over_reference": ours["train_seconds_total"] / ref["train_seconds_total"],
        # Throughput goals by the faster runtime: `digits predict` serves with LiteRT.
        "goals": {"ratio<=0.2": ratio is not None and ratio <= 0.2,
                  "ours_final>=0.996": ours["final_test_accuracy"] >= 0.996,
                  "mlp_batched>=200k/s": _best_throughput(results["mlp"]) >= 2e5,
                  "cnn_batched>=5k/s": _best_throughput(ours) >= 5e3},
    }


def _fmt(v, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 epoch on 2,000 images: a smoke test")
    ap.add_argument("--out", default=str(ROOT / "bench/results/train_speed.json"))
    ap.add_argument("--one", choices=["reference", "ours", "mlp"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:  # child process: print one JSON line last
        print(json.dumps(run_one(args.one, args.quick)))
        return

    results = {}
    for name in ("reference", "ours", "mlp"):
        print(f"bench: training {name}...", flush=True)
        cmd = [sys.executable, __file__, "--one", name] + (["--quick"] if args.quick else [])
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        if proc.returncode != 0:
            sys.exit(f"bench: {name} failed with exit {proc.returncode}")
        lines = proc.stdout.strip().splitlines()
        print("\n".join(lines[:-1]), flush=True)
        results[name] = json.loads(lines[-1])

    summary = summarize(results)
    doc = {"quick": args.quick, "machine": {"cpus": os.cpu_count(), "processor": platform.processor(),
                                             "python": platform.python_version()},
           "date": time.strftime("%Y-%m-%d %H:%M:%S"), "summary": summary, "models": results}
    from digits.storage import write_json

    write_json(args.out, doc)

    print(f"\n{'model':10} {'final acc':>9} {'to 99.2%':>9} {'epoch':>5} {'train s':>8} {'RSS MiB':>8} "
          f"{'keras img/s':>12} {'lite img/s':>11} {'keras 1-img ms':>14} {'lite 1-img ms':>13}")
    for name, r in results.items():
        inf = r["inference"]
        print(f"{name:10} {_fmt(r.get('final_test_accuracy'), '.4f'):>9} {_fmt(r.get('seconds_to_target'), '.1f'):>9} "
              f"{_fmt(r.get('epoch_reaching_target'), 'd'):>5} {_fmt(r.get('train_seconds_total'), '.1f'):>8} "
              f"{r['peak_rss_mib']:8.0f} {inf['keras_batch1024_images_per_s']:12,.0f} "
              f"{inf['litert_batch1024_images_per_s']:11,.0f} {inf['keras_single_image_ms_median']:14.2f} "
              f"{inf['litert_single_image_ms_median']:13.3f}")
    bound = " (reference never reached it: upper bound vs its full run)" if summary["ratio_is_upper_bound"] else ""
    print(f"\nours/reference time to {TARGET:.1%}: {_fmt(summary['time_to_target_ratio_ours_over_reference'], '.3f')}"
          f"{bound} (goal <= 0.2); goals met: {summary['goals']}")
    print(f"bench: wrote {args.out}")


if __name__ == "__main__":
    main()
