"""The `numbers` benchmark: handwritten numbers composed from MNIST test digits.

A number is 2 to 10 MNIST *test* digits (never trained on) drawn as one writer would: one
pen, sizes varying by about 10 %, a wavering baseline, the gaps between digits uneven, the
whole line slanted by a few degrees. A share of the numbers has a pair of digits that touch
(their strokes meet) or overlap a little, as hurried writing does. Each number is rendered
under one capture condition (a scan, a phone photo, ruled paper, a small number in a large
photo) and encoded as a real image file, which goes through exactly what `digits read` runs
(`digits.recognize.read.read_file`).

Everything is drawn from `numpy.random.default_rng([seed, number index])`, so the same seed
gives byte-identical files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from digits.pipeline.parallel import in_workers
from digits.pipeline.wild import (
    Rendered,
    _dark_ink,
    _paper,
    _pen,
    add_noise,
    blank,
    condition_seed,
    coverage,
    encode,
    gradient,
    ink_on,
    lines,
    lit,
    paste,
)
from digits.pipeline.wild_files import write_set

MIN_DIGITS, MAX_DIGITS = 2, 10


@dataclass(frozen=True)
class Number:
    """One benchmark input: the file, its label, and how it was made."""

    label: str
    condition: str
    touching: bool  # the strokes of two of its digits touch or cross
    file: Rendered


def _ink_cols(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the first and last column with ink (coverage >= 0.5); -1 where none."""
    ink = cov >= 0.5
    has = ink.any(axis=1)
    first = np.where(has, ink.argmax(axis=1), -1)
    last = np.where(has, cov.shape[1] - 1 - ink[:, ::-1].argmax(axis=1), -1)
    return first, last


def draw_digits(digits: list[np.ndarray], rng: np.random.Generator) -> tuple[float, list[np.ndarray]]:
    """A number's writing size and each of its digits' coverage maps, as `compose` draws them:
    one pen for the whole number (`wild._pen`: MNIST's own strokes, or a pen of 4-14 % of the
    size), each digit within 12 % of the size."""
    size = float(rng.uniform(44, 90))
    pen = _pen(rng, size)
    return size, [coverage(d, size * float(rng.uniform(0.88, 1.1)), pen) for d in digits]


def compose(digits: list[np.ndarray], rng: np.random.Generator,
            touch_at: int | Iterable[int] | None) -> tuple[np.ndarray, bool]:
    """The coverage map of a number written with `digits` (MNIST images), left to right,
    and whether any two digits' strokes touch.

    Gaps are measured ink to ink, row by row: the pair after index `touch_at` (or after each
    of several) is pushed together to overlap by 1 px to 6 % of the digit size (as far as
    their boxes allow: a digit does not slide into the hollow of the one before); every other
    pair is 12-45 % of the size apart.
    """
    touch = {int(touch_at)} if isinstance(touch_at, (int, np.integer)) else set(touch_at or ())
    size, covs = draw_digits(digits, rng)
    height = int(2 * size)
    base = int(1.5 * size)  # the baseline's row
    width = int(sum(c.shape[1] for c in covs) + size * (0.5 * len(covs) + 2))
    canvas = np.zeros((height, width), np.float32)
    right_edge = np.full(height, -1, np.int64)  # last ink column per row so far
    x = int(0.5 * size)
    touched = False
    for k, c in enumerate(covs):
        ch, cw = c.shape
        top = int(np.clip(base - ch + rng.normal(0, 0.05) * size, 0, height - ch))
        first, _ = _ink_cols(c)
        if k == 0:
            left = x
        else:
            rows = np.arange(ch)
            prev = right_edge[top + rows]
            ok = (first >= 0) & (prev >= 0)
            if k - 1 in touch:
                gap = -float(rng.uniform(1, max(1.5, 0.06 * size)))
            else:
                gap = float(rng.uniform(0.12, 0.45)) * size
            if ok.any():
                # the left edge that leaves `gap` between the closest ink of the two ...
                left = int(math.ceil(np.max(prev[ok] - first[ok]) + 1 + gap))
            else:
                left = int(right_edge.max() + 1 + gap)
            # ... but a digit never slides into the hollow of the one before (a 1 inside a
            # 3's curve): the boxes overlap by at most a fifth of the new digit's width
            left = max(left, int(right_edge.max()) + 1 - int(0.2 * cw))
        left = max(0, min(left, width - cw))
        if k:
            before = np.pad(canvas[top:top + ch, left:left + cw] >= 0.5, 1)
            near = before[:-2, 1:-1] | before[2:, 1:-1] | before[1:-1, :-2] | before[1:-1, 2:] | before[1:-1, 1:-1]
            touched |= bool(np.any(near & (c >= 0.5)))
        canvas[top:top + ch, left:left + cw] = np.maximum(canvas[top:top + ch, left:left + cw], c)
        _, last = _ink_cols(canvas[top:top + ch])
        right_edge[top:top + ch] = np.maximum(right_edge[top:top + ch], last)
    t = np.flatnonzero(canvas.any(axis=1))
    lft = np.flatnonzero(canvas.any(axis=0))
    canvas = canvas[t[0]:t[-1] + 1, lft[0]:lft[-1] + 1]
    angle = float(rng.uniform(-4, 4))
    turned = Image.fromarray(canvas, "F").rotate(angle, Image.Resampling.BILINEAR, expand=True)
    return np.clip(np.asarray(turned, np.float32), 0, 1), touched


def _on_page(cov: np.ndarray, side: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """`cov` pasted at a random place on a page of `side` (h, w), scaled down to fit if needed."""
    h, w = side
    ch, cw = cov.shape
    s = min(1.0, 0.9 * w / cw, 0.9 * h / ch)
    if s < 1.0:
        cov = np.asarray(Image.fromarray(cov, "F").resize((max(1, round(cw * s)), max(1, round(ch * s))),
                                                          Image.Resampling.BOX))
        ch, cw = cov.shape
    top = int(rng.integers(0, max(1, h - ch + 1)))
    left = int(rng.integers(0, max(1, w - cw + 1)))
    return paste(side, cov, top, left)


def scan(cov, rng):
    """A scan or a drawing: dark ink on near-white paper, a margin of 10-40 % of the height, PNG."""
    ch, cw = cov.shape
    m = int(rng.uniform(0.1, 0.4) * ch) + 2
    page = np.pad(cov, m)
    return encode(ink_on(page, _paper(rng), _dark_ink(rng)))


def photo(cov, rng):
    """A phone photo of the number on a page: uneven light, sensor noise, JPEG."""
    ch, cw = cov.shape
    w = int(cw * rng.uniform(1.3, 2.2))
    h = int(max(ch * rng.uniform(2.0, 4.0), 0.5 * w))
    page = _on_page(cov, (h, w), rng)
    img = lit(ink_on(page, _paper(rng), _dark_ink(rng)), gradient((h, w), 0.75, rng))
    return encode(add_noise(img, 3.0, rng), "JPEG", quality=85)


def ruled(cov, rng):
    """A ledger: the number written on ruled paper, a line under it (or through its foot), JPEG."""
    ch, cw = cov.shape
    w = int(cw * rng.uniform(1.1, 1.5))
    h = int(ch * rng.uniform(1.6, 2.4))
    page = _on_page(cov, (h, w), rng)
    ink_rows = np.flatnonzero(page.any(axis=1))
    spacing = float(ink_rows[-1] - ink_rows[0]) * rng.uniform(1.15, 1.5)
    ln = lines((h, w), spacing, rng.uniform(1, 3), False, rng)
    colour = ((150, 190, 230), (140, 140, 140), (120, 160, 210))[int(rng.integers(3))]
    paper = ink_on(ln * float(rng.uniform(0.6, 1.0)), _paper(rng), colour)
    return encode(add_noise(ink_on(page, paper, _dark_ink(rng)), 2.0, rng), "JPEG", quality=90)


def small_in_photo(cov, rng):
    """A small number in a large photo: the number 15-30 % of a 1,600-2,400 px wide page."""
    ch, cw = cov.shape
    w = int(rng.uniform(1600, 2400))
    h = int(w * rng.uniform(0.75, 1.0))
    s = rng.uniform(0.15, 0.3) * w / cw
    cov = np.asarray(Image.fromarray(cov, "F").resize((max(1, round(cw * s)), max(1, round(ch * s))),
                                                      Image.Resampling.BILINEAR))
    page = _on_page(np.clip(cov, 0, 1), (h, w), rng)
    img = lit(ink_on(page, _paper(rng), _dark_ink(rng)), gradient((h, w), 0.8, rng))
    return encode(add_noise(img, 2.0, rng), "JPEG", quality=88)


CONDITIONS: dict[str, Callable[[np.ndarray, np.random.Generator], Rendered]] = {
    "scan": scan,
    "photo": photo,
    "ruled": ruled,
    "small_in_photo": small_in_photo,
}


def describe(name: str) -> str:
    """A condition's one-line description."""
    return (CONDITIONS[name].__doc__ or "").strip().splitlines()[0]


def make(index: int, images: np.ndarray, labels: np.ndarray, seed: int, touching: float) -> Number:
    """Benchmark number `index`: its own random stream, so any subset renders the same."""
    rng = np.random.default_rng([seed, index])
    n = int(rng.integers(MIN_DIGITS, MAX_DIGITS + 1))
    pick = rng.choice(len(images), size=n, replace=False)
    touch_at = int(rng.integers(0, n - 1)) if rng.random() < touching else None
    cov, touched = compose([images[i] for i in pick], rng, touch_at)
    condition = list(CONDITIONS)[index % len(CONDITIONS)]
    return Number(label="".join(str(int(labels[i])) for i in pick), condition=condition,
                  touching=touched, file=CONDITIONS[condition](cov, rng))


# --------------------------------------------------------------------------- the files

# What the `numbers_render` stage writes and `numbers_bench` reads: SYNTHETIC/ and BLANK/, each
# laid out as the real development set (`wild_files.write_set`: labels.csv and images/), so
# `digits read DIR/images` reads them too. The label is text: a number may start with 0.
SYNTHETIC = "synthetic"
BLANK = "blank"
CHUNK = 20  # numbers per worker task


# Worker state, set once per process by _init (fork: the arrays are shared, not copied).
_STATE: dict = {}


def _init(images: np.ndarray, labels: np.ndarray, seed: int, touching: float) -> None:
    _STATE.update(images=images, labels=labels, seed=seed, touching=touching)


def _make_chunk(indices: list[int]) -> list[tuple[str, bytes, list]]:
    out = []
    for i in indices:
        num = make(i, _STATE["images"], _STATE["labels"], _STATE["seed"], _STATE["touching"])
        cols = [num.label, i, num.condition, int(num.touching)]
        out.append((f"number_{i:05d}{num.file.suffix}", num.file.data, cols))
    return out


def blank_pages(count: int, seed: int) -> list[Rendered]:
    """`count` pages with no number (`wild.blank`, with their own seed: not the wild benchmark's pages)."""
    rng = np.random.default_rng(condition_seed(seed, "numbers_" + BLANK))
    return [blank(None, rng) for _ in range(count)]


def render(images: np.ndarray, labels: np.ndarray, out: str | Path, count: int, seed: int, touching: float,
           n_blank: int, workers: int, progress: Callable[[int, int], None] | None = None) -> None:
    """Write `count` numbers (`make`) to out/SYNTHETIC and `n_blank` pages with none to out/BLANK.
    Each number draws from its own generator, so the files are the same for any number of workers."""
    out = Path(out)
    chunks = [list(range(s, min(s + CHUNK, count))) for s in range(0, count, CHUNK)]
    made: list[tuple[str, bytes, list]] = []
    for part in in_workers(_make_chunk, chunks, workers, _init, (images, labels, seed, touching), ordered=True):
        made.extend(part)
        if progress:
            progress(len(made), count)
    write_set(out / SYNTHETIC, ["file", "label", "index", "condition", "touching"], made)
    pages = [(f"blank_{i:04d}{p.suffix}", p.data, ["", i]) for i, p in enumerate(blank_pages(n_blank, seed))]
    write_set(out / BLANK, ["file", "label", "index"], pages)
