"""Run the `wild` benchmark: predict every file `wild_files.render` wrote (and the real
development set's) the way `digits predict` does, and score the answers (accuracy, refusals,
a 95% interval per condition).

Conditions are independent, so they are spread over worker processes; each worker loads its
own LiteRT interpreter (they are not thread-safe and cannot be shared).
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from digits.errors import DigitsError
from digits.pipeline import wild, wild_files
from digits.pipeline.parallel import in_workers
from digits.recognize.predict import BATCH_SIZE, predict_files

DEV_SET = "dev_set"
UCI = wild_files.UCI
REAL = (DEV_SET, UCI)
THUMB = 64  # preview size of an input in the grids
GRID_CELLS = 30


@dataclass
class Record:
    """One benchmark input and what the predictor made of it."""

    condition: str
    index: int  # MNIST test index, or the row of the dev set's labels.csv
    label: int  # -1 for a page without a digit
    digit: int | None
    confidence: float
    error: str | None
    thumb: np.ndarray | None = field(default=None, repr=False)  # uint8 RGB preview
    seen: np.ndarray | None = field(default=None, repr=False)  # the 28×28 the model saw

    @property
    def correct(self) -> bool:
        return self.digit is not None and self.digit == self.label


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score 95% interval for k successes in n trials."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def _thumb(path: str) -> np.ndarray:
    """A small RGB preview of an image file as stored (orientation applied, alpha on grey)."""
    from digits.recognize.normalize import load_image, to_grey

    try:
        im = load_image(path)
    except DigitsError:
        return np.zeros((THUMB, THUMB, 3), np.uint8)
    if im.mode.startswith("I") or im.mode in ("F", "RGBA", "LA", "P"):
        im = Image.fromarray(np.clip(to_grey(im), 0, 255).astype(np.uint8))
    im = im.convert("RGB")
    if max(im.size) < THUMB:  # a 12-pixel crop is shown enlarged, its pixels visible
        k = THUMB // max(im.size)
        im = im.resize((im.width * k, im.height * k), Image.Resampling.NEAREST)
    im.thumbnail((THUMB, THUMB), Image.Resampling.BOX)
    return np.asarray(im)


# Worker state, set once per process by _init.
_STATE: dict = {}


def _init(model_path: str, rendered: str, real_dir: str | None) -> None:
    from digits.recognize.tflite import TFLiteClassifier

    _STATE.update(model=TFLiteClassifier(model_path, threads=1), rendered=Path(rendered), real_dir=real_dir)


def read_condition(name: str) -> tuple[str, list[Record], float]:
    """Predict one condition's files (written by `wild_files.render`, or the dev set's); runs
    in a worker."""
    t = time.perf_counter()
    model = _STATE["model"]
    items = wild_files.items(_STATE["real_dir"] if name == DEV_SET else _STATE["rendered"] / name)
    records = []
    for start in range(0, len(items), BATCH_SIZE):
        chunk = items[start:start + BATCH_SIZE]
        answers = predict_files(model, [p for _, _, p in chunk])
        for (idx, label, path), (res, seen) in zip(chunk, answers, strict=True):
            rec = Record(name, idx, label, res.digit, res.confidence or 0.0, res.error, seen=seen)
            # Previews only where a grid shows them: the first inputs and every wrong one.
            if len(records) < GRID_CELLS or not rec.correct:
                rec.thumb = _thumb(path)
            else:
                rec.seen = None
            records.append(rec)
    return name, records, time.perf_counter() - t


def model_and_real_set(tflite: str, real: str | None, real_set: str) -> Path | None:
    """DigitsError for a missing model or a real set's directory without its labels.csv; the
    directory (or None)."""
    if not Path(tflite).is_file():
        raise DigitsError(f"{tflite}: no such model (run train: dvc repro)")
    real_dir = Path(real) if real else None
    if real_dir is not None and not (real_dir / wild_files.LABELS).is_file():
        raise DigitsError(f"{real_dir}: no labels.csv (the {real_set} development set)")
    return real_dir


def read(rendered: str | os.PathLike, model_path: str | os.PathLike, real_dir: str | os.PathLike | None,
         workers: int, progress: Callable[[str, list[Record], float], None] | None = None
         ) -> dict[str, list[Record]]:
    """Records per condition of the files under `rendered` (`wild_files.render`'s directory), in
    CONDITIONS order, then BLANK, DEV_SET if real_dir, and UCI if it was rendered."""
    from digits.recognize.tflite import TFLiteClassifier

    TFLiteClassifier(model_path)  # a broken model fails here, in one line, not in every worker
    found = wild_files.rendered(rendered)
    names = [nm for nm in found if nm != UCI] + ([DEV_SET] if real_dir else []) + [nm for nm in found if nm == UCI]
    out: dict[str, list[Record]] = {}
    # The UCI digits (1,797 files, the largest task) go first: last, they ran on one core
    # while the other had nothing left to do.
    for name, recs, secs in in_workers(read_condition, sorted(names, key=lambda nm: nm != UCI), workers, _init,
                                       (str(model_path), str(rendered), str(real_dir) if real_dir else None)):
        out[name] = recs
        if progress:
            progress(name, recs, secs)
    return {nm: out[nm] for nm in names}


def run(images: np.ndarray, labels: np.ndarray, model_path: str | os.PathLike,
        real_dir: str | os.PathLike | None, n: int, seed: int, workers: int, n_blank: int = 100,
        conditions: list[str] | None = None, uci: bool = False,
        progress: Callable[[str, list[Record], float], None] | None = None) -> dict[str, list[Record]]:
    """`wild_files.render` into a temporary directory, then `read`: the two stages in one call
    (for the bench scripts and tests)."""
    with tempfile.TemporaryDirectory(prefix="digits-wild-") as tmp:
        wild_files.render(images, labels, tmp, n, seed, workers, n_blank=n_blank, conditions=conditions, uci=uci)
        return read(tmp, model_path, real_dir, workers, progress)


def rate(recs: list[Record]) -> dict:
    """Accuracy, refusals and the 95% interval of one group of inputs."""
    n = len(recs)
    k = sum(r.correct for r in recs)
    lo, hi = wilson(k, n)
    refused = sum(r.error is not None for r in recs) / max(n, 1)
    # answered = 1 - refusal_rate, so that the gate's floors (minimums) can bound refusals.
    return {"n": n, "accuracy": k / n if n else 0.0, "refusal_rate": refused, "answered": 1.0 - refused,
            "errors": n - k, "ci95_low": round(lo, 4), "ci95_high": round(hi, 4)}


def score(results: dict[str, list[Record]]) -> dict:
    """metrics/wild.json: per condition, overall (synthetic digits), the real sets and blanks."""
    conds = {nm: rate(recs) for nm, recs in results.items() if nm not in (wild.BLANK, *REAL)}
    synthetic = [r for nm, recs in results.items() if nm in conds for r in recs]
    worst = min(conds, key=lambda nm: conds[nm]["accuracy"])
    out = {"overall": rate(synthetic), "conditions": conds,
           "worst_condition": {"name": worst, "accuracy": conds[worst]["accuracy"]},
           "min_condition_accuracy": conds[worst]["accuracy"]}
    for nm in REAL:
        if nm in results:
            out[nm] = rate(results[nm])
    if wild.BLANK in results:
        b = results[wild.BLANK]
        out["blank"] = {"n": len(b), "refused": sum(r.error is not None for r in b) / max(len(b), 1)}
    return out


def predictions_csv(results: dict[str, list[Record]]) -> str:
    """condition,index,label,predicted,confidence,error: one row per input."""
    rows = ["condition,index,label,predicted,confidence,error"]
    for recs in results.values():
        for r in recs:
            err = (r.error or "").replace('"', "'")
            rows.append(f'{r.condition},{r.index},{r.label},{"" if r.digit is None else r.digit},'
                        f'{r.confidence:.4f},"{err}"')
    return "\n".join(rows) + "\n"


def grid(recs: list[Record], title: str, cols: int = 10) -> Image.Image:
    """Input as rendered, the 28×28 the model saw, and the answer; wrong answers in red first."""
    wrong = [r for r in recs if not r.correct and r.thumb is not None]
    right = [r for r in recs if r.correct and r.thumb is not None]
    shown = (wrong[:GRID_CELLS // 2] + right)[:GRID_CELLS]
    cw, ch = THUMB + 60, THUMB + 18
    rows = max(1, -(-len(shown) // cols))
    sheet = Image.new("RGB", (cols * cw + 8, rows * ch + 26), (32, 32, 32))
    draw = ImageDraw.Draw(sheet)
    draw.text((6, 6), title, fill=(235, 235, 235))
    for i, r in enumerate(shown):
        x0, y0 = 4 + (i % cols) * cw, 24 + (i // cols) * ch
        t = Image.fromarray(r.thumb)
        sheet.paste(t, (x0 + (THUMB - t.width) // 2, y0 + (THUMB - t.height) // 2))
        seen = r.seen if r.seen is not None else np.zeros((28, 28), np.float32)
        sheet.paste(Image.fromarray((seen * 255).astype(np.uint8)).resize((56, 56), Image.Resampling.NEAREST)
                    .convert("RGB"), (x0 + THUMB + 2, y0 + 4))
        ok = r.correct
        if r.label < 0:  # a blank page: right when refused
            ok = r.error is not None
        answer = "refused" if r.digit is None else f"{r.digit} {r.confidence:.2f}"
        label = "-" if r.label < 0 else str(r.label)
        draw.text((x0, y0 + THUMB + 2), f"{label} > {answer}", fill=(140, 230, 140) if ok else (255, 90, 90))
        if not ok:
            draw.rectangle([x0 - 1, y0 - 1, x0 + cw - 4, y0 + ch - 2], outline=(255, 60, 60))
    return sheet


def summary_plot(metrics: dict, path: Path) -> None:
    """Accuracy per condition with its 95% interval, as a horizontal bar chart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = dict(metrics["conditions"])
    for nm in REAL:
        if nm in metrics:
            rows[nm + " (real)"] = metrics[nm]
    names = list(rows)[::-1]
    acc = np.array([rows[n]["accuracy"] for n in names]) * 100
    lo = acc - np.array([rows[n]["ci95_low"] for n in names]) * 100
    hi = np.array([rows[n]["ci95_high"] for n in names]) * 100 - acc
    fig, ax = plt.subplots(figsize=(7, 0.28 * len(names) + 1.2))
    colours = ["#c0392b" if a < 96 else "#2e86c1" for a in acc]
    ax.barh(names, acc, xerr=[lo, hi], color=colours, capsize=2)
    ax.set_xlim(min(80.0, float(acc.min()) - 2), 100)
    ax.axvline(96, color="grey", lw=0.8, ls="--")
    for y, a in enumerate(acc):
        ax.text(a - 0.2, y, f"{a:.1f}", va="center", ha="right", color="white", fontsize=7)
    o = metrics["overall"]
    ax.set_title(f"wild benchmark: overall {o['accuracy']:.1%} of {o['n']}, refused {o['refusal_rate']:.1%}"
                 f" (bars: 95% interval; dashed: 96%)", fontsize=9)
    ax.set_xlabel("accuracy (%)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
