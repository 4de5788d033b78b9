"""Split one line of handwritten digits into single digits, each drawn MNIST-style.

The ink is found exactly as for one digit (`normalize`: polarity, uneven light, paper lines,
specks, the stroke edge at half maximum). Then:

1. The pieces of ink that are digit-sized make up the line. Its slant is the slope through
   their centres; a slanted line is turned level before anything else. Pieces far above or
   below the line are dropped; two or more lines of comparable ink are refused.
2. Strokes of one digit that do not touch (the bar of a 5, a broken 4) are the pieces that
   overlap another in x, or sit small beside it: they join it. Specks are dropped.
3. A piece too wide for one digit holds touching digits. Candidate cuts run top to bottom
   across the fewest strokes (a shortest path that may bend around strokes, or run down the
   joint where two digits meet); the classifier scores the parts of each, and the cut it
   reads most confidently wins, over the uncut piece too unless the piece is too wide to be
   one digit. Where the model has the "one digit?" check (`digits.pipeline.check`), a part
   it doubts is one digit (two touching digits, a fragment) counts for less.

Writing that leans (italics: the tops to the right) overlaps its neighbours' columns, and
the cuts above run top to bottom: where the shear under which the digits are narrowest
(`_writing_slant`) is more than UPRIGHT_DEG, the line is also read set upright, and the
reading the classifier is surer of (`_digit_scores`, as the cuts are weighed) wins.

Small lines in a large photo are looked at again at the original resolution, as for one digit.
Each digit is drawn MNIST-style as one digit is (`draw.draw`: a blurred one from its grey
levels, unless it was cut from touching digits: the cut runs through the mask).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from digits import NUM_CLASSES
from digits.errors import DigitsError
from digits.recognize.draw import draw, to_mnist
from digits.recognize.normalize import (
    FLAT,
    HYSTERESIS,
    MIN_CONTRAST,
    MIN_DIGIT_SIDE,
    NOISE_SIGMAS,
    RULE_LONG,
    RULE_WIDER,
    WORK_MIN,
    Pieces,
    _frames,
    _half_maximum,
    _ink_map,
    _not_ink,
    _otsu_background,
    _pieces,
    _side,
    _soft,
    _to_working,
    _without_lines,
)
from digits.recognize.tflite import pair_class

# (N, 28, 28) float32 -> (N, 10) digit probabilities, or (N, 11): then the last column is the
# model's "one digit?" check (digits.pipeline.check), which weighs candidate cuts; or (N, 121),
# from a model exported before the reader had its own signature: then the piece reader's
# probabilities follow, as ReadPieces gives them
Classify = Callable[[np.ndarray], np.ndarray]
# (N, 28, 28) float32 -> (N, 110): the piece reader's (digits.pipeline.reader) probabilities of
# one digit or two touching ones (`tflite.pair_class`), which weigh the cuts of a whole piece too
ReadPieces = Callable[[np.ndarray], np.ndarray]

GAP = 1.0  # pieces this close (working pixels) are one: less than for one digit, where 2 px
#            joins a hairline's dashes, since here it would also join neighbouring digits
DIGIT_HEIGHT = 0.4  # pieces at least this share of the tallest piece's height are digit-sized
OVERLAP = 0.8  # two tall pieces overlapping in x by this share of the narrower are one digit
HYPHEN_TALL = 0.25  # a flat piece less tall than this (line heights) between digits is a dash ...
HYPHEN_GAP = 0.05  # ... at least this far from the digits either side
POINT_TALL = 0.65  # a piece at most this tall (line heights; a comma's tail included) ...
POINT_WIDE = 0.4  # ... and this wide, clear of the digits ...
POINT_LOW = 0.6  # ... its top below this share of the digits' height, from their top, ...
POINT_FOOT = 0.85  # ... its bottom at least this far down: a decimal point or a comma
SPECK = 0.15  # pieces smaller than this share of the line height (both ways) are specks
LEVEL_DEG = 4.0  # a line slanted more than this is turned level first
UPRIGHT_DEG = 10.0  # writing leaning more than this (italic) is set upright first (`_writing_slant`) ...
SLANT_RANGE, SLANT_STEP = 45, 3  # ... which tries leans up to this many degrees, in these steps
# Touching digits. The costs were set on 120 numbers composed from MNIST's *validation* digits
# (never the benchmark's test digits) and checked on the real development set.
NARROW = 0.9  # a piece at most this many line heights wide is one digit, unless ...
MAYBE_TWO = 0.45  # ... wider than this and read less surely than UNSURE (a 1 touching another) ...
UNSURE = 0.7
ONE_DIGIT = 0.5  # ... or one digit less likely than this to the "one digit?" check (a 1 touching a 4: a sure 4)
WIDEST = 1.3  # the widest a digit may be, a piece read whole or a part of one cut, in line heights ...
THIN = 0.3  # ... the narrowest, but a 1 ...
SHORT = 0.5  # ... and the least tall: a stroke's end or a cut-off bar is no digit
USUAL_WIDTH = 0.9  # a part wider than this many line heights ...
TYPICAL_SPAN = 1.4  # ... or this many of the line's typical (median) digit widths ...
WIDTH_COST = 4.0  # ... pays this (log-probability) per line height beyond it
DIGIT_COST = 0.6  # each digit read out of one piece pays this: more than a fragment's confidence gains
CHECK_WEIGHT = 0.5  # each part adds this times the log of the model's "one digit?" check
READER_WEIGHT = 1.0  # a piece read as one digit or two adds this times the piece reader's log-probability ...
PAIR_WIDE = 2.2  # ... where it is at most this many line heights wide
CROSSING = 0.5  # a cut's odds are multiplied by this for each stroke it crosses beyond one
ALONG = 1.0  # a cut path pays 1 to enter a stroke, and this to run along one the piece's full height
SLIVER = 0.25  # ... and a part narrower than THIN that reads as anything but 1 by this
STEP = 0.2  # candidate cuts start at least every this many line heights
LINE_SLOPE = 0.08  # ruled lines are looked for up to this slope (4.6 degrees) ...
LINE_THICK = 0.06  # ... at most this share of the image height thick ...
LINE_SPAN = 0.85  # ... with ink in this share of the columns
MAX_CROSSED = 0.5  # strokes cross at most this share of a ruled line's columns
MAX_DIGITS = 20  # more marks than this on one line is not a number
MAX_LINES = 20  # more lines than this on one page is not a list of numbers
RULE_THIN = 0.2  # a rule (normalize.RULE_LONG digit heights long) is at most this share of their height thick
AROUND = 2  # a piece whose box holds this many digit-sized pieces is drawn around them ...
INSIDE_TALL = 0.3  # ... each at least this share of its height
SEPARATORS = 3  # this many straight upright bars of one height in a row are a comb field's ...
SEPARATOR_ALIGN = 0.05  # ... their tops and bottoms level within this share of their height
SIDE_TALL = 0.9  # two such bars, all between them less tall than this share of them: a box's sides


class _SeveralLines(DigitsError):
    """`count` lines of digits, and the runs of rows (top, bottom) that part them, top to
    bottom (fewer than two where no empty rows do)."""

    def __init__(self, count: int, rows: list[tuple[float, float]]) -> None:
        super().__init__(f"{count} lines of digits found; give one line at a time")
        self.count, self.rows = count, sorted(rows)


@dataclass
class Digit:
    """One digit found in the image: its MNIST-style image and its box in the original
    image (x, y, width, height)."""

    image: np.ndarray
    box: tuple[int, int, int, int]


@dataclass
class _Frame:
    """Where the working image sits in the original: original = offset + R⁻¹(S⁻¹(working)) / scale,
    R the turn that levelled the line and S the shear that set its writing upright."""

    scale: float
    offset: tuple[float, float]  # (x, y) of the working image's origin in the original
    angle: float = 0.0  # degrees the working image was turned (counter-clockwise) to level the line
    centre_in: tuple[float, float] = (0.0, 0.0)  # rotation centre before and after turning
    centre_out: tuple[float, float] = (0.0, 0.0)
    lean: float = 0.0  # the writing's lean (columns per row) taken out after turning: `_upright`
    lean_offset: float = 0.0

    def to_original(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        top, left, bottom, right = box
        xs = np.array([left, right, right, left], np.float64)
        ys = np.array([top, top, bottom, bottom], np.float64)
        if self.lean:
            xs = xs + self.lean * ys - self.lean_offset
        if self.angle:
            a = math.radians(self.angle)
            dx, dy = xs - self.centre_out[0], ys - self.centre_out[1]
            xs = dx * math.cos(a) - dy * math.sin(a) + self.centre_in[0]
            ys = dx * math.sin(a) + dy * math.cos(a) + self.centre_in[1]
        xs = xs / self.scale + self.offset[0]
        ys = ys / self.scale + self.offset[1]
        x0, y0 = math.floor(xs.min()), math.floor(ys.min())
        return x0, y0, math.ceil(xs.max()) - x0, math.ceil(ys.max()) - y0


def _turn(x: np.ndarray, angle: float) -> np.ndarray:
    """The ink map turned counter-clockwise by `angle` degrees, enlarged to hold it all."""
    im = Image.fromarray(np.asarray(x, np.float32), mode="F")
    return np.asarray(im.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=0.0),
                      dtype=np.float32)


def _writing_slant(labels: np.ndarray, idx: list[int], line_h: float) -> float:
    """How far the writing leans, in columns per row (negative: the tops lean right, as in
    italic handwriting): the shear, from -SLANT_RANGE to SLANT_RANGE degrees, under which the
    digit-sized pieces `idx` are narrowest together. A leaning 0 is narrowest upright; a
    7's or a 2's diagonal, within the width of its bar, leaves its width as it is, so such
    shapes do not pull the writing's lean their way (as the strokes' own angles do). A 1,
    narrower than THIN line heights upright, does not count beside digits with a body: a
    lone stroke, it leans whichever way its writer flicked it. Fewer than two pieces that
    count show no lean (0)."""
    sel = np.isin(labels, np.asarray(idx) + 1)
    ys, xs = np.nonzero(sel)
    if ys.size == 0:
        return 0.0
    lab = labels[ys, xs]
    order = np.argsort(lab, kind="stable")
    ys, xs = ys[order].astype(np.float64), xs[order].astype(np.float64)
    starts = np.flatnonzero(np.r_[True, np.diff(lab[order]) != 0])
    leans = np.tan(np.radians(np.arange(-SLANT_RANGE, SLANT_RANGE + 1, SLANT_STEP)))
    sheared = [xs - t * ys for t in leans]  # each pixel's column under each lean
    widths = np.array([np.maximum.reduceat(c, starts) - np.minimum.reduceat(c, starts) for c in sheared])
    body = widths.min(axis=0) >= THIN * line_h
    count = body if body.any() else np.ones_like(body)  # widths: (leans, pieces)
    if count.sum() < 2:
        return 0.0
    return float(leans[int(np.argmin(widths[:, count].sum(axis=1)))])


def _upright(x: np.ndarray, lean: float, background: float) -> tuple[np.ndarray, float]:
    """The ink map sheared so that writing leaning `lean` columns per row stands upright
    (column c of row y moves to c - lean·y + offset), and that offset; the corners it
    uncovers are `background`."""
    h, w = x.shape
    offset = max(0.0, lean * h)
    width = int(math.ceil(w + abs(lean) * h)) + 1
    im = Image.fromarray(np.asarray(x, np.float32), mode="F")
    out = im.transform((width, h), Image.Transform.AFFINE, (1.0, lean, -offset, 0.0, 1.0, 0.0),
                       resample=Image.Resampling.BILINEAR, fillcolor=float(background))
    return np.asarray(out, np.float32), offset


def _line_pieces_of(x: np.ndarray, crop: bool) -> Pieces:
    """`normalize._pieces` for a line of digits, its refusal worded as `digits read` words
    them (`segment_lines` knows a band with no digits in it by "no digits found")."""
    try:
        return _pieces(x, crop, gap=GAP)
    except DigitsError:
        raise DigitsError("no digits found (blank image)") from None


def _line_pieces(x: np.ndarray, crop: bool
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int], float, float]:
    """The ink map less any rule under the number (`_rules`), and the pieces on the line:
    labels, boxes, the indices kept, the line height, the background level. Raises
    DigitsError for no digits or several lines."""
    pc = _line_pieces_of(x, crop)
    # Printed structure, each looked for in what the one before left: a rule under the number,
    # a form's boxes, the bars between the boxes of a comb field, then a ring drawn around it.
    def without(found: np.ndarray | None) -> tuple[np.ndarray, Pieces]:
        if found is None:
            return x, pc
        less = np.where(found, pc.med, x)
        return less, _line_pieces_of(less, crop)

    rules = _rules(pc)
    x, pc = without(rules)
    frames = _frames(pc)
    x, pc = without(frames)
    printed = [m for m in (rules, frames) if m is not None]
    x, pc = without(_separators(pc, np.logical_or.reduce(printed) if printed else None))
    x, pc = without(_around(pc))
    boxes = pc.boxes
    live = np.flatnonzero(pc.mass > 0)
    if live.size == 0:
        raise DigitsError("no digits found")
    heights = (boxes[:, 2] - boxes[:, 0]).astype(np.float64)
    widths = (boxes[:, 3] - boxes[:, 1]).astype(np.float64)
    tallest = heights[live].max()
    big = live[heights[live] >= DIGIT_HEIGHT * tallest]
    line_h = float(np.median(heights[big]))
    if max(tallest, widths[live].max()) < 0.03 * max(x.shape):
        raise DigitsError("no digits found")
    # Lines: the runs of rows covered by digit-sized pieces.
    order = big[np.argsort(boxes[big, 0], kind="stable")]
    bands: list[list[int]] = []
    for i in order.tolist():
        if bands and boxes[i, 0] < max(boxes[j, 2] for j in bands[-1]) - 0.1 * line_h:
            bands[-1].append(i)
        else:
            bands.append([i])
    ink = [float(pc.mass[b].sum()) for b in bands]
    main = int(np.argmax(ink))
    # a line: a quarter of the main line's ink, or a number of two or more digits of its own
    strong = [k for k, m in enumerate(ink)
              if m >= 0.25 * ink[main] or (len(bands[k]) >= 2 and m >= 0.05 * ink[main])]
    if len(strong) > 1:
        # lines of ink, not of noise: the page's digit-sized marks pass the test below first
        _ink_or_refuse(x, pc, big.tolist())
        raise _SeveralLines(len(strong), _rows(boxes[live], heights[live], line_h))
    band = bands[main]
    y0, y1 = min(boxes[j, 0] for j in band), max(boxes[j, 2] for j in band)
    line_h = float(np.median(heights[band]))
    keep = [int(i) for i in live
            if boxes[i, 2] > y0 - 0.25 * line_h and boxes[i, 0] < y1 + 0.25 * line_h
            and max(heights[i], widths[i]) >= SPECK * line_h]
    _ink_or_refuse(x, pc, keep)
    return x, pc.labels, boxes, keep, line_h, pc.med


def _ink_or_refuse(x: np.ndarray, pc: Pieces, keep: list[int]) -> None:
    """DigitsError unless pieces `keep` of ink map `x` are ink (`normalize._not_ink`, for
    noise too, which for one digit its share of the ink tells; a number's pieces merge noise
    peaks into digit-sized blots)."""
    b = pc.boxes[keep]
    why = _not_ink(x, np.isin(pc.labels, np.asarray(keep) + 1),
                   (int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())),
                   pc.med, pc.sigma, noise=True)
    if why:
        raise DigitsError(f"no digits found ({why})")


def _rows(boxes: np.ndarray, heights: np.ndarray, line_h: float) -> list[tuple[float, float]]:
    """The runs of rows that pieces taller than specks cover, (top, bottom): on a page of
    several lines, the lines, whatever their sizes, as long as empty rows part them."""
    runs: list[list[float]] = []
    for top, bottom in sorted(boxes[heights >= SPECK * line_h][:, [0, 2]].tolist()):
        if runs and top <= runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], bottom)
        else:
            runs.append([top, bottom])
    return [(float(a), float(b)) for a, b in runs]


def _slant(boxes: np.ndarray, idx: list[int], weights: np.ndarray) -> float:
    """The line's slant in degrees (y down), from the centres of its pieces."""
    if len(idx) < 2:
        return 0.0
    b = boxes[idx].astype(np.float64)
    cx, cy = (b[:, 1] + b[:, 3]) / 2, (b[:, 0] + b[:, 2]) / 2
    if np.ptp(cx) < 1:
        return 0.0
    w = weights / weights.sum()
    mx, my = (w * cx).sum(), (w * cy).sum()
    slope = (w * (cx - mx) * (cy - my)).sum() / max((w * (cx - mx) ** 2).sum(), 1e-9)
    return math.degrees(math.atan(slope))


def _group(boxes: np.ndarray, idx: list[int], line_h: float) -> list[list[int]]:
    """Pieces grouped into digits, left to right: a piece joins a neighbour it overlaps in
    x by most of its own width (a broken stroke; half, for a small piece such as the bar of
    a 5), and a small piece joins a neighbour within a third of the line height."""
    order = sorted(idx, key=lambda i: (boxes[i, 1] + boxes[i, 3]) / 2)
    groups: list[list[int]] = [[i] for i in order]

    def span(g: list[int]) -> tuple[int, int, int, int]:
        b = boxes[g]
        return int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())

    merged = True
    while merged and len(groups) > 1:
        merged = False
        for k in range(len(groups) - 1):
            (t0, l0, b0, r0), (t1, l1, b1, r1) = span(groups[k]), span(groups[k + 1])
            overlap = min(r0, r1) - max(l0, l1)
            narrow = min(r0 - l0, r1 - l1)
            small = min(b0 - t0, b1 - t1) < 0.5 * line_h
            gap = max(l1 - r0, 0)
            vgap = max(t1 - b0, t0 - b1, 0)
            # Slanted neighbours overlap in x too, but rarely most of the narrower one's width.
            share = 0.5 if small else OVERLAP
            if overlap >= share * narrow or (small and gap <= line_h / 3 and vgap <= line_h / 3
                                              and (overlap > 0 or min(b0 - t0, b1 - t1) < 0.35 * line_h)):
                groups[k] = groups[k] + groups.pop(k + 1)
                merged = True
                break
    # What stays small after joining is a speck, a dash or a stray mark, not a digit.
    return [g for g in groups if (span(g)[2] - span(g)[0]) >= 0.35 * line_h]


def _hyphen(boxes: np.ndarray, i: int, idx: list[int], line_h: float) -> bool:
    """Whether piece i is a hyphen or dash between groups of digits (a phone number's
    555-1234): a short flat stroke (less than HYPHEN_TALL line heights tall, at least twice as
    wide), beside the digits, at least HYPHEN_GAP line heights clear of any (the bar of a 5
    or a 7's crossbar lies over its digit), its middle in the middle half of the line's
    digits and of the pieces either side of it."""
    t, lf, b, r = boxes[i].tolist()
    if b - t >= HYPHEN_TALL * line_h or 2 * (b - t) > r - lf:
        return False
    tall = [j for j in idx if boxes[j, 2] - boxes[j, 0] >= 0.5 * line_h]
    if not tall:
        return False
    # clear of the digits either side (the bar of a small 5 can lie beside its body, close)
    clear = HYPHEN_GAP * line_h
    if not all(boxes[j, 3] <= lf - clear or boxes[j, 1] >= r + clear for j in idx if j != i):
        return False
    # in the middle half of the line's digits and of its neighbours: a small 5's bar written
    # beside its body is level with the body's top
    mid = (t + b) / 2
    return all(0.25 <= (mid - top) / max(bottom - top, 1.0) <= 0.75 for top, bottom in _levels(boxes, i, idx, tall))


def _levels(boxes: np.ndarray, i: int, neighbours: list[int], tall: list[int]) -> list[tuple[float, float]]:
    """The rows (top, bottom) a mark beside the digits is measured against: the median top
    and bottom of the line's `tall` digits, and those of piece i's nearest `neighbours`
    on its left and on its right (where there are any)."""
    _, lf, _, r = boxes[i].tolist()
    left = [j for j in neighbours if boxes[j, 3] <= lf]
    right = [j for j in neighbours if boxes[j, 1] >= r]
    around = [tall]
    if left:
        around.append([max(left, key=lambda j: boxes[j, 3])])
    if right:
        around.append([min(right, key=lambda j: boxes[j, 1])])
    return [(float(np.median(boxes[js, 0])), float(np.median(boxes[js, 2]))) for js in around]


def _point(boxes: np.ndarray, i: int, idx: list[int], line_h: float) -> bool:
    """Whether piece i is a decimal point or a comma (an amount's 1673.50, a count's 12,500):
    small (at most POINT_TALL line heights tall, a comma's tail included, and POINT_WIDE
    wide), in no digit's columns (a 4's broken stem is under its body), and low on the line:
    its top below POINT_LOW of the height of the line's digits and of the digits either side
    of it, its bottom at least at POINT_FOOT (on the line or below it). No digit starts that
    low; the bar of a 5 and an apostrophe sit at the top, a hyphen in the middle."""
    t, lf, b, r = boxes[i].tolist()
    if b - t > POINT_TALL * line_h or r - lf > POINT_WIDE * line_h:
        return False
    if not all(boxes[j, 3] <= lf or boxes[j, 1] >= r for j in idx if j != i):
        return False
    tall = [j for j in idx if boxes[j, 2] - boxes[j, 0] >= 0.5 * line_h]
    if not tall:
        return False
    return all((t - top) / max(bottom - top, 1.0) >= POINT_LOW and (b - top) / max(bottom - top, 1.0) >= POINT_FOOT
               for top, bottom in _levels(boxes, i, tall, tall))


def _cut_paths(m: np.ndarray, columns: list[int], band: int) -> list[np.ndarray]:
    """For each start column, the top-to-bottom path (one column per row, moving at most one
    column per row, within `band` of the start) that crosses the fewest strokes: entering ink
    costs 1, going on along it ALONG over the piece's height. Two 0s side by side meet along
    their sides, a joint up to a third of their height: counted in pixels, as it once was, it
    cost more than cutting through one of the 0s' hollows (two strokes, a stroke width each),
    and the 0s were cut in halves. All starts are solved at once, each in its own window of
    2·band+1 columns."""
    h, w = m.shape
    starts = np.asarray(columns, np.int64)
    offs = np.arange(-band, band + 1)
    cols = starts[:, None] + offs[None, :]  # (n, k) the window's columns
    inside = (cols >= 0) & (cols < w)
    ink = np.where(inside[None], m[:, np.clip(cols, 0, w - 1)], False)  # (h, n, k)
    base = np.where(inside, 1e-3 + 1e-4 * np.abs(offs)[None, :], np.inf)  # straight where free to be
    acc = ink[0] + base
    back = np.zeros(ink.shape, np.int8)
    inf = np.full((len(starts), 1), np.inf)
    clear = np.zeros((len(starts), 1), bool)
    along = ALONG / h
    for y in range(1, h):
        was, here = ink[y - 1], ink[y]
        # the move from the column to the left, straight down, from the right: each pays for
        # this row's pixel by whether the path was in ink just before
        came = np.stack([np.concatenate([clear, was[:, :-1]], axis=1), was,
                         np.concatenate([was[:, 1:], clear], axis=1)])
        stack = np.stack([np.concatenate([inf, acc[:, :-1]], axis=1), acc,
                          np.concatenate([acc[:, 1:], inf], axis=1)]) + here * np.where(came, along, 1.0)
        step = stack.argmin(axis=0)
        acc = np.take_along_axis(stack, step[None], axis=0)[0] + base
        back[y] = step - 1
    j = acc.argmin(axis=1)
    idx = np.empty((h, len(starts)), np.int64)
    idx[-1] = j
    rows = np.arange(len(starts))
    for y in range(h - 1, 0, -1):
        idx[y - 1] = idx[y] + back[y, rows, idx[y]]
    return [cols[i, idx[:, i]] for i in range(len(starts))]


def _strokes_crossed(on: np.ndarray) -> float:
    """How many strokes a cut crosses: the runs of ink along it (`on`, one per row), however
    long each (two digits touching side by side meet along a joint)."""
    return float(on[0]) + float(np.count_nonzero(on[1:] & ~on[:-1]))


def _box(m: np.ndarray) -> tuple[int, int, int, int] | None:
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def _render(m: np.ndarray) -> np.ndarray | None:
    box = _box(m)
    if box is None:
        return None
    try:
        return to_mnist(m, box)
    except DigitsError:
        return None


def _cut_starts(m: np.ndarray, line_h: float) -> list[int]:
    """Columns to start candidate cuts at: the dips of the piece's ink profile (emptiest
    first), then every STEP line heights, at least half a step apart and from either side.
    Digits touching side by side (two 0s) meet where the profile has no dip."""
    h, w = m.shape
    profile = np.convolve(m.sum(axis=0).astype(np.float64), np.ones(3) / 3, mode="same")
    margin = max(1, int(0.15 * line_h))
    cols = np.arange(margin, w - margin)
    if cols.size == 0:
        return []
    is_min = (profile[cols] <= profile[cols - 1]) & (profile[cols] <= profile[np.minimum(cols + 1, w - 1)])
    step = max(2.0, STEP * line_h)
    starts: list[int] = []
    for c in cols[is_min][np.argsort(profile[cols[is_min]], kind="stable")].tolist() + \
            np.arange(margin, w - margin, step).round().astype(int).tolist():
        if all(abs(c - s) >= step / 2 for s in starts):
            starts.append(c)
    return sorted(starts)


def _split_piece(m: np.ndarray, line_h: float, classify: Classify,
                 typical: float | None = None, read_pieces: ReadPieces | None = None) -> list[np.ndarray]:
    """The digit masks in one piece (its own box's mask; each part the same shape), left to right.

    A piece no wider than NARROW line heights is one digit unless it is wider than MAYBE_TWO
    and the classifier is unsure of it or the check doubts it is one. A wider one may be touching
    digits: candidate cuts run from the dips of its ink profile along the paths across the
    fewest strokes (`_cut_paths`); every run of pieces between two cuts that could be a digit
    is classified (one batch), and the segmentation with the highest total log-probability
    wins (dynamic programming), where a cut pays CROSSING for each stroke it crosses beyond
    the one joint where touching digits meet (a run of ink along the cut, however long), a
    part narrower than THIN reads as anything but 1 pays SLIVER, and no part, the whole piece
    included, is wider than WIDEST.
    """
    h, w = m.shape
    ref = max(h, line_h)
    # This writer's usual width: wider than a line height's share when the line shows it.
    usual = USUAL_WIDTH * ref if typical is None else min(USUAL_WIDTH * ref, TYPICAL_SPAN * typical)
    # The whole piece is read where it may be two digits and still a pair: the narrow test
    # below, and the piece reader's view of it (where the model has one).
    whole = _render(m) if MAYBE_TWO * ref < w <= PAIR_WIDE * ref else None
    seen = np.asarray(classify(whole[None]), np.float64)[0] if whole is not None else None
    pieces = None
    if seen is not None and seen.size > NUM_CLASSES + 1:
        pieces = seen[NUM_CLASSES + 1:]
    elif seen is not None and read_pieces is not None:
        pieces = np.asarray(read_pieces(whole[None]), np.float64)[0]
    if w <= min(NARROW * ref, usual):
        # Narrow enough for one digit; two touching narrow ones (a 1 and another) are too,
        # and then the classifier is unsure what the whole is, or sure of a digit the whole
        # is not (a 1 touching a 4 read as a 4) where the check is not, or the reader reads a pair.
        if seen is None:
            return [m]
        checked = seen.size == NUM_CLASSES or seen[NUM_CLASSES] >= ONE_DIGIT
        one = pieces is None or pieces[NUM_CLASSES:].sum() <= 0.5
        if float(np.max(seen[:NUM_CLASSES])) >= UNSURE and checked and one:
            return [m]
    starts = _cut_starts(m, line_h)
    if not starts:
        return [m]
    paths = _cut_paths(m, starts, max(2, int(0.15 * h)))
    paths.sort(key=lambda p: float(p.mean()))
    rows = np.arange(h)
    cut_cost = [0.0] + [math.log(CROSSING) * max(0.0, _strokes_crossed(m[rows, p]) - 1.0) for p in paths]
    bounds = [np.zeros(h, np.int64)] + paths + [np.full(h, w, np.int64)]
    cols = np.arange(w)[None, :]
    total = float(m.sum())
    n = len(bounds)
    segs: dict[tuple[int, int], np.ndarray] = {}
    images = []
    for i in range(n - 1):
        for j in range(i + 1, n):
            part = m & (cols >= bounds[i][:, None]) & (cols < bounds[j][:, None])
            if part.sum() < 0.05 * total:
                continue
            box = _box(part)
            pw = (box[3] - box[1]) / ref
            over = max(0.0, (box[3] - box[1] - usual) / ref)
            if pw > WIDEST:
                break  # wider still for every later j
            if box[2] - box[0] < SHORT * line_h:
                continue  # a stroke's end or a bar cut off, not a digit
            r = _render(part)
            if r is not None:
                segs[(i, j)] = part
                images.append((i, j, r, pw, over))
    if not images:
        return [m]
    out = np.asarray(classify(np.stack([r for _, _, r, _, _ in images])), np.float64)
    read = _digit_scores(out)
    score: dict[tuple[int, int], float] = {}
    digit: dict[tuple[int, int], int] = {}
    for (i, j, _, pw, over), p, v in zip(images, out[:, :NUM_CLASSES], read, strict=True):
        sliver = pw < THIN and int(p.argmax()) != 1
        score[(i, j)] = float(v) + (math.log(SLIVER) if sliver else 0.0) - WIDTH_COST * over
        digit[(i, j)] = int(p.argmax())
    best = [-math.inf] * n
    back = [-1] * n
    best[0] = 0.0
    for j in range(1, n):
        for i in range(j):
            if (i, j) in score and best[i] > -math.inf:
                v = best[i] + score[(i, j)] + cut_cost[i]
                if v > best[j]:
                    best[j], back[j] = v, i
    if best[-1] == -math.inf:
        return [m]
    path, j = [], n - 1
    while j > 0:
        path.append((back[j], j))
        j = back[j]
    path = path[::-1]
    if pieces is not None and len(path) <= 2:
        # One digit or two: each such reading again, with what the reader makes of the whole
        # piece as one more expert's log-probability (a 1 touching an 8 is "18" to it).
        def weighed(parts: list[tuple[int, int]]) -> float:
            cls = digit[parts[0]] if len(parts) == 1 else pair_class(digit[parts[0]], digit[parts[1]])
            cuts = sum(cut_cost[a] for a, _ in parts)
            return sum(score[q] for q in parts) + cuts + READER_WEIGHT * math.log(max(float(pieces[cls]), 1e-6))

        readings = [[(0, n - 1)]] + [[(0, k), (k, n - 1)] for k in range(1, n - 1)]
        path = max((r for r in readings if all(q in score for q in r)), key=weighed, default=path)
    return [segs[q] for q in path]


Box = tuple[int, int, int, int]  # top, left, bottom, right (exclusive), working pixels


Parts = list[tuple[np.ndarray, Box, np.ndarray | None]]


def _segment_working(x: np.ndarray, crop: bool, classify: Classify,
                     read_pieces: ReadPieces | None) -> list[tuple[float, float, Parts]]:
    """The line's digits as written, and where the writing leans more than UPRIGHT_DEG, also
    as found with it set upright: each (lean, offset of `_upright`, the parts of `_parts`)."""
    line = _line_pieces(x, crop)
    x, labels, boxes, keep, line_h, med = line
    readings = [(0.0, 0.0, _parts(*line, classify, read_pieces))]
    tall = [i for i in keep if boxes[i, 2] - boxes[i, 0] >= DIGIT_HEIGHT * line_h]
    lean = _writing_slant(labels, tall, line_h)
    if abs(math.degrees(math.atan(lean))) > UPRIGHT_DEG:
        # Leaning digits overlap their neighbours' columns, and the cuts between touching
        # ones run top to bottom: upright, they part as upright writing does. Only the
        # line's own marks are turned: the page's lines, which its pieces left aside, would
        # be moved against the digits and could come to touch them.
        others = (labels > 0) & ~np.isin(labels, np.asarray(keep) + 1)
        x = np.where(cv2.dilate(others.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0, med, x)
        upright, offset = _upright(x, lean, med)
        with contextlib.suppress(DigitsError):  # nothing upright to read: as written it is
            readings.append((lean, offset, _parts(*_line_pieces(upright, crop), classify, read_pieces)))
    return readings


def _parts(x: np.ndarray, labels: np.ndarray, boxes: np.ndarray, keep: list[int], line_h: float, med: float,
           classify: Classify, read_pieces: ReadPieces | None) -> Parts:
    """Digit masks (full-size, working pixels) with their boxes, left to right, and for a
    blurred digit that is a piece of its own its grey levels (`normalize._soft`)."""
    # a hyphen, a decimal point or a comma between the digits is no digit: the number is its digits
    digit_pieces = [i for i in keep if not _hyphen(boxes, i, keep, line_h) and not _point(boxes, i, keep, line_h)]
    groups = _group(boxes, digit_pieces, line_h)
    if not groups:
        raise DigitsError("no digits found")
    if len(groups) > MAX_DIGITS:
        raise DigitsError(f"{len(groups)} marks on the line: not a number (at most {MAX_DIGITS} digits)")
    # The writer's usual digit width: the median of the groups neither thin (1s) nor wide
    widths = [int(boxes[g, 3].max() - boxes[g, 1].min()) for g in groups]
    usual = [wd for wd in widths if THIN * line_h <= wd <= NARROW * line_h]
    typical = float(np.median(usual)) if len(usual) >= 2 else None
    out = []
    for g in groups:
        b = boxes[g]
        top, left, bottom, right = int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())
        digit = np.zeros(labels.shape, bool)
        digit[top:bottom, left:right] = np.isin(labels[top:bottom, left:right], np.asarray(g) + 1)
        around = (top, left, bottom, right)
        sharp, (top, left, bottom, right) = _half_maximum(x, digit, med, around)
        parts = _split_piece(sharp[top:bottom, left:right], line_h, classify, typical, read_pieces)
        # Touching digits cut apart are drawn from their masks: the cut runs through the mask.
        soft = _soft(x, digit, med, around, sharp, (top, left, bottom, right)) if len(parts) == 1 else None
        for part in parts:
            pb = _box(part)
            if pb is None:
                continue
            pt, pl, pbt, pr = pb
            m = np.zeros(labels.shape, bool)
            m[top + pt:top + pbt, left + pl:left + pr] = part[pt:pbt, pl:pr]
            out.append((m, (top + pt, left + pl, top + pbt, left + pr), soft))
    return out


def segment(grey: np.ndarray, classify: Classify, read_pieces: ReadPieces | None = None) -> list[Digit]:
    """The digits of one handwritten line in a greyscale image, left to right.

    `classify` scores candidate cuts of touching digits, and `read_pieces` (the piece reader,
    where the model has it as its own signature) whole pieces that may be two touching digits.
    DigitsError if there is no digit,
    or more than one line.
    """
    if grey.size == 0 or float(np.ptp(grey)) < MIN_CONTRAST:
        raise DigitsError("no digits found (blank image)")
    frame, x, crop = _working(grey, (0.0, 0.0))
    try:
        x, labels, boxes, keep, line_h, _ = _line_pieces(x, crop)
    except _SeveralLines as lines:  # their rows in the original's pixels, for segment_lines
        rows = [(top / frame.scale, bottom / frame.scale) for top, bottom in lines.rows]
        raise _SeveralLines(lines.count, rows) from None
    weights = np.array([max(1.0, float(boxes[i, 3] - boxes[i, 1])) for i in keep])
    big = [i for i in keep if boxes[i, 2] - boxes[i, 0] >= DIGIT_HEIGHT * line_h]
    angle = _slant(boxes, big, weights[[keep.index(i) for i in big]]) if big else 0.0
    b = boxes[keep]
    top, left, bottom, right = int(b[:, 0].min()), int(b[:, 1].min()), int(b[:, 2].max()), int(b[:, 3].max())
    if frame.scale < 1 and line_h < MIN_DIGIT_SIDE:
        # A small line in a large photo: again at the original resolution around it, with
        # a margin wide enough for the background estimate.
        pad = max(line_h, 0.1 * (right - left))
        y0 = max(0, int((top - pad) / frame.scale))
        x0 = max(0, int((left - pad) / frame.scale))
        y1 = min(grey.shape[0], int(math.ceil((bottom + pad) / frame.scale)))
        x1 = min(grey.shape[1], int(math.ceil((right + pad) / frame.scale)))
        if (y1 - y0) * (x1 - x0) < 0.5 * grey.size:
            frame, x, crop = _working(grey[y0:y1, x0:x1], (float(x0), float(y0)))
    if abs(angle) > LEVEL_DEG:
        h, w = x.shape
        turned = _turn(x, angle)
        frame.angle = angle
        frame.centre_in = (w / 2, h / 2)
        frame.centre_out = (turned.shape[1] / 2, turned.shape[0] / 2)
        x, crop = turned, False
    try:
        readings = _segment_working(x, crop, classify, read_pieces)
    except _SeveralLines as lines:  # seen only at the original resolution or turned level: no rows to give
        raise DigitsError(str(lines)) from None
    # As written, or set upright where the writing leans: whichever reads better.
    found: list[list[Digit]] = []
    failed: DigitsError | None = None
    for lean, offset, parts in readings:
        frame.lean, frame.lean_offset = lean, offset
        try:
            found.append([Digit(draw(m, box, soft), frame.to_original(box)) for m, box, soft in parts])
        except DigitsError as exc:  # a blot: refused if no reading is without one
            failed = failed or exc
    if not found:
        raise failed or DigitsError("no digits found")
    if len(found) == 1:
        return found[0]
    return max(found, key=lambda digits: float(
        _digit_scores(np.asarray(classify(np.stack([d.image for d in digits])), np.float64)).sum()))


def _digit_scores(out: np.ndarray) -> np.ndarray:
    """What each classified image adds to a reading's score, from the classifier's outputs (one
    row each): its digit's log-probability, the "one digit?" check's (where the model has it)
    times CHECK_WEIGHT, less DIGIT_COST. Cuts are weighed by it (`_split_piece`), and so are
    the readings of a line as written and set upright."""
    score = np.log(np.maximum(out[:, :NUM_CLASSES].max(axis=1), 1e-6)) - DIGIT_COST
    if out.shape[1] > NUM_CLASSES:
        score += CHECK_WEIGHT * np.log(np.maximum(out[:, NUM_CLASSES], 1e-4))
    return score


def segment_lines(grey: np.ndarray, classify: Classify, read_pieces: ReadPieces | None = None,
                  _depth: int = 0) -> list[list[Digit]]:
    """The digits of each handwritten line in a greyscale image (a column of a ledger, a
    list of numbers), top to bottom, each left to right; one line as `segment` reads it.

    Lines are the runs of rows the marks cover, parted by empty rows; each is read on its
    own, from halfway to the line above to halfway to the line below (to the image's edge
    for the first and the last), so that its height, slant and touching digits are its own
    (and a line that turns out to be several is parted again; rows with no digit in them,
    a stray mark, are no line). DigitsError for no digit, lines that no empty rows part
    (the message of `segment`), more than MAX_LINES, or a line that cannot be read (which
    one is said)."""
    try:
        return [segment(grey, classify, read_pieces)]
    except _SeveralLines as found:
        rows = found.rows
        if len(rows) < 2 or _depth >= 2:
            raise DigitsError(str(found)) from None
    if len(rows) > MAX_LINES:
        raise DigitsError(f"{len(rows)} lines of digits found: at most {MAX_LINES} are read")
    lines: list[list[Digit]] = []
    for k, (top, bottom) in enumerate(rows):
        y0 = 0 if k == 0 else int((rows[k - 1][1] + top) / 2)
        y1 = grey.shape[0] if k == len(rows) - 1 else int(math.ceil((bottom + rows[k + 1][0]) / 2))
        try:
            found_lines = segment_lines(grey[y0:y1], classify, read_pieces, _depth + 1)
        except DigitsError as exc:
            if str(exc).startswith("no digits found"):
                continue  # a stray mark above, below or between the lines: no line
            raise DigitsError(f"line {k + 1} of {len(rows)}: {exc}") from None
        lines += [[Digit(d.image, (d.box[0], d.box[1] + y0, d.box[2], d.box[3])) for d in line]
                  for line in found_lines]
    if not lines:
        raise DigitsError("no digits found")
    if len(lines) > MAX_LINES:
        raise DigitsError(f"{len(lines)} lines of digits found: at most {MAX_LINES} are read")
    return lines


def _without_ruled_lines(x: np.ndarray) -> np.ndarray:
    """The ink map less a ruled line under or through the digits: ink along a thin band that
    runs across nearly the whole image at a slight slope (a ledger's line, photographed a
    little askew, which the straight openings of `normalize` miss). Each slope in
    +-LINE_SLOPE is tried by shearing the ink pixels' rows; where a band at most LINE_THICK
    of the height thick holds ink in LINE_SPAN of the columns, its ink is removed, but for
    the columns where a stroke crosses the line (ink just above and just below the band):
    there the ink is the digit's, and taking it would cut the digit in two (its halves
    then read as two lines of digits, or as other digits)."""
    h, w = x.shape
    # the faint-ink threshold of `_pieces`: a line fainter than the digits still joins them
    otsu, med, sigma = _otsu_background(x)
    mask = x > max(HYSTERESIS * max(otsu, med + NOISE_SIGMAS * sigma), med + NOISE_SIGMAS / 2 * sigma)
    thick = max(2, round(LINE_THICK * h))
    out = x.copy()
    slopes = np.linspace(-LINE_SLOPE, LINE_SLOPE, 17)
    for _ in range(3):  # a page may have a line above and below
        ys, xs = np.nonzero(mask)
        if ys.size < LINE_SPAN * w:
            break
        best = None
        for slope in slopes:
            shift = np.round(slope * (np.arange(w) - w / 2)).astype(np.int64)
            r = ys - shift[xs]
            lo_r = int(r.min())
            counts = np.bincount(r - lo_r)
            # ink pixels within each band of `thick` sheared rows
            band = np.convolve(counts, np.ones(thick, np.int64))[thick - 1:]
            top = int(np.argmax(band))
            if band[top] < LINE_SPAN * w:
                continue
            sel = (r >= top + lo_r) & (r < top + lo_r + thick)
            span = np.unique(xs[sel]).size / w
            if span >= LINE_SPAN and (best is None or span > best[0]):
                best = (span, sel, top + lo_r, shift)
        if best is None:
            break
        sel, top, shift = best[1:]
        crossed = _crossed(mask, top + shift, thick)
        if crossed.mean() <= MAX_CROSSED:  # else ink all along beside the band: the line is thicker
            sel &= ~crossed[xs]
        out[ys[sel], xs[sel]] = 0.0
        mask[ys[sel], xs[sel]] = False
    return out


def _crossed(mask: np.ndarray, top: np.ndarray, thick: int) -> np.ndarray:
    """Per column, whether a stroke crosses the band of `thick` rows starting at row `top`
    (per column): ink in the row just above it and in the row just below it, in that column
    or a neighbour (a slanted stroke)."""
    h, w = mask.shape
    cols = np.arange(w)
    above, below = top - 1, top + thick

    def ink(rows: np.ndarray) -> np.ndarray:
        hit = mask[np.clip(rows, 0, h - 1), cols] & (rows >= 0) & (rows < h)
        return hit | np.r_[False, hit[:-1]] | np.r_[hit[1:], False]

    return ink(above) & ink(below)


def _working(grey: np.ndarray, offset: tuple[float, float]) -> tuple[_Frame, np.ndarray, bool]:
    """The ink map at working resolution, where it sits, and whether the image is a small crop."""
    work, scale, dark = _to_working(grey)
    crop = max(grey.shape) <= WORK_MIN
    x = _ink_map(work, dark, crop)
    if crop:
        # A crop of a ledger line keeps its ruled lines, which run under and through the
        # digits and join them; one digit's crop is not looked at this way (its strokes can
        # span the frame), but a line of digits is wider than any one of its strokes.
        x = np.maximum(_without_lines(x), 0)
    x = _without_ruled_lines(x)
    return _Frame(scale=scale, offset=offset), x, crop


def _around(pc: Pieces) -> np.ndarray | None:
    """The pixels of marks drawn around the number (a ring or a box around it, to point it
    out), or None: a piece whose box holds AROUND or more digit-sized pieces (at least
    INSIDE_TALL of its own height) is no digit; a digit holds at most a speck."""
    top, left, bottom, right = pc.boxes.T
    live = np.flatnonzero(pc.mass > 0)
    rings = []
    for i in live.tolist():
        inside = ((live != i) & (top[live] > top[i]) & (bottom[live] < bottom[i]) & (left[live] > left[i])
                  & (right[live] < right[i]) & (bottom[live] - top[live] >= INSIDE_TALL * (bottom[i] - top[i])))
        if int(inside.sum()) >= AROUND:
            rings.append(i)
    return np.isin(pc.labels, np.asarray(rings) + 1) if rings else None


def _sides(pc: Pieces, row: list[int]) -> bool:
    """Whether level bars `row` are the sides of a box around the number (its top and bottom
    gone as ruled lines): they have marks between them, and are taller than all of those."""
    top, left, bottom, right = pc.boxes.T
    live = np.flatnonzero(pc.mass > 0)
    between = live[(left[live] > left[row].min()) & (right[live] < right[row].max()) & ~np.isin(live, row)]
    tallest = SIDE_TALL * float((bottom[row] - top[row]).min())
    return between.size > 0 and bool(np.all(bottom[between] - top[between] < tallest))


def _bar(m: np.ndarray) -> bool:
    """Whether mask `m` (a piece cropped to its box, turned so the bar lies along the rows)
    is a straight line and nothing else: a digit touching a bar is more than the line."""
    line = _side(m, m.shape[0])
    return line is not None and int((line & m).sum()) >= 0.9 * int(m.sum())


def _separators(pc: Pieces, printed: np.ndarray | None) -> np.ndarray | None:
    """The pixels of the printed bars between the boxes of a comb field (a row of boxes on a
    form, one digit in each), or None. With its outer sides gone (`normalize._frames`, or its
    top and bottom as ruled lines), each bar is a piece of its own, a 1 to the classifier. A
    bar is straight, thin and upright (its side strays at most FRAME_STRAY pixels from a
    straight line, as a printed frame's side, `normalize._side`), and printed where it runs
    from one line of the `printed` frames and rules just taken away to another (the field's
    top and bottom), where two such bars are taller than everything between them (a box's
    sides, `_sides`), or where SEPARATORS or more such bars have the same top and bottom,
    within SEPARATOR_ALIGN of their height: a writer's 1s are neither that straight nor
    that even."""
    top, left, bottom, right = pc.boxes.T
    bh, bw = bottom - top, right - left
    cand = [i for i in np.flatnonzero((pc.mass > 0) & (bh >= 8) & (bw <= RULE_THIN * bh)).tolist()
            if _bar((pc.labels[top[i]:bottom[i], left[i]:right[i]] == i + 1).T)]
    bars: set[int] = set()
    for i in cand:
        tol = int(max(2.0, SEPARATOR_ALIGN * bh[i]))
        row = [j for j in cand if abs(top[j] - top[i]) <= tol and abs(bottom[j] - bottom[i]) <= tol]
        if len(row) >= SEPARATORS or (len(row) >= 2 and _sides(pc, row)):
            bars.update(row)
        elif printed is not None:
            t, lf, b, r = int(top[i]), int(left[i]), int(bottom[i]), int(right[i])
            if printed[max(0, t - 1 - tol):t + tol, lf:r].any() and printed[max(0, b - tol):b + 1 + tol, lf:r].any():
                bars.add(i)
    if not bars:
        return None
    found = np.asarray(sorted(bars))
    out = np.isin(pc.labels, found + 1)
    # A bar a digit touches is part of the digit's piece: the field's other bars give its
    # height and width, and what runs upright that long and no thicker is a bar too.
    height, width = float(np.median(bh[found])), float(np.median(bw[found]))
    y0, y1 = int(top[found].min()), int(bottom[found].max())
    band = np.zeros(pc.labels.shape, np.uint8)
    band[y0:y1] = pc.labels[y0:y1] > 0
    long = cv2.morphologyEx(band, cv2.MORPH_OPEN, np.ones((max(3, int(0.9 * height)), 1), np.uint8))
    thick = cv2.morphologyEx(long, cv2.MORPH_OPEN, np.ones((1, int(2 * width) + 2), np.uint8))
    return out | ((long > 0) & (thick == 0))


def _rules(pc: Pieces) -> np.ndarray | None:
    """The pixels of a rule under the number (a total's underline, a form's baseline) shorter
    than the image's width, or None: a straight thin line at least RULE_LONG times as long as
    the digits are tall, no digit's stroke being that long. Apart from the digits it is a
    flat piece; where their feet touch it, it is the straight foot of their piece
    (`normalize._side`), and only its width goes. A flat piece apart from the digits is a rule
    too when it lies below their middle and is RULE_WIDER times as wide as the widest of them
    (as `normalize._printed` takes one under a single digit): a short line under a number of
    one or two digits. A dash stands at their middle; no digit leaves a flat piece that wide
    at its foot."""
    top, left, bottom, right = pc.boxes.T
    bh, bw = bottom - top, right - left
    live = pc.mass > 0
    flat = live & (bh <= FLAT * bw)
    body = live & ~flat
    if not body.any():
        return None
    tall = float(bh[body].max())
    middle = (top[body].min() + bottom[body].max()) / 2
    under = flat & ((top + bottom) / 2 > middle) & (bw >= RULE_WIDER * bw[body].max())
    rules = None
    for i in np.flatnonzero(live & ((bw >= RULE_LONG * tall) | under)).tolist():
        t, lf, b, r = pc.boxes[i].tolist()
        m = pc.labels[t:b, lf:r] == i + 1
        if not flat[i]:
            if bh[i] <= tall * (1 - FLAT) - 1:  # the digits stand on it, or it is no rule
                continue
            line = _side(m[::-1], RULE_THIN * tall)
            if line is None:
                continue
            m = line[::-1]
        if rules is None:
            rules = np.zeros(pc.labels.shape, bool)
        rules[t:b, lf:r] |= m
    return rules
