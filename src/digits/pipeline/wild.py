"""The `wild` benchmark: MNIST test digits rendered as the image files people hand in.

Each condition is one way people capture a digit (a tight crop, a photo of a page, a
faint pencil, a phone's multi-picture JPEG, ...). A condition's renderer draws an MNIST
*test* digit (never trained on) as an ink coverage map with a pen of some width, lays it
on paper, applies the capture (light, shadow, noise, blur, compression) and encodes a
real image file. The files then go through exactly what `digits predict` runs
(`digits.recognize.predict.predict_files`: decode, normalise, the exported model).

Everything is drawn from `numpy.random.default_rng([seed, condition number])`, and every
encoder used is deterministic, so the same seed gives byte-identical files.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage
from skimage.morphology import skeletonize

RGB = tuple[float, float, float]
WHITE: RGB = (255.0, 255.0, 255.0)
# A digit's size is the longer side of its bounding box; MNIST's strokes are ~12% of it.
MNIST_STROKE = 0.125


@dataclass(frozen=True)
class Rendered:
    """One benchmark input: the encoded image file and its extension."""

    data: bytes
    suffix: str  # file extension, with the dot


# --------------------------------------------------------------------------- drawing


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), exclusive, of the True pixels."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


BASE = 8  # the digit's shape is traced at 8x MNIST's resolution (224 px), then scaled


def _edt(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance from each True pixel to the nearest False one (0 on False), float32.

    OpenCV's exact transform, 8x faster than scipy.ndimage's. For some image shapes its own
    float32 square root is 1 ulp off scipy's (a float64 root cast to float32), so the root is
    taken again in float64 from the whole squared distance: the same values as scipy's to the
    bit, and the benchmarks' files byte for byte the same."""
    d = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.sqrt(np.rint(np.square(d, dtype=np.float64))).astype(np.float32)


def coverage(digit: np.ndarray, size: float, pen: float | None = None) -> np.ndarray:
    """Anti-aliased ink coverage in [0, 1] of an MNIST digit drawn `size` pixels tall/wide.

    `size` is the longer side of the digit's bounding box. `pen` is the stroke width in
    output pixels: None keeps MNIST's own strokes (scaled), a number redraws the digit's
    centre line (its skeleton) with a round pen of that width, which is how a hairline
    pen or a marker would have drawn the same shape. The shape is traced once at a fixed
    resolution as a distance field (smooth, so it scales without steps) and the field is
    resized to the output; small outputs are drawn larger and box-averaged, as a camera's
    pixels average the light.
    """
    t, lft, b, r = _bbox(digit > 0.1)
    crop = np.pad(digit[t:b, lft:r].astype(np.float32), 2)
    h, w = crop.shape
    up = np.asarray(Image.fromarray(crop, "F").resize((w * BASE, h * BASE), Image.Resampling.BICUBIC))
    shape_px = BASE * max(b - t, r - lft)  # the digit's size in traced pixels
    ss = max(1, math.ceil(100 / max(size, 1)))
    k = size * ss / shape_px  # output pixels per traced pixel
    mask = up > 0.5
    if pen is None:
        field = _edt(mask) - _edt(~mask)
        reach = 0.0
    else:
        reach = pen * ss / 2
        mask = np.pad(mask, int(math.ceil(reach / k)) + 2)
        skel = skeletonize(mask)
        field = _edt(~(skel if skel.any() else mask))
    fh, fw = field.shape
    field = np.asarray(Image.fromarray(field, "F").resize(
        (max(1, round(fw * k)), max(1, round(fh * k))), Image.Resampling.BILINEAR)) * k
    cov = np.clip(field + 0.5 if pen is None else reach - field + 0.5, 0.0, 1.0)
    if not (cov > 0).any():
        cov = np.ones((1, 1), np.float32)
    t, lft, b, r = _bbox(cov > 0)
    cov = cov[t:b, lft:r]
    if ss > 1:
        h, w = cov.shape
        hs, ws = -(-h // ss) * ss, -(-w // ss) * ss
        cov = np.pad(cov, ((0, hs - h), (0, ws - w))).reshape(hs // ss, ss, ws // ss, ss).mean(axis=(1, 3))
    return cov.astype(np.float32)


def paste(canvas_shape: tuple[int, int], cov: np.ndarray, top: int, left: int) -> np.ndarray:
    """A canvas-sized coverage map with `cov` placed at (top, left), clipped to the canvas."""
    h, w = canvas_shape
    out = np.zeros((h, w), np.float32)
    ch, cw = cov.shape
    t0, l0 = max(top, 0), max(left, 0)
    t1, l1 = min(top + ch, h), min(left + cw, w)
    if t1 > t0 and l1 > l0:
        out[t0:t1, l0:l1] = cov[t0 - top:t1 - top, l0 - left:l1 - left]
    return out


def place(canvas_shape: tuple[int, int], cov: np.ndarray, rng: np.random.Generator,
          margin: float = 0.1) -> np.ndarray:
    """Paste `cov` at a random position keeping `margin` (fraction of the side) clear."""
    h, w = canvas_shape
    ch, cw = cov.shape
    mt, ml = int(margin * h), int(margin * w)
    top = int(rng.integers(mt, max(mt + 1, h - ch - mt + 1)))
    left = int(rng.integers(ml, max(ml + 1, w - cw - ml + 1)))
    return paste(canvas_shape, cov, top, left)


def ink_on(cov: np.ndarray, paper: RGB | float | np.ndarray, ink: RGB | float) -> np.ndarray:
    """Paper (a colour, a grey level or a grey (H, W) image) with ink laid on by coverage.

    Grey paper and grey ink give a greyscale (H, W) image, anything coloured an (H, W, 3)
    one: a third of the work and of the file for the many grey scenes.
    """
    paper, ink = np.asarray(paper, np.float32), np.asarray(ink, np.float32)
    if _grey(paper) and _grey(ink):
        p = paper if paper.ndim == 2 else paper.reshape(-1)[0]
        return p * (1.0 - cov) + ink.reshape(-1)[0] * cov
    if paper.ndim == 2:
        paper = paper[..., None]
    return np.broadcast_to(paper, cov.shape + (3,)) * (1.0 - cov[..., None]) + ink * cov[..., None]


def _grey(v: np.ndarray) -> bool:
    return v.ndim == 2 or v.ndim == 0 or bool(np.all(v == v.reshape(-1)[0]))


def lit(img: np.ndarray, light: np.ndarray) -> np.ndarray:
    """The image under a multiplicative light map (H, W)."""
    return img * (light[..., None] if img.ndim == 3 else light)


def smooth_noise(shape: tuple[int, int], scale: float, rng: np.random.Generator) -> np.ndarray:
    """Zero-mean, unit-variance noise smooth over `scale` pixels (paper fibres, blotches)."""
    n = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), scale)
    return n / (n.std() + 1e-6)


def gradient(shape: tuple[int, int], low: float, rng: np.random.Generator) -> np.ndarray:
    """Light falling from 1 to `low` across the image in a random direction, with vignetting."""
    h, w = shape
    ys, xs = np.ogrid[0:h, 0:w]
    ys, xs = ys.astype(np.float32), xs.astype(np.float32)
    a = rng.uniform(0, 2 * np.pi)
    fx, fy = xs / w - 0.5, ys / h - 0.5
    # In place: the values of 1 − (1 − low)·clip(ramp) times 1 − r²/4, without a full-size
    # temporary per step (2.4x faster on a 1000×1200 page).
    light = np.cos(a) * fx + np.sin(a) * fy  # the ramp
    light /= math.sqrt(0.5)
    light += 0.5
    np.clip(light, 0, 1, out=light)
    light *= 1.0 - low
    np.subtract(1.0, light, out=light)
    # vignetting 1 − r²/4, with r² = 2·(fx² + fy²): 1 at the centre, 3/4 in the corners
    vignette = fx ** 2 + fy ** 2
    vignette *= 0.5  # exactly the old ·2 then ·0.25: scaling by a power of two does not round
    np.subtract(1.0, vignette, out=vignette)
    light *= vignette
    return light


def soft_shadow(shape: tuple[int, int], depth: float, rng: np.random.Generator) -> np.ndarray:
    """A multiplicative shadow: a random half-plane darkened by `depth`, its edge blurred."""
    h, w = shape
    ys, xs = np.ogrid[0:h, 0:w]
    ys, xs = ys.astype(np.float32), xs.astype(np.float32)
    a = rng.uniform(0, 2 * np.pi)
    # The edge passes through a point in the middle half, so the shadow often crosses the digit.
    cy, cx = rng.uniform(0.25, 0.75) * h, rng.uniform(0.25, 0.75) * w
    d = np.cos(a) * (xs - cx) + np.sin(a) * (ys - cy)
    soft = rng.uniform(0.02, 0.08) * max(h, w)
    return 1.0 - depth / (1.0 + np.exp(-d / soft))


def lines(shape: tuple[int, int], spacing: float, width: float, grid: bool,
          rng: np.random.Generator) -> np.ndarray:
    """Coverage of ruled (horizontal) or squared paper lines."""
    h, w = shape
    off = rng.uniform(0, spacing)

    def ruled(n: int) -> np.ndarray:
        pos = (np.arange(n, dtype=np.float32) - off) % spacing
        d = np.minimum(pos, spacing - pos)
        return np.clip(width / 2 - d + 0.5, 0, 1)

    cov = np.broadcast_to(ruled(h)[:, None], shape)
    if grid:
        cov = np.maximum(cov, np.broadcast_to(ruled(w)[None, :], shape))
    return np.asarray(cov, np.float32)


def add_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise: independent Gaussian per pixel and channel."""
    n = rng.standard_normal(img.shape[:2], dtype=np.float32) * np.float32(sigma)
    return img + (n[..., None] if img.ndim == 3 else n)


def to_uint8(img: np.ndarray) -> np.ndarray:
    out = np.rint(img)
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)


def encode(img: np.ndarray | Image.Image, fmt: str = "PNG", **kw) -> Rendered:
    """Encode an RGB/grey float or uint8 array (or a PIL image) as a file.

    PNGs are compressed at zlib's fastest level: the same pixels as at Pillow's default (6),
    files 5 % larger, the benchmarks' rendering 14 % faster."""
    im = img if isinstance(img, Image.Image) else Image.fromarray(to_uint8(img))
    if fmt == "PNG":
        kw.setdefault("compress_level", 1)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return Rendered(buf.getvalue(), {"PNG": ".png", "JPEG": ".jpg"}[fmt])


# ------------------------------------------------------------------ the conditions


def _pen(rng: np.random.Generator, size: float) -> float | None:
    """A typical pen: MNIST's own strokes, or a ballpoint-to-felt-tip 4-14% of the size."""
    return None if rng.random() < 0.3 else float(rng.uniform(0.04, 0.14) * size)


def _dark_ink(rng: np.random.Generator) -> RGB:
    v = float(rng.uniform(0, 70))
    return (v, v, v)


def _paper(rng: np.random.Generator) -> RGB:
    v = float(rng.uniform(215, 255))
    return (v, v, v)


def _page(d: np.ndarray, rng: np.random.Generator, side: tuple[int, int], frac: tuple[float, float],
          pen: float | None | str = "any", margin: float = 0.1) -> tuple[np.ndarray, float]:
    """A coverage map of canvas size `side` (h, w) with the digit `frac` of the shorter side."""
    h, w = side
    size = rng.uniform(*frac) * min(h, w)
    p = _pen(rng, size) if pen == "any" else pen
    return place((h, w), coverage(d, size, p), rng, margin), size


def _canvas(rng: np.random.Generator, lo: int, hi: int) -> tuple[int, int]:
    """A random canvas (h, w) with the longer side in [lo, hi] and aspect 3:4 to 1."""
    a = int(rng.integers(lo, hi + 1))
    b = int(a * rng.uniform(0.75, 1.0))
    return (a, b) if rng.random() < 0.5 else (b, a)


def tight(px: int) -> Callable[[np.ndarray, np.random.Generator], Rendered]:
    """A crop whose edges touch the digit, saved `px` pixels on its longer side.

    Half keep the digit's own aspect (the ink touches all four edges); half are square,
    the digit filling the height. Dark on light or light on dark, any pen up to a marker,
    PNG or JPEG: the crops people make of a digit on a form or in a dataset.
    """

    def render(d: np.ndarray, rng: np.random.Generator) -> Rendered:
        size = 200.0
        pen = None if rng.random() < 0.4 else float(rng.uniform(0.06, 0.22) * size)
        cov = coverage(d, size, pen)
        h, w = cov.shape
        if rng.random() < 0.5 and w < h:
            pad = (h - w) // 2
            cov = np.pad(cov, ((0, 0), (pad, h - w - pad)))
        ink, paper = _dark_ink(rng), _paper(rng)
        if rng.random() < 0.3:
            ink, paper = (255.0 - paper[0],) * 3, (255.0 - ink[0],) * 3
        img = Image.fromarray(to_uint8(ink_on(cov, paper, ink)))
        s = px / max(img.size)
        img = img.resize((max(1, round(img.width * s)), max(1, round(img.height * s))),
                         Image.Resampling.LANCZOS)
        if rng.random() < 0.3:
            return encode(img, "JPEG", quality=int(rng.integers(70, 96)))
        return encode(img)

    render.__doc__ = f"tight crop, longer side {px} px, the digit touching the edges"
    return render


def small_on_page(d, rng):
    """A small digit (about 5% of the longer side) on a large, evenly lit page photo."""
    side = _canvas(rng, 900, 1400)
    size = rng.uniform(0.04, 0.06) * max(side)
    cov = place(side, coverage(d, size, _pen(rng, size)), rng, 0.1)
    img = lit(ink_on(cov, _paper(rng), _dark_ink(rng)), gradient(side, 0.85, rng))
    return encode(add_noise(img, 2.0, rng), "JPEG", quality=90)


def off_centre(d, rng):
    """A digit a third of the image, close to an edge or a corner."""
    side = _canvas(rng, 300, 640)
    size = rng.uniform(0.25, 0.4) * min(side)
    cov = coverage(d, size, _pen(rng, size))
    h, w = side
    ch, cw = cov.shape
    m = lambda n: int(rng.uniform(0.01, 0.05) * n)  # noqa: E731 - a margin of 1-5%
    top = m(h) if rng.random() < 0.5 else h - ch - m(h)
    left = m(w) if rng.random() < 0.5 else w - cw - m(w)
    if rng.random() < 0.5:  # only one edge close: the other coordinate anywhere
        left = int(rng.integers(0, max(1, w - cw)))
    cov = paste(side, cov, top, left)
    return encode(ink_on(cov, _paper(rng), _dark_ink(rng)))


def marker(d, rng):
    """A thick marker at high resolution: strokes 15-22% of the digit (3x a ballpoint's)."""
    side = _canvas(rng, 400, 700)
    size = rng.uniform(0.45, 0.7) * min(side)
    cov, _ = _page(d, rng, side, (size / min(side),) * 2, float(rng.uniform(0.15, 0.22) * size))
    return encode(ink_on(cov, _paper(rng), _dark_ink(rng)))


def hairline(d, rng):
    """A hairline pen (1-2 px) at high resolution: a digit 250-720 px tall."""
    side = _canvas(rng, 500, 900)
    cov, _ = _page(d, rng, side, (0.5, 0.8), float(rng.uniform(1.0, 2.0)))
    return encode(ink_on(cov, _paper(rng), _dark_ink(rng)))


def faint(d, rng):
    """A faint stroke: ink only 15-40 grey levels darker than the paper (light pencil)."""
    side = _canvas(rng, 150, 500)
    cov, _ = _page(d, rng, side, (0.4, 0.8))
    paper = float(rng.uniform(200, 255))
    ink = paper - float(rng.uniform(15, 40))
    return encode(add_noise(ink_on(cov, paper, ink), 1.5, rng))


def dark_on_light(d, rng):
    """Dark ink on light paper, clean: the plain case, at many sizes."""
    side = _canvas(rng, 60, 640)
    cov, _ = _page(d, rng, side, (0.3, 0.85))
    return encode(ink_on(cov, _paper(rng), _dark_ink(rng)))


def light_on_dark(d, rng):
    """Light strokes on a dark ground: chalk on a board, a dark-mode drawing app."""
    side = _canvas(rng, 60, 640)
    cov, _ = _page(d, rng, side, (0.3, 0.85))
    ground = (float(rng.uniform(0, 50)), float(rng.uniform(0, 70)), float(rng.uniform(0, 60)))
    v = float(rng.uniform(180, 255))
    return encode(ink_on(cov, ground, (v, v, v)))


TINTS: tuple[RGB, ...] = ((245, 235, 200), (250, 240, 170), (215, 230, 245), (205, 205, 198), (240, 220, 220))


def blue_on_tinted(d, rng):
    """Blue ballpoint on tinted paper (cream, yellow notepad, light blue, grey), photographed."""
    side = _canvas(rng, 300, 800)
    size = rng.uniform(0.3, 0.7) * min(side)
    cov, _ = _page(d, rng, side, (size / min(side),) * 2, float(rng.uniform(0.03, 0.08) * size))
    tint = np.asarray(TINTS[int(rng.integers(len(TINTS)))], np.float32) * rng.uniform(0.85, 1.0)
    ink = (float(rng.uniform(15, 60)), float(rng.uniform(30, 80)), float(rng.uniform(110, 190)))
    img = lit(ink_on(cov, tuple(tint), ink), gradient(side, 0.8, rng))
    return encode(add_noise(img, 3.0, rng), "JPEG", quality=int(rng.integers(75, 95)))


def texture(d, rng):
    """Paper texture: grain and blotches, 10-30 grey levels, under the ink."""
    side = _canvas(rng, 200, 640)
    cov, _ = _page(d, rng, side, (0.35, 0.8))
    amp = rng.uniform(10, 30)
    paper = 225 + amp * (0.6 * smooth_noise(side, rng.uniform(0.8, 2), rng)
                         + 0.6 * smooth_noise(side, rng.uniform(8, 30), rng))
    img = ink_on(cov, paper, _dark_ink(rng))
    return encode(img, "JPEG", quality=90)


def lighting(d, rng):
    """Uneven light: the paper falls to 35-60% brightness across the photo, with vignetting."""
    side = _canvas(rng, 300, 800)
    cov, _ = _page(d, rng, side, (0.3, 0.7))
    img = lit(ink_on(cov, _paper(rng), _dark_ink(rng)), gradient(side, rng.uniform(0.35, 0.6), rng))
    return encode(add_noise(img, 2.0, rng), "JPEG", quality=90)


def shadow(d, rng):
    """A soft shadow (a hand, a phone) darkening part of the page by 30-60%, often over the digit."""
    side = _canvas(rng, 300, 800)
    cov, _ = _page(d, rng, side, (0.3, 0.7))
    img = lit(ink_on(cov, _paper(rng), _dark_ink(rng)), soft_shadow(side, rng.uniform(0.3, 0.6), rng))
    return encode(add_noise(img, 2.0, rng), "JPEG", quality=90)


def ruled(d, rng):
    """Ruled or squared paper: lines 25-60% of the digit's size apart, crossing it."""
    side = _canvas(rng, 300, 700)
    cov, size = _page(d, rng, side, (0.3, 0.6))
    grid = rng.random() < 0.5
    ln = lines(side, rng.uniform(0.25, 0.6) * size, rng.uniform(1, 3), grid, rng)
    colour = ((150, 190, 230), (170, 170, 170), (120, 160, 210))[int(rng.integers(3))]
    paper = ink_on(ln * float(rng.uniform(0.5, 1.0)), _paper(rng), colour)
    return encode(ink_on(cov, paper, _dark_ink(rng)), "PNG" if rng.random() < 0.5 else "JPEG", quality=90)


def _band(shape: tuple[int, int], y0: float, x0: float, x1: float, width: float, slope: float = 0.0) -> np.ndarray:
    """Coverage of a straight line `width` px thick from column x0 to x1, through row y0 at x0."""
    h, w = shape
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    cov = np.clip(width / 2 - np.abs(ys - (y0 + slope * (xs - x0))) + 0.5, 0, 1)
    return np.where((xs >= x0) & (xs <= x1), cov, 0).astype(np.float32)


def _form_ink(rng: np.random.Generator) -> RGB:
    """A printed form's lines: black, grey or blue."""
    return ((30, 30, 30), (120, 120, 120), (60, 90, 170))[int(rng.integers(3))]


def boxed(d, rng):
    """A digit written in a printed box (a form's field) on a page: the box 1.2-1.6x the digit."""
    size = float(rng.uniform(50, 220))
    cov = coverage(d, size, _pen(rng, size))
    ch, cw = cov.shape
    bs = size * float(rng.uniform(1.2, 1.6))
    h, w = int(bs * rng.uniform(1.3, 2.5)), int(bs * rng.uniform(1.3, 3.0))
    bt, bl = float(rng.uniform(0, h - bs)), float(rng.uniform(0, w - bs))
    lw = float(rng.uniform(1, 4))
    box = np.maximum.reduce([_band((h, w), bt, bl, bl + bs, lw), _band((h, w), bt + bs, bl, bl + bs, lw),
                             _band((w, h), bl, bt, bt + bs, lw).T, _band((w, h), bl + bs, bt, bt + bs, lw).T])
    top = int(bt + lw + rng.uniform(0.3, 0.7) * max(0.0, bs - 2 * lw - ch))
    left = int(bl + lw + rng.uniform(0.3, 0.7) * max(0.0, bs - 2 * lw - cw))
    paper = ink_on(box, _paper(rng), _form_ink(rng))
    return encode(ink_on(paste((h, w), cov, top, left), paper, _dark_ink(rng)),
                  "PNG" if rng.random() < 0.5 else "JPEG", quality=90)


def underlined(d, rng):
    """A digit underlined (a total, a form's baseline): a line 1.2-3x its width, 5-25 % of its size below."""
    size = float(rng.uniform(50, 220))
    pen = _pen(rng, size)
    cov = coverage(d, size, pen)
    ch, cw = cov.shape
    length = min(float(rng.uniform(1.2, 3.0)) * max(cw, 0.5 * size), 3.0 * size)
    h, w = int(size * rng.uniform(1.6, 2.4)), int(length * rng.uniform(1.1, 1.6))
    top = int(rng.uniform(0.05, 0.2) * h)
    left = int(rng.uniform(0.1, 0.9) * (w - cw))
    x0 = float(rng.uniform(0, w - length))
    y0 = top + ch + float(rng.uniform(0.05, 0.25)) * size
    hand = rng.random() < 0.5  # drawn with the same pen, a little askew, or printed
    lw = pen if hand and pen else float(rng.uniform(1, 4))
    line = _band((h, w), y0, x0, x0 + length, lw, float(rng.uniform(-0.04, 0.04)) if hand else 0.0)
    ink = _dark_ink(rng)
    paper = ink_on(line, _paper(rng), ink if hand else _form_ink(rng))
    return encode(ink_on(paste((h, w), cov, top, left), paper, ink), "PNG" if rng.random() < 0.5 else "JPEG",
                  quality=90)


def noise(d, rng):
    """Sensor noise: Gaussian, sigma 8-25 grey levels per pixel."""
    side = _canvas(rng, 100, 500)
    cov, _ = _page(d, rng, side, (0.35, 0.8))
    return encode(add_noise(ink_on(cov, _paper(rng), _dark_ink(rng)), rng.uniform(8, 25), rng))


def blur(d, rng):
    """Out of focus or moving: Gaussian blur of 0.4-1.2 stroke widths."""
    side = _canvas(rng, 100, 500)
    size = rng.uniform(0.35, 0.8) * min(side)
    pen = float(rng.uniform(0.06, 0.14) * size)
    cov, _ = _page(d, rng, side, (size / min(side),) * 2, pen)
    cov = ndimage.gaussian_filter(cov, rng.uniform(0.4, 1.2) * pen)
    return encode(ink_on(cov, _paper(rng), _dark_ink(rng)))


def jpeg30(d, rng):
    """Heavy JPEG compression (quality 30) of a small-to-medium image."""
    side = _canvas(rng, 48, 400)
    cov, _ = _page(d, rng, side, (0.4, 0.85))
    return encode(ink_on(cov, _paper(rng), _dark_ink(rng)), "JPEG", quality=30)


def rotation(d, rng):
    """The digit rotated by up to ±25° (a tilted page or a slanted hand)."""
    size = 200.0
    cov = coverage(d, size, _pen(rng, size))
    cov = np.asarray(Image.fromarray(cov, "F").rotate(rng.uniform(-25, 25), Image.Resampling.BILINEAR,
                                                      expand=True))
    side = _canvas(rng, 100, 600)
    s = rng.uniform(0.4, 0.8) * min(side) / max(cov.shape)
    cov = np.asarray(Image.fromarray(cov, "F").resize(
        (max(1, round(cov.shape[1] * s)), max(1, round(cov.shape[0] * s))), Image.Resampling.BOX))
    return encode(ink_on(place(side, np.clip(cov, 0, 1), rng), _paper(rng), _dark_ink(rng)))


def rgba_transparent(d, rng):
    """A drawing app's export: RGBA, the background fully transparent (RGB under it black)."""
    side = _canvas(rng, 28, 600)
    cov, _ = _page(d, rng, side, (0.4, 0.9), margin=0.05)
    colour = ((0, 0, 0), (255, 255, 255), (30, 60, 200), (200, 30, 30))[int(rng.integers(4))]
    rgba = np.zeros(side + (4,), np.uint8)
    rgba[..., :3] = colour
    rgba[..., 3] = to_uint8(cov * 255)
    rgba[cov == 0, :3] = 0
    return encode(Image.fromarray(rgba, "RGBA"))


def png16(d, rng):
    """A 16-bit greyscale PNG (scanners, scientific cameras)."""
    side = _canvas(rng, 100, 600)
    cov, _ = _page(d, rng, side, (0.4, 0.8))
    paper, ink = rng.uniform(45000, 65535), rng.uniform(0, 15000)
    a = np.clip(np.rint(paper * (1 - cov) + ink * cov), 0, 65535).astype(np.uint16)
    return encode(Image.fromarray(a))


def _photo(d, rng) -> np.ndarray:
    side = _canvas(rng, 500, 1000)
    cov, _ = _page(d, rng, side, (0.3, 0.6))
    img = lit(ink_on(cov, _paper(rng), _dark_ink(rng)), gradient(side, 0.75, rng))
    img = to_uint8(add_noise(img, 2.0, rng))
    return np.repeat(img[..., None], 3, axis=2)  # a phone's JPEG is colour, grey scene or not


def mpo(d, rng):
    """A phone photo saved as MPO (multi-picture JPEG): the photo plus a smaller second frame."""
    img = Image.fromarray(_photo(d, rng))
    second = img.resize((img.width // 4, img.height // 4), Image.Resampling.BOX)
    if rng.random() < 0.5:  # a depth map instead of a preview: smooth, no digit
        second = Image.new("RGB", second.size, (128, 128, 128))
    buf = io.BytesIO()
    img.save(buf, format="MPO", save_all=True, append_images=[second], quality=90)
    return Rendered(buf.getvalue(), ".jpg")


def exif_rotated(d, rng):
    """A phone JPEG stored sideways or upside down, with an EXIF orientation tag to undo it."""
    img = Image.fromarray(_photo(d, rng))
    orientation = (3, 6, 8)[int(rng.integers(3))]
    # The inverse of what ImageOps.exif_transpose does for each tag.
    stored = img.transpose({3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90,
                            8: Image.Transpose.ROTATE_270}[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(stored, "JPEG", quality=90, exif=exif.tobytes())


# Pages with no digit on them: the predictor must refuse them all.
def blank(_d, rng):
    """No digit: plain, lit, shadowed, textured, ruled or squared paper, a uniform colour or pure noise."""
    side = _canvas(rng, 100, 800)
    kind = int(rng.integers(6))
    if kind == 0:
        img = np.full(side + (3,), rng.uniform(0, 255), np.float32)
    elif kind == 1:
        img = np.full(side + (3,), _paper(rng), np.float32) * gradient(side, rng.uniform(0.35, 0.8), rng)[..., None]
    elif kind == 2:
        img = np.full(side + (3,), _paper(rng), np.float32) * soft_shadow(side, rng.uniform(0.3, 0.6), rng)[..., None]
    elif kind == 3:
        img = np.repeat((225 + 20 * smooth_noise(side, rng.uniform(2, 20), rng))[..., None], 3, axis=2)
    elif kind == 4:
        ln = lines(side, rng.uniform(15, 60), rng.uniform(1, 3), rng.random() < 0.5, rng)
        img = ink_on(ln, _paper(rng), (150, 190, 230))
    else:
        img = rng.uniform(0, 255, side + (3,)).astype(np.float32)
    return encode(add_noise(img, 2.0, rng), "JPEG" if rng.random() < 0.5 else "PNG", quality=90)


Renderer = Callable[[np.ndarray, np.random.Generator], Rendered]

# name -> renderer; the order is the order of the report and of the per-condition seeds.
CONDITIONS: dict[str, Renderer] = {
    "tight_64": tight(64),
    "tight_28": tight(28),
    "tight_16": tight(16),
    "tight_12": tight(12),
    "small_on_page": small_on_page,
    "off_centre": off_centre,
    "marker": marker,
    "hairline": hairline,
    "faint": faint,
    "dark_on_light": dark_on_light,
    "light_on_dark": light_on_dark,
    "blue_on_tinted": blue_on_tinted,
    "texture": texture,
    "lighting": lighting,
    "shadow": shadow,
    "ruled": ruled,
    "boxed": boxed,
    "underlined": underlined,
    "noise": noise,
    "blur": blur,
    "jpeg30": jpeg30,
    "rotation": rotation,
    "rgba_transparent": rgba_transparent,
    "png16": png16,
    "mpo": mpo,
    "exif_rotated": exif_rotated,
}
# Inputs without a digit, scored by how many are refused.
BLANK = "blank"


def condition_seed(seed: int, name: str) -> list[int]:
    """The per-condition seed sequence: independent of which other conditions exist."""
    return [seed, *name.encode()]


def pick(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n test indices, as close to class-balanced as n allows, in a random order."""
    per = -(-n // 10)
    idx = np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per] for c in range(10)])
    return rng.permutation(idx)[:n]


def render_condition(name: str, images: np.ndarray, labels: np.ndarray, n: int,
                     seed: int) -> list[tuple[int, int, Rendered]]:
    """(test index, label, file) for n samples of one condition (or of BLANK, label -1)."""
    rng = np.random.default_rng(condition_seed(seed, name))
    fn = blank if name == BLANK else CONDITIONS[name]
    out = []
    for i in pick(labels, n, rng).tolist():
        out.append((i, -1 if name == BLANK else int(labels[i]), fn(images[i], rng)))
    return out


def describe(name: str) -> str:
    """The one-line description of a condition (its renderer's docstring's first line)."""
    if name == "dev_set":
        return "the real handwritten digits of the development set"
    if name == "uci_8x8":
        return "scikit-learn's UCI digits: 1,797 real 8x8 crops by 43 writers"
    fn = blank if name == BLANK else CONDITIONS[name]
    return (fn.__doc__ or name).strip().splitlines()[0]
