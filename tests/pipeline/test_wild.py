"""The wild benchmark: its renderers make the files they claim, deterministically, and its
runner scores what `digits predict`'s path answers."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from conftest import LIKELY
from digits.pipeline import benchmark, wild
from digits.recognize.normalize import load_image, to_grey


def seven() -> np.ndarray:
    """A 28×28 MNIST-like 7: a bar and a diagonal, 2-3 px strokes, in a 20×20 box."""
    from PIL import ImageDraw

    im = Image.new("L", (28, 28), 0)
    ImageDraw.Draw(im).line([(5, 5), (22, 5), (12, 24)], fill=255, width=3)
    return np.asarray(im, np.float32) / 255


def digits_and_labels(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    return np.repeat(seven()[None], n, axis=0), np.arange(n) % 10


def open_bytes(r: wild.Rendered) -> Image.Image:
    im = Image.open(io.BytesIO(r.data))
    im.load()
    return im


def test_coverage_is_tight_and_scaled():
    cov = wild.coverage(seven(), 100.0)
    assert max(cov.shape) == pytest.approx(100, abs=3)
    assert cov.min() == 0.0 and cov.max() == 1.0
    # Touching all four edges: the bounding box is the array.
    assert cov[0].any() and cov[-1].any() and cov[:, 0].any() and cov[:, -1].any()


def test_the_distance_transform_is_scipys_to_the_bit():
    """OpenCV's transform with scipy's rounding: the same float32 values, so the benchmarks'
    files did not change when it replaced scipy.ndimage.distance_transform_edt. Masks of
    strokes and of noise, up to a few hundred pixels across (far distances: the rounding
    differs first there)."""
    from scipy import ndimage

    rng = np.random.default_rng(3)
    masks = [rng.random((300, 260)) < p for p in (0.001, 0.02, 0.5, 0.97)]
    masks += [np.pad(np.ones((200, 150), bool), 40), ~np.pad(np.ones((5, 5), bool), 180)]
    far = np.ones((206, 78), bool)  # a skeleton's far side: OpenCV's own square root is 1 ulp off here
    far[103, :26] = False
    masks += [far, far.T]
    masks += [np.asarray(Image.fromarray(seven()).resize((224, 224), Image.Resampling.BICUBIC)) > 0.5]
    for m in masks:
        assert np.array_equal(wild._edt(m), ndimage.distance_transform_edt(m).astype(np.float32))


def test_pen_width_sets_the_stroke():
    d = seven()
    thin, thick = wild.coverage(d, 300.0, pen=2.0), wild.coverage(d, 300.0, pen=40.0)
    # Ink area of a long stroke is about length × width.
    assert thick.sum() / thin.sum() == pytest.approx(20, rel=0.35)
    widths = [2 * c.sum() / (np.count_nonzero(np.diff(c > 0.5, axis=0)) + np.count_nonzero(np.diff(c > 0.5, axis=1)))
              for c in (thin, thick)]
    assert widths[0] < 4 < 30 < widths[1]


@pytest.mark.parametrize("name", [*wild.CONDITIONS, wild.BLANK])
def test_each_condition_renders_a_decodable_file_deterministically(name):
    x, y = digits_and_labels()
    a = wild.render_condition(name, x, y, 3, seed=5)
    b = wild.render_condition(name, x, y, 3, seed=5)
    c = wild.render_condition(name, x, y, 3, seed=6)
    assert [r.data for _, _, r in a] == [r.data for _, _, r in b]
    assert [r.data for _, _, r in a] != [r.data for _, _, r in c]
    for idx, label, r in a:
        assert label == (-1 if name == wild.BLANK else y[idx])
        assert load_image_bytes(r).size[0] >= 1


def load_image_bytes(r: wild.Rendered) -> Image.Image:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=r.suffix) as f:
        f.write(r.data)
        f.flush()
        return load_image(f.name)


@pytest.mark.parametrize("px", [64, 28, 16, 12])
def test_tight_crops_have_the_size_and_touch_the_edges(px):
    x, y = digits_and_labels()
    for _, _, r in wild.render_condition(f"tight_{px}", x, y, 8, seed=1):
        im = open_bytes(r)
        assert max(im.size) == px
        g = to_grey(im)
        ink = np.abs(g - np.median(g[[0, -1]])) > 60  # ink against the paper of the top/bottom rows
        assert ink[0].any() or ink[1].any()  # the digit reaches the top ...
        assert ink[-1].any() or ink[-2].any()  # ... and the bottom


def test_containers_are_what_they_claim():
    x, y = digits_and_labels()
    [(_, _, m)] = wild.render_condition("mpo", x, y, 1, seed=1)
    assert open_bytes(m).format == "MPO" and open_bytes(m).n_frames == 2
    [(_, _, p)] = wild.render_condition("png16", x, y, 1, seed=1)
    assert open_bytes(p).mode.startswith("I") and np.asarray(open_bytes(p)).max() > 255
    [(_, _, t)] = wild.render_condition("rgba_transparent", x, y, 1, seed=1)
    alpha = np.asarray(open_bytes(t).getchannel("A"))
    assert open_bytes(t).mode == "RGBA" and alpha.min() == 0 and alpha.max() == 255
    for _, _, e in wild.render_condition("exif_rotated", x, y, 6, seed=1):
        raw = open_bytes(e)
        assert raw.getexif()[0x0112] in (3, 6, 8)
        upright = load_image_bytes(e)
        if raw.getexif()[0x0112] in (6, 8):
            assert upright.size == raw.size[::-1]


def test_exif_rotation_is_undone_to_the_upright_page():
    # Render the same photo twice with the same generator state: once stored upright.
    x, y = digits_and_labels()
    rng = np.random.default_rng(wild.condition_seed(3, "exif_rotated"))
    wild.pick(y, 1, rng)
    upright = wild._photo(x[0], rng)
    [(_, _, e)] = wild.render_condition("exif_rotated", x, y, 1, seed=3)
    decoded = np.asarray(load_image_bytes(e).convert("RGB"), np.float32)
    assert decoded.shape == upright.shape
    assert np.abs(decoded - upright).mean() < 4  # JPEG error only; a wrong rotation is ~50


def test_pick_is_balanced():
    labels = np.arange(1000) % 10
    idx = wild.pick(labels, 200, np.random.default_rng(0))
    assert len(set(idx.tolist())) == 200
    assert np.bincount(labels[idx], minlength=10).tolist() == [20] * 10


def test_wilson_interval():
    lo, hi = benchmark.wilson(196, 200)
    assert lo == pytest.approx(0.9497, abs=1e-3) and hi == pytest.approx(0.9922, abs=1e-3)
    assert benchmark.wilson(0, 0) == (0.0, 1.0)


def rec(cond, label, digit, error=None):
    return benchmark.Record(cond, 0, label, digit, 0.9 if digit is not None else 0.0, error)


def test_score_counts_accuracy_refusals_and_blanks():
    results = {
        "a": [rec("a", 1, 1), rec("a", 2, 3), rec("a", 4, None, "no digit found")],
        "b": [rec("b", 5, 5)],
        wild.BLANK: [rec(wild.BLANK, -1, None, "no digit found"), rec(wild.BLANK, -1, 7)],
        benchmark.DEV_SET: [rec(benchmark.DEV_SET, 3, 3)],
    }
    m = benchmark.score(results)
    assert m["conditions"]["a"]["accuracy"] == pytest.approx(1 / 3)
    assert m["conditions"]["a"]["refusal_rate"] == pytest.approx(1 / 3)
    assert m["overall"]["n"] == 4 and m["overall"]["accuracy"] == pytest.approx(0.5)
    assert m["worst_condition"]["name"] == "a" and m["min_condition_accuracy"] == pytest.approx(1 / 3)
    assert m["blank"] == {"n": 2, "refused": 0.5}
    assert m["dev_set"]["accuracy"] == 1.0


def test_run_goes_through_the_predict_path(models, tmp_path):
    """With a model that answers 7 whatever it sees, every 7 and nothing else is right."""
    x, y = digits_and_labels(100)
    real = tmp_path / "real"
    (real / "images").mkdir(parents=True)
    Image.fromarray((seven() * 255).astype(np.uint8)).save(real / "images" / "a.png")
    Image.new("L", (50, 50), 255).save(real / "images" / "blank.png")
    (real / "labels.csv").write_text("file,label\na.png,7\nblank.png,3\n")
    seen = []
    res = benchmark.run(x, y, models["good"], real, n=20, seed=1, workers=2, n_blank=5,
                        conditions=["dark_on_light", "mpo"], progress=lambda nm, r, s: seen.append(nm))
    assert list(res) == ["dark_on_light", "mpo", wild.BLANK, benchmark.DEV_SET]
    assert sorted(seen) == sorted(res)
    for name in ("dark_on_light", "mpo"):
        recs = res[name]
        assert len(recs) == 20 and sum(r.label == LIKELY for r in recs) == 2
        for r in recs:
            if r.error is None:
                assert r.digit == LIKELY
        assert all(r.seen is not None and r.seen.shape == (28, 28) for r in recs[:5] if r.error is None)
    assert [r.digit for r in res[benchmark.DEV_SET]] == [LIKELY, None]
    assert all(r.digit is None for r in res[wild.BLANK])  # blank pages are refused
    m = benchmark.score(res)
    assert m["dev_set"]["accuracy"] == 0.5
    json.dumps(m)  # serialisable as is
    grid = benchmark.grid(res["dark_on_light"], "t")
    assert grid.size[0] > 500
    rows = list(csv.DictReader(io.StringIO(benchmark.predictions_csv(res))))
    assert len(rows) == 20 + 20 + 5 + 2


def test_single_process_gives_the_same_answers(models):
    x, y = digits_and_labels(60)
    one = benchmark.run(x, y, models["good"], None, n=10, seed=2, workers=1, n_blank=0, conditions=["noise"])
    two = benchmark.run(x, y, models["good"], None, n=10, seed=2, workers=2, n_blank=0, conditions=["noise"])
    assert [(r.index, r.digit, r.error) for r in one["noise"]] == [(r.index, r.digit, r.error) for r in two["noise"]]


def test_the_uci_digits_are_read_as_a_real_set(models, monkeypatch):
    """scikit-learn's UCI 8x8 digits go through the predict path as PNG files and are scored
    beside the dev set, not in the synthetic overall (here its first 300 of 1,797: the stage
    reads them all, in 20 s on one core)."""
    import sklearn.datasets
    from sklearn.datasets import load_digits

    full = load_digits()
    part = sklearn.utils.Bunch(images=full.images[:300], target=full.target[:300])
    monkeypatch.setattr(sklearn.datasets, "load_digits", lambda: part)
    x, y = digits_and_labels(20)
    res = benchmark.run(x, y, models["good"], None, n=10, seed=1, workers=1, n_blank=0,
                        conditions=["noise"], uci=True)
    assert list(res) == ["noise", benchmark.UCI]
    recs = res[benchmark.UCI]
    target = part.target
    assert [r.label for r in recs] == target.tolist()
    assert sum(r.error is None for r in recs) > 0.95 * len(recs)  # 8x8 crops are read, not refused
    assert all(r.digit == LIKELY for r in recs if r.error is None)
    m = benchmark.score(res)
    assert m[benchmark.UCI]["n"] == 300 and m["overall"]["n"] == 10
    assert m[benchmark.UCI]["accuracy"] == pytest.approx(float(np.mean(target == LIKELY)), abs=0.01)
    assert benchmark.UCI not in m["conditions"]
