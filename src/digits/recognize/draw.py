"""Draw a digit as MNIST drew its digits: the last step of `digits.recognize.normalize`, and of
every part `digits read` cuts, and of the training examples the check and the piece reader
are fitted on (`digits.pipeline.check`, `digits.pipeline.reader`).

MNIST digits are light ink on black, size-normalised to fit a 20×20 box with anti-aliasing
and placed in a 28×28 field so that their centre of mass is at the centre. `to_mnist` redraws
a found digit's mask that way, its stroke width brought into MNIST's range; `draw` draws a
blurred one from its grey levels instead.

Its own module so that the pipeline stages that draw examples depend on the drawing only:
changing how the normaliser *finds* a digit does not re-run the check stage's fit.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from digits import IMAGE_SIZE
from digits.errors import DigitsError

BOX = 20  # MNIST fits the digit's bounding box into 20×20 ...
CENTRE = 14.0  # ... and puts its centre of mass here (row, column); measured on MNIST: 13.99, 14.00
FINE = 4  # the stroke width is adjusted on a grid this many times finer than the result
# A disc this wide (radius, pixels) or wider is dilated by a distance transform (`_dilate`):
# on 80-200 px masks that is as fast at radius 12 and 2-5x faster at 20-30 (a marker's
# stroke width, the ring `normalize._not_ink` looks at).
DISC_BY_DISTANCE = 12

# MNIST's stroke width in pixels of the 28×28 image (2·area/perimeter of the strokes,
# measured on 3000 training digits): quartiles 2.1, 2.5, 2.9; 10th–90th percentile 1.8–3.5.
# Strokes outside the quartiles are brought to the nearer one: a thin pen on a large
# canvas would otherwise shrink to a faint trace, a marker would clog the loops.
STROKE_MIN = 2.1
STROKE_MAX = 2.9
# A digit's strokes are narrower than this in the 28×28 result: a round blot measures 10
# (half its size), while 99.9% of MNIST's digits measure under 5.7 and the boldest 7.9.
MAX_WIDTH = 8.5


def _resize(a: np.ndarray, size: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    """Resize a float array to (width, height) through Pillow's float mode."""
    return np.asarray(Image.fromarray(np.asarray(a, np.float32), mode="F").resize(size, resample),
                      dtype=np.float32)


def _stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width in pixels: 2 × area / perimeter (a long stroke has two sides).

    The perimeter counts pixel edges between ink and background, times π/4, which makes
    the count unbiased for outlines at random angles.
    """
    m = np.asarray(mask, bool)
    if m.size == 0:
        return 0.0
    # changes between neighbours, and ink on the border (an edge with the background beyond)
    edges = (np.count_nonzero(m[1:] != m[:-1]) + np.count_nonzero(m[0]) + np.count_nonzero(m[-1])
             + np.count_nonzero(m[:, 1:] != m[:, :-1]) + np.count_nonzero(m[:, 0]) + np.count_nonzero(m[:, -1]))
    return 2.0 * float(np.count_nonzero(m)) / (edges * np.pi / 4) if edges else 0.0


def _dilate(mask: np.ndarray, radius: float) -> np.ndarray:
    """Binary dilation by a disc (erosion for a negative radius), grid kept the same size."""
    if radius < 0:
        return ~_dilate(~mask, -radius)
    r = int(radius)
    if r == 0:
        return mask
    if r >= DISC_BY_DISTANCE:
        # A pixel is in the dilation where its distance to the mask is within the radius.
        # OpenCV's exact transform costs the same for any radius, where the disc's cost
        # grows with its area; the squared distance (a whole number, recovered exactly
        # from the float32 distance) is compared as the disc's pixels are: the same mask.
        if not mask.any():
            return np.zeros_like(mask, dtype=bool)
        d = cv2.distanceTransform(np.ascontiguousarray(~mask, np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
        return np.rint(np.square(d, dtype=np.float64)) <= radius * radius
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    disc = (dy * dy + dx * dx <= radius * radius).astype(np.uint8)
    out = cv2.dilate(np.ascontiguousarray(mask, np.uint8), disc,
                     borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return out.astype(bool)


def _fit(ink: np.ndarray, side: int) -> np.ndarray:
    """Scale an ink map so its longer side is `side`, keeping the aspect ratio."""
    h, w = ink.shape
    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # BOX averages when shrinking: the anti-aliasing MNIST used, without ringing.
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    return np.clip(_resize(ink, size, resample), 0.0, 1.0)


def _place(ink: np.ndarray) -> np.ndarray:
    """Scale a cropped ink map to fit 20×20 and centre its mass in a 28×28 field."""
    small = _fit(ink, BOX)
    sh, sw = small.shape
    total = small.sum()
    if total <= 0:
        raise DigitsError("no digit found")
    ys, xs = np.indices(small.shape)
    cy = (ys * small).sum() / total
    cx = (xs * small).sum() / total
    # Integer shift (as MNIST), clamped so the digit stays whole inside the field.
    oy = int(np.clip(round(CENTRE - cy), 0, IMAGE_SIZE - sh))
    ox = int(np.clip(round(CENTRE - cx), 0, IMAGE_SIZE - sw))
    out = np.zeros((IMAGE_SIZE, IMAGE_SIZE), np.float32)
    out[oy:oy + sh, ox:ox + sw] = small
    return out


def draw(mask: np.ndarray, box: tuple[int, int, int, int], soft: np.ndarray | None) -> np.ndarray:
    """The digit as the model sees it: from its grey levels if it is blurred (`soft`, from
    `_soft`), else redrawn from its mask (`to_mnist`), which refuses a blot either way."""
    drawn = to_mnist(mask, box)
    return drawn if soft is None else _place(soft)


def to_mnist(mask: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The digit drawn by the boolean `mask` within `box` (top, left, bottom, right, exclusive)
    as an MNIST-style float32 (28, 28) image: stroke width brought into MNIST's range,
    scaled to fit 20×20, centred by mass. DigitsError for a blot or nothing."""
    top, left, bottom, right = box
    side = max(bottom - top, right - left)
    # Redraw the digit as a binary mask on a grid FINE times finer than the result,
    # where a whole pixel is a quarter of a result pixel: any working pixel of ink
    # marks its fine cell, so even a hairline survives.
    crop = mask[top:bottom, left:right].astype(np.float32)
    scale = FINE * BOX / side
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    if scale < 1:
        fine = _resize(crop, size, Image.Resampling.BOX) > 1e-3
    else:
        fine = _resize(crop, size, Image.Resampling.BILINEAR) >= 0.5
    width = _stroke_width(fine) / FINE  # in pixels of the 28×28 result
    if width > MAX_WIDTH:
        raise DigitsError("no digit found (only a blot)")
    target = min(max(width, STROKE_MIN), STROKE_MAX)
    # Growing the outline by g grows the box too, and the box is then scaled back to 20 px:
    # solve (width·FINE + 2g) / (FINE·BOX + 2g) = target / BOX for g.
    grow = FINE * BOX * (target - width) / (2 * (BOX - target))
    pad = max(int(np.ceil(grow)), 0) + 1
    fine = _dilate(np.pad(fine, pad), grow)
    rows, cols = np.flatnonzero(fine.any(axis=1)), np.flatnonzero(fine.any(axis=0))
    if rows.size == 0:
        raise DigitsError("no digit found")
    # Shrinking the binary drawing by BOX averaging gives MNIST's anti-aliased grey edges.
    return _place(fine[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(np.float32))


def mask_to_mnist(mask: np.ndarray) -> np.ndarray | None:
    """`to_mnist` of all the ink in `mask` (its box found here); None where it holds no ink, or
    only a blot. How the check's and the piece reader's training examples are drawn."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    try:
        return to_mnist(mask, (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1))
    except DigitsError:
        return None
