"""`digits predict`: output formats, exit codes, model loading and every kind of bad input."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from conftest import LIKELY, LIKELY_P, OTHER
from digits import cli
from digits.recognize.predict import DEFAULT_THRESHOLD, TOP_K


def digit_png(path: Path, size: tuple[int, int] = (120, 120)) -> Path:
    im = Image.new("L", size, 255)
    w, h = size
    ImageDraw.Draw(im).line([(0.3 * w, 0.2 * h), (0.7 * w, 0.2 * h), (0.45 * w, 0.8 * h)], fill=0,
                            width=max(2, w // 15))
    im.save(path)
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png(path: Path, side: int = 20000) -> Path:
    """A genuine side×side 1-bit PNG: 400 megapixels, about 50 kB on disk."""
    row = b"\x00" + b"\xff" * ((side + 7) // 8)  # filter byte + one white row
    z = zlib.compressobj(9)
    data = b"".join(z.compress(row) for _ in range(side)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", data)
                     + png_chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One good image and every bad input the issue lists."""
    d = tmp_path_factory.mktemp("inputs")
    good = digit_png(d / "seven.png")
    buf = io.BytesIO()
    Image.open(good).convert("RGB").save(buf, "JPEG", quality=90)
    jpeg = buf.getvalue()
    png = good.read_bytes()

    (d / "empty.png").write_bytes(b"")
    (d / "truncated.png").write_bytes(png[: len(png) // 2])
    (d / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (d / "text.png").write_text("this is not an image\n")
    huge_png(d / "huge.png")
    frames = [Image.new("L", (50, 50), v) for v in (0, 255)]
    frames[0].save(d / "animated.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    sixteen = np.asarray(Image.open(good), np.uint16) * 257
    Image.fromarray(sixteen).save(d / "sixteen.png")
    Image.new("RGB", (200, 150), "white").save(d / "blank.png")
    (d / "no_images").mkdir()
    (d / "no_images" / "notes.txt").write_text("nothing to see")
    (d / "some").mkdir()
    digit_png(d / "some" / "b.png")
    digit_png(d / "some" / "a.jpg", (90, 100))
    (d / "some" / "readme.md").write_text("skipped: not an image extension")
    return {p.name: p for p in d.iterdir()} | {"missing": d / "missing.png"}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict]]:
    rc, out, _ = run(["predict", "--json", *argv], capsys)
    return rc, json.loads(out)


def check_prediction(obj: dict) -> None:
    assert set(obj) == {"file", "digit", "confidence", "top", "uncertain"}
    assert obj["digit"] == LIKELY and isinstance(obj["digit"], int)
    assert obj["confidence"] == pytest.approx(LIKELY_P, abs=1e-3)
    assert len(obj["top"]) == TOP_K and obj["top"][0] == [obj["digit"], obj["confidence"]]
    assert [p for _, p in obj["top"]] == sorted((p for _, p in obj["top"]), reverse=True)
    assert obj["uncertain"] is False


def test_text_output(models, inputs, capsys) -> None:
    rc, out, err = run(["predict", "--model", str(models["good"]), str(inputs["seven.png"])], capsys)
    assert rc == 0
    assert out == f"{inputs['seven.png']}: 7 (confidence {LIKELY_P:.2f})\n"


def test_json_output(models, inputs, capsys) -> None:
    rc, objs = run_json(["--model", str(models["good"]), str(inputs["seven.png"])], capsys)
    assert rc == 0 and len(objs) == 1
    assert objs[0]["file"] == str(inputs["seven.png"])
    check_prediction(objs[0])


def test_threshold_marks_uncertain(models, inputs, capsys) -> None:
    args = ["--model", str(models["good"]), "--threshold", "0.9", str(inputs["seven.png"])]
    rc, objs = run_json(args, capsys)
    assert rc == 0 and objs[0]["uncertain"] is True
    rc, out, _ = run(["predict", *args], capsys)
    assert rc == 0 and out.rstrip().endswith("uncertain)")


def test_threshold_default_matches_library() -> None:
    assert cli.PREDICT_THRESHOLD == DEFAULT_THRESHOLD


def test_directory_is_scanned_sorted_for_images_only(models, inputs, capsys) -> None:
    rc, objs = run_json(["--model", str(models["good"]), str(inputs["some"])], capsys)
    assert rc == 0
    assert [Path(o["file"]).name for o in objs] == ["a.jpg", "b.png"]
    for o in objs:
        check_prediction(o)


BAD = {
    "empty.png": "empty file",
    "truncated.png": "cannot decode image",
    "truncated.jpg": "cannot decode image",
    "text.png": "not an image",
    "huge.png": "image too large",
    "animated.gif": "animated",
    "blank.png": "no digit found",
    "no_images": "no image files in directory",
    "missing": "no such file",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_a_one_line_error_entry(name, models, inputs, capsys) -> None:
    good = str(inputs["seven.png"])
    rc, objs = run_json(["--model", str(models["good"]), good, str(inputs[name]), good], capsys)
    assert rc == 1
    assert len(objs) == 3
    check_prediction(objs[0])
    check_prediction(objs[2])  # the run goes on after the bad input
    assert set(objs[1]) == {"file", "error"}
    assert objs[1]["file"] == str(inputs[name])
    assert BAD[name] in objs[1]["error"]
    assert "\n" not in objs[1]["error"] and "Traceback" not in objs[1]["error"]


def test_all_bad_inputs_together_in_text_mode(models, inputs, capsys) -> None:
    paths = [str(inputs[n]) for n in sorted(BAD)]
    rc, out, err = run(["predict", "--model", str(models["good"]), *paths], capsys)
    assert rc == 1 and out == ""
    lines = err.splitlines()
    assert len(lines) == len(BAD)
    for line, name in zip(lines, sorted(BAD), strict=True):
        assert line.startswith(f"{inputs[name]}: error: ") and BAD[name] in line


def test_sixteen_bit_png_is_read(models, inputs, capsys) -> None:
    rc, objs = run_json(["--model", str(models["good"]), str(inputs["sixteen.png"])], capsys)
    assert rc == 0
    check_prediction(objs[0])


def test_keras_model_gives_the_same_answers(models, inputs, capsys) -> None:
    paths = [str(inputs["seven.png"]), str(inputs["some"])]
    _, a = run_json(["--model", str(models["good"]), *paths], capsys)
    rc, b = run_json(["--model", str(models["good_keras"]), *paths], capsys)
    assert rc == 0 and a == b


@pytest.mark.parametrize("model, message", [
    ("wrong_in_keras", "does not fit (None, 28, 28) images"),
    ("wrong_out", "expected (N, 28, 28) to (N, 10)"),
    ("garbage", "not a loadable TFLite model"),
    ("model", "unsupported model format"),
])
def test_unusable_model_is_refused(model, message, models, inputs, capsys) -> None:
    rc, out, err = run(["predict", "--model", str(models[model]), str(inputs["seven.png"])], capsys)
    assert rc == 1 and out == ""
    assert err.startswith("digits predict: error: ") and message in err
    assert len(err.splitlines()) == 1


def test_missing_model_says_to_run_dvc_repro(inputs, capsys, tmp_path, monkeypatch) -> None:
    rc, _, err = run(["predict", "--model", str(tmp_path / "nope.tflite"), str(inputs["seven.png"])], capsys)
    assert rc == 1 and "model not found" in err and "dvc repro" in err
    monkeypatch.setenv("DIGITS_MODEL", str(tmp_path / "env.tflite"))
    rc, _, err = run(["predict", str(inputs["seven.png"])], capsys)
    assert rc == 1 and "env.tflite" in err and "DIGITS_MODEL" in err


def test_default_model_is_models_model_tflite_in_the_working_directory(models, inputs, capsys, tmp_path,
                                                                    monkeypatch) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "model.tflite").write_bytes(models["good"].read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DIGITS_MODEL", raising=False)
    rc, objs = run_json([str(inputs["seven.png"])], capsys)
    assert rc == 0
    check_prediction(objs[0])
    assert objs[0]["digit"] == LIKELY
    monkeypatch.setenv("DIGITS_MODEL", str(models["other"]))  # the variable wins: its model answers
    rc, objs = run_json([str(inputs["seven.png"])], capsys)
    assert rc == 0 and objs[0]["digit"] == OTHER


@pytest.mark.parametrize("argv", [
    [],
    ["predict"],
    ["predict", "--no-such-option", "x.png"],
    ["predict", "--threshold", "1.5", "x.png"],
    ["predict", "--threshold", "abc", "x.png"],
    ["frobnicate"],
])
def test_usage_errors_exit_2(argv, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_console_script_never_imports_tensorflow(models, inputs) -> None:
    """The cold path: a fresh process, the real entry point, no TensorFlow or Keras."""
    code = ("import sys; from digits.cli import main; rc = main(sys.argv[1:]); "
            "heavy = [m for m in ('tensorflow', 'keras', 'scipy') if m in sys.modules]; "
            "print('HEAVY', heavy); sys.exit(rc)")
    argv = ["predict", "--model", str(models["good"]), str(inputs["seven.png"]), str(inputs["blank.png"])]
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1  # the blank image
    assert f"{inputs['seven.png']}: 7 (confidence" in proc.stdout
    assert "HEAVY []" in proc.stdout
    assert f"{inputs['blank.png']}: error: no digit found" in proc.stderr


def test_keras_model_with_the_pipelines_custom_layers_loads(tmp_path, inputs, capsys) -> None:
    """The pipeline's .keras holds FusedBatchNorm and RandomAffine: predict must know them."""
    from digits.pipeline.params import parse_section
    from digits.pipeline.training import build_model

    p = parse_section("train", {"model": "cnn", "cnn": {"filters": [4, 8], "batchnorm": True},
                                "augment": {"rotation_deg": 5, "stroke": 0.1}})
    path = tmp_path / "pipeline.keras"
    build_model(p).save(path)
    # A fresh process: nothing has registered the custom layers unless predict does.
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "digits.cli", "predict", "--json", "--model", str(path),
                          str(inputs["seven.png"])], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-1000:]
    assert json.loads(res.stdout)[0]["digit"] in range(10)


@pytest.mark.parametrize("bias, activation", [(float("nan"), "softmax"), (-1.0, None)], ids=["nan", "negative"])
def test_model_returning_nan_or_negative_is_an_error_not_a_digit(bias, activation, tmp_path, inputs, capsys) -> None:
    """docs/predict.md: a broken export that returns NaN (or negative "probabilities") gives
    one error line per image, never a confident digit 0."""
    import keras

    from digits.pipeline.export import tflite_bytes

    inp = keras.Input((28, 28), name="image")
    out = keras.layers.Dense(10, activation=activation, kernel_initializer="zeros",
                             bias_initializer=keras.initializers.Constant(bias))(keras.layers.Flatten()(inp))
    path = tmp_path / "broken.tflite"
    path.write_bytes(tflite_bytes(keras.Model(inp, out)))
    capsys.readouterr()  # the converter's chatter
    seven, blank = str(inputs["seven.png"]), str(inputs["blank.png"])
    rc, out_text, err = run(["predict", "--model", str(path), seven, blank], capsys)
    assert rc == 1 and out_text == ""
    assert err.splitlines() == [
        f"{seven}: error: the model returned invalid probabilities (NaN or negative): is the model file broken?",
        f"{blank}: error: no digit found (blank image)"]
    rc, objs = run_json(["--model", str(path), seven], capsys)
    assert rc == 1 and "digit" not in objs[0] and "invalid probabilities" in objs[0]["error"]


class FakeModel:
    """Probabilities from the ink in each image: no model file, the batch sizes recorded."""

    def __init__(self, nan: bool = False) -> None:
        self.nan = nan
        self.batches: list[int] = []

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.batches.append(len(x))
        logits = np.stack([np.roll(np.arange(10.0), int(img.sum()) % 10) for img in x])
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return np.full_like(probs, np.nan) if self.nan else probs


def test_predict_images_is_predict_files_on_decoded_images(inputs) -> None:
    """The one path from pixels to answer: in-memory images (as `digits serve` has them) get
    exactly the Results and 28×28 images that the same files get, in one model call."""
    from digits.recognize.normalize import load_image, load_image_bytes
    from digits.recognize.predict import Result, decode, predict_files, predict_images

    names = ["seven.png", "blank.png", "truncated.png", "sixteen.png", "empty.png", "text.png"]
    files = [str(inputs[n]) for n in names] + [Result(file="dir", error="no image files in directory")]
    by_file = FakeModel()
    expected = predict_files(by_file, files, threshold=0.2)

    items = [(n, decode(n, inputs[n].read_bytes(), load_image_bytes)) for n in names]
    items.append(("dir", files[-1]))
    assert isinstance(items[0][1], Image.Image)
    assert items[2][1] == Result(file="truncated.png", error=expected[2][0].error)  # decoding failed
    in_memory = FakeModel()
    got = predict_images(in_memory, iter(items), threshold=0.2)  # any iterable, a generator too
    # seven and sixteen in one batch; the fake model is never sure (top 0.63), so one more
    # batch holds their copies shifted by a pixel each way (`classify`)
    assert by_file.batches == in_memory.batches == [2, 8]
    assert len(got) == len(expected)
    for n, (r, seen), (want, want_seen) in zip(names + ["dir"], got, expected, strict=True):
        assert r == (want if n == "dir" else Result(**{**want.__dict__, "file": n}))
        assert (seen is None) == (want_seen is None)
        if seen is not None:
            np.testing.assert_array_equal(seen, want_seen)
            assert seen.shape == (28, 28) and seen.dtype == np.float32
    assert got[0][0].digit is not None and got[0][0].top[0][1] >= 0.2
    assert "no digit found" in got[1][0].error and got[1][1] is None
    # load_image on a path and load_image_bytes on its bytes decode the same pixels
    assert decode("x", str(inputs["seven.png"])).tobytes() == load_image(inputs["seven.png"]).tobytes()


def test_predict_images_turns_nan_into_an_error(inputs) -> None:
    from digits.recognize.normalize import load_image
    from digits.recognize.predict import predict_images

    [(r, seen)] = predict_images(FakeModel(nan=True), [("seven", load_image(inputs["seven.png"]))])
    assert r.digit is None and "invalid probabilities (NaN or negative)" in r.error
    assert seen is not None  # the model did see it


class WherePixel:
    """A model that answers by where the one bright pixel is: class = its column mod 10, with
    probability `top` (or 0.95 when the pixel is in row 0, a 'sure' image)."""

    def __init__(self, top: float = 0.5) -> None:
        self.top = top
        self.batches: list[int] = []

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.batches.append(len(x))
        out = np.zeros((len(x), 10))
        for k, img in enumerate(x):
            r, c = np.unravel_index(int(np.argmax(img)), img.shape)
            top = 0.95 if r == 0 else self.top
            out[k] = (1 - top) / 9
            out[k, c % 10] = top
        return out


@pytest.mark.parametrize("surer", [0, 1])
def test_predict_images_answers_with_the_reading_the_model_is_surer_of(surer, monkeypatch) -> None:
    """An image with two readings (`normalize.normalizations`: a line along a digit's foot
    kept, then dropped) sends both to the model in the batch with the other images; the
    answer, and the 28×28 image shown, is the reading the model is surer of."""
    import digits.recognize.predict as predict

    def pixel(r: int, c: int) -> np.ndarray:
        x = np.zeros((28, 28), np.float32)
        x[r, c] = 1.0
        return x

    readings = {"two": [pixel(5, 3), pixel(5, 7)], "one": [pixel(5, 4)]}
    readings["two"][surer][5, 3 + 4 * surer] = 0  # the surer one: the same column, in row 0
    readings["two"][surer][0, 3 + 4 * surer] = 1.0
    monkeypatch.setattr(predict, "normalizations", lambda im: readings[im])
    model = WherePixel(top=0.5)
    got = predict.predict_images(model, [("a", "two"), ("b", "one")])
    assert model.batches[0] == 3  # every reading of both images in one batch
    (r, seen), (r1, seen1) = got
    assert r.digit == (3, 7)[surer] and r.confidence == pytest.approx(0.95)
    np.testing.assert_array_equal(seen, readings["two"][surer])
    assert r1.digit == 4 and seen1 is readings["one"][0]


def test_classify_reads_an_unsure_image_again_shifted_and_averages() -> None:
    from digits.recognize.predict import SHIFTS, STEADY_BELOW, classify

    x = np.zeros((3, 28, 28), np.float32)
    x[0, 0, 5] = 1.0  # row 0: the model is sure (0.95): asked once
    x[1, 10, 5] = 1.0  # unsure (0.5): asked again at columns 5, 5, 6, 4 (rows 11, 9, 10, 10)
    x[2, 14, 27] = 1.0  # unsure, at the right edge: shifted right, the pixel leaves the image
    m = WherePixel(top=0.5)
    p = classify(m, x)
    assert m.batches == [3, 2 * len(SHIFTS)]  # the two unsure images' copies in one batch
    assert p.dtype == np.float64 and p.shape == (3, 10)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[0, 5] == pytest.approx(0.95)  # untouched
    # image 1: original 5, down 5, up 5, right 6, left 4 -> 5 holds 3 of 5 answers at 0.5
    other = 0.5 / 9
    assert p[1, 5] == pytest.approx((3 * 0.5 + 2 * other) / 5)
    assert p[1, 6] == pytest.approx((0.5 + 4 * other) / 5)
    assert p[1, 4] == pytest.approx((0.5 + 4 * other) / 5)
    assert int(p[1].argmax()) == 5
    # image 2: shifted right the image is empty (argmax at row 0, column 0: class 0 at 0.95)
    assert p[2, 0] == pytest.approx((0.95 + 4 * other) / 5)
    assert int(p[2].argmax()) == 7  # column 27 in three of the five
    # a sure model is asked once, whatever the images
    sure = WherePixel(top=STEADY_BELOW + 0.01)
    np.testing.assert_array_equal(classify(sure, x), sure.predict(x))
    assert sure.batches == [3, 3]


def test_classify_with_check_gives_the_models_check_column_or_ones() -> None:
    """Column 10 is the model's "one digit?" check where it has one (averaged over the shifted
    copies with the digits, for an unsure image), 1.0 where it has none; without `check` the
    ten digit columns only."""
    from digits.recognize.predict import classify

    class Checked:
        def predict(self, x: np.ndarray) -> np.ndarray:
            p = np.full((len(x), 11), 0.1 / 9)
            p[:, 3], p[:, 10] = 0.9, x.reshape(len(x), -1).mean(axis=1)
            return p

    x = np.random.default_rng(0).random((4, 28, 28), dtype=np.float32)
    with_check = classify(Checked(), x, check=True)
    assert with_check.shape == (4, 11)
    np.testing.assert_allclose(with_check[:, 10], x.reshape(4, -1).mean(axis=1), rtol=1e-6)
    assert classify(Checked(), x).shape == (4, 10)
    plain = WherePixel(top=0.3)  # unsure of everything: the shifted copies are asked too
    p = classify(plain, x, check=True)
    assert p.shape == (4, 11) and np.all(p[:, 10] == 1.0)
    np.testing.assert_allclose(p[:, :10], classify(WherePixel(top=0.3), x))


def test_shifted_moves_whole_pixels_with_background_coming_in() -> None:
    from digits.recognize.predict import _shifted

    x = np.arange(1, 13, dtype=np.float32).reshape(1, 3, 4)
    np.testing.assert_array_equal(_shifted(x, 1, 0)[0], [[0, 0, 0, 0], [1, 2, 3, 4], [5, 6, 7, 8]])
    np.testing.assert_array_equal(_shifted(x, -1, 0)[0], [[5, 6, 7, 8], [9, 10, 11, 12], [0, 0, 0, 0]])
    np.testing.assert_array_equal(_shifted(x, 0, 1)[0], [[0, 1, 2, 3], [0, 5, 6, 7], [0, 9, 10, 11]])
    np.testing.assert_array_equal(_shifted(x, 0, -1)[0], [[2, 3, 4, 0], [6, 7, 8, 0], [10, 11, 12, 0]])


def test_classify_leaves_nan_rows_to_the_caller() -> None:
    """A broken model's NaN is not averaged into a number: the row stays NaN (refused later)."""
    from digits.recognize.predict import classify

    m = FakeModel(nan=True)
    p = classify(m, np.zeros((2, 28, 28), np.float32))
    assert np.isnan(p).all() and m.batches == [2]
