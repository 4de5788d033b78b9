"""`digits plots show`: DVC's plots page with Vega served from a local file, drawn by a real
browser (Debian's headless chromium) with every network lookup failing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from digits.review.offline_plots import BUNDLE, TEMPLATE, _vegalite_version

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The plots dvc.yaml defines that Vega draws (the rest are PNG images): div id -> mark drawn.
VEGA_PLOTS = {"Loss": "mark-line", "Accuracy": "mark-line", "metrics_predictions_csv": "mark-rect"}


def test_template_loads_no_cdn():
    assert "{plot_divs}" in TEMPLATE and "{scripts}" not in TEMPLATE  # {scripts}: DVC's CDN tags
    assert f'<script src="{BUNDLE}">' in TEMPLATE and "http" not in TEMPLATE


def test_vegalite_5_is_chosen_for_dvcs_v5_specs():
    assert _vegalite_version(["5.8", "5.20", "5.9", "6.4"]) == "5.20"
    assert _vegalite_version(["6.1"]) is None  # then the package's latest


@pytest.fixture(scope="module")
def plots_project(tmp_path_factory) -> Path:
    """dvc.yaml and the committed metrics in a scratch DVC project (no git needed for `show`)."""
    proj = tmp_path_factory.mktemp("plots")
    shutil.copy(ROOT / "dvc.yaml", proj / "dvc.yaml")
    for sub in ("metrics/train/plots", "metrics/plots"):
        shutil.copytree(ROOT / sub, proj / sub)
    shutil.copy(ROOT / "metrics/predictions.csv", proj / "metrics/predictions.csv")
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q", "--no-scm"], cwd=proj, check=True)
    res = subprocess.run([str(Path(sys.executable).parent / "digits"), "plots", "show"], cwd=proj,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "draws offline" in res.stdout
    return proj


def test_page_references_only_local_scripts(plots_project):
    html = (plots_project / "dvc_plots/index.html").read_text()
    assert re.findall(r'<script src="([^"]*)"', html) == [BUNDLE]
    assert "cdn." not in html
    bundle = (plots_project / "dvc_plots" / BUNDLE).read_text()
    assert "window.vegaEmbed=" in bundle.replace(" ", "") and len(bundle) > 100_000
    for div in VEGA_PLOTS:
        assert f'<div id = "{div}">' in html


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium)")
def test_plots_draw_offline_in_headless_chromium(plots_project, tmp_path):
    page = (plots_project / "dvc_plots/index.html").as_uri()
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'profile'}",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: a CDN script could not load
            "--virtual-time-budget=20000"]
    res = subprocess.run([*args, "--dump-dom", page], capture_output=True, text=True, timeout=180)
    dom = res.stdout
    assert "</html>" in dom, res.stderr[-2000:]
    # vega-embed turns each plot's div into an SVG chart holding the marks of the data
    blocks = {m.group(1): m.group(2) for m in
              re.finditer(r'<div id="([^"]+)"(.*?)(?=<div id="|$)', dom, flags=re.S)}
    for div, mark in VEGA_PLOTS.items():
        assert 'class="vega-embed' in blocks[div][:200], f"{div}: vega-embed never ran"
        assert re.search(r'<svg[^>]*class="marks"', blocks[div]), f"{div}: no chart drawn"
        assert f'class="{mark} role-mark' in blocks[div], f"{div}: no {mark} drawn"
    shot = tmp_path / "plots.png"  # kept for a person to look at (pytest --basetemp)
    subprocess.run([*args, "--window-size=1200,800", f"--screenshot={shot}", page],
                   capture_output=True, timeout=180)
    import numpy as np
    from PIL import Image

    with Image.open(shot) as im:
        top = np.asarray(im.convert("L").crop((0, 0, 900, 330)))  # the Loss and Accuracy charts
    dark = int((top < 200).sum())
    assert dark > 2000, f"the charts area of {shot} is nearly blank ({dark} dark pixels)"
