"""Accuracy of `digits predict` on real handwritten digits, naive baseline vs `normalize`.

    python bench/real_digits.py --model models/model.tflite [--data DIR] [--out FILE.json]
                                [--grid FILE.png]

DIR holds labels.csv (file,label,...,notes) and images/. The kind of each image
(photo, screenshot, drawing dark-on-light, drawing light-on-dark) comes from its notes.
Both preprocessings run on the same images with the same model in the same run. This
is an evaluation only: nothing here may be used to train.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from digits.errors import DigitsError, one_line
from digits.loading import load_model, resolve_model_path
from digits.recognize.normalize import load_image, naive
from digits.recognize.predict import DEFAULT_THRESHOLD, Model, classify, predict_images

# The development set sits beside the repository (../shared), as in CI.
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-digits"
KINDS = ("photo", "screenshot", "drawing dark-on-light", "drawing light-on-dark")


def _naive(model: Model, image: Image.Image) -> tuple[int, float, np.ndarray]:
    """The old preprocessing (`naive`), then the model: digit, confidence, the 28×28 it saw."""
    x = naive(image)
    p = classify(model, x[None])[0]
    return int(p.argmax()), float(p.max()), x


def _predict(model: Model, image: Image.Image) -> tuple[int, float, np.ndarray]:
    """`digits predict`'s own path (`predict_images`: `normalize` and its other readings)."""
    res, x = predict_images(model, [("image", image)])[0]
    if res.error is not None:
        raise DigitsError(res.error)
    return res.digit, res.confidence, x


METHODS = {"naive": _naive, "normalize": _predict}


def kind_of(notes: str) -> str:
    """The kind of image described by a labels.csv note."""
    n = notes.lower()
    if n.startswith("photo"):
        return "photo"
    if "screenshot" in n:
        return "screenshot"
    if re.search(r"\b(white|light)[\w-]*( \w+)* on (black|dark)", n.split(";")[1] if ";" in n else n):
        return "drawing light-on-dark"
    return "drawing dark-on-light"


def read_labels(data: Path) -> list[dict[str, str]]:
    """Rows of labels.csv, each with a 'kind' added."""
    with open(data / "labels.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["kind"] = kind_of(r["notes"])
    return rows


def evaluate(model_path: Path, data: Path, threshold: float) -> dict:
    """Predict every image with both preprocessings; per-image records and timings."""
    model = load_model(model_path)
    rows = read_labels(data)
    records = []
    seconds = {m: 0.0 for m in METHODS}
    for r in rows:
        rec = {"file": r["file"], "label": int(r["label"]), "kind": r["kind"]}
        try:
            image = load_image(data / "images" / r["file"])
        except DigitsError as exc:
            image, rec["load_error"] = None, one_line(str(exc))
        for name, fn in METHODS.items():
            t = time.perf_counter()
            try:
                if image is None:
                    raise DigitsError(rec["load_error"])
                digit, confidence, x = fn(model, image)
                rec[name] = {"digit": digit, "confidence": confidence, "image": x}
            except DigitsError as exc:
                rec[name] = {"digit": None, "confidence": 0.0, "error": one_line(str(exc)),
                             "image": np.zeros((28, 28), np.float32)}
            seconds[name] += time.perf_counter() - t
        records.append(rec)
    return {"records": records, "seconds": seconds, "threshold": threshold}


def summarise(run: dict, model_path: Path) -> dict:
    """Accuracy overall and per kind for each method, the failures and confidence stats."""
    recs = run["records"]
    out: dict = {"model": str(model_path), "images": len(recs), "accuracy": {}, "failures": {}}
    groups = {"overall": recs} | {k: [r for r in recs if r["kind"] == k] for k in KINDS}
    for g, rs in groups.items():
        out["accuracy"][g] = {"n": len(rs)} | {
            m: (sum(r[m]["digit"] == r["label"] for r in rs) / len(rs) if rs else None) for m in METHODS}
    for m in METHODS:
        out["failures"][m] = [
            {"file": r["file"], "kind": r["kind"], "label": r["label"], "digit": r[m]["digit"],
             "confidence": round(r[m]["confidence"], 4)} | ({"error": r[m]["error"]} if "error" in r[m] else {})
            for r in recs if r[m]["digit"] != r["label"]]
    t = run["threshold"]
    right = [r["normalize"]["confidence"] for r in recs if r["normalize"]["digit"] == r["label"]]
    wrong = [r["normalize"]["confidence"] for r in recs if r["normalize"]["digit"] != r["label"]]
    out["uncertain"] = {"threshold": t,
                        "right_flagged": sum(c < t for c in right), "right": len(right),
                        "wrong_flagged": sum(c < t for c in wrong), "wrong": len(wrong)}
    out["ms_per_image"] = {m: round(1000 * s / max(len(recs), 1), 2) for m, s in run["seconds"].items()}
    return out


def print_table(summary: dict) -> None:
    """The accuracy table as Markdown."""
    print(f"model: {summary['model']}  images: {summary['images']}\n")
    print("| kind | n | naive | normalize |")
    print("|---|---:|---:|---:|")
    for g, a in summary["accuracy"].items():
        cells = [f"{a[m]:.1%}" if a[m] is not None else "-" for m in METHODS]
        print(f"| {g} | {a['n']} | " + " | ".join(cells) + " |")
    u = summary["uncertain"]
    print(f"\nuncertain (< {u['threshold']}): {u['wrong_flagged']}/{u['wrong']} wrong flagged, "
          f"{u['right_flagged']}/{u['right']} right flagged")
    print(f"ms per image (load excluded): {summary['ms_per_image']}")
    print("\nnormalize failures:")
    for f in summary["failures"]["normalize"]:
        print(f"  {f['file']:24s} {f['kind']:22s} label {f['label']} got {f['digit']} "
              f"({f['confidence']:.2f}) {f.get('error', '')}")


def save_grid(run: dict, path: Path, method: str = "normalize", cols: int = 16) -> None:
    """Every preprocessed 28×28 image enlarged 3×, captioned label>prediction; wrong ones framed in red."""
    recs = run["records"]
    cell = 28 * 3 + 14
    rows = (len(recs) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * cell, rows * cell), (40, 40, 40))
    draw = ImageDraw.Draw(sheet)
    for i, r in enumerate(recs):
        x0, y0 = (i % cols) * cell, (i // cols) * cell
        img = Image.fromarray((r[method]["image"] * 255).astype(np.uint8)).resize((84, 84), Image.NEAREST)
        sheet.paste(img.convert("RGB"), (x0 + 2, y0 + 12))
        ok = r[method]["digit"] == r["label"]
        if not ok:
            draw.rectangle([x0 + 1, y0 + 11, x0 + 86, y0 + 96], outline=(255, 0, 0), width=2)
        draw.text((x0 + 2, y0), f"{r['label']}>{r[method]['digit']} {r['file'][2:10]}",
                  fill=(200, 255, 200) if ok else (255, 120, 120))
    sheet.save(path)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model file (default: as `digits predict`)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"data directory (default {DEFAULT_DATA})")
    ap.add_argument("--out", type=Path, help="write the figures as JSON here")
    ap.add_argument("--grid", type=Path, help="save the normalised images as a PNG grid here")
    ap.add_argument("--grid-method", choices=tuple(METHODS), default="normalize")
    ap.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    args = ap.parse_args(argv)
    try:
        model_path = resolve_model_path(args.model)
        if not (args.data / "labels.csv").is_file():
            raise DigitsError(f"{args.data}: no labels.csv")
        run = evaluate(model_path, args.data, args.threshold)
    except DigitsError as exc:
        print(f"real_digits: error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    summary = summarise(run, model_path)
    print_table(summary)
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
    if args.grid:
        save_grid(run, args.grid, args.grid_method)
    return 0


if __name__ == "__main__":
    sys.exit(main())
