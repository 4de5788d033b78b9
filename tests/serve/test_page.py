"""The page of `digits serve` in a real browser: Debian's chromium driven through its
chromedriver by Selenium (the system's binaries, named explicitly: nothing is downloaded),
with every host name but 127.0.0.1 unresolvable, so the page works only if it needs no CDN.

Digits are drawn with real pointer events (mouse, touch and pen), a real photo is uploaded
through the file input, and the test reads what the page shows. Screenshots go to the test's
tmp_path, and are also copied to the directory $DIGITS_SCREENSHOTS names, when set: the README's
docs/serve.png and docs/serve-phone.png are two of them."""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

import pytest
from serving import REAL, LiveServer, model_path, real_digits

from digits.serve.app import create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="chromium and chromium-driver are not installed (Debian: apt-get install chromium chromium-driver)")

UPLOAD = "4_mekkadarun_1.jpg"  # a phone photo, 1440x1439 JPEG
WAIT = 30


@pytest.fixture(scope="module")
def server():
    with LiveServer(create_app(model_path(), read=False)) as s:  # /api/predict: one digit per image
        yield s


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    os.environ["SE_OFFLINE"] = "true"  # belt and braces: Selenium Manager never fetches anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,900", "--force-device-scale-factor=1", "--hide-scrollbars",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(arg)
    d = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    d.set_window_size(1200, 900)
    yield d
    d.quit()


def _wait(driver, condition, what: str):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT, poll_frequency=0.1).until(lambda d: condition(d))
    except TimeoutException:
        state = driver.execute_script(
            "return {shown: [...document.querySelectorAll('#results .digit')].map(e => e.textContent),"
            " status: document.getElementById('status').textContent,"
            " error: document.getElementById('error').textContent}")
        raise AssertionError(f"{what} (after {WAIT} s the page shows {state})") from None


def _open(driver, url: str) -> None:
    driver.get(url + "/")
    _wait(driver, lambda d: d.execute_script("return document.documentElement.dataset.ready") == "1",
          "the page never read /healthz")


def _shown(driver) -> list[str] | None:
    """The digits or numbers the page shows, once no answer is pending (None until then)."""
    return driver.execute_script(
        "const r = document.getElementById('results');"
        "return r.getAttribute('aria-busy') === 'false' ? [...r.querySelectorAll('.digit')].map(e => e.textContent)"
        " : null")


def _stroke(driver, points, kind: str = "mouse") -> None:
    """One stroke through `points` (fractions of the canvas) with a real pointer of `kind`."""
    from selenium.webdriver.common.actions import interaction
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    pad = driver.find_element("id", "pad")
    w, h = pad.rect["width"], pad.rect["height"]
    at = [(round((x - 0.5) * w), round((y - 0.5) * h)) for x, y in points]  # offsets from the centre
    pointer = PointerInput({"mouse": interaction.POINTER_MOUSE, "touch": interaction.POINTER_TOUCH,
                            "pen": interaction.POINTER_PEN}[kind], kind)
    actions = ActionBuilder(driver, mouse=pointer, duration=20)
    actions.pointer_action.move_to(pad, *at[0]).pointer_down()
    for (x0, y0), (x1, y1) in itertools.pairwise(at):
        for i in range(1, 5):  # a few pointermove events along each segment
            actions.pointer_action.move_to(pad, round(x0 + (x1 - x0) * i / 4), round(y0 + (y1 - y0) * i / 4))
    actions.pointer_action.pointer_up()
    actions.perform()


ONE = [(0.5, 0.15), (0.5, 0.85)]
SEVEN = [(0.36, 0.2), (0.64, 0.2), (0.46, 0.85)]


def _screenshot(driver, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / name
    driver.save_screenshot(str(shot))
    if os.environ.get("DIGITS_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["DIGITS_SCREENSHOTS"]) / name)
    return shot


def test_drawing_shows_the_digit_while_drawing(driver, server, tmp_path):
    _open(driver, server.url)
    assert driver.find_element("id", "status").text == "Draw a digit to start."
    _stroke(driver, ONE, "mouse")
    _wait(driver, lambda d: _shown(d) == ["1"], "the drawn 1 was never shown as 1")
    card = driver.find_element("css selector", "#results .result")
    assert card.find_element("css selector", ".file").text == "drawing.png"
    assert card.find_element("css selector", ".confidence").text.startswith("confidence ")
    bars = card.find_elements("css selector", ".top3 li")
    assert len(bars) == 3 and bars[0].find_element("css selector", ".d").text == "1"
    widths = [b.find_element("css selector", ".bar span").size["width"] for b in bars]
    assert widths[0] > widths[1] >= widths[2]  # the bars are drawn to scale
    seen = card.find_element("css selector", ".seen img")
    assert driver.execute_script("return [arguments[0].naturalWidth, arguments[0].naturalHeight]", seen) == [28, 28]
    assert seen.size["width"] >= 100  # shown enlarged
    assert seen.value_of_css_property("image-rendering") == "pixelated"

    driver.find_element("id", "clear").click()
    assert _shown(driver) == [] and driver.find_element("id", "undo").get_attribute("disabled")
    _stroke(driver, SEVEN, "pen")
    _wait(driver, lambda d: _shown(d) == ["7"], "the 7 drawn with a pen was never shown as 7")
    _screenshot(driver, tmp_path, "serve.png")


def test_touch_draws_and_undo_and_the_keyboard_edit_the_drawing(driver, server):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    _open(driver, server.url)
    _stroke(driver, SEVEN[:2], "touch")    # the bar of a 7 ...
    _stroke(driver, SEVEN[1:], "touch")    # ... and its stem, a second stroke
    _wait(driver, lambda d: _shown(d) == ["7"], "the 7 drawn with a finger was never shown as 7")
    pixels = "return Array.from(document.getElementById('pad').getContext('2d')" \
             ".getImageData(0, 0, 420, 280).data).filter((v, i) => i % 4 == 0 && v < 128).length"
    two_strokes = driver.execute_script(pixels)
    driver.execute_script("document.querySelector('#results .result').dataset.old = '1'")
    driver.find_element("id", "undo").click()  # the stem goes, the bar stays
    one_stroke = driver.execute_script(pixels)
    assert 0 < one_stroke < two_strokes
    _wait(driver, lambda d: _shown(d) is not None and not d.find_elements("css selector", "[data-old]"),
          "no new answer after the undo")
    # what the page shows now is the server's answer for what is left on the pad
    answer = driver.execute_async_script(
        "const done = arguments[0]; document.getElementById('pad').toBlob(b => fetch('/api/predict',"
        " {method: 'POST', body: b, headers: {'Content-Type': 'image/png'}}).then(r => r.json()).then(done))")
    if isinstance(answer, list):
        assert _shown(driver) == [str(answer[0]["digit"])]
    else:
        assert driver.find_element("id", "error").text.rstrip(".") == answer["error"][0].upper() + answer["error"][1:]
    pad = driver.find_element("id", "pad")
    pad.send_keys(Keys.CONTROL, "z")            # Ctrl+Z undoes the last stroke too
    assert driver.execute_script(pixels) == 0
    assert _shown(driver) == [] and driver.find_element("id", "status").text == "Draw a digit to start."
    _stroke(driver, ONE)
    _wait(driver, lambda d: _shown(d) == ["1"], "the 1 was never shown")
    pad.send_keys(Keys.DELETE)                  # Delete clears
    assert driver.execute_script(pixels) == 0 and _shown(driver) == []
    # Tab reaches the drawing, then the file chooser and the camera
    driver.find_element("tag name", "body").click()
    order = []
    for _ in range(4):
        ActionChains(driver).send_keys(Keys.TAB).perform()  # real key presses, whatever has the focus
        order.append(driver.switch_to.active_element.get_attribute("id"))
    assert order[:3] == ["pad", "files", "camera"]


def test_an_uploaded_photo_is_read_and_shown(driver, server, tmp_path):
    labels = real_digits()
    _open(driver, server.url)
    driver.find_element("id", "files").send_keys(str(REAL / "images" / UPLOAD))
    _wait(driver, lambda d: _shown(d) == [str(labels[UPLOAD])], f"{UPLOAD} was never shown as {labels[UPLOAD]}")
    card = driver.find_element("css selector", "#results .result")
    assert card.find_element("css selector", ".file").text == UPLOAD
    assert len(card.find_elements("css selector", ".seen img")) == 2  # what the model saw, and the photo
    assert not driver.find_element("id", "error").is_displayed()
    _screenshot(driver, tmp_path, "serve-upload.png")


def test_several_uploads_and_a_bad_file_are_shown_in_words(driver, server, tmp_path):
    labels = real_digits()
    _open(driver, server.url)
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    names = ["2_cromney_1.png", "7_dfak0_1.png"]
    paths = [str(REAL / "images" / n) for n in names] + [str(bad)]
    driver.find_element("id", "files").send_keys("\n".join(paths))
    _wait(driver, lambda d: len(d.find_elements("css selector", "#results .result")) == 3, "three answers")
    assert _shown(driver) == [str(labels[n]) for n in names]
    failed = driver.find_element("css selector", "#results .result.failed")
    assert "Not an image file" in failed.text
    assert driver.find_element("id", "error").text == "1 of 3 images could not be read."
    # one bad file alone: the reason, in words, instead of an answer
    driver.find_element("id", "files").send_keys(str(bad))
    _wait(driver, lambda d: d.find_element("id", "error").is_displayed()
          and d.find_element("id", "error").text.startswith("Not an image file"), "no error shown")
    assert _shown(driver) == []


def test_a_dropped_file_is_read(driver, server):
    """A drop event carrying a file, as a file manager's drag and drop delivers it."""
    import base64

    labels = real_digits()
    name = "3_dfak0_4.png"
    _open(driver, server.url)
    driver.execute_script(
        "const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));"
        "const dt = new DataTransfer(); dt.items.add(new File([bytes], arguments[1], {type: 'image/png'}));"
        "document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true}));",
        base64.b64encode((REAL / "images" / name).read_bytes()).decode(), name)
    _wait(driver, lambda d: _shown(d) == [str(labels[name])], f"the dropped {name} was never shown")
    assert driver.find_element("css selector", "#results .file").text == name


def test_an_uncertain_answer_is_marked(driver):
    with LiveServer(create_app(model_path(), read=False, threshold=1.0)) as s:  # nothing is that sure
        _open(driver, s.url)
        _stroke(driver, ONE)
        _wait(driver, lambda d: _shown(d) == ["1"], "the 1 was never shown")
        badge = driver.find_element("css selector", "#results .badge.uncertain")
        assert badge.is_displayed() and badge.text == "uncertain"


def test_the_page_loads_nothing_from_elsewhere_and_is_small(driver, server):
    _open(driver, server.url)
    entries = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".map(e => [e.name, e.transferSize])")
    assert entries and all(name.startswith(server.url) for name, _ in entries), entries
    assert sum(size for _, size in entries) <= 300_000


def test_phone_width(driver, server, tmp_path):
    labels = real_digits()
    driver.set_window_size(390, 844)
    try:
        _open(driver, server.url)
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        pad = driver.find_element("id", "pad")
        assert pad.rect["x"] >= 0 and pad.rect["x"] + pad.rect["width"] <= 390
        _stroke(driver, ONE, "touch")
        _wait(driver, lambda d: _shown(d) == ["1"], "the 1 drawn on a phone was never shown")
        digit = driver.find_element("css selector", "#results .digit")
        # the answer shows below the pad, without scrolling
        assert digit.rect["y"] + digit.rect["height"] <= driver.execute_script("return window.innerHeight")
        _screenshot(driver, tmp_path, "serve-phone.png")
        driver.find_element("id", "camera").send_keys(str(REAL / "images" / UPLOAD))
        _wait(driver, lambda d: _shown(d) == [str(labels[UPLOAD])], "the photo was never read")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= 390
        _screenshot(driver, tmp_path, "serve-phone-photo.png")
    finally:
        driver.set_window_size(1200, 900)


def test_several_digits_are_read_as_a_number(driver, tmp_path):
    try:
        import digits.recognize.read  # noqa: F401
    except ImportError:
        pytest.skip("digits.recognize.read is not there yet: the page asks /api/predict")
    with LiveServer(create_app(model_path())) as s:
        _open(driver, s.url)
        _stroke(driver, [(0.25, 0.15), (0.25, 0.85)])
        _stroke(driver, [(0.5, 0.2), (0.75, 0.2), (0.6, 0.85)])
        _wait(driver, lambda d: _shown(d) == ["17"], "the drawn 17 was never shown as 17")
        card = driver.find_element("css selector", "#results .result")
        assert len(card.find_elements("css selector", ".digits .one")) == 2
        _screenshot(driver, tmp_path, "serve-number.png")


def test_a_page_of_two_lines_is_shown_as_two_numbers(driver, tmp_path):
    """A photo of a column of figures: the page shows each line's number on a line of its own."""
    try:
        import digits.recognize.read  # noqa: F401
    except ImportError:
        pytest.skip("digits.recognize.read is not there yet: the page asks /api/predict")
    from PIL import Image, ImageDraw

    im = Image.new("L", (420, 400), 250)
    d = ImageDraw.Draw(im)
    for top in (40, 230):  # a 1 and a 7 on each line, 130 px tall, 60 px of paper between the lines
        d.line([(120, top), (120, top + 130)], fill=20, width=12)
        d.line([(220, top), (300, top), (245, top + 130)], fill=20, width=12)
    path = tmp_path / "column.png"
    im.save(path)
    with LiveServer(create_app(model_path())) as s:
        _open(driver, s.url)
        driver.find_element("id", "files").send_keys(str(path))
        _wait(driver, lambda d: _shown(d) == ["17\n17"], "the two lines were never shown as 17 and 17")
        big = driver.find_element("css selector", "#results .result .digit")
        assert len(driver.execute_script(
            "const r = document.createRange(); r.selectNodeContents(arguments[0]);"
            "return [...new Set([...r.getClientRects()].map(b => Math.round(b.top)))]", big)) == 2  # two rows
        card = driver.find_element("css selector", "#results .result")
        assert len(card.find_elements("css selector", ".digits .one")) == 4
        _screenshot(driver, tmp_path, "serve-lines.png")
