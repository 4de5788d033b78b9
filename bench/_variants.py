"""What the bench scripts that read numbers made several ways share (underlined_numbers,
hyphenated_numbers, comb_numbers, marked_numbers): their command line, and reading each
number's files through `read_image` (the path of `digits read`), some with one of
`digits.recognize.segment`'s rules switched off, counting the numbers read exactly; the
command line of those that compare models on digits drawn several ways (writing_styles,
pen_widths); and writing the figures of every bench script that reads a kind of input (`save`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from digits.loading import load_model, resolve_model_path
from digits.recognize import segment
from digits.recognize.normalize import load_image_bytes
from digits.recognize.read import read_image

ROOT = Path(__file__).resolve().parents[1]

# number i, validation images and labels, seed -> (label, {file's variant: encoded file}), or
# None for a number that cannot be made that way (it is skipped)
Make = Callable[[int, np.ndarray, np.ndarray, int], "tuple[str, dict[str, bytes]] | None"]
# a line of the report -> (the file's variant, (segment's function or constant to switch off,
# its stand-in) or None)
Reads = dict[str, tuple[str, "tuple[str, object] | None"]]


def arguments(doc: str, seed: int, out: str, n: int = 100) -> argparse.Namespace:
    """The bench scripts' command line: --model, --val, --n, --seed, --out."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="the .tflite (default: the pipeline's)")
    ap.add_argument("--val", default=str(ROOT / "data/prepared/val.npz"), help="validation digits (preprocess)")
    ap.add_argument("--n", type=int, default=n)
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("--out", default=str(ROOT / "bench/results" / out))
    return ap.parse_args()


def models_and_digits(doc: str, seed: int, out: str, n: int, n_help: str,
                      extra: Callable[[argparse.ArgumentParser], None] | None = None
                      ) -> tuple[argparse.Namespace, dict, np.ndarray, np.ndarray]:
    """The command line of the bench scripts that compare models on validation digits drawn
    several ways (writing_styles, pen_widths): --model (repeatable; default the pipeline's),
    --val, --n, --seed, --out and what `extra` adds; then the loaded models by path, and the
    validation digits and labels."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="a .tflite; repeat to compare (default: the pipeline's)")
    ap.add_argument("--val", default=str(ROOT / "data/prepared/val.npz"), help="validation digits (preprocess)")
    ap.add_argument("--n", type=int, default=n, help=n_help)
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("--out", default=str(ROOT / "bench/results" / out))
    if extra:
        extra(ap)
    args = ap.parse_args()
    models = {str(path): load_model(path) for path in map(resolve_model_path, args.model or [None])}
    d = np.load(args.val)
    return args, models, d["x"], d["y"]


def save(out: str, doc: dict) -> None:
    """Write a bench script's figures as JSON to `out` (its folder made if need be) and say so."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}")


def run(doc: str, make: Make, reads: Reads, seed: int, out: str, n: int = 100) -> int:
    """Read `--n` numbers each way in `reads`; print and write how many were read exactly."""
    args = arguments(doc, seed, out, n)
    model = load_model(resolve_model_path(args.model))
    d = np.load(args.val)
    x, y = d["x"], d["y"]
    exact = dict.fromkeys(reads, 0)
    made = i = 0
    while made < args.n:
        number = make(i, x, y, args.seed)
        i += 1
        if number is None:
            continue
        made += 1
        label, files = number
        for name, (variant, off) in reads.items():
            saved = getattr(segment, off[0]) if off else None
            if off:
                setattr(segment, off[0], off[1])
            try:
                exact[name] += read_image(model, load_image_bytes(files[variant])).number == label
            finally:
                if off:
                    setattr(segment, off[0], saved)
        if made % 20 == 0:
            print(f"  {made}/{args.n}", file=sys.stderr)
    for k, v in exact.items():
        print(f"{k:28s} {v}/{args.n} read exactly ({v / args.n:.0%})")
    save(args.out, {"n": args.n, "seed": args.seed, "exact": exact, **({"skipped": i - made} if i > made else {})})
    return 0
