"""Turn a photo, screenshot or drawing of one handwritten digit into an MNIST-style image.

MNIST digits are light ink on black, size-normalised to fit a 20×20 box with
anti-aliasing and placed in a 28×28 field so that their centre of mass is at the
centre. A model trained on MNIST only works on new images that went through the
same steps, so `normalize` redoes them on whatever the user hands in: it decides
which is ink and which is paper, removes uneven lighting and paper tint, finds the
digit among specks and page edges, brings the stroke width into MNIST's range (or,
for a blurred digit, keeps its grey levels), crops, scales and centres it.

Besides numpy and Pillow, OpenCV does the image operations that numpy can only do a
pixel window at a time or in a Python loop: grey morphology (min/max filters, 20-80x
faster), connected components (20x) and binary dilation. This module sits on the path
of a cold `digits predict`, which must answer within a second: OpenCV's headless build
imports in 25 ms, where scipy.ndimage would take 0.3 s.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from digits import IMAGE_SIZE
from digits.errors import DigitsError
from digits.recognize.draw import BOX, _dilate, _resize, _stroke_width, draw

# Refuse anything above this many pixels before decoding it: a 20000×20000 PNG
# compresses to a few hundred kB but would take 1.2 GB to decode as RGB. 64 MP still
# admits full-resolution photos from 48/50 MP phone cameras.
MAX_PIXELS = 64_000_000

WORK_SIDE = 512  # larger images are reduced to this longest side to look for the digit,
WORK_MIN = 128  # smaller ones enlarged to this: smooth outlines, room for the morphology
MIN_DIGIT_SIDE = 96  # a digit smaller than this (working pixels) is looked at again in the full image


# Pixels above this fraction of Otsu's threshold belong to a stroke if they touch one above it.
HYSTERESIS = 0.5
# A second piece of ink is part of the digit if it has this fraction of the main piece's
# ink and lies within this fraction of the digit's size from it.
PART_MASS = 0.05
PART_GAP = 0.3

# Ink stands this many noise standard deviations above the background, and the bulk of
# its strokes half that and at least MIN_CONTRAST (0–255 scale), or the image is taken as
# blank. Contrast is judged against the noise, not a fixed level: a light pencil line 15
# grey levels from clean paper is plain to see, the same 15 levels in a noisy photo are not.
NOISE_SIGMAS = 6.0
MIN_CONTRAST = 8.0
# A stroke's edge: where its contrast falls to this share of the strokes' own (_find_digit).
EDGE_LEVEL = 0.5
PEAK_REACH = 2.0  # the stroke's peak is looked for within this many stroke widths
# A mark stands out from the paper right beside it: at most this share of its contrast is
# left a stroke width outside it (the dark end of a lighting gradient fades out slowly).
FADE = 0.15
# Strokes are wider than a pixel: averaged over NOISE_BOX² pixels they keep their contrast
# over the noise (NOISE_SIGMAS / 2), which peaks of white noise taken for ink do not.
NOISE_BOX = 3
# A blurred digit (out of focus, or a tiny crop enlarged): its strokes are at least BLURRED
# times wider at the ink threshold than at half maximum, and at least SOFT_MIN_WIDTH wide
# (28×28 pixels) at half maximum, so they need no thickening. It is drawn from its grey
# levels, ramped from SOFT_LEVELS[0] to [1] of the strokes' peak, not redrawn from a mask
# (_soft): the ramp the model was trained on for blurred sources (digits.layers.RandomBlur,
# "half maximum with a one-pixel ramp", is 2·b − 0.5, i.e. 25 % to 75 %; a test keeps the
# two equal). Set on wild conditions rendered with seeds other than the benchmark's.
BLURRED = 1.3
SOFT_MIN_WIDTH = 1.6
SOFT_LEVELS = (0.25, 0.75)
# The background window (_ink_map), as a fraction of the image's shorter side: wider than
# any sharp stroke, yet local enough to follow uneven light. A blurred digit's halo can be
# wider than that (a blur of a stroke width around a digit half the image wide): inside a
# loop the window then sees no paper, takes the halo for background, and the loop's strokes
# fade or break. A blurred digit is looked for again with the wider window (`_locate`).
BACKGROUND_WINDOW = 0.25
BLURRED_WINDOW = 0.5
# The spread of the lower half of Gaussian noise (Otsu splits pure noise near its mean)
# is this much smaller than the whole's: 1.69, measured on 2 million samples.
TRUNCATED = 1.7
# The digit holds at least this share of the ink left after page structure is dropped.
MIN_SHARE = 0.5
# Paper lines are at most this fraction of the image side thick (a 512-pixel working image: 5).
LINE_WIDTH = 0.01
# Ink pieces closer than this (working pixels) are joined before the digit is chosen.
GAP_RADIUS = 2.0
# A digit's box is at least this fraction of the image's longer side (specks are smaller).
MIN_SIDE = 0.03
# Printed structure around a digit: a box (a form's field) is a ring whose four sides each
# run along at least RING of the box, with a mark inside it; a ring drawn around a digit (a
# circled answer) has ink on all four sides of a mark at least RING_INSIDE of its height,
# level with the mark's middle; an underline is a flat piece
# (at most FLAT of its width tall) below the digit's middle and wider than the digit or
# under its foot. A 5's or 7's detached bar is flat too, but at the top.
RING = 0.9
RING_INSIDE = 0.3
RING_BAND = 0.15
FLAT = 0.2
RULE_WIDER = 1.2
RULE_LONG = 1.5  # a straight line this many digit heights long is a rule, not a stroke ...
RULE_BEYOND = 0.15  # ... and one touching a digit reaches past it on both sides by this share of its width
RULE_PEN = 1.5  # a line drawn with the digit's pen may be this many of its stroke widths thick
# A printed frame's side is straight and thin: along RING of the side, its outer edge strays
# at most FRAME_STRAY pixels from a straight line (80th percentile; a handwritten stroke
# curves away by far more), and it is at most FRAME_THIN of the frame's side thick (a bold
# digit filling a tight crop is many times thicker). Three such sides make a frame: a thin
# light side of a printed box often drops out of the ink.
FRAME_STRAY = 2.0
FRAME_THIN = 0.08

# Image.info key: the file's pixels per decoded pixel (a large JPEG is decoded reduced), so
# positions found in the decoded image (`digits read`'s boxes) map back to the file's own.
DECODED_SCALE = "digits_decoded_scale"
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def load_image(path: str | os.PathLike) -> Image.Image:
    """Decode one still image with its EXIF orientation applied; DigitsError if it can't be.

    Guards: empty files, unknown formats, truncated data, images over MAX_PIXELS
    (decompression bombs) and animated or multi-frame files (which frame would be the
    digit is a guess, so they are refused rather than silently read as their first),
    except MPO, the multi-picture JPEG phones write, whose first frame is the photo.
    Large JPEGs are decoded at a reduced scale (DCT scaling), which is faster and loses
    nothing that survives the later reduction to 28×28.
    """
    p = Path(path)
    if not p.exists():
        raise DigitsError("no such file or directory")
    if p.is_dir():
        raise DigitsError("is a directory")
    if p.stat().st_size == 0:
        raise DigitsError("empty file")
    return _decode(p)


def load_image_bytes(data: bytes) -> Image.Image:
    """`load_image` for an image held in memory (an upload): the same guards and messages."""
    if not data:
        raise DigitsError("empty file")
    return _decode(io.BytesIO(data))


def _decode(source: Path | io.BytesIO) -> Image.Image:
    """Decode a file or an in-memory image with load_image's guards."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; a bomb is an error here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise DigitsError(f"image too large: {w}x{h} pixels "
                                      f"(limit {MAX_PIXELS // 1_000_000} megapixels)")
                frames = getattr(im, "n_frames", 1)
                if im.format == "MPO":
                    # A phone's multi-picture JPEG: the photo first, then a preview or a
                    # depth map. The first frame is the picture the user took.
                    im.seek(0)
                elif frames > 1:
                    raise DigitsError(f"animated or multi-frame image ({frames} frames); "
                                      "give a single still image")
                if im.format in ("JPEG", "MPO") and max(w, h) > 2 * WORK_SIDE:
                    scale = 2 * WORK_SIDE / max(w, h)
                    im.draft(im.mode, (max(1, round(w * scale)), max(1, round(h * scale))))
                im.load()
                reduced = w / im.width  # > 1 where the JPEG was decoded at a reduced scale
                out = ImageOps.exif_transpose(im)
                if out is im:
                    out = im.copy()  # detach from the file before it is closed
                out.info[DECODED_SCALE] = reduced
    except DigitsError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DigitsError(f"image too large (limit {MAX_PIXELS // 1_000_000} megapixels)") from None
    except UnidentifiedImageError:
        raise DigitsError("not an image file, or not in a format read here "
                          "(PNG, JPEG, BMP, GIF, TIFF, WebP)") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError) as exc:
        # Truncated or corrupt data surfaces as any of these, depending on the codec.
        raise DigitsError(f"cannot decode image: {exc}") from None
    if out.width < 1 or out.height < 1:
        raise DigitsError("image has no pixels")
    return out


def to_grey(image: Image.Image) -> np.ndarray:
    """Greyscale float32 array in [0, 255], transparency composited onto white.

    16-bit and float images are scaled from their nominal range rather than clipped,
    so a 16-bit PNG scan keeps its contrast.
    """
    mode = image.mode
    if mode.startswith("I") or mode == "F":
        a = np.asarray(image, dtype=np.float64)
        if mode == "F":
            full = 1.0 if a.size and np.nanmax(a) <= 1.0 else 255.0
        elif mode.startswith("I;16") or (a.size and a.max() > 255):
            full = 65535.0
        else:
            full = 255.0
        return np.clip(np.nan_to_num(a) * (255.0 / full), 0, 255).astype(np.float32)
    has_alpha = mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
        mode == "P" and "transparency" in image.info)
    if not has_alpha:
        return np.asarray(image.convert("L"), dtype=np.float32)
    rgba = image.convert("RGBA")
    alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
    grey = np.asarray(rgba.convert("RGB").convert("L"), dtype=np.float32)
    on_white = grey * alpha + 255.0 * (1.0 - alpha)
    if np.ptp(on_white) < MIN_CONTRAST and np.ptp(alpha) >= 0.5:
        # Light strokes drawn on a transparent canvas vanish on white: the drawing
        # is in the alpha channel, so show it against black instead.
        return grey * alpha
    return on_white


def naive(image: Image.Image) -> np.ndarray:
    """The old preprocessing, kept as a baseline: greyscale, resize to 28×28, scale to [0, 1]."""
    grey = image.convert("L").resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
    return np.asarray(grey, dtype=np.float32) / 255.0


def _dark_ink(x: np.ndarray, crop: bool = False) -> bool:
    """Whether the ink is darker than the paper.

    The paper is most of the image, so the median pixel is paper; the ink is at the end of
    the range farther from it. Each end is the mean of its most extreme 0.05% of pixels,
    not the 1st/99th percentile, which misses a digit covering under 1%.
    In a crop, a bold digit can cover more of the image than the paper does, but the paper
    still holds most of the frame's edge (the digit touches it at a few places): the
    median of the edge pixels is the paper there.
    """
    if crop:
        edge = float(median(np.concatenate([x[0], x[-1], x[1:-1, 0], x[1:-1, -1]])))
        return edge - float(x.min()) > float(x.max()) - edge
    # In log units: light scales the paper and the ink alike, so a factor, not a difference,
    # is what tells them apart. A shadow over most of a photo makes the shadowed paper the
    # median; the lit paper is then about as many grey levels above it as the ink is
    # below, but a much smaller factor. The offset (a noise floor) keeps pure black from
    # counting as infinitely dark.
    # The log is monotonic, so it is taken of the few sorted values used, not of every pixel
    # (the same values: the same function on the same floats); the sort is faster than
    # partitioning around three positions.
    s = np.sort(np.asarray(x).ravel())
    n = max(1, min(20 + s.size // 2000, s.size // 3))
    mid = s.size // 2

    def log(a: np.ndarray) -> np.ndarray:
        return np.log(a + 16.0)

    med = float(log(s[mid:mid + 1])[0])
    return med - float(log(s[:n]).mean()) > float(log(s[-n:]).mean()) - med


def _to_working(grey: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """Scale the longest side into [WORK_MIN, WORK_SIDE]: the image, working/original scale,
    and whether the ink is dark.

    Shrinking keeps the ink: each working pixel takes the inkiest of its source pixels
    (a minimum for dark ink) before the fractional rest of the reduction is averaged. A
    plain average would fade a 1-pixel pen line in a 2000-pixel photo to a quarter of its
    contrast and break it into dashes.
    """
    h, w = grey.shape
    side = max(h, w)
    scale = min(max(side, WORK_MIN), WORK_SIDE) / side
    if scale == 1.0:
        return grey, 1.0, _dark_ink(grey)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if scale > 1:
        # Bicubic when enlarging small drawings gives smooth stroke outlines to threshold.
        work = np.clip(_resize(grey, size, Image.Resampling.BICUBIC), 0, 255)
        return work, scale, _dark_ink(work, crop=True)
    # BOX averages when shrinking (anti-aliasing, no ringing).
    work = _resize(grey, size, Image.Resampling.BOX)
    dark = _dark_ink(work)
    f = math.ceil(1 / scale - 1e-6)
    if f >= 2:
        hb, wb = h // f, w // f
        pick = np.minimum if dark else np.maximum
        # the inkiest pixel of each f×f block, as f² strided views (one pass, not a 4-D reduce)
        inky = grey[:hb * f:f, :wb * f:f].copy()
        for dy in range(f):
            for dx in range(f):
                pick(inky, grey[dy:hb * f:f, dx:wb * f:f], out=inky)
        work = _resize(inky, size, Image.Resampling.BOX if hb > size[1] else Image.Resampling.BILINEAR)
    return np.clip(work, 0, 255), scale, dark


def median(a: np.ndarray) -> float:
    """np.median(a), the same value, two to three times faster on an image.

    NumPy's median partitions around the two middle positions at once, slower than NumPy's
    vectorised sort of the whole array (a 512×512 ink map: 3.6 ms against 1.6 ms; 1.6 against
    0.6 where most of it is 0). Not for arrays holding NaN.
    """
    v = np.sort(np.asarray(a).ravel())
    if v.size == 0:
        return float(np.median(v))
    return _middle(v)


def _middle(v: np.ndarray, nth: Callable[[int], np.generic] | None = None) -> float:
    """The median of `v.size` values whose k-th smallest is `nth(k)` (default: sorted `v`'s own
    k-th), as np.median gives it (an even count: the mean of the middle two in `v`'s dtype)."""
    at = nth or v.__getitem__
    k = v.size // 2
    if v.size % 2:
        return float(at(k))
    return float(np.mean(np.array([at(k - 1), at(k)], dtype=v.dtype)))


def _deviation(v: np.ndarray, c: float) -> float:
    """median(|v − c|) of sorted `v`, without sorting again: the deviations below `c` and
    those above are each already in order, and the middle of the two runs merged is found
    by bisection. The same value as sorting them: v − c and c − v round alike."""
    p = int(np.searchsorted(v, c))
    below, above = (c - v[:p])[::-1], v[p:] - c  # both ascending

    def nth(k: int) -> np.generic:
        # take i of `below` and k + 1 − i of `above`: the least i with below[i] ≥ above[k − i]
        lo, hi = max(0, k + 1 - above.size), min(k + 1, below.size)
        while lo < hi:
            i = (lo + hi) // 2
            if above[k - i] > below[i]:
                lo = i + 1
            else:
                hi = i
        j = k + 1 - lo
        if lo == 0:
            return above[j - 1]
        return below[lo - 1] if j == 0 else max(below[lo - 1], above[j - 1])

    return _middle(v, nth)


def _otsu(values: np.ndarray, presorted: bool = False) -> float:
    """Otsu's threshold of values in [0, 255] (256 bins of width 1; values outside [0, 256) are
    not counted). `presorted`: the values are in ascending order (`_otsu_background`), and the counts
    are where the bins' edges fall among them (the same counts, 6x faster than binning)."""
    v = np.asarray(values, np.float32).ravel()  # rounding keeps sorted values sorted
    if presorted:
        p = np.diff(np.searchsorted(v, np.arange(257, dtype=np.float32))).astype(np.float64)
    else:
        p = np.bincount(v[(v >= 0) & (v < 256)].astype(np.intp), minlength=256).astype(np.float64)
    total = p.sum()
    if total == 0:
        return 0.0
    edges = np.arange(257, dtype=np.float64)
    centres = edges[:-1] + 0.5
    w0 = np.cumsum(p)
    m0 = np.cumsum(p * centres)
    w1 = total - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (m0[-1] * w0 / total - m0) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = 0.0
    return float(edges[int(np.argmax(between)) + 1])


def _rank_filter(a: np.ndarray, k: int, reduce: np.ufunc) -> np.ndarray:
    """Square k×k minimum (`np.minimum`) or maximum (`np.maximum`) filter, edges replicated."""
    return _morph(a, (k, k), reduce)


def _running(a: np.ndarray, k: int, reduce: np.ufunc, axis: int) -> np.ndarray:
    """Minimum or maximum over a centred window of k pixels along one axis, edges replicated."""
    return _morph(a, (k, 1) if axis == 0 else (1, k), reduce)


def _morph(a: np.ndarray, shape: tuple[int, int], reduce: np.ufunc) -> np.ndarray:
    """Grey erosion (`np.minimum`) or dilation (`np.maximum`) by a rectangle of `shape`
    (rows, columns), anchored at its centre (k // 2), edges replicated."""
    op = cv2.dilate if reduce is np.maximum else cv2.erode
    return op(np.ascontiguousarray(a), np.ones(shape, np.uint8), borderType=cv2.BORDER_REPLICATE)


def _without_lines(x: np.ndarray) -> np.ndarray:
    """The ink map less ruled or squared paper lines: thin structures that run straight
    across most of the image. A grey opening with a line three quarters of the side long
    (horizontal, then vertical) keeps what runs that far; of that, what an opening across
    it with LINE_WIDTH removes is thin: a ruled line, not the stem of a digit filling the
    frame. Where a line crosses a stroke, the stroke keeps what it has above the line."""
    lines = np.zeros_like(x)
    t = max(3, int(LINE_WIDTH * max(x.shape))) | 1
    for axis in (0, 1):
        # A line is the same all along itself: averaging 4 pixels along it loses nothing
        # of it and makes the openings 4x cheaper.
        n = x.shape[axis]
        r = 4 if n >= 64 else 1
        m = -(-n // r) * r
        a = _mean_of_runs(np.pad(x, [(0, m - n) if ax == axis else (0, 0) for ax in (0, 1)], mode="edge"),
                          r, axis)
        k = max(3, int(0.75 * a.shape[axis]))
        long = _running(_running(a, k, np.minimum, axis), k, np.maximum, axis)
        across = 1 - axis
        thick = _running(_running(long, t, np.minimum, across), t, np.maximum, across)
        lines = np.maximum(lines, np.repeat(long - thick, r, axis=axis)[:n] if axis == 0
                           else np.repeat(long - thick, r, axis=axis)[:, :n])
    return x - lines


def _sum_of_runs(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    """The sum of each run of `r` pixels along `axis` (its length a multiple of r), added up
    as NumPy adds a short run, first to last, but by whole strided rows or columns: 3x faster
    than `a.reshape(...).sum(axis=...)`, and the same bit for bit (a test checks)."""
    take = (lambda k: a[k::r]) if axis == 0 else (lambda k: a[:, k::r])
    total = take(0).copy()
    for k in range(1, r):
        total += take(k)
    return total


def _mean_of_runs(a: np.ndarray, r: int, axis: int) -> np.ndarray:
    """`a.reshape(...).mean(axis=...)` over runs of `r` along `axis`, bit for bit (`_sum_of_runs`)."""
    return _sum_of_runs(a, r, axis) / np.asarray(r, a.dtype)


def _mean_of_blocks(a: np.ndarray, r: int) -> np.ndarray:
    """The mean of each r×r block (both sides multiples of r): what
    `a.reshape(h // r, r, w // r, r).mean(axis=(1, 3))` gives, bit for bit where the result
    is at least two blocks wide (NumPy sums each block's rows, then those sums; a test checks),
    3x faster."""
    return _sum_of_runs(_sum_of_runs(a, r, 1), r, 0) / np.asarray(r * r, a.dtype)


def _ink_map(x: np.ndarray, dark: bool, crop: bool = False, window: float = BACKGROUND_WINDOW) -> np.ndarray:
    """How far each pixel stands out from the background as ink, ink bright on black.

    The background of a photo: a grey closing (local maximum, then minimum) wipes out
    every dark structure narrower than its window, i.e. dark strokes, and keeps the paper
    including uneven light, tint and sharp steps such as a page edge; closing − x is the
    dark ink (a black top-hat). An opening does the same for light strokes. The window is
    `window` of the image's shorter side (BACKGROUND_WINDOW: a quarter, wider than the
    strokes, yet local enough to follow lighting across a photo). Both estimates run on a
    4× reduced image: the background is smooth, and that is 16× cheaper.

    A `crop` (an image of at most WORK_MIN pixels: a crop or a drawing, not a photo of a
    page) has one paper level, the median of the pixels on the paper side of Otsu's
    threshold. No window is needed, and none would do: a digit cropped tightly can have
    strokes wider than any window that fits in the image.
    """
    if crop:
        t = _otsu(x)
        paper_side = x >= t if dark else x <= t
        paper = float(median(x[paper_side])) if paper_side.any() else float(median(x))
        return np.maximum(paper - x, 0) if dark else np.maximum(x - paper, 0)
    h, w = x.shape
    step = 4 if min(h, w) >= 64 else 1
    hs, ws = h // step, w // step
    small = _mean_of_blocks(x[:hs * step, :ws * step], step)  # averages noise
    k = max(3, int(min(hs, ws) * window) | 1)

    def full(a: np.ndarray) -> np.ndarray:
        return _resize(a, (w, h), Image.Resampling.BILINEAR) if step > 1 else a

    if dark:
        bg = full(_rank_filter(_rank_filter(small, k, np.maximum), k, np.minimum))
        return _without_lines(np.maximum(bg, x) - x)
    bg = full(_rank_filter(_rank_filter(small, k, np.minimum), k, np.maximum))
    return _without_lines(x - np.minimum(bg, x))


def _label(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-connected components of a boolean image.

    Returns (labels, boxes): labels is 0 on background and 1..n on the components, numbered
    in the raster order of their first pixel (so that ties are broken the same way on every
    platform and OpenCV version); boxes[i] = (top, left, bottom, right) of component i + 1,
    exclusive.
    """
    h, w = mask.shape
    n, labels, stats, _ = cv2.connectedComponentsWithStats(
        np.ascontiguousarray(mask, np.uint8), connectivity=8, ltype=cv2.CV_32S)
    n -= 1
    if n == 0:
        return np.zeros((h, w), np.int32), np.zeros((0, 4), np.int64)
    left, top, bw, bh = (stats[1:, i].astype(np.int64) for i in range(4))
    # A component's first pixel is in its top row: of the pixels in their component's top
    # row, the first of each label in raster order (only the rows some component starts in
    # are looked at).
    rows = np.unique(top)
    sub = labels[rows]
    on_top = (sub > 0) & (rows[:, None] == np.concatenate([[-1], top])[sub])
    r, c = np.nonzero(on_top)
    idx = rows[r] * w + c
    found, pos = np.unique(sub[r, c], return_index=True)
    first = np.empty(n, np.int64)
    first[found - 1] = idx[pos]
    order = np.argsort(first, kind="stable")
    boxes = np.stack([top, left, top + bh, left + bw], axis=1)
    if (order == np.arange(n)).all():
        return labels, boxes
    relabel = np.zeros(n + 1, np.int32)
    relabel[order + 1] = np.arange(1, n + 1, dtype=np.int32)
    return relabel[labels], boxes[order]


def _boxes(labels: np.ndarray, n: int, within: np.ndarray | None = None) -> np.ndarray:
    """(top, left, bottom, right), exclusive, of each label 1..n (zeros for an empty one);
    `within[i]`, if given, is a box that label i + 1 lies in."""
    boxes = np.zeros((n, 4), np.int64)
    if within is not None and n <= 64:  # a few pieces: each one's rows and columns within its box
        for i, (t, lf, b, r) in enumerate(within.tolist()):
            m = labels[t:b, lf:r] == i + 1
            rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
            if rows.size:
                boxes[i] = t + rows[0], lf + cols[0], t + rows[-1] + 1, lf + cols[-1] + 1
        return boxes
    ys, xs = np.nonzero(labels)
    comp = labels[ys, xs] - 1
    boxes[:, 0] = boxes[:, 1] = np.iinfo(np.int64).max
    np.minimum.at(boxes[:, 0], comp, ys)
    np.minimum.at(boxes[:, 1], comp, xs)
    np.maximum.at(boxes[:, 2], comp, ys + 1)
    np.maximum.at(boxes[:, 3], comp, xs + 1)
    boxes[boxes[:, 0] == np.iinfo(np.int64).max] = 0
    return boxes


def _otsu_background(x: np.ndarray) -> tuple[float, float, float]:
    """An ink map's Otsu threshold, background level and noise (`_background`), from one sort."""
    v = np.sort(x.ravel())
    otsu = _otsu(v, presorted=True)
    return (otsu, *_background(x, otsu, v))


def _background(x: np.ndarray, otsu: float, v: np.ndarray | None = None) -> tuple[float, float]:
    """The background level of an ink map and its noise (a robust standard deviation).

    Measured on the whole map (median, MAD) and on the pixels on the paper side of Otsu's
    threshold, whichever is lower: where the strokes cover a large share of the image
    (a digit filling its frame) the whole map's median and spread are the ink's; where
    the image is only paper and noise, Otsu splits the noise and its lower half has
    a spread smaller by TRUNCATED (for Gaussian noise), which is corrected.
    """
    # One sort serves all four medians: the paper side is the start of the sorted map
    # (`v`, where the caller has sorted it already).
    v = np.sort(x.ravel()) if v is None else v
    med = _middle(v)
    sigma = 1.4826 * _deviation(v, med)
    paper = v[:int(np.count_nonzero(v <= otsu))]
    if paper.size:
        pmed = _middle(paper)
        med = min(med, pmed)
        sigma = min(sigma, TRUNCATED * 1.4826 * _deviation(paper, pmed))
    return med, sigma


@dataclass
class Pieces:
    """The connected pieces of ink in an ink map, thresholded as `_pieces` describes."""

    labels: np.ndarray  # int32 (h, w): 0 background, 1..n the pieces
    boxes: np.ndarray  # (n, 4) top, left, bottom, right, exclusive
    mass: np.ndarray  # (n,) summed ink; 0 for junk (page structure) and pieces without strong ink
    at_edge: np.ndarray  # (n,) bool: touches the image border
    med: float  # the background level and its noise
    sigma: float


def _pieces(x: np.ndarray, crop: bool = False, gap: float = GAP_RADIUS) -> Pieces:
    """The pieces of ink in an ink map, page structure marked as junk (mass 0).

    Ink is what stands above both Otsu's threshold and the background noise (a digit
    covering 0.2% of a noisy photo leaves Otsu splitting the noise); hysteresis (pixels
    above half of that, touching one above it) keeps the faint anti-aliased parts of
    thin strokes. Pieces within `gap` pixels of each other are one. Solid or thin bands
    along an edge, lines across the image and frames are junk.
    """
    h, w = x.shape
    otsu, med, sigma = _otsu_background(x)
    t = max(otsu, med + NOISE_SIGMAS * sigma)
    strong = x > t
    if t <= 0 or not strong.any():
        raise DigitsError("no digit found (blank image)")
    weak = x > max(HYSTERESIS * t, med + NOISE_SIGMAS / 2 * sigma)
    # Hysteresis: weak pixels count only where they touch a strong one (which piece is which
    # does not matter here: OpenCV's own numbering, without `_label`'s boxes and renumbering).
    count, labels = cv2.connectedComponents(weak.view(np.uint8), connectivity=8, ltype=cv2.CV_32S)
    has_strong = np.bincount(labels[strong], minlength=count) > 0
    has_strong[0] = False
    weak = has_strong[labels]
    # Pieces a pixel or two apart are one piece: resampling breaks a hairline into dashes.
    labels, boxes = _label(_dilate(weak, gap))
    labels[~weak] = 0
    boxes = _boxes(labels, len(boxes), boxes)
    n = len(boxes)
    flat = labels.ravel()
    # Summed over the ink pixels only (most of a photo is paper): the same sums, in the same order.
    inked = flat > 0
    mass = np.bincount(flat[inked], weights=x.ravel()[inked], minlength=n + 1)[1:]
    area = np.bincount(flat[inked], minlength=n + 1)[1:]
    mass[np.bincount(flat[strong.ravel()], minlength=n + 1)[1:] == 0] = 0.0
    top, left, bottom, right = boxes.T
    bh, bw = bottom - top, right - left
    at_l, at_r, at_t, at_b = left == 0, right == w, top == 0, bottom == h
    solid = area > 0.5 * bh * bw
    # Bands and lines: along the left/right edge (touching it, running most of its
    # length and at least twice as long as wide — a bold digit filling its frame is not —
    # solid or thin), or a thin line across from edge to edge (the border of a
    # desk or page, a fold, a ruled line). A tightly cropped digit touches all four
    # edges and is kept.
    along_lr = (at_l | at_r) & (bh > 0.5 * h) & (bh > 2 * bw) & (solid | (bw < 0.1 * w))
    along_tb = (at_t | at_b) & (bw > 0.5 * w) & (bw > 2 * bh) & (solid | (bh < 0.1 * h))
    across = (at_t & at_b & (bw < 0.1 * w)) | (at_l & at_r & (bh < 0.1 * h))
    edge = np.concatenate([labels[0], labels[-1], labels[1:-1, 0], labels[1:-1, -1]])
    contact = np.bincount(edge, minlength=n + 1)[1:]
    # In a photo, a solid piece coming in along an edge is a shadow or the desk: it meets
    # the edge all along its side (a blurred digit near the edge only grazes it, and a
    # stroke does not fill half its box); in a crop it is a bold digit.
    shade = solid & (contact > 0.25 * (bh + bw)) & (not crop)
    # What lines more than half a photo's edge is a frame (vignetting, a dark surround),
    # not a digit (in a crop, a bold digit filling its frame may).
    frame = (contact > 0.5 * edge.size) & (not crop)
    junk = ((along_lr | along_tb | across | shade) & ~(at_l & at_r & at_t & at_b)) | frame
    mass[junk] = 0.0
    return Pieces(labels, boxes, mass, at_l | at_r | at_t | at_b, med, sigma)


class Found(NamedTuple):
    """A digit found in an ink map (`_find_digit`)."""

    mask: np.ndarray  # its pixels
    box: tuple[int, int, int, int]  # top, left, bottom, right, exclusive
    soft: np.ndarray | None  # a blurred digit's grey levels to draw it from (`_soft`), else None
    blurred: bool  # whether its strokes are blurred (`_blurred`)


def _find_digit(x: np.ndarray, crop: bool = False) -> list[Found]:
    """The digit in an ink map; then, where a line along its foot may be an underline or its
    own stroke (`_underlines`), the digit without that line, if that is a digit too.

    Of the connected pieces (`_pieces`), the digit is the one with the most ink among
    those clear of the image border if there are any of digit size (page edges, desk and
    shadows come in from the border; a tightly cropped digit touches it, but then it is
    alone); pieces close to it with a fair share of its ink are detached strokes of it
    (the bar of a 5). Specks, far-away marks and solid or thin bands along an edge are
    dropped.
    """
    pc = _pieces(x, crop)
    frames = _frames(pc)
    if frames is not None:  # a digit touching its box is one piece with it: the box goes first
        x = np.where(frames, pc.med, x)
        pc = _pieces(x, crop)
    # So is a digit its underline touches: the line goes. A line that may be an underline or
    # the digit's own foot goes in a second reading only, if that finds a digit too.
    rules, maybe = _underlines(pc)
    readings = [rules]
    if maybe is not None:
        readings.append(maybe if rules is None else rules | maybe)
    found: list[Found] = []
    for lines in readings:
        y = x if lines is None else np.where(lines, pc.med, x)
        try:
            found.append(_digit_in(y, pc if lines is None else _pieces(y, crop)))
        except DigitsError:
            if not found:
                raise
    return found


def _digit_in(x: np.ndarray, pc: Pieces) -> Found:
    """The digit among the pieces `pc` of ink map `x` (`_find_digit`); DigitsError if none."""
    h, w = x.shape
    labels, boxes, mass, med, sigma = pc.labels, pc.boxes, pc.mass, pc.med, pc.sigma
    top, left, bottom, right = boxes.T
    bh, bw = bottom - top, right - left
    mass = np.where(_printed(labels, boxes, mass), 0.0, mass)
    inner = ~pc.at_edge & (np.maximum(bh, bw) >= MIN_SIDE * max(h, w))
    pool = np.where(inner, mass, 0.0) if (inner & (mass > 0)).any() else mass
    main = int(np.argmax(pool))
    if pool[main] <= 0 or max(bh[main], bw[main]) < MIN_SIDE * max(h, w):
        raise DigitsError("no digit found")
    t0, l0, b0, r0 = boxes[main].tolist()
    size = max(b0 - t0, r0 - l0)
    keep = [main]
    for i in np.argsort(-pool, kind="stable").tolist()[1:]:
        if pool[i] < PART_MASS * pool[main]:
            break  # sorted by mass: everything after is a speck too
        ti, li, bi, ri = boxes[i].tolist()
        if max(t0 - bi, ti - b0, l0 - ri, li - r0, 0) <= PART_GAP * size:
            keep.append(i)
            t0, l0, b0, r0 = min(t0, ti), min(l0, li), max(b0, bi), max(r0, ri)
    digit = np.isin(labels, np.asarray(keep) + 1)
    why = _not_ink(x, digit, (t0, l0, b0, r0), med, sigma, noise=False)
    if why:
        raise DigitsError(f"no digit found ({why})")
    # A digit is the mark on the page: it holds most of the ink that is not page structure.
    # In noise or a coarse texture the "digit" is one blotch among many.
    if mass[keep].sum() < MIN_SHARE * mass.sum():
        raise DigitsError("no digit found (only noise or texture)")
    # The pieces were found with thresholds set by the paper's noise, which in a blurred
    # image (an out-of-focus photo, or a tiny crop enlarged) lie far down the strokes' soft
    # flanks: the strokes come out fat and the holes of an 8 or a 9 close. A stroke's edge
    # is where its contrast falls to EDGE_LEVEL of the stroke's own (half: the full width
    # at half maximum): the true edge of a sharp stroke, and for a blurred one about the
    # width it had before the blur, with the gaps between strokes open. The stroke's own
    # contrast is the highest within two stroke widths, not the digit's: a shadow across
    # a digit, or a pen pressed lightly, lowers it along part of the digit only.
    sharp, box = _half_maximum(x, digit, med, (t0, l0, b0, r0))
    blurred = _blurred(digit, sharp, box)
    return Found(sharp, box, _soft(x, digit, med, (t0, l0, b0, r0), sharp, box) if blurred else None, blurred)


def _not_ink(x: np.ndarray, marks: np.ndarray, box: tuple[int, int, int, int], med: float,
            sigma: float, noise: bool) -> str | None:
    """Why the marks (a digit, or a number's digits; `box` around them) are not ink but the
    paper of ink map `x` (its background `med`, noise `sigma`), or None.

    Too little contrast: their median stands less than MIN_CONTRAST, or NOISE_SIGMAS / 2
    of the noise, above the background. Uneven light: the median of the ink map in a ring
    one stroke width (at least 2 px) around the marks is about the background for a stroke,
    sharp or blurred, but most of the marks' contrast where the thresholds cut a lighting
    gradient or a vignette somewhere along its slope (FADE). Noise (`noise`): averaged over
    NOISE_BOX² pixels, strokes keep their contrast and white noise loses most of its own; in
    pure noise the "strokes" are peaks of the noise, which sink below NOISE_SIGMAS / 2 of it.
    One digit needs no such test: noise has no piece with most of the ink (MIN_SHARE), and a
    tight crop of 12-16 px, enlarged, is as smooth as noise (the wild benchmark lost one of
    200); a number's pieces do merge noise peaks into digit-sized blots.
    """
    contrast = float(median(x[marks])) - med
    if contrast < max(MIN_CONTRAST, NOISE_SIGMAS / 2 * sigma):
        return "too little contrast"
    r = max(2.0, _stroke_width(marks[box[0]:box[2], box[1]:box[3]]))
    pad = int(r) + 1
    near = (slice(max(0, box[0] - pad), box[2] + pad), slice(max(0, box[1] - pad), box[3] + pad))
    m = marks[near]
    ring = _dilate(m, r) & ~m
    if ring.any() and float(median(x[near][ring])) - med > FADE * contrast:
        return "only uneven light"
    if noise:
        smooth = cv2.blur(np.ascontiguousarray(x, np.float32), (NOISE_BOX, NOISE_BOX))
        _, smed, ssigma = _otsu_background(smooth)
        if float(median(smooth[marks])) - smed < NOISE_SIGMAS / 2 * ssigma:
            return "only noise"
    return None


def _side(m: np.ndarray, most: float) -> np.ndarray | None:
    """The pixels of a straight line along the top of mask `m` (a piece, cropped to its box)
    at most `most` pixels thick, or None where there is none (see FRAME_STRAY)."""
    h, w = m.shape
    band = m[:max(1, round(RING_BAND * h))]
    cols = np.flatnonzero(band.any(axis=0))
    if cols.size < max(2, RING * w):
        return None
    first = band[:, cols].argmax(axis=0)
    stray = first - np.polyval(np.polyfit(cols, first, 1), cols)
    if np.percentile(np.abs(stray), 80) > FRAME_STRAY:
        return None
    rows = np.arange(h)[:, None]
    gap = ~m[:, cols] & (rows >= first)  # the first background below the line's outer edge
    run = np.where(gap.any(axis=0), gap.argmax(axis=0), h) - first
    thick = int(np.percentile(run, 25))  # the line alone: a stroke may run along much of it
    if thick > most:
        return None
    # where a stroke meets the line from inside, the run goes on into it: only the line's width goes
    line = np.zeros_like(m)
    line[:, cols] = (rows >= first) & (rows < first + np.minimum(run, thick + 1))
    return line


def _large_pieces(pc: Pieces) -> Iterator[tuple[tuple[int, int, int, int], np.ndarray]]:
    """The box and mask (cropped to the box) of each piece with ink at least 8 px across both
    ways: room for a frame's sides or a rule with a digit on it."""
    top, left, bottom, right = pc.boxes.T
    big = (pc.mass > 0) & (np.minimum(bottom - top, right - left) >= 8)
    for i in np.flatnonzero(big).tolist():
        t, lf, b, r = pc.boxes[i].tolist()
        yield (t, lf, b, r), pc.labels[t:b, lf:r] == i + 1


def _frames(pc: Pieces) -> np.ndarray | None:
    """The pixels of printed frames (a form's box: three or four straight thin sides around
    something; the fourth may have dropped out of the ink), or None where there are none."""
    out = None
    for (t, lf, b, r), m in _large_pieces(pc):
        most = FRAME_THIN * max(m.shape)
        sides: list[np.ndarray | None] = []
        missing = 0
        for view in (m, m[::-1], m.T, m.T[::-1]):
            sides.append(_side(view, most))
            missing += sides[-1] is None
            if missing > 1:
                break  # two sides missing: not a frame, whatever the others are
        if missing > 1:
            continue
        frame = np.zeros_like(m)
        for k, s in enumerate(sides):
            if s is not None:
                frame |= (s, s[::-1], s.T, s[::-1].T)[k]
        if out is None:
            out = np.zeros(pc.labels.shape, bool)
        out[t:b, lf:r] |= frame
    return out


def _underlines(pc: Pieces) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The pixels of rules drawn under a digit that are one piece with it (touching its foot,
    or within the gap that joins a digit's strokes), and those of lines that may be such a rule
    or the digit's own foot; None where there are none.

    A rule: a straight thin line along the foot of a piece (`_side`: at most FRAME_THIN of its
    length thick) reaching RULE_WIDER times as far across as the rest of the piece (as
    `_printed` asks of a rule apart from the digit), RULE_LONG times the rest's height (as
    `digits read` asks of a rule under a number) and past the rest on both sides by RULE_BEYOND
    of its width. A digit's own straight foot is not: the serif of a 1 is shorter than the 1 is
    tall, and the long base of a 2 starts where its diagonal ends. A line like that which
    reaches past the rest on one side only is as often an underline drawn from a digit's foot
    as the base of a 2, 3 or 5 running on past the rest of it, and so is one up to RULE_PEN
    of the piece's stroke width thick (a marker's short line under a small digit, or the
    digit's own bold foot): their shape cannot tell, the classifier can (`normalizations`)."""
    found: dict[bool, np.ndarray] = {}  # both sides: rules; one side: maybe
    for (t, lf, b, r), m in _large_pieces(pc):
        thin = FRAME_THIN * max(m.shape)
        line = _side(m[::-1], thin)
        printed = line is not None
        if line is None:
            line = _side(m[::-1], max(thin, RULE_PEN * _stroke_width(m)))
        if line is None:
            continue
        line = line[::-1]
        # the rest less the line's soft edge (a pixel of its blur or JPEG ringing beside it)
        rest = m & ~_dilate(line, 2.0)
        rows, cols = np.flatnonzero(rest.any(axis=1)), np.flatnonzero(rest.any(axis=0))
        if cols.size == 0:
            continue
        wide, tall = cols[-1] + 1 - cols[0], rows[-1] + 1 - rows[0]
        if RULE_WIDER * wide > m.shape[1] or m.shape[1] < RULE_LONG * tall:
            continue
        # beyond the rest on both sides: a 2's long base starts where its diagonal ends
        both = printed and min(cols[0], m.shape[1] - 1 - cols[-1]) >= RULE_BEYOND * wide
        found.setdefault(both, np.zeros(pc.labels.shape, bool))[t:b, lf:r] |= line
    return found.get(True), found.get(False)


def _printed(labels: np.ndarray, boxes: np.ndarray, mass: np.ndarray) -> np.ndarray:
    """Which pieces are printed structure drawn around a digit rather than its strokes: a
    box around another mark (a form's field), a ring drawn around a mark at least
    RING_INSIDE of its height (a circled digit), and a rule under the digit (an underline, a
    field's baseline). Each holds more ink than a thin digit, and a piece close to the digit
    would be joined to it as a detached stroke."""
    out = np.zeros(len(boxes), bool)
    live = np.flatnonzero(mass > 0)
    if live.size < 2:
        return out  # alone, a piece is the digit: a tightly cropped 0 can look like a box
    top, left, bottom, right = boxes.T
    bh, bw = bottom - top, right - left
    for i in live[np.minimum(bh[live], bw[live]) >= 8].tolist():  # room for a mark inside
        t, lf, b, r = boxes[i].tolist()
        inside = ((live != i) & (top[live] >= t) & (bottom[live] <= b) & (left[live] >= lf)
                  & (right[live] <= r) & (mass[live] >= PART_MASS * mass[i]))
        if not inside.any():
            continue
        m = labels[t:b, lf:r] == i + 1
        kh, kw = max(1, round(RING_BAND * bh[i])), max(1, round(RING_BAND * bw[i]))
        sides = (m[:kh].any(axis=0).mean(), m[-kh:].any(axis=0).mean(),
                 m[:, :kw].any(axis=1).mean(), m[:, -kw:].any(axis=1).mean())
        out[i] = min(sides) >= RING or any(_rings(m, boxes[j] - [t, lf, t, lf]) for j in live[inside].tolist()
                                           if bh[j] >= RING_INSIDE * bh[i])
    flat = (bh <= FLAT * bw) & (mass > 0) & ~out
    body = np.where(flat | out, 0.0, mass)
    if body.max() <= 0:
        return out
    k = int(np.argmax(body))
    mid = (top[k] + bottom[k]) / 2
    foot = bottom[k] - 0.1 * bh[k]
    out |= flat & ((top + bottom) / 2 > mid) & ((bw >= RULE_WIDER * bw[k]) | (top >= foot))
    return out


def _rings(m: np.ndarray, box: np.ndarray) -> bool:
    """Whether mask `m` has ink on all four sides of the mark in `box` (top, left, bottom,
    right, in m's coordinates), level with the mark's middle: a ring drawn around it."""
    t, lf, b, r = (int(v) for v in box)
    row, col = m[(t + b) // 2], m[:, (lf + r) // 2]
    return bool(row[:lf].any() and row[r:].any() and col[:t].any() and col[b:].any())


def _blurred(digit: np.ndarray, sharp: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    """Whether the strokes are at least BLURRED times wider at the ink threshold (`digit`)
    than at half maximum (`sharp`, within `box`): soft flanks, as a blur leaves them."""
    top, left, bottom, right = box
    width = _stroke_width(sharp[top:bottom, left:right])
    return width > 0 and _stroke_width(digit) >= BLURRED * width


def _soft(x: np.ndarray, digit: np.ndarray, med: float, around: tuple[int, int, int, int],
          sharp: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray | None:
    """A blurred digit's ink as grey levels in [0, 1] (cropped to `around`), or None for a sharp one.

    Any threshold across a blurred stroke's soft flanks is a guess: where two strokes run
    close (the loop of a 2, the top of a 9) their blurs merge above it and the hole closes,
    and where a stroke is fainter it breaks into pieces. The grey levels keep both the
    strokes and the gaps as the camera saw them; shrunk to 20×20 (_place), a blur of a
    stroke width or so is about what MNIST's anti-aliasing gives. UCI's 8×8 digits,
    enlarged, are blurred in this sense: 95.4 % read with the mask, 96.8 % with this.
    """
    top, left, bottom, right = box
    if not _blurred(digit, sharp, box) or \
            _stroke_width(sharp[top:bottom, left:right]) * BOX / max(bottom - top, right - left) < SOFT_MIN_WIDTH:
        return None
    t0, l0, b0, r0 = around
    m = digit[t0:b0, l0:r0]
    ink = np.where(m, x[t0:b0, l0:r0] - med, 0.0)
    peak = float(np.percentile(ink[m], 95))
    if peak <= 0:
        return None
    lo, hi = SOFT_LEVELS
    return np.clip((ink / peak - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def _half_maximum(x: np.ndarray, digit: np.ndarray, med: float,
                  box: tuple[int, int, int, int]) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The digit's pixels at least EDGE_LEVEL of the way from the background to the nearby
    stroke's peak, and their box."""
    t0, l0, b0, r0 = box
    sub, m = x[t0:b0, l0:r0], digit[t0:b0, l0:r0]
    k = 2 * max(1, round(PEAK_REACH * _stroke_width(m))) + 1
    inked = np.where(m, sub, med)
    peak = _rank_filter(inked, k, np.maximum)
    # A pixel as inky as any of its neighbours is on a stroke's crest: kept whatever the
    # peak nearby (a sharp shadow edge across a stroke puts a higher peak within reach).
    crest = sub >= _rank_filter(inked, 3, np.maximum)
    sharp = np.zeros_like(digit)
    sharp[t0:b0, l0:r0] = m & ((sub >= med + EDGE_LEVEL * (peak - med)) | crest)
    rows, cols = np.flatnonzero(sharp.any(axis=1)), np.flatnonzero(sharp.any(axis=0))
    return sharp, (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)


def _locate(grey: np.ndarray) -> tuple[list[Found], float]:
    """Find the digit in a greyscale image at working resolution (`_find_digit`'s readings
    of it), and the working scale.

    A blurred digit is looked for again in an ink map made with BLURRED_WINDOW, whose
    background estimate reaches past its halo; the first answer stands if that finds none.
    Not a small digit in a large photo: `normalize` looks at it again at full resolution.
    """
    work, scale, dark = _to_working(grey)
    crop = max(grey.shape) <= WORK_MIN
    found = _find_digit(_ink_map(work, dark, crop), crop)
    if found[0].blurred and not crop and not _small(found[0].box, scale):
        with contextlib.suppress(DigitsError):
            found = _find_digit(_ink_map(work, dark, crop, BLURRED_WINDOW), crop)
    return found, scale


def _small(box: tuple[int, int, int, int], scale: float) -> bool:
    """A digit found in a reduced photo smaller than MIN_DIGIT_SIDE working pixels."""
    top, left, bottom, right = box
    return max(bottom - top, right - left) < MIN_DIGIT_SIDE and scale < 1


def normalize(image: Image.Image) -> np.ndarray:
    """MNIST-style float32 (28, 28) array in [0, 1]: light digit on black, 20×20, centred.

    Raises DigitsError("no digit found ...") for a blank image rather than guessing.
    """
    return normalizations(image)[0]


def normalizations(image: Image.Image) -> list[np.ndarray]:
    """The digit in `image` as `normalize` draws it, then any other reading of it whose shape
    alone cannot decide (a line along its foot that may be an underline or its own stroke):
    the classifier picks among them (`digits.recognize.predict.predict_images`).

    Raises DigitsError("no digit found ...") for a blank image rather than guessing.
    """
    factor = max(image.size) // (4 * WORK_SIDE)
    if factor >= 2 and image.mode in ("L", "RGB", "RGBA", "LA", "I", "F"):
        # A huge PNG or TIFF (JPEGs are reduced while decoding): box-average it first,
        # keeping at least 2048 px, to spare the float copies below gigabytes of memory.
        image = image.reduce(factor)
    grey = to_grey(image)
    if grey.size == 0 or float(np.ptp(grey)) < MIN_CONTRAST:
        raise DigitsError("no digit found (blank image)")
    found, scale = _locate(grey)
    if _small(found[0].box, scale):
        # A small digit in a large photo: look again at the original resolution, around
        # it with a margin wide enough for the background estimate.
        top, left, bottom, right = found[0].box
        side = max(bottom - top, right - left)
        y0, x0 = max(0, int((top - side) / scale)), max(0, int((left - side) / scale))
        y1 = min(grey.shape[0], int(np.ceil((bottom + side) / scale)))
        x1 = min(grey.shape[1], int(np.ceil((right + side) / scale)))
        found, _ = _locate(grey[y0:y1, x0:x1])
    drawn = [draw(found[0].mask, found[0].box, found[0].soft)]
    for other in found[1:]:
        with contextlib.suppress(DigitsError):  # the other reading is only a blot
            drawn.append(draw(other.mask, other.box, other.soft))
    return drawn
