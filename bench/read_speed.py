"""How fast `digits read` reads a phone photo of a ten-digit number.

A 4,000×3,000 JPEG (a 12-megapixel phone photo) of a ten-digit number composed from MNIST
test digits, lit unevenly, with sensor noise. Cold: `digits read` in a fresh process, from
start to exit (imports, model load, decode, segmentation, classification), median of --cold
runs. Warm: `read_file` again in one process, median of --warm runs. Beside them, as the
reference measured in the same run, `digits predict` on the same photo (one digit's path).

    python bench/read_speed.py [--model models/model.tflite] [--out bench/results/read_speed.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def photo(path: Path, seed: int = 1999) -> str:
    """Write the 12-megapixel photo; returns its label."""
    from digits.pipeline import numbers, wild

    test = np.load(ROOT / "data/prepared/test.npz")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(test["y"]), size=10, replace=False)
    cov, _ = numbers.compose([test["x"][i] for i in pick], rng, touch_at=None)
    h, w = 3000, 4000
    s = 0.45 * w / cov.shape[1]  # the number across about half the photo
    cov = np.asarray(Image.fromarray(cov, "F").resize((round(cov.shape[1] * s), round(cov.shape[0] * s)),
                                                      Image.Resampling.BILINEAR))
    page = wild.paste((h, w), np.clip(cov, 0, 1), (h - cov.shape[0]) // 2, (w - cov.shape[1]) // 3)
    img = wild.lit(wild.ink_on(page, (235.0, 228.0, 215.0), (30.0, 30.0, 40.0)), wild.gradient((h, w), 0.7, rng))
    Image.fromarray(wild.to_uint8(wild.add_noise(img, 3.0, rng))).save(path, "JPEG", quality=90)
    return "".join(str(int(test["y"][i])) for i in pick)


def cold(cmd: list[str], runs: int) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(runs):
        t = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        out = res.stdout.strip()
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(ROOT / "models/model.tflite"))
    ap.add_argument("--cold", type=int, default=5)
    ap.add_argument("--warm", type=int, default=10)
    ap.add_argument("--out", default=str(ROOT / "bench/results/read_speed.json"))
    args = ap.parse_args()

    from digits.loading import load_model
    from digits.recognize.read import read_file

    digits_cmd = str(Path(sys.executable).with_name("digits"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "meter.jpg"
        label = photo(path)
        print(f"read_speed: {path.name} 4000x3000 JPEG, {path.stat().st_size // 1024} kB, label {label}")
        read_cold, said = cold([digits_cmd, "read", "--model", args.model, str(path)], args.cold)
        predict_cold, _ = cold([digits_cmd, "predict", "--model", args.model, str(path)], args.cold)
        model = load_model(args.model)
        read_file(model, str(path))
        warm = []
        for _ in range(args.warm):
            t = time.perf_counter()
            r = read_file(model, str(path))
            warm.append(time.perf_counter() - t)
    result = {"image": "4000x3000 JPEG, ten digits", "label": label, "read": r.number,
              "correct": r.number == label, "read_cold_s_median": round(read_cold, 3),
              "read_warm_s_median": round(statistics.median(warm), 3),
              "predict_cold_s_median": round(predict_cold, 3), "cold_runs": args.cold, "warm_runs": args.warm}
    print(f"read_speed: read {said!r}")
    print(f"read_speed: cold `digits read` {read_cold:.3f} s (median of {args.cold}); warm read_file "
          f"{statistics.median(warm):.3f} s (median of {args.warm}); reference: cold `digits predict` "
          f"{predict_cold:.3f} s")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"read_speed: wrote {args.out}")


if __name__ == "__main__":
    main()
