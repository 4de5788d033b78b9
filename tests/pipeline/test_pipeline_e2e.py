"""The real stages through DVC on a small slice, in a temporary copy of the project.

On the real MNIST when MNIST_MIRROR names a directory holding it (.ci/run does); otherwise on
a synthetic mirror of the same format (3,000 training and 500 test images) whose checksums
the fetch stage is given through MNIST_PINS, so `make test` proves the pipeline anywhere.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import pytest
import yaml

from conftest import ROOT
from digits.recognize.tflite import TFLiteClassifier

pytestmark = pytest.mark.slow  # minutes: `make test-slow`

BIN = Path(sys.executable).parent
SMALL = {
    "preprocess": {"train_limit": 3000, "test_limit": 500},
    "train": {"epochs": 2, "batch_size": 64, "precision": "float32",
              "cnn": {"filters": [8, 16], "batchnorm": True}},
    "check": {"samples": 300, "epochs": 1, "reader_samples": 200, "reader_epochs": 1},
    "plots": {"dpi": 50},
    "wild": {"per_condition": 10, "blanks": 5, "uci": False},
    "numbers": {"count": 12, "blanks": 4},
}


def fake_real_digits(root: Path) -> None:
    """A two-image stand-in for ../shared/data/real-digits, where the wild stage looks for it."""
    from PIL import Image, ImageDraw

    (root / "images").mkdir(parents=True, exist_ok=True)
    for name, pts in (("7_a.png", [(20, 20), (80, 20), (45, 100)]), ("1_a.png", [(50, 15), (50, 105)])):
        im = Image.new("L", (100, 120), 255)
        ImageDraw.Draw(im).line(pts, fill=0, width=9)
        im.save(root / "images" / name)
    (root / "labels.csv").write_text("file,label\n7_a.png,7\n1_a.png,1\n")


def fake_real_numbers(root: Path) -> None:
    """A two-image stand-in for ../shared/data/real-numbers, where the numbers stage looks for it."""
    from PIL import Image, ImageDraw

    (root / "images").mkdir(parents=True, exist_ok=True)
    seven, one = [(10, 10), (60, 10), (30, 90)], [(25, 5), (25, 95)]
    for name, shapes in (("71_a.png", [seven, [(x + 90, y) for x, y in one]]),
                         ("17_a.png", [one, [(x + 70, y) for x, y in seven]])):
        im = Image.new("L", (200, 110), 255)
        for pts in shapes:
            ImageDraw.Draw(im).line(pts, fill=0, width=8)
        im.save(root / "images" / name)
    (root / "labels.csv").write_text("file,label,notes\n71_a.png,71,drawn\n17_a.png,17,drawn\n")


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(base.get(k, {}), v) if isinstance(v, dict) else v
    return out


def sh(args: list[str], cwd: Path, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONUNBUFFERED": "1"}
    res = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


@pytest.fixture(scope="module", autouse=True)
def _mnist(mnist_source):
    """Every dvc command of this module (they inherit os.environ) fetches from `mnist_source`."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MNIST_PINS", raising=False)
        for k, v in mnist_source.items():
            mp.setenv(k, v)
        yield


def small_project(tmp_path_factory: pytest.TempPathFactory, *targets: str) -> tuple[Path, str]:
    """A git+DVC copy of the project with params shrunk to a small slice, reproduced (up to
    `targets`, else all of it) and committed; and what `dvc repro` printed."""
    proj = tmp_path_factory.mktemp("proj")
    for item in ("stages", "src", "dvc.yaml", ".gitignore"):
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, proj / item, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy(src, proj / item)
    fake_real_digits(proj.parent / "shared" / "data" / "real-digits")
    fake_real_numbers(proj.parent / "shared" / "data" / "real-numbers")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    (proj / "params.yaml").write_text(yaml.safe_dump(_merge(params, SMALL), sort_keys=False))
    sh(["git", "init", "-q"], proj)
    sh(["git", "config", "user.email", "ci@example.org"], proj)
    sh(["git", "config", "user.name", "ci"], proj)
    sh([str(BIN / "dvc"), "init", "-q"], proj)
    sh([str(BIN / "dvc"), "config", "core.analytics", "false"], proj)
    sh(["git", "add", "-A"], proj)
    sh(["git", "commit", "-q", "-m", "project"], proj)  # dvclive needs a commit to compare against
    res = sh([str(BIN / "dvc"), "repro", *targets], proj)
    sh(["git", "add", "-A"], proj)
    sh(["git", "commit", "-q", "-m", "small pipeline"], proj)
    return proj, res.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The small project, every stage reproduced. (The tests that retrain it are in
    test_pipeline_training.py, with a project of their own: pytest-xdist runs the two files
    side by side.)"""
    proj, out = small_project(tmp_path_factory)
    assert "Running stage 'fetch'" in out and "Running stage 'plots'" in out
    return proj


def test_outputs(project, mnist_source):
    m = json.loads((project / "metrics/test.json").read_text())
    assert m["n"] == 500 and m["accuracy"] > 0.5
    assert m["tflite_accuracy"] == m["accuracy"]
    assert set(m) >= {"loss", "precision_macro", "recall_macro", "f1_macro"}
    per_class = json.loads((project / "metrics/per_class.json").read_text())
    assert sorted(per_class) == [str(i) for i in range(10)]
    cm = (project / "metrics/confusion_matrix.csv").read_text().splitlines()
    assert len(cm) == 11 and sum(int(v) for row in cm[1:] for v in row.split(",")[1:]) == 500
    assert len((project / "metrics/predictions.csv").read_text().splitlines()) == 501
    prov = json.loads((project / "models/provenance.json").read_text())
    assert prov["params"]["epochs"] == 2 and prov["labels"]["7"] == "7"
    assert len(prov["data"]["inputs_sha256"]) == 2
    if "MNIST_PINS" in mnist_source:  # the provenance names the data fetch verified
        pins = json.loads(Path(mnist_source["MNIST_PINS"]).read_text())
        assert prov["data"]["mnist_idx_sha256"] == {name: pin["sha256"] for name, pin in pins.items()}
    with zipfile.ZipFile(project / "models/model.keras") as z:  # the network, not the optimizer's state
        assert "optimizer" not in h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
    check = json.loads((project / "metrics/check.json").read_text())
    assert check["samples"] == 300 and check["epochs"] == 1 and 0 <= check["val_auc"] <= 1
    check_prov = json.loads((project / "models/check_provenance.json").read_text())
    assert check_prov["params"]["samples"] == 300 and "check" in check_prov["outputs"]
    assert set(check_prov["data"]["inputs_sha256"]) == {"models/model.keras", "data/prepared/train.npz",
                                                       "data/prepared/val.npz"}
    assert check["reader"]["samples"] == 200 and check["reader"]["epochs"] == 1 and "reader" in check_prov["outputs"]
    # the digits and the check, and the piece reader as a signature of its own
    lite = TFLiteClassifier(project / "models/model.tflite")
    assert lite.columns == 11 and lite.reads_pieces
    for png in ("confusion_matrix", "training_curves", "test_predictions", "worst_errors", "train_samples"):
        assert (project / f"metrics/plots/{png}.png").stat().st_size > 1000
    wild = json.loads((project / "metrics/wild.json").read_text())
    assert len(wild["conditions"]) == 26 and all(c["n"] == 10 for c in wild["conditions"].values())
    assert wild["dev_set"]["n"] == 2 and wild["blank"]["n"] == 5
    assert 0 <= wild["overall"]["accuracy"] <= 1 and wild["overall"]["n"] == 260
    assert (project / "metrics/wild/summary.png").stat().st_size > 1000
    assert len(list((project / "metrics/wild").glob("*.png"))) == 26 + 2 + 1
    assert len((project / "metrics/wild_predictions.csv").read_text().splitlines()) == 1 + 260 + 5 + 2
    assert len(list((project / "data/wild/faint/images").iterdir())) == 10  # what wild_render drew
    numbers = json.loads((project / "metrics/numbers.json").read_text())
    assert numbers["overall"]["n"] == 12 and numbers["apart"]["n"] + numbers["touching"]["n"] == 12
    assert 0 <= numbers["overall"]["exact"] <= numbers["overall"]["per_digit"] + 1e-9 <= 1 + 1e-9
    assert numbers["dev_set"]["n"] == 2 and numbers["blank"]["n"] == 4
    assert {p.name for p in (project / "metrics/numbers").glob("*.png")} == {"examples.png", "wrong.png",
                                                                           "dev_set.png"}
    assert len((project / "metrics/numbers_predictions.csv").read_text().splitlines()) == 1 + 12 + 2 + 4
    assert len(list((project / "data/numbers/synthetic/images").iterdir())) == 12  # what numbers_render drew
    live = json.loads((project / "metrics/train/metrics.json").read_text())
    assert live["epochs_run"] == 2 and 0 < live["val"]["accuracy"] <= 1
    assert live["best"]["epoch"] in (1, 2) and live["step"] == 1
    for split in ("train", "val"):
        rows = (project / f"metrics/train/plots/metrics/{split}/loss.tsv").read_text().splitlines()
        assert len(rows) == 3  # header + 2 epochs


def test_push_pull_round_trip_gives_a_second_clone_the_model(project, tmp_path):
    remote = tmp_path / "remote"
    sh([str(BIN / "dvc"), "remote", "add", "--local", "-f", "store", str(remote)], project)
    res = sh([str(BIN / "dvc"), "push", "-r", "store"], project)
    assert "pushed" in res.stdout
    clone = tmp_path / "clone"
    fake_real_digits(tmp_path / "shared" / "data" / "real-digits")  # ../shared beside the clone too
    fake_real_numbers(tmp_path / "shared" / "data" / "real-numbers")
    sh(["git", "clone", "-q", str(project), str(clone)], tmp_path)
    assert not (clone / "models/model.keras").exists()
    sh([str(BIN / "dvc"), "remote", "add", "--local", "store", str(remote)], clone)
    sh([str(BIN / "dvc"), "pull", "-r", "store"], clone)
    for f in ("models/model.keras", "models/model.tflite", "data/prepared/test.npz", "metrics/test.json"):
        assert (clone / f).read_bytes() == (project / f).read_bytes(), f
    status = sh([str(BIN / "dvc"), "status"], clone).stdout
    assert "up to date" in status  # nothing to retrain


def test_second_repro_is_a_noop(project):
    res = sh([str(BIN / "dvc"), "repro"], project)
    assert "Running stage" not in res.stdout
    assert "up to date" in res.stdout


def test_exp_run_reruns_only_downstream_of_train(project):
    res = sh([str(BIN / "dvc"), "exp", "run", "-S", "train.epochs=1", "-n", "one-epoch"], project)
    ran = {s for s in ("fetch", "preprocess", "train", "check", "evaluate", "wild_render", "wild",
                       "numbers_render", "numbers_bench", "plots")
           if f"Running stage '{s}'" in res.stdout}
    # the benchmarks' files do not depend on the model: read again, not drawn again
    assert ran == {"train", "check", "evaluate", "wild", "numbers_bench", "plots"}
    show = sh([str(BIN / "dvc"), "exp", "show", "--json"], project).stdout
    assert "one-epoch" in show
    diff = sh([str(BIN / "dvc"), "metrics", "diff", "HEAD", "--json"], project)
    assert "metrics/test.json" in diff.stdout
    plots = sh([str(BIN / "digits"), "plots", "show", "-o", "plots_html"], project)
    html = (project / "plots_html/index.html").read_text()
    assert "confusion_matrix.png" in html and "Loss" in html, plots.stdout
    assert "cdn." not in html and (project / "plots_html/vega-bundle.js").is_file()
    sh([str(BIN / "digits"), "plots", "diff", "HEAD", "one-epoch", "-o", "plots_diff"], project)
    diff_html = (project / "plots_diff/index.html").read_text()
    assert "one-epoch" in diff_html and "Accuracy" in diff_html and "confusion_matrix" in diff_html
    assert "cdn." not in diff_html
    sh([str(BIN / "dvc"), "exp", "apply", "one-epoch"], project)  # leave the workspace at a known state
    sh(["git", "checkout", "-q", "--", "."], project)
    sh([str(BIN / "dvc"), "checkout", "-q"], project, check=False)
