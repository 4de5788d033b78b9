"""Runs and scores the `numbers` benchmark through `digits read`'s own path.

Synthetic numbers (the files `digits.pipeline.numbers.render` wrote for the `numbers_render`
stage) and the real development set
(../shared/data/real-numbers) are read by `digits.recognize.read.read_file`, the function the
CLI and the server call. Scores: exact match (the whole number right), split by whether two
digits touch, and per-digit accuracy, 1 - edits / digits (the Levenshtein distance between the
number read and the label, as OCR's character accuracy counts it: a digit missed, split in two
or misread is one edit). Pages with no number on them (the wild benchmark's blank pages:
plain, lit, shadowed, textured, ruled or squared paper, a uniform colour, pure noise) must be
refused, as they are by `digits predict`.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from digits.pipeline import numbers, wild_files
from digits.pipeline.benchmark import wilson
from digits.pipeline.parallel import in_workers
from digits.recognize.read import Reading, read_file

DEV_SET = "dev_set"
BLANK = numbers.BLANK
CHUNK = numbers.CHUNK  # numbers per worker task
PANEL_W, PANEL_H = 360, 150  # one example in the PNGs


@dataclass
class Record:
    """One number and what `digits read` made of it."""

    index: int  # the synthetic number's index, or the dev set's row
    label: str
    condition: str
    touching: bool
    number: str | None
    confidence: float
    error: str | None
    file: str = ""  # the dev set's file name
    panel: np.ndarray | None = field(default=None, repr=False)  # the image with boxes, for the PNGs

    @property
    def correct(self) -> bool:
        if self.condition == BLANK:  # a page with no number is read right when it is refused
            return self.error is not None
        return self.number == self.label


def edits(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions turning a into b."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def panel(path: str, reading: Reading, label: str) -> np.ndarray:
    """The image shrunk to a panel with the digit boxes drawn: green when the whole number
    is right, red when not; the label and the reading written under it."""
    im = Image.open(path)
    im.load()
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:  # on white, as it is read
        im = Image.alpha_composite(Image.new("RGBA", im.size, "white"), im.convert("RGBA"))
    im = im.convert("RGB")
    ok = reading.number == label
    colour = (0, 150, 0) if ok else (220, 0, 0)
    x0, y0 = 0, 0
    if reading.digits:  # zoom on the number, with a margin, so small numbers stay visible
        xs = [d.box[0] for d in reading.digits] + [d.box[0] + d.box[2] for d in reading.digits]
        ys = [d.box[1] for d in reading.digits] + [d.box[1] + d.box[3] for d in reading.digits]
        m = 0.3 * (max(ys) - min(ys))
        x0, y0 = max(0, int(min(xs) - m)), max(0, int(min(ys) - m))
        im = im.crop((x0, y0, min(im.width, int(max(xs) + m)), min(im.height, int(max(ys) + m))))
    k = min(PANEL_W / im.width, (PANEL_H - 22) / im.height)
    im = im.resize((max(1, round(im.width * k)), max(1, round(im.height * k))), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(im)
    for d in reading.digits:  # drawn after scaling: thin lines whatever the photo's size
        x, y, w, h = d.box
        draw.rectangle([(x - x0) * k, (y - y0) * k, (x - x0 + w) * k - 1, (y - y0 + h) * k - 1],
                       outline=colour, width=2)
    out = Image.new("RGB", (PANEL_W, PANEL_H), "white")
    out.paste(im, ((PANEL_W - im.width) // 2, 0))
    said = reading.number if reading.error is None else f"error: {reading.error}"
    ImageDraw.Draw(out).text((4, PANEL_H - 18), f"{label} -> {said}"[:58], fill=colour)
    return np.asarray(out)


def sheet(records: list[Record], title: str, cols: int = 3) -> Image.Image:
    """A PNG sheet of the records' panels."""
    shown = [r for r in records if r.panel is not None]
    rows = max(1, -(-len(shown) // cols))
    out = Image.new("RGB", (cols * PANEL_W, 24 + rows * PANEL_H), "white")
    ImageDraw.Draw(out).text((6, 6), title, fill=(0, 0, 0))
    for k, r in enumerate(shown):
        out.paste(Image.fromarray(r.panel), ((k % cols) * PANEL_W, 24 + (k // cols) * PANEL_H))
    return out


# Worker state, set once per process by _init.
_STATE: dict = {}


def _init(model_path: str, examples: int) -> None:
    from digits.recognize.tflite import TFLiteClassifier

    _STATE.update(examples=examples, model=TFLiteClassifier(model_path, threads=1))


def _read_chunk(chunk: list[dict[str, str]]) -> list[Record]:
    """Read a run of rendered synthetic numbers (rows of their labels.csv); runs in a worker."""
    out = []
    for row in chunk:
        i, label = int(row["index"]), row["label"]
        r = read_file(_STATE["model"], row["path"])
        rec = Record(i, label, row["condition"], row["touching"] == "1", r.number, r.confidence or 0.0, r.error)
        if i < _STATE["examples"] or not rec.correct:
            rec.panel = panel(row["path"], r, label)
        out.append(rec)
    return out


def dev_set(model_path: str | os.PathLike, real_dir: Path) -> list[Record]:
    """Read every image of the real development set (labels.csv, images/)."""
    from digits.recognize.tflite import TFLiteClassifier

    model = TFLiteClassifier(model_path)
    out = []
    for i, row in enumerate(wild_files.read_rows(real_dir)):
        r = read_file(model, row["path"])
        touching = "touching: yes" in row.get("notes", "")
        rec = Record(i, row["label"], DEV_SET, touching, r.number, r.confidence or 0.0, r.error, row["file"])
        rec.panel = panel(row["path"], r, row["label"])
        out.append(rec)
    return out


def blank_pages(model_path: str | os.PathLike, rendered: str | Path) -> list[Record]:
    """Read the pages with no number that `numbers.render` wrote."""
    from digits.recognize.tflite import TFLiteClassifier

    model = TFLiteClassifier(model_path)
    out = []
    for row in wild_files.read_rows(Path(rendered) / numbers.BLANK):
        r = read_file(model, row["path"])
        out.append(Record(int(row["index"]), "", BLANK, False, r.number, r.confidence or 0.0, r.error))
    return out


def read(rendered: str | Path, model_path: str | os.PathLike, workers: int, examples: int = 12,
         progress: Callable[[int, int], None] | None = None) -> list[Record]:
    """Records of the synthetic numbers `numbers.render` wrote under `rendered`, in index order."""
    from digits.recognize.tflite import TFLiteClassifier

    TFLiteClassifier(model_path)  # a broken model fails here, in one line, not in every worker
    rows = wild_files.read_rows(Path(rendered) / numbers.SYNTHETIC)
    chunks = [rows[s:s + CHUNK] for s in range(0, len(rows), CHUNK)]
    out: list[Record] = []
    for recs in in_workers(_read_chunk, chunks, workers, _init, (str(model_path), examples), ordered=True):
        out.extend(recs)
        if progress:
            progress(len(out), len(rows))
    return sorted(out, key=lambda r: r.index)


def rate(recs: list[Record]) -> dict:
    """Exact match (with its 95% interval), per-digit accuracy and refusals of some records."""
    n = len(recs)
    exact = sum(r.correct for r in recs)
    digits = sum(len(r.label) for r in recs)
    wrong = sum(min(len(r.label), edits(r.label, r.number or "")) for r in recs)
    lo, hi = wilson(exact, n)
    return {"n": n, "exact": round(exact / n, 4) if n else 0.0, "exact_ci95_low": round(lo, 4),
            "exact_ci95_high": round(hi, 4),
            "per_digit": round(1 - wrong / digits, 4) if digits else 0.0,
            "refused": round(sum(r.error is not None for r in recs) / n, 4) if n else 0.0}


def score(synthetic: list[Record], dev: list[Record] | None, blanks: list[Record] | None = None) -> dict:
    """metrics/numbers.json: overall, apart/touching, per condition, the dev set, and the share
    of blank pages refused."""
    out = {"overall": rate(synthetic),
           "apart": rate([r for r in synthetic if not r.touching]),
           "touching": rate([r for r in synthetic if r.touching]),
           "conditions": {c: rate([r for r in synthetic if r.condition == c]) for c in numbers.CONDITIONS}}
    if dev is not None:
        out[DEV_SET] = {**rate(dev), "correct": sum(r.correct for r in dev)}
    if blanks:
        out[BLANK] = {"n": len(blanks), "refused": round(sum(r.correct for r in blanks) / len(blanks), 4)}
    return out


def predictions_csv(records: list[Record]) -> str:
    """One row per number read: what it was, what was read."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["set", "index", "condition", "touching", "label", "number", "correct", "confidence", "error"])
    for r in records:
        w.writerow([{DEV_SET: "dev", BLANK: BLANK}.get(r.condition, "synthetic"), r.index, r.condition, int(r.touching),
                    r.label, r.number or "", int(r.correct), f"{r.confidence:.4f}", r.error or ""])
    return buf.getvalue()
