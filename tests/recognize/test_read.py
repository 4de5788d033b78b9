"""`digits read`: segmentation of one line of digits, the Reading it gives, and the command.

The segmentation tests draw shapes with known places on synthetic pages and use stand-in
classifiers whose answers are known, so they test the geometry, not a trained model."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from digits.errors import DigitsError
from digits.recognize import segment
from digits.recognize.read import Reading, read_image
from digits.recognize.segment import Digit


class Sure:
    """Answers 4 with probability 0.9 for any image."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        p = np.full((len(x), 10), 0.1 / 9, np.float32)
        p[:, 4] = 0.9
        return p


class RingShaped:
    """Sure (0.95 for 0) of an image whose ink is a little taller than wide, as one ring is
    once normalised; unsure (0.3) of anything wider or narrower, such as two rings as one."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = np.full((len(x), 10), 0.0, np.float32)
        for k, a in enumerate(x):
            rows, cols = np.flatnonzero(a.max(axis=1) > 0.3), np.flatnonzero(a.max(axis=0) > 0.3)
            aspect = (cols[-1] - cols[0] + 1) / (rows[-1] - rows[0] + 1) if rows.size else 0.0
            top = 0.95 if 0.45 <= aspect <= 0.95 else 0.3
            out[k] = (1 - top) / 9
            out[k, 0] = top
        return out


def page(size=(600, 200), shapes=(), width=7, angle=0.0, ruled_at=None) -> Image.Image:
    """White page with black polylines and ellipses; optionally turned and ruled."""
    im = Image.new("L", size, 255)
    d = ImageDraw.Draw(im)
    if ruled_at is not None:  # a ruled line, photographed a little askew (2 degrees)
        d.line([(0, ruled_at), (size[0], ruled_at + 0.035 * size[0])], fill=90, width=3)
    for kind, pts in shapes:
        if kind == "line":
            d.line(pts, fill=0, width=width)
        else:
            d.ellipse(pts, outline=0, width=width)
    if angle:
        im = im.rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=255)
    return im


def grey(im: Image.Image) -> np.ndarray:
    return np.asarray(im, np.float32)


THREE = [("line", [(100, 40), (100, 160)]), ("ellipse", [(220, 40), (300, 160)]),
         ("line", [(400, 40), (460, 40), (420, 160)])]


def centres(digits: list[Digit]) -> list[tuple[float, float]]:
    return [(x + w / 2, y + h / 2) for x, y, w, h in (d.box for d in digits)]


def test_three_separate_marks_are_three_digits_left_to_right_with_their_boxes():
    found = segment.segment(grey(page(shapes=THREE)), Sure().predict)
    assert len(found) == 3
    assert all(d.image.shape == (28, 28) and d.image.dtype == np.float32 for d in found)
    cx = [c[0] for c in centres(found)]
    assert cx == sorted(cx)
    for (x, y, w, h), (lo, hi) in zip((d.box for d in found), [(90, 110), (213, 307), (393, 467)], strict=True):
        assert lo - 6 <= x and x + w <= hi + 6 and y >= 30 and y + h <= 170


def test_a_slanted_line_is_levelled_and_read_in_order():
    five = THREE + [(k, [(x + 500, y) for x, y in pts]) for k, pts in THREE[:2]]
    im = page(size=(1100, 200), shapes=five, angle=35)  # counter-clockwise: the line rises to the right
    found = segment.segment(grey(im), Sure().predict)
    assert len(found) == 5
    xs, ys = zip(*centres(found), strict=True)
    assert list(xs) == sorted(xs) and ys[0] > ys[2] > ys[4]  # boxes are in the image as given
    stroke = found[0].image  # the upright stroke, turned with its line: upright again
    assert np.count_nonzero(stroke.max(axis=0) > 0.3) <= 8
    for cx, cy in centres(found):
        assert 0 <= cx <= im.width and 0 <= cy <= im.height


def italic(im: Image.Image, lean: float) -> Image.Image:
    """The page sheared as italic writing leans: `lean` columns to the left per row down
    (negative: the tops lean right)."""
    h = im.height
    return im.transform((im.width + int(abs(lean) * h) + 1, h), Image.Transform.AFFINE,
                        (1.0, -lean, lean * h if lean < 0 else 0.0, 0.0, 1.0, 0.0),
                        resample=Image.Resampling.BILINEAR, fillcolor=255)


def marks(im: Image.Image) -> tuple[np.ndarray, list[int]]:
    """Labels of a page's marks (as `normalize._pieces` gives them) and their indices."""
    count, labels = cv2.connectedComponents((grey(im) < 128).astype(np.uint8))
    return labels.astype(np.int32), list(range(count - 1))


@pytest.mark.parametrize("degrees", [-30, -15, 0, 21])
def test_the_writings_lean_is_the_shear_under_which_its_marks_are_narrowest(degrees):
    lean = math.tan(math.radians(degrees))
    labels, idx = marks(italic(page(shapes=THREE), lean))
    assert abs(math.degrees(math.atan(segment._writing_slant(labels, idx, 120.0))) - degrees) <= segment.SLANT_STEP


def test_a_7s_diagonal_does_not_lean_upright_writing():
    sevens = [("line", [(x, 40), (x + 70, 40), (x + 20, 160)]) for x in (60, 180, 300)]
    labels, idx = marks(page(shapes=sevens + [("line", [(450, 40), (450, 160)])]))
    assert abs(math.degrees(math.atan(segment._writing_slant(labels, idx, 120.0)))) <= segment.SLANT_STEP


def test_a_leaning_1_does_not_lean_the_digits_with_a_body_beside_it():
    """MNIST's writers flick their 1s every way; the digits with a body show how they lean."""
    shapes = [("ellipse", [(60, 40), (140, 160)]), ("ellipse", [(180, 40), (260, 160)]),
              ("line", [(380, 40), (310, 160)])]  # the 1 leaning 30 degrees
    labels, idx = marks(page(shapes=shapes))
    assert segment._writing_slant(labels, idx, 120.0) == 0.0
    labels, idx = marks(page(shapes=shapes[1:]))  # one digit with a body: no lean to go on
    assert segment._writing_slant(labels, idx, 120.0) == 0.0
    labels, idx = marks(italic(page(shapes=[("line", [(x, 40), (x, 160)]) for x in (100, 200, 300)]), -0.5))
    assert segment._writing_slant(labels, idx, 120.0) == pytest.approx(-0.5, abs=0.06)  # "111": 1s are all there is


# three rings written in italics, 35 degrees: each box half as wide again as the ring, and
# each overlapping its neighbour's columns
LEANING_RINGS = [("ellipse", [(x, 40), (x + 80, 160)]) for x in (100, 210, 320)]


@pytest.mark.parametrize("upright_deg", [segment.UPRIGHT_DEG, 90.0])
def test_italic_digits_are_found_upright_and_boxed_as_written(monkeypatch, upright_deg):
    """RingShaped is sure of a ring no wider than tall: of the leaning rings drawn as they lean
    (too wide) it is unsure, and only upright do they read as three 0s."""
    monkeypatch.setattr(segment, "UPRIGHT_DEG", upright_deg)
    lean = -math.tan(math.radians(35))
    im = italic(page(shapes=LEANING_RINGS), lean)
    found = segment.segment(grey(im), RingShaped().predict)
    probs = RingShaped().predict(np.stack([d.image for d in found]))
    if upright_deg == 90.0:  # never set upright: the control
        assert len(found) != 3 or probs.max(axis=1).min() < 0.9
        return
    assert len(found) == 3 and probs.max(axis=1).min() >= 0.9
    for (x, y, w, h), (left, _), (right, _) in zip((d.box for d in found), *zip(*(pts for _, pts in LEANING_RINGS),
                                                                                   strict=True), strict=True):
        # each box holds its ring as written: each row moved right by the lean times its
        # rows above the foot of the page (200), the ring's top (40) the most
        lo, hi = left - lean * (200 - 160), right - lean * (200 - 40)
        assert lo - 8 <= x and x + w <= hi + 8 and y >= 32 and y + h <= 168


def test_a_detached_bar_joins_its_digit():
    five = [("line", [(120, 45), (180, 45)]),  # the bar, not touching the body
            ("line", [(120, 60), (120, 100), (170, 110), (170, 150), (115, 160)])]
    found = segment.segment(grey(page(shapes=five + [("line", [(300, 40), (300, 160)])])), Sure().predict)
    assert len(found) == 2


def test_specks_are_not_digits():
    shapes = THREE + [("line", [(520, 100), (522, 101)])]
    assert len(segment.segment(grey(page(shapes=shapes)), Sure().predict)) == 3


def test_touching_digits_are_cut_where_the_classifier_reads_both_parts():
    rings = [("ellipse", [(150, 40), (230, 160)]), ("ellipse", [(229, 40), (309, 160)])]  # touching
    found = segment.segment(grey(page(shapes=rings)), RingShaped().predict)
    assert len(found) == 2
    (x0, _, w0, _), (x1, _, w1, _) = (d.box for d in found)
    assert abs(x0 - 150) <= 8 and abs(x1 + w1 - 309) <= 8 and 190 <= x0 + w0 <= 240 and 200 <= x1 <= 240


def test_blurred_digits_are_drawn_from_their_grey_levels_and_cut_ones_from_their_masks(monkeypatch):
    """As for one digit (normalize._soft): out of focus, a digit that is a piece of its own
    is drawn from the blur's grey levels; touching digits cut apart are drawn from their
    masks, since the cut runs through the mask."""
    from scipy import ndimage

    from digits.recognize import normalize as nm

    def blurred(shapes):
        return ndimage.gaussian_filter(grey(page(shapes=shapes, width=10)), 5)

    apart, touching = blurred(THREE), blurred([("ellipse", [(150, 40), (230, 160)]),
                                               ("ellipse", [(229, 40), (309, 160)])])
    soft_apart = segment.segment(apart, Sure().predict)
    soft_touching = segment.segment(touching, RingShaped().predict)
    monkeypatch.setattr(nm, "BLURRED", float("inf"))
    masked_apart = segment.segment(apart, Sure().predict)
    masked_touching = segment.segment(touching, RingShaped().predict)
    assert len(soft_apart) == len(masked_apart) == 3 and len(soft_touching) == len(masked_touching) == 2
    for a, b in zip(soft_apart, masked_apart, strict=True):
        assert a.box == b.box and np.abs(a.image - b.image).max() > 0.3
    for a, b in zip(soft_touching, masked_touching, strict=True):
        assert a.box == b.box and np.array_equal(a.image, b.image)


class SureButChecked:
    """Sure (0.9 for 4) of any image; its "one digit?" check (column 10) doubts an image whose
    ink is wider than tall, as two rings side by side are once normalised."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = Sure().predict(x)
        check = np.empty((len(x), 1), np.float32)
        for k, a in enumerate(x):
            rows, cols = np.flatnonzero(a.max(axis=1) > 0.3), np.flatnonzero(a.max(axis=0) > 0.3)
            check[k] = 0.05 if cols.size > rows.size else 0.95
        return np.concatenate([out, check], axis=1)


OVERLAPPING = [("ellipse", [(150, 40), (230, 160)]), ("ellipse", [(221, 40), (301, 160)])]  # "00" written fast


def test_two_0s_meeting_along_their_sides_are_cut_along_the_joint():
    """Overlapping side by side, two rings share their sides for a third of their height: a cut
    down that joint enters one stroke, through either hollow it enters two."""
    m = grey(page(shapes=OVERLAPPING)) < 128
    rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    m = m[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    for start in (60, 70, 80):  # 150 + 60..80: from the first ring's hollow to the joint
        path = segment._cut_paths(m, [start], 20)[0]
        assert 68 <= path[len(path) // 2] <= 82  # at mid-height, in the joint (x 218-233 on the page)
    found = segment.segment(grey(page(shapes=OVERLAPPING)), RingShaped().predict)
    assert len(found) == 2
    (x0, _, w0, _), (x1, _, w1, _) = (d.box for d in found)
    assert abs(x0 - 150) <= 8 and abs(x1 + w1 - 301) <= 8 and 218 <= x0 + w0 <= 236 and 214 <= x1 <= 232


def test_a_cut_counts_the_strokes_it_enters_not_the_ink_it_runs_along():
    on = np.zeros(100, bool)
    on[[10, 11, 12, 60, 61]] = True  # across two strokes
    assert segment._strokes_crossed(on) == 2.0
    on[:] = False
    on[30:65] = True  # down a joint a third of the height long: one stroke
    assert segment._strokes_crossed(on) == 1.0


def test_a_piece_the_check_doubts_is_one_digit_is_cut_where_the_digits_alone_keep_it_whole():
    rings = [("ellipse", [(150, 40), (215, 160)]), ("ellipse", [(214, 40), (279, 160)])]  # touching, 129 x 120
    im = grey(page(shapes=rings))
    assert len(segment.segment(im, Sure().predict)) == 1  # a sure 4, only a little wide for one digit
    found = segment.segment(im, SureButChecked().predict)
    assert len(found) == 2
    (x0, _, w0, _), (x1, _, w1, _) = (d.box for d in found)
    assert abs(x0 - 150) <= 8 and abs(x1 + w1 - 279) <= 8 and w0 < 124 and w1 < 124


class OneOrRing:
    """Sure (0.9) of any image: a 1 where its ink is less than a third as wide as tall, else a
    0; its "one digit?" check doubts (0.05) ink 0.62-0.9 as wide as tall, which a 1 touching a
    ring is once normalised, and not a ring alone (about 0.6) or a 1."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = np.full((len(x), 11), 0.1 / 9, np.float32)
        for k, a in enumerate(x):
            rows, cols = np.flatnonzero(a.max(axis=1) > 0.3), np.flatnonzero(a.max(axis=0) > 0.3)
            aspect = (cols[-1] - cols[0] + 1) / (rows[-1] - rows[0] + 1)
            out[k, 1 if aspect < 1 / 3 else 0] = 0.9
            out[k, 10] = 0.05 if 0.62 <= aspect <= 0.9 else 0.95
        return out


def test_a_narrow_piece_read_surely_is_cut_where_the_check_doubts_it_is_one_digit(monkeypatch):
    """A 1 touching a 0 is no wider than one digit, and the classifier may be sure of the
    whole (a 1 touching a 4 is read as a sure 4): the check decides whether cuts are weighed."""
    shapes = [("line", [(150, 40), (150, 160)]), ("ellipse", [(151, 40), (226, 160)])]  # 80 x 120
    assert read_image(OneOrRing(), page(shapes=shapes), "10.png").number == "10"
    monkeypatch.setattr(segment, "ONE_DIGIT", 0.0)  # the check not asked: the sure whole stays
    assert read_image(OneOrRing(), page(shapes=shapes), "10.png").number == "0"


class OneOrRingReader:
    """As OneOrRing, but its check never doubts, and it has the piece reader: a piece 0.62-0.9
    as wide as tall (a 1 touching a ring) is "10" to the reader (`pair`), or a 0. As the models
    exported now have it (`predict_pieces`, a signature of its own), or (`columns`) as those
    exported before, in columns 11-120 of one output."""

    def __init__(self, pair: bool, columns: bool = False) -> None:
        self.pair = pair
        self.reads_pieces = not columns
        self.columns = columns
        self.pieces_read = 0

    def _both(self, x: np.ndarray) -> np.ndarray:
        out = np.full((len(x), 121), 0.1 / 109, np.float32)
        out[:, :10] = 0.1 / 9
        for k, a in enumerate(x):
            rows, cols = np.flatnonzero(a.max(axis=1) > 0.3), np.flatnonzero(a.max(axis=0) > 0.3)
            aspect = (cols[-1] - cols[0] + 1) / (rows[-1] - rows[0] + 1)
            d = 1 if aspect < 1 / 3 else 0
            out[k, d] = 0.9
            out[k, 10] = 0.95
            out[k, 11 + (20 if self.pair and 0.62 <= aspect <= 0.9 else d)] = 0.9
        return out

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self._both(x) if self.columns else self._both(x)[:, :11]

    def predict_pieces(self, x: np.ndarray) -> np.ndarray:
        self.pieces_read += len(x)
        return self._both(x)[:, 11:]


@pytest.mark.parametrize("columns", [False, True], ids=["signature", "columns"])
def test_the_piece_reader_cuts_a_whole_it_reads_as_two_digits(columns):
    """A 1 touching a ring, no wider than one digit, read surely as a 0 and not doubted by the
    check: the piece reader's "10" has it cut, and its "0" keeps it whole."""
    shapes = [("line", [(150, 40), (150, 160)]), ("ellipse", [(151, 40), (226, 160)])]  # 80 x 120
    pair, one = OneOrRingReader(pair=True, columns=columns), OneOrRingReader(pair=False, columns=columns)
    assert read_image(pair, page(shapes=shapes), "10.png").number == "10"
    assert read_image(one, page(shapes=shapes), "10.png").number == "0"
    # the reader is asked about the whole piece only, not about every candidate cut
    assert pair.pieces_read == (0 if columns else 1)


def test_the_check_column_is_not_a_digit_of_the_reading():
    reading = read_image(SureButChecked(), page(shapes=THREE), "three.png")
    assert reading.number == "444" and all(len(d.top) <= 3 and d.digit == 4 for d in reading.digits)
    assert all(abs(d.confidence - 0.9) < 1e-6 for d in reading.digits)


def test_one_wide_ring_is_not_cut_when_its_parts_read_no_better_than_it():
    found = segment.segment(grey(page(shapes=[("ellipse", [(150, 40), (272, 160)])])), Sure().predict)
    assert len(found) == 1


class Flat:
    """Sure (0.95 for 0) of an image whose ink is wider than tall, as a ring lying flat is once
    normalised; unsure (0.3) of anything else, such as a part of it."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        out = np.full((len(x), 10), 0.7 / 9, np.float32)
        for k, a in enumerate(x):
            rows, cols = np.flatnonzero(a.max(axis=1) > 0.3), np.flatnonzero(a.max(axis=0) > 0.3)
            out[k, 0] = 0.3
            if cols.size > rows.size:
                out[k] = 0.05 / 9
                out[k, 0] = 0.95
        return out


def test_a_flat_digit_wider_than_a_part_may_be_is_still_read_whole(monkeypatch):
    """A piece wider than a line height but no wider than WIDEST (a 0 or a 6 lying flat) is cut
    only if its parts read better than it: the whole stays a candidate, even where a cut near
    its right edge leaves a part almost as wide before it."""
    im = Image.new("L", (128, 100), 0)
    ImageDraw.Draw(im).ellipse([0, 0, 127, 99], outline=255, width=7)
    ring = np.asarray(im) > 0  # 1.28 line heights
    assert 1.2 < 128 / 100 < segment.WIDEST
    monkeypatch.setattr(segment, "_cut_starts", lambda m, line_h: [20, 64, 115])
    parts = segment._split_piece(ring, 100.0, Flat().predict)
    assert len(parts) == 1 and np.array_equal(parts[0], ring)


def test_a_ruled_line_through_the_feet_does_not_join_the_digits():
    shapes = [("line", [(100, 40), (100, 150)]), ("line", [(250, 40), (250, 160)])]
    found = segment.segment(grey(page(shapes=shapes, ruled_at=150)), Sure().predict)
    assert len(found) == 2


def test_a_ruled_line_through_the_middle_of_the_digits_leaves_them_whole():
    """Taking the line's ink where strokes cross it would cut every digit in two: halves
    above and below the line, read as two lines of digits."""
    found = segment.segment(grey(page(shapes=THREE, ruled_at=90)), Sure().predict)
    assert len(found) == 3
    for (_, y, _, h), (top, bottom) in zip((d.box for d in found), [(40, 160)] * 3, strict=True):
        assert y <= top + 4 and y + h >= bottom - 4  # each box spans the whole digit


HYPHENATED = [("line", [(60, 40), (60, 160)]), ("ellipse", [(110, 40), (190, 160)]),
              ("line", [(214, 102), (256, 98)]),  # the hyphen, 4 px thick, a little askew, ...
              ("ellipse", [(280, 40), (360, 160)]), ("line", [(410, 40), (410, 160)])]
# ... a fifth of the digits' height from either neighbour: close enough to be joined to one


def test_a_hyphen_between_groups_of_digits_is_no_digit_nor_part_of_one():
    found = segment.segment(grey(page(size=(480, 200), shapes=HYPHENATED, width=4)), Sure().predict)
    assert len(found) == 4
    lefts, rights = [d.box[0] for d in found], [d.box[0] + d.box[2] for d in found]
    assert rights[1] < 214 and lefts[2] > 256  # the hyphen's columns are in no digit's box


def test_a_flat_stroke_over_a_digit_or_close_beside_it_is_no_hyphen():
    line_h = 100.0
    boxes = np.array([[0, 0, 100, 60], [45, 80, 55, 120], [0, 140, 100, 200],  # digit, dash, digit
                      [0, 300, 12, 360], [20, 300, 100, 360],  # a 5's bar over its body
                      [45, 362, 55, 400],  # a flat stroke 2 px beside a digit
                      [50, 500, 100, 540], [50, 550, 60, 590]])  # a small 5, its bar beside its top
    idx = list(range(len(boxes)))
    assert segment._hyphen(boxes, 1, idx, line_h)
    assert not segment._hyphen(boxes, 3, idx, line_h)  # over its digit, and at the top of the line
    assert not segment._hyphen(boxes, 5, idx, line_h)  # not clear of the digit before it
    assert not segment._hyphen(boxes, 7, idx, line_h)  # mid-line, but level with its digit's top
    tall_dash = boxes.copy()
    tall_dash[1] = [35, 80, 65, 120]  # 30 % of the line tall: a digit's stroke, not a dash
    assert not segment._hyphen(tall_dash, 1, idx, line_h)


POINTED = [("line", [(60, 40), (60, 160)]), ("ellipse", [(110, 40), (190, 160)]),
           ("ellipse", [(212, 138), (234, 160)]),  # a decimal point on the line, 22 px across
           ("ellipse", [(250, 40), (330, 160)]), ("line", [(380, 40), (380, 160)]),
           ("ellipse", [(402, 138), (424, 160)]), ("line", [(413, 149), (398, 192)]),  # a comma
           ("ellipse", [(440, 40), (520, 160)])]


def test_a_decimal_point_or_a_comma_between_digits_is_no_digit():
    found = segment.segment(grey(page(size=(580, 230), shapes=POINTED, width=7)), Sure().predict)
    assert len(found) == 5
    lefts, rights = [d.box[0] for d in found], [d.box[0] + d.box[2] for d in found]
    assert rights[1] < 212 and lefts[2] > 234  # the point's columns are in no digit's box
    assert rights[3] < 398 and lefts[4] > 424  # nor the comma's


def test_a_small_mark_high_on_the_line_beside_a_digit_or_a_tall_one_is_no_point():
    line_h = 100.0
    boxes = np.array([[0, 0, 100, 60], [85, 75, 100, 90], [0, 110, 100, 170],  # digit, point, digit
                      [88, 190, 130, 210],  # a comma: below the line's middle, past its foot
                      [0, 240, 15, 255], [40, 300, 55, 315],  # a mark at the top, one mid-line
                      [0, 330, 100, 390], [85, 385, 100, 400],  # a mark overlapping a digit's columns
                      [30, 500, 100, 540]])  # a small digit, from high up to the foot
    idx = list(range(len(boxes)))
    assert segment._point(boxes, 1, idx, line_h)
    assert segment._point(boxes, 3, idx, line_h)
    assert not segment._point(boxes, 4, idx, line_h)  # an apostrophe or a 5's bar: at the top
    assert not segment._point(boxes, 5, idx, line_h)  # mid-line: a hyphen's place, or a small digit
    assert not segment._point(boxes, 7, idx, line_h)  # under a digit: a piece of it
    assert not segment._point(boxes, 8, idx, line_h)  # taller than a point
    assert not segment._hyphen(boxes, 1, idx, line_h)  # and a point is no hyphen


def comb(boxes: int, left: int = 40, side: int = 100, top: int = 30, height: int = 140) -> list:
    """A form's comb field: a row of `boxes` boxes, as thin printed lines."""
    right = left + boxes * side
    return ([("line", [(left, top), (right, top)]), ("line", [(left, top + height), (right, top + height)])]
            + [("line", [(left + k * side, top), (left + k * side, top + height)]) for k in range(boxes + 1)])


def test_digits_in_a_comb_field_are_read_without_its_boxes():
    """The bars between the boxes are straight, upright and all alike: not 1s. The last digit,
    a 1, touches its box's left bar."""
    digits = [("ellipse", [(65, 55), (115, 145)]), ("line", [(190, 50), (190, 150)]),
              ("ellipse", [(265, 55), (315, 145)]), ("line", [(345, 50), (345, 150)])]
    im = Image.new("L", (480, 200), 255)
    d = ImageDraw.Draw(im)
    for _, pts in comb(4):
        d.line(pts, fill=60, width=2)
    for kind, pts in digits:
        (d.line if kind == "line" else d.ellipse)(pts, **({"fill": 0} if kind == "line" else {"outline": 0}), width=7)
    found = segment.segment(grey(im), Sure().predict)
    assert len(found) == 4
    for (x, _, w, _), k in zip((f.box for f in found), range(4), strict=True):
        assert 40 + 100 * k < x and x + w < 40 + 100 * (k + 1) + 2  # each digit within its box, no bar


def test_a_ring_drawn_around_the_number_is_no_digit():
    """Around three marks, clear of them; narrower than the page (else its top and bottom
    would go as ruled lines)."""
    marks = [("line", [(150, 90), (150, 210)]), ("ellipse", [(250, 90), (330, 210)]),
             ("line", [(400, 90), (460, 90), (420, 210)])]
    ring = ("ellipse", [(60, 30), (540, 270)])
    found = segment.segment(grey(page(size=(800, 300), shapes=[ring] + marks, width=7)), Sure().predict)
    centres = [x + w / 2 for x, _, w, _ in (d.box for d in found)]
    assert len(centres) == 3 and np.allclose(centres, [150, 290, 430], atol=4)


def pieces(boxes: list[tuple[int, int, int, int]], shape: tuple[int, int] = (220, 800)) -> segment.Pieces:
    """Pieces that fill their boxes (top, left, bottom, right)."""
    labels = np.zeros(shape, np.int32)
    for k, (t, lf, b, r) in enumerate(boxes):
        labels[t:b, lf:r] = k + 1
    return segment.Pieces(labels=labels, boxes=np.array(boxes), mass=np.ones(len(boxes)),
                          at_edge=np.zeros(len(boxes), bool), med=0.0, sigma=1.0)


def test_two_straight_bars_are_the_sides_of_a_box_when_taller_than_the_marks_between_them():
    """A table's cell, its top and bottom gone as ruled lines: two straight bars beside the
    number, taller than the digits between them. Two straight 1s of one height are not."""
    sides = [(25, 200, 195, 202), (25, 640, 195, 642)]
    digits = [(50, 280, 170, 286), (50, 380, 170, 460), (50, 520, 170, 580)]
    found = segment._separators(pieces(sides + digits), None)
    assert found is not None and found[100, 201] and found[100, 641] and not found[100, 282]
    ones = [(50, 200, 170, 203), (50, 640, 170, 643)]  # as tall as the digits: 1s, not sides
    assert segment._separators(pieces(ones + digits[1:]), None) is None
    assert segment._separators(pieces(sides), None) is None  # nothing between them


def test_ink_beside_the_whole_band_is_a_thicker_line_not_strokes_crossing_it():
    mask = np.zeros((20, 30), bool)
    mask[8:13] = True  # a line 5 rows thick; the band found covers 3 of them
    mask[2:18, 10] = True  # and one stroke crossing it
    crossed = segment._crossed(mask, np.full(30, 9), 3)
    assert crossed.all()  # every column has ink above and below the band: more than MAX_CROSSED
    mask[8, :], mask[12, :] = False, False
    mask[8:13, 10] = True
    crossed = segment._crossed(mask, np.full(30, 9), 3)
    assert np.flatnonzero(crossed).tolist() == [9, 10, 11]  # the stroke, and a neighbour either side


@pytest.mark.parametrize("y", [175, 163], ids=["below", "touching"])
def test_an_underline_is_not_a_digit_nor_part_of_one(y):
    """A total's underline, shorter than the page: apart from the digits, or joined to their
    feet. The three digits are read, their boxes without the line."""
    shapes = THREE + [("line", [(70, y), (500, y)])]
    found = segment.segment(grey(page(shapes=shapes, width=5)), Sure().predict)
    assert len(found) == 3
    assert all(by + bh <= 170 for _, by, _, bh in (d.box for d in found))


@pytest.mark.parametrize("ends", [(205, 315), (225, 340)], ids=["centred", "off to the right"])
def test_a_short_line_under_a_single_digit_is_an_underline(ends):
    """Under a number of one digit an underline is often shorter than RULE_LONG digit heights;
    apart from the digit, below its middle and 1.2 times its width or wider, it is a rule all
    the same, neither joined to the digit (a 7 read as 2) nor a digit of its own (6 as 62)."""
    shapes = [("ellipse", [(220, 40), (300, 160)]), ("line", [(ends[0], 178), (ends[1], 178)])]
    found = segment.segment(grey(page(shapes=shapes, width=5)), Sure().predict)
    assert len(found) == 1
    x, y, w, h = found[0].box
    assert y + h <= 170 and x >= 210 and x + w <= 310  # the 0's box, not the line's


def test_a_long_straight_stroke_of_a_digit_stays():
    """A 2's base, or a 7's bar, is straight too, but no longer than a digit is tall."""
    two = [("line", [(200, 50), (260, 50), (260, 100), (200, 160), (290, 160)])]
    found = segment.segment(grey(page(shapes=two + [("line", [(400, 40), (400, 160)])])), Sure().predict)
    x, _, w, _ = found[0].box
    assert len(found) == 2 and x + w >= 285  # the base is still there, out to its end


TWO_LINES = THREE + [(k, [(x, y + 200) for x, y in pts]) for k, pts in THREE[:2]]  # 3 digits, then 2


def test_one_line_segment_refuses_two_lines_of_digits():
    with pytest.raises(DigitsError, match="2 lines of digits found; give one line at a time"):
        segment.segment(grey(page(size=(600, 420), shapes=TWO_LINES)), Sure().predict)


def test_two_lines_of_digits_are_read_line_by_line_each_in_its_own_rows():
    lines = segment.segment_lines(grey(page(size=(600, 420), shapes=TWO_LINES)), Sure().predict)
    assert [len(line) for line in lines] == [3, 2]
    for line, (top, bottom) in zip(lines, [(40, 160), (240, 360)], strict=True):
        for _, y, _, h in (d.box for d in line):
            assert top - 6 <= y and y + h <= bottom + 6  # boxes in the whole image's rows
        assert [d.box[0] for d in line] == sorted(d.box[0] for d in line)
    r = read_image(Sure(), page(size=(600, 420), shapes=TWO_LINES), "two.png")
    assert r.number == "444\n44" and r.lines == ["444", "44"]
    assert r.to_json()["lines"] == ["444", "44"] and len(r.to_json()["digits"]) == 5
    assert r.to_text() == "two.png: 444 / 44  (2 lines, lowest digit confidence 0.90)"


def test_more_lines_than_are_read_are_refused(monkeypatch):
    monkeypatch.setattr(segment, "MAX_LINES", 1)
    r = read_image(Sure(), page(size=(600, 420), shapes=TWO_LINES), "two.png")
    assert r.error == "2 lines of digits found: at most 1 are read" and r.number is None and r.lines is None


def test_a_blank_page_is_refused():
    with pytest.raises(Exception, match="no digits found"):
        segment.segment(grey(Image.new("L", (300, 200), 240)), Sure().predict)


def test_pure_noise_is_no_number():
    """Peaks of white noise pass the thresholds and merge into digit-sized pieces; averaged
    over 3×3 pixels they sink into the noise, as strokes do not."""
    noise = np.random.default_rng(0).integers(0, 256, (120, 150, 3), dtype=np.uint8)
    r = read_image(Sure(), Image.fromarray(noise), "noise.png")
    assert r.error == "no digits found (only noise)" and r.number is None


def test_a_blank_page_under_uneven_light_is_no_number():
    h, w = 96, 100
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    lamp = 235 * (1 - 0.7 * np.clip(np.hypot(y - 0.2, x - 0.3) / 1.2, 0, 1) ** 1.5)
    paper = np.clip(lamp + np.random.default_rng(0).normal(0, 2, lamp.shape), 0, 255).astype(np.uint8)
    r = read_image(Sure(), Image.fromarray(paper), "paper.jpg")
    assert r.error == "no digits found (only uneven light)"


def test_empty_paper_with_sensor_noise_is_no_number():
    """Peaks of the noise clump into marks in rows of their own, which were read as lines
    and refused one by one ("line 1 of 2: no digit found (blank image)")."""
    paper = np.clip(235 + np.random.default_rng(0).normal(0, 2, (200, 300)), 0, 255).astype(np.uint8)
    r = read_image(Sure(), Image.fromarray(paper), "paper.jpg")
    assert r.error is not None and r.error.startswith("no digits found (")


@pytest.mark.parametrize("sigma", [8, 16])
def test_a_number_in_heavy_sensor_noise_is_read(sigma):
    a = np.asarray(page(shapes=THREE), np.float32) * 0.6 + 60  # ink 60, paper 213
    noisy = np.clip(a + np.random.default_rng(1).normal(0, sigma, a.shape), 0, 255).astype(np.uint8)
    r = read_image(Sure(), Image.fromarray(noisy), "noisy.png")
    assert r.error is None and r.number == "444"


def test_reading_json_and_text():
    r = read_image(Sure(), page(shapes=THREE), "n.png")
    assert r.number == "444" and r.error is None and not r.uncertain
    j = r.to_json()
    assert j["number"] == "444" and j["confidence"] == pytest.approx(0.9, abs=1e-4)
    assert [d["digit"] for d in j["digits"]] == [4, 4, 4] and all(len(d["box"]) == 4 for d in j["digits"])
    assert j["digits"][0]["top"][0] == [4, 0.9]
    assert len(r.normalized) == 3
    assert r.to_text() == "n.png: 444  (lowest digit confidence 0.90)"
    blank = read_image(Sure(), Image.new("L", (300, 200), 255), "b.png")
    assert blank.to_json() == {"file": "b.png", "error": blank.error} and "no digits found" in blank.error
    assert Reading("x", threshold=0.95, digits=r.digits).uncertain


class Broken:
    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full((len(x), 10), np.nan, np.float32)


def test_a_broken_model_is_an_error_not_a_number():
    r = read_image(Broken(), page(shapes=THREE), "n.png")
    assert r.number is None and "invalid probabilities" in r.error


def test_the_command_reads_and_reports_failures(tmp_path, models):
    page(shapes=THREE).save(tmp_path / "n.png")
    Image.new("L", (300, 200), 255).save(tmp_path / "blank.png")
    cmd = [sys.executable, "-m", "digits.cli", "read", "--model", str(models["good"])]
    res = subprocess.run(cmd + [str(tmp_path / "n.png")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"{tmp_path / 'n.png'}: 777  (lowest digit confidence")  # the model says 7
    res = subprocess.run(cmd + ["--json", str(tmp_path / "n.png"), str(tmp_path / "blank.png"),
                                str(tmp_path / "missing.png")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 1
    out = json.loads(res.stdout)
    assert out[0]["number"] == "777" and len(out[0]["digits"]) == 3
    assert "no digits found" in out[1]["error"] and out[2]["error"] == "no such file or directory"


def test_boxes_are_in_the_files_own_pixels_when_a_large_jpeg_is_decoded_reduced(tmp_path):
    from digits.recognize.read import read_file

    big = [(k, [(x * 5, y * 5) for x, y in pts]) for k, pts in THREE]  # the page 5x larger: 3000x1000
    page(size=(3000, 1000), shapes=big, width=35).convert("RGB").save(tmp_path / "big.jpg", quality=90)
    r = read_file(Sure(), str(tmp_path / "big.jpg"))
    assert r.number == "444"
    for (x, y, w, h), (lo, hi) in zip((d.box for d in r.digits), [(450, 550), (1065, 1535), (1965, 2335)],
                                      strict=True):
        assert lo - 30 <= x and x + w <= hi + 30 and y >= 150 and y + h <= 850
